"""Publication: each run's datasets as Parquet under ``<out>/runs/<run_id>/`` with its
manifest, then the ``<out>/current`` link switched to it in one atomic rename.

Data files are deterministic: explicit schemas, a fixed row order, zstd, no timestamps or
random ids inside (the run id is a hash of the inputs, code version and parameters), so the
same inputs and parameters give byte-identical files. Timestamps live in the manifest only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.outputs import DATASETS, SCHEMA_VERSION


def code_version(project_root: Path) -> str:
    """The git commit of the code (with ``-dirty`` for uncommitted changes), else the version."""
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


def run_identity(input_hashes: dict[str, str], parameters: dict, code: str) -> str:
    """A run id that is a function of what decides the result: inputs, parameters, code."""
    canonical = json.dumps({"inputs": input_hashes, "parameters": parameters, "code": code}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(out_dir: Path, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict) -> Path:
    """Write every dataset and the manifest into a fresh folder, move it into place as
    ``runs/<run_id>``, then repoint ``current`` atomically. Returns the run folder."""
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f".incoming-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    outputs = {}
    for name, frame in datasets.items():
        path = staging / f"{name}.parquet"
        write_parquet(to_table(frame, name), path)
        outputs[name] = {"file": path.name, "rows": len(frame), "sha256": file_digest(path)}
    manifest = {**manifest, "run_id": run_id, "schema_version": SCHEMA_VERSION, "outputs": outputs}
    (staging / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    target = runs / run_id
    if target.exists():  # a rerun of identical inputs: replace the old copy
        retired = runs / f".retired-{run_id}-{uuid.uuid4().hex[:8]}"
        os.rename(target, retired)
        os.rename(staging, target)
        shutil.rmtree(retired)
    else:
        os.rename(staging, target)
    link = out_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(Path("runs") / run_id, link)
    os.replace(link, out_dir / "current")
    return target
