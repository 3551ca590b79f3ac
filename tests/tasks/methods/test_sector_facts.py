from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from tasks import stages, store
from tasks.methods.sector_facts import allocate_exports, allocate_turnover, registry_features, sgk_tables, size_basis
from tasks.store import read_frame


def test_exports_allocated_by_employment_within_the_exporter_sector():
    exports = pd.DataFrame(
        {
            "year": [2020, 2020],
            "plate_code": [46, 46],
            "exporter_sector_id": ["metals", "unclassified"],
            "exports_usd": [1000.0, 100.0],
        }
    )
    facts = pd.DataFrame(
        {
            "region_code": [46, 46, 46],
            "sector_code": ["25.99", "24.51", "30.11"],
            "year": [2020] * 3,
            "employment": [30.0, 10.0, 5.0],
        }
    )
    sector_of = pd.Series({"25.99": "metals", "24.51": "metals", "30.11": "ships"})
    allocated, unallocated = allocate_exports(exports, facts, sector_of)
    by_class = allocated.set_index("sector_code").exports
    assert by_class.to_dict() == pytest.approx({"25.99": 750.0, "24.51": 250.0})  # 30:10 of 1000
    assert unallocated == pytest.approx(100.0)  # the unclassified exports


def test_registry_features_sme_share_turnover_and_top_district():
    registry = pd.DataFrame(
        {
            "plate_code": [55] * 4,
            "nace_class": ["32.50"] * 4,
            "registry_no": ["1", "2", "3", "4"],
            "employees": [300.0, 20.0, 5.0, None],
            "district": ["A", "A", "B", "B"],
            "turnover_try": [10.0, 20.0, 30.0, None],
        }
    )
    features = registry_features(registry).iloc[0]
    assert features.firms == 4
    assert features.sme_share == pytest.approx(2 / 3)  # of the 3 firms of known size, 2 have < 250
    assert features.turnover_try == pytest.approx(60.0)
    assert features.top_district_share == pytest.approx(320 / 325)


def test_registry_turnover_is_summed_per_class_as_a_series_sums_it_to_the_last_bit():
    # a grouped sum compensates its rounding and may differ in the last bit from the sum the
    # published turnover has always been (Series.sum); the features keep that sum
    rng = np.random.default_rng(7)
    registry = pd.DataFrame(
        {
            "plate_code": np.repeat([6, 34, 35], 100),
            "nace_class": "13.10",
            "employees": 10.0,
            "district": "Merkez",
            "turnover_try": rng.uniform(1e5, 1e8, size=300).round(2),
        }
    )
    registry.loc[registry.plate_code.eq(35), "turnover_try"] = np.nan  # no figure: null, not 0
    features = registry_features(registry).set_index("plate_code").turnover_try
    expected = registry.groupby("plate_code").turnover_try.agg(lambda s: s.sum(min_count=1))
    assert features.loc[[6, 34]].tolist() == expected.loc[[6, 34]].tolist()
    assert np.isnan(features[35])


def test_sgk_rows_split_into_facts_and_published_totals():
    sgk = pd.DataFrame(
        {
            "plate_code": [1, 1, 0, 0],
            "nace_class": ["10.11", "C", "10.11", "C"],
            "year": [2020] * 4,
            "employment": [5.0, 50.0, 7.0, 900.0],
            "establishments": [1.0, 9.0, 2.0, 90.0],
        }
    )
    facts, region, national = sgk_tables(sgk)
    assert facts[["region_code", "sector_code", "employment"]].values.tolist() == [[1, "10.11", 5.0]]
    assert region.employment.tolist() == [50.0]
    assert national.set_index("sector_code").employment.to_dict() == {"10.11": 7.0, "*": 900.0}


