"""Readers on small files in the real layouts, and validation's quarantine."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from kume.settings import PROJECT_ROOT
from schemas.inputs import CHAMBER_REGISTRY
from tasks.errors import InputFileError
from tasks.sources import files
from tasks.sources.files import detect_encoding, ingest_files, read_source_file
from tasks.sources.parsing import parse_numbers
from tasks.stages import suite_parameters
from tasks.validate import load_suite, validate

HEADER = "Sicil No;Firma Ünvanı;NACE Kodu;İl;İlçe;Çalışan Sayısı;Kuruluş Tarihi;Sermaye;Ciro (TL);İhracatçı"
ROWS = [
    "1001;Işık Makina A.Ş.;28.93.01;ÇORUM;Merkez;45;01.02.1999;1.250.000,50;12.500.000,00;E",
    "1002;Çınar Gıda Ltd.;99.99;Çorum;Merkez;12;2001-05-04;50.000,00;900.000,00;H",
    "1003;Şahin Un A.Ş.;1061;Çorum;Sungurlu;-5;03.03.2003;10.000,00;1.000,00;Evet",
    "1004;Doğan Tuğla;2332;Atlantis;Alaca;30;04.04.2004;10.000,00;1.000,00;Hayır",
]


def registry_csv(tmp_path, encoding="cp1254"):
    folder = tmp_path / "chamber_registry"
    folder.mkdir()
    path = folder / "corum.csv"
    path.write_bytes("\r\n".join([HEADER, *ROWS]).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Çalışan Sayısı;İl\nŞahinbey;Işık".encode("cp1254"), "cp1254"),
        ("Çalışan Sayısı;İl\nŞahinbey;Işık".encode(), "utf-8"),
        ("Çalışan Sayısı;İl".encode("utf-8-sig"), "utf-8-sig"),
        (b"plain ascii;header", "utf-8"),
    ],
)
def test_encoding_is_detected_from_the_first_bytes(data, expected):
    assert detect_encoding(data) == expected


def test_decimal_comma_with_dot_thousands_and_the_other_convention():
    assert parse_numbers(pd.Series(["1.250.000,50", "12", "", "x"]), ",").tolist()[:2] == [1250000.5, 12.0]
    assert parse_numbers(pd.Series(["", "x"]), ",").isna().all()
    assert parse_numbers(pd.Series(["1,250,000.50"]), ".").iloc[0] == 1250000.5


@pytest.mark.parametrize(
    ("separator", "values", "expected"),
    [
        ("\t", ["1250000.50", "12"], "."),
        ("\t", ["1.250.000,50", "7"], ","),
        (";", ["1.250", "12"], ","),  # whole numbers only: the separator's convention
        (",", ['"1,250.5"', "3"], "."),
    ],
)
def test_decimal_mark_is_read_from_the_numbers_not_assumed_from_the_separator(tmp_path, separator, values, expected):
    header = separator.join(
        ["Sicil No", "Firma Ünvanı", "NACE Kodu", "İl", "Çalışan Sayısı", "Sermaye", "Ciro (TL)", "İhracatçı"]
    )
    lines = [separator.join(["1", "A", "28.93", "Çorum", "5", value, value, "E"]) for value in values]
    path = tmp_path / "registry.txt"
    path.write_text("\n".join([header, *lines]), encoding="utf-8")
    read = read_source_file(path, CHAMBER_REGISTRY)
    assert read.decimal == expected
    assert parse_numbers(read.frame.capital_try, read.decimal).iloc[0] in (1250000.5, 1250.0, 1250.5)


def test_windows_1254_semicolon_csv_is_read_with_turkish_headers(tmp_path):
    read = read_source_file(registry_csv(tmp_path), CHAMBER_REGISTRY)
    assert read.encoding == "cp1254" and read.separator == ";" and read.decimal == ","
    assert read.frame.firm_name.iloc[0] == "Işık Makina A.Ş."
    assert read.frame.source_row.tolist() == [2, 3, 4, 5]  # line numbers in the file


def test_excel_title_rows_are_skipped_and_rows_keep_sheet_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["GAZİANTEP - ÜYE FİRMA LİSTESİ"])
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(
        ["İl", "NACE KODU", " Sicil  No ", "Firma Ünvanı", "ÇALIŞAN SAYISI", "Sermaye", "Ciro (TL)", "İhracatçı"]
    )
    sheet.append(["Gaziantep", 152001, 7, "Ayakkabı A.Ş.", 12, 1000.5, 20000, "E"])
    path = tmp_path / "gaib.xlsx"
    workbook.save(path)
    read = read_source_file(path, CHAMBER_REGISTRY)
    first = read.frame.iloc[0]
    assert (first.nace_code, first.registry_no, first.employees, first.source_row) == ("152001", "7", "12", 4)


def test_malformed_registry_rows_are_quarantined_with_their_reason(tmp_path, ref):
    registry_csv(tmp_path)
    ingested = ingest_files("chamber_registry", tmp_path / "chamber_registry", ref, progress=lambda _: None)
    outcome = validate(
        "chamber_registry",
        ingested.frame,
        load_suite(PROJECT_ROOT / "expectations", "chamber_registry"),
        suite_parameters(ref),
        ingested.rejected,
    )
    assert (outcome.rows_in, outcome.rows_accepted, outcome.rows_quarantined) == (4, 1, 3)
    found = outcome.quarantine.set_index("row")[["file", "column", "rule", "raw_value"]]
    assert found.loc[3].tolist() == ["corum.csv", "nace_class", "REG-NACE-02", "99.99"]
    assert found.loc[4].tolist() == ["corum.csv", "employees", "REG-EMP-02", "-5"]
    assert found.loc[5].tolist() == ["corum.csv", "plate_code", "REG-PROV-01", "Atlantis"]
    good = outcome.accepted.iloc[0]
    assert (good.nace_class, good.national_activity_code, good.plate_code) == ("28.93", "28.93.01", 19)
    assert good.capital_try == 1250000.5 and good.exporter


def test_a_file_that_cannot_be_read_is_reported_and_the_rest_carry_on(tmp_path, ref):
    registry_csv(tmp_path)
    (tmp_path / "chamber_registry" / "broken.xlsx").write_bytes(b"not a workbook")
    (tmp_path / "chamber_registry" / "no_header.csv").write_text("a;b\n1;2\n")
    ingested = ingest_files("chamber_registry", tmp_path / "chamber_registry", ref, progress=lambda _: None)
    assert len(ingested.frame) == 4
    failed = {failure.file: failure for failure in ingested.failures}
    assert set(failed) == {"broken.xlsx", "no_header.csv"}
    assert all(isinstance(failure, InputFileError) for failure in failed.values())
    assert {failure.source for failure in failed.values()} == {"chamber_registry"}
    assert failed["broken.xlsx"].problem.startswith("not a readable .xlsx workbook")
    assert failed["no_header.csv"].problem.startswith("no header row")
    assert sorted(ingested.errors) == sorted(str(failure) for failure in ingested.failures)


def test_every_expectation_carries_a_rule_code_and_message():
    for suite_path in sorted((PROJECT_ROOT / "expectations").glob("*.json")):
        suite = load_suite(suite_path.parent, suite_path.stem)
        codes = [e["meta"]["rule"] for e in suite["expectations"]]
        assert len(codes) == len(set(codes)), suite_path
        assert all(e["meta"].get("message") for e in suite["expectations"]), suite_path


def test_sector_turnover_reads_divisions_classes_and_suppressed_cells(tmp_path):
    from kume.check import check_files

    path = tmp_path / "tuik_ciro.csv"
    lines = [
        "Yıl;İl;NACE Rev.2;Faaliyet;Ciro (TL)",
        "2022;Trabzon;30;Diğer ulaşım araçları;1.592.154.000",
        "2022;TRABZON;30.11;Gemi;1.198.593.000",
        "2022;61;C10;Gıda;C",  # suppressed: null with a flag, never zero
        "2022;Trabzon;99;Başka;12",  # not manufacturing
        "2022;Trabzon;31;Mobilya;",  # blank: not a number
    ]
    path.write_bytes("\r\n".join(lines).encode("cp1254"))
    report = check_files("sector_turnover", [path], PROJECT_ROOT / "data" / "reference", PROJECT_ROOT / "expectations")
    [file] = report["files"]
    assert (file["rows_in"], file["rows_accepted"], file["rows_quarantined"]) == (5, 3, 2)
    assert {r["rule"]: [e["row"] for e in r["examples"]] for r in file["failed_rules"]} == {
        "TRN-NACE-02": [5],
        "TRN-TURN-01": [6],
    }


def test_the_decimal_mark_counts_values_as_its_patterns_do():
    """The votes are counted on the values' shapes; they are the patterns' own counts."""
    values = ["1.250,50", "12,5", "-3,25", "1,250.50", "12.5", "1.2345", "1.250", "1,2,3", ",5", "-,5", "5,", "--1,5"]
    tie = pd.DataFrame({"employees": values, "capital_try": values[::-1]}, dtype="str")
    cells = pd.concat([tie.employees, tie.capital_try])
    assert cells.str.match(files._DECIMAL_COMMA).sum() == cells.str.match(files._DECIMAL_POINT).sum() == 6
    assert files.detect_decimal(tie, CHAMBER_REGISTRY, ".") == "."  # as many each way: the convention
    assert files.detect_decimal(tie, CHAMBER_REGISTRY, ",") == ","
    more = pd.DataFrame({"employees": [*values, "7,5"], "capital_try": [*values, "x"]}, dtype="str")
    assert files.detect_decimal(more, CHAMBER_REGISTRY, ".") == ","  # one more comma; "x" read by the patterns


def _same_read(left, right):
    """Two ``IngestedSource`` of the same files: the same rows, rejected rows, files and failures."""
    pd.testing.assert_frame_equal(left.frame, right.frame)
    pd.testing.assert_frame_equal(left.rejected, right.rejected)
    assert left.files == right.files
    assert [failure.failure() for failure in left.failures] == [failure.failure() for failure in right.failures]


def test_files_read_in_processes_are_read_as_in_threads(tmp_path, ref, monkeypatch):
    """The shipped member lists (and a file that cannot be read) read by forked processes, which
    hand each file back as Arrow files: the same rows, in file order, the same failure (pickled
    whole), the read cache written and taken the same way, and nothing left in the handoff folder."""
    folder = tmp_path / "chamber_registry"
    for shipped in (PROJECT_ROOT / "data" / "sources" / "chamber_registry").iterdir():
        (folder / shipped.name).parent.mkdir(exist_ok=True)
        (folder / shipped.name).write_bytes(shipped.read_bytes())
    (folder / "no_header.csv").write_text("a;b\n1;2\n")
    in_threads = ingest_files("chamber_registry", folder, ref, progress=lambda _: None)
    assert in_threads.failures and len(in_threads.frame) > 1000
    handoffs = []
    monkeypatch.setattr(files, "POOLED_BYTES", 0)  # processes whatever the size
    monkeypatch.setattr(files.tempfile, "TemporaryDirectory", _recording(files.tempfile.TemporaryDirectory, handoffs))
    in_processes = ingest_files("chamber_registry", folder, ref, progress=lambda _: None)
    _same_read(in_processes, in_threads)
    assert len(handoffs) == 1 and not handoffs[0].exists()
    cache = tmp_path / "cache"
    parsed = ingest_files("chamber_registry", folder, ref, progress=lambda _: None, cache_dir=cache)
    cached = ingest_files("chamber_registry", folder, ref, progress=lambda _: None, cache_dir=cache)
    _same_read(parsed, in_threads)
    assert {file["read"] for file in parsed.files} == {"parsed"} and {file["read"] for file in cached.files} == {
        "cached"
    }
    pd.testing.assert_frame_equal(cached.frame, in_threads.frame)
    entries = list((cache / "chamber_registry").iterdir())
    assert len(entries) == len(parsed.files)  # one per file read, whole (no half-written file left)
    assert {tuple(sorted(f.name for f in entry.iterdir())) for entry in entries} == {
        ("info.json", "rejected.arrow", "rows.arrow")
    }


def _recording(make, made: list):
    """``tempfile.TemporaryDirectory`` that notes the folders it makes in ``made``."""

    def recorded(*args, **kwargs):
        folder = make(*args, **kwargs)
        made.append(Path(folder.name))
        return folder

    return recorded


def test_a_reading_process_that_dies_names_its_file_and_reads_nothing_of_the_source(tmp_path, ref, monkeypatch):
    """A reading process killed half-way (the kernel's out-of-memory killer, an operator's kill):
    the source fails naming the files being read, among them the one it died on; nothing of it
    is taken, nothing is left in the handoff folder."""
    folder = tmp_path / "chamber_registry"
    folder.mkdir()
    for shipped in (PROJECT_ROOT / "data" / "sources" / "chamber_registry").iterdir():
        (folder / shipped.name).write_bytes(shipped.read_bytes())
    victim = sorted(folder.iterdir())[1].name
    real = files.FileReader.__call__

    def dying(self, directory, path, label, handoff=None):
        if path.name == victim:
            os._exit(9)  # as a process killed: no exception, no clean-up
        return real(self, directory, path, label, handoff)

    monkeypatch.setattr(files, "POOLED_BYTES", 0)
    monkeypatch.setattr(files.FileReader, "__call__", dying)
    handoffs = []
    monkeypatch.setattr(files.tempfile, "TemporaryDirectory", _recording(files.tempfile.TemporaryDirectory, handoffs))
    with pytest.raises(InputFileError) as failed:
        ingest_files("chamber_registry", folder, ref, progress=lambda _: None)
    assert failed.value.problem.startswith(files.READER_ENDED) and victim in failed.value.problem
    assert handoffs and not handoffs[0].exists()


def test_handoff_folders_a_killed_run_left_are_removed_by_the_next(tmp_path, monkeypatch):
    """A run killed (SIGKILL) cannot remove its handoff folder, which may be in memory: the next
    run that reads in processes removes those whose process is gone, and no one else's."""
    monkeypatch.setattr(files, "SHARED_MEMORY", tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"{files.HANDOFF_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{files.HANDOFF_PREFIX}{os.getpid()}-def"
    for folder in (left, mine):
        folder.mkdir()
        (folder / "rows.arrow").write_bytes(b"x")
    with files._handoff_folder() as handoff:
        assert Path(handoff).parent == tmp_path
        assert Path(handoff).name.startswith(f"{files.HANDOFF_PREFIX}{os.getpid()}-")
        assert not left.exists() and mine.exists()


def test_files_rows_are_joined_as_pandas_joins_them(ref, tmp_path):
    """Files whose columns have the same types are joined by Arrow, without a copy, and read
    back as ``pd.concat`` of their frames; files that differ (a column all blank in one file is
    typed otherwise by pandas) are joined by pandas, as before."""
    frames = [
        pd.DataFrame({"name": pd.array(["a", "b"], dtype="str"), "plate": pd.array([1, None], dtype="Int64")}),
        pd.DataFrame({"name": pd.array(["c"], dtype="str"), "plate": pd.array([7], dtype="Int64")}),
    ]
    tables = [pa.Table.from_pandas(frame, preserve_index=False) for frame in frames]
    joined = files._joined(tables)
    assert joined["name"].chunks[0].buffers()[2].address == tables[0]["name"].chunks[0].buffers()[2].address
    pd.testing.assert_frame_equal(joined.to_pandas(), pd.concat(frames, ignore_index=True))
    other = [*frames, pd.DataFrame({"name": pd.array(["d"], dtype=object), "plate": [3.0]})]
    mixed = files._joined([pa.Table.from_pandas(frame, preserve_index=False) for frame in other])
    pd.testing.assert_frame_equal(mixed.to_pandas(), pd.concat(other, ignore_index=True))


def test_files_start_largest_first_and_one_long_read_does_not_hold_the_others(tmp_path, ref, monkeypatch):
    """A national registry has one file a quarter of the rows (Istanbul's): reading it must not
    leave the other reader idle. Files start largest first, the others are all read while the
    largest is still being read, and the rows still come in file order."""
    folder = tmp_path / "chamber_registry"
    folder.mkdir()
    for number in range(12):
        rows = [ROWS[0].replace("1001", str(10_000 * number + i)) for i in range(200 if number == 1 else 1)]
        (folder / f"{number}_corum.csv").write_bytes("\n".join([HEADER, *rows]).encode("cp1254"))
    largest, others_read = folder / "1_corum.csv", threading.Event()
    read, real = [], files.FileReader.__call__

    def reading(self, directory, path, label, handoff=None):
        if path == largest:  # waits until every other file is read (threads: the memory is shared)
            assert others_read.wait(timeout=30), "the other files waited for the largest"
        result = real(self, directory, path, label, handoff)
        read.append(path.name)
        if len(read) == 11:
            others_read.set()
        return result

    monkeypatch.setattr(files.FileReader, "__call__", reading)
    started = []
    ingested = ingest_files("chamber_registry", folder, ref, progress=started.append)
    assert started[0].startswith(f"chamber_registry: reading {largest.name} (1/12)")
    assert read[-1] == largest.name
    by_name = sorted(folder.iterdir())  # file order: 0, 1, 10, 11, 2, ...
    assert ingested.frame.source_file.unique().tolist() == [path.name for path in by_name]


def test_blank_lines_are_rows_whose_cells_are_all_empty(tmp_path):
    """A line whose cells are all empty is no row, in a file without quotes (Arrow's reader) as
    in one with them (pandas'); a line with one cell filled, or a cell only of spaces, is a row."""
    for quote in ("", '"'):
        path = tmp_path / f"blank{bool(quote)}.csv"
        lines = [HEADER, ROWS[0], ";;;;;;;;;", "", f"{quote}1009{quote};;;;;;;;;", "; ;;;;;;;;", ROWS[1]]
        path.write_text("\n".join(lines), encoding="utf-8")
        read = read_source_file(path, CHAMBER_REGISTRY)
        assert read.frame.source_row.tolist() == [2, 5, 6, 7], quote


def _members(file: str, plate: int | None, numbers: list[str], employees: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "registry_no": pd.Series(numbers, dtype="str"),
            "firm_name": pd.Series([f"Firma {n}" for n in numbers], dtype="str"),
            "nace_class": pd.Series(["28.93"] * len(numbers), dtype="str"),
            "plate_code": pd.array([plate] * len(numbers), dtype="Int64"),
            "employees": employees,
            "source_file": pd.Series([file] * len(numbers), dtype="str"),
            "source_row": range(2, 2 + len(numbers)),
        }
    )


