"""``kume check`` (``kume.check``): the report a data steward gets on files of one source, as
text and as exit code, without running the pipeline."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import kume

from kume.check import EXAMPLES_PER_RULE, _failed_rules, check_files, format_report, province_decision
from kume.settings import PROJECT_ROOT
from tasks.sources.files import NOT_READ_HIDDEN, NOT_READ_OLD_EXCEL

REFERENCE = PROJECT_ROOT / "data" / "reference"
EXPECTATIONS = PROJECT_ROOT / "expectations"
HEADER = "Sicil No;Firma Ünvanı;NACE Kodu;İl;İlçe;Çalışan Sayısı;Kuruluş Tarihi;Sermaye;Ciro (TL);İhracatçı"


def test_check_reports_rows_rules_and_exit_codes(tmp_path):
    shipped = PROJECT_ROOT / "data" / "sources"
    clean = kume(
        "check", "--source", "capacity_register", str(shipped / "capacity_register" / "tobb_kapasite_2022.csv")
    )
    assert clean.returncode == 0 and "1666 rows in, 1666 accepted, 0 quarantined" in clean.stdout
    quarantined = kume(
        "check", "--source", "chamber_registry", "--json", str(shipped / "chamber_registry" / "samsun_tso_members.csv")
    )
    assert quarantined.returncode == 1
    report = json.loads(quarantined.stdout)
    rules = {r["rule"]: r for r in report["files"][0]["failed_rules"]}
    assert set(rules) == {"REG-NACE-02", "REG-EMP-02", "REG-PROV-01"}
    assert rules["REG-PROV-01"]["examples"][0]["raw_value"] == "Atlantis"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00")
    unreadable = kume("check", "--source", "chamber_registry", str(broken))
    assert unreadable.returncode == 2 and "cannot be read: contains NUL bytes" in unreadable.stdout


@pytest.mark.parametrize(
    ("info", "decision"),
    [
        ({"province_rule": "province column"}, "from the file's province column, row by row"),
        (
            {"province": "Samsun", "province_rule": "district", "province_evidence": "6 rows name its districts"},
            "Samsun, by district (6 rows name its districts)",
        ),
        ({"province": "Samsun", "province_rule": "folder"}, "Samsun, by folder"),
        ({"province": "Samsun", "province_rule": "folder", "province_evidence": ""}, "Samsun, by folder"),
        ({"province_rule": "district"}, "?, by district"),
    ],
)
def test_the_province_decision_says_which_province_and_by_which_rule(info, decision):
    assert province_decision(info) == decision


def quarantine(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rule", "message", "row", "column", "raw_value"])


def test_failed_rules_are_sorted_counted_and_show_their_first_example_rows():
    failed = _failed_rules(
        quarantine(
            ("REG-NACE-02", "not manufacturing", 3, "nace_class", "99.99"),
            ("REG-EMP-02", "employees below zero", 4, "employees", "-5"),
            *[("REG-NACE-02", "not manufacturing", row, "nace_class", "01.11") for row in (7, 9, 12)],
        )
    )
    assert EXAMPLES_PER_RULE == 3
    assert failed == [
        {
            "rule": "REG-EMP-02",
            "message": "employees below zero",
            "count": 1,
            "examples": [{"row": 4, "column": "employees", "raw_value": "-5"}],
        },
        {
            "rule": "REG-NACE-02",
            "message": "not manufacturing",
            "count": 4,
            "examples": [
                {"row": 3, "column": "nace_class", "raw_value": "99.99"},
                {"row": 7, "column": "nace_class", "raw_value": "01.11"},
                {"row": 9, "column": "nace_class", "raw_value": "01.11"},
            ],
        },
    ]
    assert all(type(e["row"]) is int for rule in failed for e in rule["examples"])  # JSON-ready
    assert _failed_rules(quarantine()) == []


def test_the_text_report_has_one_line_per_file_then_its_province_and_rules():
    report = {
        "source": "chamber_registry",
        "files": [
            {
                "file": "in/samsun.csv",
                "rows_in": 5,
                "rows_accepted": 3,
                "rows_quarantined": 2,
                "province": "Samsun",
                "province_rule": "district",
                "province_evidence": "4 rows name its districts",
                "failed_rules": [
                    {
                        "rule": "REG-EMP-02",
                        "message": "employees below zero",
                        "count": 2,
                        "examples": [
                            {"row": 4, "column": "employees", "raw_value": "-5"},
                            {"row": 6, "column": "employees", "raw_value": "-1"},
                        ],
                    }
                ],
            },
            {"file": "in/clean.csv", "rows_in": 1, "rows_accepted": 1, "rows_quarantined": 0, "failed_rules": []},
            {"file": "in/old.xls", "error": NOT_READ_OLD_EXCEL, "not_read": True},
            {"file": "in/broken.csv", "error": "contains NUL bytes"},
        ],
        "exit_code": 2,
    }
    assert format_report(report).splitlines() == [
        "source chamber_registry",
        "in/samsun.csv: 5 rows in, 3 accepted, 2 quarantined",
        "  province: Samsun, by district (4 rows name its districts)",
        "  REG-EMP-02 x2: employees below zero (e.g. row 4 employees='-5', row 6 employees='-1')",
        "in/clean.csv: 1 rows in, 1 accepted, 0 quarantined",
        f"in/old.xls: not read: {NOT_READ_OLD_EXCEL}",
        "in/broken.csv: cannot be read: contains NUL bytes",
    ]


def test_the_text_report_keeps_each_file_on_one_line_whatever_its_name_or_error_holds():
    report = {
        "source": "chamber_registry",
        "files": [
            {"file": "a\nb.csv: 9 rows in", "error": "bad\nline \x1b[2J"},
            {
                "file": "c.csv",
                "rows_in": 1,
                "rows_accepted": 0,
                "rows_quarantined": 1,
                "failed_rules": [
                    {
                        "rule": "REG-X",
                        "message": "two\nlines",
                        "count": 1,
                        "examples": [{"row": 2, "column": "x", "raw_value": "v\n"}],
                    }
                ],
            },
        ],
    }
    assert format_report(report).splitlines() == [
        "source chamber_registry",
        "a\\nb.csv: 9 rows in: cannot be read: bad\\nline \\x1b[2J",
        "c.csv: 1 rows in, 0 accepted, 1 quarantined",
        "  REG-X x1: two\\nlines (e.g. row 2 x='v\\n')",
    ]


def test_files_that_cannot_or_will_not_be_read_give_their_reason_and_exit_2(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    (tmp_path / ".hidden.csv").write_bytes(b"")
    (tmp_path / "old.xls").write_bytes(b"")
    paths = [tmp_path / "gone.csv", folder, tmp_path / ".hidden.csv", tmp_path / "old.xls"]
    report = check_files("chamber_registry", paths, REFERENCE, EXPECTATIONS)
    assert report["exit_code"] == 2
    assert report["files"] == [
        {"file": str(tmp_path / "gone.csv"), "error": "no such file"},
        {"file": str(folder), "error": "not a regular file (a folder, pipe, socket or device): not read"},
        {"file": str(tmp_path / ".hidden.csv"), "error": NOT_READ_HIDDEN, "not_read": True},
        {"file": str(tmp_path / "old.xls"), "error": NOT_READ_OLD_EXCEL, "not_read": True},
    ]


def test_a_file_with_quarantined_rows_exits_1_and_one_that_cannot_be_read_wins_with_2(tmp_path):
    path = tmp_path / "samsun.csv"
    rows = [
        "1001;Işık Makina A.Ş.;28.93.01;Samsun;İlkadım;45;01.02.1999;1.250.000,50;12.500.000,00;E",
        "1002;Çınar Gıda Ltd.;99.99;Samsun;İlkadım;12;2001-05-04;50.000,00;900.000,00;H",
    ]
    path.write_bytes("\r\n".join([HEADER, *rows]).encode("utf-8"))
    report = check_files("chamber_registry", [path], REFERENCE, EXPECTATIONS)
    assert report["exit_code"] == 1
    [file] = report["files"]
    assert (file["rows_in"], file["rows_accepted"], file["rows_quarantined"]) == (2, 1, 1)
    assert file["province_rule"] == "province column"
    [rule] = file["failed_rules"]
    assert (rule["rule"], rule["count"], rule["examples"]) == (
        "REG-NACE-02",
        1,
        [{"row": 3, "column": "nace_class", "raw_value": "99.99"}],
    )
    both = check_files("chamber_registry", [path, tmp_path / "gone.csv"], REFERENCE, EXPECTATIONS)
    assert both["exit_code"] == 2 and both["files"][0] == file
