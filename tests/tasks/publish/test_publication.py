"""The publication under faults: killed processes, a database that goes away, two runs at
once, a full disk, bad outputs, unsafe paths, leaked passwords. After each: nothing lost,
nothing half-visible, and a rerun completes."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pg_server import (  # noqa: F401 (postgres_server, postgres_url: fixtures)
    PostgresServer,
    create_database,
    find_bin_dir,
    free_port,
    postgres_server,
    postgres_url,
)

from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS
from tasks import errors
from tasks.errors import OutputValidationError, PublishError, SqlSchemaError
from tasks.publish import snapshot, sql
from tasks.publish.lock import publication_lock
from tasks.publish.publication import publish, reconcile
from tasks.publish.snapshot import current_run, file_digest, publication_log, read_dataset, safe_path
from tasks.publish.sql import SqlSink, sql_current_run
from tasks.validate import validate_outputs

CHECKPOINTS = [
    "locked", "incoming-created", *[f"written-{name}" for name in DATASETS], "manifest-written",
    "snapshot-in-place", "sql-begun", "sql-rows-written", "sql-committed", "switched", "pruned",
]  # fmt: skip


@pytest.fixture(scope="module")
def small_run(published_run) -> dict:
    """The published datasets of two provinces, small enough to publish many times."""
    datasets = {}
    for name in DATASETS:
        frame = read_dataset(published_run["run_dir"] / name, name)
        if "plate_code" in frame:
            frame = frame[frame.plate_code.isin([55, 61])]
        if name == "relatedness":  # national: the pairs among a few classes only
            kept = set(frame.sector_code.drop_duplicates().head(12))
            frame = frame[frame.sector_code.isin(kept) & frame.related_sector_code.isin(kept)]
        datasets[name] = frame.reset_index(drop=True)
    manifest = {"parameters": {"reference_year": 2022}, "code_version": "test", "status": "complete"}
    return {"datasets": datasets, "manifest": manifest}


def complete(out_dir, run_id) -> bool:
    """Every file the run's manifest lists exists with its recorded hash."""
    run = out_dir / "runs" / run_id
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return all(
        file_digest(run / file) == digest
        for output in manifest["outputs"].values()
        for file, digest in output["files"].items()
    )


def variant(small_run, tag: str) -> dict:
    """Another run's datasets: same rows, a different run id."""
    return {
        name: frame.assign(run_id=tag) if "run_id" in frame else frame for name, frame in small_run["datasets"].items()
    }


