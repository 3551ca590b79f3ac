"""§6 relatedness and complexity: the known answers of the method, worked here; properties on
random matrices; and the independent cross-check against Growth Lab's py-ecomplexity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tasks.methods.relatedness import (
    DISCONNECTED,
    NO_DIVERSITY,
    NO_RELATED,
    NO_UBIQUITY,
    co_occurrence,
    complexity,
    compute_relatedness,
    density,
    outlook,
    presence,
    proximity,
    proximity_leave_one_out,
    related_sectors,
    related_sectors_lq,
    revealed_comparative_advantage,
    row_percentile,
    supporting_sectors,
    window_employment,
)

X = np.array([[10, 20, 30], [40, 50, 0], [60, 0, 0]])


def long_table(matrix: np.ndarray, years: tuple[int, ...] = (2020,)) -> pd.DataFrame:
    """A region x sector matrix as the long table of facts, the same in every year."""
    regions, sectors = matrix.shape
    return pd.DataFrame(
        [
            {"region_code": f"r{r + 1}", "sector_code": f"s{s + 1}", "year": year, "employment": float(matrix[r, s])}
            for year in years
            for r in range(regions)
            for s in range(sectors)
        ]
    )


# --- known answers (§6.1, §6.4) ---------------------------------------------------------------


def test_rca_known_answer_and_the_boundary_of_presence():
    """RCA of §6's example: (10/60) / (110/210) = 0.3182 ...; RCA(r1, s2) = (20/60) / (70/210) is
    exactly 1.0 and present under >=."""
    rca = revealed_comparative_advantage(X)
    expected = [[0.3182, 1, 3.5], [0.8485, 1.6667, 0], [1.9091, 0, 0]]
    np.testing.assert_allclose(rca, expected, atol=5e-5)
    assert rca[0, 1] == 1.0
    assert presence(X, min_employment=0).tolist() == [[0, 1, 1], [0, 1, 0], [1, 0, 0]]


def test_minimum_size_is_inclusive():
    """Employment >= the minimum: exactly the minimum is present, just below is not."""
    employment = np.array([[10.0, 0.0], [0.0, 9.99]])
    assert presence(employment, min_employment=10).tolist() == [[1, 0], [0, 0]]


def test_lower_triangular_known_answer():
    """Region i holds sectors 1..i: the eigenvalues of M~ are 1, 1/4, ..., 1/36 and ECI =
    [-1.464, -0.878, -0.293, 0.293, 0.878, 1.464] (standardised, rising with diversity)."""
    result = complexity(np.tril(np.ones((6, 6))))
    np.testing.assert_allclose(result.eigenvalues, [1 / n**2 for n in range(1, 7)], atol=1e-12)
    np.testing.assert_allclose(result.eci, [-1.464, -0.878, -0.293, 0.293, 0.878, 1.464], atol=5e-4)
    assert result.diversity.tolist() == [1, 2, 3, 4, 5, 6]
    assert result.ubiquity.tolist() == [6, 5, 4, 3, 2, 1]
    # the scale rule: the mean PCI of a region's sectors is its ECI
    for region in range(6):
        assert np.isclose(result.pci[: region + 1].mean(), result.eci[region])


def test_block_diagonal_network_has_no_complexity():
    """Two groups of regions sharing no sector: the second eigenvalue is 1, complexity is null
    with the reason, never a number."""
    blocks = np.kron(np.eye(2), np.ones((2, 2)))
    result = complexity(blocks)
    assert np.isnan(result.eci).all() and np.isnan(result.pci).all()
    assert set(result.region_reasons) == {DISCONNECTED} and set(result.sector_reasons) == {DISCONNECTED}
    coi, cog = outlook(blocks, proximity(blocks), density(blocks, proximity(blocks)), result.pci)
    assert np.isnan(coi).all() and np.isnan(cog).all()


def test_regions_and_sectors_without_presence_are_null_with_reasons():
    present = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    result = complexity(present)
    assert np.isnan(result.eci[3]) and result.region_reasons[3] == NO_DIVERSITY
    assert np.isnan(result.pci[3]) and result.sector_reasons[3] == NO_UBIQUITY
    assert np.isfinite(result.eci[:3]).all() and np.isfinite(result.pci[:3]).all()


def test_sign_follows_rarity_when_diversity_does_not_vary():
    """Every region holds two sectors; the region with the rarest sectors is the most complex."""
    present = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1], [0, 0, 1, 1]])
    result = complexity(present)
    mean_ubiquity = (present @ result.ubiquity) / result.diversity
    assert np.corrcoef(result.eci, mean_ubiquity)[0, 1] < 0


# --- proximity and density (§6.2, §6.3) ---------------------------------------------------------


def test_proximity_by_hand():
    """phi = C / max(u_i, u_j), zero diagonal; a sector present nowhere has none (null)."""
    present = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0]])
    phi = proximity(present)
    # u = (3, 2, 2, 0); C(1,2) = 2 -> 2/3; C(2,3) = 1 -> 1/2; C(1,3) = 2 -> 2/3
    np.testing.assert_allclose(phi[:3, :3], [[0, 2 / 3, 2 / 3], [2 / 3, 0, 1 / 2], [2 / 3, 1 / 2, 0]])
    assert np.isnan(phi[3]).all() and np.isnan(phi[:, 3]).all()
    assert co_occurrence(present)[0, 0] == 3  # the diagonal of C is the ubiquity


def test_density_by_hand_counts_neither_the_sector_itself_nor_a_sector_present_nowhere():
    present = np.array([[1, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0]])
    omega = density(present, proximity(present))
    # u = (3, 1, 2, 0): phi(1,2) = 1/3, phi(1,3) = 2/3, phi(2,3) = 1/2
    # region 1 holds sector 1 only: density of sector 2 = phi(2,1) / (phi(2,1) + phi(2,3))
    assert np.isclose(omega[0, 1], (1 / 3) / (1 / 3 + 1 / 2))
    # its own sector 1: its presence adds nothing (zero diagonal), and it holds nothing else
    assert omega[0, 0] == 0
    assert np.isclose(omega[1, 1], 1.0)  # region 2 holds both neighbours of sector 2
    assert np.isnan(omega[:, 3]).all()


def test_leave_one_out_takes_the_region_out_of_proximity():
    """Region r's density uses phi computed without r: the co-occurrences it alone brings vanish."""
    present = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
    loo = proximity_leave_one_out(present)
    for region in range(len(present)):
        np.testing.assert_array_equal(loo[region], proximity(np.delete(present, region, axis=0)))
    # the shared phi counts region 4's co-presence; leaving region 4 out lowers phi(1,2)
    assert proximity(present)[0, 1] == 2 / 3 and loo[3][0, 1] == 1 / 2
    omega = density(present, loo)
    assert np.isclose(omega[3, 0], (loo[3][0, 1] + loo[3][0, 2]) / (loo[3][0, 1] + loo[3][0, 2]))


