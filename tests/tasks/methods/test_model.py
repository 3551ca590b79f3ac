"""The selection model as functions of the accepted inputs (``tasks.methods.model``): a named
set of classes is scored on its members' summed facts, and an earlier year is known without
the later rows and without the snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from backtest_inputs import EMPTY, synthetic_inputs

from schemas.parameters import SelectionParameters
from tasks.methods.model import MODEL_COLUMNS, ModelInputs, as_of, compute_model, model_candidates, read_columns
from tasks.reference import NATIONAL

PARAMETERS = SelectionParameters(growth_spans=[1])


def small_inputs(ref) -> ModelInputs:
    """Two provinces, three classes, 2021-2022; published national totals; a registry."""
    rows = [  # plate, class, year, employment, establishments
        (34, "13.10", 2021, 100, 10), (34, "13.20", 2021, 50, 5), (34, "28.93", 2021, 50, 5),
        (34, "13.10", 2022, 120, 12), (34, "13.20", 2022, 60, 6), (34, "28.93", 2022, 20, 2),
        (16, "13.10", 2021, 10, 1), (16, "28.93", 2021, 190, 19),
        (16, "13.10", 2022, 20, 2), (16, "28.93", 2022, 180, 18),
    ]  # fmt: skip
    sgk = pd.DataFrame(rows, columns=["plate_code", "nace_class", "year", "employment", "establishments"])
    national = sgk.groupby(["nace_class", "year"], as_index=False)[["employment", "establishments"]].sum()
    sgk = pd.concat([sgk, national.assign(plate_code=NATIONAL, employment=national.employment * 2)])
    exports = pd.DataFrame(
        {
            "year": 2022,
            "plate_code": [34, 34],
            "exporter_sector_id": ["textiles", "machinery"],
            "exports_usd": [900.0, 100.0],
        }
    )
    registry = pd.DataFrame(
        {
            "registry_no": ["a", "b", "c", "d"],
            "nace_class": ["13.10", "13.20", "13.20", "28.93"],
            "plate_code": 34,
            "district": ["Merkez", "Merkez", "Tuzla", "Tuzla"],
            "employees": [100.0, 30.0, 30.0, 20.0],
            "turnover_try": np.nan,
        }
    )
    return ModelInputs(sgk, exports, registry, EMPTY["sector_turnover"], EMPTY["agency_db"], ref)


def test_a_named_set_is_scored_on_its_classes_summed_before_any_indicator(ref):
    sets = pd.Series({"13.10": "textiles", "13.20": "textiles", "28.93": "machinery"})
    model = compute_model(small_inputs(ref), PARAMETERS, 2022, sets)
    table = model.indicators.table.set_index(["region_code", "sector_code", "year"])
    assert set(table.index.get_level_values("sector_code")) == {"textiles", "machinery"}
    istanbul = table.loc[(34, "textiles", 2022)]
    assert istanbul.employment == 180 and istanbul.establishments == 18
    # LQ of the set: the province's manufacturing (summed: 200) and the set's national total, the
    # sum of its classes' published totals (2 x (140 + 60)), over the national total (2 x 400)
    assert istanbul.lq_employment == pytest.approx((180 / 200) / (400 / 800))
    assert istanbul.exports == pytest.approx(900.0)  # the textile exports, allocated to its classes, summed
    assert istanbul.employment_cagr == pytest.approx(180 / 150 - 1)
    candidates = model_candidates(model).set_index(["plate_code", "sector_code"])
    # the registry's firms count for their class's set: three firms, one district holding 130 of 160
    assert candidates.firms[(34, "textiles")] == 3
    assert candidates.top_district_share[(34, "textiles")] == pytest.approx(130 / 160)
    alone = compute_model(small_inputs(ref), PARAMETERS, 2022, sets[sets == "textiles"])  # 28.93 in no set
    assert set(alone.indicators.table.sector_code) == {"textiles"}  # left out, of the summed totals too


def test_classes_are_scored_as_the_indicators_stage_scores_them(ref):
    model = compute_model(small_inputs(ref), PARAMETERS)
    table = model.indicators.table.set_index(["region_code", "sector_code", "year"])
    assert model.year == 2022 and table.employment[(34, "13.20", 2022)] == 60
    assert table.lq_employment[(34, "13.10", 2022)] == pytest.approx((120 / 200) / (280 / 800))


def test_what_was_known_of_a_year_is_its_panels_up_to_it_without_the_snapshots(ref):
    inputs = synthetic_inputs(ref)
    known = as_of(inputs, 2016)
    assert known.sgk_employment.year.max() == 2016 and known.exports_by_sector.year.max() == 2016
    assert known.chamber_registry.empty and list(known.chamber_registry.columns) == list(inputs.chamber_registry)
    kept = as_of(inputs, 2016, snapshots=True)
    assert len(kept.chamber_registry) == len(inputs.chamber_registry)
    assert inputs.years() == list(range(2011, 2021))


def test_the_model_reads_its_columns_as_its_dtypes_whatever_types_they_are_staged_as(tmp_path):
    staged = pa.table(
        {
            "year": pa.array([2021, 2022], pa.int16()),
            "plate_code": pa.array([34, 6], pa.int32()),
            "nace_class": pa.array(["13.10", "13.10"]).dictionary_encode(),
            "establishments": [1.0, 2.0],
            "employment": [10.0, None],
            "raw__employment": ["10", ""],  # validation's raw text: not read
        }
    )
    pq.write_table(staged, tmp_path / "sgk.parquet")
    frame = read_columns(str(tmp_path / "sgk.parquet"), MODEL_COLUMNS["sgk_employment"])
    expected = pd.DataFrame(
        {
            "year": pd.array([2021, 2022], dtype="Int64"),
            "plate_code": pd.array([34, 6], dtype="Int64"),
            "nace_class": pd.array(["13.10", "13.10"], dtype="str"),
            "establishments": [1.0, 2.0],
            "employment": [10.0, np.nan],
        }
    )
    pd.testing.assert_frame_equal(frame, expected)
    # a source that gave no rows is staged with its provenance columns only
    pd.DataFrame(columns=["source_file", "source_row"]).to_parquet(tmp_path / "none.parquet")
    empty = read_columns(str(tmp_path / "none.parquet"), MODEL_COLUMNS["sgk_employment"])
    pd.testing.assert_frame_equal(empty, expected.iloc[:0], check_index_type=False)
