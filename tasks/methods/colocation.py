"""Cluster definitions from co-location (methodology.md §7).

Three relatedness measures between sectors over the regions, each averaged over a window of
years: proximity phi (§6.2), the correlation of log(1 + LQ), and Ellison-Glaeser-Kerr pairwise
coagglomeration with the aggregate shares; each turned into percentile ranks over all pairs and
averaged into R(i, j) in [0, 1]. Average-linkage hierarchical clustering (SciPy) on 1 - R, the
number of clusters chosen by the Delgado-Porter-Stern validation scores on a plateau; stability
by the adjusted Rand index (scikit-learn's, ``adjusted_rand_index``) leaving one region out and
on the neighbouring windows.

Plain functions over numpy matrices (regions x sectors) and a long table of facts keyed by
region, sector and year, for any region set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

from tasks.methods.relatedness import presence, proximity, revealed_comparative_advantage

TOLERANCE = 0.02  # validation scores this close to the best count as equally good (a plateau)
# §7: with 81 provinces a correlation below about 0.22 in absolute value is noise (the two-sided
# 5 % critical value of Pearson's r with 81 observations is 0.218)
WEAK_LINK = 0.22
LEAVE_ONE_OUT = "leave_one_province_out"
PREVIOUS_WINDOW = "previous_window"
NEXT_WINDOW = "next_window"


def coagglomeration(employment: np.ndarray) -> np.ndarray:
    """gamma_c(i,j) = sum_m (s_mi - x_m)(s_mj - x_m) / (1 - sum_m x_m^2): s_mi the region's share
    of sector i's employment, x_m its share of all employment in the matrix (the aggregate
    share, not a mean of sector shares). Null for a sector with no employment; diagonal kept."""
    employment = np.asarray(employment, dtype="float64")
    region = employment.sum(axis=1)
    total = region.sum()
    x = region / total
    sector = employment.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(sector > 0, employment / np.where(sector > 0, sector, 1.0), np.nan)
    deviations = shares - x[:, None]
    return (deviations.T @ deviations) / (1.0 - (x**2).sum())


def log_lq_correlation(employment: np.ndarray) -> np.ndarray:
    """The Pearson correlation across regions of log(1 + LQ) of two sectors (LQ on the matrix's
    own totals, as §6.1's RCA); null for a sector whose LQ does not vary."""
    values = np.log1p(np.nan_to_num(revealed_comparative_advantage(employment)))
    centred = values - values.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred.T @ centred) / np.outer(norms, norms)


def pair_percentiles(measure: np.ndarray) -> np.ndarray:
    """Each off-diagonal pair's percentile rank (0..1, ties averaged) among all pairs with a
    value; null on the diagonal and where the measure is null."""
    values = squareform(np.asarray(measure, dtype="float64"), checks=False)  # the pairs i < j
    known = ~np.isnan(values)
    count = int(known.sum())
    ranks = np.full(values.shape, np.nan)
    if count > 1:
        np.place(ranks, known, (average_ranks(values[known]) - 1) / (count - 1))
    out = squareform(ranks)
    np.fill_diagonal(out, np.nan)
    return out


def average_ranks(values: np.ndarray) -> np.ndarray:
    """The ranks (1..n) of ``values`` (no nulls), ties given their mean rank: SciPy's
    ``rankdata``, to the last bit, but several times faster on the pairs of a definition (no
    stable sort needed: tied values share one rank whatever their order)."""
    order = np.argsort(values)
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(starts, append=len(values))
    ranks = np.empty(len(values))
    np.put(ranks, order, np.repeat(starts + 1 + (counts - 1) / 2, counts))
    return ranks


