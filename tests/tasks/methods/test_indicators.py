"""Known answers for every indicator formula, worked by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.methods.indicators import cagr, compute_indicators, location_quotient, safe_ratio, shift_share


def indicators(*args, **kwargs) -> tuple[pd.DataFrame, dict]:
    result = compute_indicators(*args, **kwargs)
    return result.table, result.totals_used


def facts() -> pd.DataFrame:
    # 2020: A has s1=30 (3 firms), s2=70 (7); B has s1=20 (4), s2=180 (6).
    # 2015: A has s1=15, s2=70; B has s1=25, s2=140.
    rows = [
        ("A", "s1", 2020, 30, 3),
        ("A", "s2", 2020, 70, 7),
        ("B", "s1", 2020, 20, 4),
        ("B", "s2", 2020, 180, 6),
        ("A", "s1", 2015, 15, 2),
        ("A", "s2", 2015, 70, 7),
        ("B", "s1", 2015, 25, 5),
        ("B", "s2", 2015, 140, 5),
    ]
    return pd.DataFrame(rows, columns=["region_code", "sector_code", "year", "employment", "establishments"])


def row(table: pd.DataFrame, region: str, sector: str, year: int) -> pd.Series:
    return table[(table.region_code == region) & (table.sector_code == sector) & (table.year == year)].iloc[0]


def test_location_quotient_focus_share_and_firm_size_from_sums():
    table, used = indicators(facts(), growth_spans=[5])
    a1 = row(table, "A", "s1", 2020)
    # E(A) = 100, E(N,s1) = 50, E(N) = 300: LQ = (30/100) / (50/300) = 0.3 / (1/6) = 1.8
    assert a1.lq_employment == pytest.approx(1.8)
    assert row(table, "B", "s1", 2020).lq_employment == pytest.approx((20 / 200) / (50 / 300))  # 0.6
    # establishments: F(A) = 10, F(N,s1) = 7, F(N) = 20: (3/10) / (7/20) = 0.857142...
    assert a1.lq_establishments == pytest.approx(0.3 / 0.35)
    assert a1.focus == pytest.approx(0.3)  # 30 / 100
    assert a1.national_share == pytest.approx(0.6)  # 30 / 50
    assert a1.avg_firm_size == pytest.approx(10.0)  # 30 / 3
    assert used["national_employment"] == "sum of the national sector totals over the universe"
    assert used["region_employment"] == "sum of the region's sectors in the universe"


def test_published_national_totals_are_used_as_given():
    # The statistics office publishes s1 = 60 and all sectors = 400 (unallocated employment
    # included), so LQ(A, s1) = (30/100) / (60/400) = 0.3 / 0.15 = 2.0, not 1.8.
    national = pd.DataFrame({"sector_code": ["s1", "s2", "*"], "year": [2020] * 3, "employment": [60, 340, 400]})
    table, used = indicators(facts()[facts().year == 2020], national_totals=national)
    assert row(table, "A", "s1", 2020).lq_employment == pytest.approx(2.0)
    assert row(table, "A", "s1", 2020).national_share == pytest.approx(0.5)
    assert used["national_employment"] == "published"
    assert used["national_sector_employment"] == "published"


def test_published_region_totals_are_used_as_given():
    region = pd.DataFrame({"region_code": ["A", "B"], "year": [2020, 2020], "employment": [150, 200]})
    table, used = indicators(facts()[facts().year == 2020], region_totals=region)
    assert row(table, "A", "s1", 2020).focus == pytest.approx(0.2)  # 30 / 150
    assert used["region_employment"] == "published"


def test_growth_and_shift_share_known_answers():
    table, _ = indicators(facts(), growth_spans=[5])
    a1 = row(table, "A", "s1", 2020)
    assert a1.employment_cagr == pytest.approx(2**0.2 - 1)  # (30/15)^(1/5) - 1 = 0.1487
    assert a1.national_sector_employment_cagr == pytest.approx((50 / 40) ** 0.2 - 1)
    # e0=15, e1=30, n0=40, n1=50, N0=250, N1=300
    assert a1.shift_national == pytest.approx(3.0)  # 15 * (300/250 - 1)
    assert a1.shift_industry_mix == pytest.approx(0.75)  # 15 * (50/40 - 300/250)
    assert a1.shift_regional == pytest.approx(11.25)  # 15 * (30/15 - 50/40)
    assert a1.shift_national + a1.shift_industry_mix + a1.shift_regional == pytest.approx(30 - 15)
    first_year = row(table, "A", "s1", 2015)
    assert pd.isna(first_year.employment_cagr)
    assert "employment_cagr: no value 5 years earlier" in first_year.null_reason


def test_zero_and_missing_bases_give_null_with_reason_never_inf():
    frame = pd.DataFrame(
        {
            "region_code": ["Z", "Z", "Y", "Y"],
            "sector_code": ["s1", "s1", "s1", "s2"],
            "year": [2015, 2020, 2020, 2020],
            "employment": [0, 10, 0, 0],
            "establishments": [0, 1, 0, 0],
        }
    )
    table, _ = indicators(frame, growth_spans=[5])
    grew_from_zero = row(table, "Z", "s1", 2020)
    assert pd.isna(grew_from_zero.employment_cagr)
    assert "employment_cagr: value 5 years earlier is zero" in grew_from_zero.null_reason
    empty_region = row(table, "Y", "s1", 2020)
    assert pd.isna(empty_region.lq_employment) and pd.isna(empty_region.focus)
    assert "region_employment is zero or negative" in empty_region.null_reason
    numeric = table.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numeric).any()


def test_cagr_and_lq_helpers_reject_bad_bases():
    assert cagr(pd.Series([110.0]), pd.Series([100.0]), 1).iloc[0] == pytest.approx(0.1)
    assert pd.isna(cagr(pd.Series([5.0]), pd.Series([-1.0]), 1).iloc[0])
    assert pd.isna(cagr(pd.Series([5.0]), pd.Series([None], dtype=float), 1).iloc[0])
    assert pd.isna(location_quotient(pd.Series([1.0]), pd.Series([0.0]), pd.Series([1.0]), pd.Series([2.0])).iloc[0])


def test_ratios_at_the_edge_of_a_valid_base():
    ratios = safe_ratio(pd.Series([0.0, 3.0, 3.0, 3.0]), pd.Series([2.0, 1e-9, 0.0, -2.0]))
    assert ratios.tolist()[:2] == pytest.approx([0.0, 3e9])  # a zero numerator is a value, any positive base is valid
    assert ratios.iloc[2:].isna().all()  # a zero or negative base is not


def test_cagr_of_a_sector_that_emptied_is_minus_one_not_null():
    # end 0 over a positive start: ratio 0 is a valid ratio, (0)^(1/5) - 1 = -100 % a year
    assert cagr(pd.Series([0.0]), pd.Series([40.0]), 5).iloc[0] == -1.0
    assert pd.isna(cagr(pd.Series([0.0]), pd.Series([0.0]), 5).iloc[0])


def test_a_growth_span_of_one_year_is_the_shortest_allowed():
    table, _ = indicators(facts(), growth_spans=[1])
    assert (table.growth_years == 1).all()
    with pytest.raises(ValueError, match="growth spans"):
        indicators(facts(), growth_spans=[0])


@settings(deadline=None)  # a loaded CI machine must not fail a property on time
@given(
    st.floats(0.5, 1e5),
    st.floats(0, 1e5),
    st.floats(0.5, 1e6),
    st.floats(0.5, 1e6),
    st.floats(1, 1e7),
    st.floats(1, 1e7),
)
def test_shift_share_identity_holds_for_every_row(e0, e1, n0, n1, total0, total1):
    shifts = shift_share(*(pd.Series([v]) for v in (e0, e1, n0, n1, total0, total1))).iloc[0]
    scale = max(abs(shifts).max(), abs(e1 - e0), 1.0)  # floating-point error grows with the components
    assert math.isclose(shifts.sum(), e1 - e0, rel_tol=0, abs_tol=1e-9 * scale)
