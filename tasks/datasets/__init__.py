"""The builders of the published datasets, one module per dataset named after it
(``build_<dataset>``): plain functions over DataFrames that return the dataset as it is
published, each column made in one place. Names of provinces, classes and clusters come
from ``names``."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import DATASETS

CARRIED_OVER = "carried_over_from"  # set by carry-over when the publication is assembled


def as_published(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The columns of dataset ``name``'s contract, in its order; ``carried_over_from`` is left
    to carry-over. A column the contract has and ``frame`` lacks is an error, not a null."""
    return frame[[field.name for field in DATASETS[name][0] if field.name != CARRIED_OVER]]
