"""Bench: the selection flow at national scale against a hand-written DuckDB reference.

    .venv/bin/python bench/national.py [--data DIR] [--firms N] [--rounds N] [--sizes 0.5,1,2,4]

Without ``--data`` it generates the national workload (``kume generate-sample --scale national``)
into a scratch folder outside the repository; ``--data DIR`` benches the data folder DIR (with
``sources/`` and ``reference/``), generating the national workload into it first when DIR does not
exist yet or is empty (so it is there for the next bench); ``--data data`` benches the shipped sample.
Each scenario runs in a fresh process (so its peak memory is its own), those after a cold run
in its Prefect home and output folder (so the task cache carries over): a cold nightly run of
all 81 provinces, the same run with unchanged inputs, a one-province rerun with other weights,
and the nightly run with the backtest (§8) asked for (every other stage cached: the backtest's
time, per origin). Prefect's server start-up is timed apart and excluded, and so is its memory:
a run's peak memory is that of its process and of the processes it forks (``run_memory``). Per
stage it prints its wall time (from the task runs: the time in which one of its tasks ran, so
that tasks run beside each other, as the sources' validations are, count once; stages that run
beside each other, as the definitions and the selection history do, still add up to more than
the run's time), the sum of its tasks' times, and rows per second; then the DuckDB reference's
time and memory, and the ratios against the targets.

The machine's speed changes from minute to minute (a shared VM: the same run took 13 s and 22 s
within an hour), so a ratio is taken between figures measured side by side: the floor, the
DuckDB reference and the cold run are measured together, in that order, ``--rounds`` times (5 by
default), each cold run in a Prefect home and output folder of its own (removed once measured,
but the last round's); a target's figure is the median of its rounds (the peak memory: the
highest), and every round's figure is printed beside it. The unchanged run, the rerun and the
backtest follow the last round's cold run, in its folders.

The issue 17 targets are printed with met/missed: ingest against a floor (the same registry files
read by pyarrow's C CSV reader, ``bench/csv_floor.py``, timed in the same bench), validation,
indicators against the DuckDB reference, scoring, the report pages, the cold run against the
DuckDB reference and peak memory; then the cold scenario on workloads of 0.5, 1, 2 and 4 million
firm rows (``--sizes``; generated into ``--scaling-dir``, by default the scratch folder) with time
and peak per size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
STAGES = (
    "ingest", "validate", "indicators", "relatedness", "definitions", "score", "history", "backtest", "assemble",
    "reports", "publish",
)  # fmt: skip
RELATED = ("relatedness", "complexity", "opportunities")  # the datasets of the relatedness stage (§6)
UNCHANGED_STAGE_SECONDS = 1.0  # relatedness and definitions: cached by content in an unchanged run
SIZES = (0.5, 1.0, 2.0, 4.0)  # million firm rows of the scaling runs


class Target(NamedTuple):
    """One target of the bench: a figure of the run and the most it may be; over several rounds,
    the figure of each (``rounds``) and how they are pooled (``pooling``)."""

    name: str
    value: float
    limit: float
    pooling: Callable[[list[float]], float] = statistics.median
    rounds: tuple[float, ...] = ()

    def line(self) -> str:
        verdict = "met" if self.value <= self.limit else "MISSED"
        each = f"   (rounds: {', '.join(f'{value:.2f}' for value in self.rounds)})" if len(self.rounds) > 1 else ""
        return f"{self.name:<34} {self.value:10.2f}   target <= {self.limit:g}: {verdict}{each}"


def pooled(rounds: list[list[Target]]) -> list[Target]:
    """The targets over the rounds: each one's figures pooled (the median; the peak memory, the highest)."""
    found = []
    for same in zip(*rounds, strict=True):  # one target, as each round found it
        values = [target.value for target in same]
        value = math.nan if any(math.isnan(v) for v in values) else same[0].pooling(values)  # not run: missed
        found.append(same[0]._replace(value=value, rounds=tuple(values)))
    return found


