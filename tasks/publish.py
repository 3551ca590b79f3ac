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

import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import sqlalchemy as sa

from schemas.outputs import DATASETS, PARTITIONS, SCHEMA_VERSION
from tasks import versions
from tasks.errors import KumeError

FAULT_POINT_VARIABLE = "KUME_FAULT_POINT"  # tests: the process kills itself at this checkpoint


class PublishError(KumeError, RuntimeError):
    """A publication that could not complete; the previous one stays current."""


class SqlSchemaError(PublishError):
    """The SQL database holds kume tables of another layout: nothing is written to it."""


def checkpoint(name: str) -> None:
    """A named point of the publication, where a test can kill the process (SIGKILL)."""
    if os.environ.get(FAULT_POINT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def code_version(project_root: Path) -> str:
    """The git commit of the code (with a hash of the diff for uncommitted changes), else the version."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_root, capture_output=True, text=True, check=True
        ).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD"], cwd=project_root, capture_output=True, check=True).stdout
        # uncommitted changes: name them by their content, so different edits give different ids
        return commit + (f"-dirty-{hashlib.sha256(diff).hexdigest()[:12]}" if diff else "")
    except (OSError, subprocess.CalledProcessError):
        from kume import __version__

        return f"kume-{__version__}"


def run_identity(
    input_hashes: dict[str, str], parameters: dict, code: str, packages: dict[str, str | None] | None = None
) -> str:
    """A run id that is a function of what decides the result: inputs, parameters, code, and the
    versions of the packages that shape the outputs (``packages``, by default those installed:
    ``tasks.versions.package_versions``), so an upgrade gives a new run id."""
    packages = versions.package_versions() if packages is None else packages
    canonical = json.dumps(
        {"inputs": input_hashes, "parameters": parameters, "code": code, "packages": packages}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def safe_path(root: Path, *parts: str) -> Path:
    """``root / parts`` refused when it would leave ``root`` (``..``, absolute parts, links)."""
    root = root.resolve()
    target = root.joinpath(*parts).resolve()
    if target != root and root not in target.parents:
        raise PublishError(f"path {'/'.join(parts)!r} escapes the output root {root}")
    return target


def to_table(frame: pd.DataFrame, name: str) -> pa.Table:
    """Cast to the dataset's contract schema, in its defined row order."""
    schema, keys = DATASETS[name]
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True) if len(frame) else frame
    columns = {}
    for field in schema:
        values = frame[field.name] if field.name in frame else pd.Series([None] * len(frame), dtype="object")
        columns[field.name] = _arrow_column(values, field.type)
    metadata = {b"kume.dataset": name.encode(), b"kume.schema_version": SCHEMA_VERSION.encode()}
    return pa.Table.from_pydict(columns, schema=schema).replace_schema_metadata(metadata)


