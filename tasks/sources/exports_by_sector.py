"""Source ``exports_by_sector``: the exporters' assembly's exports by province and exporter
sector, published in thousand USD."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference, fold_key
from tasks.sources.parsing import parse_numbers, parse_years, plate_codes, with_provenance


def normalize_exports(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    names = ref.exporter_sector_names  # current names and the ones renamed in 2015 and 2021
    sectors = {fold_key(n): sid for n, sid in zip(names.name_tr, names.sector_id, strict=True)}
    # each distinct name folded once; a blank cell (code -1) takes the last entry, a blank name's
    codes, uniques = pd.factorize(table.exporter_sector, use_na_sentinel=True)
    sector_ids = [*(sectors.get(fold_key(name)) for name in uniques), sectors.get(fold_key(None))]
    frame = pd.DataFrame(
        {
            "year": parse_years(table.year),
            "plate_code": plate_codes(table.province, ref),
            "exporter_sector_id": [sector_ids[code] for code in codes.tolist()],
            # published in thousand USD; kume works in USD
            "exports_usd": parse_numbers(table.exports_thousand_usd, decimal) * 1000,
        }
    )
    raw = {
        "year": "year",
        "plate_code": "province",
        "exporter_sector_id": "exporter_sector",
        "exports_usd": "exports_thousand_usd",
    }
    return with_provenance(frame, table, raw)
