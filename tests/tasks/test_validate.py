"""Validation on small frames with a small suite: rows in = accepted + quarantined, each failure
with its file, row, column, rule code and the raw text, and the output suites' refusal."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS
from tasks import validate as validation
from tasks.errors import OutputValidationError
from tasks.sources.files import set_aside_raw_text
from tasks.store import Paths, StagedParts, View, ViewPart, stage, write_read
from tasks.validate import (
    QUARANTINE_COLUMNS,
    RAW_TEXT,
    _count_distinct,
    _distinct,
    _frames,
    validate,
    validate_normalized,
    validate_outputs,
)

SUITE = {
    "name": "demo",
    "expectations": [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "employment"},
            "meta": {"rule": "DEMO-EMP-01", "message": "employment is missing"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "employment", "min_value": 0},
            "meta": {"rule": "DEMO-EMP-02", "message": "employment is negative"},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "nace_class", "value_set": {"$PARAMETER": "classes"}},
            "meta": {"rule": "DEMO-NACE-01", "message": "not a known class"},
        },
    ],
}
PARAMETERS = {"classes": ["10.11", "30.11"]}


def rows(employment: list, nace: list[str], records: list[int] | None = None) -> pd.DataFrame:
    records = records or list(range(2, 2 + len(employment)))
    return pd.DataFrame(
        {
            "employment": pd.array(employment, dtype="Float64"),
            "nace_class": nace,
            "raw__employment": [f"'{v}'" for v in employment],
            "source_file": "sgk.csv",
            "source_row": records,
        }
    )


def test_every_row_is_accepted_or_quarantined_with_its_rule_code_and_raw_text():
    frame = rows([5.0, None, -3.0, 7.0], ["10.11", "10.11", "10.11", "99.99"])
    outcome = validate("demo", frame, SUITE, PARAMETERS)
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (4, 1, 3)
    assert outcome.accepted.source_row.tolist() == [2]
    assert list(outcome.quarantine.columns) == QUARANTINE_COLUMNS
    quarantined = outcome.quarantine.set_index("row")
    assert quarantined.rule.to_dict() == {3: "DEMO-EMP-01", 4: "DEMO-EMP-02", 5: "DEMO-NACE-01"}
    assert quarantined.loc[4, ["file", "column", "message", "raw_value"]].tolist() == [
        "sgk.csv",
        "employment",
        "employment is negative",
        "'-3.0'",  # the raw__ text the file said, not the parsed number
    ]
    assert quarantined.raw_value[5] == "99.99"  # no raw__ column: the value itself
    assert outcome.rule_failures == {"DEMO-EMP-01": 1, "DEMO-EMP-02": 1, "DEMO-NACE-01": 1}


def test_a_row_failing_two_rules_is_one_quarantined_row_with_two_failures():
    outcome = validate("demo", rows([-1.0, 2.0], ["99.99", "30.11"]), SUITE, PARAMETERS)
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (2, 1, 1)
    assert outcome.quarantine.rule.tolist() == ["DEMO-EMP-02", "DEMO-NACE-01"]


def test_a_record_of_several_rows_is_quarantined_whole():
    # the agency database's long format: record 7 has three rows, one of them bad
    frame = rows([1.0, -1.0, 2.0, 4.0], ["10.11"] * 4, records=[7, 7, 7, 8])
    outcome = validate("demo", frame, SUITE, PARAMETERS)
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (2, 1, 1)
    assert outcome.accepted.source_row.tolist() == [8]  # none of record 7's rows is kept


def test_rows_the_reader_set_aside_count_as_in_and_quarantined():
    rejected = pd.DataFrame(
        [["demo", "sgk.csv", 9, "employment", "DEMO-TOTAL-01", "total does not add up", "100"]],
        columns=QUARANTINE_COLUMNS,
    )
    outcome = validate("demo", rows([5.0], ["10.11"]), SUITE, PARAMETERS, rejected=rejected)
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (2, 1, 1)
    assert outcome.rule_failures == {"DEMO-TOTAL-01": 1}
    empty = validate("demo", rows([], []), SUITE, PARAMETERS, rejected=rejected)
    assert (empty.rows_in, empty.rows_accepted, empty.rows_quarantined) == (1, 0, 1)


def test_rows_with_the_same_values_fail_alike_each_named_by_its_own_row():
    # a row's verdict is its values' (with its row condition's): checked once per distinct value
    suite = {
        "name": "demo",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "employment", "min_value": 0, "row_condition": 'nace_class=="10.11"'},
                "meta": {"rule": "DEMO-EMP-02", "message": "employment is negative"},
            }
        ],
    }
    frame = rows([-1.0, -1.0, 2.0, -1.0, None, -1.0], ["10.11", "30.11", "10.11", "10.11", "10.11", "10.11"])
    outcome = validate("demo", frame, suite, PARAMETERS)
    assert outcome.quarantine.row.tolist() == [2, 5, 7] and outcome.accepted.source_row.tolist() == [3, 4, 6]


def test_a_column_asked_only_whether_it_is_null_fails_where_it_is():
    # checked on one null and one other value of its (the registry numbers: mostly distinct)
    suite = {
        "name": "demo",
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "name"},
                "meta": {"rule": "DEMO-NAME-01", "message": "name is blank"},
            }
        ],
    }
    frame = rows([1.0] * 5, ["10.11"] * 5).assign(name=["a", None, "c", None, "e"])
    outcome = validate("demo", frame, suite, PARAMETERS)
    assert outcome.quarantine.row.tolist() == [3, 5] and outcome.accepted.name.tolist() == ["a", "c", "e"]


def test_a_staged_table_is_validated_on_its_columns_and_accepted_without_its_raw_text(tmp_path):
    frame = rows([5.0, -3.0, 7.0], ["10.11", "10.11", "99.99"]).assign(name=["a", "b", "c"])
    paths = Paths(tmp_path, tmp_path, tmp_path, tmp_path / "work", "")
    with StagedParts(paths, "demo.raw") as raw_text:  # as ingest stages it: the raw text beside the values
        values = set_aside_raw_text(pa.Table.from_pandas(frame, preserve_index=False), raw_text.write, keep=[])
    normalized = stage(values, paths, "demo.normalized", {RAW_TEXT: Path(raw_text.path).name})
    outcome = validate_normalized("demo", normalized, SUITE, PARAMETERS)
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (3, 1, 2)
    accepted = outcome.accepted.to_pandas()  # an Arrow table, staged as it is
    assert accepted.columns.tolist() == ["employment", "nace_class", "source_file", "source_row", "name"]
    assert accepted.name.tolist() == ["a"] and accepted.employment.dtype == "Float64"
    assert outcome.quarantine.raw_value.tolist() == ["'-3.0'", "99.99"]  # read for the failing rows alone
    in_memory = validate("demo", frame, SUITE, PARAMETERS)
    assert outcome.quarantine.equals(in_memory.quarantine) and accepted.equals(in_memory.accepted)


SCORE_SUITE = {
    "name": "scores",
    "expectations": [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "total_score", "min_value": 0, "max_value": 100},
            "meta": {"rule": "OUT-SCORE-01", "message": "total_score outside 0-100"},
        }
    ],
}


def refusal(tmp_path, frame: pd.DataFrame) -> OutputValidationError:
    (tmp_path / "scores.json").write_text(json.dumps(SCORE_SUITE), encoding="utf-8")
    with pytest.raises(OutputValidationError) as refused:
        validate_outputs({"scores": frame}, tmp_path)
    return refused.value


def test_an_output_that_breaks_its_suite_is_refused_naming_dataset_and_rule(tmp_path):
    (tmp_path / "scores.json").write_text(json.dumps(SCORE_SUITE), encoding="utf-8")
    validate_outputs({"scores": pd.DataFrame({"total_score": [0.0, 100.0]})}, tmp_path)  # bounds included
    validate_outputs({"growth": pd.DataFrame({"x": [-1]})}, tmp_path)  # no suite: nothing to check
    problems = refusal(tmp_path, pd.DataFrame({"total_score": [10.0, 101.0, 120.0]})).problems
    assert len(problems) == 1 and problems[0].startswith("scores: OUT-SCORE-01 total_score outside 0-100 (rows ")


def test_an_output_refusal_names_the_failing_rows_as_plain_numbers(tmp_path):
    problems = refusal(tmp_path, pd.DataFrame({"total_score": [10.0, 101.0, 120.0]})).problems
    assert problems == ["scores: OUT-SCORE-01 total_score outside 0-100 (rows [1, 2])"]


def contract_frame(name: str, **columns: list) -> pd.DataFrame:
    """Rows of dataset ``name`` with every contract column (null where not given)."""
    length = len(next(iter(columns.values())))
    return pd.DataFrame({field: columns.get(field, [None] * length) for field in DATASETS[name][0].names})


def test_the_relatedness_suites_refuse_what_section_6_cannot_give():
    suites = PROJECT_ROOT / "expectations" / "outputs"
    names = {"sector_name": ["a", "b"], "year": [2022, 2022], "window_years": [3, 3]}
    good = {
        "relatedness": contract_frame(
            "relatedness", sector_code=["10.61", "25.92"], related_sector_code=["25.92", "10.61"],
            related_sector_name=["b", "a"], proximity=[0.5, 1.0], co_occurrence=[1, 2], **names,
        ),
        "complexity": contract_frame("complexity", level=["province", "sector"], diversity=[3, None], **names),
        "opportunities": contract_frame(
            "opportunities", plate_code=[55, 55], sector_code=["10.61", "30.11"], rank=[1, None],
            density=[0.0, None], support_1_proximity=[1.0, None], **names,
        ),
    }  # fmt: skip
    validate_outputs(good, suites)
    bad = {
        "relatedness": good["relatedness"].assign(proximity=[0.5, 1.5]),
        "complexity": good["complexity"].assign(level=["province", "region"]),
        "opportunities": good["opportunities"].assign(rank=[0, None], density=[-0.1, None]),
    }
    with pytest.raises(OutputValidationError) as refused:
        validate_outputs(bad, suites)
    assert [problem.split(" (rows")[0] for problem in refused.value.problems] == [
        "relatedness: OUT-REL-04 proximity outside 0-1",
        "complexity: OUT-CPX-01 level is neither province nor sector",
        "opportunities: OUT-OPP-04 rank below 1",
        "opportunities: OUT-OPP-05 density outside 0-1",
    ]


@pytest.mark.parametrize(
    ("records", "distinct"),
    [([], 0), ([3, 5, 9], 3), ([3, 3, 5], 2), ([9, 3, 5, 3], 3), ([1, 2, 1], 2)],
)
def test_records_are_counted_distinct_in_order_or_not(records, distinct):
    """Rows in = accepted + quarantined counts records: a staged table's come in order (counted
    without sorting), a database's long rows repeat theirs, and any other order is sorted."""
    assert _count_distinct(np.array(records, dtype=np.int64)) == distinct


