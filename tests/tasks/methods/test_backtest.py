"""Backtests (methodology.md §8): known answers of the metrics, no look-ahead (a value planted
after the origin changes nothing the origin computed, and the test fails if the origin's data
are not cut), and, on the national workload's planted entry dynamics, density beats a random
order by the margin the generator's entry probabilities give it."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from backtest_inputs import planted, synthetic_inputs
from sklearn.metrics import average_precision_score

from schemas.parameters import SelectionParameters
from tasks.methods import backtest as bt
from tasks.methods import model
from tasks.methods.history import selection_history

PARAMETERS = SelectionParameters()


@pytest.fixture(scope="module")
def inputs(ref):
    return synthetic_inputs(ref)


@pytest.fixture(scope="module")
def origin(inputs):
    return bt.origin_at(inputs, PARAMETERS, 2015)


@pytest.fixture(scope="module")
def happened(inputs):
    return bt.outcomes(inputs, PARAMETERS)


def test_an_origin_needs_its_window_and_the_years_to_the_confirmation():
    years = range(2011, 2021)
    assert bt.origin_years(years, 3, 3) == [2013, 2014, 2015, 2016]  # 2016 + 3 + 1 = 2020
    assert bt.origin_years(years, 3, 5) == [2013, 2014]
    assert bt.origin_years([2011, 2012, 2013, 2015, 2016, 2017, 2018, 2019], 2, 1) == [2016, 2017]


def test_precision_at_k_counts_a_tie_across_the_cut_in_proportion():
    hits = np.array([1, 0, 1, 0, 0], dtype=bool)
    assert bt.precision_at(np.array([5.0, 4, 3, 2, 1]), hits, 2) == 0.5
    assert bt.precision_at(np.array([5.0, 4, 3, 2, 1]), hits, 3) == pytest.approx(2 / 3)
    # three tied for the last two places, one of them a hit: 1 + 1 x 2/3 expected in the top 3
    assert bt.precision_at(np.array([5.0, 1, 1, 1, np.nan]), np.array([1, 1, 0, 0, 1], bool), 3) == pytest.approx(
        (1 + 2 / 3) / 3
    )
    assert bt.precision_at(np.array([np.nan, 2.0]), np.array([1, 0], bool), 10) == 0.5  # fewer than k: all
    assert bt.precision_at(np.array([np.nan, np.nan]), np.array([1, 0], bool), 1) == 0.5  # null scores tie


def test_the_random_order_s_average_precision_is_its_exact_expectation():
    for n, m in [(5, 2), (6, 1), (6, 3), (4, 4)]:
        truth = np.zeros(n, dtype=bool)
        truth[:m] = True
        orders = [np.array(p, dtype=float) for p in itertools.permutations(range(n))]
        mean = np.mean([average_precision_score(truth, order) for order in orders])
        assert bt.random_average_precision(m, n) == pytest.approx(mean)


def test_the_ols_effect_is_the_dummy_s_coefficient_with_its_robust_error():
    rng = np.random.default_rng(3)
    control = rng.normal(size=200)
    dummy = rng.random(200) < 0.3
    outcome = 1 + 2 * dummy + 0.5 * control
    effect, n, error = bt.ols_effect(outcome, dummy, control[:, None], np.ones(200, bool))
    assert effect == pytest.approx(2) and n == 200 and error == pytest.approx(0, abs=1e-9)
    noisy = outcome + rng.normal(0, 1, 200)
    effect, _, error = bt.ols_effect(noisy, dummy, control[:, None], np.ones(200, bool))
    assert abs(effect - 2) < 3 * error and 0.05 < error < 0.3
    # left out: a mean-reverting control the raw difference confounds
    raw, _, _ = bt.ols_effect(outcome, dummy, np.empty((200, 0)), np.ones(200, bool))
    assert raw == pytest.approx(2 + 0.5 * (control[dummy].mean() - control[~dummy].mean()))
    assert np.isnan(bt.ols_effect(outcome, np.ones(200, bool), control[:, None], np.ones(200, bool))[0])


def test_a_treated_sector_is_matched_with_the_nearest_sector_of_its_province():
    provinces = np.array([1, 1, 1, 2, 2])
    treated = np.array([True, False, False, True, False])
    features = np.array([[5.0, 0.0], [4.9, 0.1], [1.0, 0.0], [3.0, 1.0], [3.1, -1.0]])
    growth = np.array([0.3, 0.1, 0.9, 0.2, np.nan])
    differences = bt.matched_differences(provinces, treated, features, growth)
    assert differences.tolist() == pytest.approx([0.2])  # province 2's match has no growth: left out


def test_entry_metrics_on_a_known_origin():
    """Two provinces; province 1 lacks a, b, c (enters b), province 2 lacks a, b (enters a)."""
    absent = pd.DataFrame(
        {
            "region_code": [1, 1, 1, 2, 2],
            "sector_code": ["a", "b", "c", "a", "b"],
            "rca": [0.9, 0.1, 0.5, 0.2, 0.8],
            "density": [0.2, 0.6, 0.4, 0.7, 0.3],
        }
    )
    cells = pd.MultiIndex.from_tuples([(1, "a"), (1, "b"), (1, "c"), (2, "a"), (2, "b")])
    present = {
        2018: pd.Series([0, 1, 1, 1, 0], index=cells),
        2019: pd.Series([1, 1, 0, 1, 0], index=cells),  # 1c enters but leaves: not an entry
    }
    origin = bt.Origin(2015, pd.DataFrame(), absent, pd.Series({"a": 0.1, "b": 0.0, "c": 0.2}), None)
    metrics = bt.entry_metrics(origin, bt.Outcomes(present, pd.Series(dtype=float), pd.DataFrame()), 3)
    assert metrics["entry", "density", "precision_at_5"] == (1 / 2 * (1 / 3 + 1 / 2), 2)  # all cells: the rates
    assert metrics["entry", "density", "pr_auc"] == (1.0, 5)  # both entries ranked first
    assert metrics["entry", "rca_below_one", "pr_auc"][0] == pytest.approx(average_precision_score(
        [0, 1, 0, 1, 0], [0.9, 0.1, 0.5, 0.2, 0.8]
    ))  # fmt: skip
    assert metrics["entry", "random", "entry_rate"] == (0.4, 5)
    assert metrics["entry", "random", "pr_auc"][0] == pytest.approx(bt.random_average_precision(2, 5))


def test_a_value_planted_after_the_origin_changes_nothing_it_computed(inputs, origin, happened):
    """Istanbul's employment and exports of 2018 (= t0 + 3) x 100: the origin of 2015 computes
    the same selection, absent sectors and baselines; the outcomes of horizon 3 see the plant."""
    future = planted(inputs, 2018)
    again = bt.origin_at(future, PARAMETERS, 2015)
    pd.testing.assert_frame_equal(again.scored, origin.scored)
    pd.testing.assert_frame_equal(again.absent, origin.absent)
    pd.testing.assert_series_equal(again.national_growth, origin.national_growth)
    before = bt.evaluate_origin(origin, happened, 3).set_index(["test", "method", "metric"]).value
    after = bt.evaluate_origin(again, bt.outcomes(future, PARAMETERS), 3).set_index(["test", "method", "metric"]).value
    assert after["selection", "selected", "growth"] != before["selection", "selected", "growth"]


def test_the_no_look_ahead_test_fails_when_the_origin_s_data_are_not_cut(inputs, origin, monkeypatch):
    """A later value that only the uncut data hold (the latest registry, a snapshot; and 2018's
    rows): with the cut, the origin is unchanged; without it (``as_of`` handing the whole
    inputs on), the same comparison fails."""
    firm = inputs.chamber_registry.iloc[:1]
    crowd = pd.concat([inputs.chamber_registry, firm.loc[firm.index.repeat(3000)].assign(plate_code=34)])
    future = replace(planted(inputs, 2018), chamber_registry=crowd)
    assert bt.origin_at(future, PARAMETERS, 2015).scored.equals(origin.scored)
    monkeypatch.setattr(model, "as_of", lambda inputs, year, snapshots=False: inputs)
    uncut = bt.origin_at(future, PARAMETERS, 2015).scored
    assert not uncut.equals(origin.scored)


def test_the_origin_selects_what_the_history_shows_for_that_year(inputs, origin):
    history = selection_history(inputs, PARAMETERS, [2016])
    backtested = bt.origin_at(inputs, PARAMETERS, 2016).scored
    first = history[history["rank"] == 1].set_index("plate_code").sector_code
    selected = backtested[backtested["rank"] == 1].set_index("plate_code").sector_code
    assert first.sort_index().tolist() == selected.sort_index().tolist()
    assert origin.scored.selected.sum() == origin.scored.plate_code.nunique()  # one per province here


def test_the_backtest_table_is_tidy_and_its_summary_prints_every_method(inputs):
    table = bt.backtest(inputs, PARAMETERS, horizons=[3], origins=[2014, 2015])
    assert list(table.columns) == bt.COLUMNS
    assert set(table.origin_year) == {2014, 2015} and set(table.horizon) == {3}
    assert set(table.method) == {"density", "rca_below_one", "national_growth", "random", "selected", "cmp_strong"}
    assert not table.duplicated(["origin_year", "horizon", "test", "method", "metric"]).any()
    assert table.set_index(["origin_year", "method", "metric"]).n[(2015, "density", "precision_at_5")] == 12
    lines = bt.summary(table)
    assert lines[0].startswith("Backtest: 12 provinces, origins 2014-2015, horizons 3;")
    assert any(line.strip().startswith("random (expected)") for line in lines)
    assert bt.summary(table.iloc[:0]) == [
        "backtest: no origin year with a full window and the horizon's years in the data"
    ]


DENSITY_OVER_RANDOM = 2.0  # density's precision at 5 at least twice a random order's (observed: 3-4.7 times)
POOLED_OVER_RANDOM = 1.1  # and its pooled PR-AUC at least 10 % above a random order's (observed: 1.2-1.6 times)


def test_on_the_national_workload_density_predicts_the_planted_entries(ref):
    """The national workload (samples/national_data.py) plants groups of co-locating classes
    and entries whose yearly chance rises with the share of the group a province holds
    (ENTRY_BASE + ENTRY_SLOPE x share). Within each province, density ranks the classes it
    lacks by their proximity to those it has: its precision at 5 is at least
    ``DENSITY_OVER_RANDOM`` times a random order's. Pooled over the provinces the margin is
    smaller (a diverse province has a high density for every class, entered or not): the
    average precision is at least ``POOLED_OVER_RANDOM`` times a random order's. One origin,
    horizon 3, the employment facts only."""
    from samples.national_data import national_panel

    panel = national_panel(ref, np.random.default_rng(1))
    sgk = panel[panel.employment > 0][["plate_code", "nace_class", "year", "employment", "establishments"]]
    empty = synthetic_inputs(ref)
    inputs = replace(empty.without_snapshots(), sgk_employment=sgk, exports_by_sector=empty.exports_by_sector.iloc[:0])
    origin = bt.origin_at(inputs, PARAMETERS, 2015)
    metrics = bt.entry_metrics(origin, bt.outcomes(inputs, PARAMETERS), 3)
    value = {
        (method, metric): metrics["entry", method, metric][0]
        for method in ("density", "random")
        for metric in ("precision_at_5", "pr_auc")
    }
    assert value["density", "precision_at_5"] >= DENSITY_OVER_RANDOM * value["random", "precision_at_5"], value
    assert value["density", "pr_auc"] >= POOLED_OVER_RANDOM * value["random", "pr_auc"], value


def test_with_clusters_scored_an_origin_defines_its_clusters_from_its_own_data(inputs):
    """candidates = cluster: the origin scores the co-location clusters of its own window (§7),
    and a later value changes neither them nor the selection."""
    clusters = SelectionParameters(candidates="cluster", clusters={"min_clusters": 2, "max_clusters": 6})
    origin = bt.origin_at(inputs, clusters, 2015)
    assert set(origin.sector_sets.index) <= set(inputs.sgk_employment.nace_class)
    assert set(origin.scored.sector_code) <= set(origin.sector_sets)  # the clusters' ids, not classes
    again = bt.origin_at(planted(inputs, 2018), clusters, 2015)
    pd.testing.assert_series_equal(again.sector_sets, origin.sector_sets)
    pd.testing.assert_frame_equal(again.scored, origin.scored)
    rows = bt.evaluate_origin(origin, bt.outcomes(inputs, clusters, origin.sector_sets), 3)
    assert rows.set_index(["method", "metric"]).n["selected", "growth"] == origin.scored.selected.sum()
