"""Readers: turn each source's files, in the layouts real chambers and agencies produce, into
one normalised table per source. Values that cannot be normalised become null here and are
quarantined by validation with their raw value, so no row is dropped on the way in."""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import charset_normalizer
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from schemas.inputs import SOURCES, Column, SourceContract
from tasks.errors import InputFileError, printable
from tasks.reference import Reference, fold_key, map_unique
from tasks.sources.capacity_register import normalize_capacity
from tasks.sources.chamber_registry import normalize_registry, resolve_registry_province
from tasks.sources.consultation import normalize_consultation
from tasks.sources.exporter_exports import normalize_exporter_exports
from tasks.sources.exports_by_sector import normalize_exports
from tasks.sources.parsing import (
    arrow_text,
    count_before,
    number_bytes,
    parse_numbers,
    repeated_text,
    strip,
    text_bytes,
)
from tasks.sources.sector_turnover import normalize_sector_turnover
from tasks.sources.sgk_employment import normalize_sgk
from tasks.store import ViewPart, cached_read, file_sha256, load_read, read_key, save_read, write_read
from tasks.workers import forked_pool, may_fork, start_worker

ENCODING_SAMPLE_BYTES = 64 * 1024


csv.field_size_limit(64 * 1024 * 1024)  # a 1 MB cell is read, then quarantined by its length rule


SEPARATORS = (";", ",", "\t")


@dataclass(frozen=True)
class SourceFile:
    """One input file as read: its canonical columns as text, and how it was decoded."""

    path: Path
    frame: pd.DataFrame  # canonical column names, str values, plus source_file / source_row
    encoding: str | None
    separator: str | None
    decimal: str


def detect_encoding(sample: bytes) -> str:
    """Encoding of a text file from its first bytes: a BOM decides, else charset detection
    between UTF-8 and Windows-1254 (the two encodings Turkish offices produce)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 3:  # the sample cut a multi-byte character
            return "utf-8"
    best = charset_normalizer.from_bytes(sample, cp_isolation=["cp1254", "utf_8"]).best()
    return best.encoding if best else "cp1254"


def detect_separator(header_line: str) -> str:
    """The separator is the candidate that splits the header line into the most fields."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    separator = max(counts, key=counts.get)
    if counts[separator] == 0:
        raise ValueError("no ';', ',' or tab separator in the header line")
    return separator


def header_map(columns: list[object], contract: SourceContract, path: Path) -> dict[int, str]:
    """Map header positions to canonical names. Every required column must be found, and no
    column may be named twice (which of the two would be right?)."""
    aliases = _aliases(contract.columns)
    mapping: dict[int, str] = {}
    for position, raw in enumerate(columns):
        canonical = aliases.get(fold_key(raw))
        if canonical is None:
            continue
        if canonical in mapping.values():
            first = next(p for p, c in mapping.items() if c == canonical)
            raise InputFileError(
                path, f"column {canonical!r} appears twice in the header ({columns[first]!r} and {raw!r})"
            )
        mapping[position] = canonical
    missing = [c.name for c in contract.columns if c.required and c.name not in mapping.values()]
    if missing:
        raise InputFileError(path, f"missing required columns {missing} (found headers {[str(c) for c in columns]})")
    return mapping


def _header_score(cells: list[object], contract: SourceContract) -> int:
    aliases = _aliases(contract.columns)
    return sum(fold_key(cell) in aliases for cell in cells if cell is not None)


@functools.cache
def _aliases(columns: tuple[Column, ...]) -> dict[str, str]:
    """Every folded name a header may give a column, and the column's canonical name."""
    return {fold_key(a): c.name for c in columns for a in (*c.aliases, c.name)}


def read_delimited(path: Path, contract: SourceContract) -> SourceFile:
    """A CSV/TSV file, read whole or not at all: the header is found among the first 20 lines
    however long they are, and every line after it is accounted for (one row per line, or
    the lines a quoted cell spans); a count that does not add up is an error naming the file,
    never a partial read. Row numbers are the file's own line numbers. A file without quotes
    after its header (the usual member list) is read by Arrow's CSV reader, one row per line;
    one with quotes by pandas' parser, which counts the lines each quoted row spans."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputFileError(path, "contains NUL bytes: binary data or UTF-16 text, not a CSV in UTF-8 or Windows-1254")
    encoding = detect_encoding(raw[:ENCODING_SAMPLE_BYTES])
    data = _utf8(path, raw, encoding)
    del raw  # the UTF-8 text is what is parsed: one copy of the file less in memory
    lines = _first_lines(data, HEADER_SEARCH_LINES)  # the header is within the first 20 lines
    header_index = next(
        (i for i, (line, _) in enumerate(lines) if line.strip() and _header_score(_split(line), contract) >= 2),
        None,
    )
    if header_index is None:
        raise InputFileError(path, "no header row with the expected column names in the first 20 lines")
    header_line, data_start = lines[header_index]
    separator = detect_separator(header_line)
    header = next(csv.reader([header_line], delimiter=separator))
    mapping = header_map(header, contract, path)
    width = len(header)
    data_lines = _line_count(data, data_start)
    first_row = header_index + 2  # line numbers start at 1, and the header is a line
    if _blank(data, data_start):  # nothing but blank lines after the header
        frame = pd.DataFrame({position: pd.Series([], dtype=object) for position in mapping})
        rows = np.arange(0)
    else:
        if data.find(b'"', data_start) < 0:  # no quoted cell: one row per line
            frame = _parse_unquoted(data, data_start, separator, width, sorted(mapping), data_lines)
            spans = np.ones(len(frame), dtype=np.int64)
        else:
            separators = _line_layout(data, separator)[1]
            cells = max(width, 1 + int(separators.max(initial=0)))  # no row has more cells than this
            wanted = [*sorted(mapping), *range(width, cells)]  # the mapped cells and any beyond the header
            text = data[data_start:].decode("utf-8")
            frame = _parse_delimited(path, text, separator, cells, wanted)
            spans = _line_spans(path, text, separator, cells, len(frame), data_lines)
        if len(spans) != len(frame) or int(spans.sum()) != data_lines:
            raise InputFileError(
                path,
                f"{data_lines} lines after the header but {len(frame)} rows parsed, taking {int(spans.sum())} "
                "lines: a quote that opens a cell and never closes, or a line the parser could not take; "
                "not read rather than read in part",
            )
        rows = first_row + np.cumsum(spans) - spans
        beyond = [position for position in frame if position >= width]
        filled = np.zeros(len(frame), dtype=bool)
        for position in beyond:  # a trailing separator leaves empty cells there: that is fine
            filled |= frame[position].fillna("").str.strip().ne("").to_numpy()
        if filled.any():
            raise InputFileError(
                path,
                f"line {int(rows[filled.argmax()])} has more cells than the header's {width}: a separator inside a "
                "value that is not quoted? Not read rather than read with values in the wrong columns",
            )
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.assign(source_row=rows)
    kept = _filled(frame, list(mapping.values()))  # blank lines are not rows
    if not kept.all():
        frame = frame[kept]
    decimal = detect_decimal(frame, contract, default="," if separator != "," else ".")
    return _source_file(path, frame, encoding, separator, decimal)


def _filled(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``frame[columns].ne("").any(axis=1)``: the rows with a cell that is not empty (a missing
    cell is not empty, as pandas compares it), read off Arrow text's offsets; the columns after
    the first are looked at only while a row has none filled (a member list's first cell nearly
    always is)."""
    filled = np.zeros(len(frame), dtype=bool)
    for column in columns:
        if filled.all():
            break
        values = frame[column]
        if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
            text = arrow_text(values)
            filled |= np.diff(text_bytes(text)[0]) > 0
            if text.null_count:
                filled |= pc.is_null(text).to_numpy(zero_copy_only=False)
        else:
            filled |= values.ne("").to_numpy()
    return filled


