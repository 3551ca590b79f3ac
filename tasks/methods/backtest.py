"""Backtests: does the method pick winners? (methodology.md §8)

Rolling origins: for every origin year t0 whose relatedness window and the years up to
t0 + h + 1 are in the data, everything the selection reads is recomputed from the data up to
t0 only (``model.candidates_as_of``: indicators, presence, proximity, clusters when scored,
scores; no snapshot input, which describes the present), then compared with what happened by
t0 + h in the full data.

- Entry (§8.2): a province enters a sector it lacks at t0 (M = 0 on the window ending in t0)
  when M = 1 on the windows ending in t0 + h and t0 + h + 1. Each province's absent sectors are
  ranked by their relatedness density at t0, against three baselines: RCA just below 1 (the
  absent sectors by RCA, highest first), the sector's national employment growth up to t0, and
  a random order. Precision at 5 and 10 per province (the mean over the provinces with an
  absent sector; tied scores across the cut count in proportion, i.e. ties in random order)
  and the area under the precision-recall curve (average precision, scikit-learn) of all
  provinces' absent sectors pooled. The random order's figures are their exact expectations.
- Selection (§8.3): log employment growth ln(e(t0 + h) / e(t0)) of the sectors the method
  selects at t0 (rank 1 and eligible) and of the CMP strong clusters at t0, against matched
  sectors of the same province (nearest on log employment and log LQ at t0, both scaled by
  their standard deviation over all cells, among the province's other sectors, with
  replacement) and against their shift-share expectation e(t0) n(t0 + h) / n(t0); and the
  coefficient of the group's dummy in an OLS of log growth over all province x sector cells,
  raw and controlling for log LQ and log employment at t0 (mean reversion: high-LQ sectors
  grow more slowly mechanically), with its heteroskedasticity-robust (HC1) standard error. A
  cell without employment at t0 + h has no log growth: it counts in ``exit_share``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from schemas.parameters import SelectionParameters
from tasks.methods import sector_facts
from tasks.methods.indicators import KEYS, cagr, compute_indicators, shift_share
from tasks.methods.model import AsOf, ModelInputs, candidate_sectors, candidates_as_of
from tasks.methods.relatedness import presence, window_employment
from tasks.methods.scoring import score_candidates

HORIZONS = (3, 5)
PRECISION_AT = (5, 10)
ENTRY_BASELINES = ("rca_below_one", "national_growth", "random")
SELECTION_GROUPS = ("selected", "cmp_strong")
COLUMNS = ["origin_year", "horizon", "test", "method", "metric", "value", "n"]


def origin_years(years: Iterable[int], window: int, horizon: int) -> list[int]:
    """Every t0 whose years t0 - window + 1 .. t0 + horizon + 1 are all in ``years``: a full
    window at t0, and the entry's confirmation a year after t0 + horizon."""
    present = set(years)
    return [t0 for t0 in sorted(present) if present >= set(range(t0 - window + 1, t0 + horizon + 2))]


@dataclass(frozen=True)
class Origin:
    """What the method knew at t0, computed from the data up to t0 only."""

    year: int
    scored: pd.DataFrame  # every province's scored candidates at t0 (score_candidates, explain=False)
    absent: pd.DataFrame  # region_code, sector_code, rca, density: the cells with M = 0 at t0 (§6.6)
    national_growth: pd.Series  # sector_code -> national employment CAGR up to t0
    sector_sets: pd.Series | None  # the clusters of t0, when clusters are scored


def origin_at(inputs: ModelInputs, parameters: SelectionParameters, year: int) -> Origin:
    """The selection, the absent sectors and the baselines' scores at ``year``, from the data
    up to ``year`` only."""
    known: AsOf = candidates_as_of(inputs, parameters, year)
    scored = score_candidates(known.candidates, parameters, by=["plate_code"], explain=False)
    opportunities = known.related.opportunities
    absent = opportunities[opportunities.year == year][["region_code", "sector_code", "rca", "density"]]
    return Origin(year, scored, absent.reset_index(drop=True), national_growth(known, parameters), known.sector_sets)


def national_growth(known: AsOf, parameters: SelectionParameters) -> pd.Series:
    """Each sector's national employment CAGR up to the year, over the primary growth span,
    or over every earlier year of the data when fewer: the national-growth baseline."""
    table = known.model.indicators.table
    national = table.groupby(["sector_code", "year"]).national_sector_employment.first().unstack("year")
    span = min(parameters.growth_years, known.year - int(table.year.min()))
    missing = pd.Series(np.nan, index=national.index)
    if span < 1:
        return missing
    return cagr(national[known.year], national.get(known.year - span, missing), span)  # a year not in the data: null


