"""The capacity register's normaliser: a masked '*' is null and flagged, not zero; unparsed text
is flagged; the raw text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.capacity_register import normalize_capacity


def test_masked_capacity_is_null_and_flagged_and_bad_text_is_unparsed(ref):
    raw = pd.DataFrame(
        {
            "province": ["Trabzon", "Trabzon", "Trabzon", "Trabzon"],
            "nace_division": ["30", "8", " 10 ", "25"],
            "producers": ["5", "2", "12", "4"],
            "capacity": ["1.500", " * ", "", "çok"],
            "source_file": "capacity.csv",
            "source_row": [2, 3, 4, 5],
        }
    )
    frame = normalize_capacity(raw, ref, ",")
    assert frame.nace_division.tolist() == ["30", "08", "10", "25"]
    assert frame.capacity.tolist()[0] == 1500.0 and frame.capacity.iloc[1:].isna().all()
    assert frame.capacity_masked.tolist() == [False, True, False, False]
    assert frame.capacity_unparsed.tolist() == [False, False, False, True]  # blank is missing, not unparsed
    assert frame["product"].tolist() == ["", "", "", ""] and frame.unit.tolist() == ["", "", "", ""]
    assert frame.raw__capacity.tolist() == ["1.500", " * ", "", "çok"] and frame.plate_code.eq(61).all()