# --- outlook, supports and related sectors (§6.5-§6.7) ------------------------------------------


def test_outlook_matches_the_formulas_written_as_loops():
    rng = np.random.default_rng(7)
    present = (rng.random((8, 10)) < 0.45).astype("int8")
    present[:, 0] = 1  # connected
    phi = proximity(present)
    omega = density(present, phi)
    pci = complexity(present).pci
    coi, cog = outlook(present, phi, omega, pci)
    w = np.nan_to_num(pci)
    phi0 = np.nan_to_num(phi)
    for r in range(8):
        expected_coi = sum(np.nan_to_num(omega[r, s]) * (1 - present[r, s]) * w[s] for s in range(10))
        assert np.isclose(coi[r], expected_coi)
        for s in range(10):
            total = sum((1 - present[r, j]) * w[j] * phi0[j, s] / phi0[j].sum() for j in range(10) if phi0[j].sum() > 0)
            assert np.isclose(cog[r, s], (1 - present[r, s]) * total)


def test_supports_are_the_largest_contributions_to_density():
    present = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 0], [1, 0, 1, 1, 1]])
    phi = proximity(present)
    indices, values = supporting_sectors(present, phi, count=3)
    for r in range(3):
        for s in range(5):
            contributions = np.nan_to_num(phi[s]) * present[r]
            order = sorted((j for j in range(5) if contributions[j] > 0), key=lambda j: (-contributions[j], j))[:3]
            assert indices[r, s][: len(order)].tolist() == order
            np.testing.assert_allclose(values[r, s][: len(order)], contributions[order])
            assert (indices[r, s][len(order) :] == -1).all()


