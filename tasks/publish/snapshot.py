"""A run's snapshot on disk: deterministic Parquet datasets, the manifest, the ``current`` link
and the log of publications (``publications.jsonl``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from schemas.outputs import DATASETS, PARTITIONS, SCHEMA_VERSION
from tasks import versions
from tasks.errors import PublishError
from tasks.store import code_fingerprint, fingerprint, snapshot_in_place

FAULT_POINT_VARIABLE = "KUME_FAULT_POINT"  # tests: the process kills itself at this checkpoint


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
    """Cast to the dataset's contract schema, in its defined row order: sorted by Arrow once
    cast where its order is pandas' (numbers as numbers, text as text; both stable, missing
    last), else by pandas before."""
    schema, keys = DATASETS[name]
    by_arrow = all(_sorts_alike(frame[key], schema.field(key).type) for key in keys)
    if len(frame) and not by_arrow:
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    columns = {}
    for field in schema:
        values = frame[field.name] if field.name in frame else pd.Series([None] * len(frame), dtype="object")
        columns[field.name] = _arrow_column(values, field.type)
    metadata = {b"kume.dataset": name.encode(), b"kume.schema_version": SCHEMA_VERSION.encode()}
    table = pa.Table.from_pydict(columns, schema=schema).replace_schema_metadata(metadata)
    if len(frame) and by_arrow:
        order = pc.sort_indices(table, sort_keys=[(key, "ascending") for key in keys])  # nulls last
        if not np.array_equal(order.to_numpy(), np.arange(len(order))):  # staged in order: not copied again
            table = table.take(order)
    return table


def _sorts_alike(values: pd.Series, arrow_type: pa.DataType) -> bool:
    """Whether ``values`` cast to ``arrow_type`` (``_arrow_column``) sort as pandas sorts them:
    numbers cast to numbers, text to text (compared by code point, as UTF-8 bytes are)."""
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return isinstance(values.dtype, pd.StringDtype)
    return False


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
    return _text_column(values, arrow_type)


def _text_column(values: pd.Series, arrow_type: pa.DataType) -> pa.Array:
    """Each value as text (``str``), missing values null. Text already (a string dtype, or
    objects that are all strings or missing) is handed to Arrow whole: value by value, millions
    of rows took seconds."""
    if isinstance(values.dtype, pd.StringDtype):
        text = pa.array(values)  # an array, or a chunked one (as read in row groups)
        return (text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text).cast(arrow_type)
    objects = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(objects, skipna=True) in ("string", "empty"):
        return pa.array(objects, type=arrow_type, from_pandas=True)
    return pa.array([None if pd.isna(v) else str(v) for v in objects], type=arrow_type)


def hive_partitioning(name: str) -> pads.Partitioning | None:
    """The dataset's Hive partitioning, typed as in its contract (None when unpartitioned)."""
    partition = PARTITIONS.get(name, [])
    schema = DATASETS[name][0]
    return pads.partitioning(pa.schema([schema.field(c) for c in partition]), flavor="hive") if partition else None


def write_dataset(table: pa.Table, folder: Path, name: str) -> list[Path]:
    """One dataset as a folder of zstd Parquet files, Hive-partitioned where it helps readers.
    An empty dataset (a backtest never run) is one file without rows, so readers find its schema."""
    if table.num_rows == 0:
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        return [folder / "part-0.parquet"]
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


def write_snapshot(
    out_dir: Path,
    run_id: str,
    datasets: dict[str, pd.DataFrame | None],
    manifest: dict,
    reports: dict[str, str],
    copies: dict[str, PublishedCopy] | None = None,
) -> Path:
    """Every dataset, the reports and the manifest, written beside the published runs and
    renamed into place. A snapshot already in place (the same run id: the same inputs,
    parameters, code and packages, so the same data files) is never rewritten, not even its
    manifest: it may be the current publication. A rerun's attempt is recorded in
    ``publications.jsonl`` once it has published (``publish``). A dataset of ``copies`` has
    its files copied from that folder of another snapshot, which published the same rows
    (``published_copies``), rather than written again; it need not be read (None)."""
    copies = copies or {}
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    target = safe_path(runs, run_id)
    if snapshot_in_place(out_dir, run_id):
        return target
    incoming = runs / f".incoming-{run_id}-{uuid.uuid4().hex[:8]}"
    incoming.mkdir()
    try:
        checkpoint("incoming-created")

        def written(name: str) -> dict:
            frame = datasets[name]
            files = _copy_dataset(copies[name].folder, incoming / name) if name in copies else None
            if files is None and frame is None:
                raise PublishError(f"{name}: {copies[name].folder} was removed while it was copied; run again")
            if files is None:
                files = write_dataset(to_table(frame, name), incoming / name, name)
            checkpoint(f"written-{name}")
            return {
                "rows": copies[name].rows if frame is None else len(frame),
                "files": {str(p.relative_to(incoming)): file_digest(p) for p in files},
            }

        # datasets written two at a time, the largest first: Arrow writes without the GIL
        largest_first = sorted(datasets, key=lambda name: -_rows(datasets[name]))
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            done = dict(zip(largest_first, pool.map(written, largest_first), strict=True))
        outputs = {name: done[name] for name in datasets}
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


WRITERS = 2  # threads writing a snapshot's datasets


def _rows(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def _copy_dataset(source: Path, folder: Path) -> list[Path] | None:
    """The files of ``source`` copied to ``folder``; None when ``source`` went meanwhile (pruned)."""
    try:
        shutil.copytree(source, folder, copy_function=shutil.copyfile)
    except (FileNotFoundError, shutil.Error):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return sorted(folder.rglob("*.parquet"))


class PublishedCopy(NamedTuple):
    """A dataset's folder in a snapshot in place, and its rows (as that snapshot's manifest says)."""

    folder: Path
    rows: int


def published_copies(work_dir: Path, staged: dict[str, str]) -> dict[str, PublishedCopy]:
    """Dataset -> its folder in a snapshot in place whose files were written from the same staged
    file (named by its content) by the same code and packages (``remember_published``): the same
    bytes, to copy rather than write again (a one-province rerun publishes the national datasets
    of the run before it)."""
    copies = {}
    for name, path in staged.items():
        memo = _published_memo(work_dir, name, path)
        if not memo.exists():
            continue
        folder = Path(memo.read_text(encoding="utf-8"))
        if folder.is_dir() and snapshot_complete(folder.parent.parent.parent, folder.parent.name):
            outputs = json.loads((folder.parent / "manifest.json").read_text(encoding="utf-8"))["outputs"]
            copies[name] = PublishedCopy(folder, outputs[name]["rows"])
    return copies


def remember_published(work_dir: Path, staged: dict[str, str], snapshot: Path) -> None:
    """Record which staged file each dataset of ``snapshot`` was written from (``published_copies``)."""
    for name, path in staged.items():
        memo = _published_memo(work_dir, name, path)
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(str(snapshot.resolve() / name), encoding="utf-8")


def _published_memo(work_dir: Path, name: str, staged: str) -> Path:
    return work_dir / "published" / fingerprint(name, Path(staged).name, SCHEMA_VERSION, code_fingerprint())


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
    if not snapshot_in_place(out_dir, run_id):
        raise PublishError(f"run {run_id} has no complete snapshot to switch to")
    link = out_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(Path("runs") / run_id, link)
    os.replace(link, out_dir / "current")
    record_publication(out_dir, run_id, outcome, attempt)


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
    return parse_timestamp(times[-1])


def parse_timestamp(text: object) -> datetime | None:
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