def test_same_inputs_give_byte_identical_files(small_run, tmp_path):
    first = publish(tmp_path / "a", "run-a", small_run["datasets"], small_run["manifest"])
    second = publish(tmp_path / "b", "run-a", small_run["datasets"], {**small_run["manifest"], "started_at": "x"})
    files = sorted(p.relative_to(first) for p in first.rglob("*.parquet"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*.parquet"))
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def test_a_rerun_of_the_same_inputs_keeps_the_same_run_and_files(published_run, tmp_path):
    from helpers import run_selection

    again = run_selection(tmp_path / "out")
    assert again["run_id"] == published_run["manifest"]["run_id"]

    def data_files(run_dir) -> dict:
        outputs = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["outputs"]
        return {name: output for name, output in outputs.items() if name != "reports"}  # reports quote the date

    assert data_files(published_run["run_dir"]) == data_files(tmp_path / "out" / "runs" / again["run_id"])


def test_the_last_n_snapshots_stay_readable(small_run, tmp_path):
    for number in range(4):
        publish(tmp_path, f"run-{number}", variant(small_run, f"run-{number}"), small_run["manifest"], keep=2)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["run-2", "run-3"]
    assert current_run(tmp_path) == "run-3"


KILLER = """
import pickle, sys
from pathlib import Path
from tasks.publish.publication import publish
from tasks.publish.sql import SqlSink
run = pickle.loads(Path(sys.argv[1]).read_bytes())
publish(Path(sys.argv[2]), "run-new", run["datasets"], run["manifest"], sql=SqlSink(sys.argv[3], attempts=1))
"""


def test_killed_at_every_checkpoint_the_consumer_sees_a_complete_snapshot_and_a_rerun_completes(small_run, tmp_path):
    assert len(CHECKPOINTS) >= 10
    payload = tmp_path / "run.pickle"
    payload.write_bytes(pickle.dumps({"datasets": variant(small_run, "run-new"), "manifest": small_run["manifest"]}))
    for point in CHECKPOINTS:
        out = tmp_path / point
        url = f"sqlite:///{out / 'kume.sqlite'}"
        publish(out, "run-old", variant(small_run, "run-old"), small_run["manifest"], sql=SqlSink(url))
        env = {**os.environ, "KUME_FAULT_POINT": point, "PYTHONPATH": str(PROJECT_ROOT)}
        killed = subprocess.run(
            [sys.executable, "-c", KILLER, str(payload), str(out), url], env=env, capture_output=True, cwd=PROJECT_ROOT
        )
        assert killed.returncode == -9, (point, killed.stderr.decode()[-2000:])
        after_switch = CHECKPOINTS.index(point) >= CHECKPOINTS.index("switched")
        assert current_run(out) == ("run-new" if after_switch else "run-old"), point
        assert complete(out, current_run(out)), point
        sql_ahead = CHECKPOINTS.index(point) >= CHECKPOINTS.index("sql-committed")
        assert sql_current_run(SqlSink(url)) == ("run-new" if sql_ahead else "run-old"), point
        # the rerun completes: it finishes an interrupted switch first, then publishes
        rerun = subprocess.run(
            [sys.executable, "-c", KILLER, str(payload), str(out), url],
            env={**env, "KUME_FAULT_POINT": ""},
            capture_output=True,
            cwd=PROJECT_ROOT,
        )
        assert rerun.returncode == 0, (point, rerun.stderr.decode()[-2000:])
        assert current_run(out) == "run-new" and complete(out, "run-new")
        assert sql_current_run(SqlSink(url)) == "run-new"
        assert not list((out / "runs").glob(".incoming-*"))


def test_database_down_during_the_sql_step_retries_then_fails_cleanly(small_run, tmp_path, monkeypatch):
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries not found") if os.environ.get("CI") == "true" else pytest.skip(
            "no PostgreSQL server binaries"
        )
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        url = create_database(server.url, "kume_publication")
        sink = SqlSink(url, attempts=3, backoff_seconds=0.2)
        publish(tmp_path, "run-old", variant(small_run, "run-old"), small_run["manifest"], sql=sink)
        real_checkpoint = snapshot.checkpoint

        def stop_mid_transaction(name: str) -> None:  # the server goes away inside the SQL step
            if name == "sql-rows-written":
                server.stop()
            real_checkpoint(name)

        monkeypatch.setattr(sql, "checkpoint", stop_mid_transaction)
        started = time.monotonic()
        with pytest.raises(PublishError, match="SQL publication failed after 3 attempts"):
            publish(tmp_path, "run-new", variant(small_run, "run-new"), small_run["manifest"], sql=sink)
        assert time.monotonic() - started >= 0.6  # backoff 0.2 s then 0.4 s
        monkeypatch.setattr(sql, "checkpoint", real_checkpoint)
        assert current_run(tmp_path) == "run-old"
        server.start()
        assert sql_current_run(sink) == "run-old"
        with sa.create_engine(url).connect() as connection:
            runs = {r[0] for r in connection.execute(sa.text("SELECT DISTINCT run_id FROM kume_selection"))}
        assert runs == {"run-old"}  # no half-written run
        publish(tmp_path, "run-new", variant(small_run, "run-new"), small_run["manifest"], sql=sink)
        assert current_run(tmp_path) == sql_current_run(sink) == "run-new"
    finally:
        server.cleanup()


def test_two_publications_at_once_one_waits_or_is_refused(small_run, tmp_path):
    publish(tmp_path, "run-old", variant(small_run, "run-old"), small_run["manifest"])
    refused = pytest.raises(
        PublishError, match=r"another publication is in progress in .*: pid \d+ on host .* since .*; waited 0.5 s"
    )
    with publication_lock(tmp_path, 1), refused:
        publish(tmp_path, "run-new", variant(small_run, "run-new"), small_run["manifest"], lock_timeout_seconds=0.5)
    assert current_run(tmp_path) == "run-old"

    holder = threading.Thread(target=lambda: _hold_lock(tmp_path, 1.0))
    holder.start()
    time.sleep(0.2)
    publish(tmp_path, "run-new", variant(small_run, "run-new"), small_run["manifest"], lock_timeout_seconds=30)
    holder.join()
    assert current_run(tmp_path) == "run-new" and complete(tmp_path, "run-new")


def _hold_lock(out_dir, seconds: float) -> None:
    with publication_lock(out_dir, 5):
        time.sleep(seconds)


def test_a_full_disk_leaves_the_previous_publication_intact(small_run, tmp_path, monkeypatch):
    publish(tmp_path, "run-old", variant(small_run, "run-old"), small_run["manifest"])
    real = snapshot.write_dataset

    def fill_up(table, folder, name):
        if name == "scores":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
        return real(table, folder, name)

    monkeypatch.setattr(snapshot, "write_dataset", fill_up)
    with pytest.raises(OSError, match="No space left"):
        publish(tmp_path, "run-new", variant(small_run, "run-new"), small_run["manifest"])
    assert current_run(tmp_path) == "run-old" and complete(tmp_path, "run-old")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["run-old"]


def test_outputs_that_break_their_suite_are_not_published(small_run):
    broken = dict(small_run["datasets"])
    broken["selection"] = broken["selection"].assign(total_score=150.0)
    with pytest.raises(OutputValidationError, match="selection: OUT-SEL-02 total score outside 0-100"):
        validate_outputs(broken, PROJECT_ROOT / "expectations" / "outputs")
    validate_outputs(small_run["datasets"], PROJECT_ROOT / "expectations" / "outputs")


@pytest.mark.parametrize("part", ["../escape", "/etc", "runs/../../x"])
def test_paths_from_parameters_stay_inside_the_output_root(tmp_path, part):
    with pytest.raises(PublishError, match="escapes the output root"):
        safe_path(tmp_path, part)
    assert safe_path(tmp_path, "runs", "abc") == (tmp_path / "runs" / "abc").resolve()


def test_a_database_password_never_reaches_logs_manifest_or_outputs(small_run, tmp_path, caplog):
    planted = "planted-S3cret-pw"
    url = f"postgresql+psycopg://kume:{planted}@127.0.0.1:1/nowhere"  # nothing listens on port 1
    sink = SqlSink(url, attempts=2, backoff_seconds=0.05)
    with pytest.raises(PublishError) as failure:
        publish(
            tmp_path,
            "run-new",
            variant(small_run, "run-new"),
            {**small_run["manifest"], "sql": errors.safe_url(url)},
            sql=sink,
        )
    assert planted not in str(failure.value) and "***" in str(failure.value)
    assert planted not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert planted.encode() not in path.read_bytes(), path


def tree(folder) -> dict[str, tuple]:
    """Every file under ``folder`` (a link followed): content hash, inode and modification time,
    so that a file rewritten with the same bytes counts as rewritten."""
    root = folder.resolve()
    return {
        str(path.relative_to(root)): (file_digest(path), path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def attempt_manifest(small_run, flow_run: str, reason: str | None = None) -> dict:
    """The manifest of one attempt at publishing: its flow run, start time and trigger."""
    trigger = {"deployment": "nightly", "force": False, "publish": True, "reason": reason}
    started = datetime.now(UTC).isoformat()
    return {**small_run["manifest"], "flow_run_id": flow_run, "started_at": started, "trigger": trigger}


@pytest.mark.parametrize("failure", ["database server stopped", "table of another schema"])
def test_a_rerun_of_the_current_run_that_fails_in_sql_leaves_every_current_file_as_it_was(small_run, tmp_path, failure):
    """The nightly case: unchanged inputs give the current publication's run id again. Its
    snapshot is never rewritten; the attempt is recorded in publications.jsonl once it published."""
    out, url = tmp_path / "out", f"sqlite:///{tmp_path / 'kume.sqlite'}"
    datasets = variant(small_run, "run-a")
    first = attempt_manifest(small_run, "first")
    publish(out, "run-a", datasets, first, sql=SqlSink(url), reports={"index.html": "<p>first</p>"})
    before, log_before = tree(out / "current"), (out / "publications.jsonl").read_bytes()
    if failure == "database server stopped":  # nothing listens on its port any more
        stopped = f"postgresql+psycopg://kume:pw@127.0.0.1:{free_port()}/kume"
        sink, error = SqlSink(stopped, attempts=2, backoff_seconds=0.05), PublishError
    else:
        other = f"sqlite:///{tmp_path / 'other.sqlite'}"
        engine = sa.create_engine(other)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE kume_selection (run_id VARCHAR(32), turnover_rank INTEGER)"))
        engine.dispose()
        sink, error = SqlSink(other, attempts=1), SqlSchemaError
    second = attempt_manifest(small_run, "second", "retry")
    with pytest.raises(error):
        publish(out, "run-a", datasets, second, sql=sink, reports={"index.html": "<p>second</p>"})
    assert current_run(out) == "run-a"
    assert tree(out / "current") == before  # not one file rewritten: data, reports, manifest
    assert (out / "publications.jsonl").read_bytes() == log_before  # a failed attempt is not recorded
    assert json.loads((out / "current" / "manifest.json").read_text(encoding="utf-8"))["flow_run_id"] == "first"

    notes = []
    third = attempt_manifest(small_run, "third", "nightly again")
    publish(out, "run-a", datasets, third, sql=SqlSink(url), reports={"index.html": "<p>third</p>"}, log=notes.append)
    assert tree(out / "current") == before and current_run(out) == "run-a"
    assert "run run-a was already published; recorded this attempt" in notes
    attempt = publication_log(out)[-1]
    assert {key: attempt[key] for key in ("run_id", "outcome", "flow_run_id", "reason", "sql")} == {
        "run_id": "run-a",
        "outcome": "already published",
        "flow_run_id": "third",
        "reason": "nightly again",
        "sql": url,
    }
    assert attempt["started_at"] == third["started_at"] <= attempt["finished_at"]
    assert attempt["trigger"]["deployment"] == "nightly"


class _Unread(dict):
    """Datasets that must not be read: a publication both sinks have already."""

    def __getitem__(self, name):
        raise AssertionError(f"{name} was read")


def test_the_current_run_published_again_is_not_written_again_to_a_database_that_has_it(small_run, tmp_path):
    """The nightly on unchanged inputs: a database that calls the run current has its rows (they
    were committed with it), so they are neither read nor written again; a database that does
    not (another ``KUME_DATABASE_URL``) gets them."""
    out, url = tmp_path / "out", f"sqlite:///{tmp_path / 'kume.sqlite'}"
    datasets = variant(small_run, "run-a")
    publish(out, "run-a", datasets, attempt_manifest(small_run, "first"), sql=SqlSink(url), reports={})
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        published_at = connection.execute(sa.text("SELECT published_at FROM kume_publications")).scalars().all()
    publish(out, "run-a", _Unread(datasets), attempt_manifest(small_run, "again"), sql=SqlSink(url), reports={})
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT published_at FROM kume_publications")).scalars().all() == published_at
    engine.dispose()
    assert publication_log(out)[-1]["outcome"] == "already published"
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    with pytest.raises(AssertionError, match="was read"):
        publish(out, "run-a", _Unread(datasets), attempt_manifest(small_run, "other"), sql=SqlSink(other), reports={})
    publish(out, "run-a", datasets, attempt_manifest(small_run, "other"), sql=SqlSink(other), reports={})
    assert sql_current_run(SqlSink(other)) == "run-a"


def test_a_nightly_rerun_through_the_flow_never_rewrites_the_current_publication(published_run, tmp_path):
    from helpers import kume_env, run_selection
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    out = tmp_path / "out"
    shutil.copytree(published_run["out_dir"], out, symlinks=True, ignore=shutil.ignore_patterns("work", "ingested"))
    published = run_selection(out)  # the run id of this code (the fixture's unless the code changed since)
    before, log_before = tree(out / "current"), (out / "publications.jsonl").read_bytes()
    stopped = f"postgresql+psycopg://kume:pw@127.0.0.1:{free_port()}/kume"
    failed = pytest.raises(PublishError, match=r"SQL publication failed after 1 attempts \(OperationalError at ")
    with kume_env(KUME_DATABASE_URL=stopped, KUME_SQL_ATTEMPTS="1"), failed:
        run_selection(out, reason="the database is down")
    assert tree(out / "current") == before
    assert (out / "publications.jsonl").read_bytes() == log_before

    again = run_selection(out, reason="nightly again")
    assert again["run_id"] == published["run_id"] == current_run(out)
    assert tree(out / "current") == before
    attempt = publication_log(out)[-1]
    assert attempt["outcome"] == "already published" and attempt["flow_run_id"] == again["flow_run_id"]
    assert attempt["reason"] == "nightly again" and attempt["sql"] == f"sqlite:///{out / 'kume.sqlite'}"
    said = f"run {again['run_id']} was already published; recorded this attempt"
    assert said in again["locations"]["notes"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[again["flow_run_id"]]))
        )
    assert said in {artifact.key: artifact for artifact in artifacts}["kume-outputs"].data


@pytest.mark.parametrize("other_database", ["sqlite", "postgresql"])
def test_another_database_never_brings_an_older_run_back(small_run, tmp_path, request, other_database):
    """KUME_DATABASE_URL changed between runs and back: the first database still calls run A
    current while the publication is at run B. Reconciling never switches back to A; that
    database is brought up to B instead."""
    out = tmp_path / "out"
    first = SqlSink(f"sqlite:///{tmp_path / 'kume.sqlite'}", attempts=1)
    if other_database == "postgresql":
        other = SqlSink(create_database(request.getfixturevalue("postgres_url"), "kume_other"), attempts=1)
    else:
        other = SqlSink(f"sqlite:///{tmp_path / 'other.sqlite'}", attempts=1)
    publish(out, "run-a", variant(small_run, "run-a"), small_run["manifest"], sql=first)
    publish(out, "run-b", variant(small_run, "run-b"), small_run["manifest"], sql=other)
    assert current_run(out) == sql_current_run(other) == "run-b" and sql_current_run(first) == "run-a"

    notes = []
    assert reconcile(out, first, log=notes.append) is None
    assert current_run(out) == "run-b"  # never back to run-a
    assert sql_current_run(first) == "run-b"  # brought up to the current run, from its snapshot
    assert notes == [f"brought {first.url} up to the current run run-b (it still called run run-a current)"]
    assert publication_log(out)[-1]["outcome"] == "sql brought up to date"
    engine = sa.create_engine(first.url)
    with engine.connect() as connection:
        count = "SELECT count(*) FROM kume_selection WHERE run_id = 'run-b'"
        assert connection.execute(sa.text(count)).scalar() == len(small_run["datasets"]["selection"])
    engine.dispose()

    publish(out, "run-c", variant(small_run, "run-c"), small_run["manifest"], sql=first)  # a newer run
    assert current_run(out) == sql_current_run(first) == "run-c"
    assert reconcile(out, other) is None  # back to the other database: it is brought up to run-c
    assert current_run(out) == sql_current_run(other) == "run-c"
