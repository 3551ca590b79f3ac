"""Readers: turn each source's files, in the layouts real chambers and agencies produce, into
one normalised table per source. Values that cannot be normalised become null here and are
quarantined by validation with their raw value, so no row is dropped on the way in."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import numpy as np
import openpyxl
import pandas as pd

from schemas.inputs import SOURCES, SourceContract
from tasks.errors import InputFileError, printable
from tasks.reference import Reference, fold_key, map_unique
from tasks.sources.capacity_register import normalize_capacity
from tasks.sources.chamber_registry import normalize_registry, resolve_registry_province
from tasks.sources.consultation import normalize_consultation
from tasks.sources.exporter_exports import normalize_exporter_exports
from tasks.sources.exports_by_sector import normalize_exports
from tasks.sources.parsing import parse_numbers
from tasks.sources.sector_turnover import normalize_sector_turnover
from tasks.sources.sgk_employment import normalize_sgk
from tasks.store import cached_read, file_sha256, read_key, save_read

ENCODING_SAMPLE_BYTES = 64 * 1024


csv.field_size_limit(64 * 1024 * 1024)  # a 1 MB cell is read, then quarantined by its length rule


SEPARATORS = (";", ",", "\t")


@dataclass(frozen=True)
class SourceFile:
    """One input file as read: its canonical columns as text, and how it was decoded."""

    path: Path
    sha256: str
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
    aliases = {fold_key(a): c.name for c in contract.columns for a in (*c.aliases, c.name)}
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
    aliases = {fold_key(a) for c in contract.columns for a in (*c.aliases, c.name)}
    return sum(fold_key(cell) in aliases for cell in cells if cell is not None)


def read_delimited(path: Path, contract: SourceContract) -> SourceFile:
    """A CSV/TSV file, read whole or not at all: the header is found among the first 20 lines
    however long they are, and every line after it is accounted for (one row per line, or
    the lines a quoted cell spans); a count that does not add up is an error naming the file,
    never a partial read. Row numbers are the file's own line numbers."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputFileError(path, "contains NUL bytes: binary data or UTF-16 text, not a CSV in UTF-8 or Windows-1254")
    encoding = detect_encoding(raw[:ENCODING_SAMPLE_BYTES])
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise InputFileError(path, f"not valid {encoding} text at byte {error.start}") from error
    sha256 = hashlib.sha256(raw).hexdigest()
    lines = _first_lines(text, HEADER_SEARCH_LINES)  # the header is within the first 20 lines
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
    cells = max(width, 1 + _most_separators(raw, separator))  # no row has more cells than this
    data_lines = _line_count(raw) - (header_index + 1)
    del raw  # the text is what is parsed: one copy of the file less in memory
    first_row = header_index + 2  # line numbers start at 1, and the header is a line
    if _NOT_BLANK.search(text, data_start) is None:  # nothing but blank lines after the header
        frame = pd.DataFrame({position: pd.Series([], dtype=object) for position in mapping})
        rows = np.arange(0)
    else:
        wanted = [*sorted(mapping), *range(width, cells)]  # the mapped cells and any beyond the header
        frame = _parse_delimited(path, text, header_index, separator, cells, wanted)
        if len(frame) == data_lines:  # one row per line
            rows = np.arange(first_row, first_row + len(frame))
        else:  # quoted cells that span lines, or lines the parser did not return as rows
            whole = _parse_delimited(path, text, header_index, separator, cells, None)
            spans = np.ones(len(whole), dtype=np.int64)
            for column in whole:
                spans += whole[column].str.count(_LINE_BREAK.pattern).fillna(0).to_numpy(dtype=np.int64)
            if len(whole) != len(frame) or int(spans.sum()) != data_lines:
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
    frame = frame[frame.drop(columns="source_row").ne("").any(axis=1)]  # blank lines are not rows
    decimal = detect_decimal(frame, contract, default="," if separator != "," else ".")
    return _source_file(path, sha256, frame, encoding, separator, decimal)


HEADER_SEARCH_LINES = 20


# The line breaks the CSV parser ends a line on (not str.splitlines' \x85, \u2028, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


_NOT_BLANK = re.compile(r"\S")


