"""Turkish case folding and the matching key (``schemas.names``), known answers."""

from __future__ import annotations

import math

import pytest

from schemas.names import fold_key, turkish_lower


def test_turkish_lower_handles_dotted_and_dotless_i():
    assert turkish_lower("İSTANBUL") == "istanbul"
    assert turkish_lower("ISPARTA") == "ısparta"
    assert "İ".lower() != "i"  # why str.lower is not enough: it leaves a combining dot


def test_fold_key_matches_headers_and_names_written_differently():
    assert fold_key("ÇALIŞAN SAYISI") == fold_key(" çalışan  sayısı ") == "calisansayisi"
    assert fold_key("K.Maraş") == "kmaras"
    assert fold_key("GAZİANTEP") == fold_key("Gaziantep") == "gaziantep"


@pytest.mark.parametrize(
    ("text", "lowered"),
    [
        ("IĞDIR", "ığdır"),  # dotless capital I stays dotless
        ("İİ", "ii"),  # dotted capital İ: one letter, no combining dot left over
        ("ŞĞÜÖÇ", "şğüöç"),  # the other Turkish capitals lower as usual
        ("ıi", "ıi"),  # already lower: unchanged
        ("", ""),
    ],
)
def test_turkish_lower_known_answers(text, lowered):
    assert turkish_lower(text) == lowered
    assert len(turkish_lower(text)) == len(text)


def test_turkish_lower_composes_a_decomposed_dotted_i_first():
    decomposed = "I\u0307STANBUL"  # I + combining dot above, as some exports write İ
    assert turkish_lower(decomposed) == "istanbul"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Çğışöü", "cgisou"),  # every Turkish letter to its ASCII base
        ("ÇĞIŞÖÜ", "cgisou"),
        ("İı", "ii"),  # dotted and dotless i both give i
        ("Kâğıthane", "kagithane"),  # circumflex: â, î, û
        ("Îmâlât Ûrün", "imalaturun"),
        ("Café Noël", "cafenoel"),  # other diacritics folded by decomposition
        ("NACE Rev.2", "nacerev2"),  # digits kept, punctuation and spaces dropped
        ("Ciro (TL)", "cirotl"),
        ("  sicil\tno\n", "sicilno"),
        ("İhracat (Bin $)", "ihracatbin"),
        ("ß", ""),  # a non-ASCII letter without an ASCII base is dropped
        ("", ""),
    ],
)
def test_fold_key_known_answers(text, key):
    assert fold_key(text) == key


@pytest.mark.parametrize(("value", "key"), [(None, ""), (math.nan, ""), (46, "46"), (28.93, "2893")])
def test_fold_key_of_blank_cells_and_numbers(value, key):
    assert fold_key(value) == key


def test_fold_key_is_idempotent():
    for text in ("KAHRAMANMARAŞ", "Çalışan Sayısı", "İğdır", "Kâğıthane"):
        assert fold_key(fold_key(text)) == fold_key(text)