def test_the_raw_text_of_a_view_is_read_from_each_row_s_own_part(tmp_path, monkeypatch):
    """A normalised table staged as a view of read cache entries (a row set aside as a
    duplicate left out) and its raw text as a view of the same entries: a failing row's raw text
    is its own, read where it lies (no record searched), as the records give it."""
    paths = Paths(tmp_path, tmp_path, tmp_path, tmp_path / "work", "")
    files = [rows([5.0, -3.0, -3.0], ["10.11", "10.11", "99.99"]), rows([-1.0, 7.0], ["99.99", "30.11"])]
    files = [frame.assign(source_file=f"f{number}.csv") for number, frame in enumerate(files)]
    parts = []
    for number, frame in enumerate(files):
        write_read(tmp_path / f"entry{number}", pa.Table.from_pandas(frame), pd.DataFrame(), {})
        parts.append(ViewPart(str(tmp_path / f"entry{number}" / "rows.arrow")))
    table = pa.Table.from_pandas(files[0], preserve_index=False)
    raw = stage(View(parts, table.select(["source_file", "source_row", "raw__employment"]).schema), paths, "demo.raw")
    values = View([parts[0]._replace(dropped=(1,)), parts[1]], table.drop_columns(["raw__employment"]).schema)
    normalized = stage(values, paths, "demo.normalized", {RAW_TEXT: Path(raw).name})
    monkeypatch.setattr(validation, "_RawRecords", None)  # the records are not needed
    outcome = validate_normalized("demo", normalized, SUITE, PARAMETERS)
    quarantine = outcome.quarantine[["file", "row", "rule", "raw_value"]].values.tolist()
    assert quarantine == [
        ["f0.csv", 4, "DEMO-EMP-02", "'-3.0'"],
        ["f0.csv", 4, "DEMO-NACE-01", "99.99"],
        ["f1.csv", 2, "DEMO-EMP-02", "'-1.0'"],
        ["f1.csv", 2, "DEMO-NACE-01", "99.99"],
    ]
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (4, 2, 2)
    in_memory = validate("demo", pd.concat([files[0].drop(index=1), files[1]]), SUITE, PARAMETERS)
    assert outcome.quarantine.equals(in_memory.quarantine)
    assert outcome.accepted_records.astype({"source_file": str}).equals(
        in_memory.accepted[["source_file", "source_row"]]
    )


def test_a_thread_keeps_its_great_expectations_context_emptied_after_each_use():
    frame = rows([5.0, -3.0, 7.0], ["10.11", "10.11", "99.99"])
    with _frames() as frames:
        pass
    for _ in range(2):
        assert validate("demo", frame, SUITE, PARAMETERS).rows_quarantined == 2
        with _frames() as again:
            assert again is frames  # made once for this thread
            engine = again.data_asset.datasource.get_execution_engine()
            assert not engine.batch_manager.batch_data_cache and not engine._metric_cache  # nothing held
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(_frames().__enter__()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not frames  # another thread: a context of its own


def test_distinct_rows_number_flags_and_nulls_in_the_order_they_first_come():
    frame = pd.DataFrame({"flag": [True, True, False, True], "name": ["a", None, None, "b"]})
    batch, codes = _distinct(frame[["flag"]], set())
    assert batch.flag.tolist() == [True, False] and codes.tolist() == [0, 0, 1, 0]
    batch, codes = _distinct(frame, {"name"})  # of the name, only whether it is null
    assert codes.tolist() == [0, 1, 2, 0] and batch.flag.tolist() == [True, True, False]
    assert batch.name.isna().tolist() == [False, True, True]
