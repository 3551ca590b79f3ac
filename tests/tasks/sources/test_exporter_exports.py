"""The exporters' union's per-firm normaliser: a raw table in, normalised columns out, formula-like
firm names flagged, the raw text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.exporter_exports import normalize_exporter_exports


def test_firm_exports_are_parsed_and_formula_like_names_flagged(ref):
    raw = pd.DataFrame(
        {
            "year": ["2022", "2022"],
            "firm_name": [" Işık Medikal A.Ş. ", '=HYPERLINK("x")'],
            "province": ["Samsun", "55"],
            "nace_code": ["32.50.01", "bilinmiyor"],
            "exports_usd": ["1,250.5", ""],
            "source_file": "members.csv",
            "source_row": [2, 3],
        }
    )
    frame = normalize_exporter_exports(raw, ref, ".")
    assert frame.firm_name.tolist()[0] == "Işık Medikal A.Ş."
    assert frame.formula_like.tolist() == [False, True]
    assert frame.plate_code.tolist() == [55, 55] and frame.nace_class[0] == "32.50" and pd.isna(frame.nace_class[1])
    assert frame.exports_usd.tolist()[0] == 1250.5 and pd.isna(frame.exports_usd[1])
    assert frame.registry_no.tolist() == ["", ""]  # no registry number column in the file
    assert frame.raw__nace_class.tolist() == ["32.50.01", "bilinmiyor"]
