"""Which reference years the data can answer for, read cheaply before any work: a run asked for
a year outside the SGK statistics is refused in one line, before ingestion and validation."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from schemas.inputs import SGK_EMPLOYMENT
from tasks.errors import ParameterError
from tasks.reference import fold_key
from tasks.sources.files import (
    ENCODING_SAMPLE_BYTES,
    _header_score,
    _split,
    detect_encoding,
    detect_separator,
    list_source_folder,
)

HEADER_LINES = 20


def sgk_years(folders: list[Path], data_dir: Path) -> set[int]:
    """The years in the SGK employment files of ``folders`` (shipped, then inbox), the files the
    run would read (``list_source_folder``): only the year column of each is parsed. Files that
    cannot be read here (no header row, no year column, ...) are left to the run, which reports them."""
    aliases = {fold_key(a) for a in (*SGK_EMPLOYMENT.column("year").aliases, "year")}
    years: set[int] = set()
    for folder in folders:
        for path in list_source_folder(folder, "sgk_employment", data_dir).files:
            try:
                years |= _years_of(path, aliases)
            except (OSError, UnicodeDecodeError, ValueError, StopIteration, pd.errors.ParserError, csv.Error):
                continue
    return years


def _years_of(path: Path, aliases: set[str]) -> set[int]:
    with path.open("rb") as handle:
        encoding = detect_encoding(handle.read(ENCODING_SAMPLE_BYTES))
    with path.open(encoding=encoding, newline="") as handle:
        lines = [handle.readline() for _ in range(HEADER_LINES)]
    index = next(i for i, line in enumerate(lines) if _header_score(_split(line), SGK_EMPLOYMENT) >= 2)
    separator = detect_separator(lines[index])
    header = next(csv.reader([lines[index]], delimiter=separator))
    column = next(i for i, name in enumerate(header) if fold_key(name) in aliases)
    values = pd.read_csv(
        path, encoding=encoding, sep=separator, skiprows=index + 1, header=None, usecols=[column], dtype=str
    ).iloc[:, 0]
    return {int(v) for v in pd.to_numeric(values, errors="coerce").dropna()}


def check_reference_year(year: int | None, folders: list[Path], data_dir: Path) -> None:
    """Refuse a reference year the SGK statistics do not cover, naming the years they do."""
    if year is None:
        return
    years = sgk_years(folders, data_dir)
    if years and year not in years:
        raise ParameterError(
            "reference_year",
            f"reference year {year} is not in the data: the SGK employment statistics cover "
            f"{min(years)}-{max(years)}; give one of those years, or none for the latest",
        )
