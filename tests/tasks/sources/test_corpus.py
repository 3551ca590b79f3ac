"""The malformed-input corpus: every case ends in a clear error naming the problem, or in
quarantined rows with their rule, and the row accounting holds on every case. Each case is
checked through ``kume check``'s function, which uses the pipeline's own readers and suites."""

from __future__ import annotations

import openpyxl
import pytest

from kume.check import check_files
from kume.settings import PROJECT_ROOT

HEADER = "Sicil No;Firma Ünvanı;NACE Kodu;İl;İlçe;Çalışan Sayısı;Kuruluş Tarihi;Sermaye;Ciro (TL);İhracatçı"
GOOD = "1001;Işık Makina A.Ş.;28.93.01;ÇORUM;Merkez;45;01.02.1999;1.250.000,50;12.500.000,00;E"


def registry(*rows: str, header: str = HEADER) -> bytes:
    return "\r\n".join([header, *rows]).encode("utf-8")


def row(**changes: str) -> str:
    fields = dict(zip(HEADER.split(";"), GOOD.split(";"), strict=True))
    fields.update({k.replace("_", " "): v for k, v in changes.items()})
    return ";".join(fields.values())


CAPACITY = "İl;NACE Bölümü;Ürün Grubu;Üretici Sayısı;Kapasite;Birim"
EXPORTS = "Yıl;İl;Sektör;İhracat (Bin $)"
SGK = "Yıl;İl Kodu;İl;NACE Kodu;İşyeri Sayısı;Sigortalı Sayısı"
CONSULT = "İl;Tarih;Kurum;Kurum Türü;NACE Kodu;Tutum;Not"
EXPORTER = "Yıl;Sicil No;Firma Ünvanı;İl;NACE Kodu;İhracat (USD)"