@contextmanager
def run_memory() -> Iterator[list[float]]:
    """The peak memory of this process and of the processes it starts in the block (the readers,
    page renderers and stages it forks): their PSS summed (a page they share counted once),
    sampled from another process (``memory_of``), or this process's own peak RSS if higher. The
    processes it had started before (Prefect's server) are not the run's. Yields a list that
    holds the peak, in MiB, once the block ends."""
    import psutil

    before = [str(process.pid) for process in psutil.Process().children(recursive=True)]
    command = [sys.executable, __file__, "--child", "memory", str(os.getpid()), *before]
    sampler = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sampler.stdout.readline()  # started: its own start-up (an interpreter, psutil) is not the run's
    peak = [0.0]
    try:
        yield peak
    finally:
        sampled, _ = sampler.communicate("")  # stdin closed: the sampler prints its peak and ends
        peak[0] = max(json.loads(sampled)["peak_mb"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def memory_of(run: int, *others: int) -> dict:
    """The peak of the summed PSS of process ``run`` and of its descendants but ``others`` (and
    this one), sampled every 250 ms until this process's standard input is closed: each sample
    walks every page of those processes, and more often would take a tenth of a core from the
    run it measures."""
    import psutil

    process, skipped, done = psutil.Process(run), {os.getpid(), *others}, threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("sampling", flush=True)  # the run starts now (``run_memory``)

    def pss(process: psutil.Process) -> int:
        try:
            return process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0  # ended meanwhile

    peak = 0
    while not done.wait(0.25):
        forked = [child for child in process.children(recursive=True) if child.pid not in skipped]
        peak = max(peak, sum(pss(member) for member in [process, *forked]))
    return {"peak_mb": peak / 2**20}


def scenario(name: str) -> dict:
    """One run in this process (the child): returns its figures. kume's Prefect defaults are
    applied before Prefect reads its settings (its embedded server's 90 s start-up wait, not
    Prefect's 20 s, which a slow machine's start-up passed)."""
    sys.path.insert(0, str(ROOT))
    from kume.prefect_env import configure_prefect

    configure_prefect()
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.select_clusters import select_clusters
    from schemas.parameters import RunRequest

    @flow
    def noop() -> None:
        """Starts Prefect's embedded server."""

    start = time.perf_counter()
    noop()
    startup = time.perf_counter() - start
    weights = {"economic_impact": 0.4, "demand": 0.3, "networking": 0.2, "factor_conditions": 0.1}
    request = {
        "rerun": RunRequest(provinces=["Samsun"], weights=weights, reason="bench"),
        "backtest": RunRequest(backtest=True, reason="bench"),
    }.get(name, RunRequest())
    with run_memory() as peak:
        start = time.perf_counter()
        manifest = select_clusters(request)
        seconds = time.perf_counter() - start
    with get_client(sync_client=True) as client:
        runs = recorded_task_runs(client, FlowRunFilter(id=FlowRunFilterId(any_=[manifest["flow_run_id"]])))
    stages = {}
    for stage in STAGES:
        mine = [r for r in runs if r.name.split("-")[0] == stage and r.start_time and r.end_time]
        if mine:
            spans = [(r.start_time.timestamp(), r.end_time.timestamp()) for r in mine]
            stages[stage] = {
                "seconds": wall_seconds(spans),
                "task_seconds": sum(end - start for start, end in spans),
                "cached": sum(map(was_cached, mine)),
            }
    inputs = manifest["inputs"]
    rows_in = sum(info["rows_in"] or 0 for info in inputs.values())
    outputs = json.loads((Path(manifest["locations"]["run"]) / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    rows = {
        "ingest": rows_in,
        "validate": rows_in,
        "indicators": outputs["indicators"]["rows"],
        "relatedness": sum(outputs[name]["rows"] for name in RELATED),
        "definitions": outputs["cluster_definitions"]["rows"],
        "history": outputs["selection_history"]["rows"],
        "backtest": outputs["backtest"]["rows"],
        "score": outputs["scores"]["rows"],
        "assemble": sum(o["rows"] for o in outputs.values()),
        "reports": sum(o["rows"] for o in outputs.values()),
        "publish": sum(o["rows"] for o in outputs.values()),
    }
    return {
        "scenario": name,
        "startup_seconds": startup,
        "seconds": seconds,
        "peak_rss_mb": peak[0],
        "stages": {stage: {**figures, "rows": rows[stage]} for stage, figures in stages.items()},
        "rows_in": rows_in,
        "tasks": len(runs),
        "cached": sum(map(was_cached, runs)),
        "backtest_origins": backtest_origins(Path(manifest["locations"]["run"])),
        "pages": pages(Path(manifest["locations"]["run"])),
        "registry_rows": inputs["chamber_registry"]["rows_in"] or 0,
    }


def wall_seconds(spans: list[tuple[float, float]]) -> float:
    """The time in which at least one of the (start, end) ``spans`` ran: tasks run beside each
    other count once, tasks run in turn add up."""
    total, reached = 0.0, float("-inf")
    for start, end in sorted(spans):
        total += max(end - max(start, reached), 0.0)
        reached = max(reached, end)
    return total


LAST_TASK = "publish"  # every run ends with it


def recorded_task_runs(client: object, flow_runs: object, wait_seconds: float = 10.0) -> list:
    """The task runs of the flow run, once Prefect has recorded each one with its final state:
    it records them from events, a moment after the flow returns. Read at once, one may have no
    state yet, and the last ones may not be there at all (a slow machine's unchanged run was
    read with 18 of its 24 tasks): the reading waits for the run's last task too."""
    deadline = time.monotonic() + wait_seconds
    while True:
        runs = client.read_task_runs(flow_run_filter=flow_runs, limit=200)
        recorded = any(r.name.split("-")[0] == LAST_TASK for r in runs)
        if recorded and all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


def was_cached(task_run: object) -> bool:
    return task_run.state is not None and task_run.state.name == "Cached"


def pages(run: Path) -> int:
    """How many report pages the publication has."""
    return len(list((run / "reports").glob("*.html")))


def backtest_origins(run: Path) -> int:
    """How many rolling origins the published backtest has."""
    import pandas as pd

    folder = run / "backtest"
    return pd.read_parquet(folder).origin_year.nunique() if folder.exists() else 0


def floor(sources: Path) -> dict:
    """The floor reference in this process (the child): the registry files read by pyarrow."""
    sys.path.insert(0, str(ROOT / "bench"))
    from csv_floor import read_floor

    return read_floor(sources)


def reference(sources: Path, reference_dir: Path) -> dict:
    """The DuckDB reference in this process (the child)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from duckdb_reference import run_reference

    result = run_reference(sources, reference_dir)
    return {"seconds": result["seconds"], "rows": result["rows"], "peak_rss_mb": result["peak_rss_mb"]}


def child(arguments: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *arguments], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench child {arguments} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_env(run_dir: Path, data: Path) -> dict[str, str]:
    """The environment of the scenarios run in ``run_dir``'s Prefect home and output folder on ``data``."""
    run_dir.mkdir(parents=True, exist_ok=True)  # Prefect makes its home, not the folders above it
    return {
        **os.environ,
        "PREFECT_HOME": str(run_dir / "prefect"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "KUME_OUT_DIR": str(run_dir / "out"),
        "KUME_DATA_DIR": str(data),
    }


def print_run(figures: dict) -> None:
    print(
        f"\n{figures['scenario']}: {figures['seconds']:.1f} s, peak {figures['peak_rss_mb']:.0f} MiB, "
        f"{figures['cached']}/{figures['tasks']} tasks cached "
        f"(Prefect start-up {figures['startup_seconds']:.1f} s, excluded)"
    )
    print(f"  {'stage':<11} {'wall':>8}    {'tasks':>6}    {'rows':>12}       {'rows/s':>14}")
    for stage, stage_figures in figures["stages"].items():
        seconds = stage_figures["seconds"]
        rate = stage_figures["rows"] / seconds if seconds > 0 else float("inf")
        print(
            f"  {stage:<11} {seconds:8.2f} s  {stage_figures['task_seconds']:6.2f} s  {stage_figures['rows']:>12,} rows"
            f"  {rate:>14,.0f} rows/s  ({stage_figures['cached']} cached)"
        )


def prepare_data(data: Path, firms: int) -> Path:
    """The data folder to bench: ``data`` as it is when it holds ``sources/`` and ``reference/``;
    the national workload of ``firms`` firms generated into it when it does not exist or is empty.
    Anything else ends the bench with one line saying what to do, before any work."""
    if data.exists() and not data.is_dir():
        raise SystemExit(
            f"bench: --data {data} is a file, not a folder: give a data folder, or a new folder to generate into"
        )
    if data.is_dir() and any(data.iterdir()):
        missing = [name for name in ("sources", "reference") if not (data / name).is_dir()]
        if missing:
            raise SystemExit(
                f"bench: --data {data} is not a kume data folder (no {' or '.join(f'{m}/' for m in missing)}): "
                "give a data folder, or an empty or new folder to generate the national workload into"
            )
        return data
    print(f"generating the national workload ({firms:,} firms) into {data}", flush=True)
    generate(data, firms)
    return data


def generate(data: Path, firms: int) -> None:
    """``kume generate-sample --scale national`` into ``data``, in a process of its own."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kume.cli", "generate-sample", "--scale", "national", "--firms", str(firms),
         "--data", str(data)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise SystemExit(f"bench: could not generate the national workload into {data}: {lines[-1]}")
    print(f"generated the national workload in {time.perf_counter() - start:.0f} s: {data}\n{done.stdout}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="data folder (absent or empty: generate the national workload into it; default: a scratch one)",
    )
    parser.add_argument("--firms", type=int, default=2_000_000, help="firm rows of the generated workload")
    parser.add_argument(
        "--sizes",
        type=lambda text: [float(size) for size in text.split(",") if size.strip()],
        default=list(SIZES),
        help="million firm rows of the scaling runs, comma-separated (default 0.5,1,2,4; '' for none)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of the references and the cold run, measured side by side"
    )
    parser.add_argument("--scaling-dir", type=Path, help="where the scaling workloads are (generated if absent)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    if args.child:
        children = {
            "reference": lambda: reference(*args.paths),
            "floor": lambda: floor(*args.paths),
            "memory": lambda: memory_of(*(int(str(pid)) for pid in args.paths)),
        }
        figures = children[args.child]() if args.child in children else scenario(args.child)
        print(json.dumps(figures))
        return

    data = prepare_data(args.data.resolve(), args.firms) if args.data else None  # before any scratch folder
    scratch = Path(tempfile.mkdtemp(prefix="kume-bench-"))
    data = data or prepare_data(scratch / "data", args.firms)
    rounds = []
    for number in range(1, args.rounds + 1):  # the references and the cold run side by side
        run_dir = scratch / f"round-{number}"
        env = run_env(run_dir, data)
        csv_floor = child(["--child", "floor", str(data / "sources")], env)
        duckdb = child(["--child", "reference", str(data / "sources"), str(data / "reference")], env)
        rounds.append({"floor": csv_floor, "duckdb": duckdb, "cold": child(["--child", "cold"], env)})
        if number < args.rounds:  # its figures are taken: its outputs (0.7 GB) are not kept
            shutil.rmtree(run_dir)
    runs = {name: child(["--child", name], env) for name in ("unchanged", "rerun", "backtest")}  # the last round's
    scaling = scale(args.sizes, args.scaling_dir or scratch, scratch)
    for number, measured in enumerate(rounds, 1):
        print(f"\nround {number} of {len(rounds)}")
        print_run(measured["cold"])
        duckdb, csv_floor = measured["duckdb"], measured["floor"]
        print(
            f"DuckDB reference (LQ, focus, national share, CAGR, shift-share, CMP flags over the raw SGK files): "
            f"{duckdb['seconds']:.2f} s, {duckdb['rows']:,} rows, peak {duckdb['peak_rss_mb']:.0f} MiB"
        )
        print(
            f"pyarrow floor (the {csv_floor['files']} registry files, every column as text): "
            f"{csv_floor['seconds']:.2f} s, {csv_floor['rows']:,} rows, peak {csv_floor['peak_rss_mb']:.0f} MiB"
        )
    for figures in runs.values():
        print_run(figures)
    print(
        f"\nbacktest: {runs['backtest']['backtest_origins']} origins in "
        f"{runs['backtest']['stages']['backtest']['seconds']:.1f} s; selection history "
        f"{rounds[-1]['cold']['stages']['history']['seconds']:.1f} s of the last cold run"
    )
    if scaling:
        print("\nscaling, cold run:")
        for size in scaling:
            print(
                f"  {size['registry_rows']:>10,} firm rows {size['seconds']:7.1f} s "
                f"{size['seconds'] / size['registry_rows'] * 1e6:6.2f} us/row  peak {size['peak_rss_mb']:5.0f} MiB"
            )
    print()
    found = [targets({"cold": each["cold"], **runs}, each["duckdb"], each["floor"], scaling) for each in rounds]
    for target in pooled(found):
        print(target.line())
    print(f"(scratch: {scratch})")


def targets(runs: dict, duckdb: dict, csv_floor: dict, scaling: list[dict]) -> list[Target]:
    """The targets of issues 15-17 from the bench's figures."""
    cold = runs["cold"]
    seconds = cold["seconds"]

    def stage(name: str, run: dict = cold) -> float:
        return run["stages"].get(name, {}).get("seconds", float("nan"))  # a stage not run: missed

    found = [
        Target("ingest / pyarrow floor", stage("ingest") / csv_floor["seconds"], 4),
        Target("validation (s)", stage("validate"), 3),
        Target("indicators / DuckDB reference", stage("indicators") / duckdb["seconds"], 2),
        Target("scoring, 81 provinces (s)", stage("score"), 3),
        Target(f"reports, {cold['pages']} pages (s)", stage("reports"), 5),
        Target("cold run / DuckDB reference", seconds / duckdb["seconds"], 15),
        Target("peak memory (MiB)", max(run["peak_rss_mb"] for run in runs.values()), 1536, max),
        Target("unchanged / cold", runs["unchanged"]["seconds"] / seconds, 0.10),
        Target("one-province rerun / cold", runs["rerun"]["seconds"] / seconds, 0.25),
        Target("relatedness stage / cold", stage("relatedness") / seconds, 0.10),
        Target("definitions stage / cold", stage("definitions") / seconds, 0.15),
        Target(
            "one backtest origin / cold",
            stage("backtest", runs["backtest"]) / max(runs["backtest"]["backtest_origins"], 1) / seconds,
            0.15,
        ),
        *(
            Target(f"{name}, unchanged (s)", stage(name, runs["unchanged"]), UNCHANGED_STAGE_SECONDS)
            for name in ("relatedness", "definitions")
        ),
    ]
    by_size = {size["size"]: size for size in scaling}
    if 1.0 in by_size and 4.0 in by_size:
        per_row = {size: by_size[size]["seconds"] / by_size[size]["registry_rows"] for size in (1.0, 4.0)}
        found.append(Target("time per row, 4 M / 1 M firm rows", per_row[4.0] / per_row[1.0], 1.2))
    if 4.0 in by_size:
        found.append(Target("peak memory at 4 M firm rows (MiB)", by_size[4.0]["peak_rss_mb"], 2560, max))
    return found


def scale(sizes: list[float], scaling_dir: Path, scratch: Path) -> list[dict]:
    """The cold scenario on a workload of each size (million firm rows), each in a Prefect home and
    output folder of its own (nothing cached); workloads are generated into ``scaling_dir`` once."""
    figures = []
    for size in sizes:
        firms = round(size * 1_000_000)
        data = prepare_data(scaling_dir / f"national-{firms}", firms)
        env = run_env(Path(tempfile.mkdtemp(prefix=f"scale-{firms}-", dir=scratch)), data)
        figures.append({"size": size, **child(["--child", "cold"], env)})
    return figures


if __name__ == "__main__":
    main()
