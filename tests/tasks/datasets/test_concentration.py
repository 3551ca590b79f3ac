"""The concentration dataset: Herfindahl per class and year, Ellison-Glaeser gamma of the
registry's plants in the reference year only, the class's name."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.outputs import CONCENTRATION
from tasks.datasets.concentration import build_concentration


def test_gamma_is_joined_in_the_reference_year_with_a_hand_worked_value(ref):
    concentration = pd.DataFrame(
        {
            "sector_code": ["30.11", "30.11", "10.61"],
            "year": [2021, 2022, 2022],
            "regions": [81, 81, 81],
            "herfindahl": [0.3, 0.31, 0.05],
            "herfindahl_normalised": [0.29, 0.30, 0.04],
            "null_reason": None,
        }
    )
    registry = pd.DataFrame(
        {
            "plate_code": [61, 61, 55, 55],
            "nace_class": ["30.11", "30.11", "30.11", "10.61"],
            "employees": [10, 30, 60, 100],
        }
    )
    built = build_concentration(concentration, registry, 2022, ref)
    assert list(built.columns) == CONCENTRATION.names
    built = built.set_index(["sector_code", "year"])
    # regions' shares of all plants' employment x = (0.2, 0.8), sum x^2 = 0.68; shipbuilding's shares
    # s = (0.4, 0.6): G = 0.2^2 + 0.2^2 = 0.08; H_p = 0.1^2 + 0.3^2 + 0.6^2 = 0.46;
    # gamma = (0.08 - 0.32 * 0.46) / (0.32 * 0.54) = -0.0672 / 0.1728
    ships = built.loc[("30.11", 2022)]
    assert ships.eg_gamma == pytest.approx(-0.0672 / 0.1728)
    assert ships.eg_plant_herfindahl == pytest.approx(0.46) and ships.eg_plants == 3 and ships.eg_regions == 2
    assert ships.sector_name == "Building of ships and floating structures"
    assert pd.isna(built.loc[("30.11", 2021)].eg_gamma)  # gamma is of the reference year only
    assert pd.isna(built.loc[("10.61", 2022)].eg_gamma)
    assert built.loc[("10.61", 2022)].eg_null_reason == "eg_gamma: one plant (H_p = 1)"
