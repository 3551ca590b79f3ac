from __future__ import annotations

import pytest

from tasks.reference import normalize_nace


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("28.93", ("28.93", None)),
        ("2893", ("28.93", None)),
        ("28.93.01", ("28.93", "28.93.01")),
        ("289301", ("28.93", "28.93.01")),
        ("28.9301", ("28.93", "28.93.01")),
        ("C28.93", ("28.93", None)),
        (" 15.20 ", ("15.20", None)),
        ("2893.0", ("28.93", None)),
        ("C", ("C", None)),
        ("28.9", (None, None)),
        ("abc", (None, None)),
        (None, (None, None)),
    ],
)
def test_normalize_nace_every_written_form(code, expected):
    assert normalize_nace(code) == expected


@pytest.mark.parametrize(
    ("written", "plate"),
    [
        ("46", 46),
        ("K.Maraş", 46),
        ("KAHRAMANMARAŞ", 46),
        ("Kahramanmaras", 46),
        ("GAZİANTEP", 27),
        ("Çorum", 19),
        ("CORUM", 19),
        ("Türkiye", 0),
        ("Atlantis", None),
    ],
)
def test_province_normalised_to_plate_code(ref, written, plate):
    assert ref.plate_code(written) == plate


def test_reference_tables_are_complete(ref):
    assert len(ref.provinces) == 81
    assert ref.provinces.plate_code.tolist() == list(range(1, 82))
    classes = ref.nace_classes
    assert len(classes) == 230  # NACE Rev.2 section C
    assert classes.nace_class.is_unique
    assert set(ref.cluster_sectors.sector_code) <= set(classes.nace_class)
    for related in ref.cluster_sectors.related_classes:
        assert set(related.split()) <= set(classes.nace_class)


def test_every_class_maps_to_exactly_one_exporter_sector(ref):
    mapping = ref.exporter_sector_of_class()
    assert set(mapping.index) == set(ref.nace_classes.nace_class)
    assert mapping["30.11"] == "ships" and mapping["28.25"] == "climate" and mapping["13.93"] == "carpets"
