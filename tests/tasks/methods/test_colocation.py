"""§7 co-location: gamma_c's known answers, the percentile ranks, the validation scores (against
their definition, pair by pair), and the definitions of a planted panel recovered exactly, with
their ids, names, stability and the window they need."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from tasks.methods.colocation import (
    LEAVE_ONE_OUT,
    NEXT_WINDOW,
    PREVIOUS_WINDOW,
    WEAK_LINK,
    choose_count,
    clusters,
    coagglomeration,
    combined_relatedness,
    count_range,
    define_clusters,
    log_lq_correlation,
    pair_percentiles,
    plateau_count,
    validation_scores,
)


def test_coagglomeration_known_answers():
    """x = (0.5, 0.3, 0.2): both wholly in region 1 give 0.6129; one in 1, one in 2 give -0.6774;
    a sector spread exactly as x gives 0 with any partner."""
    # sectors: a, b wholly in region 1; c wholly in region 2; d spread as x; the rest makes x
    employment = np.array(
        [
            [10.0, 10.0, 0.0, 50.0, 0.0],
            [0.0, 0.0, 10.0, 30.0, 0.0],
            [0.0, 0.0, 0.0, 20.0, 0.0],
        ]
    )
    employment[:, 4] = np.array([0.5, 0.3, 0.2]) * 200 - employment[:, :4].sum(axis=1)
    assert np.allclose(employment.sum(axis=1) / employment.sum(), [0.5, 0.3, 0.2])
    gamma = coagglomeration(employment)
    assert gamma[0, 1] == pytest.approx(0.6129, abs=5e-5)
    assert gamma[0, 2] == pytest.approx(-0.6774, abs=5e-5)
    assert np.allclose(gamma[3, :], 0.0, atol=1e-12)
    # 1 - sum x^2 = 0.62; deviations (0.5, -0.3, -0.2) and (-0.5, 0.7, -0.2)
    assert gamma[0, 1] == pytest.approx(0.38 / 0.62) and gamma[0, 2] == pytest.approx(-0.42 / 0.62)


def test_log_lq_correlation_is_one_for_sectors_located_alike():
    employment = np.array([[10.0, 20.0, 5.0], [30.0, 60.0, 5.0], [50.0, 100.0, 50.0]])
    correlation = log_lq_correlation(employment)
    assert correlation[0, 1] == pytest.approx(1.0)


def test_pair_percentiles_rank_all_pairs_with_ties_averaged():
    measure = np.array([[0, 0.1, 0.5], [0.1, 0, 0.5], [0.5, 0.5, 0]])
    ranks = pair_percentiles(measure)
    assert np.isnan(np.diag(ranks)).all()
    assert ranks[0, 1] == 0.0 and ranks[0, 2] == ranks[1, 2] == 0.75


def brute_force_scores(relatedness: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The validation scores as §7 words them, pair by pair (a null R counts as 0)."""
    related = np.nan_to_num(relatedness)
    names = sorted(set(labels))
    members = {name: [i for i in range(len(labels)) if labels[i] == name] for name in names}

    def mean_to(i, name):
        others = [j for j in members[name] if j != i]
        return np.mean([related[i, j] for j in others]) if others else None

    def pair_mean(a, b):
        values = [related[i, j] for i in members[a] for j in members[b] if i != j]
        return np.mean(values) if values else None

    sectors = 0
    for i, own in enumerate(labels):
        mine = mean_to(i, own)
        sectors += mine is not None and all(mine > mean_to(i, other) for other in names if other != own)
    passing = 0
    for name in names:
        within = pair_mean(name, name)
        passing += within is not None and all(within > pair_mean(name, other) for other in names if other != name)
    return sectors / len(labels), passing / len(names)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 12), st.integers(2, 5), st.integers(0, 10_000))
