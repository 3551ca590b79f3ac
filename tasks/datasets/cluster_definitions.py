"""The ``cluster_definitions`` dataset: the data-driven clusters of one window (methodology.md
§7), one row per member class, as ``tasks.methods.colocation`` defines them, with a name (the
programme's curated one where the cluster holds a programme cluster's main class, else its
largest class's), the definition's validation scores and stability, and the overlap with the
programme's expert lists (``data/reference/cluster_sectors.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.names import class_names, with_sector_names
from tasks.methods.colocation import LEAVE_ONE_OUT, NEXT_WINDOW, PREVIOUS_WINDOW, ClusterDefinitions
from tasks.reference import Reference

PROGRAMME = "programme"  # name_source: the curated name of the programme cluster it is (CURATED_OVERLAP)
CURATED_OVERLAP = 0.5  # a cluster is a programme cluster when it holds its main class and this Jaccard overlap
LARGEST_CLASS = "largest_class"  # name_source: the NACE class name of its largest member


def build_cluster_definitions(definitions: ClusterDefinitions, ref: Reference) -> pd.DataFrame:
    """``ClusterDefinitions.members`` with their cluster's figures, as published: keyed by the
    window's end year, with the definition's count, validation scores and stability on every
    row."""
    first, last = (int(year) for year in definitions.window_years.split("-"))
    clusters = definitions.clusters.rename(columns={"size": "cluster_size", "employment": "cluster_employment"})
    frame = definitions.members.merge(
        clusters.drop(columns="name_sector_code"), on="cluster_id", how="left", validate="many_to_one"
    )
    frame = frame.assign(
        year=definitions.end_year,
        window_years=last - first + 1,
        clusters=definitions.count,
        vs_industry=definitions.vs_industry,
        vs_cluster=definitions.vs_cluster,
    ).merge(stability_columns(definitions.stability), how="cross")
    overlaps = expert_overlaps(definitions.members, ref)
    for per_cluster in (cluster_names(definitions.members, overlaps, ref), overlaps):
        frame = frame.merge(per_cluster, left_on="cluster_id", right_index=True, how="left", validate="many_to_one")
    return as_published(with_sector_names(frame, ref), "cluster_definitions")


def stability_columns(stability: pd.DataFrame | None) -> pd.DataFrame:
    """The definition's stability (§7.5) as one row: the mean and the lowest adjusted Rand
    index leaving one province out, the province whose leaving out changes it most (null when
    none changes it), and the index against the neighbouring windows (null when not in the
    data)."""
    stability = pd.DataFrame(columns=["kind", "region_code", "ari"]) if stability is None else stability
    one_out = stability[stability.kind == LEAVE_ONE_OUT]
    windows = stability[stability.kind != LEAVE_ONE_OUT].set_index("kind").ari
    lowest = one_out.ari.min() if len(one_out) else np.nan
    least_stable = int(one_out.region_code[one_out.ari.idxmin()]) if len(one_out) and lowest < 1 else None
    return pd.DataFrame(
        {
            "stability_province_ari_mean": [one_out.ari.mean() if len(one_out) else np.nan],
            "stability_province_ari_min": [lowest],
            "least_stable_plate_code": pd.array([least_stable], dtype="Int64"),
            "stability_previous_window_ari": [windows.get(PREVIOUS_WINDOW, np.nan)],
            "stability_next_window_ari": [windows.get(NEXT_WINDOW, np.nan)],
        }
    )


def expert_lists(ref: Reference) -> dict[str, set[str]]:
    """The programme's expert lists: main class -> the main class and its related classes."""
    return {
        row.sector_code: {row.sector_code, *row.related_classes.split()}
        for row in ref.cluster_sectors.itertuples(index=False)
    }


def cluster_names(members: pd.DataFrame, overlaps: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """By cluster_id, ``cluster_name`` and ``name_source``: the programme's curated name when
    the cluster is that programme cluster: it holds its main class and shares at least
    ``CURATED_OVERLAP`` of the two lists' classes with its expert list (``overlaps``, of
    ``expert_overlaps``; a cluster that merely holds the class among others it does not list
    keeps a name of its own), else the NACE class name of its largest member."""
    curated = ref.cluster_sectors.set_index("sector_code").name_en
    largest = members.drop_duplicates("cluster_id").set_index("cluster_id").name_sector_code
    held = members.groupby("cluster_id").sector_code.agg(set).reindex(largest.index)
    expert = overlaps.reindex(largest.index)
    is_programme = [
        code in classes and overlap >= CURATED_OVERLAP
        for code, classes, overlap in zip(expert.expert_sector_code, held, expert.expert_overlap, strict=True)
    ]
    by_programme = expert.expert_sector_code.map(curated).where(is_programme)
    return pd.DataFrame(
        {
            "cluster_name": by_programme.fillna(class_names(largest, ref)),
            "name_source": np.where(by_programme.notna(), PROGRAMME, LARGEST_CLASS),
        },
        index=largest.index,
    )


def expert_overlaps(members: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """By cluster_id, the programme cluster (by its main class, ``expert_sector_code``) whose
    expert list has the largest Jaccard overlap |A n B| / |A u B| with the cluster's classes
    (``expert_overlap``; ties to the smaller main class) and the classes both hold
    (``expert_shared_classes``, space-separated); null when no expert list shares a class."""
    lists = sorted(expert_lists(ref).items()) or [("", set())]  # no list: no overlap
    clusters = members.groupby("cluster_id", sort=True).sector_code.agg(set)
    best = [max(lists, key=lambda item: len(classes & item[1]) / len(classes | item[1])) for classes in clusters]
    shared = [sorted(classes & expert) for classes, (_, expert) in zip(clusters, best, strict=True)]
    return pd.DataFrame(
        {
            "expert_sector_code": [code if both else None for (code, _), both in zip(best, shared, strict=True)],
            "expert_overlap": [
                len(both) / len(classes | expert) if both else np.nan
                for classes, (_, expert), both in zip(clusters, best, shared, strict=True)
            ],
            "expert_shared_classes": [" ".join(both) if both else None for both in shared],
        },
        index=clusters.index,
    )
