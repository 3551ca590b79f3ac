"""The cluster_definitions dataset: one row per member class with its cluster's name (curated
or its largest class's), figures, the definition's scores and stability, and the overlap with
the programme's expert lists; cast to the contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from schemas.outputs import CLUSTER_DEFINITIONS
from tasks.datasets.cluster_definitions import build_cluster_definitions
from tasks.errors import OutputValidationError
from tasks.methods.colocation import ClusterDefinitions, define_clusters
from tasks.publish.snapshot import to_table
from tasks.validate import validate_outputs

# (cluster, class, national employment, passes VS): shipbuilding's main class with its related
# classes and one more; grain milling with a related class of food machinery (not its main
# class); a singleton; footwear and medical equipment, two programme main classes together (a
# cluster is named after a programme cluster when it holds the main class and half the lists' classes)
MEMBERS = [
    ("c01", "30.11", 900.0, True),
    ("c01", "30.12", 300.0, True),
    ("c01", "33.15", 200.0, True),
    ("c01", "25.11", 100.0, False),
    ("c02", "10.61", 500.0, True),
    ("c02", "28.30", 400.0, True),
    ("c03", "13.10", 450.0, False),
    ("c04", "15.20", 300.0, True),
    ("c04", "32.50", 100.0, True),
]


def definitions(stability: pd.DataFrame | None) -> ClusterDefinitions:
    members = pd.DataFrame(MEMBERS, columns=["cluster_id", "sector_code", "national_employment", "sector_passes_vs"])
    members["name_sector_code"] = members.groupby("cluster_id").sector_code.transform("first")
    members = members[["sector_code", "cluster_id", "name_sector_code", "sector_passes_vs", "national_employment"]]
    clusters = pd.DataFrame(
        {
            "cluster_id": ["c01", "c02", "c03", "c04"],
            "size": [4, 2, 1, 2],
            "name_sector_code": ["30.11", "10.61", "13.10", "15.20"],
            "employment": [1500.0, 900.0, 450.0, 400.0],
            "within_relatedness": [0.8, 0.7, np.nan, 0.6],
            "cluster_passes_vs": [True, True, False, True],
            "weak_link_share": [0.5, 0.0, np.nan, 1.0],
        }
    )
    scores = pd.DataFrame({"clusters": [3, 4], "vs_industry": [0.5, 0.7], "vs_cluster": [0.6, 0.75]})
    return ClusterDefinitions(2022, "2020-2022", members, clusters, scores.assign(score=0.6), 4, 0.7, 0.75, stability)


STABILITY = pd.DataFrame(
    {
        "kind": ["leave_one_province_out"] * 3 + ["previous_window"],
        "region_code": [61, 34, 16, None],
        "ari": [0.9, 0.7, 0.8, 0.95],
    }
)


def test_members_with_names_scores_stability_and_expert_overlap(ref):
    built = build_cluster_definitions(definitions(STABILITY), ref)
    assert list(built.columns) == CLUSTER_DEFINITIONS.names
    rows = built.set_index("sector_code")
    assert len(built) == len(MEMBERS) and set(built.year) == {2022} and set(built.window_years) == {3}
    names = built.groupby("cluster_id")[["cluster_name", "name_source"]].first()
    assert names.to_dict("index") == {
        "c01": {"cluster_name": "shipbuilding", "name_source": "programme"},
        "c02": {"cluster_name": "Manufacture of grain mill products", "name_source": "largest_class"},
        "c03": {"cluster_name": "Preparation and spinning of textile fibres", "name_source": "largest_class"},
        # two main classes, but neither expert list shares half the classes (1/5, 1/3): a name of its own
        "c04": {"cluster_name": "Manufacture of footwear", "name_source": "largest_class"},
    }
    assert rows.loc["30.12", "sector_name"] == "Building of pleasure and sporting boats"
    overlap = built.groupby("cluster_id")[["expert_sector_code", "expert_overlap", "expert_shared_classes"]].first()
    assert overlap.loc["c01"].tolist() == ["30.11", 0.75, "30.11 30.12 33.15"]  # 3 shared of 4 in all
    assert overlap.loc["c02"].tolist() == ["28.93", pytest.approx(1 / 3), "28.30"]
    assert overlap.loc["c03"].isna().all()  # no expert list holds 13.10
    # footwear's list {15.20, 15.11, 22.19, 22.29} shares 1 of 5; medical equipment's {32.50, 26.60} 1 of 3
    assert overlap.loc["c04"].tolist() == ["32.50", pytest.approx(1 / 3), "32.50"]
    assert rows.loc["25.11", ["cluster_size", "cluster_employment", "sector_passes_vs"]].tolist() == [4, 1500.0, False]
    assert rows.loc["13.10", ["within_relatedness", "weak_link_share"]].isna().all()
    assert (built.clusters == 4).all() and (built.vs_industry == 0.7).all() and (built.vs_cluster == 0.75).all()
    assert built.stability_province_ari_mean.iloc[0] == pytest.approx(0.8)
    assert built.stability_province_ari_min.iloc[0] == 0.7 and built.least_stable_plate_code.iloc[0] == 34
    assert built.stability_previous_window_ari.iloc[0] == 0.95 and built.stability_next_window_ari.isna().all()


def test_without_stability_or_with_every_province_stable_the_columns_are_null(ref):
    bare = build_cluster_definitions(definitions(None), ref)
    stable = build_cluster_definitions(definitions(STABILITY.assign(ari=1.0)), ref)
    columns = [c for c in CLUSTER_DEFINITIONS.names if c.startswith("stability_") or c == "least_stable_plate_code"]
    assert bare[columns].isna().all().all()
    assert stable.least_stable_plate_code.isna().all() and (stable.stability_province_ari_min == 1.0).all()


def test_the_built_definitions_of_a_computed_window_cast_to_the_contract(ref):
    """define_clusters on provinces 1..40 and six real classes in two co-locating groups."""
    rng = np.random.default_rng(3)
    classes = ["30.11", "30.12", "33.15", "15.20", "15.11", "22.19"]
    employment = np.full((40, 6), 5.0)
    employment[:20, :3] += rng.uniform(100, 300, size=(20, 3))
    employment[20:, 3:] += rng.uniform(100, 300, size=(20, 3))
    frames = [
        pd.DataFrame(
            {
                "region_code": np.repeat(np.arange(1, 41), 6),
                "sector_code": np.tile(classes, 40),
                "year": year,
                "employment": (employment * rng.uniform(0.95, 1.05, size=employment.shape)).ravel(),
            }
        )
        for year in (2020, 2021, 2022)
    ]
    result = define_clusters(pd.concat(frames), 2022, counts=(2, 4))
    table = to_table(build_cluster_definitions(result, ref), "cluster_definitions")
    assert table.schema.equals(CLUSTER_DEFINITIONS) and table.num_rows == 6
    frame = table.to_pandas()
    assert sorted(frame.cluster_name.unique()) == ["footwear", "shipbuilding"]
    # shipbuilding's list is the first group exactly; footwear's holds 3 of the second's and 22.29
    assert frame.groupby("cluster_name").expert_overlap.first().to_dict() == {"footwear": 0.75, "shipbuilding": 1.0}
    assert (frame.clusters == 2).all() and (frame.stability_province_ari_min == 1.0).all()


def test_the_output_suite_passes_the_built_rows_and_refuses_impossible_ones(ref):
    suites = PROJECT_ROOT / "expectations" / "outputs"
    built = build_cluster_definitions(definitions(STABILITY), ref)
    validate_outputs({"cluster_definitions": built}, suites)
    bad = built.assign(vs_industry=1.5, name_source="guess")
    bad.loc[1, "sector_code"] = bad.loc[0, "sector_code"]
    with pytest.raises(OutputValidationError) as refused:
        validate_outputs({"cluster_definitions": bad}, suites)
    assert [problem.split(" (rows")[0] for problem in refused.value.problems] == [
        "cluster_definitions: OUT-CLD-04 a class in two clusters of one window",
        "cluster_definitions: OUT-CLD-06 name source neither programme nor largest_class",
        "cluster_definitions: OUT-CLD-11 vs_industry outside 0-1",
    ]