def test_validation_scores_are_the_definition_pair_by_pair(sectors, count, seed):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.uniform(size=(sectors, sectors)), 1)
    relatedness = upper + upper.T
    relatedness[rng.uniform(size=relatedness.shape) < 0.1] = np.nan  # some pairs without R
    relatedness = np.fmax(relatedness, relatedness.T)
    np.fill_diagonal(relatedness, np.nan)
    labels = rng.integers(1, min(count, sectors) + 1, size=sectors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'mean of empty slice' on singletons
        scores = validation_scores(relatedness, labels)
    assert (scores.vs_industry, scores.vs_cluster) == pytest.approx(brute_force_scores(relatedness, labels))


def test_a_singleton_passes_neither_score():
    relatedness = np.array([[np.nan, 0.9, 0.1], [0.9, np.nan, 0.1], [0.1, 0.1, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = validation_scores(relatedness, np.array([1, 1, 2]))
    assert scores.sector_passes.tolist() == [True, True, False]
    assert scores.cluster_passes.tolist() == [True, False]
    assert scores.vs_industry == pytest.approx(2 / 3) and scores.vs_cluster == 0.5
    assert scores.within[0] == 0.9 and np.isnan(scores.within[1])


def planted_panel(groups: int = 4, size: int = 5, regions: int = 40, noise: float = 0.0, seed: int = 1):
    """Sectors in planted groups: each group is concentrated in its own regions (no two groups
    share one: well separated), group g's sectors (g + 1) times as large as group 0's."""
    rng = np.random.default_rng(seed)
    sectors = groups * size
    employment = np.full((regions, sectors), 5.0)
    homes = np.array_split(rng.permutation(regions), groups)
    for group, home in enumerate(homes):
        for sector in range(group * size, (group + 1) * size):
            employment[home, sector] += 200 * (group + 1) * rng.uniform(0.8, 1.2, size=len(home))
    employment += noise * rng.gamma(1.0, 20.0, size=employment.shape)
    return employment, np.repeat(np.arange(groups), size)


def test_well_separated_planted_groups_are_recovered_exactly():
    employment, planted = planted_panel()
    relatedness = combined_relatedness([employment, employment * 1.02, employment * 0.98], min_employment=10)
    count, table = choose_count(relatedness, range(2, 9))
    assert count == 4
    assert adjusted_rand_score(planted, clusters(relatedness, count)) == 1.0
    scores = validation_scores(relatedness, clusters(relatedness, count))
    assert scores.vs_industry == 1.0 and scores.vs_cluster == 1.0
    assert list(table.columns) == ["clusters", "vs_industry", "vs_cluster", "score"]


def test_noisy_planted_groups_are_mostly_recovered():
    employment, planted = planted_panel(noise=1.0, seed=3)
    relatedness = combined_relatedness([employment], min_employment=10)
    assert adjusted_rand_score(planted, clusters(relatedness, 4)) >= 0.9


def test_the_count_is_the_largest_k_of_the_longest_plateau_not_a_lone_peak():
    scores = [0.90, 0.99, 0.90, 0.975, 0.98, 0.975, 0.50, 0.98, 0.985]
    table = pd.DataFrame({"clusters": range(20, 29), "score": scores})
    assert plateau_count(table) == 25  # 21 is a lone peak; 27-28 a shorter run than 23-25
    assert plateau_count(table.assign(score=[0.5] * 8 + [0.9])) == 28  # only a peak: the peak


def test_a_cut_with_tied_heights_counts_the_clusters_it_makes():
    # three tight pairs, every other pair alike: no cut makes 4 or 5 clusters
    relatedness = np.full((6, 6), 0.1)
    for a, b in ((0, 1), (2, 3), (4, 5)):
        relatedness[a, b] = relatedness[b, a] = 0.9
    np.fill_diagonal(relatedness, np.nan)
    count, table = choose_count(relatedness, count_range((20, 80), 6))
    assert table.clusters.tolist() == [2, 3, 4, 5] and table.score.tolist() == [1.0] * 4
    assert count == 3


def test_the_count_range_is_cut_to_what_the_sectors_allow():
    assert count_range((20, 80), 230) == range(20, 81)
    assert count_range((20, 80), 50) == range(20, 50)
    assert count_range((20, 80), 12) == range(2, 12)  # none of 20..80 allowed: every allowed count
    with pytest.raises(ValueError, match="at least 3 sectors"):
        count_range((2, 5), 2)


def long_facts(employment: np.ndarray, years: range, seed: int = 5, jitter: float = 0.0) -> pd.DataFrame:
    """The regions x sectors panel as the long facts table, one copy per year (times a small
    random factor with ``jitter``); regions '01'.., sectors 's00'.."""
    rng = np.random.default_rng(seed)
    frames = []
    for year in years:
        values = employment * rng.lognormal(0.0, jitter, size=employment.shape) if jitter else employment
        regions, sectors = np.indices(values.shape)
        frames.append(
            pd.DataFrame(
                {
                    "region_code": [f"{r + 1:02d}" for r in regions.ravel()],
                    "sector_code": [f"s{s:02d}" for s in sectors.ravel()],
                    "year": year,
                    "employment": values.ravel().round(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def planted_definitions():
    employment, planted = planted_panel()
    facts = long_facts(employment, range(2018, 2024))
    return define_clusters(facts, 2022, counts=(2, 8)), planted, facts


def test_definitions_of_a_clean_planted_panel(planted_definitions):
    result, planted, facts = planted_definitions
    members = result.members.set_index("sector_code")
    assert result.count == 4 and result.window_years == "2020-2022" and result.end_year == 2022
    assert adjusted_rand_score(planted, members.cluster_id[[f"s{s:02d}" for s in range(20)]]) == 1.0
    assert result.vs_industry == result.vs_cluster == 1.0
    assert members.sector_passes_vs.all() and result.clusters.cluster_passes_vs.all()
    # ids by descending employment: group 3 is four times group 0's size
    clusters = result.clusters
    assert clusters.cluster_id.tolist() == ["c01", "c02", "c03", "c04"]
    assert clusters.employment.is_monotonic_decreasing
    assert set(members.index[members.cluster_id == "c01"]) == {f"s{s}" for s in range(15, 20)}
    # named by the largest member in the end year
    end = facts[facts.year == 2022].groupby("sector_code").employment.sum()
    for cluster in clusters.itertuples():
        inside = members.index[members.cluster_id == cluster.cluster_id]
        assert cluster.name_sector_code == end[inside].idxmax()
        assert cluster.employment == pytest.approx(end[inside].sum()) and cluster.size == len(inside) == 5
    assert members.national_employment.to_dict() == pytest.approx(end.to_dict())
    assert (clusters.weak_link_share == 0).all() and (clusters.within_relatedness > 0.7).all()
    assert result.scores.clusters.tolist() == list(range(2, 9))


def test_a_clean_planted_panel_is_stable(planted_definitions):
    result, _, facts = planted_definitions
    stability = result.stability
    one_out = stability[stability.kind == LEAVE_ONE_OUT]
    assert sorted(one_out.region_code) == sorted(facts.region_code.unique())  # one row per region
    assert stability.kind.tolist().count(PREVIOUS_WINDOW) == stability.kind.tolist().count(NEXT_WINDOW) == 1
    assert (stability.ari == 1.0).all()
    assert stability[stability.kind != LEAVE_ONE_OUT].region_code.isna().all()


def test_neighbouring_windows_outside_the_data_are_left_out():
    employment, _ = planted_panel()
    facts = long_facts(employment, range(2020, 2023), jitter=0.05)
    result = define_clusters(facts, 2022, counts=(2, 8))
    assert set(result.stability.kind) == {LEAVE_ONE_OUT}
    assert define_clusters(facts, 2022, counts=(2, 8), stability=False).stability is None


def test_a_window_not_wholly_in_the_data_is_refused_naming_the_years():
    employment, _ = planted_panel()
    facts = long_facts(employment, [2019, 2021, 2022])
    with pytest.raises(ValueError, match=r"2020-2022 .*no rows for 2020 \(years in the data: 2019-2022\)"):
        define_clusters(facts, 2022)
    with pytest.raises(ValueError, match="no rows for 2023, 2024"):
        define_clusters(facts, 2024)
    assert define_clusters(facts, 2022, window=2, counts=(2, 8), stability=False).window_years == "2021-2022"


def test_the_universe_restricts_the_sectors_and_small_panels_search_what_they_allow():
    employment, planted = planted_panel()
    facts = long_facts(employment, range(2020, 2023))
    kept = [f"s{s:02d}" for s in range(10)]  # groups 0 and 1
    result = define_clusters(facts, 2022, universe=kept, stability=False)  # counts (20, 80): 2..9 searched
    assert sorted(result.members.sector_code) == kept
    assert result.scores.clusters.tolist() == list(range(2, 10))
    assert result.count == 2
    assert adjusted_rand_score(planted[:10], result.members.set_index("sector_code").cluster_id[kept]) == 1.0


def test_weak_links_are_within_cluster_pairs_with_a_log_lq_correlation_below_the_noise_level():
    # 81 regions, 12 sectors: pairs located alike, the rest independent (mostly |r| < 0.22)
    rng = np.random.default_rng(2)
    base = rng.gamma(2.0, 50.0, size=(81, 12))
    base[:, 1], base[:, 3] = base[:, 0] * 2, base[:, 2] * 3
    facts = long_facts(base, range(2022, 2023))
    result = define_clusters(facts, 2022, window=1, counts=(3, 6), stability=False)
    correlation = log_lq_correlation(base)
    members = result.members.reset_index(drop=True)
    shares = {}
    for cluster, group in members.groupby("cluster_id"):
        index = [int(code[1:]) for code in group.sector_code]
        pairs = [(a, b) for n, a in enumerate(index) for b in index[n + 1 :]]
        shares[cluster] = np.mean([abs(correlation[a, b]) < WEAK_LINK for a, b in pairs]) if pairs else np.nan
    table = result.clusters.set_index("cluster_id").weak_link_share
    assert table.to_dict() == pytest.approx(shares, nan_ok=True)
    assert (table == 1).any() and (table == 0).any()  # clusters of independent sectors rest on noise
    assert members.set_index("sector_code").cluster_id.s00 == members.set_index("sector_code").cluster_id.s01
    assert WEAK_LINK == 0.22


@settings(max_examples=10, deadline=None)
@given(st.floats(0.5, 50.0), st.permutations(list(range(40))))
def test_definitions_do_not_depend_on_the_scale_or_the_order_of_regions(factor, order):
    employment, _ = planted_panel(noise=0.5, seed=4)
    facts = long_facts(employment, range(2020, 2023), jitter=0.1)
    base = define_clusters(facts, 2022, counts=(2, 8), min_employment=0, stability=False)
    codes = {f"{r + 1:02d}": f"r{order[r]:02d}" for r in range(40)}
    changed = facts.assign(employment=facts.employment * factor, region_code=facts.region_code.map(codes))
    other = define_clusters(changed, 2022, counts=(2, 8), min_employment=0, stability=False)
    columns = ["sector_code", "cluster_id", "name_sector_code", "sector_passes_vs"]
    pd.testing.assert_frame_equal(base.members[columns], other.members[columns])
    pd.testing.assert_frame_equal(base.scores, other.scores)
