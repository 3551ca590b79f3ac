"""Parsing shared by the normalisers: numbers with either decimal mark, dates in two forms,
yes/no flags, NACE codes, provinces, and the raw text kept beside each parsed column."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kume.settings import PROJECT_ROOT
from tasks.reference import Reference
from tasks.sources.parsing import (
    FORMULA_PREFIX,
    NUMBER_NOISE,
    blank,
    formula_like,
    nace_columns,
    optional_column,
    optional_text,
    parse_dates,
    parse_flags,
    parse_numbers,
    parse_years,
    plate_codes,
    strip,
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
    assert pd.Series(classes).fillna("-").tolist() == ["28.93", "28.93", "C", "28.93", "-", "-"]
    assert pd.Series(national).fillna("-").tolist() == ["28.93.01", "-", "-", "-", "-", "-"]
    assert nace_columns(pd.Series(["99", "x"]))[1] == [None, None]  # all null: typed as pandas types a list


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


def test_an_absent_column_is_parsed_alike_as_arrow_text_or_python_blanks():
    """``optional_text`` gives the parsers an absent column as Arrow-backed blanks: every
    parser reads them as it read the blanks as Python objects (``optional_column``)."""
    table = pd.DataFrame({"note": ["a", "b", "c"]}, index=[4, 7, 9])
    ref = Reference(PROJECT_ROOT / "data" / "reference")
    assert optional_text(table, "note").tolist() == ["a", "b", "c"]
    arrow, objects = optional_text(table, "turnover_try"), optional_column(table, "turnover_try")
    assert arrow.dtype == "str" and arrow.tolist() == objects.tolist() and arrow.index.equals(objects.index)
    for parse in (
        lambda values: parse_numbers(values, ","),
        lambda values: parse_numbers(values, "."),
        parse_flags,
        lambda values: plate_codes(values, ref),
        parse_dates,
    ):
        pd.testing.assert_series_equal(parse(arrow), parse(objects))
    assert (blank(arrow) == blank(objects)).all() and blank(arrow).all()
    assert optional_text(table.iloc[:0], "founded").empty


@pytest.mark.parametrize("text", ["=SUM(A1)", "+90 462", "-1", "@cmd", "\tx"])
def test_text_a_spreadsheet_would_run_is_recognised(text):
    assert pd.Series([text]).str.match(FORMULA_PREFIX).iloc[0]
    assert not pd.Series(["Işık A.Ş."]).str.match(FORMULA_PREFIX).iloc[0]


def test_number_noise_is_pythons_whitespace_currency_signs_and_tl():
    """RE2's ``\\s`` is ASCII only: NUMBER_NOISE spells out every character ``str.isspace`` names."""
    characters = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    text = pa.array([f"1{c}2TL" for c in characters], type=pa.large_string())
    cleaned = pc.replace_substring_regex(text, NUMBER_NOISE, "").to_pylist()
    assert cleaned == [re.sub(r"[\s₺$]|TL", "", f"1{c}2TL") for c in characters]


@pytest.mark.parametrize(
    "values",
    [
        ["-0", "1", "00012"],  # whole numbers only: pandas reads integers, and -0 is 0
        ["-0", "1,5"],  # with a fraction: -0 stays -0.0
        ["-0", ""],  # with a blank: -0.0 too
        ["1e3", "+5", "١٢", "inf", "1."],  # spellings pandas reads its own way
        ["1234567890123456", "123456789012345,6", "0,000000000000001"],  # 16 digits and more
        [" 7 TL", "₺ 3.000", "1\u00a0000", "12\u2003", "x"],  # text around the number
        ["", None, "kırk", "1.2.3", "-", "--1"],
    ],
)
def test_numbers_are_read_exactly_as_pandas_reads_them(values):
    def by_pandas(values: pd.Series, decimal: str) -> pd.Series:  # the rule as it was written first
        text = values.fillna("").astype(str).str.strip().str.replace(r"[\s₺$]|TL", "", regex=True)
        if decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            text = text.str.replace(",", "", regex=False)
        return pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")

    for decimal in (",", "."):
        series = pd.Series(values, dtype="str")
        got, expected = parse_numbers(series, decimal).to_numpy(), by_pandas(series, decimal).to_numpy()
        assert got.view("int64").tolist() == expected.view("int64").tolist()  # bit for bit, -0.0 too


@pytest.mark.parametrize(
    "values",
    [
        ["2021", "2021", "2022", "2021"],
        [" 2020 ", "2020", "", None, "yok", "2019"],  # blanks, nulls and words are missing
        ["2020.0", "2021", "1e3"],  # spellings pandas reads as whole numbers
        [],
    ],
)
@pytest.mark.parametrize("dtype", ["str", object])
def test_years_are_read_as_pandas_reads_them_once_per_distinct_text(values, dtype):
    series = pd.Series(values, dtype=dtype, index=range(10, 10 + len(values)))
    expected = pd.to_numeric(series, errors="coerce").astype("Int64")
    pd.testing.assert_series_equal(parse_years(series), expected)


def test_a_year_that_is_no_whole_number_is_refused_as_pandas_refuses_it():
    series = pd.Series(["2020", "2020.5"], dtype="str")
    with pytest.raises(TypeError):
        pd.to_numeric(series, errors="coerce").astype("Int64")
    with pytest.raises(TypeError):
        parse_years(series)


def test_dates_keep_pandas_units_and_only_real_days():
    dotted = parse_dates(pd.Series(["01.03.2023", "31.04.2023", "29.02.2024", "29.02.2023", "1.3.2023", ""]))
    assert dotted.dtype == "datetime64[us]"  # a dd.mm.yyyy date parsed: microseconds
    assert dotted.tolist()[:3] == [pd.Timestamp("2023-03-01"), pd.NaT, pd.Timestamp("2024-02-29")]
    assert pd.isna(dotted.iloc[3]) and dotted.iloc[4] == pd.Timestamp("2023-03-01") and pd.isna(dotted.iloc[5])
    iso = parse_dates(pd.Series(["2023-03-02", "2000-1-5", "0999-01-01"]))
    assert iso.dtype == "datetime64[s]"  # none in dd.mm.yyyy: pandas keeps seconds
    assert iso.tolist() == [pd.Timestamp("2023-03-02"), pd.Timestamp("2000-01-05"), pd.Timestamp("0999-01-01")]


def test_strip_keeps_the_column_itself_when_no_value_has_spaces_around_it():
    clean = pd.Series(["Işık A.Ş.", "Aladağ", "Çorum"], dtype="str")
    assert strip(clean) is clean
    spaced = pd.Series(["a\u3000", "\u205fb", "c\u00a0", " Aladağ"], dtype="str")
    assert strip(spaced).tolist() == spaced.str.strip().tolist() == ["a", "b", "c", "Aladağ"]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["12", "", "  ", "\u3000", None, " 7 "], dtype="str"),  # spaces at the ends: stripped first
        pd.Series(["12", "", None, "3"], dtype="str"),  # the column itself
        pd.Series(["", "", ""], dtype=object),  # an optional column the file lacks
        pd.Series([], dtype="str"),
    ],
)
def test_blank_cells_are_those_pandas_finds_empty_once_stripped(values):
    assert blank(values).tolist() == values.str.strip().eq("").tolist()


def test_formula_like_is_the_prefix_pattern():
    values = pd.Series(["=SUM(A1)", "+90", "-1", "@x", "\tx", "\rx", " =x", "Işık", ""], dtype="str")
    assert formula_like(values).tolist() == values.str.match(FORMULA_PREFIX).tolist()
