"""Known answers for the public classifications and concentration (methodology.md §2-§3),
worked by hand, and the edge cases: one region, one plant, partial published totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.methods.classifications import (
    cmp_classification,
    eco_stars,
    ellison_glaeser,
    herfindahl,
    percentile_rank_cmp,
)
from tasks.methods.indicators import compute_indicators


def cmp_table() -> pd.DataFrame:
    # one sector, one year, six regions; r6 has no employment
    return pd.DataFrame(
        {
            "region_code": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "sector_code": "s",
            "year": 2020,
            "lq_employment": [0.5, 1.0, 1.5, 2.0, 3.0, np.nan],
            "employment": [10, 20, 30, 40, 50, 0],
            "establishments": [1, 2, 3, 4, 5, 0],
        }
    )


def test_cluster_mapping_flags_and_percentiles_known_answer():
    flags = cmp_classification(cmp_table()).set_axis(["r1", "r2", "r3", "r4", "r5", "r6"])
    # over r1..r5 (e > 0), type-7 quantiles: LQ P25 = 1.0, P50 = 1.5, P75 = 2.0, P90 = 2.0 + 0.6 * 1.0 = 2.6;
    # e P25 = 20, f P25 = 2, so only r3, r4, r5 pass the size tests (strictly greater)
    assert flags.cmp_qualifying.tolist() == [False, False, True, True, True, False]  # LQ > 1.0
    assert flags.cmp_significant.tolist() == [False, False, False, True, True, False]  # LQ > 1.5
    assert flags.cmp_strong.tolist() == [False, False, False, True, True, False]  # LQ >= 2.0 and >= 1
    assert flags.cmp_strong10.tolist() == [False, False, False, False, True, False]  # LQ >= 2.6
    # percentile rank of the i-th of n = 5 sorted values: round(100/5 * (i + 0.5)) = 10, 30, 50, 70, 90
    assert flags.cmp_lq_percentile.tolist()[:5] == [10, 30, 50, 70, 90]
    assert pd.isna(flags.cmp_lq_percentile["r6"])


def test_cluster_mapping_flag_is_null_when_the_lq_cannot_be_computed():
    table = cmp_table().assign(lq_employment=[0.5, 1.0, 1.5, 2.0, 3.0, np.nan], employment=[10, 20, 30, 40, 50, 9])
    flags = cmp_classification(table)
    assert pd.isna(flags.cmp_strong.iloc[5])


def test_cluster_observatory_stars_known_answer():
    # 10 regions, sector s employs 10..100; regions j1..j9 have 1,000 in all, j0 has 10 + 400 in t;
    # national: s = 550, all = 550 + 400 + (980 + ... + 900) = 9,410
    rows = [(f"j{i}", "s", 2020, 10 * (i + 1), 1) for i in range(10)]
    rows += [(f"j{i}", "t", 2020, 1000 - 10 * (i + 1), 10) for i in range(10)]
    rows[10] = ("j0", "t", 2020, 400, 10)
    facts = pd.DataFrame(rows, columns=["region_code", "sector_code", "year", "employment", "establishments"])
    table = compute_indicators(facts, growth_spans=[1]).table.set_index(["sector_code", "region_code"])
    s = table.loc["s"]
    # size star: top 10 % of 10 regions = the 1 largest (j9, 100)
    assert s.eco_size_star[s.eco_size_star].index.tolist() == ["j9"]
    # focus: j0 has 10 of 410 = 2.4 %, j9 100 of 1,000 = 10 %: j9 is the top focus
    assert s.eco_focus_star[s.eco_focus_star].index.tolist() == ["j9"]
    # LQ(j9, s) = (100/1000) / (550/9410) = 1.71 < 2: no specialisation star
    assert not s.eco_specialisation_star["j9"]
    assert s.eco_stars["j9"] == 2
    assert s.lq_employment["j9"] == pytest.approx((100 / 1000) / (550 / 9410))


def test_herfindahl_raw_and_normalised_known_answer():
    facts = pd.DataFrame(
        {
            "region_code": ["a", "b", "c", "d"],
            "sector_code": ["s", "s", "s", "t"],
            "year": 2020,
            "employment": [50, 30, 20, 10],
            "establishments": [1, 1, 1, 1],
        }
    )
    table = compute_indicators(facts, growth_spans=[1]).table
    h = herfindahl(table, facts).set_index("sector_code")
    # shares .5, .3, .2: H = .25 + .09 + .04 = .38; four regions in the set: H* = (.38 - .25) / .75
    assert h.herfindahl["s"] == pytest.approx(0.38)
    assert h.herfindahl_normalised["s"] == pytest.approx(0.13 / 0.75)
    assert h.herfindahl["t"] == pytest.approx(1.0)  # all of t in one region


def test_one_region_gives_lq_one_and_a_null_normalised_herfindahl_with_reason():
    facts = pd.DataFrame(
        {
            "region_code": ["only"] * 2,
            "sector_code": ["s", "t"],
            "year": 2020,
            "employment": [30, 70],
            "establishments": [3, 7],
        }
    )
    result = compute_indicators(facts, growth_spans=[1])
    assert result.table.lq_employment.tolist() == pytest.approx([1.0, 1.0])
    assert result.concentration.herfindahl.tolist() == pytest.approx([1.0, 1.0])
    assert result.concentration.herfindahl_normalised.isna().all()
    assert (result.concentration.null_reason == "herfindahl_normalised: one region in the set").all()


def test_ellison_glaeser_known_answer_and_one_plant():
    plants = pd.DataFrame(
        {
            "region_code": ["A", "A", "B", "A", "B"],
            "sector_code": ["s", "s", "s", "t", "t"],
            "employees": [10, 10, 20, 40, 20],
        }
    )
    gamma = ellison_glaeser(plants).set_index("sector_code")
    # x_A = 60/100, x_B = 40/100, sum x^2 = .52
    # s: s_A = s_B = .5, G = .01 + .01 = .02, H_p = .0625 + .0625 + .25 = .375
    #    gamma = (.02 - .48 * .375) / (.48 * .625) = -.16 / .3
    assert gamma.eg_gamma["s"] == pytest.approx(-0.16 / 0.3)
    # t: s_A = 2/3, G = 2 * (1/15)^2, H_p = 5/9: gamma = (G - .48 * 5/9) / (.48 * 4/9)
    assert gamma.eg_gamma["t"] == pytest.approx((2 / 225 - 0.48 * 5 / 9) / (0.48 * 4 / 9))
    single = ellison_glaeser(
        pd.DataFrame({"region_code": ["A", "B"], "sector_code": ["u", "v"], "employees": [5, 9]})
    ).set_index("sector_code")
    assert pd.isna(single.eg_gamma["u"]) and single.eg_null_reason["u"] == "eg_gamma: one plant (H_p = 1)"


def test_reference_universe_is_a_parameter():
    facts = pd.DataFrame(
        {
            "region_code": ["a", "a", "b", "b"],
            "sector_code": ["traded", "local"] * 2,
            "year": 2020,
            "employment": [30, 70, 10, 90],
            "establishments": [1, 1, 1, 1],
        }
    )
    everything = compute_indicators(facts, growth_spans=[1]).table.set_index(["region_code", "sector_code"])
    traded = compute_indicators(facts, growth_spans=[1], universe=["traded"]).table.set_index(
        ["region_code", "sector_code"]
    )
    assert everything.lq_employment[("a", "traded")] == pytest.approx((30 / 100) / (40 / 200))  # 1.5
    # traded universe: E(a) = 30, E(N) = 40: LQ(a, traded) = (30/30) / (40/40) = 1
    assert traded.lq_employment[("a", "traded")] == pytest.approx(1.0)


def test_partly_published_national_totals_are_summed_only_where_absent():
    facts = pd.DataFrame(
        {
            "region_code": ["a", "b", "a", "b"],
            "sector_code": ["s", "s", "t", "t"],
            "year": 2020,
            "employment": [10, 10, 30, 50],
            "establishments": [1, 1, 1, 1],
        }
    )
    national = pd.DataFrame({"sector_code": ["s"], "year": [2020], "employment": [40]})  # t is not published
    table = compute_indicators(facts, national_totals=national, growth_spans=[1]).table
    t = table[(table.region_code == "a") & (table.sector_code == "t")].iloc[0]
    assert t.national_sector_employment == 80  # summed
    assert t.national_employment == 120  # published s (40) + summed t (80)


def test_export_intensity_and_growth_over_several_spans_with_region_sums():
    facts = pd.DataFrame(
        {
            "region_code": ["a"] * 6 + ["b"] * 6,
            "sector_code": ["s", "t"] * 6,
            "year": [2018, 2018, 2019, 2019, 2020, 2020] * 2,
            "employment": [10, 20, 12, 20, 15, 25, 5, 5, 5, 6, 6, 6],
            "establishments": 1,
            "exports": [1.0] * 12,
            "turnover": [4.0] * 12,
        }
    )
    result = compute_indicators(facts, growth_spans=[2, 1])
    assert result.table.export_intensity.tolist() == pytest.approx([0.25] * 12)
    growth = result.growth.set_index(["region_code", "sector_code", "year", "span_years"])
    assert growth.employment_cagr[("a", "s", 2020, 2)] == pytest.approx((15 / 10) ** 0.5 - 1)
    assert growth.employment_cagr[("a", "s", 2020, 1)] == pytest.approx(15 / 12 - 1)
    region = growth.loc[("a", "*", 2020, 2)]
    assert region.employment_cagr == pytest.approx((40 / 30) ** 0.5 - 1)
    assert region[["shift_national", "shift_industry_mix", "shift_regional"]].sum() == pytest.approx(40 - 30)
    assert (result.table.growth_years == 2).all()  # the first span is the scored one


# Known answers at each rule's boundary: a value exactly at a threshold, and one step past it.


def test_cmp_percentile_rank_rounds_halves_up():
    # n = 4: 100/4 * (i + 0.5) = 12.5, 37.5, 62.5, 87.5 -> half-up 13, 38, 63, 88
    # (banker's rounding would give 12, 38, 62, 88; truncation 12, 37, 62, 87)
    values = pd.Series([4.0, 1.0, 3.0, 2.0])
    ranks = percentile_rank_cmp(values, [pd.Series("s", index=values.index)])
    assert ranks.tolist() == [88, 13, 63, 38]


def test_cmp_percentile_rank_breaks_ties_by_row_order_and_ranks_per_group():
    values = pd.Series([7.0, 7.0, 1.0, 5.0, 6.0, None])
    sectors = pd.Series(["s", "s", "s", "s", "t", "t"])
    ranks = percentile_rank_cmp(values, [sectors])
    # s: 1.0 -> 13, then the two 7.0 in row order 63 and 88 (not both 75.5), 5.0 -> 38; t: one value -> 50
    assert ranks.tolist()[:5] == [63, 88, 13, 38, 50]
    assert pd.isna(ranks.iloc[5])


def cmp_at(lq: list[float], employment: list[float], establishments: list[float]) -> pd.DataFrame:
    regions = [f"r{i}" for i in range(1, len(lq) + 1)]
    table = pd.DataFrame(
        {
            "region_code": regions,
            "sector_code": "s",
            "year": 2020,
            "lq_employment": lq,
            "employment": employment,
            "establishments": establishments,
        }
    )
    return cmp_classification(table).set_axis(regions)


def test_cmp_flags_need_lq_strictly_above_p25_and_p50_and_size_strictly_above_p25():
    # LQ sorted 1.0, 1.4, 1.6, 5.0, 6.0: P25 = 1.4, P50 = 1.6, P75 = 5.0, P90 = 5.6
    # employment P25 = 20 (r2 sits on it); establishments sorted 1, 3, 8, 9, 9: P25 = 3 (r3 sits on it)
    flags = cmp_at([1.0, 5.0, 6.0, 1.4, 1.6], [10, 20, 30, 40, 50], [1, 9, 3, 8, 9])
    columns = ["cmp_qualifying", "cmp_significant", "cmp_strong", "cmp_strong10"]
    assert flags[columns].astype(bool).to_dict("index") == {
        "r1": dict.fromkeys(columns, False),
        "r2": dict.fromkeys(columns, False),  # employment = P25: too small, whatever its LQ
        "r3": dict.fromkeys(columns, False),  # establishments = P25: too small, whatever its LQ
        "r4": dict.fromkeys(columns, False),  # LQ = P25: not above it
        "r5": {"cmp_qualifying": True, "cmp_significant": False, "cmp_strong": False, "cmp_strong10": False},
    }  # r5: LQ = P50, above P25 only


def test_cmp_strong_takes_lq_at_p90_and_lq_exactly_one():
    # eleven LQs 1.0 ... 2.0: P90 falls on the tenth value exactly (1.9), P75 = 1.75
    lq = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
    flags = cmp_at(lq, [10.0 * (i + 1) for i in range(11)], [i + 1 for i in range(11)])
    assert flags.cmp_strong10.astype(bool).tolist() == [False] * 9 + [True, True]
    assert flags.cmp_strong.astype(bool).tolist() == [False] * 8 + [True] * 3
    # below one: P75 = 0.8 and r5 (LQ exactly 1) is strong, r4 (LQ = P75 = 0.8 < 1) is not
    low = cmp_at([0.2, 0.4, 0.6, 0.8, 1.0], [10, 20, 30, 40, 50], [1, 2, 3, 4, 5])
    assert low.cmp_strong.astype(bool).tolist() == [False, False, False, False, True]


def eco_table(employment: list[float], focus: list[float] | None = None, lq: list[float] | None = None):
    """One sector in n regions (one row each) and the facts naming those n regions."""
    regions = [f"j{i:02d}" for i in range(len(employment))]
    table = pd.DataFrame(
        {
            "region_code": regions,
            "sector_code": "s",
            "year": 2020,
            "employment": employment,
            "focus": focus if focus is not None else [e / 1000 for e in employment],
            "lq_employment": lq if lq is not None else 1.0,
        }
    )
    return eco_stars(table, table[["region_code", "year"]]).set_axis(regions)


def test_eco_size_and_focus_stars_go_to_exactly_the_top_ten_percent_of_regions():
    stars = eco_table([10.0 * (i + 1) for i in range(20)])  # 20 regions: the top 2
    assert stars.eco_size_star[stars.eco_size_star].index.tolist() == ["j18", "j19"]
    assert stars.eco_focus_star[stars.eco_focus_star].index.tolist() == ["j18", "j19"]
    assert eco_table([10.0 * (i + 1) for i in range(19)]).eco_size_star.sum() == 1  # floor(1.9) = 1
    assert eco_table([10.0 * (i + 1) for i in range(15)]).eco_size_star.sum() == 1  # floor(1.5), not round
    assert eco_table([10.0, 20, 30, 40, 50]).eco_size_star.tolist() == [False] * 4 + [True]  # at least one


def test_eco_stars_ties_at_the_top_share_the_star_and_empty_cells_get_none():
    stars = eco_table([50.0, 50, 10, 0, 20, 30, 40, 5, 6, 7])  # 10 regions: top 1, two tie for it
    assert stars.eco_size_star.tolist()[:2] == [True, True]
    assert not stars.eco_size_star["j03"] and not stars.eco_focus_star["j03"]  # no employment: no star
    unknown_total = eco_table([0.0, 10, 20], focus=[np.nan, 0.1, 0.2])  # focus unknown where nobody is employed
    assert unknown_total.eco_focus_star.tolist() == [False, False, True]  # no employment: no star, not unknown


def test_eco_specialisation_star_takes_lq_of_exactly_two():
    stars = eco_table([10.0, 20, 30], lq=[2.0, 1.999, np.nan])
    assert stars.eco_specialisation_star.tolist()[:2] == [True, False]
    assert pd.isna(stars.eco_specialisation_star["j02"]) and pd.isna(stars.eco_stars["j02"])
    assert stars.eco_stars.tolist()[:2] == [1, 0]  # j00: specialisation only (j02 is the largest)


def test_normalised_herfindahl_is_defined_from_two_regions():
    facts = pd.DataFrame(
        {"region_code": ["a", "b"], "sector_code": "s", "year": 2020, "employment": [75, 25], "establishments": 1}
    )
    h = herfindahl(compute_indicators(facts, growth_spans=[1]).table, facts).iloc[0]
    # H = .5625 + .0625 = .625; n = 2: H* = (.625 - .5) / .5
    assert h.herfindahl == pytest.approx(0.625)
    assert h.herfindahl_normalised == pytest.approx(0.25) and h.null_reason is None


def test_ellison_glaeser_ignores_plants_without_employees():
    plants = pd.DataFrame(
        {"region_code": ["A", "A", "B", "B"], "sector_code": ["s", "s", "s", "t"], "employees": [10, 0, 20, 30]}
    )
    gamma = ellison_glaeser(plants).set_index("sector_code")
    assert gamma.eg_plants["s"] == 2  # the plant with 0 employees is not a plant of the sector
