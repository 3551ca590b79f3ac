"""Readers: turn each source's files, in the layouts real chambers and agencies produce, into
one normalised table per source. Values that cannot be normalised become null here and are
quarantined by validation with their raw value, so no row is dropped on the way in."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import openpyxl
import pandas as pd
import sqlalchemy as sa

from schemas.inputs import (
    AGENCY_DB_TABLES,
    CHAMBER_REGISTRY,
    CONSULTATION,
    EXPORTS_BY_SECTOR,
    SGK_EMPLOYMENT,
    SOURCES,
    SourceContract,
)
from tasks.reference import Reference, fold_key, normalize_nace

ENCODING_SAMPLE_BYTES = 64 * 1024
SEPARATORS = (";", ",", "\t")
TRUE_WORDS = {"e", "evet", "var", "yes", "y", "true", "1", "x"}
FALSE_WORDS = {"h", "hayir", "yok", "no", "n", "false", "0"}
STANCES = {
    "destek": "support",
    "support": "support",
    "tarafsiz": "neutral",
    "neutral": "neutral",
    "karsi": "oppose",
    "oppose": "oppose",
    "itiraz": "oppose",
}


class IngestError(Exception):
    """A file that cannot be read at all: names the file and what is wrong."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class SourceFile:
    """One input file as read: its canonical columns as text, and how it was decoded."""

    path: Path
    sha256: str
    frame: pd.DataFrame  # canonical column names, str values, plus source_file / source_row
    encoding: str | None
    separator: str | None
    decimal: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def header_map(columns: list[object], contract: SourceContract, path: Path) -> dict[str, str]:
    """Map raw header cells to canonical names; every required column must be found."""
    aliases = {fold_key(a): c.name for c in contract.columns for a in (*c.aliases, c.name)}
    mapping: dict[str, str] = {}
    for raw in columns:
        canonical = aliases.get(fold_key(raw))
        if canonical and canonical not in mapping.values():
            mapping[str(raw)] = canonical
    missing = [c.name for c in contract.columns if c.required and c.name not in mapping.values()]
    if missing:
        raise IngestError(path, f"missing required columns {missing} (found headers {list(map(str, columns))})")
    return mapping


def _header_score(cells: list[object], contract: SourceContract) -> int:
    aliases = {fold_key(a) for c in contract.columns for a in (*c.aliases, c.name)}
    return sum(fold_key(cell) in aliases for cell in cells if cell is not None)


def read_delimited(path: Path, contract: SourceContract) -> SourceFile:
    raw = path.read_bytes()
    encoding = detect_encoding(raw[:ENCODING_SAMPLE_BYTES])
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise IngestError(path, f"not valid {encoding} at byte {error.start}") from error
    lines = text.splitlines()
    header_index = next(
        (i for i, line in enumerate(lines[:20]) if line.strip() and _header_score(_split(line), contract) >= 2),
        None,
    )
    if header_index is None:
        raise IngestError(path, "no header row with the expected column names in the first 20 lines")
    separator = detect_separator(lines[header_index])
    frame = pd.read_csv(
        path,
        sep=separator,
        encoding=encoding,
        dtype=str,
        keep_default_na=False,
        skiprows=header_index,
        quoting=csv.QUOTE_MINIMAL,
        skip_blank_lines=False,
    )
    mapping = header_map(list(frame.columns), contract, path)
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.assign(source_row=range(header_index + 2, header_index + 2 + len(frame)))
    frame = frame[frame.drop(columns="source_row").ne("").any(axis=1)]  # blank lines are not rows
    decimal = detect_decimal(frame, contract, default="," if separator != "," else ".")
    return _source_file(path, raw, frame, encoding, separator, decimal)


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
        raise IngestError(path, f"not a readable .xlsx workbook ({error})") from error
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    header_index = next((i for i, row in enumerate(rows[:30]) if _header_score(list(row), contract) >= 2), None)
    if header_index is None:
        raise IngestError(path, "no header row with the expected column names in the first 30 rows")
    header = list(rows[header_index])
    mapping = header_map(header, contract, path)
    positions = {header.index(raw): canonical for raw, canonical in mapping.items() if raw in header}
    records = []
    for offset, row in enumerate(rows[header_index + 1 :]):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        record = {name: _excel_text(row[i]) if i < len(row) else "" for i, name in positions.items()}
        record["source_row"] = header_index + 2 + offset
        records.append(record)
    frame = pd.DataFrame(records, columns=[*positions.values(), "source_row"])
    return _source_file(path, path.read_bytes(), frame, None, None, ".")


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


def _source_file(path, raw, frame, encoding, separator, decimal) -> SourceFile:
    frame = frame.assign(source_file=path.name).reset_index(drop=True)
    return SourceFile(path, hashlib.sha256(raw).hexdigest(), frame, encoding, separator, decimal)