@dataclass(frozen=True)
class Outcomes:
    """What happened, from all the data: presence on each window, employment and national totals."""

    presence: dict[int, pd.Series]  # window's last year -> M, indexed by (region_code, sector_code)
    employment: pd.Series  # indexed by KEYS
    national: pd.DataFrame  # indexed by sector_code, year: national_sector_employment, national_employment


def outcomes(inputs: ModelInputs, parameters: SelectionParameters, sector_sets: pd.Series | None = None) -> Outcomes:
    """Presence (§6.1, the run's relatedness parameters) on every window and the employment
    panel with its national totals (published where given, §1.2), of the classes or of the
    sets of ``sector_sets``."""
    facts, region_totals, national_totals = sector_facts.sgk_tables(inputs.sgk_employment)
    facts, region_totals, national_totals, universe = candidate_sectors(
        facts, region_totals, national_totals, parameters.universe, sector_sets
    )
    table = compute_indicators(facts, region_totals, national_totals, [1], universe).table
    settings = parameters.relatedness
    counted = table if universe is None else table[table.sector_code.isin(universe)]
    matrices = window_employment(counted[[*KEYS, "employment"]].dropna(subset=["employment"]), settings.window)
    present = {
        year: pd.DataFrame(
            presence(matrix.to_numpy(), settings.min_employment * settings.window), matrix.index, matrix.columns
        ).stack()
        for year, matrix in matrices.items()
    }
    national = table.groupby(["sector_code", "year"])[["national_sector_employment", "national_employment"]].first()
    return Outcomes(present, table.set_index(KEYS).employment, national)


def precision_at(scores: np.ndarray, hits: np.ndarray, k: int) -> float:
    """Expected share of hits among the ``k`` highest scores (null scores last), ties in random
    order: a tie across the cut counts in proportion. Fewer than ``k`` cells: all of them."""
    k = min(k, len(scores))
    values = np.where(np.isnan(scores), -np.inf, scores)
    cut = np.sort(values)[::-1][k - 1]
    above, tied = values > cut, values == cut
    expected = hits[above].sum() + hits[tied].sum() * (k - above.sum()) / tied.sum()
    return float(expected / k)


def random_average_precision(positives: int, cells: int) -> float:
    """The expected average precision of a uniformly random order of ``cells`` with
    ``positives``: (m - 1)/(n - 1) + (n - m) H_n / (n (n - 1)), H_n the n-th harmonic number
    (a positive at rank r has (r - 1)(m - 1)/(n - 1) positives above it on average)."""
    m, n = positives, cells
    if m == 0 or n == 0:
        return float("nan")
    if n == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    return (m - 1) / (n - 1) + (n - m) * harmonic / (n * (n - 1))


Metrics = dict[tuple[str, str, str], tuple[float, int]]  # (test, method, metric) -> (value, n)


def entry_metrics(origin: Origin, happened: Outcomes, horizon: int) -> Metrics:
    """Precision at 5 and 10 and the pooled average precision of density and its baselines
    in predicting the entries of ``horizon`` years (see the module's docstring)."""
    absent = origin.absent
    cells = pd.MultiIndex.from_frame(absent[["region_code", "sector_code"]])
    later = [happened.presence[origin.year + step].reindex(cells, fill_value=0) for step in (horizon, horizon + 1)]
    hits = (later[0].to_numpy() == 1) & (later[1].to_numpy() == 1)
    methods = {
        "density": absent.density.to_numpy(dtype=float),
        "rca_below_one": absent.rca.to_numpy(dtype=float),
        "national_growth": absent.sector_code.map(origin.national_growth).to_numpy(dtype=float),
    }
    provinces = list(pd.Series(np.arange(len(absent))).groupby(absent.region_code.to_numpy()).indices.values())
    metrics: Metrics = {}
    for method, scores in methods.items():
        for k in PRECISION_AT:
            values = [precision_at(scores[rows], hits[rows], k) for rows in provinces]
            metrics["entry", method, f"precision_at_{k}"] = (float(np.mean(values)), len(values))
        lowest = np.nanmin(scores) - 1 if np.isfinite(scores).any() else 0.0
        average = average_precision_score(hits, np.nan_to_num(scores, nan=lowest)) if hits.any() else np.nan
        metrics["entry", method, "pr_auc"] = (float(average), len(hits))
    rate = [hits[rows].mean() for rows in provinces]  # a random order's expected precision at any k
    for k in PRECISION_AT:
        metrics["entry", "random", f"precision_at_{k}"] = (float(np.mean(rate)), len(rate))
    metrics["entry", "random", "pr_auc"] = (random_average_precision(int(hits.sum()), len(hits)), len(hits))
    metrics["entry", "random", "entry_rate"] = (float(hits.mean()) if len(hits) else np.nan, len(hits))
    return metrics


