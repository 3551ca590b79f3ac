"""The consultation dataset: every stakeholder record of a scored province set against its
selection, with the run and parameter set behind that selection."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import CONSULTATION
from tasks.datasets.consultation import assessments_before_schema_4, build_consultation, consultation_counts


def test_records_are_set_against_the_selection_with_its_provenance(published_scores, consultation):
    built = build_consultation(consultation, published_scores)
    assert list(built.columns) == CONSULTATION.names
    # Samsun selected nothing and Ankara (6) was not scored: Trabzon's records only, by institution
    assert built.institution.tolist() == ["Belediye", "DOKA", "KTÜ", "Trabzon TSO"]
    assert built.agrees.tolist() == [pd.NA, False, True, True]  # neutral; backs 10.61; opposes 10.61; supports
    assert set(built.selected_sector_code) == {"30.11"} and set(built.province) == {"Trabzon"}
    assert set(built.run_id) == set(built.computed_in_run) == {"run-1"} and set(built.parameters_id) == {"params-1"}


def test_stances_are_counted_per_province_and_sector(consultation):
    counts = consultation_counts(consultation).set_index(["plate_code", "sector_code"])
    assert counts.loc[(61, "30.11")].tolist() == [1, 1, 0]
    assert counts.loc[(61, "10.61")].tolist() == [1, 0, 1]
    assert counts.loc[(6, "28.93")].tolist() == [1, 0, 0]


def test_a_publication_before_schema_4_has_its_assessment_sentences_read_as_codes():
    old = pd.DataFrame({"assessment": ["supports the selection", "opposes a sector that was not selected", "neutral"]})
    assert assessments_before_schema_4(old).assessment.tolist() == [
        "supports_selection",
        "opposes_unselected",
        "neutral",
    ]
    codes = pd.DataFrame({"assessment": ["backs_another_sector"]})
    assert assessments_before_schema_4(codes).assessment.tolist() == ["backs_another_sector"]
