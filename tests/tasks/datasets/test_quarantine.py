"""The quarantine dataset: every source's quarantined rows with the publication's id."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import QUARANTINE
from tasks.datasets.quarantine import build_quarantine


def test_every_source_s_rows_in_one_dataset_of_the_publication():
    def rows(source: str, count: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "source": source,
                "file": [f"{source}.csv"] * count,
                "row": range(2, 2 + count),
                "column": "employees",
                "rule": "R1",
                "message": "employees below 0",
                "raw_value": "-1",
            }
        )

    built = build_quarantine([rows("chamber_registry", 2), rows("consultation", 0), rows("sgk_employment", 1)], "r")
    assert list(built.columns) == QUARANTINE.names
    assert built.source.tolist() == ["chamber_registry", "chamber_registry", "sgk_employment"]
    assert built.row.tolist() == [2, 3, 2] and set(built.run_id) == {"r"}