def selection_metrics(origin: Origin, happened: Outcomes, horizon: int) -> Metrics:
    """The growth over ``horizon`` years of the selected sectors and of the CMP strong clusters
    at t0, against matched sectors, their shift-share expectation and, by OLS, every other
    cell of the provinces (see the module's docstring)."""
    cells = origin.scored
    end = origin.year + horizon
    e0 = cells.employment.astype(float)
    e1 = happened.employment.reindex(
        pd.MultiIndex.from_arrays([cells.plate_code, cells.sector_code, [end] * len(cells)])
    )
    e1 = pd.Series(e1.fillna(0).to_numpy(dtype=float), index=cells.index)
    national = happened.national.reindex(pd.MultiIndex.from_arrays([cells.sector_code, [end] * len(cells)]))
    shifts = shift_share(
        e0,
        e1,
        cells.national_sector_employment,
        pd.Series(national.national_sector_employment.to_numpy(dtype=float), index=cells.index),
        cells.national_employment,
        pd.Series(national.national_employment.to_numpy(dtype=float), index=cells.index),
    )
    expected = (e1 - shifts.shift_regional).to_numpy()  # e0 n1 / n0
    e0, e1 = e0.to_numpy(), e1.to_numpy()
    lq0 = cells.lq_employment.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where((e1 > 0) & (e0 > 0), np.log(e1 / e0), np.nan)
        beyond = np.where((e1 > 0) & (expected > 0), np.log(e1 / expected), np.nan)
        controls = np.column_stack([np.log(lq0), np.log(e0)])
    usable = np.isfinite(growth)
    metrics: Metrics = {}
    for group in SELECTION_GROUPS:
        treated = cells[group].fillna(False).to_numpy(dtype=bool)
        pairs = matched_differences(cells.plate_code.to_numpy(), treated, controls, growth)
        shown = treated & usable
        raw, raw_n, _ = ols_effect(growth, treated, np.empty((len(cells), 0)), usable)
        effect, n, error = ols_effect(growth, treated, controls, usable)
        metrics.update(
            {
                ("selection", group, "growth"): (_mean(growth[shown]), int(shown.sum())),
                ("selection", group, "exit_share"): (_mean(e1[treated] <= 0), int(treated.sum())),
                ("selection", group, "growth_vs_matched"): (_mean(pairs), len(pairs)),
                ("selection", group, "growth_vs_shift_share"): (_mean(beyond[shown]), int(shown.sum())),
                ("selection", group, "effect_raw"): (raw, raw_n),
                ("selection", group, "effect_controlled"): (effect, n),
                ("selection", group, "effect_controlled_se"): (error, n),
            }
        )
    return metrics


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.mean()) if len(values) else float("nan")


def matched_differences(
    provinces: np.ndarray, treated: np.ndarray, features: np.ndarray, growth: np.ndarray
) -> np.ndarray:
    """For each treated cell, its growth less that of the nearest untreated cell of the same
    province on ``features`` (each scaled by its standard deviation over all cells with every
    feature finite), with replacement; pairs where either growth is null are left out."""
    finite = np.isfinite(features).all(axis=1)
    if not finite.any():
        return np.array([])
    scale = features[finite].std(axis=0)
    scaled = features / np.where(scale > 0, scale, 1.0)
    differences = []
    for province in np.unique(provinces[treated & finite]):
        here = (provinces == province) & finite
        cases, pool = np.flatnonzero(here & treated), np.flatnonzero(here & ~treated)
        if not len(pool):
            continue
        distance = ((scaled[cases][:, None, :] - scaled[pool][None, :, :]) ** 2).sum(axis=2)
        nearest = pool[distance.argmin(axis=1)]
        differences.append(growth[cases] - growth[nearest])
    values = np.concatenate(differences) if differences else np.array([])
    return values[np.isfinite(values)]


def ols_effect(
    outcome: np.ndarray, dummy: np.ndarray, controls: np.ndarray, usable: np.ndarray
) -> tuple[float, int, float]:
    """The coefficient of ``dummy`` in an OLS of ``outcome`` on a constant, the dummy and
    ``controls`` over the ``usable`` rows, the rows used and its HC1 robust standard error;
    null when the dummy does not vary or the design is singular."""
    rows = usable & np.isfinite(controls).all(axis=1)
    y = outcome[rows]
    x = np.column_stack([np.ones(rows.sum()), dummy[rows].astype(float), controls[rows]])
    n, p = x.shape
    if n <= p or dummy[rows].all() or not dummy[rows].any():
        return float("nan"), int(n), float("nan")
    inverse = np.linalg.pinv(x.T @ x)
    beta = inverse @ x.T @ y
    residuals = y - x @ beta
    meat = (x * residuals[:, None] ** 2).T @ x
    covariance = inverse @ meat @ inverse * n / (n - p)
    return float(beta[1]), int(n), float(np.sqrt(covariance[1, 1]))


