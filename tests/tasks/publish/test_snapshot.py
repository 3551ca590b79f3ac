"""Snapshot bookkeeping on small folders: completeness, the switch of ``current``, the
publication log and its times, and pruning that never removes the current publication."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from schemas.outputs import DATASETS
from tasks.errors import PublishError
from tasks.publish.snapshot import (
    current_run,
    parse_timestamp,
    prune,
    publication_time,
    published_runs,
    record_publication,
    snapshot_complete,
    switch_current,
    to_table,
)


def snapshot(out_dir, run_id: str, files: tuple[str, ...] = ("scores/part-0.parquet",), write=True) -> None:
    """A run folder whose manifest lists ``files`` (written unless ``write`` is False)."""
    run_dir = out_dir / "runs" / run_id
    run_dir.mkdir(parents=True)
    for name in files if write else ():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_bytes(b"x")
    manifest = {"run_id": run_id, "finished_at": "2026-01-02T03:04:05", "outputs": {"scores": {"files": list(files)}}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_snapshot_is_complete_only_with_every_file_its_manifest_lists(tmp_path):
    snapshot(tmp_path, "whole")
    snapshot(tmp_path, "partial", write=False)
    (tmp_path / "runs" / "no-manifest").mkdir()
    assert snapshot_complete(tmp_path, "whole")
    assert not snapshot_complete(tmp_path, "partial") and not snapshot_complete(tmp_path, "no-manifest")
    assert not snapshot_complete(tmp_path, "absent")


def test_current_switches_to_a_snapshot_in_place_and_the_switch_is_logged(tmp_path):
    assert current_run(tmp_path) is None
    snapshot(tmp_path, "r1")
    snapshot(tmp_path, "r2")
    switch_current(tmp_path, "r1")
    switch_current(tmp_path, "r2", outcome="rolled forward", attempt={"trigger": "manual"})
    assert current_run(tmp_path) == "r2" and (tmp_path / "current" / "manifest.json").exists()
    assert published_runs(tmp_path) == {"r1", "r2"}
    last = json.loads((tmp_path / "publications.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert (last["run_id"], last["outcome"], last["trigger"]) == ("r2", "rolled forward", "manual")
    with pytest.raises(PublishError, match="no complete snapshot"):
        switch_current(tmp_path, "never-written")
    assert current_run(tmp_path) == "r2"


def test_publication_time_is_the_latest_log_line_else_the_manifests_finish(tmp_path):
    snapshot(tmp_path, "logged")
    snapshot(tmp_path, "unlogged")
    record_publication(tmp_path, "logged", "published")
    before = datetime.now(UTC)
    record_publication(tmp_path, "logged", "already published")
    assert publication_time(tmp_path, "logged") >= before - timedelta(seconds=1)
    assert publication_time(tmp_path, "unlogged") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert publication_time(tmp_path, "absent") is None


def test_timestamps_without_a_zone_are_utc_and_unreadable_ones_none():
    assert parse_timestamp("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    aware = parse_timestamp("2026-01-02T03:04:05+03:00")
    assert aware.utcoffset() == timezone(timedelta(hours=3)).utcoffset(None)
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None


def test_pruning_keeps_the_last_published_and_the_current_and_clears_leftovers(tmp_path):
    for run_id in ("old", "middle", "recent", "never-published"):
        snapshot(tmp_path, run_id)
    (tmp_path / "runs" / ".incoming-x-1234").mkdir()  # a killed publication's leftover
    switch_current(tmp_path, "old")
    for run_id in ("middle", "recent"):  # logged after it without becoming current
        record_publication(tmp_path, run_id, "published")
    removed = prune(tmp_path, keep=1)  # the last published is "recent"; "old" is current
    assert sorted(removed) == ["middle", "never-published"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["old", "recent"]
    assert current_run(tmp_path) == "old"


def test_a_dataset_is_sorted_as_pandas_sorts_it_whether_arrow_or_pandas_sorts_it():
    """``to_table`` sorts by Arrow where the keys are numbers and text (stable, missing last, text
    by code point), as pandas' stable sort would; a key pandas holds otherwise (numbers in a text
    column) is sorted by pandas, as numbers, before the cast."""
    rows = 400
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "run_id": "r",
            "source": pd.array(rng.choice(["sgk_employment", "chamber_registry", "Çorum", "İl"], rows), dtype="str"),
            "file": pd.array(rng.choice(["b.csv", "a.csv", "ä.csv", "A.csv"], rows), dtype="str"),
            "row": rng.integers(1, 30, rows).astype("int64"),
            "column": None,
            "rule": pd.array(rng.choice(["R-2", "R-1", "R-10"], rows), dtype="str"),
            "message": pd.array([f"row {i}" for i in range(rows)], dtype="str"),  # shows stability
            "raw_value": None,
        }
    )
    keys = DATASETS["quarantine"][1]
    by_pandas = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    assert to_table(frame, "quarantine").equals(to_table(by_pandas, "quarantine"))
    assert to_table(frame, "quarantine").column("message").to_pylist() == by_pandas.message.tolist()
    numbers_as_objects = frame.head(3).assign(source="s", file=pd.Series([10, 9, 100], dtype=object))
    assert to_table(numbers_as_objects, "quarantine").column("file").to_pylist() == ["9", "10", "100"]
