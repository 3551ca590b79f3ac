"""Scoring and selection under the programme's four criteria (methodology.md §4).

The assignment of indicators to criteria is our reconstruction: the programme published the
four headings, not its sub-indicators or weights. Normalisation is the percentile rank within
the comparison set (the candidate sectors of one province in one year), 0-100 with ties
averaged. An indicator that is missing for a sector drops out of that sector's criterion
(the other indicators' weights are renormalised); an indicator with no variation in the
comparison set (e.g. a province-level figure) carries no information there and drops out for
all. Both are reported in ``indicators_missing`` / ``indicators_constant``.

Explanation: each criterion's contribution to the total (they add up to it) and the
indicators that moved the sector most against the comparison set's average. Robustness: the
share of seeded weight draws around the chosen weights in which the sector ranks first among
the eligible ones.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

from schemas.outputs import CRITERIA, SCORE_INDICATORS
from schemas.parameters import EligibilityGates, SelectionParameters

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)


def percentile_score(values: Frame, sets: np.ndarray | None = None) -> Frame:
    """0-100 percentile rank among the non-null values (ties averaged); null where the value
    is null, and for every row when fewer than two distinct values exist. A frame's columns are
    each scored; with ``sets`` (each row's comparison set, ``comparison_sets``), within each
    set, as if each were scored alone."""
    grouped = values.groupby(np.zeros(len(values), dtype=np.intp) if sets is None else sets)
    ranks, count = grouped.rank(method="average"), grouped.transform("count")
    distinct = grouped.transform("max").gt(grouped.transform("min"))  # two distinct values at least
    return ((ranks - 1) / (count - 1) * 100).where(distinct)


def comparison_sets(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Each row's comparison set, numbered by the sorted values of the ``by`` columns (one set
    without ``by``)."""
    if not by:
        return np.zeros(len(frame), dtype=np.intp)
    return frame.groupby(by, sort=True).ngroup().to_numpy()


def _gate_checks(candidates: pd.DataFrame, gates: EligibilityGates) -> list[tuple[pd.Series, float, str]]:
    """The values each gate checks, its minimum and its label."""
    return [
        (candidates.firms.fillna(candidates.establishments), gates.min_firms, "firms"),
        (candidates.employment, gates.min_employment, "employment"),
        (candidates.lq_employment, gates.min_lq_employment, "LQ"),
    ]


def passes_gates(candidates: pd.DataFrame, gates: EligibilityGates) -> np.ndarray:
    """Whether each sector passes every gate (a value at least the gate's minimum): where
    ``gate_failures`` says nothing, without writing why the others fail."""
    passes = np.ones(len(candidates), dtype=bool)
    for values, minimum, _ in _gate_checks(candidates, gates):
        passes &= values.ge(minimum).to_numpy(dtype=bool, na_value=False)
    return passes


def gate_failures(candidates: pd.DataFrame, gates: EligibilityGates) -> pd.Series:
    """Why each sector is ineligible ('' when it passes every gate)."""
    reasons = np.full(len(candidates), "", dtype=object)
    for values, minimum, label in _gate_checks(candidates, gates):
        missing = values.isna().to_numpy()
        low = values.lt(minimum).to_numpy(dtype=bool, na_value=False) & ~missing
        texts = np.full(len(candidates), f"{label} missing < {minimum:g}", dtype=object)
        np.place(texts, low, [f"{label} {value:.3g} < {minimum:g}" for value in values.to_numpy()[low]])
        failed = missing | low
        before = reasons[failed]
        np.place(reasons, failed, np.where(before == "", texts[failed], before + "; " + texts[failed]))
    return pd.Series(reasons, index=candidates.index, dtype="object")


def score_candidates(
    candidates: pd.DataFrame, parameters: SelectionParameters, by: list[str] | None = None, explain: bool = True
) -> pd.DataFrame:
    """Score and rank one comparison set (one province, one year) of candidate sectors, or,
    with ``by`` (e.g. plate_code and year), every comparison set of ``candidates`` at once,
    each as if it were scored alone (every province of a run, the selection history and the
    backtests, §8): the work is done once over all the rows, not once per set.

    ``candidates`` has one row per sector with the indicator columns of ``CRITERIA`` (missing
    columns count as missing values). Returns the rows with ``score_<indicator>``, the four
    criterion scores, ``total_score``, ``eligible``, ``rank`` (eligible sectors first, by
    score), ``selected``, ``size_rank`` and ``size_basis``; and, unless ``explain`` is False
    (the history and the backtests publish no explanation), the explanation (§4.7):
    ``gate_failures``, ``contribution_<criterion>``, ``top_indicators``,
    ``weakest_indicators``, ``indicators_missing`` and ``indicators_constant``.
    """
    by = list(by or [])
    scored = candidates.reset_index(drop=True)
    sets = comparison_sets(scored, by)
    scores = percentile_score(scored.reindex(columns=SCORE_INDICATORS).astype("float64"), sets)
    for name in SCORE_INDICATORS:
        if name not in scored:
            scored[name] = np.nan
        scored[f"score_{name}"] = scores[name]
    weights = parameters.weights.as_dict()
    weighted, weight_present = 0.0, 0.0
    for criterion, names in CRITERIA.items():
        scored[criterion] = scored[[f"score_{n}" for n in names]].mean(axis=1, skipna=True)
        present = scored[criterion].notna()
        weighted = weighted + scored[criterion].fillna(0) * weights[criterion]
        weight_present = weight_present + present * weights[criterion]
    scored["total_score"] = (weighted / weight_present.where(weight_present > 0)).round(6)
    if explain:
        for criterion in CRITERIA:
            share = weights[criterion] / weight_present.where(weight_present > 0)
            scored[f"contribution_{criterion}"] = (scored[criterion].fillna(0) * share).round(6)
        scored = scored.join(indicator_impacts(scored, weights, sets))
        unscored = scores.isna()
        constant = unscored.groupby(sets).transform("all").to_numpy()
        scored["indicators_constant"] = _indicator_lists(constant)
        scored["indicators_missing"] = _indicator_lists(scored[SCORE_INDICATORS].isna().to_numpy() & ~constant)
    if explain:
        scored["gate_failures"] = gate_failures(scored, parameters.gates).replace("", None)
    scored["eligible"] = passes_gates(scored, parameters.gates) & scored.total_score.notna()
    order = scored.sort_values(
        [*by, "eligible", "total_score", "sector_code"],
        ascending=[*[True] * len(by), False, False, True],
        na_position="last",
    )
    scored.loc[order.index, "rank"] = order.groupby(sets[order.index]).cumcount().to_numpy() + 1
    scored["rank"] = scored["rank"].astype("int64")
    scored["selected"] = scored["rank"].eq(1) & scored.eligible
    if "size_basis" not in scored:  # no turnover known for this comparison set
        scored["size_basis"] = "employment"
    scored["size_rank"] = size_rank(scored, sets)
    scored["robustness_share"] = robustness_shares(scored, parameters, sets)
    scored["robust"] = (scored.robustness_share >= parameters.robustness.robust_share).where(scored.selected, None)
    return scored.sort_values([*by, "rank"]).reset_index(drop=True)


def _indicator_lists(flags: np.ndarray) -> list[str | None]:
    """Per row of ``flags`` (rows x ``SCORE_INDICATORS``), the flagged indicators' names, comma
    separated (None for none); each distinct row is written once."""
    patterns = flags.astype(np.int64) @ (1 << np.arange(flags.shape[1], dtype=np.int64))
    _, first, inverse = np.unique(patterns, return_index=True, return_inverse=True)
    texts = [", ".join(np.array(SCORE_INDICATORS)[flags[row]]) or None for row in first]
    return [texts[i] for i in inverse]


def size_rank(scored: pd.DataFrame, sets: np.ndarray | None = None) -> pd.Series:
    """Rank by size within the province (1 = largest): by turnover where the province has
    turnover (``size_basis`` turnover_registry or turnover_agency), else by employment. With
    ``sets`` (``comparison_sets``), within each comparison set."""
    size = scored.turnover_try.where(scored.size_basis.ne("employment"), scored.employment)
    size = size.where(size.gt(0))
    ranked = size if sets is None else size.groupby(sets)
    return ranked.rank(ascending=False, method="min").astype("Int64")


def effective_weights(scored: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Each indicator's weight in each sector's total: its criterion's weight, shared equally
    among the criterion's indicators present for the sector, renormalised over the criteria
    present. Every row sums to 1 (or is all zero when nothing is scored)."""
    columns = {}
    for criterion, names in CRITERIA.items():
        present = scored[[f"score_{n}" for n in names]].notna()
        count = present.sum(axis=1)
        for name in names:
            columns[name] = present[f"score_{name}"] * (weights[criterion] / count.where(count > 0)).fillna(0)
    frame = pd.DataFrame(columns, index=scored.index)
    return frame.div(frame.sum(axis=1).where(frame.sum(axis=1) > 0), axis=0).fillna(0)


def indicator_impacts(scored: pd.DataFrame, weights: dict[str, float], sets: np.ndarray, top: int = 3) -> pd.DataFrame:
    """The indicators that moved each sector's total most, as 'name +points' against the
    comparison set's average score of that indicator (points of the 0-100 total): each row
    against its own comparison set's (``sets``: ``comparison_sets``)."""
    shares = effective_weights(scored, weights).to_numpy()
    scores = scored[[f"score_{n}" for n in SCORE_INDICATORS]].to_numpy(dtype="float64")
    average = _set_means(scores, sets)
    impact = np.where(shares > 0, (scores - average) * shares, np.nan)
    names = np.array(SCORE_INDICATORS)

    def describe(sign: float) -> list[str | None]:
        """Per row, the ``top`` indicators with the largest impact of this sign, largest first."""
        signed = np.where(np.isnan(impact), 0.0, impact * sign)
        order = np.argsort(-signed, axis=1, kind="stable")[:, :top]
        shown = np.take_along_axis(signed, order, axis=1) > 0
        values = np.take_along_axis(impact, order, axis=1)
        labels = iter([f"{names[i]} {value:+.1f}" for i, value in zip(order[shown], values[shown], strict=True)])
        return ["; ".join(next(labels) for _ in range(count)) or None for count in shown.sum(axis=1)]

    return pd.DataFrame({"top_indicators": describe(1.0), "weakest_indicators": describe(-1.0)}, index=scored.index)


def _set_positions(sets: np.ndarray) -> list[np.ndarray]:
    """The row positions of each comparison set, in order."""
    order = np.argsort(sets, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(sets[order])) + 1)


def _set_means(scores: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Each row's comparison-set means of the columns of ``scores`` (nulls skipped), each set's
    summed as ``DataFrame.mean`` sums a column (a grouped mean may round differently)."""
    means = np.empty(scores.shape)
    for rows in _set_positions(sets):
        columns = np.ascontiguousarray(scores[rows].T)  # one contiguous row per indicator
        present = ~np.isnan(columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[rows, :] = np.where(present, columns, 0.0).sum(axis=1) / present.sum(axis=1)
    return means


def robustness_shares(scored: pd.DataFrame, parameters: SelectionParameters, sets: np.ndarray) -> pd.Series:
    """Per sector, the share of weight draws in which it ranks first among the eligible sectors
    of its comparison set (``sets``: ``comparison_sets``; every set with the same draws).

    Draws: Dirichlet(kappa x w) over the criteria with positive weight (zero weights stay zero),
    seeded. Each draw re-weights the fixed criterion scores, renormalising over the criteria a
    sector has, exactly as the total is computed."""
    settings = parameters.robustness
    weights = np.array(list(parameters.weights.as_dict().values()))
    positive = weights > 0
    rng = np.random.default_rng(settings.seed)
    draws = np.zeros((settings.draws, len(weights)))
    draws[:, positive] = rng.dirichlet(weights[positive] * settings.kappa, size=settings.draws)
    criteria = scored[list(CRITERIA)].to_numpy(dtype=float)
    eligible = scored.eligible.to_numpy(dtype=bool)
    shares = np.zeros(len(scored))
    for rows in _set_positions(sets):
        np.put(shares, rows, _first_shares(criteria[rows], eligible[rows], draws))
    return pd.Series(shares, index=scored.index)


def _first_shares(criteria: np.ndarray, eligible: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The share of ``draws`` (criteria weights) in which each eligible sector (row of
    ``criteria``) ranks first: the first of the best totals. Only the eligible rows are
    re-weighted; in a draw where none has a total, no sector wins, unless the first row is
    eligible (it is then the first of equals)."""
    shares = np.zeros(len(criteria))
    if not eligible.any():
        return shares
    candidates = criteria[eligible]
    present = ~np.isnan(candidates)
    with np.errstate(invalid="ignore", divide="ignore"):
        totals = (np.nan_to_num(candidates) @ draws.T) / (present @ draws.T)
    totals = np.nan_to_num(totals, nan=-np.inf)
    winners = totals.argmax(axis=0)
    counted = np.isfinite(totals.max(axis=0)) | eligible[0]
    np.put(shares, np.flatnonzero(eligible), np.bincount(winners[counted], minlength=len(candidates)) / len(draws))
    return shares


def trailing_criterion(winner: pd.Series, other: pd.Series) -> str | None:
    """The criterion on which ``other`` falls furthest behind ``winner`` (None if none compares)."""
    gaps = {c: winner[c] - other[c] for c in CRITERIA if pd.notna(winner[c]) and pd.notna(other[c])}
    return max(gaps, key=gaps.get) if gaps else None
