"""Scoring and selection under the programme's four criteria (methodology.md §4).

The assignment of indicators to criteria is our reconstruction: the programme published the
four headings, not its sub-indicators or weights. Normalisation is the percentile rank within
the comparison set (the candidate sectors of one province in one year), 0-100 with ties
averaged. An indicator that is missing for a sector drops out of that sector's criterion
(the other indicators' weights are renormalised); an indicator with no variation in the
comparison set (e.g. a province-level figure) carries no information there and drops out for
all. Both are reported in ``indicators_missing`` / ``indicators_constant``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.outputs import CRITERIA, SCORE_INDICATORS
from schemas.parameters import EligibilityGates, SelectionParameters

INDICATORS = SCORE_INDICATORS


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
    sectors first, by score), ``selected`` and ``turnover_rank``.
    """
    scored = candidates.copy()
    for name in INDICATORS:
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
    constant = [n for n in INDICATORS if scored[f"score_{n}"].isna().all()]
    scored["indicators_constant"] = ", ".join(constant) or None
    missing = scored[[n for n in INDICATORS if n not in constant]].isna()
    scored["indicators_missing"] = missing.apply(lambda row: ", ".join(row.index[row]) or None, axis=1)
    scored["gate_failures"] = gate_failures(scored, parameters.gates)
    scored["eligible"] = scored.gate_failures.eq("") & scored.total_score.notna()
    scored["gate_failures"] = scored.gate_failures.replace("", None)
    order = scored.sort_values(
        ["eligible", "total_score", "sector_code"], ascending=[False, False, True], na_position="last"
    )
    scored.loc[order.index, "rank"] = np.arange(1, len(order) + 1)
    scored["rank"] = scored["rank"].astype("int64")
    scored["selected"] = scored["rank"].eq(1) & scored.eligible
    turnover = scored.turnover_try.where(scored.turnover_try.gt(0))
    scored["turnover_rank"] = turnover.rank(ascending=False, method="min").astype("Int64")
    return scored.sort_values("rank").reset_index(drop=True)