def _first_lines(text: str, count: int) -> list[tuple[str, int]]:
    """The first ``count`` lines of ``text``, each with the offset where the next line starts,
    however long they are (a header of 20,000 columns is one line)."""
    lines, start = [], 0
    for match in _LINE_BREAK.finditer(text):
        lines.append((text[start : match.start()], match.end()))
        start = match.end()
        if len(lines) == count:
            return lines
    if start < len(text):
        lines.append((text[start:], len(text)))
    return lines


def _line_count(raw: bytes) -> int:
    """Lines in the file as the parser counts them: ``\\r\\n``, ``\\r`` or ``\\n`` ends one, and a
    final line break does not start an empty one (single ASCII bytes in UTF-8 and Windows-1254)."""
    breaks = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    return breaks + (0 if not raw or raw.endswith((b"\n", b"\r")) else 1)


def _most_separators(raw: bytes, separator: str, block: int = 1 << 23) -> int:
    """The most separators on any line of ``raw`` (quoted ones counted too, so one more is an
    upper bound of a row's cells). Separators and line breaks are single ASCII bytes in UTF-8
    and Windows-1254; counted in blocks, so the count needs a few bytes per byte of one block."""
    data = np.frombuffer(raw, dtype=np.uint8)
    mark, returns = ord(separator), b"\r" in raw
    most = carry = 0
    for start in range(0, len(data), block):
        part = data[start : start + block]
        separators = np.flatnonzero(part == mark)
        ends = np.flatnonzero(((part == 10) | (part == 13)) if returns else part == 10)
        if not len(ends):
            carry += len(separators)
            continue
        before = np.searchsorted(separators, ends)  # separators in the block before each line end
        counts = np.diff(before, prepend=0)
        counts[0] += carry
        most = max(most, int(counts.max()))
        carry = len(separators) - int(before[-1])
    return max(most, carry)


def _parse_delimited(
    path: Path, text: str, header_index: int, separator: str, cells: int, columns: list[int] | None
) -> pd.DataFrame:
    """The rows after the header as text, one column per cell position (``columns`` only, when
    given); ``cells`` is at least the longest row's count. ``index_col=False``: a row ending in
    an extra separator is not shifted (pandas would otherwise take its first cell as the index)."""
    options = {
        "skiprows": header_index + 1,
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
    numeric = [c.name for c in contract.columns if c.dtype == "float" and c.name in frame]
    values = pd.concat([frame[c] for c in numeric], ignore_index=True) if numeric else pd.Series([], dtype=str)
    values = values.astype(str).str.strip()
    comma = int(values.str.match(_DECIMAL_COMMA).sum())
    point = int(values.str.match(_DECIMAL_POINT).sum())
    if comma == point:
        return default
    return "," if comma > point else "."


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
    return _source_file(path, file_sha256(path), frame, None, None, ".")


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


def _source_file(path, sha256, frame, encoding, separator, decimal) -> SourceFile:
    frame = frame.assign(source_file=path.name).reset_index(drop=True)
    return SourceFile(path, sha256, frame, encoding, separator, decimal)


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


CONTRACTS = {name: contract for name, contract in SOURCES.items() if name in NORMALIZERS}


@dataclass(frozen=True)
class IngestedSource:
    """A source's rows from all its files, normalised, plus what was read and what failed."""

    source: str
    frame: pd.DataFrame
    files: list[dict]  # file, sha256, rows_in, read ("parsed" or "cached"), total rows checked
    failures: list[InputFileError] = field(default_factory=list)  # files that could not be read at all
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTED_COLUMNS))
    not_read: list[dict] = field(default_factory=list)  # {file, reason}: files in the folders not taken

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
    candidates = text.where(text.str.contains("top|tot", case=False, regex=True), "")
    return map_unique(candidates, fold_key).isin(TOTAL_WORDS)


