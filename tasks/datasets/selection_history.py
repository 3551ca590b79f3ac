"""The ``selection_history`` dataset: the top three of every province in every reference year
the data allow, each year scored from the data up to it only (methodology.md §8.1), as
``tasks.methods.history`` computes them."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_province, with_sector_names
from tasks.reference import Reference


def build_selection_history(history: pd.DataFrame, ref: Reference, run_id: str, parameters_id: str) -> pd.DataFrame:
    """``selection_history``'s rows as published: computed in run ``run_id`` with parameter set
    ``parameters_id`` (a province's history follows its selection: carried over with it), with
    the province's and the class's names, and the robustness share as ``robust_share``."""
    frame = history.rename(columns={"robustness_share": "robust_share"})
    frame = frame.assign(run_id=run_id, computed_in_run=run_id, parameters_id=parameters_id)
    return as_published(with_sector_names(with_province(frame, ref), ref), "selection_history")