def read_source_file(path: Path, contract: SourceContract) -> SourceFile:
    """Read one CSV/TSV or .xlsx file of a source into canonical text columns."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return read_excel(path, contract)
    return read_delimited(path, contract)


def parse_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to float. With a decimal comma, dots are thousands (``1.250.000,50``); otherwise
    commas are thousands. Blank is null; anything unparseable is null (and quarantined)."""
    text = values.fillna("").astype(str).str.strip().str.replace(r"[\s₺$]|TL", "", regex=True)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written ``dd.mm.yyyy`` or ``yyyy-mm-dd`` (both occur in one column)."""
    text = values.fillna("").astype(str).str.strip()
    dotted = pd.to_datetime(text, format="%d.%m.%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return dotted.fillna(iso)


def parse_flags(values: pd.Series) -> pd.Series:
    keys = values.map(fold_key)
    return pd.Series(
        pd.array([True if k in TRUE_WORDS else False if k in FALSE_WORDS else None for k in keys], dtype="boolean"),
        index=values.index,
    )


def _with_provenance(frame: pd.DataFrame, table: pd.DataFrame, raw_columns: dict[str, str]) -> pd.DataFrame:
    """Attach source_file/source_row and, as ``raw__<column>``, the text each normalised
    column was parsed from, so that quarantine shows what the file really said."""
    out = frame.assign(source_file=table.source_file.to_numpy(), source_row=table.source_row.to_numpy())
    for column, raw in raw_columns.items():
        out[f"raw__{column}"] = table[raw].to_numpy() if raw in table else ""
    return out


def _nace_columns(values: pd.Series) -> tuple[list, list]:
    pairs = [normalize_nace(v) for v in values]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _plates(values: pd.Series, ref: Reference) -> pd.Series:
    return pd.Series([ref.plate_code(v) for v in values], index=values.index, dtype="Int64")


def normalize_registry(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, national = _nace_columns(table.nace_code)
    frame = pd.DataFrame(
        {
            "registry_no": table.registry_no.str.strip(),
            "firm_name": table.firm_name.str.strip(),
            "nace_class": nace_class,
            "national_activity_code": national,
            "plate_code": _plates(table.province, ref),
            "district": table.get("district", pd.Series("", index=table.index)).str.strip(),
            "employees": parse_numbers(table.employees, decimal),
            "founded": parse_dates(table.get("founded", pd.Series("", index=table.index))),
            "capital_try": parse_numbers(table.capital_try, decimal),
            "turnover_try": parse_numbers(table.turnover_try, decimal),
            "exporter": parse_flags(table.exporter),
            "capacity_report": parse_flags(table.get("capacity_report", pd.Series("", index=table.index))),
        }
    )
    frame["employees_missing"] = table.employees.str.strip().eq("").to_numpy()
    return _with_provenance(
        frame,
        table,
        {"nace_class": "nace_code", "plate_code": "province", "employees": "employees", "turnover_try": "turnover_try"},
    )


def normalize_sgk(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, _ = _nace_columns(table.nace_code)
    province = table.province
    if "plate_code_raw" in table:
        province = table.plate_code_raw.where(table.plate_code_raw.str.strip().ne(""), table.province)
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(table.year, errors="coerce").astype("Int64"),
            "plate_code": _plates(province, ref),
            "nace_class": nace_class,
            "establishments": parse_numbers(table.establishments, decimal),
            "employment": parse_numbers(table.employment, decimal),
        }
    )
    raw = {
        "year": "year",
        "plate_code": "province",
        "nace_class": "nace_code",
        "employment": "employment",
        "establishments": "establishments",
    }
    return _with_provenance(frame, table.assign(province=province), raw)


def normalize_exports(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    sectors = {
        fold_key(n): sid for n, sid in zip(ref.exporter_sectors.name_tr, ref.exporter_sectors.sector_id, strict=True)
    }
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(table.year, errors="coerce").astype("Int64"),
            "plate_code": _plates(table.province, ref),
            "exporter_sector_id": [sectors.get(fold_key(v)) for v in table.exporter_sector],
            # published in thousand USD; kume works in USD
            "exports_usd": parse_numbers(table.exports_thousand_usd, decimal) * 1000,
        }
    )
    raw = {
        "year": "year",
        "plate_code": "province",
        "exporter_sector_id": "exporter_sector",
        "exports_usd": "exports_thousand_usd",
    }
    return _with_provenance(frame, table, raw)


def normalize_consultation(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    nace_class, _ = _nace_columns(table.nace_code)
    frame = pd.DataFrame(
        {
            "plate_code": _plates(table.province, ref),
            "meeting_date": parse_dates(table.meeting_date),
            "institution": table.institution.str.strip(),
            "institution_type": table.institution_type.str.strip(),
            "nace_class": nace_class,
            "stance": [STANCES.get(fold_key(v)) for v in table.stance],
            "note": table.get("note", pd.Series("", index=table.index)),
        }
    )
    raw = {"plate_code": "province", "meeting_date": "meeting_date", "nace_class": "nace_code", "stance": "stance"}
    return _with_provenance(frame, table, raw)


NORMALIZERS: dict[str, Callable[[pd.DataFrame, Reference, str], pd.DataFrame]] = {
    "chamber_registry": normalize_registry,
    "sgk_employment": normalize_sgk,
    "exports_by_sector": normalize_exports,
    "consultation": normalize_consultation,
}
CONTRACTS = {c.name: c for c in (CHAMBER_REGISTRY, SGK_EMPLOYMENT, EXPORTS_BY_SECTOR, CONSULTATION)}


@dataclass(frozen=True)
class IngestedSource:
    """A source's rows from all its files, normalised, plus what was read and what failed."""

    source: str
    frame: pd.DataFrame
    files: list[dict]  # file, sha256, rows_in
    errors: list[str]  # files that could not be read at all


