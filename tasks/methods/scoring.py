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

import numpy as np
import pandas as pd

from schemas.outputs import CRITERIA, SCORE_INDICATORS
from schemas.parameters import EligibilityGates, SelectionParameters


def percentile_score(values: pd.Series) -> pd.Series:
    """0-100 percentile rank among the non-null values (ties averaged); null where the value
    is null, and for every row when fewer than two distinct values exist."""
    present = values.dropna()
    if present.nunique() < 2:
        return pd.Series(np.nan, index=values.index)
    ranks = present.rank(method="average")
    return ((ranks - 1) / (len(present) - 1) * 100).reindex(values.index)


def gate_failures(candidates: pd.DataFrame, gates: EligibilityGates) -> pd.Series:
    """Why each sector is ineligible ('' when it passes every gate)."""
    firms = candidates.firms.fillna(candidates.establishments)
    checks = [
        (firms, gates.min_firms, "firms"),
        (candidates.employment, gates.min_employment, "employment"),
        (candidates.lq_employment, gates.min_lq_employment, "LQ"),
    ]
    reasons = pd.Series("", index=candidates.index, dtype="object")
    for values, minimum, label in checks:
        failed = values.isna() | values.lt(minimum)
        text = label + " " + values.map(lambda v: "missing" if pd.isna(v) else f"{v:.3g}") + f" < {minimum:g}"
        reasons = reasons.where(~failed, reasons.where(reasons.eq(""), reasons + "; ") + text)
    return reasons


def score_candidates(candidates: pd.DataFrame, parameters: SelectionParameters) -> pd.DataFrame:
    """Score and rank one comparison set (one province, one year) of candidate sectors.

    ``candidates`` has one row per sector with the indicator columns of ``CRITERIA`` (missing
    columns count as missing values). Returns the rows with ``score_<indicator>``, the four
    criterion scores, ``total_score``, ``eligible``, ``gate_failures``, ``rank`` (eligible
    sectors first, by score), ``selected``, ``size_rank`` and ``size_basis``.
    """
    scored = candidates.copy()
    for name in SCORE_INDICATORS:
        if name not in scored:
            scored[name] = np.nan
        scored[f"score_{name}"] = percentile_score(scored[name].astype("float64"))
    weights = parameters.weights.as_dict()
    weighted, weight_present = 0.0, 0.0
    for criterion, names in CRITERIA.items():
        scored[criterion] = scored[[f"score_{n}" for n in names]].mean(axis=1, skipna=True)
        present = scored[criterion].notna()
        weighted = weighted + scored[criterion].fillna(0) * weights[criterion]
        weight_present = weight_present + present * weights[criterion]
    scored["total_score"] = (weighted / weight_present.where(weight_present > 0)).round(6)
    for criterion in CRITERIA:
        share = weights[criterion] / weight_present.where(weight_present > 0)
        scored[f"contribution_{criterion}"] = (scored[criterion].fillna(0) * share).round(6)
    scored = scored.join(indicator_impacts(scored, weights))
    constant = [n for n in SCORE_INDICATORS if scored[f"score_{n}"].isna().all()]
    scored["indicators_constant"] = ", ".join(constant) or None
    missing = scored[[n for n in SCORE_INDICATORS if n not in constant]].isna()
    columns = np.array(missing.columns)
    scored["indicators_missing"] = [", ".join(columns[row]) or None for row in missing.to_numpy()]
    scored["gate_failures"] = gate_failures(scored, parameters.gates)
    scored["eligible"] = scored.gate_failures.eq("") & scored.total_score.notna()
    scored["gate_failures"] = scored.gate_failures.replace("", None)
    order = scored.sort_values(
        ["eligible", "total_score", "sector_code"], ascending=[False, False, True], na_position="last"
    )
    scored.loc[order.index, "rank"] = np.arange(1, len(order) + 1)
    scored["rank"] = scored["rank"].astype("int64")
    scored["selected"] = scored["rank"].eq(1) & scored.eligible
    if "size_basis" not in scored:  # no turnover known for this comparison set
        scored["size_basis"] = "employment"
    scored["size_rank"] = size_rank(scored)
    scored["robustness_share"] = robustness_shares(scored, parameters)
    scored["robust"] = (scored.robustness_share >= parameters.robustness.robust_share).where(scored.selected, None)
    return scored.sort_values("rank").reset_index(drop=True)


def size_rank(scored: pd.DataFrame) -> pd.Series:
    """Rank by size within the province (1 = largest): by turnover where the province has
    turnover (``size_basis`` turnover_registry or turnover_agency), else by employment."""
    size = scored.turnover_try.where(scored.size_basis.ne("employment"), scored.employment)
    return size.where(size.gt(0)).rank(ascending=False, method="min").astype("Int64")


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


def indicator_impacts(scored: pd.DataFrame, weights: dict[str, float], top: int = 3) -> pd.DataFrame:
    """The indicators that moved each sector's total most, as 'name +points' against the
    comparison set's average score of that indicator (points of the 0-100 total)."""
    shares = effective_weights(scored, weights)
    scores = scored[[f"score_{n}" for n in SCORE_INDICATORS]].set_axis(SCORE_INDICATORS, axis=1)
    impact = ((scores - scores.mean()) * shares).where(shares > 0).to_numpy()
    names = np.array(SCORE_INDICATORS)

    def describe(values: np.ndarray, sign: float) -> str | None:
        signed = np.where(np.isnan(values), 0.0, values * sign)
        order = [i for i in np.argsort(-signed, kind="stable")[:top] if signed[i] > 0]
        return "; ".join(f"{names[i]} {values[i]:+.1f}" for i in order) or None

    return pd.DataFrame(
        {
            "top_indicators": [describe(row, 1.0) for row in impact],
            "weakest_indicators": [describe(row, -1.0) for row in impact],
        },
        index=scored.index,
    )


def robustness_shares(scored: pd.DataFrame, parameters: SelectionParameters) -> pd.Series:
    """Per sector, the share of weight draws in which it ranks first among the eligible sectors.

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
    present = ~np.isnan(criteria)
    with np.errstate(invalid="ignore", divide="ignore"):
        totals = (np.nan_to_num(criteria) @ draws.T) / (present @ draws.T)
    eligible = scored.eligible.to_numpy()
    totals[~eligible, :] = -np.inf
    totals = np.nan_to_num(totals, nan=-np.inf)
    shares = np.zeros(len(scored))
    if eligible.any():
        winners = totals.argmax(axis=0)
        shares = np.bincount(winners, minlength=len(scored)) / settings.draws
    return pd.Series(np.where(eligible, shares, 0.0), index=scored.index)


def trailing_criterion(winner: pd.Series, other: pd.Series) -> str | None:
    """The criterion on which ``other`` falls furthest behind ``winner`` (None if none compares)."""
    gaps = {c: winner[c] - other[c] for c in CRITERIA if pd.notna(winner[c]) and pd.notna(other[c])}
    return max(gaps, key=gaps.get) if gaps else None
