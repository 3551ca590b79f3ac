"""The indicators dataset: the computed table by plate code, with the province's and class's names."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import INDICATORS
from tasks.datasets.indicators import build_indicators


def test_indicators_are_published_by_plate_code_with_names_and_the_contract_columns(ref):
    computed = [f.name for f in INDICATORS if f.name not in ("plate_code", "province", "sector_name")]
    table = pd.DataFrame({name: [1.0, 2.0] for name in computed}).assign(
        region_code=[61, 19], sector_code=["30.11", "28.93"], year=2022, region_exports=[7.0, 8.0]
    )
    built = build_indicators(table.assign(lq_employment=[2.5, 0.4]), ref)
    assert list(built.columns) == INDICATORS.names  # region_exports is not published
    assert built.plate_code.tolist() == [61, 19]
    assert built.province.tolist() == ["Trabzon", "Çorum"]
    assert built.sector_name.tolist() == [
        "Building of ships and floating structures",  # the class's name, not the cluster's (shipbuilding)
        "Manufacture of machinery for food, beverage and tobacco processing",
    ]
    assert built.lq_employment.tolist() == [2.5, 0.4] and built.year.tolist() == [2022, 2022]
