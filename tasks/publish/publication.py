"""Publication: a complete, validated, versioned snapshot per run, a SQL copy of the key
tables, and an atomic switch of what consumers see.

The order of the commits, and what a failure at each step leaves:
0. The SQL database's kume tables are checked against kume's (``check_sql``): a database of
   another layout fails the run with one line before anything is written anywhere.
1. The snapshot is written to ``<out>/runs/.incoming-*`` and renamed to ``runs/<run_id>``:
   invisible to consumers until step 3. A failure leaves the previous publication current
   (the incoming folder is removed then, or by the next publication). A snapshot already in
   place (the same run id: same inputs, parameters, code and packages) is never rewritten.
2. One SQL transaction creates kume's tables if they are missing, upserts the run's rows and
   makes it the current run. If it fails (after retries with backoff on connection failures),
   it rolls back, nothing is created, and the run fails: both sinks still show the previous run.
3. ``<out>/current`` is switched to the snapshot by one atomic rename of a symlink, and the
   attempt is recorded in ``<out>/publications.jsonl`` (a rerun of the current run id only
   records its attempt there).
A crash between 2 and 3 leaves SQL one step ahead; the next publication rolls the Parquet
pointer forward to the run SQL calls current when that run is newer than the current one and
its snapshot is complete (``reconcile``); a database that never saw the current run (another
``KUME_DATABASE_URL``) is brought up to it instead, never the reverse. Consumers never see a
mix: either the old snapshot or the new one.

Data files are deterministic: explicit schemas, a fixed row order, zstd, no timestamps or
random ids inside (the run id is a hash of inputs, code and package versions and parameters), so the same
inputs and parameters give byte-identical files. Timestamps live in the manifest only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from tasks.errors import safe_url
from tasks.publish.lock import publication_lock
from tasks.publish.snapshot import (
    PublishedCopy,
    checkpoint,
    current_run,
    prune,
    publication_time,
    published_runs,
    read_dataset,
    record_publication,
    snapshot_complete,
    switch_current,
    write_snapshot,
)
from tasks.publish.sql import SqlSink, check_sql, sql_current, write_sql
from tasks.store import code_fingerprint, file_sha256, fingerprint, snapshot_in_place
from tasks.validate import validate_outputs


def publish(
    out_dir: Path,
    run_id: str,
    datasets: dict[str, pd.DataFrame | None],
    manifest: dict,
    sql: SqlSink | None = None,
    keep: int = 5,
    lock_timeout_seconds: float = 600,
    reports: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
    copies: dict[str, PublishedCopy] | None = None,
) -> Path:
    """Publish one run (see the module docstring for the order of commits), with its HTML
    reports inside the same snapshot. Returns its folder. ``log`` gets what the operator
    should know: a run already published (only this attempt is recorded), a roll forward,
    a database brought up to the current run. ``copies``: datasets whose files are copied from
    another snapshot (``tasks.publish.snapshot.write_snapshot``)."""
    say = log or (lambda message: None)
    holder = {"run_id": run_id, "flow_run_id": manifest.get("flow_run_id")}
    with publication_lock(out_dir, lock_timeout_seconds, holder=holder, log=log):
        checkpoint("locked")
        if sql:
            check_sql(sql)  # a database of another layout: fail before writing anything
        reconcile(out_dir, sql, publishing=run_id, log=say)
        in_place = snapshot_in_place(out_dir, run_id)
        snapshot = write_snapshot(out_dir, run_id, datasets, manifest, reports or {}, copies)
        if sql and not (in_place and current_run(out_dir) == run_id and _sql_current_run(sql) == run_id):
            write_sql(sql, run_id, datasets, manifest)  # (both sinks calling the run current have its rows)
        checkpoint("sql-committed")
        attempt = attempt_record(manifest, sql)
        if current_run(out_dir) == run_id:  # the same run id again (the nightly on unchanged inputs)
            record_publication(out_dir, run_id, "already published", attempt)
            say(f"run {run_id} was already published; recorded this attempt")
        else:
            again = in_place and run_id in published_runs(out_dir)
            switch_current(out_dir, run_id, "published again" if again else "published", attempt)
            if in_place:
                say(f"run {run_id} was already in place; its snapshot is unchanged and current now")
        checkpoint("switched")
        prune(out_dir, keep)
        checkpoint("pruned")
    return snapshot


def _sql_current_run(sql: SqlSink) -> str | None:
    """The run the database calls current; None when it cannot be asked (``write_sql`` retries
    and reports that)."""
    try:
        current = sql_current(sql)
    except sa.exc.SQLAlchemyError:
        return None
    return current[0] if current else None


def validate_staged(
    datasets: dict[str, pd.DataFrame], staged: dict[str, str], expectations_dir: Path, work_dir: Path
) -> None:
    """Validate the datasets (``tasks.validate.validate_outputs``) but those whose staged file
    passed its suite before (``validated_before``); remember the pass of every staged file."""
    suites = expectations_dir / "outputs"
    passed = validated_before(staged, expectations_dir, work_dir)
    validate_outputs({name: frame for name, frame in datasets.items() if name not in passed}, suites)
    for name, path in staged.items():
        mark = _validation_mark(work_dir, name, path, suites)
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()


def validated_before(staged: dict[str, str], expectations_dir: Path, work_dir: Path) -> set[str]:
    """The datasets whose staged file passed its suite before: staged files are named by their
    content, so a dataset a run takes over unchanged (the national ones of a one-province rerun)
    has its verdict already. A pass is remembered in ``<work>/validated/``, by the file, the
    suite and the code."""
    suites = expectations_dir / "outputs"
    return {name for name, path in staged.items() if _validation_mark(work_dir, name, path, suites).exists()}


def _validation_mark(work_dir: Path, name: str, staged: str, suites: Path) -> Path:
    suite = suites / f"{name}.json"
    rules = file_sha256(suite) if suite.exists() else None
    return work_dir / "validated" / fingerprint(name, Path(staged).name, rules, code_fingerprint())


def attempt_record(manifest: dict, sql: SqlSink | None) -> dict:
    """What ``publications.jsonl`` keeps of a publication attempt, from the run's manifest."""
    trigger = manifest.get("trigger") or {}
    return {
        "flow_run_id": manifest.get("flow_run_id"),
        "started_at": manifest.get("started_at"),
        "trigger": trigger or None,
        "reason": trigger.get("reason"),
        "sql": safe_url(sql.url) if sql else None,
    }


