"""Parsing shared by the normalisers: numbers with either decimal mark, dates in two forms,
yes/no flags, NACE codes, provinces, and the raw text kept beside each parsed column."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.sources.parsing import (
    FORMULA_PREFIX,
    nace_columns,
    optional_column,
    parse_dates,
    parse_flags,
    parse_numbers,
    plate_codes,
    with_provenance,
)


def test_numbers_with_a_decimal_comma_read_dots_as_thousands():
    values = pd.Series(["1.250.000,50", " 12,5 ", "₺ 3.000", "7 TL", "", None, "yok"])
    parsed = parse_numbers(values, ",")
    assert parsed.tolist()[:4] == [1_250_000.5, 12.5, 3000.0, 7.0]
    assert parsed.iloc[4:].isna().all()  # blank, missing and text are null (and quarantined later)
    assert parsed.dtype == "float64"


def test_numbers_with_a_decimal_point_read_commas_as_thousands():
    parsed = parse_numbers(pd.Series(["1,250,000.50", "$12.5", "-4"]), ".")
    assert parsed.tolist() == [1_250_000.5, 12.5, -4.0]


def test_dates_in_either_form_and_nothing_else():
    parsed = parse_dates(pd.Series(["01.03.2023", "2023-03-02", "2023/03/03", "31.02.2023", None]))
    assert parsed.iloc[:2].tolist() == [pd.Timestamp("2023-03-01"), pd.Timestamp("2023-03-02")]
    assert parsed.iloc[2:].isna().all()


def test_flags_in_turkish_and_english_and_unknown_words_null():
    parsed = parse_flags(pd.Series(["Evet", "VAR", "x", "Hayır", "yok", "0", "belki", None]))
    assert parsed.tolist()[:6] == [True, True, True, False, False, False]
    assert parsed.iloc[6:].isna().all() and parsed.dtype == "boolean"


def test_nace_codes_give_the_class_and_the_national_code():
    classes, national = nace_columns(pd.Series(["28.93.01", "2893", "C", "C28.93", "99", None]))
    assert classes == ["28.93", "28.93", "C", "28.93", None, None]
    assert national == ["28.93.01", None, None, None, None, None]


def test_provinces_by_name_or_code_and_unknown_ones_null(ref):
    plates = plate_codes(pd.Series(["Trabzon", "TRABZON", "61", "Samsun", "Atlantis"]), ref)
    assert plates.tolist()[:4] == [61, 61, 61, 55]
    assert pd.isna(plates.iloc[4]) and plates.dtype == "Int64"


def test_provenance_keeps_file_row_and_the_raw_text_of_each_column():
    table = pd.DataFrame(
        {"amount": ["1.000,5", "x"], "source_file": ["a.csv", "a.csv"], "source_row": [2, 3]}, index=[10, 11]
    )
    frame = pd.DataFrame({"amount": [1000.5, None]})  # parsed, on its own index
    out = with_provenance(frame, table, {"amount": "amount", "missing": "not_in_file"})
    assert out[["source_file", "source_row", "raw__amount", "raw__missing"]].values.tolist() == [
        ["a.csv", 2, "1.000,5", ""],
        ["a.csv", 3, "x", ""],
    ]


def test_an_optional_column_absent_from_the_file_is_blank_text():
    table = pd.DataFrame({"note": ["a", "b"]})
    assert optional_column(table, "note").tolist() == ["a", "b"]
    assert optional_column(table, "district").tolist() == ["", ""]


@pytest.mark.parametrize("text", ["=SUM(A1)", "+90 462", "-1", "@cmd", "\tx"])
def test_text_a_spreadsheet_would_run_is_recognised(text):
    assert pd.Series([text]).str.match(FORMULA_PREFIX).iloc[0]
    assert not pd.Series(["Işık A.Ş."]).str.match(FORMULA_PREFIX).iloc[0]
