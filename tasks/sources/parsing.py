"""Parsing shared by the sources' normalisers: numbers with either decimal mark, dates, yes/no
flags, NACE codes and provinces; each normalised column keeps the raw text it came from.

A member list has millions of rows, and a Python object per cell costs seconds and gigabytes:
the text stays Arrow strings (``pyarrow.compute``), and what is decided in Python (a province
name, a NACE code, a date) is decided once per distinct value."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.reference import Reference, fold_key, normalize_nace

TRUE_WORDS = {"e", "evet", "var", "yes", "y", "true", "1", "x"}


FALSE_WORDS = {"h", "hayir", "yok", "no", "n", "false", "0"}


FORMULA_PREFIX = r"^[=+\-@\t\r]"  # text a spreadsheet would run as a formula (CSV injection)


_FORMULA_FIRST = np.isin(np.arange(256), list(b"=+-@\t\r"))  # FORMULA_PREFIX's characters, as bytes


# What a number's text may carry besides the number: whitespace (Python's ``\s``: the characters
# ``str.isspace`` names, spelled out for RE2, whose ``\s`` is ASCII only), currency signs, TL.
PYTHON_WHITESPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)


NUMBER_NOISE = rf"[{PYTHON_WHITESPACE}₺$]|TL"


# A number Arrow reads exactly as pandas does: ASCII digits, an optional minus and decimal
# point, at most 15 digits in all when there is a fraction (16 without), so that the value is
# the correctly rounded one both ways.
_PLAIN_NUMBER = (r"^-?\d+(\.\d+)?$", r"^-?[\d.]{1,16}$")


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings: no copy for pandas' Arrow-backed ``str`` columns; nulls
    (None, NaN) are null."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def text_bytes(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of Arrow text (its chunks joined: one file's column) and where each value
    starts in them (one offset more than values: the last is the end), for work on the bytes."""
    joined = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    if not len(joined):
        return np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.uint8)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + len(joined) + 1]
    data = joined.buffers()[2]
    body = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]] if data else np.empty(0, np.uint8)
    return offsets - offsets[0], body


def number_bytes(body: np.ndarray) -> np.ndarray:
    """Which bytes belong to a plain number's text: ASCII digits, the two marks and a minus."""
    return ((body >= ord("0")) & (body <= ord("9"))) | (body == ord(",")) | (body == ord(".")) | (body == ord("-"))