def reconcile(
    out_dir: Path, sql: SqlSink | None, publishing: str | None = None, log: Callable[[str], None] | None = None
) -> str | None:
    """Make the two sinks agree on the newest publication, before another one is published:
    - the database calls current a run newer than ``current`` whose snapshot is complete (a crash
      between the SQL commit and the switch): ``current`` is rolled forward to it;
    - the database never saw the current run (its current run is older, or it has none: another
      ``KUME_DATABASE_URL`` was used meanwhile): the current run's rows are written into it from
      its snapshot, unless that run is the one being published (``publishing`` writes them).
    Never the reverse: ``current`` never goes back to a run a database still calls current.
    "Newer" compares when each sink made the run current (``publications.jsonl`` or the
    manifest's ``finished_at``; the database's ``kume_publications.published_at``). Returns the
    run rolled forward to, if any."""
    if sql is None:
        return None
    say = log or (lambda message: None)
    try:
        in_sql = sql_current(sql)
    except sa.exc.SQLAlchemyError:
        return None  # the database is unreachable: the SQL step will retry and report it
    current = current_run(out_dir)
    sql_run, sql_time = in_sql or (None, None)
    if sql_run == current:
        return None
    current_time = publication_time(out_dir, current) if current else None
    safe = safe_url(sql.url)
    newer = sql_run is not None and sql_time is not None and (current_time is None or sql_time > current_time)
    if newer and (current is None or current_time is not None) and snapshot_complete(out_dir, sql_run):
        switch_current(out_dir, sql_run, "rolled forward", {"sql": safe})
        say(f"rolled current forward to run {sql_run}, which {safe} had committed after run {current}")
        return sql_run
    older = sql_run is None or (sql_time is not None and current_time is not None and sql_time <= current_time)
    if current and current != publishing and older and snapshot_complete(out_dir, current):
        run_dir = out_dir / "runs" / current
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        datasets = {name: read_dataset(run_dir / name, name) for name in ("selection", "indicators")}
        write_sql(sql, current, datasets, manifest)
        record_publication(out_dir, current, "sql brought up to date", {"sql": safe})
        had = f"it still called run {sql_run} current" if sql_run else "it had no current run"
        say(f"brought {safe} up to the current run {current} ({had})")
    return None
