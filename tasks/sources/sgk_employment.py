"""Source ``sgk_employment``: the social-security institution's workplaces and insured
employment by province x NACE class x year, with the national totals."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference
from tasks.sources.parsing import nace_columns, parse_numbers, parse_years, plate_codes, with_provenance


def normalize_sgk(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, _ = nace_columns(table.nace_code)
    province = table.province
    if "plate_code_raw" in table:
        province = table.plate_code_raw.where(table.plate_code_raw.str.strip().ne(""), table.province)
    frame = pd.DataFrame(
        {
            "year": parse_years(table.year),
            "plate_code": plate_codes(province, ref),
            "nace_class": nace_class,
            "establishments": parse_numbers(table.establishments, decimal),
            "employment": parse_numbers(table.employment, decimal),
        }
    )
    raw = {
        "year": "year",
        "plate_code": "province",
        "nace_class": "nace_code",
        "employment": "employment",
        "establishments": "establishments",
    }
    return with_provenance(frame, table.assign(province=province), raw)
