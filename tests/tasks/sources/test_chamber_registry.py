"""Member lists as chambers send them: the documented ten-column layout of
``docs/methodology.md`` §1.4 (no province, no turnover) in every encoding, separator and Excel
form, and each rule that decides which province a list is for."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pytest

from kume.check import check_files
from kume.settings import PROJECT_ROOT
from tasks.errors import InputFileError
from tasks.sources.chamber_registry import UNRESOLVED_PROVINCE
from tasks.sources.files import CONTRACTS, NORMALIZERS, ingest_files, parse_file

REFERENCE = PROJECT_ROOT / "data" / "reference"
EXPECTATIONS = PROJECT_ROOT / "expectations"
DOCUMENTED = [
    "Sicil No", "Firma Ünvanı", "NACE Kodu", "Meslek Grubu", "İlçe", "Çalışan Sayısı",
    "Kuruluş Tarihi", "Sermaye", "İhracatçı", "Kapasite Raporu",
]  # fmt: skip


def member_rows(districts: list[str]) -> list[list[str]]:
    """Good members of a Samsun-like list, one per district given."""
    return [
        [str(1001 + i), f"Işık Medikal {i} A.Ş.", "32.50.01", "20", district, str(10 + i), "01.02.1999",
         "1.250.000,50", "E" if i % 2 else "H", "Var"]
        for i, district in enumerate(districts)
    ]  # fmt: skip


SAMSUN_DISTRICTS = ["İlkadım", "Atakum", "Canik", "Tekkeköy", "Bafra", "Merkez", "Çarşamba", ""]


def write_delimited(path, rows, separator=";", encoding="cp1254", header=DOCUMENTED):
    lines = [separator.join(header), *(separator.join(row) for row in rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


def write_xlsx(path, rows, header=DOCUMENTED):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["SAMSUN TSO - ÜYE LİSTESİ"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def check(path, province=None) -> dict:
    report = check_files("chamber_registry", [path], REFERENCE, EXPECTATIONS, province)
    return {**report["files"][0], "exit_code": report["exit_code"]}


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("cp1254_semicolon.csv", lambda p, rows: write_delimited(p, rows, ";", "cp1254")),
        (
            "utf8_bom_comma.csv",
            lambda p, rows: write_delimited(p, [[c.replace(",", "") for c in r] for r in rows], ",", "utf-8-sig"),
        ),  # noqa: E501
        ("tab.tsv", lambda p, rows: write_delimited(p, rows, "\t", "utf-8")),
        ("title_row.xlsx", write_xlsx),
    ],
)
def test_the_documented_ten_column_layout_loads_with_every_row_accepted(tmp_path, name, writer):
    path = writer(tmp_path / name, member_rows(SAMSUN_DISTRICTS))
    report = check(path)
    assert report["exit_code"] == 0, report
    assert (report["rows_in"], report["rows_accepted"], report["rows_quarantined"]) == (8, 8, 0)
    assert report["province"] == "Samsun"
    assert report["province_rule"] == "district"


def test_kume_check_exits_0_on_a_documented_member_list_and_says_how_the_province_was_found(tmp_path):
    path = write_delimited(tmp_path / "uyeler.csv", member_rows(SAMSUN_DISTRICTS))
    done = subprocess.run(
        [sys.executable, "-m", "kume.cli", "check", "--source", "chamber_registry", str(path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "8 rows in, 8 accepted, 0 quarantined" in done.stdout
    assert "province: Samsun, by district (6 rows name its districts, 0 another province's, 2 none)" in done.stdout


def test_a_province_column_decides_row_by_row(tmp_path):
    rows = [[*row, "Samsun"] for row in member_rows(["İlkadım", "Merkez"])]
    path = write_delimited(tmp_path / "liste.csv", rows, header=[*DOCUMENTED, "İl"])
    report = check(path)
    assert report["province_rule"] == "province column"
    assert report["rows_accepted"] == 2


def test_the_folder_decides_when_the_districts_do_not(tmp_path):
    path = write_delimited(tmp_path / "chamber_registry" / "Samsun" / "liste.csv", member_rows(["Merkez", ""]))
    report = check(path)
    assert (report["province"], report["province_rule"]) == ("Samsun", "folder")


def test_a_chamber_named_in_the_file_name_decides_when_folder_and_districts_do_not(tmp_path):
    path = write_delimited(tmp_path / "corum_tso_uyeler_2023.csv", member_rows(["Merkez", "Merkez"]))
    report = check(path)
    assert (report["province"], report["province_rule"]) == ("Çorum", "chamber in file name")
    assert report["province_evidence"] == "Çorum Ticaret ve Sanayi Odası"


def test_the_given_province_is_the_last_resort(tmp_path):
    path = write_delimited(tmp_path / "liste.csv", member_rows(["Merkez"]))
    report = check(path, province=19)
    assert (report["province"], report["province_rule"]) == ("Çorum", "given")
    # the districts win over what is given
    path = write_delimited(tmp_path / "liste2.csv", member_rows(["Atakum", "Merkez"]))
    assert check(path, province=19)["province"] == "Samsun"


def test_an_unresolvable_list_gets_one_error_that_says_the_three_ways_to_fix_it(tmp_path):
    path = write_delimited(tmp_path / "liste.csv", member_rows(["Merkez", "", "Nowhere"]))
    report = check(path)
    assert report["exit_code"] == 2
    assert report["error"] == UNRESOLVED_PROVINCE
    for way in ("chamber_registry/<province>/", "chambers.csv", "İl column"):
        assert way in report["error"]
    with pytest.raises(InputFileError) as raised:
        parse_file(path, CONTRACTS["chamber_registry"], NORMALIZERS["chamber_registry"], _ref(), "chamber_registry", "")
    assert (raised.value.source, raised.value.file, raised.value.problem) == (
        "chamber_registry",
        str(path),
        UNRESOLVED_PROVINCE,
    )


def test_a_district_name_two_provinces_share_is_decided_by_the_other_rows(tmp_path):
    # Köprübaşı is a district of Trabzon and of Manisa; Yomra and Arsin are Trabzon's only
    path = write_delimited(tmp_path / "liste.csv", member_rows(["Köprübaşı", "Köprübaşı", "Yomra", "Arsin"]))
    report = check(path)
    assert (report["province"], report["rows_accepted"], report["rows_quarantined"]) == ("Trabzon", 4, 0)


def test_a_row_whose_district_contradicts_the_files_province_is_quarantined_not_moved(tmp_path):
    path = write_delimited(tmp_path / "liste.csv", member_rows(["İlkadım", "Atakum", "Canik", "Ortahisar"]))
    report = check(path)
    assert report["province"] == "Samsun"
    assert (report["rows_accepted"], report["rows_quarantined"]) == (3, 1)
    [rule] = report["failed_rules"]
    assert rule["rule"] == "REG-DIST-01"
    assert rule["examples"] == [{"row": 5, "column": "district_in_province", "raw_value": "Ortahisar"}]


def test_a_contradicting_district_is_quarantined_with_a_province_column_too(tmp_path):
    rows = [[*row, "Samsun"] for row in member_rows(["İlkadım", "Yomra"])]
    report = check(write_delimited(tmp_path / "liste.csv", rows, header=[*DOCUMENTED, "İl"]))
    assert [r["rule"] for r in report["failed_rules"]] == ["REG-DIST-01"]


def test_abolished_and_renamed_district_names_still_place_a_list(tmp_path):
    # Eminönü (merged into Fatih in 2008) and Eyüp (Eyüpsultan since 2017) are İstanbul's
    path = write_delimited(tmp_path / "liste.csv", member_rows(["Eminönü", "Eyüp", "Fatih"]))
    assert check(path)["province"] == "İstanbul"


def test_the_district_table_has_every_current_district(ref):
    districts = ref.districts
    current = districts[districts.status == "current"]
    assert len(current) == 973
    assert current.plate_code.nunique() == 81
    assert ref.provinces_of_district("Merkez") == frozenset()  # decides nothing on its own
    assert ref.provinces_of_district("YOMRA") == {61}


def test_a_run_reads_member_lists_in_province_folders_and_records_the_rule(tmp_path, ref):
    shipped = tmp_path / "sources" / "chamber_registry"
    write_delimited(shipped / "Samsun" / "liste.csv", member_rows(["Merkez", "Merkez"]))
    write_delimited(shipped / "kmtso_uyeler.csv", member_rows(["Merkez"]))
    ingested = ingest_files("chamber_registry", [shipped], ref, progress=lambda _: None)
    files = {f["file"]: f for f in ingested.files}
    assert files["Samsun/liste.csv"]["province_rule"] == "folder"
    assert files["kmtso_uyeler.csv"]["province_rule"] == "chamber in file name"
    assert sorted(ingested.frame.plate_code.unique()) == [46, 55]


def test_the_shipped_pilot_registries_include_two_in_exactly_the_documented_layout(published_run):
    manifest = published_run["manifest"]
    files = {f["file"]: f for f in manifest["inputs"]["chamber_registry"]["files"]}
    for name in ("corum_tso_uye_listesi_2022.csv", "trabzon_tso_uyeler.tsv"):
        header = (PROJECT_ROOT / "data" / "sources" / "chamber_registry" / name).read_bytes().splitlines()[0]
        separator = b"\t" if name.endswith(".tsv") else b";"
        assert sorted(header.decode("cp1254" if separator == b";" else "utf-8").split(separator.decode())) == sorted(
            DOCUMENTED
        )
        assert files[name]["province_rule"] == "district"
    assert files["samsun_tso_members.csv"]["province_rule"] == "province column"
    json.dumps(manifest)  # the manifest stays JSON


def _ref():
    from tasks.reference import Reference

    return Reference(REFERENCE)
