"""The scores dataset: score_candidates' columns as they are, with the run and parameter set
that computed them, the reference year and the names."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import SCORES
from tasks.datasets.scores import build_scores


def test_scores_carry_their_run_year_and_names_and_only_the_contract_columns(scored, ref):
    trabzon = scored(61, [("30.11", 1, 89.9, 5), ("10.61", 2, 60.9, 1)]).assign(year=2021)
    built = build_scores([trabzon, scored(19, [("28.93", 1, 90.9, 4)])], ref, 2022, "run-1", "params-1")
    assert list(built.columns) == [name for name in SCORES.names if name != "carried_over_from"]
    assert built.plate_code.tolist() == [61, 61, 19] and built["rank"].tolist() == [1, 2, 1]
    assert built.province.tolist() == ["Trabzon", "Trabzon", "Çorum"]
    assert built.sector_name.tolist() == [
        "Building of ships and floating structures",
        "Manufacture of grain mill products",
        "Manufacture of machinery for food, beverage and tobacco processing",
    ]
    assert built.cluster_name[0] == "shipbuilding" and pd.isna(built.cluster_name[1])
    assert built.cluster_name[2] == "food processing machinery"
    assert set(built.year) == {2022}  # the run's reference year
    assert set(built.run_id) == set(built.computed_in_run) == {"run-1"} and set(built.parameters_id) == {"params-1"}
    assert built.total_score.tolist() == [89.9, 60.9, 90.9]  # scoring's columns unchanged