def count_before(hits: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """How many of the bytes ``hits`` marks lie before each of ``offsets``: taken at the values'
    offsets, how many lie in the values before each. Found among the few marked bytes (a running
    count of every byte would cost 20 ms on a column of 7 MB)."""
    return np.searchsorted(np.flatnonzero(hits), offsets)


def text_array(array: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray | list:
    """Arrow strings as a column of a new frame, typed as pandas types a list of the same values:
    Arrow-backed ``str``; when every value is null (or there is none), the list of nulls itself."""
    if array.null_count == len(array):
        return [None] * len(array)
    return array.to_pandas().array


def repeated_text(value: str, length: int) -> pd.api.extensions.ExtensionArray:
    """``value`` on ``length`` rows, as the Arrow-backed ``str`` column pandas makes of a string
    put on every row, built by Arrow (not from a Python object per row)."""
    text = value.encode("utf-8")
    offsets = np.arange(length + 1, dtype=np.int64) * len(text)
    data = np.frombuffer(text * length, dtype=np.uint8) if text else np.empty(0, dtype=np.uint8)
    array = pa.Array.from_buffers(pa.large_string(), length, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return pa.chunked_array([array]).to_pandas().array


def strip(values: pd.Series) -> pd.Series:
    """``values.str.strip()``; the column itself when no value starts or ends with whitespace,
    so that the stripped and the raw column share their memory (most cells carry no spaces).
    That is decided on the bytes: the first and last character of each value against the
    UTF-8 forms of the characters ``str.isspace`` names, as Arrow's trim takes them."""
    if not isinstance(values.dtype, pd.StringDtype) or _edge_space(arrow_text(values)):
        return values.str.strip()
    return values


def blank(values: pd.Series) -> np.ndarray:
    """``values.str.strip().eq("").to_numpy()``: the cells of nothing but whitespace (a null is
    none), read off the offsets of the stripped text (which is the column itself where no
    value has spaces at its ends) rather than compared cell by cell."""
    stripped = strip(values)
    if not isinstance(stripped.dtype, pd.StringDtype) or stripped.dtype.storage != "pyarrow":
        return stripped.eq("").to_numpy(dtype=bool)
    text = arrow_text(stripped)
    empty = np.diff(text_bytes(text)[0]) == 0
    if text.null_count:
        empty &= pc.is_valid(text).to_numpy(zero_copy_only=False)
    return empty


# The whitespace characters str.isspace names (and Arrow trims), as UTF-8: the ASCII ones and
# U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.
_ASCII_SPACE = np.isin(np.arange(256), [*range(0x09, 0x0E), *range(0x1C, 0x21)])
_WIDE_SPACE = [
    b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80",
    *(bytes([0xE2, 0x80, last]) for last in (*range(0x80, 0x8B), 0xA8, 0xA9, 0xAF)),
    b"\xe2\x81\x9f", b"\xe3\x80\x80",
]  # fmt: skip


_WIDE_FIRST = np.isin(np.arange(256), [space[0] for space in _WIDE_SPACE])  # by a value's first byte


_WIDE_LAST = np.isin(np.arange(256), [space[-1] for space in _WIDE_SPACE])  # by its last byte


def _edge_space(text: pa.ChunkedArray) -> bool:
    """Whether a value of ``text`` starts or ends with a whitespace character (chunk by chunk:
    the registry's column of all files is not joined for it)."""
    return any(_chunk_edge_space(pa.chunked_array([chunk])) for chunk in text.chunks)


def _chunk_edge_space(text: pa.ChunkedArray) -> bool:
    offsets, body = text_bytes(text)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    starts, ends = starts[filled], ends[filled]
    first, last = body[starts], body[ends - 1]
    if _ASCII_SPACE[first].any() or _ASCII_SPACE[last].any():
        return True
    # the few values whose first or last byte may belong to a wider space are checked in full
    starts, ends = starts[_WIDE_FIRST[first]], ends[_WIDE_LAST[last]]
    if not len(starts) and not len(ends):
        return False
    padded = np.concatenate((body, np.zeros(3, dtype=np.uint8)))  # a short value reads zeros past its end
    for space in _WIDE_SPACE:
        opens = np.ones(len(starts), dtype=bool)
        closes = np.ones(len(ends), dtype=bool)
        for index, byte in enumerate(space):
            opens &= padded[starts + index] == byte
            closes &= padded[np.maximum(ends - len(space) + index, 0)] == byte
        if opens.any() or closes.any():
            return True
    return False


def parse_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to float. With a decimal comma, dots are thousands (``1.250.000,50``); otherwise
    commas are thousands. Blank is null; anything unparseable is null (and quarantined).
    A column of plain numbers is read on its bytes; one with other text (spaces, ``₺``, ``TL``)
    is cleaned by Arrow's string functions; one with any other spelling (``1e5``, ``+5``) is
    read by pandas, as it always was."""
    text = arrow_text(values.fillna("").astype(str))
    numbers = _plain_numbers(text, decimal)
    if numbers is None:
        text = _clean_text(text, decimal)
        numbers = _cleaned_numbers(text)
    if numbers is None:
        texts = pd.Series(text.to_pandas().array, index=values.index)
        return pd.to_numeric(texts.replace("", None), errors="coerce").astype("float64")
    return pd.Series(numbers, index=values.index, dtype="float64")


def _plain_numbers(text: pa.ChunkedArray, decimal: str) -> np.ndarray | None:
    """The numbers of cells that hold only digits, marks and minus signs, read on the bytes
    (the thousands separator dropped, the decimal mark made a point, then Arrow's exact
    conversion); None when a cell holds anything else, more than 15 characters, or text that
    is no number."""
    offsets, body = text_bytes(text)
    if not number_bytes(body).all():
        return None
    separators = body == ord("." if decimal == "," else ",")
    ends, kept = offsets, body
    if separators.any():
        ends = offsets - count_before(separators, offsets)  # the offsets once the thousands separators are gone
        kept = body[~separators]
    marks = kept == ord(",") if decimal == "," else None
    if marks is not None and marks.any():
        kept = np.where(marks, ord("."), kept).astype(np.uint8)
    lengths = np.diff(ends)
    if (lengths > 15).any():
        return None
    filled = np.packbits(lengths > 0, bitorder="little")  # a blank cell is null
    buffers = [pa.py_buffer(filled), pa.py_buffer(ends), pa.py_buffer(kept)]
    cleaned = pa.chunked_array([pa.Array.from_buffers(pa.large_string(), len(lengths), buffers)])
    whole = not (lengths == 0).any() and not (kept == ord(".")).any()
    return _exact_floats(cleaned, whole)


def _exact_floats(text: pa.ChunkedArray, whole: bool) -> np.ndarray | None:
    """Arrow's conversion of cleaned number text (nulls for blanks), None if a cell is no
    number. pandas reads a column of ``whole`` numbers (no point, no blank) as integers, so
    its -0 is 0."""
    try:
        numbers = pc.cast(text, pa.float64()).to_numpy()
    except pa.ArrowInvalid:
        return None
    return numbers + 0.0 if whole else numbers


def _clean_text(text: pa.ChunkedArray, decimal: str) -> pa.ChunkedArray:
    """Number text without whitespace, currency signs and thousands separators, with a point
    for the decimal mark."""
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), NUMBER_NOISE, "")
    if decimal == ",":
        return pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
    return pc.replace_substring(text, ",", "")


def _cleaned_numbers(text: pa.ChunkedArray) -> np.ndarray | None:
    """The numbers of cleaned text (``_clean_text``); None when a cell is not a plain number
    (see ``_PLAIN_NUMBER``)."""
    blank = pc.equal(text, "")
    plain = pc.and_(*(pc.match_substring_regex(text, pattern) for pattern in _PLAIN_NUMBER))
    if not pc.all(pc.or_(blank, plain)).as_py():
        return None
    whole = not pc.any(blank).as_py() and not pc.any(pc.match_substring(text, ".")).as_py()
    return _exact_floats(pc.if_else(blank, pa.scalar(None, pa.large_string()), text), whole)


def parse_years(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce")`` as nullable integers, read once per distinct
    text: a panel's files give each of their rows the same year or a few (16 ms for 17,000 rows
    by pandas, row by row)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    years = pd.to_numeric(pd.Series(uniques, dtype=values.dtype), errors="coerce").astype("Int64")
    return pd.Series(years.array.take(codes, allow_fill=True), index=values.index)


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written ``dd.mm.yyyy`` or ``yyyy-mm-dd`` (both occur in one column), read once per
    distinct text (founding dates repeat): those two forms (with years from 1000) on the bytes,
    by date arithmetic; any other spelling (``1.2.2000``, ``2000-1-5``) by pandas, as it always
    was."""
    codes, uniques = pd.factorize(strip(values.fillna("").astype(str)))
    distinct = pd.Series(uniques)
    offsets, body = text_bytes(arrow_text(distinct))
    starts, lengths = offsets[:-1], np.diff(offsets)
    ten = np.flatnonzero(lengths == 10)  # the two forms are ten characters long
    # with no other text, the bytes are the ten-character values one after the other
    chars = body.reshape(-1, 10) if len(ten) * 10 == len(body) else body[starts[ten, None] + np.arange(10)]
    digits = (chars >= ord("0")) & (chars <= ord("9"))
    dotted = (chars[:, 2] == ord(".")) & (chars[:, 5] == ord(".")) & digits[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(axis=1)
    dotted &= chars[:, 6] > ord("0")  # a year from 1000
    iso = (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-")) & digits[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    iso &= chars[:, 0] > ord("0")

    def number(*columns: int) -> np.ndarray:
        digit = [chars[:, column].astype(np.int32) - ord("0") for column in reversed(columns)]
        return sum(value * 10**power for power, value in enumerate(digit))

    year = np.where(dotted, number(6, 7, 8, 9), number(0, 1, 2, 3))
    month = np.where(dotted, number(3, 4), number(5, 6))
    day = np.where(dotted, number(0, 1), number(8, 9))
    found = _calendar_dates(year, month, day, dotted | iso)
    dates = np.full(len(lengths), np.datetime64("NaT"), dtype="M8[us]")
    np.put(dates, ten, found)
    any_dotted = bool((dotted & ~np.isnat(found)).any())
    other = (lengths > 0) & (np.bincount(ten[dotted | iso], minlength=len(lengths)) == 0)
    if other.any():  # other spellings: pandas' own reading
        rest = distinct[other]
        by_dots = pd.to_datetime(rest, format="%d.%m.%Y", errors="coerce")
        read = by_dots.fillna(pd.to_datetime(rest, format="%Y-%m-%d", errors="coerce"))
        np.put(dates, np.flatnonzero(other), read.to_numpy("M8[us]"))
        any_dotted = any_dotted or bool(by_dots.notna().any())
    # pandas gives parsed dates microseconds, and a column no dd.mm.yyyy date parses in seconds
    return pd.Series(dates.astype("M8[us]" if any_dotted else "M8[s]")[codes], index=values.index)


def _calendar_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The dates of (``found``) year, month and day numbers (years from 1000); NaT for the others
    and for days the calendar does not have (``31.04.2023``, ``29.02.2023``). Days are counted
    from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    valid = found & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days + (leap & (month == 2)))
    shifted = year - (month <= 2)  # the year from March, so that a leap day ends it
    era, of_era = shifted // 400, shifted % 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468
    return np.where(valid, days.astype(np.int64) * 86_400_000_000, np.iinfo(np.int64).min).view("M8[us]")


def map_values(values: pd.Series, function: Callable[[object], object], type: pa.DataType) -> pa.ChunkedArray:
    """``function`` of every value, called once per distinct value (and once for nulls), as an
    Arrow array of ``type``: province names, NACE codes and flags repeat across millions of rows."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = pa.array([*(function(value) for value in uniques), function(None)], type=type)
    return pa.chunked_array([mapped.take(np.where(codes < 0, len(uniques), codes))])


def parse_flags(values: pd.Series) -> pd.Series:
    def flag(value: object) -> bool | None:
        key = fold_key(value)
        return True if key in TRUE_WORDS else False if key in FALSE_WORDS else None

    flags = map_values(values, flag, pa.bool_())
    return pd.Series(flags.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get).array, index=values.index)


def with_provenance(frame: pd.DataFrame, table: pd.DataFrame, raw_columns: dict[str, str]) -> pd.DataFrame:
    """Attach source_file/source_row and, as ``raw__<column>``, the text each normalised
    column was parsed from, so that quarantine shows what the file really said. The columns
    are taken by position, as the table's own arrays (no copy of the text)."""
    provenance = {"source_file": _positional(table.source_file), "source_row": table.source_row.to_numpy()}
    for column, raw in raw_columns.items():
        provenance[f"raw__{column}"] = _positional(table[raw]) if raw in table else repeated_text("", len(table))
    return pd.concat([frame, pd.DataFrame(provenance, index=frame.index, copy=False)], axis=1)


def _positional(values: pd.Series) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A column's values without its index: the Arrow strings themselves for ``str`` columns
    (``to_numpy`` would make a Python object of each), else as numpy, which types an empty
    column as ``object`` as before."""
    return values.array if isinstance(values.dtype, pd.StringDtype) and len(values) else values.to_numpy()


def nace_columns(values: pd.Series) -> tuple[pd.api.extensions.ExtensionArray | list, ...]:
    """The 4-digit class and the 6-digit national code of each NACE code (null where none), as
    two text columns in the order of ``values``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    pairs = [*(_nace_pair(value) for value in uniques), normalize_nace(None)]
    positions = np.where(codes < 0, len(uniques), codes)
    return tuple(
        text_array(pa.chunked_array([pa.array([pair[i] for pair in pairs], type=pa.large_string()).take(positions)]))
        for i in (0, 1)
    )


# A NACE code's reading, kept across files and sources: every member list writes the same codes.
_nace_pair = functools.lru_cache(maxsize=1 << 16)(normalize_nace)


def plate_codes(values: pd.Series, ref: Reference) -> pd.Series:
    plates = map_values(values, ref.plate_code, pa.int64())
    return pd.Series(plates.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get).array, index=values.index)


def formula_like(values: pd.Series) -> np.ndarray:
    """Which values match ``FORMULA_PREFIX`` (a spreadsheet would run them as a formula),
    decided on each value's first byte: the characters are ASCII."""
    if not isinstance(values.dtype, pd.StringDtype):
        return values.str.match(FORMULA_PREFIX).fillna(False).to_numpy()
    offsets, body = text_bytes(arrow_text(values))
    starts = offsets[:-1]
    first = body[np.minimum(starts, len(body) - 1)] if len(body) else np.zeros(len(starts), dtype=np.uint8)
    return _FORMULA_FIRST[first] & (offsets[1:] > starts)


def optional_column(table: pd.DataFrame, column: str) -> pd.Series:
    """A column the file may lack (real member lists differ): blank text where it is absent."""
    return table[column] if column in table else pd.Series("", index=table.index, dtype=object)


def optional_text(table: pd.DataFrame, column: str) -> pd.Series:
    """``optional_column`` for a parser: blank Arrow-backed text where it is absent, which the
    parsers read on its bytes as they read the columns a file has (the blanks as Python objects
    cost them 2-5x more: half the national member lists have no turnover column)."""
    return table[column] if column in table else pd.Series(repeated_text("", len(table)), index=table.index)
