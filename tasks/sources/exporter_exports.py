"""Source ``exporter_exports``: the exporters' union's exports per member firm."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference
from tasks.sources.parsing import (
    formula_like,
    nace_columns,
    parse_numbers,
    parse_years,
    plate_codes,
    strip,
    with_provenance,
)


def normalize_exporter_exports(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, _ = nace_columns(table.nace_code)
    frame = pd.DataFrame(
        {
            "year": parse_years(table.year),
            "registry_no": strip(table.get("registry_no", pd.Series("", index=table.index))),
            "firm_name": strip(table.firm_name),
            "plate_code": plate_codes(table.province, ref),
            "nace_class": nace_class,
            "exports_usd": parse_numbers(table.exports_usd, decimal),
        }
    )
    frame["formula_like"] = formula_like(frame.firm_name)
    raw = {"year": "year", "plate_code": "province", "nace_class": "nace_code", "exports_usd": "exports_usd"}
    return with_provenance(frame, table, raw)
