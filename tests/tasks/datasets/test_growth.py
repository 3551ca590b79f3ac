"""The growth dataset: CAGR and shift-share by plate code, with names; '*' rows have no class name."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import GROWTH
from tasks.datasets.growth import build_growth


def test_growth_is_published_by_plate_code_and_the_province_sums_have_no_sector_name(ref):
    growth = pd.DataFrame(
        {
            "region_code": [55, 55],
            "sector_code": ["32.50", "*"],
            "year": 2022,
            "span_years": 5,
            "employment_cagr": [0.1, 0.02],
            "national_sector_employment_cagr": [0.05, 0.03],
            "exports_cagr": [None, 0.04],
            "shift_national": [10.0, 100.0],
            "shift_industry_mix": [5.0, 0.0],
            "shift_regional": [-2.0, -20.0],
        }
    )
    built = build_growth(growth, ref)
    assert list(built.columns) == GROWTH.names
    assert built.province.tolist() == ["Samsun", "Samsun"]
    assert built.sector_name[0] == "Manufacture of medical and dental instruments and supplies"
    assert pd.isna(built.sector_name[1])
    assert built.shift_regional.tolist() == [-2.0, -20.0]
