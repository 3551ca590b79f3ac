"""The DuckDB reference of the benchmark (bench/reference.sql) computes what kume computes: on the
shipped sample, its figures equal kume's indicators dataset; on hand-made files in the other
spellings SGK files come in, it reads the same rows as kume's reader and validation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from schemas.parameters import SelectionParameters
from tasks import stages, store
from tasks.methods.indicators import compute_indicators
from tasks.methods.sector_facts import sgk_tables
from tasks.reference import Reference
from tasks.sources.files import ingest_files
from tasks.store import read_frame
from tasks.validate import load_suite, validate

DATA = PROJECT_ROOT / "data"
KEYS = ["plate_code", "sector_code", "year"]
# Every numeric column the reference computes matches kume; the CAGRs differ in the last bits
# (DuckDB's pow and numpy's power round differently), hence a tolerance rather than equality.
NUMERIC = [
    "employment",
    "establishments",
    "region_employment",
    "national_sector_employment",
    "national_employment",
    "lq_employment",
    "lq_establishments",
    "focus",
    "national_share",
    "avg_firm_size",
    "employment_cagr",
    "national_sector_employment_cagr",
    "shift_national",
    "shift_industry_mix",
    "shift_regional",
]
FLAGS = ["cmp_qualifying", "cmp_significant", "cmp_strong", "cmp_strong10"]


def _load_reference_module():
    spec = importlib.util.spec_from_file_location("duckdb_reference", PROJECT_ROOT / "bench" / "duckdb_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_reference = _load_reference_module().run_reference


def assert_same(kume: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> None:
    """Same province x class x year rows; every column equal to 1e-9 relative, nulls in the same
    places, flags identical."""
    kume = kume.assign(plate_code=kume.plate_code.astype("int64"), year=kume.year.astype("int64"))
    reference = reference.assign(plate_code=reference.plate_code.astype("int64"), year=reference.year.astype("int64"))
    merged = kume.merge(reference, on=KEYS, how="outer", suffixes=("_kume", "_ref"), indicator=True)
    unmatched = merged[merged._merge != "both"]
    assert unmatched.empty, f"rows in one table only:\n{unmatched[[*KEYS, '_merge']].head(10)}"
    for column in columns:
        ours, theirs = merged[f"{column}_ref"], merged[f"{column}_kume"]
        if column in FLAGS:
            differ = ours.astype("boolean").ne(theirs.astype("boolean")).fillna(ours.isna() != theirs.isna())
        else:
            ours, theirs = ours.astype("float64"), theirs.astype("float64")
            close = np.isclose(ours, theirs, rtol=1e-9, atol=1e-12)
            differ = pd.Series(~close & ~(ours.isna() & theirs.isna()), index=merged.index)
        bad = merged.loc[differ, [*KEYS, f"{column}_kume", f"{column}_ref"]]
        assert bad.empty, f"{column}: {len(bad)} rows differ\n{bad.head(10)}"


def _quiet(message: str) -> None:
    """Stage log lines are not needed here."""


@pytest.fixture(scope="module")
def kume_indicators(tmp_path_factory) -> pd.DataFrame:
    """kume's indicators dataset on the shipped data: the flow's own stages (ingest, validate,
    indicators) called as plain functions, without Prefect; the flow publishes this table."""
    work = tmp_path_factory.mktemp("kume-work")
    paths = store.Paths(
        DATA / "sources",
        DATA / "reference",
        PROJECT_ROOT / "expectations",
        work,
        f"sqlite:///{DATA / 'sources' / 'agency_db' / 'agency.sqlite'}",
    )
    accepted = {}
    for source in [
        "sgk_employment",
        "exports_by_sector",
        "chamber_registry",
        "sector_turnover",
        "agency_db",
    ]:  # what indicators reads
        validated = stages.validate_source(source, stages.ingest(source, paths, _quiet), paths, _quiet)
        accepted[source] = validated["outputs"]["accepted"]
    computed = stages.indicators(paths, accepted, SelectionParameters(), _quiet)
    table = read_frame(computed["outputs"]["indicators"])
    return table.assign(reference_year=computed["reference_year"])


def test_reference_equals_kume_indicators_on_the_shipped_sample(kume_indicators):
    result = run_reference(DATA / "sources", DATA / "reference")
    reference = result["table"]
    assert result["rows"] == len(reference) > 0
    assert result["seconds"] > 0 and result["peak_rss_mb"] > 0
    year = int(kume_indicators.reference_year.iloc[0])
    assert (reference.year == year).sum() == (kume_indicators.year.astype("int64") == year).sum() > 0
    assert_same(kume_indicators, reference, [*NUMERIC, *FLAGS])
    # the comparison covers real values, not only nulls
    current = reference[reference.year == year]
    assert current.lq_employment.notna().all() and current.employment_cagr.notna().sum() > 1000
    assert current.cmp_strong.sum() > 0


SGK_HEADER = "Yıl;İl Kodu;İl;NACE Kodu;İşyeri Sayısı;Sigortalı Sayısı"
# Spellings seen in real SGK exports and registries: dotted and 6-digit NACE codes, a section
# letter, an Excel '.0', a province by name only (ASCII, abbreviated, upper case), dot thousands.
PROVINCE_FILE_2017 = """\
2017;55;Samsun;32.50;40;900
2017;55;Samsun;2660;5;100
2017;;SAMSUN;10.11.01;10;1.200
2017;;samsun;101102;3;300
2017;61;Trabzon;3011;12;1.600
2017;61;Trabzon;C3250;2;50
2017;;K.Maraş;2599.0;30;2.000
2017;46;Kahramanmaraş;3250;1;10
2017;61;Trabzon;99.99;1;5
2017;;Atlantis;3250;1;5
2017;55;Samsun;3011;-1;5
"""
PROVINCE_FILE_2022 = """\
2022;55;Samsun;3250;50;1.100
2022;55;Samsun;26.60;6;0
2022;55;Samsun;1011;12;1.500
2022;61;Trabzon;30.11;13;1.800
2022;61;Trabzon;3250;3;40
2022;61;Trabzon;3312;4;70
2022;46;Maraş;25.99;33;2.500
2022;46;Kahramanmaraş;32.50;2;20
2022;46;Kahramanmaraş;C;45;3.000
"""
# A file with a decimal point (its commas are thousands), and a province whose published 'C'
# total is zero: its LQ and focus cannot be computed, so its CMP flags are null.
PROVINCE_FILE_2012 = """\
2012;55;Samsun;3250;38;850.5
2012;55;Samsun;2660;4;1,100.25
2012;61;Trabzon;3011;10;900
2012;61;Trabzon;C;0;0
"""
NATIONAL_FILE = """\
Yıl;İl Kodu;İl;NACE Kodu;Faaliyet;İşyeri Sayısı;Sigortalı Sayısı
2017;;TÜRKİYE;3250;Medical;50;1.000
2017;;TÜRKİYE;1011;Meat;15;1.600
2017;;TÜRKİYE;C;Total;120;7.000
2022;;TÜRKİYE;3250;Medical;60;1.250
2022;;TÜRKİYE;2660;Irradiation;7;150
2022;;TÜRKİYE;C;Total;130;8.000
"""


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True)
    # one file with Windows line ends, as SGK's exports have them
    (folder / "sgk_il_nace4_2017.csv").write_bytes(f"{SGK_HEADER}\n{PROVINCE_FILE_2017}".replace("\n", "\r\n").encode())
    (folder / "sgk_il_nace4_2012.csv").write_text(f"{SGK_HEADER}\n{PROVINCE_FILE_2012}", encoding="utf-8")
    (folder / "sgk_il_nace4_2022.csv").write_text(f"{SGK_HEADER}\n{PROVINCE_FILE_2022}", encoding="utf-8")
    (folder / "sgk_turkiye_toplam.csv").write_text(NATIONAL_FILE, encoding="utf-8")
    return folder


def test_reference_reads_other_spellings_as_kume_does(tmp_path):
    """NACE spellings, provinces by name, dot thousands, a decimal-point file, rows kume
    quarantines, published province 'C' totals (one of them zero), a year without national
    totals: the reference's rows and figures are those of kume's reader, validation and
    indicator functions."""
    folder = _write(tmp_path / "sgk_employment")
    ref = Reference(DATA / "reference")
    ingested = ingest_files("sgk_employment", folder, ref, progress=_quiet)
    assert not ingested.errors
    outcome = validate(
        "sgk_employment",
        ingested.frame,
        load_suite(PROJECT_ROOT / "expectations", "sgk_employment"),
        stages.suite_parameters(ref),
        ingested.rejected,
    )
    assert outcome.rows_quarantined == 3  # unknown class, unknown province, negative workplaces
    facts, region, national = sgk_tables(outcome.accepted)
    kume = compute_indicators(facts, region, national, growth_spans=(5,)).table.rename(
        columns={"region_code": "plate_code"}
    )
    reference = run_reference(tmp_path, DATA / "reference")["table"]
    assert_same(kume, reference, [*NUMERIC, *FLAGS])
    samsun = reference[reference.plate_code == 55].set_index(["sector_code", "year"])
    assert samsun.loc[("10.11", 2017), "employment"] == 1500  # 10.11.01 + 10.11.02
    assert samsun.loc[("26.60", 2012), "employment"] == 1100.25
    assert samsun.loc[("32.50", 2017), "employment_cagr"] == pytest.approx((900 / 850.5) ** 0.2 - 1)
    trabzon_2012 = reference[(reference.plate_code == 61) & (reference.year == 2012)].iloc[0]
    assert pd.isna(trabzon_2012.lq_employment) and pd.isna(trabzon_2012.cmp_strong)