def _arrow_column(values: pd.Series, arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return pa.array(pd.to_numeric(values, errors="coerce").astype("float64"), type=arrow_type, from_pandas=True)
    if pa.types.is_date(arrow_type):
        dates = pd.to_datetime(values, errors="coerce")
        return pa.array([None if pd.isna(d) else d.date() for d in dates], type=arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pa.array(values.astype("boolean"), type=arrow_type, from_pandas=True)
    if pa.types.is_list(arrow_type):
        return pa.array(
            [list(v) if v is not None and not isinstance(v, float) else None for v in values], type=arrow_type
        )
    return pa.array([None if pd.isna(v) else str(v) for v in values.astype(object)], type=arrow_type)


def hive_partitioning(name: str) -> pads.Partitioning | None:
    """The dataset's Hive partitioning, typed as in its contract (None when unpartitioned)."""
    partition = PARTITIONS.get(name, [])
    schema = DATASETS[name][0]
    return pads.partitioning(pa.schema([schema.field(c) for c in partition]), flavor="hive") if partition else None


def write_dataset(table: pa.Table, folder: Path, name: str) -> list[Path]:
    """One dataset as a folder of zstd Parquet files, Hive-partitioned where it helps readers."""
    pads.write_dataset(
        table,
        folder,
        format="parquet",
        partitioning=hive_partitioning(name),
        basename_template="part-{i}.parquet",
        file_options=pads.ParquetFileFormat().make_write_options(compression="zstd"),
        use_threads=False,
        existing_data_behavior="error",
    )
    return sorted(folder.rglob("*.parquet"))


def read_dataset(folder: Path, name: str) -> pd.DataFrame:
    """A published dataset back as a DataFrame, partition columns typed as in the contract."""
    return pads.dataset(folder, format="parquet", partitioning=hive_partitioning(name)).to_table().to_pandas()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class SqlSink:
    """Where the SQL copy goes (SQLite file by default, PostgreSQL in production)."""

    url: str
    attempts: int = 4
    backoff_seconds: float = 1.0  # doubled after each failed attempt


LOCK_FILE = ".publish.lock"
_LOCKS = threading.local()  # per thread: the output roots whose lock it holds, and their open lock files
_logger = logging.getLogger("kume.publish")


def holder_record(run_id: str | None = None, flow_run_id: str | None = None) -> dict:
    """Who holds a publication lock, as its holder writes it into the lock file: the process
    (pid and host), the run and its Prefect flow run, and since when (UTC)."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_record(handle, record: dict | None) -> None:
    handle.seek(0)
    handle.truncate()
    if record is not None:
        handle.write(json.dumps(record, default=str) + "\n")
    handle.flush()


def _read_record(handle) -> dict | None:
    """The holder record of an open lock file; None while it is empty or being written. An
    older kume's line (``pid 123 since ...``) comes back as ``{"text": line}``."""
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None if text.startswith("{") else {"text": text}
    return record if isinstance(record, dict) else None


def _alive(record: dict) -> bool:
    """False when the record names a process of this host that has ended (a killed holder's
    record, still there until the next holder writes its own); a process elsewhere counts as
    alive (the lock itself says whether anybody holds it)."""
    pid = record.get("pid")
    if record.get("host") != socket.gethostname() or not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: ended, its locks released
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _live(record: dict | None) -> dict | None:
    return record if record is not None and _alive(record) else None


def describe_holder(record: dict | None) -> str:
    """'run 1a2b (flow run 5e6f, pid 123 on host x) since 2026-03-01 12:00:01 UTC'."""
    if record is None:
        return "a publication that has not recorded itself yet"
    if "text" in record:
        return record["text"]
    details = [f"flow run {record['flow_run_id']}"] if record.get("flow_run_id") else []
    details.append(f"pid {record.get('pid')} on host {record.get('host')}")
    who = f"run {record['run_id']} ({', '.join(details)})" if record.get("run_id") else ", ".join(details)
    try:
        since = datetime.fromisoformat(str(record.get("since"))).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        since = str(record.get("since"))
    return f"{who} since {since}"


def lock_holder(out_dir: Path) -> tuple[bool, dict | None]:
    """Whether somebody holds the publication lock on ``out_dir`` now, and its record when it
    is known (never a record of a holder that has ended)."""
    try:
        handle = (out_dir / LOCK_FILE).open("r")
    except FileNotFoundError:
        return False, None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, _live(_read_record(handle))
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False, None


@contextmanager
def publication_lock(
    out_dir: Path,
    timeout_seconds: float,
    holder: dict | None = None,
    log: Callable[[str], None] | None = None,
    reentrant: bool = False,
) -> Iterator[None]:
    """One publication at a time per output root: an exclusive ``flock`` on
    ``<out>/.publish.lock``. The kernel releases it when the holder's process ends, however it
    ends (SIGKILL included), so a crashed publication never blocks the next one. The holder
    writes who it is into the file (``holder_record`` with ``holder``'s run and flow run); a
    second publication logs (``log``, else the ``kume.publish`` logger) that it waits and for
    whom, and after ``timeout_seconds`` is refused with a one-line ``PublishError`` naming the
    live holder. Taken ``reentrant`` (the flow's turn to publish, ``kume.publication``), the same
    thread may enter it again (``publish`` inside that turn): that only updates the record with
    ``holder``; otherwise a second entry waits like any other publication."""
    say = log or _logger.info
    out_dir.mkdir(parents=True, exist_ok=True)
    key = str(out_dir.resolve())
    held: dict = _LOCKS.__dict__.setdefault("held", {})
    if key in held:  # this thread holds it, reentrant
        if holder:
            handle = held[key]
            _write_record(handle, {**(_read_record(handle) or holder_record()), **holder})
        yield
        return
    with (out_dir / LOCK_FILE).open("a+") as handle:
        started = time.monotonic()
        deadline = started + timeout_seconds
        announced: dict | None | bool = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                current = _live(_read_record(handle))
                if current != announced and (current is not None or time.monotonic() - started >= 2):
                    say(f"publication: waiting for the lock on {out_dir} held by {describe_holder(current)}")
                    announced = current
                if time.monotonic() >= deadline:
                    raise PublishError(
                        f"another publication is in progress in {out_dir}: {describe_holder(current)}; "
                        f"waited {timeout_seconds:g} s"
                    ) from None
                time.sleep(0.2)
        _write_record(handle, {**holder_record(), **(holder or {})})
        if reentrant:
            held[key] = handle
        try:
            yield
        finally:
            held.pop(key, None)
            _write_record(handle, None)  # the record goes with the lock
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(
    out_dir: Path,
    run_id: str,
    datasets: dict[str, pd.DataFrame],
    manifest: dict,
    sql: SqlSink | None = None,
    keep: int = 5,
    lock_timeout_seconds: float = 600,
    reports: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Publish one run (see the module docstring for the order of commits), with its HTML
    reports inside the same snapshot. Returns its folder. ``log`` gets what the operator
    should know: a run already published (only this attempt is recorded), a roll forward,
    a database brought up to the current run."""
    say = log or (lambda message: None)
    holder = {"run_id": run_id, "flow_run_id": manifest.get("flow_run_id")}
    with publication_lock(out_dir, lock_timeout_seconds, holder=holder, log=log):
        checkpoint("locked")
        if sql:
            check_sql(sql)  # a database of another layout: fail before writing anything
        reconcile(out_dir, sql, publishing=run_id, log=say)
        in_place = (out_dir / "runs" / run_id / "manifest.json").exists()
        snapshot = write_snapshot(out_dir, run_id, datasets, manifest, reports or {})
        if sql:
            write_sql(sql, run_id, datasets, manifest)
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


def write_snapshot(
    out_dir: Path, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict, reports: dict[str, str]
) -> Path:
    """Every dataset, the reports and the manifest, written beside the published runs and
    renamed into place. A snapshot already in place (the same run id: the same inputs,
    parameters, code and packages, so the same data files) is never rewritten, not even its
    manifest: it may be the current publication. A rerun's attempt is recorded in
    ``publications.jsonl`` once it has published (``publish``)."""
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    target = safe_path(runs, run_id)
    if (target / "manifest.json").exists():  # the manifest is renamed into place last: complete
        return target
    incoming = runs / f".incoming-{run_id}-{uuid.uuid4().hex[:8]}"
    incoming.mkdir()
    try:
        checkpoint("incoming-created")
        outputs = {}
        for name, frame in datasets.items():
            files = write_dataset(to_table(frame, name), incoming / name, name)
            outputs[name] = {
                "rows": len(frame),
                "files": {str(p.relative_to(incoming)): file_digest(p) for p in files},
            }
            checkpoint(f"written-{name}")
        if reports:
            (incoming / "reports").mkdir()
            for page, text in sorted(reports.items()):
                (safe_path(incoming / "reports", page)).write_text(text, encoding="utf-8")
            outputs["reports"] = {
                "rows": len(reports),
                "files": {f"reports/{page}": file_digest(incoming / "reports" / page) for page in sorted(reports)},
            }
            checkpoint("reports-written")
        record = {**manifest, "run_id": run_id, "schema_version": SCHEMA_VERSION, "outputs": outputs}
        (incoming / "manifest.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        checkpoint("manifest-written")
        if target.exists():  # a folder left half-way by a killed process (no manifest)
            shutil.rmtree(target)
        os.rename(incoming, target)
        checkpoint("snapshot-in-place")
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return target


def snapshot_complete(out_dir: Path, run_id: str) -> bool:
    """The run's snapshot is in place with every file its manifest lists."""
    run_dir = out_dir / "runs" / run_id
    try:
        outputs = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    except (OSError, ValueError, KeyError):
        return False
    return all((run_dir / file).is_file() for output in outputs.values() for file in output["files"])


def switch_current(out_dir: Path, run_id: str, outcome: str = "published", attempt: dict | None = None) -> None:
    """Point ``current`` at a complete snapshot with one atomic rename, and record it."""
    if not (out_dir / "runs" / run_id / "manifest.json").exists():
        raise PublishError(f"run {run_id} has no complete snapshot to switch to")
    link = out_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(Path("runs") / run_id, link)
    os.replace(link, out_dir / "current")
    record_publication(out_dir, run_id, outcome, attempt)


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


def record_publication(out_dir: Path, run_id: str, outcome: str, attempt: dict | None = None) -> None:
    """One line of ``<out>/publications.jsonl``: the run, what happened (``published``,
    ``published again``, ``already published``, ``rolled forward``, ``sql brought up to date``),
    when, and the attempt's flow run, trigger and SQL database (without its password)."""
    now = datetime.now(UTC).isoformat()
    entry = {"run_id": run_id, "outcome": outcome, **(attempt or {}), "finished_at": now, "published_at": now}
    with (out_dir / "publications.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


def publication_log(out_dir: Path) -> list[dict]:
    log = out_dir / "publications.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def published_runs(out_dir: Path) -> set[str]:
    return {entry["run_id"] for entry in publication_log(out_dir)}


def publication_time(out_dir: Path, run_id: str) -> datetime | None:
    """When ``run_id`` last became (or was confirmed) current here: its latest line in
    ``publications.jsonl``, else its manifest's ``finished_at``."""
    times = [e.get("finished_at") or e.get("published_at") for e in publication_log(out_dir) if e["run_id"] == run_id]
    if not times:
        manifest = out_dir / "runs" / run_id / "manifest.json"
        with_time = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
        times = [with_time.get("finished_at")]
    return _timestamp(times[-1])


def _timestamp(text: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def current_run(out_dir: Path) -> str | None:
    link = out_dir / "current"
    return Path(os.readlink(link)).name if link.is_symlink() else None


def prune(out_dir: Path, keep: int) -> list[str]:
    """Keep the last ``keep`` published snapshots readable (never the current one's removal);
    remove older ones and what killed publications left behind."""
    runs = out_dir / "runs"
    for leftover in runs.glob(".incoming-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    order = [entry["run_id"] for entry in publication_log(out_dir)]
    recent = list(dict.fromkeys(reversed(order)))[:keep]
    keep_set = set(recent) | {current_run(out_dir)}
    removed = []
    for folder in runs.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in keep_set:
            shutil.rmtree(folder)
            removed.append(folder.name)
    return removed


METADATA = sa.MetaData()
PUBLICATIONS = sa.Table(
    "kume_publications",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("published_at", sa.String(40), nullable=False),
    sa.Column("reference_year", sa.Integer),
    sa.Column("code_version", sa.String(80)),
    sa.Column("status", sa.String(20)),
    sa.Column("schema_version", sa.String(20)),
)
CURRENT = sa.Table(
    "kume_current",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(32), nullable=False),
)
SQL_SELECTION_COLUMNS = [
    "plate_code", "rank", "province", "host", "year", "sector_code", "sector_name", "total_score",
    "economic_impact", "demand", "networking", "factor_conditions", "eligible", "selected", "size_rank",
    "size_basis", "robustness_share", "cmp_strong", "eco_stars", "computed_in_run", "parameters_id",
]  # fmt: skip
SQL_INDICATOR_COLUMNS = [
    "plate_code", "sector_code", "year", "employment", "establishments", "exports", "lq_employment",
    "focus", "national_share", "employment_cagr", "cmp_strong", "eco_stars",
]  # fmt: skip
SELECTION_TABLE = sa.Table(
    "kume_selection",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    *[sa.Column(c, sa.Integer, primary_key=c in ("plate_code", "rank")) for c in ("plate_code", "rank")],
    sa.Column("province", sa.String(40)),
    sa.Column("host", sa.String(200)),
    sa.Column("year", sa.Integer),
    sa.Column("sector_code", sa.String(10)),
    sa.Column("sector_name", sa.String(200)),
    *[sa.Column(c, sa.Float) for c in ("total_score", "economic_impact", "demand", "networking", "factor_conditions")],
    sa.Column("eligible", sa.Boolean),
    sa.Column("selected", sa.Boolean),
    sa.Column("size_rank", sa.Integer),
    sa.Column("size_basis", sa.String(20)),
    sa.Column("robustness_share", sa.Float),
    sa.Column("cmp_strong", sa.Boolean),
    sa.Column("eco_stars", sa.Integer),
    sa.Column("computed_in_run", sa.String(32)),  # added with schema 3.0: see migrate_sql
    sa.Column("parameters_id", sa.String(16)),
)
INDICATOR_TABLE = sa.Table(
    "kume_indicators",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("plate_code", sa.Integer, primary_key=True),
    sa.Column("sector_code", sa.String(10), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    *[
        sa.Column(c, sa.Float)
        for c in (
            "employment",
            "establishments",
            "exports",
            "lq_employment",
            "focus",
            "national_share",
            "employment_cagr",
        )
    ],
    sa.Column("cmp_strong", sa.Boolean),
    sa.Column("eco_stars", sa.Integer),
)


SQL_SCHEMA_VERSION = 3  # kume's SQL layout, kept in kume_schema_version; 3 came with the contract's 3.0.0
SCHEMA_VERSION_TABLE = sa.Table(
    "kume_schema_version",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
)
# Schema 2 (contract 2.0.0): kume_selection had turnover_rank and none of these; the other tables
# are unchanged. A schema-2 database that kume's first 3.0 release wrote to also has some of them,
# added next to turnover_rank. ``migrate_sql`` brings both to schema 3.
ADDED_IN_SCHEMA_3 = ("size_rank", "size_basis", "computed_in_run", "parameters_id")


def _records(frame: pd.DataFrame, columns: list[str], run_id: str) -> list[dict]:
    if "turnover_rank" in frame and "size_rank" not in frame:  # a 2.0 snapshot read back
        frame = frame.rename(columns={"turnover_rank": "size_rank"})
    subset = frame.reindex(columns=columns)
    subset = subset.astype(object).where(subset.notna(), None)
    return [{"run_id": run_id, **row} for row in subset.to_dict("records")]


def sql_engine(url: str) -> sa.Engine:
    """An engine whose errors never show bound parameters (data rows). On SQLite, SQLAlchemy's
    documented pysqlite recipe: the driver neither begins nor commits by itself, kume's BEGIN
    covers DDL too, so tables created in a transaction that fails are rolled back with it."""
    engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_driver_autocommit)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_driver_autocommit(dbapi_connection: object, connection_record: object) -> None:
    dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN, and no COMMIT before DDL


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def sql_error_line(error: sa.exc.SQLAlchemyError, url: str) -> str:
    """A database error in one line: the driver's first line, with no statement, no data rows
    (engines hide parameters; a driver's DETAIL lines may quote rows) and no password."""
    detail = str(getattr(error, "orig", None) or error)
    line = next((part.strip() for part in detail.splitlines() if part.strip()), "")
    try:
        password = sa.engine.make_url(url).password
    except sa.exc.ArgumentError:
        password = None
    if password:
        line = line.replace(str(password), "***")
    return f"{error.__class__.__name__}: {line}" if line else error.__class__.__name__


def _kind(kind: sa.types.TypeEngine) -> str | None:
    """What matters of a column type for kume's rows: boolean, integer, number or text."""
    for name, types in (("boolean", sa.Boolean), ("integer", sa.Integer), ("number", sa.Numeric), ("text", sa.String)):
        if isinstance(kind, types):
            return name
    return None


def _type_name(kind: sa.types.TypeEngine, dialect: sa.Dialect) -> str:
    try:
        return kind.compile(dialect=dialect)
    except sa.exc.SQLAlchemyError:
        return str(kind)


def _differences(found: dict[str, sa.types.TypeEngine], table: sa.Table, dialect: sa.Dialect) -> list[str]:
    """How a table in the database differs from kume's: missing and unexpected columns, and
    columns whose values kume's rows would not fit (another kind; a shorter text where the
    database enforces lengths). A column SQLite keeps untyped takes anything."""
    missing = [column.name for column in table.columns if column.name not in found]
    unexpected = [name for name in found if name not in table.c]
    retyped = []
    for column in table.columns:
        kind = found.get(column.name)
        if kind is None or isinstance(kind, sa.types.NullType):
            continue
        shorter = (
            dialect.name != "sqlite"
            and isinstance(column.type, sa.String)
            and isinstance(kind, sa.String)
            and bool(column.type.length and kind.length and kind.length < column.type.length)
        )
        if _kind(kind) != _kind(column.type) or shorter:
            wanted = _type_name(column.type, dialect)
            retyped.append(f"{column.name} is {_type_name(kind, dialect)} (kume writes {wanted})")
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"unexpected {', '.join(unexpected)}"] if unexpected else []
    return parts + ([f"other types: {', '.join(retyped)}"] if retyped else [])


def _kume_tables(connection: sa.Connection) -> dict[str, dict[str, sa.types.TypeEngine]]:
    """kume's tables present in the database, with their columns' reflected types."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    return {
        table.name: {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        for table in METADATA.sorted_tables
        if table.name in present
    }


def schema_problems(connection: sa.Connection) -> dict[str, str]:
    """Per kume table in the database that differs from this kume's, how (empty: it matches)."""
    found = _kume_tables(connection)
    problems = {}
    for table in METADATA.sorted_tables:
        if table.name in found and (parts := _differences(found[table.name], table, connection.dialect)):
            problems[table.name] = "; ".join(parts)
    return problems


def stored_schema_version(connection: sa.Connection) -> int | None:
    """The SQL schema version the database records (None: not recorded)."""
    if not sa.inspect(connection).has_table(SCHEMA_VERSION_TABLE.name):
        return None
    return connection.execute(sa.select(sa.func.max(SCHEMA_VERSION_TABLE.c.version))).scalar()


def _is_schema_2(connection: sa.Connection) -> bool:
    """kume_selection as schema 2 made it (turnover_rank), perhaps with some of the columns
    schema 3 added; every other kume table as it is now; no schema version recorded."""
    found = _kume_tables(connection)
    selection = found.get(SELECTION_TABLE.name)
    if selection is None or "turnover_rank" not in selection or stored_schema_version(connection) is not None:
        return False
    if any(schema_problems(connection).get(name) for name in found if name != SELECTION_TABLE.name):
        return False
    old = sa.Table(
        SELECTION_TABLE.name,
        sa.MetaData(),
        *[sa.Column(c.name, c.type) for c in SELECTION_TABLE.columns if c.name not in ADDED_IN_SCHEMA_3],
        sa.Column("turnover_rank", sa.Integer),
    )
    present = {name: kind for name, kind in selection.items() if name not in ADDED_IN_SCHEMA_3}
    return not _differences(present, old, connection.dialect)


def check_sql_schema(connection: sa.Connection, url: str) -> None:
    """Refuse, in one line, a database whose kume tables are not this kume's: which table,
    which columns, and what to do."""
    safe = safe_url(url)
    problems = schema_problems(connection)
    if problems:
        (name, detail), *others = problems.items()
        more = "".join(f"; table {other}: {text}" for other, text in others)
        advice = (
            "run `kume migrate-sql` or use another database"
            if _is_schema_2(connection)
            else "use another database, or move these tables away (`kume migrate-sql` migrates kume's schema 2 only)"
        )
        raise SqlSchemaError(f"SQL table {name} in {safe} has another schema: {detail}{more}; {advice}")
    version = stored_schema_version(connection)
    if version is not None and version != SQL_SCHEMA_VERSION:
        advice = (
            "run `kume migrate-sql`"
            if version < SQL_SCHEMA_VERSION
            else "publish with the kume that wrote it, or use another database"
        )
        raise SqlSchemaError(
            f"SQL database {safe} holds kume's SQL schema {version}; this kume writes schema {SQL_SCHEMA_VERSION}: "
            + advice
        )


def check_sql(sink: SqlSink) -> None:
    """Check the database's kume tables before anything of a run is written (``check_sql_schema``).
    An unreachable database is left to the SQL step, which retries and reports it."""
    engine = None
    try:
        engine = sql_engine(sink.url)
        with engine.connect() as connection:
            check_sql_schema(connection, sink.url)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        return
    except sa.exc.SQLAlchemyError as error:
        raise PublishError(
            f"SQL database {safe_url(sink.url)} cannot be checked: {sql_error_line(error, sink.url)}; "
            "nothing was written"
        ) from None
    finally:
        if engine is not None:
            engine.dispose()


def _stamp_schema_version(connection: sa.Connection) -> None:
    if stored_schema_version(connection) is None:
        connection.execute(
            sa.insert(SCHEMA_VERSION_TABLE),
            [{"version": SQL_SCHEMA_VERSION, "applied_at": datetime.now(UTC).isoformat()}],
        )


def write_sql(sink: SqlSink, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict) -> None:
    """Upsert the run's selection and reference-year indicators and make it current, in one
    transaction with bound parameters, after checking the tables (``check_sql_schema``); kume's
    tables are created in that same transaction when missing. Connection failures are retried
    with backoff; any database error ends as one line (``PublishError``), nothing written."""
    selection = datasets["selection"]
    indicators = datasets["indicators"]
    year = manifest.get("parameters", {}).get("reference_year")
    if year is not None:
        indicators = indicators[indicators.year == year]
    rows = {
        SELECTION_TABLE: _records(selection, SQL_SELECTION_COLUMNS, run_id),
        INDICATOR_TABLE: _records(indicators, SQL_INDICATOR_COLUMNS, run_id),
    }
    publication = {
        "run_id": run_id,
        "published_at": datetime.now(UTC).isoformat(),
        "reference_year": year,
        "code_version": manifest.get("code_version"),
        "status": manifest.get("status"),
        "schema_version": SCHEMA_VERSION,
    }
    safe = safe_url(sink.url)
    delay = sink.backoff_seconds
    for attempt in range(1, sink.attempts + 1):
        engine = None
        try:
            engine = sql_engine(sink.url)
            with engine.begin() as connection:
                check_sql_schema(connection, sink.url)
                METADATA.create_all(connection)  # in the data's transaction: a failure creates nothing
                _stamp_schema_version(connection)
                checkpoint("sql-begun")
                for table, records in rows.items():
                    connection.execute(sa.delete(table).where(table.c.run_id == run_id))
                    if records:
                        connection.execute(sa.insert(table), records)
                checkpoint("sql-rows-written")
                connection.execute(sa.delete(PUBLICATIONS).where(PUBLICATIONS.c.run_id == run_id))
                connection.execute(sa.insert(PUBLICATIONS), [publication])
                connection.execute(sa.delete(CURRENT))
                connection.execute(sa.insert(CURRENT), [{"id": 1, "run_id": run_id}])
            return
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if attempt == sink.attempts:
                raise PublishError(
                    f"SQL publication failed after {attempt} attempts ({error.__class__.__name__} at {safe}: "
                    f"{sql_error_line(error, sink.url).partition(': ')[2]}); nothing of run {run_id} was written "
                    "and the previous publication stays current"
                ) from None
            time.sleep(delay)
            delay *= 2
        except sa.exc.SQLAlchemyError as error:
            raise PublishError(
                f"SQL publication of run {run_id} to {safe} failed: {sql_error_line(error, sink.url)}; "
                "nothing of it was written and the previous publication stays current"
            ) from None
        finally:
            if engine is not None:
                engine.dispose()


def safe_url(url: str) -> str:
    """A database URL as it may appear in logs and manifests: without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def sql_current(sink: SqlSink) -> tuple[str, datetime | None] | None:
    """The run the database calls current and when it committed it (None: no current run)."""
    engine = sql_engine(sink.url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            if not inspector.has_table(CURRENT.name):
                return None
            run = connection.execute(sa.select(CURRENT.c.run_id)).scalar()
            if run is None:
                return None
            when = None
            if inspector.has_table(PUBLICATIONS.name):
                query = sa.select(PUBLICATIONS.c.published_at).where(PUBLICATIONS.c.run_id == run)
                when = connection.execute(query).scalar()
            return run, _timestamp(when) if when else None
    finally:
        engine.dispose()


def sql_current_run(sink: SqlSink) -> str | None:
    current = sql_current(sink)
    return current[0] if current else None


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


def migrate_sql(url: str) -> str:
    """Bring a database of kume's SQL schema 2 to schema 3 in one transaction: kume_selection's
    turnover_rank becomes size_rank; size_basis (``turnover_registry`` where the province's rows
    had a rank, as a 2.0 snapshot is read), computed_in_run (the row's run) and parameters_id
    (empty: the run's manifest has its parameters) are added; the version is recorded. A database
    at schema 3 or without kume tables is left as it is; any other layout is refused in one line.
    Returns what was done, in one line."""
    safe = safe_url(url)
    engine = None
    try:
        engine = sql_engine(url)
        with engine.begin() as connection:
            found = _kume_tables(connection)
            if not found:
                return f"{safe} has no kume tables: nothing to migrate (the first publication creates them)"
            version = stored_schema_version(connection)
            if not schema_problems(connection) and version in (None, SQL_SCHEMA_VERSION):
                METADATA.create_all(connection)
                _stamp_schema_version(connection)
                return f"{safe} is at kume's SQL schema {SQL_SCHEMA_VERSION} already: nothing to migrate"
            if not _is_schema_2(connection):
                problems = "; ".join(f"{name}: {text}" for name, text in schema_problems(connection).items())
                recorded = f"schema {version} recorded" if version is not None else problems
                raise SqlSchemaError(
                    f"cannot migrate {safe}: its kume tables are in no layout kume knows ({recorded}); "
                    "nothing was changed"
                )
            columns = found[SELECTION_TABLE.name]
            for column in SELECTION_TABLE.columns:
                if column.name not in columns:  # names and types are kume's own constants
                    kind = column.type.compile(dialect=connection.dialect)
                    connection.execute(sa.text(f"ALTER TABLE kume_selection ADD COLUMN {column.name} {kind}"))
            connection.execute(sa.text("UPDATE kume_selection SET size_rank = turnover_rank WHERE size_rank IS NULL"))
            connection.execute(
                sa.text(
                    "UPDATE kume_selection SET size_basis = 'turnover_registry' WHERE size_basis IS NULL AND EXISTS "
                    "(SELECT 1 FROM kume_selection AS other WHERE other.run_id = kume_selection.run_id "
                    "AND other.plate_code = kume_selection.plate_code AND other.size_rank IS NOT NULL)"
                )
            )
            connection.execute(
                sa.text("UPDATE kume_selection SET computed_in_run = run_id WHERE computed_in_run IS NULL")
            )
            connection.execute(sa.text("ALTER TABLE kume_selection DROP COLUMN turnover_rank"))
            METADATA.create_all(connection)
            _stamp_schema_version(connection)
            rows = connection.execute(sa.select(sa.func.count()).select_from(SELECTION_TABLE)).scalar()
            if schema_problems(connection):  # cannot happen: the transaction rolls back if it did
                raise SqlSchemaError(f"migrating {safe} left {schema_problems(connection)}; nothing was changed")
        return (
            f"migrated {safe} from kume's SQL schema 2 to {SQL_SCHEMA_VERSION}: kume_selection's turnover_rank is "
            f"size_rank now, size_basis, computed_in_run and parameters_id added ({rows} rows)"
        )
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise PublishError(f"cannot reach {safe}: {sql_error_line(error, url)}; nothing was changed") from None
    except sa.exc.SQLAlchemyError as error:
        raise PublishError(f"migrating {safe} failed: {sql_error_line(error, url)}; nothing was changed") from None
    finally:
        if engine is not None:
            engine.dispose()