def evaluate_origin(origin: Origin, happened: Outcomes, horizon: int) -> pd.DataFrame:
    """The backtest's tidy rows of one origin and horizon: entry and selection metrics."""
    rows = []
    metrics = {**entry_metrics(origin, happened, horizon), **selection_metrics(origin, happened, horizon)}
    for (test, method, metric), (value, n) in metrics.items():
        rows.append(
            {
                "origin_year": origin.year,
                "horizon": horizon,
                "test": test,
                "method": method,
                "metric": metric,
                "value": value,
                "n": n,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def backtest(
    inputs: ModelInputs,
    parameters: SelectionParameters,
    horizons: Iterable[int] = HORIZONS,
    origins: Iterable[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The backtest of every origin (default: ``origin_years`` of each horizon) and horizon:
    the tidy table of ``COLUMNS``, one row per origin, horizon, test, method and metric."""
    horizons = sorted(set(horizons))
    years, window = inputs.years(), parameters.relatedness.window
    if parameters.candidates == "cluster":
        window = max(window, parameters.clusters.window)
    by_origin: dict[int, list[int]] = {}
    for horizon in horizons:
        for year in origin_years(years, window, horizon):
            if origins is None or year in set(origins):
                by_origin.setdefault(year, []).append(horizon)
    frames, shared = [], None
    for year in sorted(by_origin):
        origin = origin_at(inputs, parameters, year)
        if origin.sector_sets is not None:
            happened = outcomes(inputs, parameters, origin.sector_sets)
        else:
            shared = shared or outcomes(inputs, parameters)
            happened = shared
        frames += [evaluate_origin(origin, happened, horizon) for horizon in by_origin[year]]
        if progress:
            progress(f"backtest: origin {year}, horizons {', '.join(map(str, by_origin[year]))}")
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


ENTRY_COLUMNS = {"precision_at_5": "P@5", "precision_at_10": "P@10", "pr_auc": "PR-AUC"}
SELECTION_COLUMNS = {
    "growth": "growth",
    "growth_vs_matched": "vs matched",
    "growth_vs_shift_share": "vs shift-share",
    "effect_raw": "effect raw",
}


def summary(table: pd.DataFrame) -> list[str]:
    """The printed summary of a backtest table: per horizon, each metric's mean over the
    origins (they overlap: the means are not independent draws)."""
    if table.empty:
        return ["backtest: no origin year with a full window and the horizon's years in the data"]
    means = table.groupby(["test", "horizon", "method", "metric"]).value.mean()
    origins = sorted(int(year) for year in table.origin_year.unique())
    horizons = sorted(int(horizon) for horizon in table.horizon.unique())
    provinces = int(table[table.metric.eq("precision_at_5")].n.max())
    lines = [
        f"Backtest: {provinces} provinces, origins {origins[0]}-{origins[-1]}, horizons "
        f"{', '.join(map(str, horizons))}; each origin from its own data only. Means over the origins.",
        "Entry: the sectors a province lacks at t0 and has at t0+h and t0+h+1, ranked by",
        f"  {'method':<18}{'h':>3}" + "".join(f"{label:>9}" for label in ENTRY_COLUMNS.values()) + f"{'entries':>9}",
    ]
    for horizon in horizons:
        for method in ("density", *ENTRY_BASELINES):
            values = [means.get(("entry", horizon, method, metric), np.nan) for metric in ENTRY_COLUMNS]
            rate = means.get(("entry", horizon, method, "entry_rate"), np.nan)
            label = "random (expected)" if method == "random" else method
            figures = "".join(f"{value:>9.3f}" for value in values)
            lines.append(f"  {label:<18}{horizon:>3}{figures}" + (f"{rate:>9.1%}" if np.isfinite(rate) else ""))
    lines += [
        "Selection: log employment growth over t0..t0+h of the sectors selected at t0 and of the CMP strong",
        "clusters; effects: OLS over all province x sector cells, raw and controlling for log LQ and size at t0",
        f"  {'group':<12}{'h':>3}"
        + "".join(f"{label:>15}" for label in SELECTION_COLUMNS.values())
        + f"{'LQ-controlled (se)':>22}{'exits':>7}",
    ]
    for horizon in horizons:
        for group in SELECTION_GROUPS:
            value = {metric: means.get(("selection", horizon, group, metric), np.nan) for metric in [
                *SELECTION_COLUMNS, "effect_controlled", "effect_controlled_se", "exit_share"
            ]}  # fmt: skip
            figures = "".join(f"{value[metric]:>+15.3f}" for metric in SELECTION_COLUMNS)
            controlled = f"{value['effect_controlled']:+.3f} ({value['effect_controlled_se']:.3f})"
            lines.append(f"  {group:<12}{horizon:>3}{figures}{controlled:>22}{value['exit_share']:>7.1%}")
    return lines