def test_related_sectors_are_above_the_90th_percentile_of_the_row():
    phi = np.array(
        [
            [0, 0.9, 0.1, 0.2, 0.3],
            [0.9, 0, 0.1, 0.1, 0.1],
            [0.1, 0.1, 0, 0.5, 0.5],
            [0.2, 0.1, 0.5, 0, 0],
            [0.3] * 4 + [0],
        ]
    )
    phi[4, 4] = 0
    related = related_sectors(phi)
    # row 0 without itself: (0.9, 0.1, 0.2, 0.3); the 90th percentile is 0.72: only sector 1
    assert related[0].tolist() == [False, True, False, False, False]
    assert row_percentile(np.array([[0.9, 0.1, 0.2, 0.3]]), 90)[0, 0] == pytest.approx(0.72)
    assert related[4].tolist() == [True, True, True, True, False]  # ties at the percentile are related
    assert not related_sectors(np.zeros((3, 3)))[0].any()  # a row of zeros relates to nothing
    employment = np.array([[100.0, 50, 0, 0, 10], [0, 50, 100, 100, 10]])
    lq = related_sectors_lq(employment, related)
    # region 1: sector 0's related set is {1}: (50/160) / (100/420)
    assert lq[0, 0] == pytest.approx((50 / 160) / (100 / 420))


def test_strength_reasons():
    result = compute_relatedness(long_table(np.array([[50, 0, 10], [0, 50, 30]])), min_employment=0, window=1)
    strength = result.strength.set_index(["region_code", "sector_code"])
    assert strength.loc[("r1", "s1"), "null_reason"] == NO_RELATED  # s1 co-occurs with nothing
    assert np.isnan(strength.loc[("r1", "s1"), "related_sectors_lq"])
    assert np.isnan(strength.loc[("r1", "s1"), "relatedness_density"])  # 0 / 0: never with another sector
    # s2 and s3 are present together in r2: each is the other's related sector
    assert strength.loc[("r1", "s2"), "related_sectors_lq"] == pytest.approx((10 / 60) / (40 / 140))


# --- the tables, by window ------------------------------------------------------------------------


def test_window_averages_count_a_missing_row_as_zero_and_need_a_full_window():
    facts = pd.DataFrame(
        {
            "region_code": ["a", "a", "a", "b", "b"],
            "sector_code": ["x", "x", "x", "x", "y"],
            "year": [2018, 2019, 2020, 2018, 2020],
            "employment": [30.0, 60.0, 90.0, 9.0, 3.0],
        }
    )
    matrices = window_employment(facts, window=3)  # window sums: RCA is the same on averages
    assert list(matrices) == [2020]
    assert matrices[2020].loc["a", "x"] == 180.0 and matrices[2020].loc["b", "x"] == 9.0
    assert matrices[2020].loc["b", "y"] == 3.0 and matrices[2020].loc["a", "y"] == 0.0
    assert list(window_employment(facts, window=1)) == [2018, 2019, 2020]
    # a year with no rows at all is not in the data: no window that spans it
    assert list(window_employment(facts[facts.year.ne(2019)], window=2)) == []
    assert list(window_employment(facts[facts.year.ne(2019)], window=1)) == [2018, 2020]


