"""The ``consultation`` dataset: every stakeholder record of the consultation meetings set
against the analysis (methodology.md §4.8)."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

from tasks.datasets import as_published


class Assessment(StrEnum):
    """How a stakeholder record stands against the selection: the code published in
    ``assessment``. Reports render it in their language (``assessments`` of
    ``tasks/reports/text/<language>.json``)."""

    SUPPORTS_SELECTION = "supports_selection"  # supports the selected sector: agrees
    BACKS_ANOTHER_SECTOR = "backs_another_sector"  # supports a sector not selected: disagrees
    OPPOSES_SELECTION = "opposes_selection"  # opposes the selected sector: disagrees
    OPPOSES_UNSELECTED = "opposes_unselected"  # opposes a sector not selected: agrees
    NEUTRAL = "neutral"  # neither


# The values schema 3.0 and earlier published in ``assessment``, and their codes.
ASSESSMENTS_BEFORE_SCHEMA_4 = {
    "supports the selection": Assessment.SUPPORTS_SELECTION,
    "disagrees: backs another sector": Assessment.BACKS_ANOTHER_SECTOR,
    "disagrees: opposes the selection": Assessment.OPPOSES_SELECTION,
    "opposes a sector that was not selected": Assessment.OPPOSES_UNSELECTED,
    "neutral": Assessment.NEUTRAL,
}


def assessments_before_schema_4(frame: pd.DataFrame) -> pd.DataFrame:
    """A consultation frame published before schema 4.0 (assessments as English sentences),
    with the codes of today; a frame of codes is returned as it is."""
    if "assessment" not in frame:
        return frame
    return frame.assign(assessment=frame.assessment.map(lambda value: ASSESSMENTS_BEFORE_SCHEMA_4.get(value, value)))


def consultation_counts(consultation: pd.DataFrame) -> pd.DataFrame:
    """Stances per province and sector: support / neutral / oppose counts."""
    counts = consultation.pivot_table(
        index=["plate_code", "nace_class"], columns="stance", values="institution", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=["support", "neutral", "oppose"], fill_value=0).rename(
        columns={"support": "consultation_support", "neutral": "consultation_neutral", "oppose": "consultation_oppose"}
    )
    counts.columns.name = None
    return counts.reset_index().rename(columns={"nace_class": "sector_code"}).astype({"plate_code": "int64"})


def build_consultation(consultation: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The stakeholder records of the provinces of ``scores`` (the published scores) set against
    their selection (``consultation_review``), with the province's name and the run and
    parameter set that computed the selection."""
    provenance = ["plate_code", "province", "run_id", "computed_in_run", "parameters_id"]
    origin = scores.drop_duplicates("plate_code")[provenance]
    review = consultation_review(consultation, scores).merge(origin, on="plate_code", how="left")
    return as_published(review, "consultation")


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
    review["assessment"] = [
        _assessment(stance, on).value for stance, on in zip(review.stance, on_selected, strict=True)
    ]
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


def _assessment(stance: str, on_selected: bool) -> Assessment:
    """The record's assessment from its stance and whether it is on the selected sector."""
    if stance == "neutral":
        return Assessment.NEUTRAL
    if stance == "support":
        return Assessment.SUPPORTS_SELECTION if on_selected else Assessment.BACKS_ANOTHER_SECTOR
    return Assessment.OPPOSES_SELECTION if on_selected else Assessment.OPPOSES_UNSELECTED
