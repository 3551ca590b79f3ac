"""The ``relatedness`` dataset: the proximity of every pair of NACE classes present together in
some province, per year (methodology.md §6.2), as ``tasks.methods.relatedness`` computes it."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import class_names, with_sector_names
from tasks.methods.relatedness import Relatedness
from tasks.reference import Reference


def build_relatedness(result: Relatedness, ref: Reference) -> pd.DataFrame:
    """``Relatedness.pairs`` (both directions, proximity > 0 only) as published: with both
    classes' names and the window the presence was averaged over."""
    pairs = result.pairs
    frame = pairs.assign(related_sector_name=class_names(pairs.related_sector_code, ref), window_years=result.window)
    return as_published(with_sector_names(frame, ref), "relatedness")
