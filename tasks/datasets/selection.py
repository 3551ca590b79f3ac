"""The published selection: per province, the top ranked candidate sectors with the cluster's
NACE classes, the largest sector to contrast, the programme's own choice and what the
stakeholders said (methodology.md §4.5, §4.8, §5)."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published
from tasks.datasets.consultation import consultation_counts, consultation_review
from tasks.reference import Reference


def cluster_classes(ref: Reference, sets: pd.DataFrame | None = None) -> pd.DataFrame:
    """sector_code -> ``nace_classes``: a programme cluster's main class and its related
    classes, else the class alone; with ``sets`` (``cluster_definitions``, §7), a data-driven
    cluster's member classes."""
    related = ref.cluster_sectors.set_index("sector_code").related_classes
    codes = ref.nace_classes.nace_class.rename("sector_code")
    classes = pd.DataFrame(
        {"sector_code": codes, "nace_classes": [[code, *related.get(code, "").split()] for code in codes]}
    )
    if sets is None:
        return classes
    members = sets.sort_values("sector_code").groupby("cluster_id", sort=True).sector_code.agg(list)
    return pd.concat(
        [classes, pd.DataFrame({"sector_code": members.index, "nace_classes": members.tolist()})], ignore_index=True
    )


def build_selection(
    scores: pd.DataFrame, ref: Reference, consultation: pd.DataFrame, top_n: int, sets: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The top ``top_n`` ranked sectors of every province of ``scores`` (the published scores:
    names and provenance come from there), with context columns; ``sets`` as ``cluster_classes``."""
    top = scores[scores["rank"] <= top_n].merge(cluster_classes(ref, sets), on="sector_code", how="left")
    largest = scores[scores.size_rank.eq(1)].drop_duplicates("plate_code")
    largest = largest[["plate_code", "sector_code", "sector_name", "cluster_name"]].rename(
        columns={
            "sector_code": "largest_sector_code",
            "sector_name": "largest_sector_name",
            "cluster_name": "largest_cluster_name",
        }
    )
    centres = ref.cluster_centres[["plate_code", "host", "published_sector_code"]].rename(
        columns={"published_sector_code": "programme_sector_code"}
    )
    selection = top.merge(largest, on="plate_code", how="left").merge(centres, on="plate_code", how="left")
    selection = selection.merge(consultation_counts(consultation), on=["plate_code", "sector_code"], how="left")
    consulted = selection.plate_code.isin(consultation.plate_code)  # no meeting: unknown, not zero
    for column in ("consultation_support", "consultation_neutral", "consultation_oppose"):
        selection[column] = selection[column].where(~consulted, selection[column].fillna(0))
    review = consultation_review(consultation, scores)
    by_plate = review.plate_code
    agreement = pd.DataFrame(
        {  # the share of records that agree, of those with a verdict; how many disagree
            "consultation_agreement": review.agrees.astype("Float64").groupby(by_plate).mean(),
            "consultation_disagreements": review.agrees.eq(False).fillna(False).groupby(by_plate).sum(),
        }
    )
    selection = selection.merge(agreement.reset_index(), on="plate_code", how="left")
    return as_published(selection.sort_values(["plate_code", "rank"]).reset_index(drop=True), "selection")
