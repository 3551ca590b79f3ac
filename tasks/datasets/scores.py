"""The ``scores`` dataset: every candidate sector of every scored province with its rank, the
criterion and indicator scores, the explanation and robustness (methodology.md §4). The score
columns are made by ``tasks.methods.scoring.score_candidates``; this adds who computed them
and the names."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_province, with_sector_names
from tasks.reference import Reference


def build_scores(
    scored: list[pd.DataFrame],
    ref: Reference,
    year: int,
    run_id: str,
    parameters_id: str,
    sets: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The provinces' scored candidates (``score_candidates``' output, one frame per province)
    as published: computed in run ``run_id`` with parameter set ``parameters_id``, for the
    reference ``year``, with the province's, the class's and the programme cluster's names
    (with ``sets``, the cluster definitions of a run scoring them, a data-driven cluster's)."""
    frame = pd.concat(scored, ignore_index=True)
    frame = frame.assign(run_id=run_id, computed_in_run=run_id, parameters_id=parameters_id, year=year)
    return as_published(with_sector_names(with_province(frame, ref), ref, clusters=True, sets=sets), "scores")
