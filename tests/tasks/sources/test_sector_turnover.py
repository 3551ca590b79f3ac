"""The statistics office's turnover normaliser: class or division codes, suppressed cells kept
as such, the raw text kept."""

from __future__ import annotations

import pandas as pd

from tasks.sources.sector_turnover import normalize_sector_turnover


def test_classes_divisions_and_suppressed_cells(ref):
    raw = pd.DataFrame(
        {
            "year": ["2022"] * 5,
            "province": ["Trabzon"] * 5,
            "nace_code": ["30.11", "C30", "28", "gizli kod", "10.61"],
            "turnover_try": ["1.000", "5.000,5", "C", "7", "..."],
            "source_file": "turnover.csv",
            "source_row": [2, 3, 4, 5, 6],
        }
    )
    frame = normalize_sector_turnover(raw, ref, ",")
    assert frame.nace_level.fillna("-").tolist() == ["class", "division", "division", "-", "class"]
    assert frame.nace_class.fillna("-").tolist() == ["30.11", "-", "-", "-", "10.61"]
    assert frame.nace_division.tolist()[:3] == ["30", "30", "28"] and frame.nace_division[4] == "10"
    assert frame.turnover_suppressed.tolist() == [False, False, True, False, True]
    assert frame.turnover_try.tolist()[:2] == [1000.0, 5000.5] and pd.isna(frame.turnover_try[2])
    assert frame.raw__turnover_try.tolist()[2] == "C" and frame.raw__nace_level.tolist()[1] == "C30"
