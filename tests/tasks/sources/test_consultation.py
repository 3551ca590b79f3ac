"""The consultation normaliser: stances in Turkish or English, dates in either form, the raw
text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.consultation import normalize_consultation


def test_stances_and_dates_are_normalised_and_unknown_stances_null(ref):
    raw = pd.DataFrame(
        {
            "province": ["Trabzon"] * 4,
            "meeting_date": ["01.03.2023", "2023-03-01", "01.03.2023", "yarın"],
            "institution": [" Trabzon TSO ", "KTÜ", "DOKA", "Belediye"],
            "institution_type": ["chamber", "university", "agency", "municipality"],
            "nace_code": ["30.11", "1061", "30.11", "30.11"],
            "stance": ["Destek", "KARŞI", "tarafsız", "belki"],
            "source_file": "meeting.csv",
            "source_row": [2, 3, 4, 5],
        }
    )
    frame = normalize_consultation(raw, ref, ",")
    assert frame.stance.tolist()[:3] == ["support", "oppose", "neutral"] and pd.isna(frame.stance[3])
    assert frame.meeting_date.tolist()[:2] == [pd.Timestamp("2023-03-01")] * 2 and pd.isna(frame.meeting_date[3])
    assert frame.institution.tolist()[0] == "Trabzon TSO" and frame.nace_class.tolist()[1] == "10.61"
    assert frame.note.tolist() == ["", "", "", ""]  # no note column in the file
    assert frame.raw__stance.tolist() == ["Destek", "KARŞI", "tarafsız", "belki"]
    assert frame.raw__meeting_date.tolist()[3] == "yarın" and frame.plate_code.eq(61).all()
