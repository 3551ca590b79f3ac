"""The published selection: per province, the ranked candidate sectors with their names, the
cluster's NACE classes, the turnover contrast, the programme's own choice and what the
stakeholders said (methodology.md §4.5, §4.8, §5)."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference


def sector_names(ref: Reference) -> pd.DataFrame:
    """sector_code -> sector_name and nace_classes: a named cluster's name and its main plus
    related classes, else the NACE class's own name and the class alone."""
    names = ref.nace_classes[["nace_class", "name_en"]].rename(
        columns={"nace_class": "sector_code", "name_en": "sector_name"}
    )
    clusters = ref.cluster_sectors.set_index("sector_code")
    names["sector_name"] = names.sector_code.map(clusters.name_en).fillna(names.sector_name)
    names["nace_classes"] = [[code, *clusters.related_classes.get(code, "").split()] for code in names.sector_code]
    return names


def consultation_counts(consultation: pd.DataFrame) -> pd.DataFrame:
    """Stances per province and sector: support / neutral / oppose counts."""
    counts = consultation.pivot_table(
        index=["plate_code", "nace_class"], columns="stance", values="institution", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=["support", "neutral", "oppose"], fill_value=0).add_prefix("consultation_")
    counts.columns.name = None
    return counts.reset_index().rename(columns={"nace_class": "sector_code"}).astype({"plate_code": "int64"})


def build_selection(scores: pd.DataFrame, ref: Reference, consultation: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The top ``top_n`` ranked sectors of every scored province, with context columns."""
    names = sector_names(ref)
    top = scores[scores["rank"] <= top_n].drop(columns=["sector_name"], errors="ignore")
    top = top.merge(names, on="sector_code", how="left")
    largest = scores[scores.turnover_rank.eq(1)].drop_duplicates("plate_code")[["plate_code", "sector_code"]]
    largest = largest.merge(names[["sector_code", "sector_name"]], on="sector_code").rename(
        columns={"sector_code": "largest_turnover_sector_code", "sector_name": "largest_turnover_sector_name"}
    )
    centres = ref.cluster_centres[["plate_code", "host", "published_sector_code"]].rename(
        columns={"published_sector_code": "programme_sector_code"}
    )
    selection = top.merge(largest, on="plate_code", how="left").merge(centres, on="plate_code", how="left")
    selection = selection.merge(consultation_counts(consultation), on=["plate_code", "sector_code"], how="left")
    consulted = selection.plate_code.isin(consultation.plate_code)  # no meeting: unknown, not zero
    for column in ("consultation_support", "consultation_neutral", "consultation_oppose"):
        selection[column] = selection[column].where(~consulted, selection[column].fillna(0))
    return selection.sort_values(["plate_code", "rank"]).reset_index(drop=True)
