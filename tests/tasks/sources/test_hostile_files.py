"""Nothing stuck, nothing silently lost: files that used to vanish without a word. A header
wider than the old 64 KiB sniff, rows ending in an extra separator, hidden and temporary files,
old Excel workbooks and other endings in a source folder, a link to a file outside the data
folder, a file name with a line break, and a file too large for the memory available. Most
cases are checked on the reader, the folder listing and ``kume check``; one run of the real flow
checks the manifest, the quality dataset and the quarantine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from helpers import run_selection

from kume.check import check_files, format_report
from kume.report import quality_markdown
from kume.settings import PROJECT_ROOT
from tasks import reference, store
from tasks.errors import InputFileError, printable
from tasks.publish.snapshot import read_dataset
from tasks.sources import files
from tasks.sources.files import (
    NOT_READ_HIDDEN,
    NOT_READ_OLD_EXCEL,
    NOT_READ_OUTSIDE,
    ingest_files,
    list_source_folder,
    read_source_file,
)

REFERENCE = PROJECT_ROOT / "data" / "reference"
EXPECTATIONS = PROJECT_ROOT / "expectations"
HEADER = "Sicil No;Firma Ünvanı;NACE Kodu;İl;İlçe;Çalışan Sayısı;Kuruluş Tarihi;Sermaye;Ciro (TL);İhracatçı"
NOT_A_CSV = "not a .csv, .tsv or .xlsx file"


def member(number: int, nace: str = "28.93.01", employees: str = "45") -> str:
    return f"{number};Işık Makina {number} A.Ş.;{nace};Samsun;İlkadım;{employees};01.02.1999;1.250.000,50;;E"


def members(first: int, count: int, header: str = HEADER, suffix: str = "") -> bytes:
    return "\r\n".join([header, *(member(first + i) + suffix for i in range(count))]).encode("utf-8")


def check(*paths, source="chamber_registry") -> dict:
    return check_files(source, list(paths), REFERENCE, EXPECTATIONS)


# --- 1. the whole file, whatever its header's width ----------------------------------------


def test_a_header_wider_than_64_kib_loses_no_row(tmp_path):
    extra = "".join(f";Ek sütun {i}" for i in range(20_000))  # 20,000 extra columns: ~300 KB of header
    lines = [member(70_000 + i) + ";" * 20_000 for i in range(500)]
    lines[99] = member(70_099, nace="99.99") + ";" * 20_000  # line 101: quarantined, not lost
    path = tmp_path / "wide.csv"
    path.write_bytes("\n".join([HEADER + extra, *lines]).encode("utf-8"))
    assert len((HEADER + extra).encode()) > 64 * 1024

    [file] = check(path)["files"]
    assert (file["rows_in"], file["rows_accepted"], file["rows_quarantined"]) == (500, 499, 1)
    assert [e["row"] for r in file["failed_rules"] for e in r["examples"]] == [101]


def test_rows_ending_in_an_extra_separator_keep_their_columns_and_line_numbers(tmp_path):
    lines = [HEADER, member(1), "", member(2, nace="99.99"), member(3), member(4, employees="-5"), ""]
    path = tmp_path / "trailing.csv"
    rows = [line + ";" if line else line for line in lines[1:]]  # the header has no extra separator
    path.write_bytes("\r\n".join([HEADER, *rows]).encode("utf-8"))
    read = read_source_file(path, files.CONTRACTS["chamber_registry"])
    assert read.frame.registry_no.tolist() == ["1", "2", "3", "4"]  # not shifted into the index
    assert read.frame.source_row.tolist() == [2, 4, 5, 6]  # the file's own lines
    [file] = check(path)["files"]
    assert {r["rule"]: [e["row"] for e in r["examples"]] for r in file["failed_rules"]} == {
        "REG-NACE-02": [4],
        "REG-EMP-02": [6],
    }


def test_a_cell_beyond_the_header_is_a_file_error_naming_the_line(tmp_path):
    path = tmp_path / "shifted.csv"
    path.write_bytes("\n".join([HEADER, member(1) + ";", member(2) + ";;stray"]).encode("utf-8"))
    [file] = check(path)["files"]
    assert "line 3 has more cells than the header's 10" in file["error"]


def test_quoted_cells_over_several_lines_keep_the_line_numbers_of_the_rows_after_them(tmp_path):
    quoted = member(2).replace("Işık Makina 2 A.Ş.", '"Işık Makina\r\nikinci satır\r\nA.Ş."')
    path = tmp_path / "quoted.csv"
    path.write_bytes("\r\n".join([HEADER, member(1), quoted, member(3, nace="99.99")]).encode("utf-8"))
    read = read_source_file(path, files.CONTRACTS["chamber_registry"])
    assert read.frame.source_row.tolist() == [2, 3, 6]


@pytest.mark.parametrize(
    ("parser", "suffix"),
    [("_parse_unquoted", ""), ("_parse_delimited", ';"x"')],  # Arrow's reader; pandas' for quoted cells
)
def test_rows_the_parser_does_not_account_for_make_a_file_error_not_a_partial_read(
    tmp_path, monkeypatch, parser, suffix
):
    path = tmp_path / "uyeler.csv"
    path.write_bytes(members(1, 20, header=HEADER + ";Not", suffix=suffix))
    parse = getattr(files, parser)
    monkeypatch.setattr(files, parser, lambda *args: parse(*args).iloc[:-3])  # 3 rows lost
    with pytest.raises(InputFileError, match="20 lines after the header but 17 rows parsed") as error:
        read_source_file(path, files.CONTRACTS["chamber_registry"])
    assert error.value.file == str(path)
    assert "not read rather than read in part" in error.value.problem


def test_a_quote_that_never_closes_is_a_file_error(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_bytes("\n".join([HEADER, member(1), member(2).replace("Işık", '"Işık'), member(3)]).encode())
    [file] = check(path)["files"]
    assert "cannot be parsed" in file["error"] and check(path)["exit_code"] == 2


# --- 2, 3. every entry of a source folder is read or listed with its reason -----------------


@pytest.fixture
def data_dir(tmp_path):
    """A data folder with an inbox full of what stewards really drop there, and a file outside."""
    data = tmp_path / "data"
    inbox = data / "inbox" / "chamber_registry"
    (inbox / "Samsun").mkdir(parents=True)
    (data / "sources" / "chamber_registry").mkdir(parents=True)
    (data / "sources" / "chamber_registry" / "shipped.csv").write_bytes(members(1, 3))
    (inbox / "good.csv").write_bytes(members(100, 3))
    (inbox / "UPPER.CSV").write_bytes(members(200, 3))
    (inbox / "Samsun" / "liste.tsv").write_bytes(members(300, 3).replace(b";", b"\t"))
    (inbox / "..dotted.csv").write_bytes(members(400, 100))
    (inbox / "~$uyeler.xlsx").write_bytes(b"owner file of an open workbook")
    (inbox / "old_format.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    (inbox / "notes.txt").write_text("call the chamber", encoding="utf-8")
    (inbox / ".gitkeep").write_bytes(b"")
    (inbox / "Samsun" / "archive").mkdir()
    outside = tmp_path / "elsewhere" / "secret.csv"
    outside.parent.mkdir()
    outside.write_bytes(members(9_000, 1).replace(b";45;", b";-77311;"))  # would be quarantined, raw value shown
    (inbox / "linked.csv").symlink_to(outside)
    (inbox / "inside_link.csv").symlink_to(data / "sources" / "chamber_registry" / "shipped.csv")
    (inbox / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    os.mkfifo(inbox / "pipe.csv")  # reading it would wait for ever
    return data


def test_every_entry_of_a_source_folder_is_read_or_listed_with_its_reason(data_dir):
    inbox = data_dir / "inbox" / "chamber_registry"
    listing = list_source_folder(inbox, "chamber_registry", data_dir)
    assert [p.relative_to(inbox).as_posix() for p in listing.files] == [
        "Samsun/liste.tsv",
        "UPPER.CSV",
        "good.csv",
        "inside_link.csv",  # a link that stays inside the data folder is followed
    ]
    reasons = {p.relative_to(inbox).as_posix(): reason for p, reason in listing.not_read}
    assert reasons == {
        "..dotted.csv": NOT_READ_HIDDEN,
        "~$uyeler.xlsx": NOT_READ_HIDDEN,
        "old_format.xls": NOT_READ_OLD_EXCEL,
        "notes.txt": NOT_A_CSV,
        "linked.csv": NOT_READ_OUTSIDE,
        "dangling.csv": files.NOT_READ_BROKEN_LINK,
        "pipe.csv": files.NOT_READ_SPECIAL,
        "Samsun/archive": files.NOT_READ_FOLDER,
    }
    assert NOT_READ_HIDDEN == "hidden or temporary file: not read (rename it without the leading . or ~$ to read it)"
    assert NOT_READ_OLD_EXCEL == "old Excel format: save as .xlsx or CSV"
    assert NOT_READ_OUTSIDE == "a link to a file outside the data folder: not read"


def test_a_folder_inside_a_national_source_folder_is_listed_not_entered(tmp_path):
    folder = tmp_path / "data" / "sources" / "sgk_employment"
    (folder / "2023").mkdir(parents=True)
    (folder / "2023" / "sgk.csv").write_text("x")
    (folder / "sgk.xlsx").write_bytes(b"PK")
    listing = list_source_folder(folder, "sgk_employment", tmp_path / "data")
    assert listing.files == []
    assert {p.name: r for p, r in listing.not_read} == {
        "2023": files.NOT_READ_FOLDER,
        "sgk.xlsx": "an Excel workbook: this source is read from .csv or .tsv files only (save it as CSV)",
    }


def test_kume_check_gives_the_runs_reason_and_exits_2(data_dir):
    inbox = data_dir / "inbox" / "chamber_registry"
    report = check(inbox / "..dotted.csv", inbox / "old_format.xls", inbox / "notes.txt")
    assert report["exit_code"] == 2
    assert [f["error"] for f in report["files"]] == [NOT_READ_HIDDEN, NOT_READ_OLD_EXCEL, NOT_A_CSV]
    text = format_report(report)
    assert f"old_format.xls: not read: {NOT_READ_OLD_EXCEL}" in text
    assert "binary data" not in text  # the old message for an .xls


def test_names_are_escaped_in_logs_and_kume_check_and_raw_in_data(tmp_path):
    folder = tmp_path / "data" / "sources" / "chamber_registry"
    folder.mkdir(parents=True)
    name = "evil\nsamsun: 0 rows in, 0 accepted\x1b[2J.csv"
    (folder / name).write_bytes(members(1, 2))
    (folder / "bad\tname\n.csv").write_bytes(b"")
    logged: list[str] = []
    ingested = ingest_files("chamber_registry", folder, reference.Reference(REFERENCE), progress=logged.append)
    assert all("\n" not in line and "\x1b" not in line for line in logged)
    assert any("evil\\nsamsun: 0 rows in, 0 accepted\\x1b[2J.csv" in line for line in logged)
    assert {f["file"] for f in ingested.files} == {name}  # the manifest keeps the name (JSON escapes it)
    assert ingested.errors == ["bad\tname\n.csv: no header row with the expected column names in the first 20 lines"]
    [failure] = ingested.failures
    assert (failure.source, failure.file) == ("chamber_registry", "bad\tname\n.csv")  # the name as it is

    done = subprocess.run(
        [sys.executable, "-m", "kume.cli", "check", "--source", "chamber_registry", str(folder / name)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[1].endswith(".csv: 2 rows in, 2 accepted, 0 quarantined"), done.stdout
    assert "evil\\nsamsun" in lines[1] and "\x1b" not in done.stdout
    assert printable("a\nb\t\x1b\u202eç") == "a\\nb\\t\\x1b\\u202eç"


# --- 5. a file too large for the memory available -------------------------------------------


def test_a_file_too_large_for_the_memory_available_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "samsun_uyeler.csv"
    path.write_bytes(members(1, 200))
    size = path.stat().st_size
    monkeypatch.setattr(files, "available_memory", lambda: 64 * 1024)
    monkeypatch.setattr(files, "read_source_file", lambda *a: pytest.fail("read although too large"))
    [file] = check(path)["files"]
    assert file["error"].startswith(f"too large for the memory available: {size / 1024:,.1f} KB on disk needs about")
    assert f"({files.MEMORY_PER_BYTE['text']} x its size, measured), and 64.0 KB is available" in file["error"]
    assert "Split it into files of at most" in file["error"] and "each with the header line" in file["error"]
    ingested = ingest_files("chamber_registry", tmp_path, reference.Reference(REFERENCE), progress=lambda _: None)
    assert ingested.errors and ingested.errors[0].startswith("samsun_uyeler.csv: too large for the memory")


def test_available_memory_is_the_smaller_of_the_machine_and_a_cgroup_limit(tmp_path, monkeypatch):
    assert files.available_memory() > 0
    (tmp_path / "memory.max").write_text(f"{10 * 2**20}\n")
    (tmp_path / "memory.current").write_text(f"{4 * 2**20}\n")
    monkeypatch.setattr(files, "CGROUP_MEMORY", ((tmp_path / "memory.max", tmp_path / "memory.current"),))
    assert files.available_memory() == 6 * 2**20
    (tmp_path / "memory.max").write_text("max\n")
    assert files.available_memory() > 6 * 2**20


# --- 2, 3, 4, 6. one run of the real flow ------------------------------------------------------


def test_a_run_lists_every_file_it_did_not_read_and_reads_no_file_outside(data_dir, tmp_path):
    data = tmp_path / "run-data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    inbox = data / "inbox" / "chamber_registry"
    for name in ("..dotted.csv", "old_format.xls", "notes.txt"):
        shutil.copy(data_dir / "inbox" / "chamber_registry" / name, inbox / name)
    (inbox / "linked.csv").symlink_to(tmp_path / "elsewhere" / "secret.csv")
    extra = "".join(f";Ek {i}" for i in range(20_000))
    wide = [member(80_000 + i) + ";" * 20_000 for i in range(500)]
    (inbox / "wide.csv").write_bytes("\n".join([HEADER + extra, *wide]).encode("utf-8"))
    trailing = [HEADER, member(81_000), member(81_001, nace="99.99"), "", member(81_002, employees="-5")]
    trailing = [trailing[0], *(line + ";" if line else "" for line in trailing[1:])]  # not the header
    (inbox / "trailing.csv").write_bytes("\r\n".join(trailing).encode())
    newline = "yeni\nliste.csv"
    (inbox / newline).write_bytes(members(82_000, 2))
    shutil.copy(data_dir / "inbox" / "chamber_registry" / "old_format.xls", data / "inbox" / "sgk_employment")

    manifest = run_selection(tmp_path / "out", data, provinces=["Samsun"])

    assert manifest["status"] == "partial"  # and published: a file not read stops nothing
    registry = manifest["inputs"]["chamber_registry"]
    assert registry["errors"] == []
    assert sorted(registry["not_read"], key=lambda f: f["file"]) == [
        {"file": "inbox/..dotted.csv", "reason": NOT_READ_HIDDEN},
        {"file": "inbox/linked.csv", "reason": NOT_READ_OUTSIDE},
        {"file": "inbox/notes.txt", "reason": NOT_A_CSV},
        {"file": "inbox/old_format.xls", "reason": NOT_READ_OLD_EXCEL},
    ]
    assert manifest["inputs"]["sgk_employment"]["not_read"] == [
        {"file": "inbox/old_format.xls", "reason": "old Excel format: save as CSV"}
    ]
    files = {f["file"]: f for f in registry["files"]}
    assert files["inbox/wide.csv"]["rows_in"] == 500
    assert files["inbox/trailing.csv"]["rows_in"] == 3
    assert f"inbox/{newline}" in files  # raw in the manifest: JSON escapes it
    json.loads(json.dumps(manifest))

    run_dir = tmp_path / "out" / "runs" / manifest["run_id"]
    quality = read_dataset(run_dir / "quality", "quality")
    skipped = quality[quality.error.fillna("").str.startswith("NOT READ: ")]
    assert sorted(zip(skipped.source, skipped.file, strict=True)) == [
        ("chamber_registry", "inbox/..dotted.csv"),
        ("chamber_registry", "inbox/linked.csv"),
        ("chamber_registry", "inbox/notes.txt"),
        ("chamber_registry", "inbox/old_format.xls"),
        ("sgk_employment", "inbox/old_format.xls"),
    ]
    assert (skipped[["rows_in", "rows_accepted", "rows_quarantined"]] == 0).all().all()
    assert skipped.set_index("file").error["inbox/notes.txt"] == f"NOT READ: {NOT_A_CSV}"
    wide_quality = quality[quality.file == "inbox/wide.csv"].iloc[0]
    assert wide_quality.rows_in == wide_quality.rows_accepted + wide_quality.rows_quarantined == 500

    quarantine = read_dataset(run_dir / "quarantine", "quarantine")
    assert not quarantine.raw_value.astype(str).str.contains("77311").any()  # the outside file's values
    assert not quarantine.file.str.contains("linked|secret").any()
    trailing_rows = quarantine[quarantine.file == "inbox/trailing.csv"]
    assert sorted(zip(trailing_rows.row, trailing_rows.rule, strict=True)) == [(3, "REG-NACE-02"), (5, "REG-EMP-02")]

    markdown = quality_markdown(manifest)
    assert f"inbox/old_format.xls: NOT READ: {NOT_READ_OLD_EXCEL}" in markdown
    assert "yeni\nliste" not in markdown
    assert len([line for line in markdown.splitlines() if line.startswith("| chamber_registry |")]) == 1


def test_an_inbox_link_to_a_csv_outside_is_never_opened(data_dir, monkeypatch):
    opened = []
    real = store.file_sha256
    monkeypatch.setattr(files, "file_sha256", lambda path: opened.append(path.name) or real(path))
    ingested = ingest_files(
        "chamber_registry",
        [data_dir / "sources" / "chamber_registry", data_dir / "inbox" / "chamber_registry"],
        reference.Reference(REFERENCE),
        progress=lambda _: None,
        data_dir=data_dir,
    )
    assert "linked.csv" not in opened and "secret.csv" not in opened
    assert {"file": "inbox/linked.csv", "reason": NOT_READ_OUTSIDE} in ingested.not_read
    assert not pd.Series(ingested.frame.registry_no).astype(str).str.startswith("9000").any()


@pytest.mark.parametrize("quoted", [False, True])  # Arrow's reader; pandas' for quoted cells
def test_lines_ended_by_a_lone_carriage_return_keep_their_cells_and_line_numbers(tmp_path, quoted):
    """Old Mac exports end lines with a lone \\r. With a title and a blank line above the header,
    every row is read whole, in its columns, numbered as the file's own lines (pandas, skipping
    the lines up to the header itself, dropped the character after each \\r there)."""
    unnamed = ";Adsız Firma;28.93.01;Samsun;İlkadım;45;01.02.1999;1.250.000,50;;E"
    second = member(2).replace("Işık Makina 2 A.Ş.", '"Işık; Makina"') if quoted else member(2)
    path = tmp_path / "mac.csv"
    path.write_bytes("\r".join(["ÜYE LİSTESİ 2022", "", HEADER, unnamed, second]).encode("utf-8"))
    read = read_source_file(path, files.CONTRACTS["chamber_registry"])
    assert read.frame.registry_no.tolist() == ["", "2"]
    assert read.frame.firm_name.tolist() == ["Adsız Firma", "Işık; Makina" if quoted else "Işık Makina 2 A.Ş."]
    assert read.frame.source_row.tolist() == [4, 5]
