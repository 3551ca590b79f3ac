"""The ``concentration`` dataset: per class and year, the Herfindahl of the regions' shares
and, in the reference year, the Ellison-Glaeser gamma of the registry plants
(methodology.md §2 concentration)."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import with_sector_names
from tasks.methods.classifications import ellison_glaeser
from tasks.reference import Reference


def build_concentration(concentration: pd.DataFrame, registry: pd.DataFrame, year: int, ref: Reference) -> pd.DataFrame:
    """``IndicatorSet.concentration`` with gamma from the chamber ``registry``'s plants
    (plate_code, nace_class, employees) in ``year``, and the class's name."""
    plants = registry.rename(columns={"plate_code": "region_code", "nace_class": "sector_code"})
    gamma = ellison_glaeser(plants).assign(year=year)
    frame = concentration.merge(gamma, on=["sector_code", "year"], how="left")
    return as_published(with_sector_names(frame, ref), "concentration")
