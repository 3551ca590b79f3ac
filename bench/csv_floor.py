"""Bench: the floor of reading the member lists, to compare kume's ingest against.

    .venv/bin/python bench/csv_floor.py SOURCES

Reads every ``chamber_registry`` file under SOURCES (``SOURCES/chamber_registry``, one province
folder down too) with pyarrow's C CSV reader: the encoding detected from the first bytes as kume
detects it (a BOM, else valid UTF-8, else charset detection between UTF-8 and Windows-1254), the
separator sniffed from the header line (the first line), every column as text, no normalisation,
in this one process. Prints one JSON line: seconds, rows, peak_rss_mb, files.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from duckdb_reference import peak_rss_mb  # noqa: E402

from tasks.sources.files import ENCODING_SAMPLE_BYTES, detect_encoding, detect_separator  # noqa: E402

SUFFIXES = {".csv", ".tsv"}


def arrow_encoding(sample: bytes) -> str:
    """kume's encoding of a file (``detect_encoding``) in pyarrow's names: its reader skips a
    UTF-8 BOM itself."""
    encoding = detect_encoding(sample)
    return "utf8" if encoding.lower().replace("-", "_").startswith("utf_8") else encoding


def registry_files(sources_dir: Path) -> list[Path]:
    """The member lists: ``.csv``/``.tsv`` files in ``chamber_registry`` and one folder down."""
    folder = Path(sources_dir) / "chamber_registry"
    found = [*folder.glob("*"), *folder.glob("*/*")]
    return sorted(path for path in found if path.is_file() and path.suffix.lower() in SUFFIXES)


def read_file(path: Path) -> pa.Table:
    """One file as text columns, named by its header line."""
    with path.open("rb") as handle:
        sample = handle.read(ENCODING_SAMPLE_BYTES)
    encoding = arrow_encoding(sample)
    header = sample.decode("utf-8" if encoding == "utf8" else encoding, errors="replace").lstrip("\ufeff")
    header = header.splitlines()[0]
    separator = detect_separator(header)
    names = header.split(separator)
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=separator),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    )


def read_floor(sources_dir: Path) -> dict:
    """Read every member list of ``sources_dir`` and time it: seconds, rows, peak_rss_mb, files.
    The tables are kept until the end, as an ingest keeps its rows."""
    paths = registry_files(sources_dir)
    start = time.perf_counter()
    tables = [read_file(path) for path in paths]
    seconds = time.perf_counter() - start
    rows = sum(table.num_rows for table in tables)
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak_rss_mb(), "files": len(paths)}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(json.dumps(read_floor(Path(sys.argv[1]))))