def resolve_duplicate_firms(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per firm. A firm is (province, registry number), or (province, folded trade name)
    where the number is blank. Listed again in a newer file (inbox after sources, later name
    after earlier), the newer file's row is kept; listed twice in one file under two NACE
    codes, the row with more employees is its main activity and kept (ties: the first row).
    Every other row is quarantined with the row that was kept."""
    if frame.empty or "registry_no" not in frame:
        return frame, pd.DataFrame(columns=REJECTED_COLUMNS)
    number = frame.registry_no.fillna("").astype(str).str.strip()
    blank = number.eq("")
    identity = number.copy()
    identity[blank] = "name:" + frame.firm_name[blank].map(fold_key)
    # The rule works on integer codes, not on the registry's text (millions of rows).
    keyed = pd.DataFrame(
        {
            "_plate": frame.plate_code,
            "_firm": pd.factorize(identity)[0],
            "_file_order": frame._file_order,
            "_size": (frame.employees if "employees" in frame else pd.Series(0.0, index=frame.index)).fillna(-1),
            "source_row": frame.source_row,
        },
        index=frame.index,
    )[frame.plate_code.notna()]
    order = keyed.sort_values(
        ["_plate", "_firm", "_file_order", "_size", "source_row"], ascending=[True, True, False, False, True]
    )
    firm = [order._plate, order._firm]
    kept_of = order.index.to_series(index=order.index).groupby(firm).transform("first")
    repeated = order.index[order.duplicated(["_plate", "_firm"], keep="first")]
    if repeated.empty:
        return frame, pd.DataFrame(columns=REJECTED_COLUMNS)
    later = frame.loc[repeated]
    kept = frame.loc[kept_of[repeated].to_numpy()]
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
    return frame.drop(index=later.index), rejected


def ingest_files(
    source: str,
    directories: list[Path] | Path,
    ref: Reference,
    progress: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    force: bool = False,
    data_dir: Path | None = None,
) -> IngestedSource:
    """Read and normalise every file of a file-based source found in ``directories`` (the
    shipped sources first, then the inbox, whose files count as newer). With ``cache_dir``, a
    file already read (same content hash, same reader) is taken from the read cache
    (``tasks.store``), not parsed again, unless ``force``. Every other entry of the folders is
    in ``not_read`` with the reason (``list_source_folder``; ``data_dir``, the data folder,
    bounds where links may lead). Names are logged escaped (``printable``): a name cannot forge a log line."""
    contract, normalize = CONTRACTS[source], NORMALIZERS[source]
    directories = [directories] if isinstance(directories, Path) else directories
    frames, files, failures, rejected, not_read = [], [], [], [], []
    paths = []
    for directory in directories:
        listing = list_source_folder(directory, source, data_dir)
        paths += [(directory, path) for path in listing.files]
        for path, reason in listing.not_read:
            label = _label(path, directory, directories)
            progress(f"{source}: not read: {printable(label)}: {reason}")
            not_read.append({"file": label, "reason": reason})
    for order, (directory, path) in enumerate(paths):
        relative = path.relative_to(directory).as_posix()
        label = _label(path, directory, directories)
        progress(f"{source}: reading {printable(label)} ({order + 1}/{len(paths)})")
        try:
            sha = file_sha256(path)
        except OSError as error:
            failures.append(InputFileError(label, f"cannot be opened ({error.strerror})", source))
            continue
        key = read_key(source, sha, relative)
        try:
            cached = None if force else cached_read(cache_dir, source, key)
            if cached:
                rows, bad, info = cached
            else:
                rows, bad, info = parse_file(path, contract, normalize, ref, source, sha)
                save_read(cache_dir, source, key, rows, bad, info)
        except InputFileError as error:
            failures.append(InputFileError(label, error.problem, source, error.provinces))
            continue
        except OSError as error:  # removed or made unreadable while the run read the folder
            failures.append(InputFileError(label, f"cannot be read ({error.strerror})", source))
            continue
        frames.append(rows.assign(source_file=label, _file_order=order))
        rejected.append(bad.assign(file=label))
        files.append({**info, "file": label})
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["source_file", "source_row"])
    frames.clear()  # the per-file frames are in ``frame`` now
    if source == "chamber_registry":
        frame, duplicates = resolve_duplicate_firms(frame, source)
        rejected.append(duplicates)
    frame = frame.drop(columns="_file_order", errors="ignore")
    rejected_frame = (
        pd.concat([r for r in rejected if len(r)], ignore_index=True)
        if any(len(r) for r in rejected)
        else pd.DataFrame(columns=REJECTED_COLUMNS)
    )
    return IngestedSource(source, frame.reset_index(drop=True), files, failures, rejected_frame, not_read)


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
        "plate_codes": sorted({int(p) for p in rows.plate_code.dropna()}) if "plate_code" in rows else [],
        "encoding": read.encoding,
        "separator": read.separator,
        "decimal": read.decimal,
        "total_rows": checks,
        "read": "parsed",
    }
    return rows, bad, info