# (case, source, file name, content, expected): expected is ("error", text in the message) or
# ("rows", rows in, accepted, {rule: count})
CASES = [
    ("empty file", "chamber_registry", "a.csv", b"", ("error", "no header row")),
    ("header only", "chamber_registry", "a.csv", registry(), ("rows", 0, 0, {})),
    ("binary garbage", "chamber_registry", "a.csv", bytes(range(128, 256)) * 40, ("error", "not valid cp1254 text")),
    ("NUL byte", "chamber_registry", "a.csv", registry(GOOD) + b"\x00", ("error", "NUL bytes")),
    ("UTF-16 text", "chamber_registry", "a.csv", "\n".join([HEADER, GOOD]).encode("utf-16"), ("error", "NUL bytes")),
    (
        "BOM declares UTF-8, body is Windows-1254",
        "chamber_registry",
        "a.csv",
        b"\xef\xbb\xbf" + "\n".join([HEADER, GOOD]).encode("cp1254"),
        ("error", "not valid utf-8-sig text"),
    ),
    (
        "1 MB trade name",
        "chamber_registry",
        "a.csv",
        registry(row(Firma_Ünvanı="A" * 1_000_000)),
        ("rows", 1, 0, {"REG-NAME-01": 1}),
    ),
    ("1 MB line and nothing else", "chamber_registry", "a.csv", b"x" * 1_000_000, ("error", "no header row")),
    (
        "duplicated header column",
        "chamber_registry",
        "a.csv",
        registry(GOOD + ";3", header=HEADER + ";ÇALIŞAN SAYISI"),
        ("error", "appears twice"),
    ),
    (
        "missing required column",
        "chamber_registry",
        "a.csv",
        registry("1001;X;28.93;Çorum", header="Sicil No;Firma Ünvanı;NACE Kodu;İl"),
        ("error", "missing required columns"),
    ),
    (
        "extra columns are ignored",
        "chamber_registry",
        "a.csv",
        registry(GOOD + ";x;y", header=HEADER + ";Web;Not"),
        ("rows", 1, 1, {}),
    ),
    (
        "a row with more fields than the header",
        "chamber_registry",
        "a.csv",
        registry(GOOD, GOOD + ";extra;fields"),
        ("error", "line 3"),
    ),
    (
        "negative employee count",
        "chamber_registry",
        "a.csv",
        registry(row(Çalışan_Sayısı="-5")),
        ("rows", 1, 0, {"REG-EMP-02": 1}),
    ),
    (
        "absurd employee count",
        "chamber_registry",
        "a.csv",
        registry(row(Çalışan_Sayısı="10.000.000")),
        ("rows", 1, 0, {"REG-EMP-02": 1}),
    ),
    (
        "employee count that is not a number",
        "chamber_registry",
        "a.csv",
        registry(row(Çalışan_Sayısı="kırk")),
        ("rows", 1, 0, {"REG-EMP-01": 1}),
    ),
    (
        "founding date in the future",
        "chamber_registry",
        "a.csv",
        registry(row(Kuruluş_Tarihi="01.01.2999")),
        ("rows", 1, 0, {"REG-DATE-02": 1}),
    ),
    (
        "founding date before 1900",
        "chamber_registry",
        "a.csv",
        registry(row(Kuruluş_Tarihi="01.01.1850")),
        ("rows", 1, 0, {"REG-DATE-02": 1}),
    ),
    (
        "founding date that is not a date",
        "chamber_registry",
        "a.csv",
        registry(row(Kuruluş_Tarihi="32.13.2020")),
        ("rows", 1, 0, {"REG-DATE-01": 1}),
    ),
    (
        "formula injection =HYPERLINK",
        "chamber_registry",
        "a.csv",
        registry(row(Firma_Ünvanı='=HYPERLINK("http://x.example","click")')),
        ("rows", 1, 1, {}),
    ),
    (
        "formula injection +cmd",
        "chamber_registry",
        "a.csv",
        registry(row(Firma_Ünvanı="+cmd|' /C calc'!A0")),
        ("rows", 1, 1, {}),
    ),
    (
        "unknown NACE code",
        "chamber_registry",
        "a.csv",
        registry(row(NACE_Kodu="99.99")),
        ("rows", 1, 0, {"REG-NACE-02": 1}),
    ),
    (
        "NACE group, not a class",
        "chamber_registry",
        "a.csv",
        registry(row(NACE_Kodu="28.9")),
        ("rows", 1, 0, {"REG-NACE-01": 1}),
    ),
    ("unknown province", "chamber_registry", "a.csv", registry(row(İl="Atlantis")), ("rows", 1, 0, {"REG-PROV-01": 1})),
    (
        "the national total as a firm's province",
        "chamber_registry",
        "a.csv",
        registry(row(İl="Türkiye")),
        ("rows", 1, 0, {"REG-PROV-02": 1}),
    ),
    (
        "the same firm under two NACE codes",
        "chamber_registry",
        "a.csv",
        registry(GOOD, row(NACE_Kodu="28.30", Çalışan_Sayısı="3")),
        ("rows", 2, 1, {"REG-DUP-01": 1}),
    ),
    (
        "a trailing total row that adds up",
        "chamber_registry",
        "a.csv",
        registry(GOOD, row(Sicil_No="1002", Çalışan_Sayısı="5"), ";TOPLAM;;;;50;;;;"),
        ("rows", 2, 2, {}),
    ),
    (
        "a trailing total row that does not add up",
        "chamber_registry",
        "a.csv",
        registry(GOOD, ";Genel Toplam;;;;99;;;;"),
        ("rows", 2, 1, {"REG-TOTAL-01": 1}),
    ),
    (
        "not an Excel workbook",
        "chamber_registry",
        "a.xlsx",
        b"PK\x03\x04 broken zip",
        ("error", "not a readable .xlsx"),
    ),
    (
        "capacity masked with three or fewer producers",
        "capacity_register",
        "c.csv",
        f"{CAPACITY}\nÇorum;28;Makine;2;*;ton".encode(),
        ("rows", 1, 1, {}),
    ),
    (
        "capacity masked with many producers",
        "capacity_register",
        "c.csv",
        f"{CAPACITY}\nÇorum;28;Makine;12;*;ton".encode(),
        ("rows", 1, 0, {"CAP-MASK-01": 1}),
    ),
    (
        "capacity that is neither a number nor *",
        "capacity_register",
        "c.csv",
        f"{CAPACITY}\nÇorum;28;Makine;12;çok;ton".encode(),
        ("rows", 1, 0, {"CAP-CAP-01": 1}),
    ),
    (
        "capacity division outside manufacturing",
        "capacity_register",
        "c.csv",
        f"{CAPACITY}\nÇorum;47;Perakende;12;100;ton".encode(),
        ("rows", 1, 0, {"CAP-NACE-01": 1}),
    ),
    (
        "unknown exporter sector",
        "exports_by_sector",
        "e.csv",
        f"{EXPORTS}\n2020;SAMSUN;Uzay Gemileri;12,5".encode(),
        ("rows", 1, 0, {"EXP-SECT-01": 1}),
    ),
    (
        "exporter sector under its pre-2015 name",
        "exports_by_sector",
        "e.csv",
        f"{EXPORTS}\n2013;TRABZON;Gemi ve Yat;1.250,5".encode(),
        ("rows", 1, 1, {}),
    ),
    (
        "negative SGK employment",
        "sgk_employment",
        "s.csv",
        f"{SGK}\n2020;55;Samsun;3250;4;-3".encode(),
        ("rows", 1, 0, {"SGK-EMP-02": 1}),
    ),
    (
        "unknown SGK plate code",
        "sgk_employment",
        "s.csv",
        f"{SGK}\n2020;99;;3250;4;30".encode(),
        ("rows", 1, 0, {"SGK-PROV-01": 1}),
    ),
    (
        "unknown consultation stance",
        "consultation",
        "k.csv",
        f"{CONSULT}\nSamsun;01.02.2012;Samsun TSO;chamber;32.50;Belki;".encode(),
        ("rows", 1, 0, {"CON-STANCE-01": 1}),
    ),
    (
        "negative member exports",
        "exporter_exports",
        "x.csv",
        f"{EXPORTER}\n2022;7;Ayakkabı A.Ş.;Gaziantep;15.20;-1.000,00".encode(),
        ("rows", 1, 0, {"EXX-VAL-02": 1}),
    ),
]


