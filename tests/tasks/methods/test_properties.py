"""Property tests of identities the indicators and scores must keep for any input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.outputs import SCORE_INDICATORS
from schemas.parameters import CriteriaWeights
from tasks.methods.indicators import compute_indicators
from tasks.methods.scoring import effective_weights, percentile_score, score_candidates

employment = st.lists(st.integers(1, 10_000), min_size=3, max_size=8)


def facts_from(region_a: list[int], others: list[int]) -> pd.DataFrame:
    sectors = [f"s{i}" for i in range(len(region_a))]
    rows = [("a", s, 2020, e, 1) for s, e in zip(sectors, region_a, strict=False)]
    rows += [("b", s, 2020, e, 1) for s, e in zip(sectors, others, strict=False)]
    return pd.DataFrame(rows, columns=["region_code", "sector_code", "year", "employment", "establishments"])


@settings(max_examples=30, deadline=None)
@given(employment, st.integers(2, 50))
def test_a_region_that_mirrors_the_nation_has_lq_one_everywhere(values, multiple):
    # region b is (multiple - 1) x region a, so the nation is multiple x a: a mirrors the nation
    table = compute_indicators(facts_from(values, [v * (multiple - 1) for v in values]), growth_spans=[1]).table
    assert table.lq_employment.to_numpy() == pytest.approx(np.ones(len(table)))


@settings(max_examples=30, deadline=None)
@given(employment, employment, st.floats(0.01, 1000))
def test_lq_is_invariant_when_all_employment_is_scaled(a, b, factor):
    facts = facts_from(a, b)
    base = compute_indicators(facts, growth_spans=[1]).table.lq_employment
    scaled = compute_indicators(facts.assign(employment=facts.employment * factor), growth_spans=[1]).table
    assert scaled.lq_employment.to_numpy() == pytest.approx(base.to_numpy())


@settings(deadline=None)  # a loaded CI machine must not fail a property on time
@given(
    st.lists(st.integers(-1_000_000, 1_000_000), min_size=2, max_size=30),
    st.floats(0.001, 1000),
    st.integers(-1_000_000, 1_000_000),
)
def test_scores_are_invariant_under_a_positive_linear_rescaling(values, scale, shift):
    series = pd.Series(values, dtype="float64")
    rescaled = percentile_score(series * scale + shift)
    assert np.allclose(rescaled, percentile_score(series), equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=4, max_size=4).filter(lambda w: sum(w) > 0.1),
    st.lists(st.booleans(), min_size=len(SCORE_INDICATORS), max_size=len(SCORE_INDICATORS)),
)
def test_weights_always_sum_to_one_after_renormalisation(raw, present):
    weights = dict(zip(CriteriaWeights.model_fields, np.array(raw) / sum(raw), strict=True))
    frame = pd.DataFrame(
        {f"score_{n}": [50.0 if p else np.nan] for n, p in zip(SCORE_INDICATORS, present, strict=True)}
    )
    shares = effective_weights(frame, weights).iloc[0]
    carried = any(p and weights[c] > 0 for c, p in _criterion_presence(present, weights).items())
    assert shares.sum() == pytest.approx(1.0 if carried else 0.0)


def _criterion_presence(present: list[bool], weights: dict) -> dict[str, bool]:
    from schemas.outputs import CRITERIA

    flags = dict(zip(SCORE_INDICATORS, present, strict=True))
    return {c: any(flags[n] for n in names) for c, names in CRITERIA.items()}


def test_totals_stay_between_0_and_100():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({n: rng.random(20) for n in SCORE_INDICATORS}).assign(sector_code=[f"{i}" for i in range(20)])
    from schemas.parameters import SelectionParameters

    scored = score_candidates(frame, SelectionParameters())
    assert scored.total_score.between(0, 100).all()