def test_a_traded_universe_replaces_the_published_manufacturing_totals(tmp_path):
    from schemas.parameters import SelectionParameters

    sgk = pd.DataFrame(
        {
            "plate_code": [1, 1, 2, 2, 0, 0, 0, 1],
            "nace_class": ["10.11", "28.93", "10.11", "28.93", "10.11", "28.93", "C", "C"],
            "year": 2020,
            "employment": [50.0, 50.0, 90.0, 10.0, 150.0, 60.0, 5000.0, 900.0],
            "establishments": 1.0,
            "source_file": "f",
            "source_row": range(8),
        }
    )
    paths = store.Paths(tmp_path, PROJECT_ROOT / "data" / "reference", PROJECT_ROOT / "expectations", tmp_path, "")
    accepted = {"sgk_employment": store.stage(sgk, paths, "sgk")}
    empty = {
        "exports_by_sector": ["year", "plate_code", "exporter_sector_id", "exports_usd"],
        "chamber_registry": ["plate_code", "nace_class", "registry_no", "employees", "district", "turnover_try"],
        "agency_db": ["plate_code", "nace_class", "measure", "value"],
        "sector_turnover": ["year", "plate_code", "nace_level", "nace_division", "nace_class", "turnover_try"],
    }
    for source, columns in empty.items():
        accepted[source] = store.stage(pd.DataFrame(columns=columns), paths, source)
    universe = SelectionParameters(universe=["28.93"], growth_spans=[1])
    computed = stages.indicators(paths, accepted, universe, lambda _: None)
    table = read_frame(computed["outputs"]["indicators"]).set_index(["plate_code", "sector_code"])
    # universe {28.93}: E(1) = 50, E(N) = published 28.93 total 60: LQ(1, 28.93) = (50/50) / (60/60) = 1
    assert table.lq_employment[(1, "28.93")] == pytest.approx(1.0)
    default = SelectionParameters(growth_spans=[1])
    computed = stages.indicators(paths, accepted, default, lambda _: None)
    table = read_frame(computed["outputs"]["indicators"]).set_index(["plate_code", "sector_code"])
    # all manufacturing: published region total 900, national 5000: (50/900) / (60/5000)
    assert table.lq_employment[(1, "28.93")] == pytest.approx((50 / 900) / (60 / 5000))


def _turnover_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["year", "plate_code", "nace_level", "nace_division", "nace_class", "turnover_try"]
    )
    return frame.astype({"year": "Int64", "plate_code": "Int64"})


def test_agency_turnover_division_figures_are_spread_over_classes_by_employment():
    facts = pd.DataFrame(
        {
            "region_code": [61, 61, 61, 61, 61],
            "sector_code": ["30.11", "30.12", "30.20", "10.39", "10.82"],
            "year": [2022] * 5,
            "employment": [900.0, 100.0, 300.0, 60.0, 20.0],
        }
    )
    turnover = _turnover_rows(
        [
            (2022, 61, "division", "30", None, 2000.0),  # 30.11 given apart: 1,000 left for 30.12 and 30.20
            (2022, 61, "class", "30", "30.11", 1000.0),
            (2022, 61, "division", "10", None, 800.0),  # 60:20 of 800
            (2021, 61, "division", "10", None, 5.0),  # an older year: the latest one is used
        ]
    )
    allocated = allocate_turnover(turnover, facts, 2022).set_index("nace_class").turnover_try
    assert allocated.to_dict() == pytest.approx(
        {"30.11": 1000.0, "30.12": 250.0, "30.20": 750.0, "10.39": 600.0, "10.82": 200.0}
    )
    # a province publishing up to 2021 only gives its 2021 figures for a 2022 comparison
    assert allocate_turnover(turnover[turnover.year == 2021], facts.assign(year=2021), 2022).turnover_try.sum() == 5.0
    assert allocate_turnover(turnover, facts, 2020).empty  # nothing published by then


def test_the_size_basis_is_the_registrys_turnover_else_the_agencys_else_employment():
    registry = pd.DataFrame(
        {"plate_code": [55, 55, 19], "nace_class": ["32.50", "10.61", "28.93"], "turnover_try": [5.0, 9.0, None]}
    )
    agency = pd.DataFrame({"plate_code": [55, 19], "nace_class": ["32.50", "28.93"], "turnover_try": [1.0, 7.0]})
    basis = size_basis(registry, agency)
    assert basis.groupby("plate_code").size_basis.first().to_dict() == {19: "turnover_agency", 55: "turnover_registry"}
    assert basis[basis.plate_code == 55].turnover_try.tolist() == [5.0, 9.0]  # one source per province, never mixed


