"""The history and backtest stages (methodology.md §8) on staged accepted inputs: they stage
the selection_history and backtest datasets as published, and the datasets pass their output
suites."""

from __future__ import annotations

import pandas as pd
import pytest
from backtest_inputs import synthetic_inputs, write_accepted

from kume.settings import PROJECT_ROOT
from schemas.outputs import BACKTEST, SELECTION_HISTORY
from schemas.parameters import RunRequest, SelectionParameters
from tasks import stages
from tasks.datasets.selection_history import build_selection_history
from tasks.errors import OutputValidationError
from tasks.methods.history import COLUMNS
from tasks.store import Paths
from tasks.validate import validate_outputs

PARAMETERS = SelectionParameters()


def test_the_history_and_backtest_stages_stage_their_datasets(tmp_path, ref):
    accepted = write_accepted(synthetic_inputs(ref), tmp_path / "accepted")
    sources = {source: {"outputs": {"accepted": path}} for source, path in accepted.items()}
    paths = Paths(tmp_path / "sources", ref.directory, PROJECT_ROOT / "expectations", tmp_path / "work", "sqlite://")
    logged: list[str] = []
    computed = stages.indicators(paths, accepted, SelectionParameters(reference_year=2019), lambda _: None)
    listed = stages.history_candidates(paths, sources, computed, PARAMETERS, logged.append)  # the staged indicators
    assert listed["years"] == [2016, 2017, 2018, 2019]
    history = stages.history(paths, listed, computed, PARAMETERS, logged.append)
    assert history["years"] == [2016, 2017, 2018, 2019]  # up to the run's reference year
    frame = pd.read_parquet(history["outputs"]["selection_history"])  # the rows; assemble publishes them
    assert list(frame.columns) == COLUMNS and len(frame) == 12 * 4 * 3
    assert frame.groupby("year").snapshot_inputs.all().to_dict() == {2016: False, 2017: False, 2018: False, 2019: True}
    assert logged == ["selection history: 12 provinces, 2016-2019"]
    backtest = stages.backtest(paths, sources, {"reference_year": 2019}, PARAMETERS, logged.append)
    assert backtest["origins"] == [2013, 2014, 2015, 2016]  # the whole data: 2016 + 3 + 1 = 2020
    table = pd.read_parquet(backtest["outputs"]["backtest"])
    assert list(table.columns) == BACKTEST.names and set(table.horizon) == {3, 5}
    assert any(line.startswith("Backtest: 12 provinces, origins 2013-2016") for line in logged)
    suites = PROJECT_ROOT / "expectations" / "outputs"
    frame = build_selection_history(frame, ref, "run-1", "p-1").assign(carried_over_from=None)
    assert list(frame.columns) == SELECTION_HISTORY.names
    validate_outputs({"selection_history": frame, "backtest": table}, suites)
    bad = {"selection_history": frame.assign(rank=frame["rank"] + 1), "backtest": table.assign(test="exit")}
    with pytest.raises(OutputValidationError) as refused:
        validate_outputs(bad, suites)
    assert [problem.split(" (rows")[0] for problem in refused.value.problems] == [
        "selection_history: OUT-HIS-04 rank outside 1-3 (the top three are kept)",
        "backtest: OUT-BKT-03 test neither entry nor selection",
    ]


def test_a_run_backtests_only_when_asked():
    assert RunRequest().backtest is False and RunRequest(backtest=True).backtest is True
    assert "backtest" not in RunRequest(backtest=True).selection_parameters().model_dump()
