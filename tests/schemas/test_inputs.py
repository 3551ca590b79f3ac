"""Input contracts (``schemas.inputs``): every source has its columns, each header spelling names
one column of its source, and the member-list layout chambers send names every required column."""

from __future__ import annotations

import pytest

from kume.settings import PROJECT_ROOT
from schemas.inputs import AGENCY_DB, AGENCY_DB_TABLES, CHAMBER_REGISTRY, SOURCES, Column, SourceContract
from schemas.names import fold_key
from schemas.outputs import SCORE_INDICATORS

DTYPES = {"string", "int", "float", "date", "bool"}

# The layout chambers send (docs/methodology.md §1.4): ten columns, no province, no turnover.
DOCUMENTED_REGISTRY_HEADERS = {
    "Sicil No": "registry_no",
    "Firma Ünvanı": "firm_name",
    "NACE Kodu": "nace_code",
    "Meslek Grubu": "committee",
    "İlçe": "district",
    "Çalışan Sayısı": "employees",
    "Kuruluş Tarihi": "founded",
    "Sermaye": "capital_try",
    "İhracatçı": "exporter",
    "Kapasite Raporu": "capacity_report",
}


def header_keys(contract: SourceContract) -> dict[str, set[str]]:
    """fold_key of every name and alias -> the columns it names."""
    keys: dict[str, set[str]] = {}
    for column in contract.columns:
        for spelling in (column.name, *column.aliases):
            keys.setdefault(fold_key(spelling), set()).add(column.name)
    return keys


def test_the_sources_are_the_eight_source_folders_each_under_its_own_name():
    assert set(SOURCES) == {
        "chamber_registry",
        "exporter_exports",
        "sgk_employment",
        "exports_by_sector",
        "capacity_register",
        "sector_turnover",
        "agency_db",
        "consultation",
    }
    assert all(contract.name == name for name, contract in SOURCES.items())
    folders = {path.name for path in (PROJECT_ROOT / "data" / "sources").iterdir() if path.is_dir()}
    assert folders == set(SOURCES)


@pytest.mark.parametrize("contract", SOURCES.values(), ids=list(SOURCES))
def test_every_source_has_unique_typed_columns_some_required_and_file_patterns(contract):
    names = [column.name for column in contract.columns]
    assert len(names) == len(set(names)) >= 4
    assert all(column.dtype in DTYPES for column in contract.columns), contract.name
    assert all(column.meaning for column in contract.columns), contract.name
    assert any(column.required for column in contract.columns)
    assert contract.description and contract.file_patterns
    assert all(pattern.startswith("*.") for pattern in contract.file_patterns)


@pytest.mark.parametrize("contract", SOURCES.values(), ids=list(SOURCES))
def test_no_header_spelling_names_two_columns_of_one_source(contract):
    shared = {key: columns for key, columns in header_keys(contract).items() if len(columns) > 1}
    assert not shared
    assert "" not in header_keys(contract)  # no alias that folds to nothing


@pytest.mark.parametrize("contract", [c for c in SOURCES.values() if c is not AGENCY_DB], ids=lambda c: c.name)
def test_every_file_column_has_aliases_and_they_are_written_in_lower_case(contract):
    for column in contract.columns:
        assert column.aliases, f"{contract.name}.{column.name}"
        assert all(alias == alias.strip() == alias.lower() for alias in column.aliases), column.name


def test_column_finds_a_column_by_its_name():
    employees = CHAMBER_REGISTRY.column("employees")
    assert employees == Column(
        "employees",
        "float",
        "employees at the registry date",
        "persons",
        aliases=("çalışan sayısı", "calisan sayisi", "employees", "personel sayısı"),
    )
    assert SOURCES["sgk_employment"].column("year").dtype == "int"
    assert SOURCES["capacity_register"].column("unit").required is False
    assert all(contract.column(c.name) is c for contract in SOURCES.values() for c in contract.columns)


def test_required_columns_of_each_source():
    required = {name: [c.name for c in contract.columns if c.required] for name, contract in SOURCES.items()}
    assert required == {
        "chamber_registry": ["registry_no", "firm_name", "nace_code", "employees"],
        "exporter_exports": ["year", "firm_name", "province", "nace_code", "exports_usd"],
        "sgk_employment": ["year", "province", "nace_code", "establishments", "employment"],
        "exports_by_sector": ["year", "province", "exporter_sector", "exports_thousand_usd"],
        "capacity_register": ["province", "nace_division", "producers", "capacity"],
        "sector_turnover": ["year", "province", "nace_code", "turnover_try"],
        "agency_db": ["table", "plate_code", "nace_class", "measure", "value"],
        "consultation": ["province", "meeting_date", "institution", "institution_type", "nace_code", "stance"],
    }


def test_the_documented_ten_column_registry_layout_names_every_required_column():
    keys = header_keys(CHAMBER_REGISTRY)
    named = {header: keys.get(fold_key(header)) for header in DOCUMENTED_REGISTRY_HEADERS}
    assert named == {header: {column} for header, column in DOCUMENTED_REGISTRY_HEADERS.items()}
    required = {c.name for c in CHAMBER_REGISTRY.columns if c.required}
    assert required <= set(DOCUMENTED_REGISTRY_HEADERS.values())
    # no province and no turnover column in that layout: both must be optional
    assert not CHAMBER_REGISTRY.column("province").required
    assert not CHAMBER_REGISTRY.column("turnover_try").required


@pytest.mark.parametrize(
    ("source", "header", "column"),
    [
        ("chamber_registry", "ÇALIŞAN SAYISI", "employees"),  # the module's own example
        ("chamber_registry", " çalışan  sayısı", "employees"),
        ("chamber_registry", "FİRMA ÜNVANI", "firm_name"),
        ("chamber_registry", "Ciro (TL)", "turnover_try"),
        ("sgk_employment", "İşyeri Sayısı", "establishments"),
        ("sgk_employment", "SİGORTALI SAYISI", "employment"),
        ("sgk_employment", "İl Kodu", "plate_code_raw"),
        ("exports_by_sector", "İhracat (Bin $)", "exports_thousand_usd"),
        ("capacity_register", "NACE Bölümü", "nace_division"),
        ("sector_turnover", "NACE Rev.2", "nace_code"),
        ("exporter_exports", "İhracat (USD)", "exports_usd"),
        ("consultation", "Kurum Türü", "institution_type"),
    ],
)
def test_headers_as_the_files_write_them_fold_to_their_column(source, header, column):
    assert header_keys(SOURCES[source])[fold_key(header)] == {column}


def test_agency_db_tables_contribute_distinct_measures():
    measures = [measure for table in AGENCY_DB_TABLES.values() for measure in table]
    assert len(measures) == len(set(measures)) == 8
    assert AGENCY_DB_TABLES["education_programmes"] == ("programmes", "graduates")
    assert AGENCY_DB.file_patterns == ("*.sqlite", "*.db")
    assert set(measures) <= set(SCORE_INDICATORS)  # each measure is an indicator scoring reads