def test_size_rank_compares_by_employment_where_a_province_has_no_turnover():
    from tasks.methods.scoring import size_rank

    scored = pd.DataFrame(
        {
            "turnover_try": [None, None, None],
            "employment": [50.0, 500.0, 20.0],
            "size_basis": ["employment"] * 3,
        }
    )
    assert size_rank(scored).tolist() == [2, 1, 3]
    with_turnover = scored.assign(turnover_try=[9.0, 1.0, None], size_basis="turnover_agency")
    assert size_rank(with_turnover).tolist()[:2] == [1, 2]
    assert pd.isna(size_rank(with_turnover).iloc[2])  # no turnover: not ranked, never invented


# Known answers at each rule's boundary: a value exactly at a threshold, and one step past it.


def test_an_sme_has_fewer_than_250_employees():
    registry = pd.DataFrame(
        {
            "plate_code": [55] * 3,
            "nace_class": ["32.50"] * 3,
            "registry_no": ["1", "2", "3"],
            "employees": [249.0, 250.0, 0.0],
            "district": ["A", "A", "A"],
            "turnover_try": [None, None, None],
        }
    )
    features = registry_features(registry).iloc[0]
    assert features.sme_share == pytest.approx(2 / 3)  # 249 and 0 are SMEs, 250 is not
    assert pd.isna(features.turnover_try)  # no turnover given: unknown, not zero


def test_top_district_share_is_null_without_registry_employees():
    registry = pd.DataFrame(
        {
            "plate_code": [55, 55],
            "nace_class": ["32.50", "32.50"],
            "registry_no": ["1", "2"],
            "employees": [0.0, None],
            "district": ["A", "B"],
            "turnover_try": [1.0, 2.0],
        }
    )
    features = registry_features(registry).iloc[0]
    assert features.registry_employees == 0 and pd.isna(features.top_district_share)


def test_a_zero_registry_turnover_is_no_basis_and_the_agency_figure_is_used():
    registry = pd.DataFrame({"plate_code": [55], "nace_class": ["32.50"], "turnover_try": [0.0]})
    agency = pd.DataFrame({"plate_code": [55], "nace_class": ["32.50"], "turnover_try": [7.0]})
    basis = size_basis(registry, agency)
    assert basis[["size_basis", "turnover_try"]].values.tolist() == [["turnover_agency", 7.0]]


def test_exports_go_only_to_classes_with_employment():
    exports = pd.DataFrame(
        {"year": [2020], "plate_code": [46], "exporter_sector_id": ["metals"], "exports_usd": [90.0]}
    )
    facts = pd.DataFrame(
        {"region_code": [46, 46], "sector_code": ["25.99", "24.51"], "year": [2020, 2020], "employment": [0.0, 1.0]}
    )
    allocated, unallocated = allocate_exports(exports, facts, pd.Series({"25.99": "metals", "24.51": "metals"}))
    assert allocated.set_index("sector_code").exports.to_dict() == {"24.51": 90.0}
    assert unallocated == 0.0
    nobody = facts.assign(employment=0.0)
    assert allocate_exports(exports, nobody, pd.Series({"25.99": "metals"}))[1] == 90.0


def test_classes_given_apart_beyond_the_division_total_leave_nothing_to_spread():
    facts = pd.DataFrame(
        {"region_code": [61, 61], "sector_code": ["30.11", "30.12"], "year": [2022, 2022], "employment": [5.0, 5.0]}
    )
    turnover = _turnover_rows([(2022, 61, "division", "30", None, 100.0), (2022, 61, "class", "30", "30.11", 120.0)])
    allocated = allocate_turnover(turnover, facts, 2022).set_index("nace_class").turnover_try
    assert allocated.to_dict() == {"30.11": 120.0, "30.12": 0.0}  # the remainder is clipped at 0, never negative


