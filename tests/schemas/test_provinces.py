"""The 81 provinces of the run form (``schemas.provinces``): equal to the reference table, unique,
and every spelling of each resolving to its Turkish name."""

from __future__ import annotations

import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from schemas.names import fold_key
from schemas.provinces import PROVINCE_KEYS, PROVINCE_NAMES, PROVINCES


def test_the_provinces_of_the_run_form_are_the_reference_tables():
    from schemas.provinces import PROVINCE_NAMES, PROVINCES

    table = pd.read_csv(PROJECT_ROOT / "data" / "reference" / "tr_provinces.csv", dtype={"plate_code": "int64"})
    assert list(PROVINCES) == list(zip(table.plate_code, table.name_tr, table.name_eng, strict=True))
    assert sorted(PROVINCE_NAMES) == sorted(table.name_tr) and len(PROVINCE_NAMES) == 81


def test_81_provinces_with_plates_1_to_81_in_order_and_unique_names():
    plates = [plate for plate, _, _ in PROVINCES]
    assert plates == list(range(1, 82))
    turkish = [name_tr for _, name_tr, _ in PROVINCES]
    ascii_names = [name_eng for _, _, name_eng in PROVINCES]
    assert len(set(turkish)) == len(set(ascii_names)) == 81
    assert len({fold_key(name) for name in turkish}) == 81  # no two provinces fold to one key
    assert all(name.isascii() for name in ascii_names)
    assert all(fold_key(tr) == fold_key(eng) for _, tr, eng in PROVINCES)  # the ASCII name is the folded Turkish


def test_province_keys_resolve_every_turkish_and_ascii_name_and_plate_code():
    for plate, name_tr, name_eng in PROVINCES:
        for written in (name_tr, name_eng, str(plate), plate, name_tr.upper(), name_eng.lower()):
            assert PROVINCE_KEYS[fold_key(written)] == name_tr, written
    # one name key (Turkish and ASCII fold alike) and one plate key each; 01..09 as on number plates too
    assert len(PROVINCE_KEYS) == 81 * 2 + 9
    assert PROVINCE_KEYS["06"] == "Ankara"


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("KAHRAMANMARAŞ", "Kahramanmaraş"),
        ("kahramanmaras", "Kahramanmaraş"),
        ("46", "Kahramanmaraş"),
        ("İSTANBUL", "İstanbul"),
        ("ISTANBUL", "İstanbul"),
        ("IĞDIR", "Iğdır"),
        ("igdir", "Iğdır"),
        ("Şanlıurfa", "Şanlıurfa"),
        ("6", "Ankara"),
        ("81", "Düzce"),
    ],
)
def test_province_keys_known_answers(written, name):
    assert PROVINCE_KEYS[fold_key(written)] == name


def test_province_keys_have_no_entry_for_unknown_names_or_plates():
    for written in ("Atlantis", "0", "82", "Türkiye", ""):
        assert fold_key(written) not in PROVINCE_KEYS, written


def test_province_names_are_the_turkish_names_sorted_by_their_key():
    assert len(PROVINCE_NAMES) == 81
    assert list(PROVINCE_NAMES) == sorted(PROVINCE_NAMES, key=fold_key)
    assert PROVINCE_NAMES[:3] == ("Adana", "Adıyaman", "Afyonkarahisar")
    assert PROVINCE_NAMES.index("Çanakkale") < PROVINCE_NAMES.index("Çankırı") < PROVINCE_NAMES.index("Çorum")
    assert PROVINCE_NAMES.index("İstanbul") == PROVINCE_NAMES.index("Isparta") + 1  # İ and I sort together
    assert PROVINCE_NAMES[-1] == "Zonguldak"