HEADER_SEARCH_LINES = 20


# Bytes looked at a block at a time where a file's text is marked byte by byte: marks for the
# whole text would be as large as the file (the reading process's peak memory, every page of it
# new to the process), and a block's stay in the processor's cache
BYTE_BLOCK = 1 << 20


# The line breaks the CSV parser ends a line on (not str.splitlines' \x85, \u2028, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


_LINE_BREAK_BYTES = re.compile(_LINE_BREAK.pattern.encode())


_NOT_BLANK = re.compile(r"\S")


_NOT_ASCII_BLANK = re.compile(rb"[^\t\n\x0b\x0c\r\x1c-\x20]")  # str.isspace's ASCII characters


def _utf8(path: Path, raw: bytes, encoding: str) -> bytes:
    """The file's text as UTF-8 bytes, without a BOM: checked (not decoded) when it is UTF-8
    already, else decoded and encoded again. Text not valid in its encoding is an error naming
    the byte."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig") and _valid_utf8(raw):
        return raw[len(codecs.BOM_UTF8) :] if name == "utf-8-sig" else raw
    try:
        return raw.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(path, f"not valid {encoding} text at byte {error.start}") from error


def _valid_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8, checked by Arrow (as strict as Python's decoder)."""
    offsets = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(raw)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _first_lines(data: bytes, count: int) -> list[tuple[str, int]]:
    """The first ``count`` lines of the UTF-8 ``data``, each with the offset where the next line
    starts, however long they are (a header of 20,000 columns is one line)."""
    lines, start = [], 0
    for match in _LINE_BREAK_BYTES.finditer(data):
        lines.append((data[start : match.start()].decode("utf-8"), match.end()))
        start = match.end()
        if len(lines) == count:
            return lines
    if start < len(data):
        lines.append((data[start:].decode("utf-8"), len(data)))
    return lines


def _blank(data: bytes, start: int) -> bool:
    """Whether the UTF-8 ``data`` holds nothing but whitespace (as ``str.isspace`` says) from ``start``."""
    found = _NOT_ASCII_BLANK.search(data, start)
    if found is None:
        return True
    if data[found.start()] < 0x80:
        return False
    return _NOT_BLANK.search(data[found.start() :].decode("utf-8")) is None


def _line_layout(data: bytes | np.ndarray, separator: str, block: int = 1 << 23) -> tuple[np.ndarray, np.ndarray]:
    """Where each line of ``data`` ends (the offset of its line break, or the end of the data for
    a last line without one) and how many separators it holds (quoted ones too, so one more is
    an upper bound of a row's cells). ``\\r\\n``, ``\\r`` or ``\\n`` ends a line, as the parsers
    count, and a final line break does not start an empty one; separators and line breaks are
    single ASCII bytes in UTF-8. Counted in blocks: a few bytes per byte of one block, and 16
    per line."""
    text = np.frombuffer(data, dtype=np.uint8)
    mark, ends, counts, carry = ord(separator), [], [], 0
    for start in range(0, len(text), block):
        part = text[start : start + block]
        breaks = np.flatnonzero((part == 10) | (part == 13)) + start
        breaks = breaks[~((text[breaks] == 10) & (breaks > 0) & (text[breaks - 1] == 13))]  # \r\n ends one line
        marks = np.flatnonzero(part == mark) + start
        if not len(breaks):
            carry += len(marks)
            continue
        before = np.searchsorted(marks, breaks)  # separators in the block before each line end
        per_line = np.diff(before, prepend=0)
        per_line[0] += carry
        carry = len(marks) - int(before[-1])
        ends.append(breaks)
        counts.append(per_line)
    if len(text) and text[-1] not in (10, 13):  # a last line without a line break
        ends.append(np.array([len(text)]))
        counts.append(np.array([carry]))
    return np.concatenate([np.empty(0, np.int64), *ends]), np.concatenate([np.empty(0, np.int64), *counts])


def _line_count(data: bytes, start: int) -> int:
    """Lines of ``data`` from ``start``, as the parsers count them: ``\\r\\n``, ``\\r`` or ``\\n`` ends
    one, and a final line break does not start an empty one (single ASCII bytes in UTF-8)."""
    text = np.frombuffer(data, dtype=np.uint8, offset=start)
    returns = data.find(b"\r", start) >= 0
    breaks = 0
    for at in range(0, len(text), BYTE_BLOCK):  # block by block (``BYTE_BLOCK``): a file of 48 MB in 5 ms, not 20-80
        block = text[at : at + BYTE_BLOCK]
        breaks += int(np.count_nonzero(block == ord("\n")))
        if returns:  # each \r ends a line but where a \n follows it (counted already)
            ends, after = block == ord("\r"), text[at + 1 : at + 1 + len(block)]
            breaks += int(np.count_nonzero(ends)) - int(np.count_nonzero(ends[: len(after)] & (after == ord("\n"))))
    return breaks + (0 if len(data) == start or data.endswith((b"\n", b"\r")) else 1)


def _parse_unquoted(
    data: bytes, start: int, separator: str, width: int, columns: list[int], lines: int
) -> pd.DataFrame:
    """The rows from ``start`` of UTF-8 text without quotes (``lines`` lines), one per line, blank
    lines too, as Arrow-backed text: the ``columns`` cell positions of a header ``width`` wide,
    and any beyond it, as ``_parse_delimited`` reads them. Arrow's C reader takes rows of one
    width: when the lines are not all as wide as the header, each line's separators are counted
    and a line with fewer than the widest has the missing ones added (pandas gives it empty cells
    there). The text is read in one block: one chunk per column, which the byte-level work reads
    in place."""
    body = np.frombuffer(data, dtype=np.uint8, offset=start)
    try:
        table = _read_unquoted(body, separator, width, columns)
    except pa.ArrowInvalid:  # a line of another width
        table = None
    if table is None or table.num_rows != lines:
        ends, separators = _line_layout(body, separator)
        cells = max(width, 1 + int(separators.max(initial=0)))
        missing = cells - 1 - separators
        if missing.any():
            body = np.insert(body, np.repeat(ends, missing), ord(separator))
        columns = [*columns, *range(width, cells)]
        table = _read_unquoted(body, separator, cells, columns)
    frame = table.to_pandas()
    frame.columns = columns
    return frame


def _read_unquoted(body: np.ndarray, separator: str, cells: int, columns: list[int]) -> pa.Table:
    """Arrow's CSV reader on UTF-8 text without quotes whose lines have ``cells`` cells, in one
    block: the ``columns`` positions as text (empty cells empty, not null)."""
    names = [str(position) for position in range(cells)]
    wanted = [names[position] for position in columns]
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(body)),
        read_options=pacsv.ReadOptions(
            column_names=names,
            block_size=min(max(len(body) + 1, 1 << 20), 2**31 - 1),
            # in a reading process, where the other cores are the other readers', on this thread
            # alone: Arrow's threads would only spread the memory over more of the C allocator's
            # arenas, which the next file then cannot reuse (the registry: 28 % fewer page faults)
            use_threads=not _worker,
        ),
        parse_options=pacsv.ParseOptions(delimiter=separator, quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.large_string()),
            strings_can_be_null=False,
            check_utf8=False,  # checked or made UTF-8 already (``_utf8``)
        ),
    )


