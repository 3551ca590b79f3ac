"""Publication: a complete, validated, versioned snapshot per run, a SQL copy of the key
tables, and an atomic switch of what consumers see.

The order of the commits, and what a failure at each step leaves:
1. The snapshot is written to ``<out>/runs/.incoming-*`` and renamed to ``runs/<run_id>``:
   invisible to consumers until step 3. A failure leaves the previous publication current
   (the incoming folder is removed then, or by the next publication).
2. One SQL transaction upserts the run's rows and makes it the current run. If it fails
   (after retries with backoff), it rolls back and the run fails: both sinks still show the
   previous run.
3. ``<out>/current`` is switched to the snapshot by one atomic rename of a symlink.
A crash between 2 and 3 leaves SQL one step ahead; the next publication (or any kume run)
rolls the Parquet pointer forward to the run SQL calls current, whose snapshot is complete
since step 1 came first. Consumers never see a mix: either the old snapshot or the new one.

Data files are deterministic: explicit schemas, a fixed row order, zstd, no timestamps or
random ids inside (the run id is a hash of inputs, code and package versions and parameters), so the same
inputs and parameters give byte-identical files. Timestamps live in the manifest only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
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


@contextmanager
def publication_lock(out_dir: Path, timeout_seconds: float) -> Iterator[None]:
    """One publication at a time per output root: a second one waits, then is refused."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / ".publish.lock").open("a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise PublishError(
                        f"another publication is in progress in {out_dir} ({holder}); waited {timeout_seconds:g} s"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
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
) -> Path:
    """Publish one run (see the module docstring for the order of commits), with its HTML
    reports inside the same snapshot. Returns its folder."""
    with publication_lock(out_dir, lock_timeout_seconds):
        checkpoint("locked")
        reconcile(out_dir, sql)
        snapshot = write_snapshot(out_dir, run_id, datasets, manifest, reports or {})
        if sql:
            write_sql(sql, run_id, datasets, manifest)
        checkpoint("sql-committed")
        switch_current(out_dir, run_id)
        checkpoint("switched")
        prune(out_dir, keep)
        checkpoint("pruned")
    return snapshot


def write_snapshot(
    out_dir: Path, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict, reports: dict[str, str]
) -> Path:
    """Every dataset and the manifest, written beside the published runs and renamed into place."""
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    target = safe_path(runs, run_id)
    incoming = runs / f".incoming-{run_id}-{uuid.uuid4().hex[:8]}"
    incoming.mkdir()
    # The same run id again (same inputs, parameters and code): its data files are already in
    # place and identical, so only the manifest (and new report pages) are written.
    previous = (
        json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        if (target / "manifest.json").exists()
        else None
    )
    try:
        checkpoint("incoming-created")
        outputs = {name: previous["outputs"][name] for name in datasets} if previous else {}
        for name, frame in datasets.items() if previous is None else ():
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
        if not reports and previous and "reports" in previous["outputs"]:  # the same run again: its pages stay
            outputs["reports"] = previous["outputs"]["reports"]
        record = {**manifest, "run_id": run_id, "schema_version": SCHEMA_VERSION, "outputs": outputs}
        (incoming / "manifest.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        checkpoint("manifest-written")
        if (target / "manifest.json").exists():
            # The same run id means the same inputs, parameters and code: the data files are
            # identical, so only the manifest (times, flow run) and the reports that quote it
            # are replaced, file by file and atomically.
            if reports:
                (target / "reports").mkdir(exist_ok=True)
            for page in (incoming / "reports").glob("*.html") if reports else []:
                os.replace(page, target / "reports" / page.name)
            os.replace(incoming / "manifest.json", target / "manifest.json")
            shutil.rmtree(incoming)
        else:
            if target.exists():  # a folder left half-way by a killed process
                shutil.rmtree(target)
            os.rename(incoming, target)
        checkpoint("snapshot-in-place")
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return target


def switch_current(out_dir: Path, run_id: str) -> None:
    """Point ``current`` at a complete snapshot with one atomic rename, and log it."""
    if not (out_dir / "runs" / run_id / "manifest.json").exists():
        raise PublishError(f"run {run_id} has no complete snapshot to switch to")
    link = out_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(Path("runs") / run_id, link)
    os.replace(link, out_dir / "current")
    with (out_dir / "publications.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"run_id": run_id, "published_at": datetime.now(UTC).isoformat()}) + "\n")


def current_run(out_dir: Path) -> str | None:
    link = out_dir / "current"
    return Path(os.readlink(link)).name if link.is_symlink() else None


def prune(out_dir: Path, keep: int) -> list[str]:
    """Keep the last ``keep`` published snapshots readable (never the current one's removal);
    remove older ones and what killed publications left behind."""
    runs = out_dir / "runs"
    for leftover in runs.glob(".incoming-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    log = out_dir / "publications.jsonl"
    order = [json.loads(line)["run_id"] for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
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
    sa.Column("computed_in_run", sa.String(32)),  # added with schema 3.0: see add_new_columns
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


def _records(frame: pd.DataFrame, columns: list[str], run_id: str) -> list[dict]:
    subset = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [{"run_id": run_id, **row} for row in subset.to_dict("records")]


def add_new_columns(connection: sa.Connection) -> None:
    """Add the columns kume's tables gained since the database was created (``create_all``
    makes missing tables only); additive, so older readers keep working."""
    inspector = sa.inspect(connection)
    for table in METADATA.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:  # names and types are kume's own constants
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def write_sql(sink: SqlSink, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict) -> None:
    """Upsert the run's selection and reference-year indicators and make it current, in one
    transaction with bound parameters; retry connection failures with backoff."""
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
    delay = sink.backoff_seconds
    for attempt in range(1, sink.attempts + 1):
        engine = sa.create_engine(sink.url, pool_pre_ping=True)
        try:
            METADATA.create_all(engine)
            with engine.begin() as connection:
                add_new_columns(connection)
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
                    f"SQL publication failed after {attempt} attempts "
                    f"({error.__class__.__name__} at {safe_url(sink.url)}); nothing of run {run_id} was written "
                    "and the previous publication stays current"
                ) from None
            time.sleep(delay)
            delay *= 2
        finally:
            engine.dispose()


def safe_url(url: str) -> str:
    """A database URL as it may appear in logs and manifests: without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def sql_current_run(sink: SqlSink) -> str | None:
    engine = sa.create_engine(sink.url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(CURRENT.name):
                return None
            return connection.execute(sa.select(CURRENT.c.run_id)).scalar()
    finally:
        engine.dispose()


def reconcile(out_dir: Path, sql: SqlSink | None) -> str | None:
    """Finish a switch that a crash interrupted: if SQL's current run has a complete snapshot
    that ``current`` does not point at yet, point it there. Returns the run switched to."""
    if sql is None:
        return None
    try:
        ahead = sql_current_run(sql)
    except sa.exc.SQLAlchemyError:
        return None  # the database is unreachable: the SQL step will retry and report it
    if ahead and ahead != current_run(out_dir) and (out_dir / "runs" / ahead / "manifest.json").exists():
        switch_current(out_dir, ahead)
        return ahead
    return None
