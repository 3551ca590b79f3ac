"""The benchmark's data folder, without running the benchmark: ``--data DIR`` that does not exist
or is empty gets the national workload generated into it; anything it cannot use ends the bench
with one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import pytest

from kume.settings import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench" / "national.py"


@pytest.fixture
def bench(monkeypatch):
    """bench/national.py as a module, its generator replaced by a recorder."""
    spec = importlib.util.spec_from_file_location("national_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generated = []
    monkeypatch.setattr(module, "generate", lambda data, firms: module.generated.append((data, firms)))
    return module


def test_an_absent_or_empty_folder_gets_the_national_workload(bench, tmp_path):
    absent, empty = tmp_path / "new" / "national", tmp_path / "empty"
    empty.mkdir()
    assert bench.prepare_data(absent, 1000) == absent
    assert bench.prepare_data(empty, 2000) == empty
    assert bench.generated == [(absent, 1000), (empty, 2000)]


def test_a_data_folder_is_benched_as_it_is(bench, tmp_path):
    (tmp_path / "sources").mkdir()
    (tmp_path / "reference").mkdir()
    assert bench.prepare_data(tmp_path, 1000) == tmp_path
    assert bench.generated == []


def _bench(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *arguments], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("kind", ["file", "other folder", "no firms"])
def test_what_the_bench_cannot_use_ends_in_one_line(kind, tmp_path):
    target, firms = tmp_path / "data", "1000"
    if kind == "file":
        target.write_text("not a folder")
    elif kind == "other folder":
        target.mkdir()
        (target / "notes.txt").write_text("x")
    else:
        firms = "0"  # the generator refuses: its reason, in one line
    done = _bench("--data", str(target), "--firms", firms)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: ") and str(target) in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "sources").exists()


def test_task_runs_are_read_once_prefect_has_recorded_their_states(bench):
    """Prefect records a task run and its final state from events a moment after the flow
    returns: the bench reads the task runs again until each has one (a run read too early had
    none) and the run's last task is there (one read too early lacked the last ones)."""
    from prefect.states import Completed, Running

    class TaskRun:
        def __init__(self, state, name="ingest-a1b"):
            self.state, self.name = state, name

    answers = [
        [TaskRun(Completed())],
        [TaskRun(Completed()), TaskRun(None, "publish-0c2")],
        [TaskRun(Completed()), TaskRun(Running(), "publish-0c2")],
        [TaskRun(Completed()), TaskRun(Completed(name="Cached"), "publish-0c2")],
    ]

    class Client:
        def read_task_runs(self, flow_run_filter, limit):
            return answers.pop(0)

    runs = bench.recorded_task_runs(Client(), flow_runs=None)
    assert not answers and [bench.was_cached(run) for run in runs] == [False, True]


def test_a_stage_counts_the_time_one_of_its_tasks_ran(bench):
    """Tasks run in turn add up; tasks run beside each other (the sources' validations) count once."""
    assert bench.wall_seconds([(0.0, 2.0), (2.5, 3.0)]) == 2.5  # in turn, a gap between them
    assert bench.wall_seconds([(0.0, 2.0), (0.5, 1.0), (1.5, 3.0)]) == 3.0  # beside each other
    assert bench.wall_seconds([(1.0, 1.0)]) == 0.0
    assert bench.wall_seconds([]) == 0.0


def test_a_targets_rounds_are_pooled_by_their_median_and_memory_by_its_highest(bench):
    """Each round's figures were measured side by side; a target takes the median of its rounds
    (the peak memory, the highest of them), and a figure a round lacks is missed."""
    rounds = [
        [bench.Target("ingest / pyarrow floor", value, 4), bench.Target("peak memory (MiB)", memory, 1536, max)]
        for value, memory in [(4.6, 1300.0), (3.1, 1500.0), (3.4, 1290.0)]
    ]
    ingest, memory = bench.pooled(rounds)
    assert (ingest.value, ingest.rounds) == (3.4, (4.6, 3.1, 3.4)) and ingest.line().endswith(
        "target <= 4: met   (rounds: 4.60, 3.10, 3.40)"
    )
    assert memory.value == 1500.0
    lacking = bench.pooled([[bench.Target("validation (s)", value, 3)] for value in (1.0, math.nan, 1.2)])
    assert math.isnan(lacking[0].value) and "MISSED" in lacking[0].line()
