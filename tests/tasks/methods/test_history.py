"""The selection history (methodology.md §8.1): every reference year scored from the data up to
it only. The indicators are computed once over every year; these tests prove that a year's
rows read no later year (a planted later value changes nothing before it), that an earlier
year equals its selection computed from its own data alone, and that the latest year is what
the run publishes."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from backtest_inputs import planted, synthetic_inputs, write_accepted

from kume.settings import PROJECT_ROOT
from schemas.parameters import SelectionParameters
from tasks import stages
from tasks.methods.history import COLUMNS, history_years, selection_history
from tasks.methods.model import candidates_as_of
from tasks.methods.scoring import score_candidates
from tasks.store import Paths, read_frame

PARAMETERS = SelectionParameters()
WEIGHTS = {"economic_impact": 0.1, "demand": 0.2, "networking": 0.3, "factor_conditions": 0.4}
RANKED = ["plate_code", "rank", "sector_code", "total_score", "robust", "robustness_share"]


@pytest.fixture(scope="module")
def inputs(ref):
    return synthetic_inputs(ref)


@pytest.fixture(scope="module")
def history(inputs):
    return selection_history(inputs, PARAMETERS)


def test_the_years_are_those_with_a_full_window_and_growth_span(inputs):
    assert history_years(inputs, PARAMETERS) == [2016, 2017, 2018, 2019, 2020]  # data 2011-2020, span 5
    assert history_years(inputs, SelectionParameters(reference_year=2018)) == [2016, 2017, 2018]
    shorter = SelectionParameters(growth_spans=[3], relatedness={"window": 2})
    assert history_years(inputs, shorter) == list(range(2014, 2021))


def test_the_history_is_the_top_three_of_every_province_and_year(history, inputs):
    assert list(history.columns) == COLUMNS
    assert set(history.year) == {2016, 2017, 2018, 2019, 2020}
    counts = history.groupby(["plate_code", "year"])["rank"].apply(list)
    assert (counts.apply(sorted) == pd.Series([[1, 2, 3]] * len(counts), index=counts.index)).all()
    assert history.snapshot_inputs.tolist() == history.year.eq(2020).tolist()  # the latest year only


@pytest.mark.parametrize("year", [2018, 2020])
def test_a_later_value_changes_no_earlier_year(inputs, history, year):
    """Istanbul's employment and exports of ``year`` x 100: every year before it is unchanged
    (the indicators of a year read no later year), ``year`` itself changes (the plant is seen)."""
    again = selection_history(planted(inputs, year), PARAMETERS)
    before = history.year < year
    pd.testing.assert_frame_equal(again[before], history[before])
    assert not again[~before].equals(history[~before])


def test_an_earlier_year_is_its_selection_from_its_own_data_alone(inputs, history):
    """2017 scored from the inputs cut after 2017 without the snapshots, computed from scratch."""
    known = candidates_as_of(inputs, PARAMETERS, 2017)
    alone = score_candidates(known.candidates, PARAMETERS, by=["plate_code"], explain=False)
    alone = alone[alone["rank"].le(3)][RANKED].reset_index(drop=True)
    kept = history[history.year == 2017][RANKED].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept.astype(object), alone.astype(object), check_exact=False, rtol=1e-12)


def test_the_snapshots_enter_the_latest_year_only(inputs, history):
    """A registry listing 2,000 more firms of Istanbul's third-ranked class moves Istanbul's
    latest year, and nothing before it."""
    third = history[(history.year == 2020) & (history.plate_code == 34) & (history["rank"] == 3)].sector_code.item()
    firm = inputs.chamber_registry.iloc[:1].assign(plate_code=34, nace_class=third)
    extra = firm.loc[firm.index.repeat(2000)].assign(registry_no=[f"X{n}" for n in range(2000)])
    again = selection_history(replace(inputs, chamber_registry=pd.concat([inputs.chamber_registry, extra])), PARAMETERS)
    earlier = history.year < 2020
    pd.testing.assert_frame_equal(again[earlier], history[earlier])
    istanbul = (history.year == 2020) & (history.plate_code == 34)
    assert not again[istanbul].equals(history[istanbul])


def test_the_latest_year_is_what_the_run_publishes(inputs, history, tmp_path):
    """The indicators, relatedness and scoring stages on the same inputs and parameters; and the
    history stage, which reads the staged indicators rather than computing them, is the history
    computed from the inputs."""
    accepted = write_accepted(inputs, tmp_path / "accepted")
    reference = PROJECT_ROOT / "data" / "reference"
    paths = Paths(tmp_path / "sources", reference, PROJECT_ROOT / "expectations", tmp_path / "work", "sqlite://")
    computed = stages.indicators(paths, accepted, PARAMETERS, lambda _: None)
    related = stages.relatedness(paths, computed, PARAMETERS, lambda _: None)
    candidates = related["outputs"]["candidates"]
    plates = [int(p) for p in sorted(read_frame(candidates).plate_code.unique())]
    published = pd.read_parquet(stages.score_provinces(paths, candidates, plates, PARAMETERS))
    published = published[published["rank"].le(3)][RANKED].reset_index(drop=True)
    latest = history[history.year == 2020][RANKED].reset_index(drop=True)
    pd.testing.assert_frame_equal(latest.astype(object), published.astype(object), check_exact=True)

    sources = {source: {"outputs": {"accepted": path}} for source, path in accepted.items()}
    listed = stages.history_candidates(paths, sources, computed, PARAMETERS, lambda _: None)
    pd.testing.assert_frame_equal(staged_history(paths, listed, computed, PARAMETERS), history, check_exact=True)
    # a run of some provinces scores their history alone (the others' is carried over): the same rows
    some = plates[1::2]
    theirs = history[history.plate_code.isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(staged_history(paths, listed, computed, PARAMETERS, some), theirs, check_exact=True)
    # the staged candidates do not depend on the weights: scored with others, they are that history
    other = SelectionParameters(weights=WEIGHTS)
    reweighted = staged_history(paths, listed, computed, other)
    pd.testing.assert_frame_equal(reweighted, selection_history(inputs, other), check_exact=True)
    assert not reweighted.equals(history)


def staged_history(paths, listed, computed, parameters, provinces=None) -> pd.DataFrame:
    """The history stage's rows, scored from the candidates its first stage staged (``listed``)."""
    staged = stages.history(paths, listed, computed, parameters, lambda _: None, provinces=provinces)
    return pd.read_parquet(staged["outputs"]["selection_history"])


def test_the_history_stage_of_an_earlier_reference_year_reads_no_later_year(inputs, tmp_path):
    """A run with reference year 2018: the staged indicators hold 2019 and 2020 too; the history
    stage reads none of it, and is the history computed from the inputs up to 2018."""
    parameters = SelectionParameters(reference_year=2018)
    accepted = write_accepted(inputs, tmp_path / "accepted")
    reference = PROJECT_ROOT / "data" / "reference"
    paths = Paths(tmp_path / "sources", reference, PROJECT_ROOT / "expectations", tmp_path / "work", "sqlite://")
    computed = stages.indicators(paths, accepted, parameters, lambda _: None)
    assert read_frame(computed["outputs"]["indicators"]).year.max() == 2020
    sources = {source: {"outputs": {"accepted": path}} for source, path in accepted.items()}
    listed = stages.history_candidates(paths, sources, computed, parameters, lambda _: None)
    staged = staged_history(paths, listed, computed, parameters)
    assert set(staged.year) == {2016, 2017, 2018}
    pd.testing.assert_frame_equal(staged, selection_history(inputs, parameters), check_exact=True)
