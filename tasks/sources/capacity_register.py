"""Source ``capacity_register``: the chambers' capacity register by province x NACE division."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference
from tasks.sources.parsing import parse_numbers, plate_codes, with_provenance


def normalize_capacity(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    masked = table.capacity.str.strip().eq("*")
    frame = pd.DataFrame(
        {
            "plate_code": plate_codes(table.province, ref),
            "nace_division": table.nace_division.str.strip().str.zfill(2),
            "product": table.get("product", pd.Series("", index=table.index)).str.strip(),
            "producers": parse_numbers(table.producers, decimal),
            # '*' is a masked value (three or fewer producers), not zero: null with a flag
            "capacity": parse_numbers(table.capacity.where(~masked, ""), decimal),
            "capacity_masked": masked.to_numpy(),
            "unit": table.get("unit", pd.Series("", index=table.index)).str.strip(),
        }
    )
    frame["capacity_unparsed"] = (~masked & table.capacity.str.strip().ne("") & frame.capacity.isna()).to_numpy()
    raw = {"plate_code": "province", "nace_division": "nace_division", "producers": "producers", "capacity": "capacity"}
    return with_provenance(frame, table, raw)