def _nanmean(stack: np.ndarray) -> np.ndarray:
    """The mean over the first axis of the values that are not null; null where none is (no
    'mean of empty slice' warning)."""
    known = ~np.isnan(stack)
    count = known.sum(axis=0)
    total = np.where(known, stack, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def window_measures(windows: list[np.ndarray], min_employment: float) -> dict[str, np.ndarray]:
    """The three measures, each computed per year (one regions x sectors matrix of employment
    per year, the same sectors in each) and averaged over the years that give it a value:
    ``proximity`` (phi on the presence of §6.1 with ``min_employment``), ``log_lq_correlation``
    and ``coagglomeration``."""
    compute = {
        "proximity": lambda e: proximity(presence(e, min_employment)),
        "log_lq_correlation": log_lq_correlation,
        "coagglomeration": coagglomeration,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        return {name: _nanmean(np.stack([measure(e) for e in windows])) for name, measure in compute.items()}


def combined_relatedness(windows: list[np.ndarray], min_employment: float) -> np.ndarray:
    """R(i,j): the three measures, each averaged over the window's years (one matrix of
    employment per year), percentile-ranked over all pairs and averaged (those with a value)."""
    return _combine(window_measures(windows, min_employment))


def _combine(measures: dict[str, np.ndarray]) -> np.ndarray:
    return _nanmean(np.stack([pair_percentiles(measure) for measure in measures.values()]))


def hierarchy(relatedness: np.ndarray) -> np.ndarray:
    """SciPy's average-linkage tree on the distance 1 - R; a pair without R counts as
    unrelated (distance 1)."""
    distance = 1.0 - np.nan_to_num(relatedness, nan=0.0)
    np.fill_diagonal(distance, 0.0)
    return linkage(squareform(distance, checks=False), method="average")


def clusters(relatedness: np.ndarray, count: int) -> np.ndarray:
    """Labels 1..count from average-linkage hierarchical clustering on 1 - R (SciPy)."""
    return fcluster(hierarchy(relatedness), t=count, criterion="maxclust")


@dataclass(frozen=True)
class ValidationScores:
    """Delgado-Porter-Stern's validation scores of one definition."""

    vs_industry: float  # share of sectors more related to their own cluster than to any other
    vs_cluster: float  # share of clusters more related within than to any other cluster
    sector_passes: np.ndarray  # per sector (the order of the labels)
    cluster_passes: np.ndarray  # per cluster, in the order of the sorted labels
    within: np.ndarray  # per cluster: the mean R of its pairs of distinct sectors (null: a singleton)


def validation_scores(relatedness: np.ndarray, labels: np.ndarray) -> ValidationScores:
    """VS-industry: the share of sectors whose mean R to the other sectors of their cluster
    exceeds their mean R to every other cluster; VS-cluster: the share of clusters whose mean R
    within (pairs of distinct sectors) exceeds their mean R to every other cluster. A pair
    without R counts as 0; a singleton has no within-cluster R and passes neither."""
    return _validation(_unrelated_as_zero(relatedness), labels)


def _unrelated_as_zero(relatedness: np.ndarray) -> np.ndarray:
    related = np.nan_to_num(np.asarray(relatedness, dtype="float64"), nan=0.0)
    np.fill_diagonal(related, 0.0)
    return related


def _validation(related: np.ndarray, labels: np.ndarray) -> ValidationScores:
    """``validation_scores`` on R with nulls and the diagonal set to 0, by products with the
    sectors x clusters membership matrix (the sums of R to each cluster and between each pair
    of clusters), over the number of pairs each sum holds."""
    names, index = np.unique(labels, return_inverse=True)
    sectors = np.arange(len(labels))
    member = np.zeros((len(labels), len(names)))
    member[sectors, index] = 1.0
    size = member.sum(axis=0)
    to_cluster_sum = related @ member  # sectors x clusters; a sector's own R (0) adds nothing
    partners = size[None, :] - member  # the others in each cluster
    to_cluster = np.where(partners > 0, to_cluster_sum / np.maximum(partners, 1), np.nan)
    own = to_cluster[sectors, index]
    best_other = np.where(member > 0, -np.inf, to_cluster).max(axis=1)
    sector_passes = ~np.isnan(own) & (np.nan_to_num(own, nan=-np.inf) > best_other)
    pairs = np.outer(size, size) - np.diag(size)  # within: s (s - 1) ordered pairs; between: s_c s_d
    between = member.T @ to_cluster_sum
    between = np.where(pairs > 0, between / np.maximum(pairs, 1), np.nan)
    within = np.diag(between).copy()
    np.fill_diagonal(between, -np.inf)
    cluster_passes = ~np.isnan(within) & (np.nan_to_num(within, nan=-np.inf) > between.max(axis=1))
    return ValidationScores(
        float(sector_passes.mean()), float(cluster_passes.mean()), sector_passes, cluster_passes, within
    )


def choose_count(relatedness: np.ndarray, counts: range) -> tuple[int, pd.DataFrame]:
    """The number of clusters: the validation scores of the tree cut at every k of ``counts``
    (the table: clusters, vs_industry, vs_cluster, score = their mean), the k ``plateau_count``
    takes; returned as the number of clusters that cut makes (fewer than k where the tree has
    tied heights), with the table."""
    tree = hierarchy(relatedness)
    related = _unrelated_as_zero(relatedness)
    rows = []
    for count in counts:
        scores = _validation(related, fcluster(tree, t=count, criterion="maxclust"))
        rows.append({"clusters": count, "vs_industry": scores.vs_industry, "vs_cluster": scores.vs_cluster})
    table = pd.DataFrame(rows, columns=["clusters", "vs_industry", "vs_cluster"])
    table["score"] = (table.vs_industry + table.vs_cluster) / 2
    made = fcluster(tree, t=plateau_count(table), criterion="maxclust")
    return len(np.unique(made)), table


def plateau_count(table: pd.DataFrame) -> int:
    """The k of a table of ``clusters`` (consecutive ks) and ``score``: the ks within
    ``TOLERANCE`` of the best score form runs of consecutive ks; a run of two or more (a
    plateau) is preferred to a lone peak, the longest run first (then the higher mean score),
    and within it the largest k: the finest definition that validates as well as the best
    (the scores alone do not penalise merging two groups)."""
    near = table.score >= table.score.max() - TOLERANCE
    run = (near != near.shift()).cumsum().rename("run")
    runs = table[near].groupby(run[near])
    runs = runs.agg(length=("clusters", "size"), score=("score", "mean"), k=("clusters", "max"))
    runs["plateau"] = runs.length >= 2
    return int(runs.sort_values(["plateau", "length", "score", "k"], ascending=False).k.iloc[0])


def count_range(counts: tuple[int, int], sectors: int) -> range:
    """The counts searched: ``counts`` (inclusive) cut to what ``sectors`` allow, 2..sectors-1
    (one cluster or one per sector defines nothing); when none of the counts asked is allowed
    (a small panel), every allowed count."""
    if sectors < 3:
        raise ValueError(f"cluster definitions need at least 3 sectors with employment, the window has {sectors}")
    low, high = max(counts[0], 2), min(counts[1], sectors - 1)
    if low > high:
        low, high = 2, sectors - 1
    return range(low, high + 1)


@dataclass(frozen=True)
class ClusterDefinitions:
    """One window's data-driven cluster definitions (§7)."""

    end_year: int
    window_years: str  # "2020-2022"
    # sector_code, cluster_id ("c01".. by descending employment of the cluster in end_year),
    # name_sector_code (its largest member by national employment), sector_passes_vs,
    # national_employment (end_year)
    members: pd.DataFrame
    # cluster_id, size, name_sector_code, employment, within_relatedness, cluster_passes_vs,
    # weak_link_share (share of within pairs whose log(1 + LQ) correlation has |r| < WEAK_LINK)
    clusters: pd.DataFrame
    scores: pd.DataFrame  # per k searched: clusters, vs_industry, vs_cluster, score
    count: int
    vs_industry: float
    vs_cluster: float
    # kind (LEAVE_ONE_OUT, PREVIOUS_WINDOW, NEXT_WINDOW), region_code (leave-one-out only), ari;
    # None when not asked for
    stability: pd.DataFrame | None


def define_clusters(
    facts: pd.DataFrame,
    end_year: int,
    window: int = 3,
    min_employment: float = 10,
    counts: tuple[int, int] = (20, 80),
    universe: list[str] | None = None,
    stability: bool = True,
) -> ClusterDefinitions:
    """§7 on a long table of ``region_code, sector_code, year, employment`` (the contract of the
    indicators), restricted to the ``universe`` sectors when given: the definition of the window
    ``end_year - window + 1 .. end_year`` (every year of it must be in the data), of the sectors
    with employment in it, its count chosen in ``counts`` (cut to ``count_range``). With
    ``stability``, the adjusted Rand index of the definition against the same count leaving
    each region out in turn, and against the neighbouring windows (when wholly in the data).
    Its many small matrix products run on one BLAS thread: threads cost more than they give
    at this size, several times over on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _define(facts, end_year, window, min_employment, counts, universe, stability)


def _define(
    facts: pd.DataFrame,
    end_year: int,
    window: int,
    min_employment: float,
    counts: tuple[int, int],
    universe: list[str] | None,
    stability: bool,
) -> ClusterDefinitions:
    facts = _facts(facts, universe)
    years = _window(facts, end_year, window)
    sector_totals = facts[facts.year.isin(years)].groupby("sector_code").employment.sum()
    sectors = np.array(sorted(sector_totals.index[sector_totals > 0]))
    searched = count_range(counts, len(sectors))
    matrices = _matrices(facts, sectors)
    windows = [matrices[year] for year in years]
    measures = window_measures([m.to_numpy() for m in windows], min_employment)
    relatedness = _combine(measures)
    count, scores = choose_count(relatedness, searched)
    labels = fcluster(hierarchy(relatedness), t=count, criterion="maxclust")
    validation = validation_scores(relatedness, labels)
    national = matrices[end_year].sum(axis=0).to_numpy() if end_year in matrices else np.zeros(len(sectors))
    members, table = _describe(sectors, labels, national, validation, measures["log_lq_correlation"])
    return ClusterDefinitions(
        end_year=end_year,
        window_years=f"{years[0]}-{years[-1]}",
        members=members,
        clusters=table,
        scores=scores,
        count=count,
        vs_industry=validation.vs_industry,
        vs_cluster=validation.vs_cluster,
        stability=_stability(matrices, years, labels, count, min_employment) if stability else None,
    )


def _facts(facts: pd.DataFrame, universe: list[str] | None) -> pd.DataFrame:
    if universe is not None:
        facts = facts[facts.sector_code.isin(universe)]
    facts = facts[["region_code", "sector_code", "year", "employment"]].dropna(subset=["employment"])
    return facts.astype({"year": "int64", "employment": "float64"})


def _window(facts: pd.DataFrame, end_year: int, window: int) -> list[int]:
    """The window's years; a ValueError naming those without rows."""
    if window < 1:
        raise ValueError(f"window must be at least 1 year, got {window}")
    years = list(range(end_year - window + 1, end_year + 1))
    present = set(facts.year.unique())
    missing = [year for year in years if year not in present]
    if missing:
        held = f"{min(present)}-{max(present)}" if present else "none"
        raise ValueError(
            f"the {window}-year window {years[0]}-{end_year} is not wholly in the data: no rows for "
            f"{', '.join(map(str, missing))} (years in the data: {held})"
        )
    return years


def _matrices(facts: pd.DataFrame, sectors: np.ndarray) -> dict[int, pd.DataFrame]:
    """Per year, the regions x ``sectors`` matrix of employment of the regions with employment
    that year (a missing row counts as 0; a region without any is left out that year, so that
    its LQs of 0 do not enter the correlations). ``facts`` has one row per region, sector and
    year (the indicators')."""
    frame = facts[facts.sector_code.isin(sectors)]
    columns = pd.Index(sectors).get_indexer(frame.sector_code)
    years = frame.groupby("year").indices  # year -> its rows' positions
    return {int(year): _matrix(frame.iloc[years[year]], columns[years[year]], sectors) for year in sorted(years)}


def _matrix(rows: pd.DataFrame, columns: np.ndarray, sectors: np.ndarray) -> pd.DataFrame:
    """The regions x ``sectors`` matrix of one year's ``rows`` (``columns``: each row's sector's
    position) of the regions with employment."""
    index, regions = pd.factorize(rows.region_code, sort=True)
    matrix = np.zeros((len(regions), len(sectors)))
    matrix[index, columns] = rows.employment.to_numpy(dtype="float64")
    kept = matrix.sum(axis=1) > 0
    return pd.DataFrame(matrix[kept], index=pd.Index(regions[kept]), columns=sectors)


def _describe(
    sectors: np.ndarray,
    labels: np.ndarray,
    national: np.ndarray,
    validation: ValidationScores,
    correlation: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The members and clusters tables: clusters numbered c01.. by descending employment (ties:
    the smaller name code), named by their largest member (ties: the smaller code)."""
    names = np.unique(labels)
    members = pd.DataFrame(
        {"sector_code": sectors, "label": labels, "national_employment": national, "passes": validation.sector_passes}
    )
    largest = members.sort_values(["national_employment", "sector_code"], ascending=[False, True])
    named = largest.drop_duplicates("label").set_index("label").sector_code
    position = np.searchsorted(names, labels)
    weak = []
    for name in names:
        inside = np.flatnonzero(labels == name)
        within = correlation[np.ix_(inside, inside)][np.triu_indices(len(inside), k=1)]
        weak.append(float((~(np.abs(within) >= WEAK_LINK)).mean()) if len(within) else np.nan)
    table = pd.DataFrame(
        {
            "label": names,
            "size": np.bincount(position).astype("int64"),
            "name_sector_code": named.reindex(names).to_numpy(),
            "employment": np.bincount(position, weights=national),
            "within_relatedness": validation.within,
            "cluster_passes_vs": validation.cluster_passes,
            "weak_link_share": weak,
        }
    )
    table = table.sort_values(["employment", "name_sector_code"], ascending=[False, True], ignore_index=True)
    width = max(2, len(str(len(table))))
    table.insert(0, "cluster_id", [f"c{n:0{width}d}" for n in range(1, len(table) + 1)])
    ids = table.set_index("label").cluster_id
    members = members.assign(
        cluster_id=members.label.map(ids),
        name_sector_code=members.label.map(named),
        sector_passes_vs=members.passes.astype(bool),
    )
    members = members.sort_values(["cluster_id", "national_employment", "sector_code"], ascending=[True, False, True])
    members = members[["sector_code", "cluster_id", "name_sector_code", "sector_passes_vs", "national_employment"]]
    return members.reset_index(drop=True), table.drop(columns="label")


def _stability(
    matrices: dict[int, pd.DataFrame], years: list[int], labels: np.ndarray, count: int, min_employment: float
) -> pd.DataFrame:
    """The adjusted Rand index of ``labels`` against the definitions with the same count (a)
    without each region in turn, (b) on the windows ending a year earlier and a year later,
    when every year of them is in the data (the same sectors)."""
    rows = []
    windows = [(matrices[year].index.to_numpy(), matrices[year].to_numpy()) for year in years]
    regions = sorted(set().union(*(index for index, _ in windows)))
    for region in regions:
        others = [matrix[index != region] for index, matrix in windows]
        ari = _agreement(others, labels, count, min_employment)
        rows.append({"kind": LEAVE_ONE_OUT, "region_code": region, "ari": ari})
    for kind, shift in ((PREVIOUS_WINDOW, -1), (NEXT_WINDOW, 1)):
        neighbours = [year + shift for year in years]
        if all(year in matrices for year in neighbours):
            matrix = [matrices[year].to_numpy() for year in neighbours]
            rows.append({"kind": kind, "region_code": None, "ari": _agreement(matrix, labels, count, min_employment)})
    return pd.DataFrame(rows, columns=["kind", "region_code", "ari"])


def _agreement(windows: list[np.ndarray], labels: np.ndarray, count: int, min_employment: float) -> float:
    """The adjusted Rand index between ``labels`` and the definition of ``count`` clusters on
    ``windows``."""
    other = fcluster(hierarchy(combined_relatedness(windows, min_employment)), t=count, criterion="maxclust")
    return adjusted_rand_index(labels, other)


def adjusted_rand_index(labels: np.ndarray, other: np.ndarray) -> float:
    """The adjusted Rand index of two labellings of the same sectors, from their pair
    confusion matrix in whole numbers: scikit-learn's ``adjusted_rand_score`` to the last bit,
    without its checks of the input, which cost more than the index on a definition's labels."""
    _, first = np.unique(labels, return_inverse=True)
    _, second = np.unique(other, return_inverse=True)
    table = np.zeros((first.max() + 1, second.max() + 1), dtype=np.int64)
    np.add.at(table, (first, second), 1)
    samples, squares = len(first), int((table**2).sum())
    tp = squares - samples
    fp = int((table @ table.sum(axis=0)).sum()) - squares
    fn = int((table.T @ table.sum(axis=1)).sum()) - squares
    tn = samples**2 - fp - fn - squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
