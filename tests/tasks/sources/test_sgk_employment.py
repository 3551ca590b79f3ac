"""The SGK normaliser: a raw table in, normalised columns out, the raw text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.sgk_employment import normalize_sgk


def test_sgk_rows_are_parsed_with_their_raw_text_and_the_plate_code_column_preferred(ref):
    raw = pd.DataFrame(
        {
            "year": ["2022", "2022", "2022", "yirmi"],
            "province": ["Trabzon", "Türkiye", "Trabzon", "Samsun"],
            "plate_code_raw": ["", "", "55", ""],  # a plate code column, where given, decides
            "nace_code": ["30.11", "C", "3011", "99.99"],
            "establishments": ["12", "1.234", "3", "1"],
            "employment": ["1.250", "250.000", "", "5"],
            "source_file": "sgk_2022.csv",
            "source_row": [2, 3, 4, 5],
        }
    )
    frame = normalize_sgk(raw, ref, ",")
    assert frame.plate_code.tolist()[:3] == [61, 0, 55]  # Türkiye is the national row (0)
    assert frame.nace_class.tolist() == ["30.11", "C", "30.11", "99.99"]  # a class code; the suite checks the set
    assert frame.employment.tolist()[:2] == [1250.0, 250_000.0] and pd.isna(frame.employment[2])
    assert frame.establishments.tolist()[1] == 1234.0
    assert pd.isna(frame.year[3]) and frame.year.dtype == "Int64"
    assert frame.raw__plate_code.tolist()[2] == "55"  # the text the plate code was read from
    assert frame.raw__employment.tolist()[0] == "1.250" and frame.raw__nace_class.tolist()[3] == "99.99"
    assert frame.source_row.tolist() == [2, 3, 4, 5]