@pytest.mark.parametrize(("case", "source", "name", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_malformed_input_ends_in_a_clear_error_or_a_reasoned_quarantine(
    tmp_path, case, source, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    report = check_files(source, [path], PROJECT_ROOT / "data" / "reference", PROJECT_ROOT / "expectations")
    file = report["files"][0]
    if expected[0] == "error":
        assert expected[1] in file.get("error", ""), file
        assert report["exit_code"] == 2
        return
    _, rows_in, accepted, rules = expected
    assert "error" not in file, file
    assert (file["rows_in"], file["rows_accepted"]) == (rows_in, accepted), file
    assert file["rows_in"] == file["rows_accepted"] + file["rows_quarantined"]
    assert {r["rule"]: r["count"] for r in file["failed_rules"]} == rules
    assert report["exit_code"] == (1 if rules else 0)


def test_the_corpus_has_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_formula_like_names_are_kept_verbatim_and_flagged(tmp_path, ref):
    from tasks.sources.files import ingest_files

    (tmp_path / "a.csv").write_bytes(registry(row(Firma_Ünvanı='=HYPERLINK("x")'), row(Sicil_No="2")))
    frame = ingest_files("chamber_registry", tmp_path, ref, progress=lambda _: None).frame
    assert frame.firm_name.tolist()[0] == '=HYPERLINK("x")'
    assert frame.formula_like.tolist() == [True, False]


def test_excel_with_merged_title_rows_and_a_checked_total(tmp_path, ref):
    from tasks.sources.files import ingest_files

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ÇORUM TSO ÜYE LİSTESİ"])
    sheet.merge_cells("A1:J1")
    sheet.append(HEADER.split(";"))
    sheet.append(GOOD.split(";"))
    sheet.append(["", "TOPLAM", "", "", "", 45])
    workbook.save(tmp_path / "a.xlsx")
    ingested = ingest_files("chamber_registry", tmp_path, ref, progress=lambda _: None)
    assert len(ingested.frame) == 1 and ingested.frame.source_row.tolist() == [3]
    assert ingested.files[0]["total_rows"] == [
        {"row": 4, "column": "employees", "stated": 45.0, "sum_of_rows": 45.0, "ok": True}
    ]
