"""Source ``consultation``: the stakeholders' stances recorded in the consultation meetings."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference, fold_key
from tasks.sources.parsing import nace_columns, parse_dates, plate_codes, with_provenance

STANCES = {
    "destek": "support",
    "support": "support",
    "tarafsiz": "neutral",
    "neutral": "neutral",
    "karsi": "oppose",
    "oppose": "oppose",
    "itiraz": "oppose",
}


def normalize_consultation(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, _ = nace_columns(table.nace_code)
    frame = pd.DataFrame(
        {
            "plate_code": plate_codes(table.province, ref),
            "meeting_date": parse_dates(table.meeting_date),
            "institution": table.institution.str.strip(),
            "institution_type": table.institution_type.str.strip(),
            "nace_class": nace_class,
            "stance": [STANCES.get(fold_key(v)) for v in table.stance],
            "note": table.get("note", pd.Series("", index=table.index)),
        }
    )
    raw = {"plate_code": "province", "meeting_date": "meeting_date", "nace_class": "nace_code", "stance": "stance"}
    return with_provenance(frame, table, raw)
