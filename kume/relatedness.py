"""Relatedness, complexity and opportunities on an analyst's own table, for any country and
region set (``kume relatedness``): read the facts as ``kume indicators`` does, compute §6,
write Parquet and a short summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kume.custom_indicators import read_table, read_universe
from schemas.parameters import RelatednessParameters
from tasks.errors import IndicatorInputError
from tasks.methods.indicators import compute_indicators
from tasks.methods.relatedness import SUPPORTS, TABLE_COLUMNS, compute_relatedness

REQUIRED = ("region_code", "sector_code", "year", "employment")  # establishments etc. are not needed here
GROWTH_YEARS = 5  # the span of the national growth, or the table's whole span when shorter
NO_GROWTH_ONE_YEAR = "national_sector_employment_cagr: one year of data, no growth"


def _published(columns: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """The method's columns with ``window_years`` after ``year`` and ``extra`` before the supports."""
    at = columns.index("year") + 1
    columns = [*columns[:at], "window_years", *columns[at:]]
    supports = next((n for n, c in enumerate(columns) if c.startswith("support_")), len(columns))
    return [*columns[:supports], *extra, *columns[supports:]]


COLUMNS = {
    "relatedness": _published(TABLE_COLUMNS["pairs"]),
    "complexity": _published(TABLE_COLUMNS["complexity"]),
    "opportunities": _published(TABLE_COLUMNS["opportunities"], ("national_sector_employment_cagr", "growth_years")),
}


@dataclass(frozen=True)
class RelatednessRun:
    """What ``run`` wrote and what the summary tells."""

    files: dict[str, Path]  # dataset name -> the Parquet file
    frames: dict[str, pd.DataFrame]  # dataset name -> what was written
    years: list[int]  # the years in the table
    parameters: RelatednessParameters
    growth_years: int | None  # span of the national growth; None with one year of data
    regions: int
    sectors: int
    no_employment: int  # rows with an empty employment, counted as 0


def run(
    facts: Path,
    out_dir: Path,
    universe: Path | None = None,
    parameters: RelatednessParameters | None = None,
) -> RelatednessRun:
    """§6 on ``facts`` (region_code, sector_code, year, employment) for every year with a full
    window, with the run parameters' defaults unless ``parameters`` are given; writes
    ``out_dir/relatedness.parquet`` (sector pairs), ``complexity.parquet`` and
    ``opportunities.parquet`` (with the national growth of each sector, §6.6)."""
    parameters = parameters or RelatednessParameters()
    window = parameters.window
    table, sectors, years = read_facts(facts, universe, window)
    result = compute_relatedness(table, parameters.min_employment, window, parameters.leave_one_out, sectors)
    span = min(GROWTH_YEARS, years[-1] - years[0]) or None
    frames = {
        "relatedness": result.pairs,
        "complexity": result.complexity.astype({"diversity": "Int64", "ubiquity": "Int64"}),
        "opportunities": _with_national_growth(result.opportunities, table, span, sectors),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in frames.items():
        frame = frame.assign(window_years=window)[COLUMNS[name]]
        frames[name] = frame
        files[name] = out_dir / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(as_text(frame), preserve_index=False), files[name], compression="zstd")
    return RelatednessRun(
        files,
        frames,
        years,
        parameters,
        span,
        table.region_code.nunique(),
        table.sector_code.nunique(),
        int(table.employment.isna().sum()),
    )


def read_facts(facts: Path, universe: Path | None, window: int) -> tuple[pd.DataFrame, list[str] | None, list[int]]:
    """The facts of ``kume relatedness`` and ``kume clusters``, checked (codes, employment, the
    years a ``window`` needs), with the ``universe`` file's sectors only when given: the table,
    those sectors (None: every sector) and the table's years."""
    table = read_table(facts, "facts", REQUIRED)
    _check_codes(table, facts)
    sectors = read_universe(_existing(universe)) if universe else None
    if sectors is not None:
        table = table[table.sector_code.isin(sectors)]
        if table.empty:
            raise IndicatorInputError(universe, f"none of its sector codes is in {facts}")
    return table, sectors, _check_years(table, facts, window)


def _existing(path: Path) -> Path:
    if not path.exists():
        raise IndicatorInputError(path, "no such universe file")
    return path


def _check_codes(table: pd.DataFrame, path: Path) -> None:
    """Every row names its region and sector; employment is never negative (RCA would be
    meaningless). An empty employment is accepted and counts as 0, like a missing row."""
    for column in ("region_code", "sector_code"):
        blank = table[column].isna() | table[column].str.strip().eq("")
        if blank.any():
            raise IndicatorInputError(path, f"row {int(blank.idxmax()) + 2}, column {column}: empty")
    negative = table.employment < 0
    if negative.any():
        row = int(negative.idxmax())
        raise IndicatorInputError(path, f"row {row + 2}, column employment: {table.employment[row]:g} is negative")


