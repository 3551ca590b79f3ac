"""Bench: a hand-made DuckDB reference of kume's indicator stage, to compare kume's speed against.

    .venv/bin/python bench/duckdb_reference.py [SOURCES [REFERENCE]]

Runs ``bench/reference.sql`` (raw SGK CSVs -> LQ, focus, national share, CAGR, shift-share, US
CMP flags per province x class x year) in a fresh in-memory DuckDB on all cores, and prints its
wall time, result rows and the process's peak memory. SOURCES is a sources folder (its
``sgk_employment/`` is read) or the SGK folder itself; defaults: the shipped ``data/sources``
and ``data/reference``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("reference.sql")
GROWTH_YEARS = 5  # kume's primary span (the first of growth_spans)


def _sql_path(path: Path) -> str:
    """A folder as it goes inside a SQL string literal: absolute, forward slashes, quotes doubled."""
    return path.resolve().as_posix().replace("'", "''")


def sgk_folder(sources_dir: Path) -> Path:
    """The folder holding the SGK files: ``<sources>/sgk_employment`` as kume lays sources out,
    else ``sources_dir`` itself."""
    nested = Path(sources_dir) / "sgk_employment"
    return nested if nested.is_dir() else Path(sources_dir)


def reference_sql(sources_dir: Path, reference_dir: Path, growth_years: int = GROWTH_YEARS) -> str:
    """The reference script with its placeholders filled in."""
    sql = SCRIPT.read_text(encoding="utf-8")
    for name, value in {
        "$sources": _sql_path(sgk_folder(sources_dir)),
        "$reference": _sql_path(reference_dir),
        "$growth_years": str(int(growth_years)),
    }.items():
        sql = sql.replace(name, value)
    return sql


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_reference(sources_dir: Path, reference_dir: Path, growth_years: int = GROWTH_YEARS) -> dict:
    """Run the reference on the SGK files of ``sources_dir`` and materialise its result as a
    pandas DataFrame. The time covers connecting, reading the CSVs, computing and the transfer
    to pandas: what kume's ingest-to-indicators path does for these columns."""
    sql = reference_sql(Path(sources_dir), Path(reference_dir), growth_years)
    start = time.perf_counter()
    with duckdb.connect(":memory:", config={"threads": os.cpu_count() or 1}) as connection:
        table = connection.execute(sql).df()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": len(table), "peak_rss_mb": peak_rss_mb(), "table": table}


def main(argv: list[str]) -> None:
    sources = Path(argv[0]) if argv else ROOT / "data" / "sources"
    reference = Path(argv[1]) if len(argv) > 1 else ROOT / "data" / "reference"
    result = run_reference(sources, reference)
    print(
        f"DuckDB reference ({os.cpu_count()} threads, {duckdb.__version__}): {result['seconds']:.2f} s, "
        f"{result['rows']} province x class x year rows, peak RSS {result['peak_rss_mb']:.0f} MiB"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
