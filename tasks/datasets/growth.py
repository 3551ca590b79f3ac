"""The ``growth`` dataset: CAGR and Dunn shift-share per province, class, year and span
(methodology.md §2), as ``tasks.methods.indicators`` computes them."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_province, with_sector_names
from tasks.reference import Reference


def build_growth(growth: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """``IndicatorSet.growth`` (keyed by ``region_code``) as published: by plate code, with the
    province's and the class's names (none for '*', the province's sums)."""
    frame = growth.rename(columns={"region_code": "plate_code"})
    return as_published(with_sector_names(with_province(frame, ref), ref), "growth")