def test_presence_on_window_averages_keeps_exact_boundaries():
    """Averages of three years divide by 3 and round; presence is decided on the sums, where
    an RCA of exactly 1 stays 1.0 and the minimum applies as sum >= 3 x minimum."""
    employment = np.array([[10, 20, 30], [40, 50, 0], [60, 0, 0]])
    table = long_table(employment + 1 / 3, years=(2018, 2019, 2020))  # a third in every year
    table.loc[table.year.eq(2020), "employment"] -= 1.0  # the window's average stays an exact third off
    result = compute_relatedness(table, min_employment=0, window=3)
    complexity_rows = result.complexity[result.complexity.level.eq("sector")].set_index("sector_code")
    assert complexity_rows.ubiquity.to_dict() == {"s1": 1, "s2": 2, "s3": 1}


def test_compute_relatedness_tables():
    table = long_table(np.array([[10, 20, 30], [40, 50, 0], [60, 0, 0], [5, 5, 40]]), years=(2019, 2020, 2021))
    result = compute_relatedness(table, min_employment=0, window=2)
    assert sorted(result.complexity.year.unique()) == [2020, 2021]
    opportunities = result.opportunities[result.opportunities.year.eq(2021)]
    present = presence(np.array([[10, 20, 30], [40, 50, 0], [60, 0, 0], [5, 5, 40]]), 0)
    assert len(opportunities) == int((present == 0).sum())  # one row per sector a region lacks
    for _, group in opportunities.groupby("region_code"):
        ranked = group.sort_values("rank")
        assert ranked["rank"].tolist() == list(range(1, len(group) + 1))
        assert ranked.density.is_monotonic_decreasing
    pairs = result.pairs[result.pairs.year.eq(2021)]
    assert (pairs.proximity > 0).all() and (pairs.sector_code != pairs.related_sector_code).all()
    assert len(pairs) % 2 == 0  # both directions
    levels = result.complexity.groupby("level").size().to_dict()
    assert levels == {"region": 8, "sector": 6}


def test_universe_restricts_the_sectors():
    table = long_table(np.array([[10, 20, 30], [40, 50, 0], [60, 0, 5]]))
    result = compute_relatedness(table, min_employment=0, window=1, universe=["s1", "s2"])
    assert set(result.complexity.sector_code.dropna()) == {"s1", "s2"}


# --- properties ----------------------------------------------------------------------------------

matrices = arrays(
    np.float64, st.tuples(st.integers(3, 9), st.integers(3, 9)), elements=st.sampled_from([0.0, 5, 20, 80])
)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_properties(employment):
    present = presence(employment, min_employment=0)
    phi = proximity(present)
    omega = density(present, phi)
    defined = ~np.isnan(omega)
    assert ((omega[defined] >= 0) & (omega[defined] <= 1 + 1e-12)).all()
    assert np.isnan(omega[:, present.sum(axis=0) == 0]).all()
    lonely = np.nansum(phi, axis=1) == 0  # never present with another sector: 0 / 0
    assert np.isnan(omega[:, lonely]).all()
    result = complexity(present)
    everywhere = present.all(axis=0)
    assert (result.ubiquity[everywhere] == present.shape[0]).all()
    if not np.isnan(result.eci).all():
        for region in np.flatnonzero(result.diversity > 0):
            assert np.isclose(result.eci[region], result.pci[present[region] == 1].mean())
        assert np.isclose(np.nanmean(result.eci[result.diversity > 0]), 0, atol=1e-9)
    else:
        assert all(reason for reason in result.region_reasons)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(2, 5))
def test_any_disconnected_network_is_null(rows, columns):
    blocks = np.kron(np.eye(2), np.ones((rows, columns)))
    assert np.isnan(complexity(blocks).eci).all()


# --- the cross-check (§6.9) ----------------------------------------------------------------------


