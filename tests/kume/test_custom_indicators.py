"""``kume indicators`` on an analyst's own files: a file that breaks the contract is refused
with a typed error naming the file and the problem, printed by the CLI as one line."""

from __future__ import annotations

import pytest

from kume.cli import main
from kume.custom_indicators import read_table
from tasks.errors import IndicatorInputError, KumeError


def test_a_missing_column_is_an_error_naming_the_file_and_the_columns(tmp_path):
    path = tmp_path / "facts.csv"
    path.write_text("region_code,sector_code,year\n01,10.71,2020\n", encoding="utf-8")
    with pytest.raises(IndicatorInputError) as refused:
        read_table(path, "facts")
    assert isinstance(refused.value, KumeError) and isinstance(refused.value, ValueError)
    assert (refused.value.file, refused.value.problem) == (
        str(path),
        "facts lacks required columns ['employment', 'establishments']",
    )


def test_a_value_that_is_not_a_number_names_its_row_and_column(tmp_path):
    path = tmp_path / "facts.csv"
    path.write_text(
        "region_code,sector_code,year,employment,establishments\n01,10.71,2020,12,3\n01,10.72,2020,many,3\n",
        encoding="utf-8",
    )
    with pytest.raises(IndicatorInputError) as refused:
        read_table(path, "facts")
    assert refused.value.problem == "row 3, column employment: 'many' is not a number"


def test_the_cli_prints_the_one_line_message_and_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing\nfacts.csv"
    assert main(["indicators", str(missing), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error == f"kume indicators: {tmp_path}/missing\\nfacts.csv: no such facts file\n"
