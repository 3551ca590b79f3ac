"""Small frames as the pipeline hands them to the dataset builders."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from schemas.outputs import SCORES
from tasks.datasets.scores import build_scores
from tasks.methods.relatedness import Relatedness, compute_relatedness

# Columns of ``scores`` that build_scores adds to score_candidates' output (and carry-over's)
ADDED_BY_BUILDER = {
    "run_id",
    "computed_in_run",
    "parameters_id",
    "province",
    "year",
    "sector_name",
    "cluster_name",
    "carried_over_from",
}


@pytest.fixture
def scored() -> Callable[..., pd.DataFrame]:
    """One province's candidates as score_candidates returns them: (sector_code, rank,
    total_score, size_rank) per sector; rank 1 is selected unless ``eligible`` is False."""

    def make(plate: int, sectors: list[tuple[str, int, float, int]], eligible: bool = True) -> pd.DataFrame:
        blank = {field.name: np.nan for field in SCORES if field.name not in ADDED_BY_BUILDER}
        rows = [
            {
                **blank,
                "plate_code": plate,
                "sector_code": code,
                "rank": rank,
                "total_score": total,
                "eligible": eligible,
                "selected": rank == 1 and eligible,
                "size_rank": size_rank,
                "size_basis": "employment",
                "region_exports": 1.0,  # a column of the candidates that is not published
            }
            for code, rank, total, size_rank in sectors
        ]
        return pd.DataFrame(rows)

    return make


@pytest.fixture
def published_scores(scored, ref) -> pd.DataFrame:
    """Trabzon: shipbuilding selected, grain milling the largest; Samsun: nothing eligible."""
    trabzon = scored(61, [("30.11", 1, 89.9, 5), ("25.92", 2, 65.4, 2), ("10.61", 3, 60.9, 1)])
    samsun = scored(55, [("32.50", 1, 50.0, 2), ("10.61", 2, 40.0, 1)], eligible=False)
    return build_scores([trabzon, samsun], ref, 2022, "run-1", "params-1")


@pytest.fixture
def consultation() -> pd.DataFrame:
    """Accepted consultation records: Trabzon's meeting, and one of a province not scored."""
    return pd.DataFrame(
        {
            "plate_code": [61, 61, 61, 61, 6],
            "meeting_date": pd.to_datetime(["2023-03-01"] * 4 + ["2023-04-01"]),
            "institution": ["Trabzon TSO", "KTÜ", "DOKA", "Belediye", "ATO"],
            "institution_type": ["chamber", "university", "agency", "municipality", "chamber"],
            "nace_class": ["30.11", "10.61", "10.61", "30.11", "28.93"],
            "stance": ["support", "oppose", "support", "neutral", "support"],
            "note": [None, "too small", None, None, None],
        }
    )


# Window-average employment of five provinces in five classes: a connected network (complexity
# is defined), presence M = [[1,0,0,0,0], [1,1,0,0,0], [1,1,1,0,0], [0,1,1,1,0], [0,0,0,1,1]].
RELATED_PROVINCES = [19, 27, 55, 61, 6]
RELATED_CLASSES = ["10.61", "25.92", "28.93", "30.11", "32.50"]
RELATED_EMPLOYMENT = [
    [200, 5, 0, 0, 0],
    [100, 80, 5, 0, 0],
    [60, 60, 60, 0, 10],
    [40, 40, 40, 100, 0],
    [10, 20, 20, 150, 300],
]


@pytest.fixture(scope="session")
def relatedness_result() -> Relatedness:
    """§6 on three years (2020-2022) whose averages are RELATED_EMPLOYMENT: one full window, 2022."""
    rows = [
        (plate, code, year, float(RELATED_EMPLOYMENT[i][j] + year - 2021))
        for year in (2020, 2021, 2022)
        for i, plate in enumerate(RELATED_PROVINCES)
        for j, code in enumerate(RELATED_CLASSES)
        if RELATED_EMPLOYMENT[i][j]
    ]
    return compute_relatedness(pd.DataFrame(rows, columns=["region_code", "sector_code", "year", "employment"]))