def _line_spans(path: Path, text: str, separator: str, cells: int, rows: int, lines: int) -> np.ndarray:
    """The lines each row takes: one each when the ``rows`` parsed are as many as the ``lines``
    after the header; else a quoted cell's line breaks count too, on a parse of every cell (one
    entry per row that parse returns)."""
    if rows == lines:
        return np.ones(rows, dtype=np.int64)
    whole = _parse_delimited(path, text, separator, cells, None)
    spans = np.ones(len(whole), dtype=np.int64)
    for column in whole:
        spans += whole[column].str.count(_LINE_BREAK.pattern).fillna(0).to_numpy(dtype=np.int64)
    return spans


def _parse_delimited(path: Path, text: str, separator: str, cells: int, columns: list[int] | None) -> pd.DataFrame:
    """The rows of ``text`` (what follows the header line) as text, one column per cell position
    (``columns`` only, when given); ``cells`` is at least the longest row's count.
    ``index_col=False``: a row ending in an extra separator is not shifted (pandas would
    otherwise take its first cell as the index). The lines up to the header are not given to
    pandas: it would skip them as quoted text, and after a lone ``\\r`` it drops a character."""
    options = {
        "sep": separator,
        "header": None,
        "names": range(cells),
        "index_col": False,
        "dtype": str,
        "keep_default_na": False,
        "quoting": csv.QUOTE_MINIMAL,
        "skip_blank_lines": False,
        "engine": "c",
    }
    try:
        try:
            return pd.read_csv(io.StringIO(text), usecols=columns, **options)
        except pd.errors.ParserError:
            if columns is None:
                raise
            # a block of rows none of which reaches the last wanted cell ("Too many columns
            # specified"): read every cell; a file the parser cannot take fails again here
            return pd.read_csv(io.StringIO(text), **options)[columns]
    except (pd.errors.ParserError, csv.Error, ValueError) as error:
        raise InputFileError(path, f"cannot be parsed as {separator!r}-separated text: {error}") from error


_DECIMAL_COMMA = re.compile(r"^-?[\d.]*\d,\d+$")  # 1.250,50 or 12,5


_DECIMAL_POINT = re.compile(r"^-?[\d,]*\d\.(\d{1,2}|\d{4,})$")  # 1,250.50 or 12.5 (not 1.250)


def detect_decimal(frame: pd.DataFrame, contract: SourceContract, default: str) -> str:
    """The file's decimal mark, read from its numeric columns: a value like ``12,5`` or
    ``1.250,50`` means a decimal comma; ``12.5`` or ``1,250.50`` a decimal point. Files whose
    numbers are all whole (``1.250`` is ambiguous) keep the separator's convention."""
    comma = point = 0
    for column in [c.name for c in contract.columns if c.dtype == "float" and c.name in frame]:
        votes = _mark_votes(arrow_text(frame[column].astype(str)))
        if votes is None:  # text besides digits and marks: the patterns themselves
            values = frame[column].astype(str).str.strip()
            votes = int(values.str.match(_DECIMAL_COMMA).sum()), int(values.str.match(_DECIMAL_POINT).sum())
        comma, point = comma + votes[0], point + votes[1]
    if comma == point:
        return default
    return "," if comma > point else "."


def _mark_votes(text: pa.ChunkedArray) -> tuple[int, int] | None:
    """How many values match ``_DECIMAL_COMMA`` and how many ``_DECIMAL_POINT``, for values made
    only of ASCII digits, marks and minus signs (None when a value holds anything else): the
    patterns test digits as digits, so each distinct shape (every digit written 9: ``9.999,99``)
    is matched once and counted as often as it occurs."""
    offsets, body = text_bytes(text)
    if not number_bytes(body).all():
        return None
    marks = (body == ord(",")) | (body == ord("."))
    if not marks.any():  # whole numbers (employees): both patterns need a mark
        return 0, 0
    shapes = np.where((body >= ord("0")) & (body <= ord("9")), ord("9"), body).astype(np.uint8)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(shapes)]
    shaped = pa.Array.from_buffers(pa.large_string(), len(offsets) - 1, buffers)
    counted = pc.value_counts(shaped)
    comma = point = 0
    for shape, count in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True):
        comma += count if _DECIMAL_COMMA.match(shape) else 0
        point += count if _DECIMAL_POINT.match(shape) else 0
    return comma, point


def _split(line: str) -> list[str]:
    separator = max(SEPARATORS, key=line.count)
    return [cell.strip().strip('"') for cell in line.split(separator)]


def read_excel(path: Path, contract: SourceContract) -> SourceFile:
    """First sheet; the header is the first row naming the contract's columns, so title rows
    and merged cells above it are skipped. Row numbers are the sheet's own."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise InputFileError(path, f"not a readable .xlsx workbook ({error})") from error
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    header_index = next((i for i, row in enumerate(rows[:30]) if _header_score(list(row), contract) >= 2), None)
    if header_index is None:
        raise InputFileError(path, "no header row with the expected column names in the first 30 rows")
    header = list(rows[header_index])
    positions = header_map(header, contract, path)
    records = []
    for offset, row in enumerate(rows[header_index + 1 :]):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        record = {name: _excel_text(row[i]) if i < len(row) else "" for i, name in positions.items()}
        record["source_row"] = header_index + 2 + offset
        records.append(record)
    frame = pd.DataFrame(records, columns=[*positions.values(), "source_row"])
    return _source_file(path, frame, None, None, ".")


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


def _source_file(path, frame, encoding, separator, decimal) -> SourceFile:
    frame = frame.assign(source_file=repeated_text(path.name, len(frame))).reset_index(drop=True)
    return SourceFile(path, frame, encoding, separator, decimal)


def read_source_file(path: Path, contract: SourceContract) -> SourceFile:
    """Read one CSV/TSV or .xlsx file of a source into canonical text columns."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return read_excel(path, contract)
    return read_delimited(path, contract)


NORMALIZERS: dict[str, Callable[[pd.DataFrame, Reference, str], pd.DataFrame]] = {
    "chamber_registry": normalize_registry,
    "sgk_employment": normalize_sgk,
    "exports_by_sector": normalize_exports,
    "consultation": normalize_consultation,
    "capacity_register": normalize_capacity,
    "exporter_exports": normalize_exporter_exports,
    "sector_turnover": normalize_sector_turnover,
}


READERS = 2  # files read at the same time by ingest_files


CONTRACTS = {name: contract for name, contract in SOURCES.items() if name in NORMALIZERS}


