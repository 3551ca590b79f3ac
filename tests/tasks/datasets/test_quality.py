"""The quality dataset: per file, rows in, accepted and quarantined with the failed rules; a file
that failed or was not taken has a row saying why."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import QUALITY
from tasks.datasets.quality import _records_per_label, build_quality, quality_rows


def test_a_file_read_one_that_failed_and_one_not_taken():
    ingested = {
        "files": [
            {"file": "a.csv", "sha256": "aa", "rows_in": 4},
            {"file": "agency.sqlite", "sha256": "bb", "rows_in": 2},
        ],
        "errors": ["b.csv: no header row"],
        "not_read": [{"file": "c.xls", "reason": "old Excel format"}],
    }
    accepted = pd.DataFrame(  # a.csv's rows 2 and 3 (row 3 twice: one per year); the database's two tables
        {
            "source_file": ["a.csv", "a.csv", "a.csv", "agency.sqlite:t1", "agency.sqlite:t2"],
            "source_row": [2, 3, 3, 1, 1],
        }
    )
    quarantine = pd.DataFrame(  # a.csv's row 4 breaks two rules, row 5 one of them
        {"file": ["a.csv", "a.csv", "a.csv"], "row": [4, 4, 5], "rule": ["R1", "R2", "R1"]}
    )
    rows = pd.DataFrame(quality_rows("chamber_registry", ingested, accepted, quarantine))
    read = rows.set_index("file", drop=False)
    assert read.loc["a.csv", ["rows_in", "rows_accepted", "rows_quarantined"]].tolist() == [4, 2, 2]
    assert read.loc["a.csv", "failed_rules"] == "R1 x2, R2 x1"
    assert read.loc["agency.sqlite", ["rows_accepted", "rows_quarantined"]].tolist() == [2, 0]
    assert pd.isna(read.loc["agency.sqlite", "failed_rules"])
    assert rows.error.tolist()[2:] == ["b.csv: no header row", "NOT READ: old Excel format"]
    assert pd.isna(rows.file[2]) and rows.file[3] == "c.xls" and rows.rows_in[2:].tolist() == [0, 0]
    assert set(rows.source) == {"chamber_registry"}


def test_the_dataset_has_the_publication_id_and_the_contract_columns_even_when_empty():
    built = build_quality([{"source": "s", "file": "f", "sha256": "h", "rows_in": 1, "rows_accepted": 1,
                            "rows_quarantined": 0, "failed_rules": None, "error": None}], "run-1")  # fmt: skip
    assert list(built.columns) == QUALITY.names and built.run_id.tolist() == ["run-1"]
    assert build_quality([], "run-1").columns.tolist() == QUALITY.names


def test_accepted_records_are_counted_per_file_in_any_order():
    """Records per file are counted alike whether the rows come in order (a staged table's) or
    not, and a record of several rows (a database's long format) counts once."""
    files = ["a.csv", "a.csv", "b.csv", "b.csv", "b.csv"]
    accepted = pd.DataFrame({"source_file": files, "source_row": [2, 3, 2, 2, 4]})
    assert _records_per_label(accepted) == {"a.csv": 2, "b.csv": 2}
    assert _records_per_label(accepted.iloc[::-1]) == {"a.csv": 2, "b.csv": 2}
