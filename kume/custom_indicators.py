"""The indicator stage on an analyst's own table, for any country and region set
(``kume indicators``): read the facts and optional totals, compute, write Parquet."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.errors import IndicatorInputError
from tasks.methods.indicators import compute_indicators

CODE_COLUMNS = ("region_code", "sector_code")  # text, so that '01' keeps its leading zero
REQUIRED = {
    "facts": ("region_code", "sector_code", "year", "employment", "establishments"),
    "region totals": ("region_code", "year", "employment"),
    "national totals": ("sector_code", "year", "employment"),
}


def read_table(path: Path, kind: str, required: Sequence[str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet file (by extension) with code columns kept as text, holding the
    ``required`` columns (default: those of ``kind`` in ``REQUIRED``)."""
    if not path.exists():
        raise IndicatorInputError(path, f"no such {kind} file")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
        for column in CODE_COLUMNS:
            if column in frame:
                frame[column] = frame[column].astype(str)
    elif path.suffix.lower() in {".csv", ".txt", ".tsv"}:
        frame = pd.read_csv(path, sep=None, engine="python", dtype={c: str for c in CODE_COLUMNS})
    else:
        raise IndicatorInputError(path, f"{kind} must be .csv or .parquet")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in (REQUIRED[kind] if required is None else required) if c not in frame]
    if missing:
        raise IndicatorInputError(path, f"{kind} lacks required columns {missing}")
    for column in [c for c in frame if c not in (*CODE_COLUMNS, "sector_name")]:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.idxmax()) + 2  # header is line 1
            value = frame[column][bad].iloc[0]
            raise IndicatorInputError(path, f"row {row}, column {column}: {value!r} is not a number")
        frame[column] = numbers
    frame["year"] = frame["year"].astype("int64")
    return frame


def read_universe(path: Path) -> list[str]:
    """Sector codes of the reference universe: one per line, or a CSV with ``sector_code``."""
    text = path.read_text(encoding="utf-8").splitlines()
    codes = [line.split(",")[0].strip() for line in text if line.strip()]
    return [c for c in codes if c != "sector_code"]


def run(
    facts: Path,
    out_dir: Path,
    region_totals: Path | None = None,
    national_totals: Path | None = None,
    universe: Path | None = None,
    growth_spans: list[int] | None = None,
) -> dict:
    """Compute every indicator whose inputs are present and write ``out_dir/indicators.parquet``
    (region x sector x year), ``growth.parquet``, ``concentration.parquet`` and
    ``totals_used.json``. Returns the row counts and totals used."""
    table = read_table(facts, "facts")
    result = compute_indicators(
        table,
        read_table(region_totals, "region totals") if region_totals else None,
        read_table(national_totals, "national totals") if national_totals else None,
        growth_spans or [5],
        read_universe(universe) if universe else None,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (
        ("indicators", result.table),
        ("growth", result.growth),
        ("concentration", result.concentration),
    ):
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(arrow, out_dir / f"{name}.parquet", compression="zstd")
    (out_dir / "totals_used.json").write_text(json.dumps(result.totals_used, indent=2) + "\n", encoding="utf-8")
    return {"rows": len(result.table), "totals_used": result.totals_used}
