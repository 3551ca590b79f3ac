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


def consultation_review(consultation: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Every stakeholder record set against the analysis (§4.8). A record agrees when it
    supports the selected sector or opposes another one; it disagrees when it opposes the
    selection or backs a different sector; a neutral stance is neither."""
    selected = scores[scores.selected][["plate_code", "sector_code"]].rename(
        columns={"sector_code": "selected_sector_code"}
    )
    review = consultation.rename(columns={"nace_class": "sector_code"}).merge(selected, on="plate_code", how="inner")
    on_selected = review.sector_code.eq(review.selected_sector_code)
    agrees = pd.Series(pd.NA, index=review.index, dtype="boolean")
    agrees = agrees.mask(review.stance.eq("support"), on_selected)
    agrees = agrees.mask(review.stance.eq("oppose"), ~on_selected)
    review["agrees"] = agrees
    review["assessment"] = [_assessment(stance, on) for stance, on in zip(review.stance, on_selected, strict=True)]
    columns = [
        "plate_code",
        "meeting_date",
        "institution",
        "institution_type",
        "sector_code",
        "stance",
        "selected_sector_code",
        "agrees",
        "assessment",
        "note",
    ]
    return review[columns].sort_values(["plate_code", "meeting_date", "institution"]).reset_index(drop=True)


def _assessment(stance: str, on_selected: bool) -> str:
    if stance == "neutral":
        return "neutral"
    if stance == "support":
        return "supports the selection" if on_selected else "disagrees: backs another sector"
    return "disagrees: opposes the selection" if on_selected else "opposes a sector that was not selected"


def build_selection(scores: pd.DataFrame, ref: Reference, consultation: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The top ``top_n`` ranked sectors of every scored province, with context columns."""
    names = sector_names(ref)
    top = scores[scores["rank"] <= top_n].drop(columns=["sector_name"], errors="ignore")
    top = top.merge(names, on="sector_code", how="left")
    largest = scores[scores.size_rank.eq(1)].drop_duplicates("plate_code")[["plate_code", "sector_code"]]
    largest = largest.merge(names[["sector_code", "sector_name"]], on="sector_code").rename(
        columns={"sector_code": "largest_sector_code", "sector_name": "largest_sector_name"}
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
    agreement = review.groupby("plate_code").agg(
        consultation_agreement=("agrees", lambda s: s.dropna().astype(float).mean()),
        consultation_disagreements=("agrees", lambda s: int((s == False).sum())),  # noqa: E712
    )
    selection = selection.merge(agreement.reset_index(), on="plate_code", how="left")
    return selection.sort_values(["plate_code", "rank"]).reset_index(drop=True)