def test_turnover_in_usd_at_the_years_rate_and_a_missing_rate_refused():
    from tasks.errors import InputDataError
    from tasks.methods.sector_facts import turnover_usd

    turnover = pd.DataFrame({"plate_code": [55, 55], "nace_class": ["32.50", "10.61"], "turnover_try": [300.0, None]})
    rates = pd.Series({2021: 8.0, 2022: 15.0})
    usd = turnover_usd(turnover, rates, 2022)
    assert usd[["sector_code", "year", "turnover"]].values.tolist() == [["32.50", 2022, 20.0]]
    with pytest.raises(InputDataError, match="2023"):
        turnover_usd(turnover, rates, 2023)


def test_candidates_are_the_classes_with_employment_in_the_reference_year():
    from tasks.methods.sector_facts import AGENCY_COUNTS, candidate_table

    indicators = pd.DataFrame(
        {
            "region_code": [55, 55, 55, 19],
            "sector_code": ["32.50", "10.61", "32.50", "28.93"],
            "year": [2022, 2022, 2021, 2022],
            "employment": [1.0, 0.0, 50.0, 30.0],
        }
    )
    registry = pd.DataFrame({"plate_code": [55], "nace_class": ["32.50"], "firms": [12], "turnover_try": [9.0]})
    turnover = pd.DataFrame(
        {"plate_code": [55], "nace_class": ["32.50"], "turnover_try": [4.0], "size_basis": ["turnover_agency"]}
    )
    agency = pd.DataFrame({"plate_code": [55], "nace_class": ["32.50"], **{c: [2] for c in AGENCY_COUNTS}})
    provinces = pd.DataFrame({"plate_code": [55, 19], "airport_access": [1.0, 0.0]})
    table = candidate_table(indicators, registry, agency, provinces, 2022, turnover).set_index("sector_code")
    assert sorted(table.index) == ["28.93", "32.50"]  # 10.61 employs nobody; 2021 is another year
    assert table.turnover_try["32.50"] == 4.0  # the size basis's turnover, not the registry's
    assert table.size_basis.to_dict() == {"32.50": "turnover_agency", "28.93": "employment"}
    assert table.loc["28.93", AGENCY_COUNTS].eq(0).all()  # absent from the agency database: counted 0


def test_agency_counts_absent_are_zero_and_willingness_is_a_mean_with_its_answers():
    from tasks.methods.sector_facts import AGENCY_COUNTS, agency_features, province_features

    agency = pd.DataFrame(
        {
            "plate_code": [61, 61, 61, 61, 61],
            "nace_class": ["30.11", "30.11", "30.11", "10.61", None],  # a province-level row has no class
            "measure": [
                "associations",
                "cooperation_willingness",
                "cooperation_willingness",
                "programmes",
                "graduates",
            ],
            "value": [2.0, 3.0, 4.0, 1.0, 500.0],
        }
    )
    features = agency_features(agency).set_index("nace_class")
    assert features.associations.to_dict() == {"10.61": 0, "30.11": 2}
    assert features.programmes.to_dict() == {"10.61": 1, "30.11": 0}
    assert features.graduates.eq(0).all() and set(AGENCY_COUNTS) <= set(features.columns)
    assert features.cooperation_willingness["30.11"] == 3.5 and features.survey_answers["30.11"] == 2
    assert pd.isna(features.cooperation_willingness["10.61"])  # nobody asked: unknown, not 0
    life = pd.DataFrame({"plate_code": [61], "perc_higher_educ": [0.2], "access_to_airport": [0.9], "other": [1]})
    assert province_features(life).columns.tolist() == ["plate_code", "higher_education_share", "airport_access"]


def test_a_division_is_spread_only_over_classes_that_employ_someone():
    facts = pd.DataFrame(
        {"region_code": [61, 61], "sector_code": ["30.11", "30.20"], "year": [2022, 2022], "employment": [5.0, 0.0]}
    )
    turnover = _turnover_rows([(2022, 61, "division", "30", None, 100.0)])
    allocated = allocate_turnover(turnover, facts, 2022).set_index("nace_class").turnover_try
    assert allocated.to_dict() == {"30.11": 100.0}  # 30.20 gets no row, not a made-up 0