def test_agrees_with_py_ecomplexity():
    """Growth Lab's py-ecomplexity on the same employment matrix: RCA, presence, phi off the
    diagonal, ECI and PCI agree; density differs only by its diagonal of 1, exactly."""
    ecomplexity = pytest.importorskip("ecomplexity").ecomplexity
    rng = np.random.default_rng(11)
    employment = rng.gamma(0.6, 100, size=(25, 35)).round() * (rng.random((25, 35)) < 0.7)
    employment += (np.arange(25)[:, None] == np.arange(35)[None, :] % 25) * 50  # no empty row or column
    facts = long_table(employment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ecomplexity(
            facts,
            {"time": "year", "loc": "region_code", "prod": "sector_code", "val": "employment"},
            verbose=False,
            check_logsupermodularity=False,
        )
    theirs = theirs.assign(
        r=theirs.region_code.str[1:].astype(int), s=theirs.sector_code.str[1:].astype(int)
    ).sort_values(["r", "s"])
    shape = employment.shape
    present = presence(employment, min_employment=0)
    np.testing.assert_allclose(theirs.rca.to_numpy().reshape(shape), revealed_comparative_advantage(employment))
    np.testing.assert_array_equal(theirs.mcp.to_numpy().reshape(shape), present)
    ours = complexity(present)
    np.testing.assert_allclose(theirs.groupby("r").eci.first().to_numpy(), ours.eci, atol=1e-9)
    np.testing.assert_allclose(theirs.groupby("s").pci.first().to_numpy(), ours.pci, atol=1e-9)
    # their phi: C / max(u_i, u_j) with 1 on the diagonal; ours the same with 0 there
    phi = proximity(present)
    their_phi = np.minimum((present.T @ present) / present.sum(axis=0), ((present.T @ present) / present.sum(axis=0)).T)
    off = ~np.eye(shape[1], dtype=bool)
    np.testing.assert_allclose(their_phi[off], phi[off])
    # density: theirs adds the diagonal's term M(r,s)·1 above and 1 below, exactly
    omega = density(present, phi)
    with_diagonal = (omega * phi.sum(axis=1) + present) / (phi.sum(axis=1) + 1)
    np.testing.assert_allclose(theirs.density.to_numpy().reshape(shape), with_diagonal, atol=1e-12)
    assert not np.allclose(theirs.density.to_numpy().reshape(shape), omega)  # the convention matters


def test_sector_codes_taken_by_arrow_make_the_columns_pandas_makes_of_the_strings():
    """``_codes_at`` takes a window's sector codes by Arrow (some 50,000 pairs a window), not a
    Python string at a time: the frame is the one pandas makes of the codes themselves, a
    missing support none, all missing the nones pandas keeps as objects; codes that are not
    text are taken by numpy, as before."""
    from tasks.methods.relatedness import _codes_at

    codes = np.array(["10.11", "28.93", "30.11"], dtype=object)
    at = np.array([2, 0, -1, 1])
    cases = [
        (_codes_at(codes, at[at >= 0]), codes[at[at >= 0]]),
        (_codes_at(codes, at, nullable=True), np.where(at >= 0, codes[np.clip(at, 0, None)], None)),
        (_codes_at(codes, np.array([-1, -1]), nullable=True), np.array([None, None], dtype=object)),
        (_codes_at(codes, np.array([], dtype=np.int64)), codes[np.array([], dtype=np.int64)]),
        (_codes_at(np.array([7, 8]), np.array([1, -1]), nullable=True), np.array([8, None], dtype=object)),
        (_codes_at(np.array([7, 8]), np.array([1, 0])), np.array([8, 7])),
    ]
    for taken, expected in cases:
        mine, theirs = pd.DataFrame({"code": taken}), pd.DataFrame({"code": expected})
        assert mine.code.dtype == theirs.code.dtype
        pd.testing.assert_frame_equal(mine, theirs)
