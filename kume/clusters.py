"""Cluster definitions from co-location on an analyst's own table, for any country and region
set (``kume clusters``): read the facts as ``kume relatedness`` does, define the clusters of one
window (methodology §7), write Parquet and CSV and a short summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kume.relatedness import as_text, read_facts
from schemas.parameters import ClusterParameters
from tasks.errors import IndicatorInputError
from tasks.methods.colocation import (
    LEAVE_ONE_OUT,
    NEXT_WINDOW,
    PREVIOUS_WINDOW,
    TOLERANCE,
    WEAK_LINK,
    ClusterDefinitions,
    count_range,
    define_clusters,
)

LARGEST = 10  # clusters the summary lists
SHOWN_MEMBERS = 8  # member classes listed per cluster

DEFINITION_COLUMNS = [
    "year",
    "window_years",
    "cluster_id",
    "cluster_name",
    "sector_code",
    "sector_name",
    "national_employment",
    "cluster_size",
    "cluster_employment",
    "clusters",
    "vs_industry",
    "vs_cluster",
    "sector_passes_vs",
    "cluster_passes_vs",
    "within_relatedness",
    "weak_link_share",
    "stability_region_ari_mean",
    "stability_region_ari_min",
    "least_stable_region_code",
    "stability_previous_window_ari",
    "stability_next_window_ari",
]


@dataclass(frozen=True)
class ClustersRun:
    """What ``run`` wrote and what the summary tells."""

    files: dict[str, Path]  # table name -> the Parquet file (a CSV beside it)
    frames: dict[str, pd.DataFrame]  # table name -> what was written
    definitions: ClusterDefinitions
    years: list[int]  # the years in the table
    parameters: ClusterParameters
    searched: range  # the counts searched
    regions: int
    sectors: int
    no_employment: int  # rows with an empty employment, counted as 0


def run(
    facts: Path,
    out_dir: Path,
    universe: Path | None = None,
    parameters: ClusterParameters | None = None,
    year: int | None = None,
) -> ClustersRun:
    """§7 on ``facts`` (region_code, sector_code, year, employment; sector_name optional) for the
    window ending in ``year`` (default: the table's last year), with the run parameters'
    defaults unless ``parameters`` are given; writes ``cluster_definitions`` (one row per
    class), ``cluster_scores`` (the validation scores of every count searched) and
    ``cluster_stability`` (the adjusted Rand index per region left out and per neighbouring
    window) to ``out_dir`` as Parquet and CSV."""
    parameters = parameters or ClusterParameters()
    table, sectors, years = read_facts(facts, universe, parameters.window)
    end = years[-1] if year is None else year
    counts = (parameters.min_clusters, parameters.max_clusters)
    try:
        definitions = define_clusters(
            table, end, parameters.window, parameters.min_employment, counts, universe=sectors
        )
    except ValueError as error:
        hint = f": choose --year between {years[0] + parameters.window - 1} and {years[-1]}" if year else ""
        raise IndicatorInputError(facts, f"{error}{hint}") from error
    frames = {
        "cluster_definitions": _definitions_table(definitions, _names(table), parameters.window),
        "cluster_scores": definitions.scores.assign(
            year=end, window_years=parameters.window, chosen=definitions.scores.clusters == definitions.count
        )[["year", "window_years", "clusters", "vs_industry", "vs_cluster", "score", "chosen"]],
        "cluster_stability": definitions.stability.assign(year=end)[["year", "kind", "region_code", "ari"]],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in frames.items():
        files[name] = out_dir / f"{name}.parquet"
        text = as_text(frame)
        pq.write_table(pa.Table.from_pandas(text, preserve_index=False), files[name], compression="zstd")
        text.to_csv(files[name].with_suffix(".csv"), index=False)
    return ClustersRun(
        files,
        frames,
        definitions,
        years,
        parameters,
        count_range(counts, len(definitions.members)),
        table[table.year.isin(_window(definitions))].region_code.nunique(),
        len(definitions.members),
        int(table.employment.isna().sum()),
    )


def _window(definitions: ClusterDefinitions) -> list[int]:
    first, last = (int(year) for year in definitions.window_years.split("-"))
    return list(range(first, last + 1))


def _names(table: pd.DataFrame) -> pd.Series:
    """sector_code -> the table's sector_name (its first), or the code where it gives none."""
    codes = pd.Series(table.sector_code.unique())
    if "sector_name" not in table:
        return pd.Series(codes.to_numpy(), index=codes.to_numpy())
    given = table.dropna(subset=["sector_name"]).drop_duplicates("sector_code").set_index("sector_code").sector_name
    return pd.Series(codes.map(given).fillna(codes).to_numpy(), index=codes.to_numpy())


def _definitions_table(definitions: ClusterDefinitions, names: pd.Series, window: int) -> pd.DataFrame:
    """The members with their cluster's figures, the definition's scores and stability on
    every row; a cluster is named after its largest class."""
    clusters = definitions.clusters.rename(columns={"size": "cluster_size", "employment": "cluster_employment"})
    frame = definitions.members.merge(clusters.drop(columns="name_sector_code"), on="cluster_id", how="left")
    stability = definitions.stability
    one_out = stability[stability.kind == LEAVE_ONE_OUT]
    windows = stability[stability.kind != LEAVE_ONE_OUT].set_index("kind").ari
    lowest = one_out.ari.min()
    return frame.assign(
        year=definitions.end_year,
        window_years=window,
        cluster_name=frame.name_sector_code.map(names),
        sector_name=frame.sector_code.map(names),
        clusters=definitions.count,
        vs_industry=definitions.vs_industry,
        vs_cluster=definitions.vs_cluster,
        stability_region_ari_mean=one_out.ari.mean(),
        stability_region_ari_min=lowest,
        least_stable_region_code=one_out.region_code[one_out.ari.idxmin()] if lowest < 1 else None,
        stability_previous_window_ari=windows.get(PREVIOUS_WINDOW, np.nan),
        stability_next_window_ari=windows.get(NEXT_WINDOW, np.nan),
    )[DEFINITION_COLUMNS]


def summary(result: ClustersRun) -> list[str]:
    """The lines ``kume clusters`` prints: the data, the count chosen and its scores, the
    stability, what was written, and the largest clusters with their members."""
    definitions, parameters = result.definitions, result.parameters
    searched = result.searched
    table = result.frames["cluster_definitions"]
    window = _window(definitions)
    lines = [
        f"{result.regions} regions x {result.sectors} sectors, {_span(result.years)}; {parameters.window}-year "
        f"window {_span(window).split(' ', 1)[1]}, minimum employment {parameters.min_employment:g}; "
        f"searched {searched.start}-{searched.stop - 1} clusters",
    ]
    if result.no_employment:
        lines.append(f"  {result.no_employment} row(s) with no employment counted as 0")
    lines += [
        f"chosen: {definitions.count} clusters (the largest count of the longest run within {TOLERANCE:g} of the "
        "best mean score)",
        f"validation: VS-industry {definitions.vs_industry:.3f}, VS-cluster {definitions.vs_cluster:.3f}",
    ]
    lines += _stability_lines(definitions)
    for name, frame in result.frames.items():
        lines.append(f"{len(frame)} rows -> {result.files[name]} (and .csv)")
    lines.append(f"largest clusters (weak links: pairs with |log-LQ correlation| < {WEAK_LINK:g}, noise):")
    for cluster in definitions.clusters.head(LARGEST).itertuples():
        members = table[table.cluster_id == cluster.cluster_id]
        codes = members.sector_code.tolist()
        shown = ", ".join(codes[:SHOWN_MEMBERS]) + (
            f" +{len(codes) - SHOWN_MEMBERS} more" if len(codes) > SHOWN_MEMBERS else ""
        )
        weak = "" if pd.isna(cluster.weak_link_share) else f", weak links {cluster.weak_link_share:.0%}"
        passes = "passes VS" if cluster.cluster_passes_vs else "fails VS"
        lines.append(
            f"  {cluster.cluster_id}  {members.cluster_name.iloc[0]}: {cluster.size} classes, employment "
            f"{cluster.employment:,.0f}, {passes}{weak}: {shown}"
        )
    return lines


def _stability_lines(definitions: ClusterDefinitions) -> list[str]:
    stability = definitions.stability
    one_out = stability[stability.kind == LEAVE_ONE_OUT]
    lowest = one_out.loc[one_out.ari.idxmin()] if len(one_out) else None
    least = f" (region {lowest.region_code})" if lowest is not None and lowest.ari < 1 else ""
    lines = [
        f"stability (adjusted Rand index, same count): leaving one region out mean {one_out.ari.mean():.3f}, "
        f"min {one_out.ari.min():.3f}{least}"
    ]
    for kind, shift, label in ((PREVIOUS_WINDOW, -1, "previous"), (NEXT_WINDOW, 1, "next")):
        window = _span([year + shift for year in _window(definitions)]).split(" ", 1)[1]
        value = stability[stability.kind == kind].ari
        lines.append(f"  {label} window {window}: " + (f"{value.iloc[0]:.3f}" if len(value) else "not in the data"))
    return lines


def _span(years: list[int]) -> str:
    return f"year {years[0]}" if years[0] == years[-1] else f"years {years[0]}-{years[-1]}"