def test_a_file_sharing_no_province_is_looked_at_only_where_its_reading_found_a_firm_twice():
    """Samsun's list (a firm twice), Trabzon's and a newer Trabzon list (a firm of the first
    again), a list without provinces: the rows each reading found repeated, and every row of the
    files sharing a province, give what every row of every file gives."""
    frames = [
        _members("samsun.csv", 55, ["1", "2", "1", "3"], [5, 9, 7, 1]),
        _members("trabzon.csv", 61, ["7", "8", "9"], [1, 2, 3]),
        _members("inbox/trabzon.csv", 61, ["8", "10"], [4, 4]),
        _members("none.csv", None, ["1", "1"], [1, 1]),
    ]
    assert [files.repeated_firms(frame).tolist() for frame in frames] == [[0, 2], [], [], []]
    tables = [pa.Table.from_pandas(frame, preserve_index=False) for frame in frames]
    plates = [[55], [61], [61], []]
    found = [files.repeated_firms(frame).tolist() for frame in frames]
    source = "chamber_registry"
    kept, rejected, lost = files._without_duplicate_firms(tables, [0, 1, 2, 3], source, found, plates)
    whole = files._without_duplicate_firms(tables, [0, 1, 2, 3], source, [None] * 4, plates)
    assert [table.equals(other) for table, other in zip(kept, whole[0], strict=True)] == [True] * 4
    assert [gone.tolist() for gone in lost] == [gone.tolist() for gone in whole[2]] == [[0], [1], [], []]
    by_row = ["file", "row"]
    pd.testing.assert_frame_equal(
        rejected.sort_values(by_row, ignore_index=True), whole[1].sort_values(by_row, ignore_index=True)
    )
    assert rejected.sort_values(by_row).rule.tolist() == ["REG-DUP-01", "REG-DUP-02"]
    assert "kept row 4" in rejected.message[rejected.file == "samsun.csv"].item()
    assert "newer file inbox/trabzon.csv" in rejected.message[rejected.file == "trabzon.csv"].item()


