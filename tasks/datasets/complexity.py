"""The ``complexity`` dataset: per province its diversity, economic complexity (ECI) and
complexity outlook (COI), per class its ubiquity and product complexity (PCI), per year
(methodology.md §6.4-§6.5), as ``tasks.methods.relatedness`` computes them."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_province, with_sector_names
from tasks.methods.relatedness import Relatedness
from tasks.reference import Reference

LEVELS = {"region": "province", "sector": "sector"}  # the method's region is a province here


def build_complexity(result: Relatedness, ref: Reference) -> pd.DataFrame:
    """``Relatedness.complexity`` (keyed by ``region_code``) as published: ``level`` 'province'
    rows by plate code with the province's name, 'sector' rows with the class's name."""
    frame = result.complexity.rename(columns={"region_code": "plate_code"})
    frame = frame.assign(level=frame.level.map(LEVELS), window_years=result.window)
    return as_published(with_sector_names(with_province(frame, ref), ref), "complexity")