def _check_years(table: pd.DataFrame, path: Path, window: int) -> list[int]:
    """The table's years; refused when no window of ``window`` consecutive years is wholly in
    it, or (for a window over 1 year) when a year inside its span has no row at all (the
    window averages would count it as 0 employment everywhere, §6.1)."""
    years = sorted(int(year) for year in table.year.unique())
    if not years:
        raise IndicatorInputError(path, "no rows")
    if years[-1] - years[0] + 1 < window:
        listed = ", ".join(map(str, years))
        raise IndicatorInputError(
            path,
            f"a {window}-year window needs {window} consecutive years, the table has {len(years)} ({listed}): "
            f"add years or use --window {years[-1] - years[0] + 1}",
        )
    missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
    if window > 1 and missing:
        raise IndicatorInputError(
            path,
            f"no rows for year(s) {', '.join(map(str, missing))} between {years[0]} and {years[-1]}: "
            f"a {window}-year window would count them as 0 employment",
        )
    return years


def _with_national_growth(
    opportunities: pd.DataFrame, table: pd.DataFrame, span: int | None, universe: list[str] | None
) -> pd.DataFrame:
    """Each opportunity with its sector's national employment CAGR over ``span`` years (§2.3),
    from the indicators on the same facts; null with a reason where it cannot be computed."""
    frame = opportunities.assign(growth_years=pd.Series(span, index=opportunities.index, dtype="Int64"))
    if span is None:
        frame["national_sector_employment_cagr"] = float("nan")
        return frame.assign(null_reason=_joined(frame.null_reason, NO_GROWTH_ONE_YEAR))
    indicators = compute_indicators(table, growth_spans=[span], universe=universe).table
    national = indicators.groupby(["sector_code", "year"], as_index=False).agg(
        national_sector_employment_cagr=("national_sector_employment_cagr", "first"),
        national_sector_employment=("national_sector_employment", "first"),
    )
    frame = frame.merge(national[["sector_code", "year", "national_sector_employment_cagr"]], how="left")
    earlier = national.assign(year=national.year + span)[["sector_code", "year", "national_sector_employment"]]
    start = frame[["sector_code", "year"]].merge(earlier, how="left").national_sector_employment
    reason = pd.Series(None, index=frame.index, dtype="object")
    reason = reason.mask(start.le(0), f"national employment {span} years earlier is zero")
    reason = reason.mask(start.isna(), f"no national employment {span} years earlier")
    reason = ("national_sector_employment_cagr: " + reason).where(frame.national_sector_employment_cagr.isna())
    return frame.assign(null_reason=_joined(frame.null_reason, reason))


def _joined(first: pd.Series, second: pd.Series | str) -> pd.Series:
    """Two reasons per row joined with '; ' (either may be null)."""
    second = pd.Series(second, index=first.index, dtype="object")
    pairs = zip(first, second, strict=True)
    joined = ["; ".join(part for part in pair if isinstance(part, str)) or None for pair in pairs]
    return pd.Series(joined, index=first.index, dtype="object")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Code columns as text (a null stays null), so '01' keeps its leading zero."""
    codes = [c for c in frame if c.endswith("region_code") or c.endswith("sector_code")]
    return frame.astype({c: "str" for c in codes})


def summary(result: RelatednessRun) -> list[str]:
    """The lines ``kume relatedness`` prints: what was written, the years covered and, per
    region, the top opportunity of the last year with what supports it."""
    years, parameters = result.years, result.parameters
    computed = sorted(result.frames["complexity"].year.unique())
    leave_one_out = ", leave-one-out" if parameters.leave_one_out else ""
    lines = [
        f"{result.regions} regions x {result.sectors} sectors, {_span(years)}; {parameters.window}-year window, "
        f"minimum employment {parameters.min_employment:g}{leave_one_out}: computed for {_span(computed)}",
    ]
    if result.no_employment:
        lines.append(f"  {result.no_employment} row(s) with no employment counted as 0")
    lines.append(f"{len(result.frames['relatedness'])} sector pairs -> {result.files['relatedness']}")
    lines.append(f"{len(result.frames['complexity'])} rows -> {result.files['complexity']}")
    lines.append(f"{len(result.frames['opportunities'])} rows -> {result.files['opportunities']}")
    growth = f"{result.growth_years}-year CAGR" if result.growth_years else "none, one year of data"
    last = computed[-1]
    lines.append(f"top opportunity per region in {last} (national growth: {growth}):")
    opportunities = result.frames["opportunities"]
    top = opportunities[(opportunities.year == last) & (opportunities["rank"] == 1)].set_index("region_code")
    regions = sorted(result.frames["complexity"].region_code.dropna().unique())
    for region in regions:
        if region not in top.index:
            lines.append(f"  {region}  none (no absent sector with a density)")
            continue
        row = top.loc[region]
        supports = [
            f"{row[f'support_{n}_sector_code']} ({row[f'support_{n}_proximity']:.2f})"
            for n in range(1, SUPPORTS + 1)
            if pd.notna(row[f"support_{n}_sector_code"])
        ]
        cagr = row.national_sector_employment_cagr
        growth = f", national growth {cagr:+.1%}/yr" if pd.notna(cagr) else ""
        lines.append(
            f"  {region}  {row.sector_code}  density {row.density:.3f}{growth}"
            f"; supported by {', '.join(supports) or 'none'}"
        )
    return lines


def _span(years: list[int]) -> str:
    return f"year {years[0]}" if years[0] == years[-1] else f"years {years[0]}-{years[-1]}"
