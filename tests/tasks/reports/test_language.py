"""The reports' words, one file per language: the same keys in every language, a label for
every assessment code the consultation dataset publishes, read once."""

from __future__ import annotations

import pandas as pd

from tasks.datasets.consultation import Assessment, consultation_review
from tasks.reports.language import TEXT_DIR, report_text

LANGUAGES = ("tr", "en")


def keys(text: dict, prefix: str = "") -> set[str]:
    return {
        path
        for key, value in text.items()
        for path in ([f"{prefix}{key}"] + (sorted(keys(value, f"{prefix}{key}.")) if isinstance(value, dict) else []))
    }


def test_every_language_has_every_key_and_nothing_empty():
    assert sorted(path.stem for path in TEXT_DIR.glob("*.json")) == sorted(LANGUAGES)
    assert keys(report_text("tr")) == keys(report_text("en"))
    for language in LANGUAGES:
        text = report_text(language)
        leaves = [v for v in text.values() if not isinstance(v, dict)]
        leaves += [v for group in text.values() if isinstance(group, dict) for v in group.values()]
        assert all(isinstance(v, str) and v.strip() for v in leaves), language


def test_every_assessment_code_is_said_in_every_language():
    for language in LANGUAGES:
        assert set(report_text(language)["assessments"]) == {code.value for code in Assessment}
    assert report_text("tr")["assessments"]["backs_another_sector"] == "farklı görüş: başka bir sektörü destekliyor"
    assert report_text("en")["assessments"]["opposes_selection"] == "disagrees: opposes the selection"


def test_the_text_of_a_language_is_read_once():
    assert report_text("tr") is report_text("tr")


def test_the_consultation_publishes_codes_one_per_stance_and_sector():
    scores = pd.DataFrame({"plate_code": [55, 55], "sector_code": ["32.50", "10.71"], "selected": [True, False]})
    consultation = pd.DataFrame(
        {
            "plate_code": [55] * 5,
            "meeting_date": pd.to_datetime(["2024-03-0" + str(day) for day in range(1, 6)]),
            "institution": list("abcde"),
            "institution_type": "chamber",
            "nace_class": ["32.50", "10.71", "32.50", "10.71", "32.50"],
            "stance": ["support", "support", "oppose", "oppose", "neutral"],
            "note": None,
        }
    )
    review = consultation_review(consultation, scores)
    assert review.assessment.tolist() == [
        "supports_selection",
        "backs_another_sector",
        "opposes_selection",
        "opposes_unselected",
        "neutral",
    ]
    assert review.agrees.tolist() == [True, False, False, True, pd.NA]
    assert all(type(code) is str for code in review.assessment)  # plain text in the published column
