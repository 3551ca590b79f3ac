"""Source ``sector_turnover``: the statistics office's turnover by province x NACE class or
division x year, suppressed cells kept as such."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.reference import Reference
from tasks.sources.parsing import nace_columns, parse_numbers, plate_codes, with_provenance

SUPPRESSED_WORDS = {"c", "*", "..", "...", "gizli", "x"}  # a statistics office's suppressed (confidential) cell


def normalize_sector_turnover(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    """Turnover by province x NACE class or division x year. A division (``28``, ``C28``) is kept
    as ``nace_division`` with a null class; it is allocated to classes by employment later."""
    text = table.nace_code.fillna("").astype(str).str.strip().str.upper()
    division = text.str.extract(r"^C?(\d{2})$", expand=False)
    nace_class, _ = nace_columns(text.where(division.isna(), ""))
    suppressed = table.turnover_try.fillna("").astype(str).str.strip().str.lower().isin(SUPPRESSED_WORDS)
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(table.year, errors="coerce").astype("Int64"),
            "plate_code": plate_codes(table.province, ref),
            "nace_class": nace_class,
            "nace_division": division.where(division.notna(), pd.Series(nace_class, index=table.index).str[:2]),
            "nace_level": np.where(division.notna(), "division", np.where(pd.notna(nace_class), "class", None)),
            "turnover_try": parse_numbers(table.turnover_try.where(~suppressed, ""), decimal),
            "turnover_suppressed": suppressed.to_numpy(dtype=bool),
        }
    )
    raw = {
        "year": "year",
        "plate_code": "province",
        "nace_level": "nace_code",
        "nace_division": "nace_code",
        "nace_class": "nace_code",
        "turnover_try": "turnover_try",
    }
    return with_provenance(frame, table, raw)
