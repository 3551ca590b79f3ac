"""The ``indicators`` dataset: province x NACE class x year figures, their indicators and
classifications (methodology.md §1-§3), as ``tasks.methods.indicators`` computes them."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_province, with_sector_names
from tasks.reference import Reference


def build_indicators(table: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """``IndicatorSet.table`` (keyed by ``region_code``) as published: by plate code, with the
    province's and the class's names."""
    frame = table.rename(columns={"region_code": "plate_code"})
    return as_published(with_sector_names(with_province(frame, ref), ref), "indicators")
