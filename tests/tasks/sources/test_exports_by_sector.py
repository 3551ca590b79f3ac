"""The exporters' assembly's normaliser: exporter sectors by their published names, thousand
USD to USD, the raw text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.exports_by_sector import normalize_exports


def test_sector_names_resolve_to_ids_and_thousands_become_usd(ref):
    name = ref.exporter_sectors.set_index("sector_id").name_tr["cereals"]
    raw = pd.DataFrame(
        {
            "year": ["2022", "2022"],
            "province": ["Samsun", "Samsun"],
            "exporter_sector": [name.upper(), "Uzay Gemileri"],
            "exports_thousand_usd": ["1.234,5", "7"],
            "source_file": "exports.csv",
            "source_row": [2, 3],
        }
    )
    frame = normalize_exports(raw, ref, ",")
    assert frame.exporter_sector_id[0] == "cereals" and pd.isna(frame.exporter_sector_id[1])  # folded; unknown: null
    assert frame.exports_usd.tolist() == [1_234_500.0, 7000.0]
    assert frame.plate_code.tolist() == [55, 55]
    assert frame.raw__exports_usd.tolist() == ["1.234,5", "7"]
    assert frame.raw__exporter_sector_id.tolist()[1] == "Uzay Gemileri"


def test_a_sector_published_under_an_older_name_is_the_same_sector(ref):
    renamed = ref.exporter_sector_names
    old = renamed[renamed.valid_to < 9999].iloc[0]
    raw = pd.DataFrame(
        {
            "year": ["2012"],
            "province": ["Samsun"],
            "exporter_sector": [old.name_tr],
            "exports_thousand_usd": ["1"],
            "source_file": "f",
            "source_row": [2],
        }
    )
    assert normalize_exports(raw, ref, ",").exporter_sector_id.tolist() == [old.sector_id]