def source_files(directory: Path, source: str) -> list[Path]:
    patterns = SOURCES[source].file_patterns + (("*.tsv",) if "*.csv" in SOURCES[source].file_patterns else ())
    found = {p for pattern in patterns for p in directory.glob(pattern) if not p.name.startswith((".", "~$"))}
    return sorted(found)


def ingest_files(
    source: str, directory: Path, ref: Reference, progress: Callable[[str], None] = print
) -> IngestedSource:
    """Read and normalise every file of a file-based source found in ``directory``."""
    contract, normalize = CONTRACTS[source], NORMALIZERS[source]
    frames, files, errors = [], [], []
    paths = source_files(directory, source)
    for number, path in enumerate(paths, start=1):
        progress(f"{source}: reading {path.name} ({number}/{len(paths)})")
        try:
            read = read_source_file(path, contract)
        except IngestError as error:
            errors.append(str(error))
            continue
        frames.append(normalize(read.frame, ref, read.decimal))
        files.append(
            {
                "file": path.name,
                "sha256": read.sha256,
                "rows_in": len(read.frame),
                "encoding": read.encoding,
                "separator": read.separator,
            }
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return IngestedSource(source, frame, files, errors)


def ingest_agency_db(url: str, ref: Reference) -> IngestedSource:
    """Read the development-agency database through SQLAlchemy, flattened to long format
    (table, plate_code, nace_class, measure, value) with each record's table and id."""
    engine = sa.create_engine(url)
    label = url.rsplit("/", 1)[-1]
    frames = []
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names())
            missing = sorted(set(AGENCY_DB_TABLES) - present)
            if missing:
                raise IngestError(Path(label), f"agency database lacks tables {missing}")
            for table, measures in AGENCY_DB_TABLES.items():
                records = pd.read_sql_table(table, connection)
                frames.append(_agency_long(table, measures, records, ref, label))
    except sa.exc.SQLAlchemyError as error:
        raise IngestError(Path(label), f"cannot read the agency database ({error.__class__.__name__})") from error
    finally:
        engine.dispose()
    frame = pd.concat(frames, ignore_index=True)
    rows_in = frame.drop_duplicates(["table", "source_row"]).shape[0]
    files = [
        {"file": label, "sha256": _database_fingerprint(url), "rows_in": rows_in, "encoding": None, "separator": None}
    ]
    return IngestedSource("agency_db", frame, files, [])


def _agency_long(
    table: str, measures: tuple[str, ...], records: pd.DataFrame, ref: Reference, label: str
) -> pd.DataFrame:
    """One long row per record and measure. Counts are 1 per record; graduates and the survey's
    Likert answer carry their value. Zones are specialised (sector-specific) or organised."""
    nace_class, _ = _nace_columns(records.nace_code.fillna(""))
    plates = pd.array([ref.plate_code(p) for p in records.plate_code], dtype="Int64")
    out = []
    for measure in measures:
        if measure == "graduates":
            value = records["graduates"]
        elif measure == "cooperation_willingness":
            value = records["willingness"]
        else:
            value = pd.Series(1.0, index=records.index)
        measure_of_row = measure
        if table == "industrial_zones":
            measure_of_row = records["kind"].map({"specialised": "specialised_zones"}).fillna("organised_zones")
        out.append(
            pd.DataFrame(
                {
                    "table": table,
                    "plate_code": plates,
                    "nace_class": nace_class,
                    "measure": measure_of_row,
                    "value": pd.to_numeric(value, errors="coerce").astype(float).to_numpy(),
                    "source_file": f"{label}:{table}",
                    "source_row": records["id"].to_numpy(),
                    "raw__nace_class": records.nace_code.fillna("").astype(str).to_numpy(),
                    "raw__plate_code": records.plate_code.astype(str).to_numpy(),
                    "raw__value": value.astype(str).to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _database_fingerprint(url: str) -> str:
    """Content hash of an SQLite file; for a server database, a hash of the URL."""
    if url.startswith("sqlite:///"):
        return file_sha256(Path(url.removeprefix("sqlite:///")))
    return hashlib.sha256(url.encode()).hexdigest()