@pytest.mark.parametrize(
    "numbers",
    [
        ["12", "7", "12", "3"],  # whole numbers, found as integers
        ["012", "12", "12 ", "7"],  # a leading zero and a space: a number is its stripped text
        ["9999999999999999", "99999999999999999", "99999999999999999", "1"],  # 16 and 17 digits
        ["A12", "12", "A12", ""],  # a letter and a blank number (the trade name decides): by their text
        ["0", "00", "0", "5"],
    ],
)
def test_a_file_s_repeated_firms_are_found_alike_on_whole_numbers_and_on_their_text(numbers):
    """``repeated_firms`` finds the same rows as ``_firms`` (which codes the numbers' text),
    whether it reads the numbers as integers or not, across two provinces and a row without one."""
    plates = [55, 55, 61, 55] * 2 + [None]
    frame = _members("a.csv", 55, [*numbers, *numbers, numbers[0]], [1.0] * 9).assign(
        plate_code=pd.array(plates, dtype="Int64")
    )
    assert files.repeated_firms(frame).tolist() == files._firms(frame)[2].tolist()


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 20])
def test_lines_and_total_labels_are_found_alike_in_blocks_of_any_size(monkeypatch, block):
    """Line breaks and the 'top'/'tot' of a total row are marked a block of bytes at a time
    (``BYTE_BLOCK``: no mark per byte of a whole file at once): a \\r\\n or a 'Toplam' across a
    block's end counts as it does in one block, and the counts are those of the whole text."""
    monkeypatch.setattr(files, "BYTE_BLOCK", block)
    for text, start, lines in [
        (b"a\r\nb\r\nc", 0, 3), (b"a\rb\r\n\nc\n", 0, 4), (b"h\r\na\rb", 3, 2), (b"\r\n\r", 0, 2), (b"", 0, 0),
        (b"h\nx", 2, 1), (b"h\n", 2, 0), (b"a\r", 0, 1),
    ]:  # fmt: skip
        assert files._line_count(text, start) == lines, (text, start)
    values = ["TOPLAM", "ato", "Genel Tot", "xTo", "p", "", "toptan", "T", "OT", "stop", "To", "t"]
    text = pa.chunked_array([pa.array(values, pa.large_string())])
    expected = [True, False, True, False, False, False, True, False, False, True, False, False]
    assert files._top_or_tot(text).tolist() == expected
