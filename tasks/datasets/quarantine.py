"""The ``quarantine`` dataset: every input row set aside by a validation rule, with the rule,
what it requires and the value as the file wrote it (``tasks.validate`` makes the rows)."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published


def build_quarantine(quarantines: list[pd.DataFrame], run_id: str) -> pd.DataFrame:
    """Every source's quarantined rows (one frame per source) as one dataset of publication ``run_id``."""
    return as_published(pd.concat(quarantines, ignore_index=True).assign(run_id=run_id), "quarantine")