@dataclass(frozen=True)
class IngestedSource:
    """A source's rows from all its files, normalised, plus what was read and what failed."""

    source: str
    rows: pa.Table  # with pandas' metadata: ``frame`` has the columns' pandas types
    files: list[dict]  # file, sha256, rows_in, read ("parsed" or "cached"), total rows checked
    failures: list[InputFileError] = field(default_factory=list)  # files that could not be read at all
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTED_COLUMNS))
    not_read: list[dict] = field(default_factory=list)  # {file, reason}: files in the folders not taken
    # the rows as parts of the read cache's entries (``tasks.store.View``), when every file
    # read has one and all have the same columns
    parts: list[ViewPart] | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as pandas reads them."""
        return self.rows.to_pandas()

    @property
    def errors(self) -> list[str]:
        """The failures as one line each (``<file>: <problem>``), for people: the log, the
        manifest, the quality dataset."""
        return [str(failure) for failure in self.failures]


REJECTED_COLUMNS = ["source", "file", "row", "column", "rule", "message", "raw_value"]


RULE_PREFIX = {
    "chamber_registry": "REG",
    "exporter_exports": "EXX",
    "sgk_employment": "SGK",
    "exports_by_sector": "EXP",
    "capacity_register": "CAP",
    "consultation": "CON",
    "agency_db": "AGY",
    "sector_turnover": "TRN",
}


TOTAL_WORDS = {"toplam", "geneltoplam", "total", "grandtotal", "toplamlar"}


TOTAL_LABELS = {  # columns where a chamber writes TOPLAM on its trailing total row
    "chamber_registry": ("registry_no", "firm_name"),
    "exporter_exports": ("registry_no", "firm_name"),
    "capacity_register": ("province", "nace_division"),
    "exports_by_sector": ("exporter_sector",),
    "consultation": ("institution",),
    "sector_turnover": ("province",),
    "sgk_employment": (),  # its 'Toplam' rows are the published national totals: data
}


# Why a file in a source folder is not read. Every entry of the folder is read or listed with
# one of these (manifest ``not_read``, the quality dataset's ``error``): no file vanishes.
NOT_READ_HIDDEN = "hidden or temporary file: not read (rename it without the leading . or ~$ to read it)"


NOT_READ_OLD_EXCEL = "old Excel format: save as .xlsx or CSV"


NOT_READ_OUTSIDE = "a link to a file outside the data folder: not read"


NOT_READ_UNDER_LINK = "outside the data folder (it is in a folder linked from elsewhere): not read"


NOT_READ_BROKEN_LINK = "a link whose target does not exist: not read"


NOT_READ_SPECIAL = "not a regular file (a pipe, socket or device): not read"


NOT_READ_FOLDER = (
    "a folder: not read (a source's files go directly in its folder; member lists also one province folder "
    "down, chamber_registry/<province>/)"
)


PLACEHOLDERS = frozenset({".gitkeep"})  # keeps an empty inbox folder in git: not an input


def readable_suffixes(source: str) -> tuple[str, ...]:
    """The file endings a source is read from (any case): its patterns, and .tsv beside .csv."""
    suffixes = [pattern.removeprefix("*").lower() for pattern in SOURCES[source].file_patterns]
    if ".csv" in suffixes:
        suffixes.insert(suffixes.index(".csv") + 1, ".tsv")
    return tuple(suffixes)


def name_not_read(name: str, source: str) -> str | None:
    """Why a file called ``name`` is not read as a file of ``source``; None when it is."""
    if name.startswith((".", "~$")):
        return NOT_READ_HIDDEN
    suffix = Path(name).suffix.lower()
    readable = readable_suffixes(source)
    if suffix in readable:
        return None
    if suffix == ".xls":
        return NOT_READ_OLD_EXCEL if ".xlsx" in readable else "old Excel format: save as CSV"
    if suffix in {".xlsx", ".xlsm"} and ".xlsx" not in readable:
        return "an Excel workbook: this source is read from .csv or .tsv files only (save it as CSV)"
    listed = ", ".join(readable[:-1]) + f" or {readable[-1]}" if len(readable) > 1 else readable[0]
    return f"not a {listed} file"


@dataclass(frozen=True)
class SourceListing:
    """Every entry of a source folder: the files to read, in order, and the others with why."""

    files: list[Path]
    not_read: list[tuple[Path, str]]


def list_source_folder(directory: Path, source: str, data_dir: Path | None = None) -> SourceListing:
    """Every entry of ``directory``, a source's folder (shipped or inbox), read or not: regular
    files named ``*.csv``, ``*.tsv`` or ``*.xlsx`` (as the source allows, any case) are read;
    member lists also one folder down, where the folder names the province
    (``chamber_registry/Samsun/uyeler.xlsx``). Everything else is listed with the reason it is
    not read: hidden and temporary files (``.x``, ``~$x``), other endings, old ``.xls``
    workbooks, deeper folders, pipes and devices, and links that lead outside ``data_dir``
    (the data folder, parent of ``sources/`` and ``inbox/``; without it, ``directory``). Links
    that stay inside are followed. Only ``.gitkeep`` (an empty folder's placeholder) is passed
    over in silence."""
    if not directory.is_dir():
        return SourceListing([], [])
    root = (data_dir or directory).resolve()
    files: list[Path] = []
    not_read: list[tuple[Path, str]] = []
    folders = [(directory, 0)]
    while folders:
        folder, depth = folders.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as error:
            not_read.append((folder, f"cannot be listed ({error.strerror}): not read"))
            continue
        for entry in entries:
            kind, reason = _entry_kind(entry, source, root, into=source == "chamber_registry" and depth == 0)
            if kind == "file":
                files.append(entry)
            elif kind == "folder":
                folders.append((entry, depth + 1))
            elif reason:
                not_read.append((entry, reason))
    return SourceListing(sorted(files), sorted(not_read))


def _entry_kind(entry: Path, source: str, root: Path, into: bool) -> tuple[str, str | None]:
    """("file", None), ("folder", None) to list it too (``into``), or ("not read", why)."""
    if entry.name in PLACEHOLDERS and not entry.is_symlink():
        return "skip", None
    try:
        target = entry.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link, or a loop
        return "not read", NOT_READ_BROKEN_LINK if entry.is_symlink() else "cannot be opened: not read"
    if not target.is_relative_to(root):
        return "not read", NOT_READ_OUTSIDE if entry.is_symlink() else NOT_READ_UNDER_LINK
    if entry.name.startswith((".", "~$")):
        return "not read", NOT_READ_HIDDEN
    try:
        mode = target.stat().st_mode
    except OSError as error:
        return "not read", f"cannot be opened ({error.strerror}): not read"
    if stat.S_ISDIR(mode):
        return ("folder", None) if into else ("not read", NOT_READ_FOLDER)
    if not stat.S_ISREG(mode):
        return "not read", NOT_READ_SPECIAL
    reason = name_not_read(entry.name, source)
    return ("not read", reason) if reason else ("file", None)


def source_files(directory: Path, source: str, data_dir: Path | None = None) -> list[Path]:
    """The files of ``directory`` that are read as ``source`` (see ``list_source_folder``)."""
    return list_source_folder(directory, source, data_dir).files


def split_total_rows(read: SourceFile, source: str) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    """Recognise trailing total rows (TOPLAM / Total), check each stated figure against the sum of
    the rows, and keep them out of the data. A total that does not match is quarantined."""
    frame = read.frame
    labels = [c for c in TOTAL_LABELS.get(source, ()) if c in frame]
    if not labels or frame.empty:
        return frame, [], pd.DataFrame(columns=REJECTED_COLUMNS)
    is_total = pd.concat([_total_label(frame[c]) for c in labels], axis=1).any(axis=1)
    if not is_total.any():  # no copy of a file without totals
        return frame, [], pd.DataFrame(columns=REJECTED_COLUMNS).drop_duplicates(["file", "row"])
    data, totals = frame[~is_total], frame[is_total]
    numeric = [c.name for c in SOURCES[source].columns if c.dtype == "float" and c.name in frame]
    checks, rejected = [], []
    for _, total in totals.iterrows():
        for column in numeric:
            stated = parse_numbers(pd.Series([total[column]]), read.decimal).iloc[0]
            if pd.isna(stated):
                continue
            summed = float(parse_numbers(data[column], read.decimal).sum())
            ok = bool(np.isclose(stated, summed, rtol=1e-6, atol=0.01))
            checks.append(
                {
                    "row": int(total.source_row),
                    "column": column,
                    "stated": float(stated),
                    "sum_of_rows": summed,
                    "ok": ok,
                }
            )
            if not ok:
                rejected.append(
                    {
                        "source": source,
                        "file": total.source_file,
                        "row": int(total.source_row),
                        "column": column,
                        "rule": f"{RULE_PREFIX[source]}-TOTAL-01",
                        "message": f"total row states {stated:g} but the rows sum to {summed:g}",
                        "raw_value": str(total[column]),
                    }
                )
    return data, checks, pd.DataFrame(rejected, columns=REJECTED_COLUMNS).drop_duplicates(["file", "row"])


def _total_label(values: pd.Series) -> pd.Series:
    """Cells that say TOPLAM / Total; only cells containing 'top' or 'tot' are folded."""
    text = values.fillna("").astype(str)
    containing = np.flatnonzero(_top_or_tot(arrow_text(text)))
    labels = np.zeros(len(text), dtype=bool)
    if len(containing):  # those cells alone: the column is neither copied nor hashed whole
        np.put(labels, containing, map_unique(text.iloc[containing], fold_key).isin(TOTAL_WORDS).to_numpy())
    return pd.Series(labels, index=values.index)


def _top_or_tot(text: pa.ChunkedArray) -> np.ndarray:
    """Which values contain 'top' or 'tot' in any case (``str.contains("top|tot", case=False)``),
    found on the bytes: no letter outside ASCII folds to t, o or p."""
    offsets, body = text_bytes(text)
    found = [np.empty(0, dtype=np.int64)]
    for at in range(0, len(body) - 2, BYTE_BLOCK):  # the matches starting in each block
        lower = body[at : at + BYTE_BLOCK + 2] | 0x20  # ASCII T, O, P to t, o, p (no other byte becomes one)
        t, o, last = lower[:-2] == ord("t"), lower[1:-1] == ord("o"), lower[2:]
        found.append(np.flatnonzero(t & o & ((last == ord("p")) | (last == ord("t")))) + at)
    starts = np.concatenate(found)
    value = np.searchsorted(offsets, starts, side="right") - 1
    return np.bincount(value[starts + 3 <= offsets[value + 1]], minlength=len(offsets) - 1) > 0


def resolve_duplicate_firms(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with one row per firm (``duplicate_firms``), and the quarantine of the others."""
    duplicates, rejected = duplicate_firms(frame, source)
    return (_without_rows(frame, duplicates) if len(duplicates) else frame), rejected


def duplicate_firms(frame: pd.DataFrame, source: str) -> tuple[np.ndarray, pd.DataFrame]:
    """One row per firm: the positions of the rows set aside, and their quarantine. A firm is
    (province, registry number), or (province, folded trade name) where the number is blank.
    Listed again in a newer file (``_file_order``: inbox after sources, later name after
    earlier), the newer file's row is kept; listed twice in one file under two NACE codes, the
    row with more employees is its main activity and kept (ties: the first row). Every other
    row is quarantined with the row that was kept."""
    none = np.empty(0, dtype=np.int64), pd.DataFrame(columns=REJECTED_COLUMNS)
    if frame.empty or "registry_no" not in frame:
        return none
    plate, firm, at = _firms(frame)
    size = frame.employees.to_numpy(dtype=np.float64)[at] if "employees" in frame else np.zeros(len(at))
    keyed = pd.DataFrame(
        {
            "_plate": plate[at],
            "_firm": firm[at],
            "_file_order": frame._file_order.to_numpy()[at],
            "_size": np.where(np.isnan(size), -1.0, size),
            "source_row": frame.source_row.to_numpy()[at],
        },
        index=frame.index[at],
    )
    order = keyed.sort_values(
        ["_plate", "_firm", "_file_order", "_size", "source_row"], ascending=[True, True, False, False, True]
    )
    firm = [order._plate, order._firm]
    kept_of = order.index.to_series(index=order.index).groupby(firm).transform("first")
    repeated = order.index[order.duplicated(["_plate", "_firm"], keep="first")]
    if repeated.empty:
        return none
    shown = [c for c in _SHOWN if c in frame]
    later = _rows(frame, frame.index.get_indexer(repeated), shown)
    kept = _rows(frame, frame.index.get_indexer(kept_of[repeated].to_numpy()), shown)
    same_file = later.source_file.to_numpy() == kept.source_file.to_numpy()
    prefix = RULE_PREFIX[source]
    message = [
        f"same firm listed again under NACE {nace} (kept row {row}, the main activity)"
        if same
        else f"same firm listed again in the newer file {file} (kept its row {row})"
        for same, nace, file, row in zip(same_file, later.nace_class, kept.source_file, kept.source_row, strict=True)
    ]
    rejected = pd.DataFrame(
        {
            "source": source,
            "file": later.source_file.to_numpy(),
            "row": later.source_row.astype("int64").to_numpy(),
            "column": "registry_no",
            "rule": np.where(same_file, f"{prefix}-DUP-01", f"{prefix}-DUP-02"),
            "message": message,
            "raw_value": later.get("raw__registry_no", later.registry_no).astype(str).to_numpy(),
        }
    )
    return frame.index.get_indexer(later.index), rejected


def repeated_firms(frame: pd.DataFrame) -> np.ndarray:
    """The positions of the rows whose firm is listed more than once in a province of ``frame``:
    the rows ``duplicate_firms`` decides among. A reading process finds them in its file, so
    that of a file sharing no province with another only they are looked at again when the
    registry's files are joined (``_without_duplicate_firms``)."""
    if frame.empty or "registry_no" not in frame:
        return np.empty(0, dtype=np.int64)
    plate = frame.plate_code.fillna(-1).to_numpy(dtype=np.int64)
    listed = _firm_numbers(frame) * _PLATE_SPAN + plate + 1  # one code per (plate, firm)
    return np.flatnonzero(frame.plate_code.notna().to_numpy() & _repeated(listed))


# A firm as a number for ``repeated_firms``: its registry number where that is 1 to 16 digits,
# else past them; times the span of plate codes (-1 to 81, plus one) it stays within int64.
_NUMBER_DIGITS, _WHOLE_NUMBERS, _PLATE_SPAN = 16, 10**16, 128
_POWERS_OF_TEN = np.array([10**power for power in range(_NUMBER_DIGITS)] + [0], dtype=np.int64)  # [-1]: 0
_TEXT_CODED = 1000  # the most numbers of a file coded by their text in Python, else all by Arrow


def _firm_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Each row's firm (as ``_firms`` tells firms apart) as an integer: a registry number of 1
    to 16 ASCII digits without a leading zero is its own (two such numbers are the same text
    exactly when they are the same integer), read on the bytes; a few other numbers are coded
    past them by their text; with more, or a blank one (the trade name decides), every firm is
    (``_firms``). Registry numbers are nearly all distinct and nearly all whole: hashing the
    registry's 2 M of them took 0.3 s."""
    number = frame.registry_no
    text = arrow_text(strip((number.fillna("") if number.isna().any() else number).astype(str)))
    offsets, body = text_bytes(text)
    starts, lengths = offsets[:-1], np.diff(offsets)
    letters = np.diff(count_before((body < ord("0")) | (body > ord("9")), offsets))  # bytes not digits
    padded = np.concatenate((body, np.zeros(_NUMBER_DIGITS, dtype=np.uint8)))
    whole = (lengths >= 1) & (lengths <= _NUMBER_DIGITS) & (letters == 0)
    whole &= (padded[starts] != ord("0")) | (lengths == 1)
    numbers = np.zeros(len(lengths), dtype=np.int64)
    lengths = np.where(whole, lengths, 0)
    for place in range(int(lengths.max(initial=0))):  # each digit times its power of ten
        power = _POWERS_OF_TEN[np.maximum(lengths - 1 - place, -1)]  # 0 past a number's end
        numbers += (padded[starts + place].astype(np.int64) - ord("0")) * power
    others = np.flatnonzero(~whole)
    if len(others) > _TEXT_CODED or (offsets[others + 1] == offsets[others]).any():  # many, or a trade name decides
        return _firms(frame)[1].astype(np.int64) + _WHOLE_NUMBERS
    texts = text.take(others).to_pylist()
    codes = {value: code for code, value in enumerate(dict.fromkeys(texts))}
    np.put(numbers, others, [_WHOLE_NUMBERS + codes[value] for value in texts])
    return numbers


def _firms(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's plate code (-1 for none) and firm code, and the positions of the rows whose
    (plate, firm) occurs more than once (a row without a plate code is no firm of a province).
    The rule works on integer codes, not on the registry's text (millions of rows)."""
    number = frame.registry_no
    number = strip((number.fillna("") if number.isna().any() else number).astype(str))
    blank = number.eq("")
    identity = number.copy()
    if blank.any():
        identity[blank] = "name:" + frame.firm_name[blank].map(fold_key)
    firm = _codes(identity)
    plate = frame.plate_code.fillna(-1).to_numpy(dtype=np.int64)
    listed = plate * (int(firm.max(initial=0)) + 1) + firm  # one code per (plate, firm)
    return plate, firm, np.flatnonzero(frame.plate_code.notna().to_numpy() & _repeated(listed))


REPEATED_FIRMS = "repeated_firms"  # in a member list's file info, until it is taken (``repeated_firms``)
_SHOWN = ("source_file", "source_row", "nace_class", "registry_no", "raw__registry_no")  # in a duplicate's quarantine


def _codes(values: pd.Series) -> np.ndarray:
    """``pd.factorize(values)[0]`` of a text column without nulls (codes by first appearance),
    by Arrow in one pass (a registry's numbers are short: joining its files' chunks costs little)."""
    return pc.dictionary_encode(arrow_text(values).combine_chunks()).indices.to_numpy()


def _repeated(values: np.ndarray) -> np.ndarray:
    """``pd.Series(values).duplicated(keep=False)``: which values occur more than once, found by
    sorting (a registry's firm codes come nearly in order, which Timsort sorts in one pass) and not
    hashing."""
    ordered = np.sort(values, kind="stable")  # Timsort: on values nearly in order, 15x quicksort
    return np.isin(values, ordered[1:][ordered[1:] == ordered[:-1]])


def _arrow_text_column(values: pd.Series) -> bool:
    kind = values.dtype
    return isinstance(kind, pd.StringDtype) and kind.storage == "pyarrow" and kind.na_value is np.nan


def _rows(frame: pd.DataFrame, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``frame.iloc[positions][columns]`` for a few rows of many: a text column is read from the
    Arrow chunks that hold those rows (``take`` on the column would join all its chunks first)."""
    taken = {column: _take(frame[column], positions) for column in columns}
    return pd.DataFrame(taken, index=frame.index[positions])


def _take(values: pd.Series, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    if not _arrow_text_column(values):
        return values.array.take(positions)
    chunks = arrow_text(values).chunks
    starts = np.cumsum([0, *(len(chunk) for chunk in chunks)])
    which = np.searchsorted(starts, positions, side="right") - 1
    order = np.argsort(which, kind="stable")
    parts = [chunks[i].take(positions[order][which[order] == i] - starts[i]) for i in np.unique(which)]
    text = pa.concat_arrays(parts) if parts else pa.array([], pa.large_string())
    return text.take(np.argsort(order)).to_pandas().array


def _without_rows(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """``frame`` without the rows at ``positions``; a text column copies only the Arrow chunks
    that hold one of them, so that a registry of millions of rows loses a few duplicates
    without a second copy of its text."""
    keep = np.bincount(positions, minlength=len(frame)) == 0
    columns = {column: _kept(values, keep) for column, values in frame.items()}
    return pd.DataFrame(columns, index=frame.index[keep], copy=False)


def _kept(values: pd.Series, keep: np.ndarray) -> pd.api.extensions.ExtensionArray:
    if not _arrow_text_column(values):
        return values.array[keep]
    chunks, start = [], 0
    for chunk in arrow_text(values).chunks:
        part = keep[start : start + len(chunk)]
        chunks.append(chunk if part.all() else chunk.filter(pa.array(part)))
        start += len(chunk)
    return pa.chunked_array(chunks, pa.large_string()).to_pandas().array


def ingest_files(
    source: str,
    directories: list[Path] | Path,
    ref: Reference,
    progress: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    force: bool = False,
    data_dir: Path | None = None,
    raw_text: Callable[[pa.Table], None] | None = None,
) -> IngestedSource:
    """Read and normalise every file of a file-based source found in ``directories`` (the
    shipped sources first, then the inbox, whose files count as newer). With ``cache_dir``, a
    file already read (same content hash, same reader) is taken from the read cache
    (``tasks.store``), not parsed again, unless ``force``. Every other entry of the folders is
    in ``not_read`` with the reason (``list_source_folder``; ``data_dir``, the data folder,
    bounds where links may lead). Names are logged escaped (``printable``): a name cannot forge a log line.
    With ``raw_text``, each file's raw text goes to it as the file is taken (``set_aside_raw_text``),
    and the rows keep their values only: the raw text of every file is never held at once."""
    directories = [directories] if isinstance(directories, Path) else directories
    tables, parts, orders, files, failures, rejected, not_read, repeated = [], [], [], [], [], [], [], []
    paths = []
    for directory in directories:
        listing = list_source_folder(directory, source, data_dir)
        paths += [(directory, path) for path in listing.files]
        for path, reason in listing.not_read:
            label = _label(path, directory, directories)
            progress(f"{source}: not read: {printable(label)}: {reason}")
            not_read.append({"file": label, "reason": reason})

    read = FileReader(source, ref, cache_dir, force)

    def take(order: int, label: str, reading: Future, relative: str) -> None:
        """Keep what reading one file gave, in file order."""
        try:
            result = reading.result()
        except BrokenProcessPool as error:  # killed (out of memory?): the source is not read in part
            waiting = [label, *(named for at, (named, _, _) in sorted(submitted.items()) if at > order)]
            unread = ", ".join(printable(name) for name in waiting)
            raise InputFileError(label, f"{READER_ENDED} (the files being read: {unread})", source) from error
        if isinstance(result, HandedBack):
            result = result.load()
        if isinstance(result, InputFileError):
            failures.append(result)
            return
        rows, bad, info = result
        repeated.append(info.pop(REPEATED_FIRMS, None))
        own = rows["source_file"][0].as_py() if rows.num_rows else None
        if own != label:  # rows read name their file (one name)
            named = pa.repeat(pa.scalar(label, pa.large_string()), len(rows))
            rows = rows.set_column(rows.schema.get_field_index("source_file"), "source_file", named)
        entry = cache_dir / source / read_key(source, info["sha256"], relative) / "rows.arrow" if cache_dir else None
        parts.append(ViewPart(str(entry), (), None if own == label else label) if entry and entry.exists() else None)
        if raw_text is not None:  # a duplicate's quarantine shows its registry number as written
            rows = set_aside_raw_text(rows, raw_text, keep=[RAW_REGISTRY_NO] if source == "chamber_registry" else [])
        tables.append(rows)
        orders.append(order)
        if len(bad):
            rejected.append(bad.assign(file=label))
        files.append({**info, "file": label})

    # Files are read READERS at a time: in processes forked from this one when they hold
    # POOLED_BYTES or more (reading is mostly the interpreter's work, which threads take turns
    # at), else in threads. They start largest first (a large file is not left for the end,
    # with one reader busy and the other idle), a file waiting for each reader so that none
    # idles, and are logged as they start (here: the log may need this thread); they are
    # taken in file order, each once the files before it are.
    submitted: dict[int, tuple[str, Future, str]] = {}  # by file order: label, reading, relative path
    taken = 0  # the files taken, in file order

    def take_read(block: bool) -> int:
        """Take the files read, in file order, up to the first still being read (with
        ``block``, every file submitted); return how many are taken."""
        at = taken
        while at in submitted and (block or submitted[at][1].done()):
            label, reading, relative = submitted.pop(at)
            take(at, label, reading, relative)
            at += 1
        return at

    with _reading_pool([path for _, path in paths], read) as (pool, call):
        for count, order in enumerate(_largest_first([path for _, path in paths]), 1):
            while len(busy := [reading for _, reading, _ in submitted.values() if not reading.done()]) >= 2 * READERS:
                wait(busy, return_when=FIRST_COMPLETED)
                taken = take_read(block=False)
            directory, path = paths[order]
            label = _label(path, directory, directories)
            progress(f"{source}: reading {printable(label)} ({count}/{len(paths)})")
            relative = path.relative_to(directory).as_posix()
            submitted[order] = (label, pool.submit(call, directory, path, label), relative)
        taken = take_read(block=True)
    if source == "chamber_registry" and tables:
        plates = [file["plate_codes"] for file in files]
        tables, duplicates, dropped = _without_duplicate_firms(tables, orders, source, repeated, plates)
        rejected.append(duplicates)
        parts = [
            part and part._replace(dropped=tuple(gone.tolist())) for part, gone in zip(parts, dropped, strict=True)
        ]
    if raw_text is not None:
        tables = [table.drop_columns([c for c in table.column_names if c == RAW_REGISTRY_NO]) for table in tables]
    joined = _joined(tables) if tables else pa.Table.from_pandas(pd.DataFrame(columns=["source_file", "source_row"]))
    viewed = tables and all(parts) and _one_layout(tables)
    rejected_frame = (
        pd.concat([r for r in rejected if len(r)], ignore_index=True)
        if any(len(r) for r in rejected)
        else pd.DataFrame(columns=REJECTED_COLUMNS)
    )
    return IngestedSource(source, joined, files, failures, rejected_frame, not_read, parts if viewed else None)


FileRead = tuple[pa.Table, pd.DataFrame, dict] | InputFileError  # rows, rejected rows, file info; or why not


@dataclass(frozen=True)
class FileReader:
    """Reads one file of ``source``: its rows, rejected rows and file info (parsed, or from the
    read cache ``cache_dir`` unless ``force``), or why the file was not read."""

    source: str
    ref: Reference
    cache_dir: Path | None
    force: bool

    def __call__(self, directory: Path, path: Path, label: str, handoff: Path | None = None) -> FileRead | HandedBack:
        """The file's read; with ``handoff`` (a folder), where it was left instead: its read
        cache entry, else a new folder in ``handoff`` (what a reading process hands back)."""
        source = self.source
        try:
            sha = file_sha256(path)
        except OSError as error:
            return InputFileError(label, f"cannot be opened ({error.strerror})", source)
        key = read_key(source, sha, path.relative_to(directory).as_posix())
        try:
            if not self.force and self.cache_dir and (self.cache_dir / source / key / "info.json").exists():
                entry = self.cache_dir / source / key
                return HandedBack(entry, "cached") if handoff else cached_read(self.cache_dir, source, key)
            rows, bad, info = parse_file(path, CONTRACTS[source], NORMALIZERS[source], self.ref, source, sha)
            if source == "chamber_registry":  # found here, beside the other files' reading
                info = {**info, REPEATED_FIRMS: repeated_firms(rows).tolist()}
            rows = pa.Table.from_pandas(rows, preserve_index=False, nthreads=1)  # the other core reads a file too
            entry = save_read(self.cache_dir, source, key, rows, bad, info)
            if handoff is None:
                return rows, bad, info
            if entry is None:
                entry = handoff / uuid.uuid4().hex
                write_read(entry, rows, bad, info)
            return HandedBack(entry, "parsed", handoff)
        except InputFileError as error:
            return InputFileError(label, error.problem, source, error.provinces)
        except OSError as error:  # removed or made unreadable while the run read the folder
            return InputFileError(label, f"cannot be read ({error.strerror})", source)


class HandedBack(NamedTuple):
    """Where a reading process left a file's read (``store.write_read``): read back from there,
    its text mapped rather than copied (pickled through a pipe, millions of rows would cost more
    than their reading). An entry in the ``handoff`` folder (not the read cache's) is removed once
    loaded."""

    entry: Path
    read: str  # "parsed" or "cached"
    handoff: Path | None = None

    def load(self) -> tuple[pa.Table, pd.DataFrame, dict]:
        rows, bad, info = load_read(self.entry)
        if self.handoff is not None and self.entry.parent == self.handoff:
            shutil.rmtree(self.entry)  # what is mapped stays readable
        return rows, bad, {**info, "read": self.read}


READER_ENDED = (
    "a process reading this source's files ended before they were read (killed, or out of memory): the "
    "source is not read rather than read in part; run again, or split the largest file"
)


# A source's files are read in processes when there are two or more holding this much text
# (measured: 15 files of 1.4 MB in all read in 0.18 s in processes, 0.24 s in threads)
POOLED_BYTES = 1 << 20
_worker: dict = {}  # in a forked reading process: its FileReader and handoff folder (``_start_reader``)


def _start_reader(read: FileReader, handoff: Path) -> None:
    _worker.update(read=read, handoff=handoff)
    start_worker()


def _read_in_worker(directory: Path, path: Path, label: str) -> InputFileError | HandedBack:
    return _worker["read"](directory, path, label, _worker["handoff"])


def _size_of(files: list[Path]) -> int:
    """The files' bytes (a file that cannot be looked at counts nothing: its reading says why)."""
    return sum(_file_size(file) for file in files)


def _file_size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _largest_first(files: list[Path]) -> list[int]:
    """The places of ``files`` in the order to read them: largest first, ties in file order."""
    sizes = [_file_size(file) for file in files]
    return sorted(range(len(files)), key=lambda place: -sizes[place])


def _handoff_folder() -> tempfile.TemporaryDirectory:
    """A new folder for reading processes to hand files back in: in memory where there is one
    (``/dev/shm``), named after this process. Folders a run killed before it could remove them
    left (their process is gone) are removed first."""
    base = SHARED_MEMORY if SHARED_MEMORY.is_dir() else Path(tempfile.gettempdir())
    for stale in base.glob(f"{HANDOFF_PREFIX}*-*"):
        owner = stale.name.removeprefix(HANDOFF_PREFIX).split("-")[0]
        if owner.isdigit() and not _running(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{HANDOFF_PREFIX}{os.getpid()}-", dir=base)


HANDOFF_PREFIX = "kume-read-"
SHARED_MEMORY = Path("/dev/shm")  # a folder in memory (Linux)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


@contextlib.contextmanager
def _reading_pool(files: list[Path], read: FileReader) -> Iterator[tuple[Executor, Callable]]:
    """Where ``ingest_files`` reads ``files``, and what it calls there: ``READERS`` processes
    forked from this one (which find ``read`` in memory, and hand each file's read back in a
    folder, ``HandedBack``) for files of ``POOLED_BYTES`` or more, else threads, and threads
    where this process may not start others (a daemon, as Dask's workers are). Shut down
    whatever happens, work not started cancelled."""
    if len(files) < 2 or _size_of(files) < POOLED_BYTES or not may_fork():
        with ThreadPoolExecutor(max_workers=READERS) as threads:
            yield threads, read
        return
    with _handoff_folder() as handoff:
        pool = forked_pool(READERS, _start_reader, read, Path(handoff))
        try:
            yield pool, _read_in_worker
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


RAW_REGISTRY_NO = "raw__registry_no"


def set_aside_raw_text(rows: pa.Table, raw_text: Callable[[pa.Table], None], keep: list[str]) -> pa.Table:
    """Hand the rows' raw text (their ``raw__*`` columns, as Arrow text with each row's
    source_file and source_row) to ``raw_text``; return the rows without it, but the raw
    columns to ``keep``."""
    raw = [column for column in rows.column_names if column.startswith("raw__")]
    if not raw:
        return rows
    text = {column: rows[column].cast(pa.large_string()) for column in ["source_file", *raw]}
    raw_text(pa.table({"source_file": text["source_file"], "source_row": rows["source_row"].cast(pa.int64()), **text}))
    return rows.drop_columns([column for column in raw if column not in keep])


def _joined(tables: list[pa.Table]) -> pa.Table:
    """The rows of ``tables`` one after another, typed as ``pd.concat`` of their frames types them:
    joined by Arrow, the tables' own memory, when their columns have the same types (the usual
    case), with the pandas metadata of the first table for all the rows; else through pandas."""
    if not _one_layout(tables):
        frames = [table.to_pandas() for table in tables]
        return pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    return _described(pa.concat_tables(tables))


def _one_layout(tables: list[pa.Table]) -> bool:
    """Whether the tables have the same columns of the same types, pandas' too."""
    first = tables[0]
    return all(table.schema.equals(first.schema) and _pandas_types(table) == _pandas_types(first) for table in tables)


def values_only(rows: pa.Table) -> pa.Table:
    """``rows`` without their raw text (``raw__*`` columns)."""
    return _described(rows.select([column for column in rows.column_names if not column.startswith("raw__")]))


def _described(table: pa.Table) -> pa.Table:
    """``table`` with pandas' metadata (taken from its own) describing its columns and rows only."""
    pandas = {
        **table.schema.pandas_metadata,
        "columns": _pandas_types(table),
        "index_columns": [{"kind": "range", "name": None, "start": 0, "stop": len(table), "step": 1}],
    }
    return table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(pandas).encode()})


def _pandas_types(table: pa.Table) -> list[dict | None]:
    """The pandas metadata of ``table``'s columns, in its order (a table whose columns were
    dropped still names them in its metadata)."""
    described = {column["field_name"]: column for column in (table.schema.pandas_metadata or {}).get("columns", [])}
    return [described.get(name) for name in table.column_names]


def _without_duplicate_firms(
    tables: list[pa.Table], orders: list[int], source: str, repeated: list[list[int] | None], plates: list[list[int]]
) -> tuple[list[pa.Table], pd.DataFrame, list[np.ndarray]]:
    """``duplicate_firms`` over the rows of every file (``orders``: the files' places, newer
    later), run on the columns it reads. A firm is listed twice within a province: of a file
    whose provinces (``plates``) no other file has, only the rows its reading found repeated in
    it (``repeated``, positions; None: not known) are looked at, every row of the others (the
    registry's 2 M rows looked at whole: 0.3 s to find three duplicates). Then each file loses
    its duplicates, copying only the files that have one, so that the registry is never held
    twice. Also returns the positions each file lost."""
    read = [c for c in dict.fromkeys(("firm_name", "plate_code", "employees", *_SHOWN)) if c in tables[0].column_names]
    listed = Counter(plate for file_plates in plates for plate in set(file_plates))
    looked = [
        None if found is None or any(listed[plate] > 1 for plate in file_plates) else np.asarray(found, np.int64)
        for found, file_plates in zip(repeated, plates, strict=True)
    ]
    keys = [
        table.select(read) if rows is None else table.select(read).take(rows)
        for table, rows in zip(tables, looked, strict=True)
    ]
    sizes = [len(table) for table in keys]
    keys = _joined(keys).to_pandas()
    keys["_file_order"] = np.repeat(orders, sizes)
    positions, duplicates = duplicate_firms(keys, source)
    starts = np.cumsum([0, *sizes])
    kept_tables, lost = [], []
    for index, (table, rows) in enumerate(zip(tables, looked, strict=True)):
        mine = positions[(positions >= starts[index]) & (positions < starts[index + 1])] - starts[index]
        gone = np.sort(mine if rows is None else rows[mine])
        if len(gone):
            table = table.filter(pa.array(np.bincount(gone, minlength=len(table)) == 0))
        kept_tables.append(table)
        lost.append(gone)
    return kept_tables, duplicates, lost


def _label(path: Path, directory: Path, directories: list[Path]) -> str:
    """A file's name in the manifest: relative to its source folder, ``inbox/`` first for the
    inbox's (any folder after the first)."""
    relative = path.relative_to(directory).as_posix()
    return relative if directory == directories[0] else f"{directory.parent.name}/{relative}"


# Peak memory of reading, normalising and validating a file, per byte of the file: measured with
# ``kume check`` on the shipped member lists and on ones of 100,000 and 1,000,000 rows (README,
# "Large files"): 10-15 for CSV/TSV (the text, its parsed cells and the normalised rows), 30-38
# for .xlsx (compressed XML, read cell by cell into Python objects). Rounded up.
MEMORY_PER_BYTE = {"text": 16, "xlsx": 40}


CGROUP_MEMORY = (  # (limit, usage) of a container: cgroup v2, then v1
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)


def available_memory() -> int | None:
    """Bytes this process can still take: the machine's available memory (``psutil``), or less
    when a cgroup limit (a container's ``memory.max``) leaves less room. None if unknown."""
    known = []
    try:
        import psutil  # installed with distributed; imported only where it is used

        known.append(int(psutil.virtual_memory().available))
    except ImportError:
        meminfo = Path("/proc/meminfo")
        found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.M) if meminfo.exists() else None
        if found:
            known.append(int(found.group(1)) * 1024)
    for limit_file, usage_file in CGROUP_MEMORY:
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or v1's huge number: no limit
            known.append(max(int(limit) - usage, 0))
        break
    return min(known) if known else None


def ensure_memory_for(path: Path) -> None:
    """Refuse, before reading it, a file that would need more memory than is available (rather
    than have the kernel kill the run half-way): the estimate is the measured factor times the
    file's size."""
    kind = "xlsx" if path.suffix.lower() in {".xlsx", ".xlsm"} else "text"
    size = path.stat().st_size
    needed = MEMORY_PER_BYTE[kind] * size
    available = available_memory()
    if available is None or needed <= available:
        return
    part = max(available // MEMORY_PER_BYTE[kind] // 2, 1)  # parts that fit twice over
    csv_hint = " (or save it as CSV, which needs less)" if kind == "xlsx" else ""
    raise InputFileError(
        path,
        f"too large for the memory available: {_size(size)} on disk needs about {_size(needed)} to read "
        f"({MEMORY_PER_BYTE[kind]} x its size, measured), and {_size(available)} is available. Split it into "
        f"files of at most {_size(part)}, each with the header line, in the same folder{csv_hint}, or read it "
        "on a machine with more memory",
    )


def _size(count: float) -> str:
    """``1.3 GB``: a byte count for a person."""
    unit = "bytes"
    for larger in ("KB", "MB", "GB"):
        if count < 1024:
            break
        count, unit = count / 1024, larger
    return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"


def parse_file(
    path: Path,
    contract: SourceContract,
    normalize: Callable,
    ref: Reference,
    source: str,
    sha: str,
    province: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read one file, set aside its total rows, normalise the rest: (rows, rejected, file info).
    A member list's province is resolved for the whole file (``province`` is the last resort).
    A file too large for the memory available is refused before it is read."""
    ensure_memory_for(path)
    read = read_source_file(path, contract)
    data, checks, bad = split_total_rows(read, source)
    rows = normalize(data, ref, read.decimal)
    resolved = {}
    if source == "chamber_registry":
        rows, resolved = resolve_registry_province(rows, path, ref, province)
    info = {
        **resolved,
        "sha256": sha,
        "rows_in": len(data) + len(bad),
        "plate_codes": sorted(int(p) for p in rows.plate_code.dropna().unique()) if "plate_code" in rows else [],
        "encoding": read.encoding,
        "separator": read.separator,
        "decimal": read.decimal,
        "total_rows": checks,
        "read": "parsed",
    }
    return rows, bad, info
