"""The ``opportunities`` dataset: per province and year, every class the province does not have
(not present, §6.1), ranked by its relatedness density then its complexity outlook gain, with
the present classes that give it its density (methodology.md §6.6), as
``tasks.methods.relatedness`` computes them, and the class's national employment growth."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import SUPPORTS
from tasks.datasets import as_published
from tasks.datasets.names import class_names, with_province, with_sector_names
from tasks.methods.relatedness import Relatedness
from tasks.reference import Reference


def build_opportunities(result: Relatedness, indicators: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """``Relatedness.opportunities`` (keyed by ``region_code``) as published: by plate code, with
    names of the province, the class and its supporting classes, and the class's
    ``national_sector_employment_cagr`` in the same year from ``indicators`` (the indicators
    dataset: plate_code, sector_code, year, national_sector_employment_cagr)."""
    national = indicators.groupby(["sector_code", "year"]).national_sector_employment_cagr.first().reset_index()
    frame = result.opportunities.rename(columns={"region_code": "plate_code"})
    frame = frame.merge(national.astype({"year": frame.year.dtype}), on=["sector_code", "year"], how="left")
    frame["window_years"] = result.window
    for n in range(1, SUPPORTS + 1):
        frame[f"support_{n}_sector_name"] = class_names(frame[f"support_{n}_sector_code"], ref)
    return as_published(with_sector_names(with_province(frame, ref), ref), "opportunities")
