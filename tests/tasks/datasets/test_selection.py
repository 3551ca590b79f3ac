"""The selection dataset: each province's top sectors from the published scores, with the
cluster's classes, the largest sector, the programme's choice and the consultation's counts."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.outputs import SELECTION
from tasks.datasets.selection import build_selection, cluster_classes


def test_a_cluster_has_its_related_classes_and_any_other_class_itself_alone(ref):
    classes = cluster_classes(ref).set_index("sector_code").nace_classes
    assert classes["30.11"] == ["30.11", "30.12", "33.15"]
    assert classes["25.92"] == ["25.92"]


def test_the_top_sectors_with_context_worked_by_hand(published_scores, consultation, ref):
    built = build_selection(published_scores, ref, consultation, top_n=2)
    assert list(built.columns) == [name for name in SELECTION.names if name != "carried_over_from"]
    rows = built.set_index(["plate_code", "rank"])
    assert rows.index.tolist() == [(55, 1), (55, 2), (61, 1), (61, 2)]  # Trabzon's third sector is not in the top 2
    ships = rows.loc[(61, 1)]
    assert ships.sector_code == "30.11" and ships.sector_name == "Building of ships and floating structures"
    assert ships.cluster_name == "shipbuilding" and ships.nace_classes == ["30.11", "30.12", "33.15"]
    assert rows.loc[(61, 2)].sector_name == "Manufacture of light metal packaging"
    assert pd.isna(rows.loc[(61, 2)].cluster_name)
    # the largest sector (size_rank 1) is grain milling in both provinces, a class without a cluster
    assert set(built.largest_sector_code) == {"10.61"}
    assert set(built.largest_sector_name) == {"Manufacture of grain mill products"}
    assert built.largest_cluster_name.isna().all()
    assert ships.host == "Trabzon Ticaret ve Sanayi Odası (Trabzon TSO)" and ships.programme_sector_code == "30.11"
    assert rows.loc[(55, 1)].programme_sector_code == "32.50"
    # Trabzon's meeting: 30.11 support 1, neutral 1; 25.92 not mentioned: zeros. Samsun had none: unknown
    assert ships[["consultation_support", "consultation_neutral", "consultation_oppose"]].tolist() == [1, 1, 0]
    assert rows.loc[(61, 2), ["consultation_support", "consultation_oppose"]].tolist() == [0, 0]
    assert rows.loc[(55, 1), ["consultation_support", "consultation_neutral"]].isna().all()
    # against the selection 30.11: support 30.11 and oppose 10.61 agree, support 10.61 disagrees
    assert ships.consultation_agreement == pytest.approx(2 / 3) and ships.consultation_disagreements == 1
    assert pd.isna(rows.loc[(55, 1)].consultation_agreement)  # nothing selected in Samsun
    assert set(built.run_id) == {"run-1"} and set(built.parameters_id) == {"params-1"}
    assert rows.loc[(55, 1)].province == "Samsun" and set(built.year) == {2022}
