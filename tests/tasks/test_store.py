"""The content-addressed store (``tasks.store``): each key changes with the inputs its table
names and with nothing else, staged files are named by content, used files are touched and old
ones pruned, the read cache keeps a file's rows, a snapshot in place is found. Then through the
flow: an unchanged run takes every task from the cache, a changed input recomputes what depends
on it, force recomputes everything, and Prefect's result storage holds small dicts of Parquet
paths, never tables."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import recorded_task_runs, run_selection

from kume.settings import PROJECT_ROOT
from schemas.parameters import SelectionParameters
from tasks import store
from tasks.sources.files import list_source_folder

WEIGHTS = {"economic_impact": 0.4, "demand": 0.2, "networking": 0.2, "factor_conditions": 0.2}
COMPUTED = {"reference_year": 2022, "outputs": {"indicators": "i.parquet", "candidates": "c.parquet"}}


@pytest.fixture
def paths(tmp_path) -> store.Paths:
    """A small data folder: one consultation file shipped, an empty inbox, a reference table,
    an expectation suite, and a SQLite agency database."""
    data = tmp_path / "data"
    for folder in ("sources/consultation", "inbox/consultation", "reference", "expectations"):
        (data / folder).mkdir(parents=True)
    (data / "sources" / "consultation" / "meetings.csv").write_text("institution;year\nTSO;2022\n", encoding="utf-8")
    (data / "reference" / "provinces.csv").write_text("plate_code,name\n55,Samsun\n", encoding="utf-8")
    (data / "expectations" / "consultation.json").write_text("{}", encoding="utf-8")
    sqlite3.connect(data / "agency.sqlite").close()
    return store.Paths(
        data / "sources",
        data / "reference",
        data / "expectations",
        tmp_path / "out" / "work",
        f"sqlite:///{data / 'agency.sqlite'}",
        inbox_dir=data / "inbox",
        cache_dir=tmp_path / "out" / "ingested",
    )


def ingest_key(paths: store.Paths, source: str = "consultation") -> str | None:
    return store.ingest_key(source, paths, list_source_folder)


def test_the_ingest_key_follows_the_files_read_and_the_entries_not_read(paths):
    key = ingest_key(paths)
    assert key == ingest_key(paths)  # nothing changed: the same key
    shipped = paths.sources_dir / "consultation" / "meetings.csv"

    (paths.inbox_dir / "consultation" / ".gitkeep").touch()  # an empty folder's placeholder: not an input
    assert ingest_key(paths) == key

    os.utime(shipped, (1, 1))  # touched, same content: the same key
    assert ingest_key(paths) == key

    shipped.write_text("institution;year\nTSO;2023\n", encoding="utf-8")
    changed = ingest_key(paths)
    assert changed != key

    shipped.rename(shipped.with_name("toplantilar.csv"))  # the same content under another name
    renamed = ingest_key(paths)
    assert renamed not in {key, changed}

    (paths.inbox_dir / "consultation" / "old.xls").write_bytes(b"x")  # not read, but listed: part of the key
    assert ingest_key(paths) not in {key, changed, renamed}
    assert ingest_key(paths, "sgk_employment") != ingest_key(paths)  # the source is part of it


def test_the_agency_database_is_keyed_by_its_file_or_read_every_run(paths):
    key = ingest_key(paths, "agency_db")
    assert key and key == ingest_key(paths, "agency_db")
    with sqlite3.connect(paths.agency_db_url.removeprefix("sqlite:///")) as db:
        db.execute("create table projects (id integer)")
    assert ingest_key(paths, "agency_db") != key
    server = replace(paths, agency_db_url="postgresql://agency@db/agency")
    assert ingest_key(server, "agency_db") is None  # no key: never taken from the cache


def test_a_setup_change_changes_every_key(paths):
    parameters = SelectionParameters()
    before = (
        ingest_key(paths),
        store.validate_key("consultation", {"outputs": {"accepted": "a.parquet"}}, paths),
        store.indicators_key(paths, {"consultation": "a.parquet"}, parameters),
        store.relatedness_key(paths, COMPUTED, parameters),
        store.score_key(paths, "c.parquet", [55], parameters),
    )
    (paths.reference_dir / "provinces.csv").write_text("plate_code,name\n55,SAMSUN\n", encoding="utf-8")
    after_reference = (
        ingest_key(paths),
        store.validate_key("consultation", {"outputs": {"accepted": "a.parquet"}}, paths),
        store.indicators_key(paths, {"consultation": "a.parquet"}, parameters),
        store.relatedness_key(paths, COMPUTED, parameters),
        store.score_key(paths, "c.parquet", [55], parameters),
    )
    assert set(before).isdisjoint(after_reference)
    (paths.expectations_dir / "consultation.json").write_text('{"expectations": []}', encoding="utf-8")
    assert ingest_key(paths) not in {before[0], after_reference[0]}


def test_the_validate_key_follows_the_ingest_result(paths):
    ingested = {"source": "consultation", "outputs": {"normalized": "consultation.normalized-ab.parquet"}}
    key = store.validate_key("consultation", ingested, paths)
    assert key == store.validate_key("consultation", dict(ingested), paths)
    other_rows = {**ingested, "outputs": {"normalized": "consultation.normalized-cd.parquet"}}
    assert store.validate_key("consultation", other_rows, paths) != key
    assert store.validate_key("consultation", {**ingested, "errors": ["x.csv: no header row"]}, paths) != key


def test_the_indicators_do_not_depend_on_the_weights_the_scores_do(paths):
    accepted = {"sgk_employment": "sgk-ab.parquet"}
    base, reweighted = SelectionParameters(), SelectionParameters(weights=WEIGHTS)
    key = store.indicators_key(paths, accepted, base)
    assert store.indicators_key(paths, accepted, reweighted) == key
    assert store.indicators_key(paths, accepted, SelectionParameters(report_language="en")) == key
    assert store.indicators_key(paths, accepted, SelectionParameters(reference_year=2021)) != key
    assert store.indicators_key(paths, accepted, SelectionParameters(growth_spans=[3])) != key
    assert store.indicators_key(paths, {"sgk_employment": "sgk-cd.parquet"}, base) != key

    score = store.score_key(paths, "candidates-ab.parquet", [55, 61], base)
    assert store.score_key(paths, "candidates-ab.parquet", [61, 55], base) == score
    assert store.score_key(paths, "candidates-ab.parquet", [55, 61], SelectionParameters(report_language="en")) == score
    assert store.score_key(paths, "candidates-ab.parquet", [55, 61], reweighted) != score
    assert store.score_key(paths, "candidates-ab.parquet", [55], base) != score
    assert store.score_key(paths, "candidates-cd.parquet", [55, 61], base) != score


def test_relatedness_follows_its_inputs_and_parameters_not_the_weights(paths):
    computed = {
        "reference_year": 2022,
        "outputs": {"indicators": "indicators-ab.parquet", "candidates": "c-ab.parquet"},
    }
    base = SelectionParameters()
    key = store.relatedness_key(paths, computed, base)
    unrelated = [
        {"weights": WEIGHTS},
        {"report_language": "en"},
        {"gates": {"min_firms": 3}},
        {"top_n": 10},
        {"growth_spans": [3]},  # reaches relatedness through the indicators' path only
    ]
    for change in unrelated:
        assert store.relatedness_key(paths, computed, SelectionParameters(**change)) == key, change
    related = [
        {"relatedness": {"window": 5}},
        {"relatedness": {"min_employment": 20}},
        {"relatedness": {"leave_one_out": True}},
        {"universe": ["28.93", "30.11"]},
    ]
    for change in related:
        assert store.relatedness_key(paths, computed, SelectionParameters(**change)) != key, change
    for name in ("indicators", "candidates"):
        moved = {**computed, "outputs": {**computed["outputs"], name: f"{name}-cd.parquet"}}
        assert store.relatedness_key(paths, moved, base) != key, name
    assert store.relatedness_key(paths, {**computed, "reference_year": 2021}, base) != key


def test_the_history_s_candidates_do_not_depend_on_what_scoring_alone_reads_its_scores_do(paths):
    accepted = {"sgk_employment": "sgk-ab.parquet"}
    base = SelectionParameters()
    key = store.history_candidates_key(paths, accepted, COMPUTED, base)
    scoring = [{"weights": WEIGHTS}, {"gates": {"min_firms": 3}}, {"robustness": {"draws": 2000}}, {"top_n": 10}]
    for change in [*scoring, {"report_language": "en"}]:
        assert store.history_candidates_key(paths, accepted, COMPUTED, SelectionParameters(**change)) == key, change
    building = [
        {"relatedness": {"window": 5}},
        {"universe": ["28.93"]},
        {"growth_spans": [3]},
        {"candidates": "cluster"},
    ]
    for change in building:
        assert store.history_candidates_key(paths, accepted, COMPUTED, SelectionParameters(**change)) != key, change
    assert store.history_candidates_key(paths, {"sgk_employment": "sgk-cd.parquet"}, COMPUTED, base) != key
    assert store.history_candidates_key(paths, accepted, {**COMPUTED, "reference_year": 2021}, base) != key

    listed = {"history_candidates": "history_candidates-ab.parquet"}
    history = store.history_key("history", paths, listed, COMPUTED, base, [55, 61])
    assert store.history_key("history", paths, listed, COMPUTED, base, [61, 55]) == history
    for change in scoring[:3]:
        assert store.history_key("history", paths, listed, COMPUTED, SelectionParameters(**change), [55, 61]) != history
    assert store.history_key("history", paths, listed, COMPUTED, base, [55]) != history
    moved = {"history_candidates": "history_candidates-cd.parquet"}
    assert store.history_key("history", paths, moved, COMPUTED, base, [55, 61]) != history


def test_staged_tables_are_named_by_their_content(paths):
    frame = pd.DataFrame({"plate_code": [55, 61], "value": [1.5, 2.0]})
    first = store.stage(frame, paths, "candidates")
    assert Path(first).name.startswith("candidates-") and Path(first).suffix == ".parquet"
    assert store.stage(frame.copy(), paths, "candidates") == first  # the same rows, the same path
    assert store.stage(frame.assign(value=[1.5, 2.5]), paths, "candidates") != first
    assert sorted(p.name for p in paths.work_dir.iterdir() if p.name.startswith(".")) == []  # no half-written file
    pd.testing.assert_frame_equal(pd.read_parquet(first), frame)


def test_tables_staged_as_arrow_files_are_named_by_their_content_and_read_back(paths):
    """What one stage writes for the next to read whole goes as an Arrow IPC file: named by its
    content, read back with its dtypes and metadata, a column at a time."""
    frame = pd.DataFrame(
        {"plate_code": pd.array([55, None], dtype="Int64"), "name": pd.Series(["a", "b"], dtype="str")}
    )
    first = store.stage(frame, paths, "chamber_registry.accepted", {"kume.note": "x"}, arrow=True)
    assert Path(first).suffix == ".arrow" and Path(first).name.startswith("chamber_registry.accepted-")
    assert store.stage(frame.copy(), paths, "chamber_registry.accepted", {"kume.note": "x"}, arrow=True) == first
    assert store.stage(frame.tail(1), paths, "chamber_registry.accepted", arrow=True) != first
    pd.testing.assert_frame_equal(store.read_staged(first).to_pandas(), frame)
    assert store.read_staged(first, columns=["name"]).column_names == ["name"]
    assert store.staged_schema(first).metadata[b"kume.note"] == b"x"
    pd.testing.assert_frame_equal(store.read_staged(store.stage(frame, paths, "x")).to_pandas(), frame)  # Parquet too


def test_packed_tables_are_read_as_pandas_reads_parquet(paths):
    """The national tables a stage builds for the next (``staging``) go as LZ4-compressed Arrow
    files: named by their content, and read back (``read_frame``) as ``pd.read_parquet`` reads
    the same table from Parquet, its columns and filters included."""
    frame = pd.DataFrame(
        {
            "plate_code": pd.array([55, 61, 61], dtype="Int64"),
            "sector_code": pd.Series(["30.11", "10.61", None], dtype="str"),
            "employment": [1.5, np.nan, 3.0],
            "year": [2021, 2022, 2022],
        }
    )
    packed = store.stage(frame, paths, "indicators", packed=True)
    parquet = store.stage(frame, paths, "indicators")
    assert Path(packed).suffix == ".arrow" and store.stage(frame.copy(), paths, "indicators", packed=True) == packed
    assert Path(packed).stat().st_size != Path(store.stage(frame, paths, "indicators", arrow=True)).stat().st_size
    for columns, filters in [(None, None), (["year", "plate_code"], None), (None, [("year", "==", 2022)])]:
        expected = pd.read_parquet(parquet, columns=columns, filters=filters)
        pd.testing.assert_frame_equal(store.read_frame(packed, columns, filters), expected)
        pd.testing.assert_frame_equal(store.read_frame(parquet, columns, filters), expected)
    with pytest.raises(KeyError, match="no column turnover"):
        store.read_staged(packed, columns=["year", "turnover"])
    with store.staging(paths) as staged:
        assert staged(frame, "indicators").result() == packed


def test_a_table_staged_in_parts_is_one_arrow_file_of_its_parts(paths):
    with store.StagedParts(paths, "chamber_registry.raw") as parts:
        parts.write(pa.table({"source_file": ["a.csv"], "source_row": [2], "raw__x": ["1,5"]}))
        parts.write(pa.table({"raw__x": ["7"], "source_row": [3], "source_file": ["b.csv"]}))  # any column order
    table = store.read_staged(parts.path)
    assert Path(parts.path).suffix == ".arrow" and table.num_rows == 2
    assert table.column("raw__x").to_pylist() == ["1,5", "7"] and table.column("source_file").to_pylist() == [
        "a.csv",
        "b.csv",
    ]
    with store.StagedParts(paths, "empty.raw") as nothing:
        pass
    assert nothing.path is None
    with pytest.raises(RuntimeError), store.StagedParts(paths, "cut.raw") as cut:
        cut.write(pa.table({"x": [1]}))
        raise RuntimeError("the ingest failed")
    assert sorted(p.name for p in paths.work_dir.iterdir() if p.name.startswith(".")) == []  # nothing half-written


def test_outputs_present_checks_and_touches_the_staged_files(paths):
    staged = store.stage(pd.DataFrame({"x": [1]}), paths, "scores")
    os.utime(staged, (1, 1))
    assert store.outputs_present(None)  # a province without candidates stages nothing
    assert store.outputs_present({"outputs": {"scores": staged, "quarantine": None}})
    assert Path(staged).stat().st_mtime > time.time() - 60  # used now: kept by the pruning
    assert not store.outputs_present({"outputs": {"scores": staged, "gone": str(paths.work_dir / "gone.parquet")}})
    Path(staged).unlink()
    assert not store.outputs_present(staged)


def test_pruning_removes_the_staged_files_unused_for_the_retention(paths):
    assert store.prune_work(paths.work_dir, 14) == 0  # no work folder yet
    old = Path(store.stage(pd.DataFrame({"x": [1]}), paths, "old"))
    old_arrow = Path(store.stage(pd.DataFrame({"x": [1]}), paths, "old", arrow=True))
    recent = Path(store.stage(pd.DataFrame({"x": [2]}), paths, "recent"))
    fifteen_days_ago = time.time() - 15 * 86400
    for file in (old, old_arrow):
        os.utime(file, (fifteen_days_ago, fifteen_days_ago))
    notes = [paths.work_dir / folder / name for folder in ("validated", "published") for name in ("old", "recent")]
    for note in notes:
        note.parent.mkdir(exist_ok=True)
        note.touch()
        if note.name == "old":  # about a staged file no run has validated or published since
            os.utime(note, (fifteen_days_ago, fifteen_days_ago))
    assert store.prune_work(paths.work_dir, 14) == 4
    assert not old.exists() and not old_arrow.exists() and recent.exists()
    assert [note.exists() for note in notes] == [False, True, False, True]


def test_a_folder_s_files_are_hashed_two_at_a_time_as_one_by_one(tmp_path):
    files = []
    for number in range(5):
        files.append(tmp_path / f"{number}.csv")
        files[-1].write_bytes(bytes([number]) * (number + 1) * 300_000)
    hashes = store.file_hashes(files)
    assert hashes == [hashlib.sha256(file.read_bytes()).hexdigest() for file in files]
    assert store.file_hashes(files[:1]) == hashes[:1] and store.file_hashes([]) == []


def test_file_hashes_follow_a_rewrite_of_the_same_size(tmp_path):
    file = tmp_path / "a.csv"
    file.write_bytes(b"one")
    first = store.file_sha256(file)
    file.write_bytes(b"two")
    os.utime(file, ns=(file.stat().st_atime_ns, file.stat().st_mtime_ns + 1_000_000))
    assert store.file_sha256(file) != first


def test_file_hashes_kept_by_a_run_serve_the_next_until_the_file_changes(tmp_path, monkeypatch):
    """A nightly run hashes no input an earlier run hashed, unless the file changed since: a
    rewrite with its size and modification time put back still has a new change time."""
    file, work = tmp_path / "uyeler.csv", tmp_path / "work"
    file.write_bytes(b"one")
    first = store.file_sha256(file)
    store.save_file_hashes(work)
    monkeypatch.setattr(store, "_known_hashes", {})  # the next run, in another process
    store._sha256_of.cache_clear()
    monkeypatch.setattr(store, "_sha256_of", lambda *_: pytest.fail("hashed again"))
    store.keep_file_hashes(work)
    assert store.file_sha256(file) == first
    before = file.stat()
    time.sleep(0.01)
    file.write_bytes(b"two")  # the same size, and the old modification time put back
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.undo()
    assert store.file_sha256(file) != first
    (work / store.FILE_HASHES).write_text("not json")
    store.keep_file_hashes(work)  # an unreadable memo is no memo


def test_the_read_caches_of_earlier_readers_go_once_unused_for_the_retention(paths):
    assert store.prune_read_cache(paths, 14) == 0  # no cache yet
    current = store.read_cache_dir(paths)
    earlier, recent = paths.cache_dir / "0123456789abcdef", paths.cache_dir / "fedcba9876543210"
    for reader in (current, earlier, recent):
        (reader / "consultation" / "ab12").mkdir(parents=True)
    fifteen_days_ago = time.time() - 15 * 86400
    for folder in (current, current / "consultation", earlier, earlier / "consultation"):
        os.utime(folder, (fifteen_days_ago, fifteen_days_ago))
    assert store.prune_read_cache(paths, 14) == 1
    assert current.exists() and recent.exists() and not earlier.exists()  # the current reader's is kept


def test_the_read_cache_keeps_a_files_rows_under_its_reader(paths):
    folder = store.read_cache_dir(paths)
    assert folder == paths.cache_dir / store.reader_fingerprint(paths.reference_dir)
    assert store.read_cache_dir(replace(paths, cache_dir=None)) is None

    assert store.read_key("consultation", "ab12", "meetings.csv") == "ab12"
    registry = store.read_key("chamber_registry", "ab12", "Samsun/uyeler.csv")
    assert registry.startswith("ab12-") and registry != store.read_key("chamber_registry", "ab12", "Ordu/uyeler.csv")

    rows, rejected = pa.Table.from_pandas(pd.DataFrame({"institution": ["TSO"]})), pd.DataFrame({"row": [3]})
    info = {"sha256": "ab12", "rows_in": 2, "read": "parsed"}
    assert store.cached_read(folder, "consultation", "ab12") is None  # a miss
    store.save_read(folder, "consultation", "ab12", rows, rejected, info)
    hit_rows, hit_rejected, hit_info = store.cached_read(folder, "consultation", "ab12")
    assert hit_rows.equals(rows)
    pd.testing.assert_frame_equal(hit_rejected, rejected)
    assert hit_info == {**info, "read": "cached"}
    assert store.cached_read(folder, "consultation", "cd34") is None  # another content
    assert store.cached_read(folder, "exports_by_sector", "ab12") is None  # another source

    (folder / "consultation" / "ab12" / "info.json").unlink()  # a save cut short: written last, so a miss
    assert store.cached_read(folder, "consultation", "ab12") is None
    store.save_read(None, "consultation", "ef56", rows, rejected, info)  # a run without cache keeps nothing
    assert store.cached_read(None, "consultation", "ab12") is None


def test_a_snapshot_is_in_place_once_its_manifest_is(tmp_path):
    assert not store.snapshot_in_place(tmp_path, "ab12")
    (tmp_path / "runs" / "ab12").mkdir(parents=True)  # left half-way by a killed process
    assert not store.snapshot_in_place(tmp_path, "ab12")
    (tmp_path / "runs" / "ab12" / "manifest.json").write_text("{}", encoding="utf-8")
    assert store.snapshot_in_place(tmp_path, "ab12")
    assert not store.snapshot_in_place(tmp_path, "cd34")


CACHED_STAGES = ("ingest-", "validate-", "indicators", "relatedness", "score-", "history", "assemble")


def task_states(manifest: dict) -> dict[str, str]:
    """Task run name -> state name (Completed, Cached, ...) of a run's flow run."""
    runs = recorded_task_runs(manifest["flow_run_id"])
    return {run.name: run.state.name for run in runs if run.name.startswith(CACHED_STAGES)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("caching")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    return root


def test_unchanged_changed_and_forced_runs(workspace):
    data, out = workspace / "data", workspace / "out"
    first = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    assert set(task_states(first).values()) == {"Completed"}

    again = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    states = task_states(again)
    assert len(states) == 2 * 8 + 1 + 1 + 1 + 2 + 1 and set(states.values()) == {"Cached"}, states
    # the assembly too, though the first run had no publication to carry over from and this one
    # has (the first's): it carries nothing over, so it names the publication it replaces only
    assert again["run_id"] == first["run_id"] and again["previous_publication"] == first["run_id"]
    assert first["previous_publication"] is None and again["flow_run_id"] != first["flow_run_id"]

    # other weights: only the scores are computed again (one task scores the run's provinces), and
    # the selection history's, from its candidates (built before, for the weights of the first run)
    reweighted = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"], weights=WEIGHTS))
    assert {name for name, state in reweighted.items() if state != "Cached"} == {
        "score-samsun-trabzon-2022",
        "history",
        "assemble",
    }
    assert reweighted["history-candidates"] == "Cached"

    # a changed consultation record: that source is read and validated again, nothing else upstream
    consultation = next((data / "sources" / "consultation").iterdir())
    consultation.write_bytes(consultation.read_bytes() + b"\n")
    changed = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"]))
    assert changed["ingest-consultation"] == "Completed" and changed["ingest-sgk_employment"] == "Cached"

    # staged files removed behind the cache's back are computed again, not read as missing
    for staged in (out / "work").glob("candidates-*.parquet"):
        staged.unlink()
    rebuilt = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    assert rebuilt["run_id"] == run_selection(out, data, provinces=["Samsun", "Trabzon"])["run_id"]

    forced = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"], force=True))
    assert set(forced.values()) == {"Completed"}


def test_prefect_result_storage_holds_paths_not_tables(workspace):
    storage = Path(os.environ["PREFECT_HOME"]) / "storage"
    sizes = [path.stat().st_size for path in storage.rglob("*") if path.is_file()]
    assert sizes, "no persisted task results"
    assert max(sizes) < 200_000  # the largest is a source's per-file quality summary


def test_a_read_cache_entry_writes_a_column_that_is_another_once(tmp_path):
    """A raw text column kept as it was (the same Arrow buffers as the value column) is written
    once and read back as the same values, in the same place, with the same pandas types."""
    name = pd.Series(["Acme", "Beta"], dtype="str")
    rows = pa.Table.from_pandas(
        pd.DataFrame({"firm_name": name, "employees": [3.0, None], "raw__firm_name": name}), preserve_index=False
    )
    assert rows["raw__firm_name"].chunks[0].buffers()[2].address == rows["firm_name"].chunks[0].buffers()[2].address
    store.write_read(tmp_path / "entry", rows, pd.DataFrame({"row": [3]}), {"rows_in": 2})
    assert store.staged_schema(tmp_path / "entry" / "rows.arrow").names == ["firm_name", "employees"]
    loaded, _, info = store.load_read(tmp_path / "entry")
    assert loaded.column_names == rows.column_names and info == {"rows_in": 2}
    pd.testing.assert_frame_equal(loaded.to_pandas(), rows.to_pandas())


def test_a_staged_view_reads_its_parts_rows_as_one_table_and_needs_them(tmp_path):
    """A view is read as the table of its parts: each part's rows but those it leaves out, named
    after their file where the part says so, as the view's schema types them; it is present
    only while its parts are."""
    paths = store.Paths(tmp_path, tmp_path, tmp_path, tmp_path / "work", "")
    name = pd.Series(["a.csv"] * 3, dtype="str")
    entries = []
    for number, values in enumerate(([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])):
        rows = pd.DataFrame({"source_file": name, "source_row": [2, 3, 4], "value": values, "raw__value": name})
        store.write_read(tmp_path / f"entry{number}", pa.Table.from_pandas(rows), pd.DataFrame(), {})
        entries.append(str(tmp_path / f"entry{number}" / "rows.arrow"))
    schema = pa.schema([("source_file", pa.large_string()), ("source_row", pa.int64()), ("value", pa.float64())])
    parts = [store.ViewPart(entries[0], (1,)), store.ViewPart(entries[1], (), "Samsun/a.csv")]
    view = store.stage(store.View(parts, schema), paths, "demo.normalized", {"kume.note": "kept"})
    assert view.endswith(".parts") and store.staged_schema(view).metadata == {b"kume.note": b"kept"}
    table = store.read_staged(view)
    assert table.schema.equals(schema) and table.schema.metadata == {b"kume.note": b"kept"}
    assert table.to_pydict() == {
        "source_file": ["a.csv", "a.csv", "Samsun/a.csv", "Samsun/a.csv", "Samsun/a.csv"],
        "source_row": [2, 4, 2, 3, 4],
        "value": [1.0, 3.0, 4.0, 5.0, 6.0],
    }
    assert store.read_staged(view, columns=["value"]).column_names == ["value"]
    assert store.outputs_present({"outputs": {"normalized": view}})
    Path(entries[1]).unlink()
    assert not store.outputs_present({"outputs": {"normalized": view}})  # a part gone: computed again


def test_a_view_s_rows_are_found_in_their_parts_and_in_another_view_of_them(tmp_path):
    """``locate`` gives each row of a view its part and its row in the part's file (the rows
    left out counted); ``positions`` gives those rows' places in a view of the same parts that
    leaves out fewer, and refuses a row that view leaves out."""
    entries = []
    for number, length in enumerate((4, 3)):
        rows = pd.DataFrame({"source_row": np.arange(length) + 10 * number, "value": np.arange(length) * 1.5})
        store.write_read(tmp_path / f"entry{number}", pa.Table.from_pandas(rows), pd.DataFrame(), {})
        entries.append(str(tmp_path / f"entry{number}" / "rows.arrow"))
    schema = pa.schema([("source_row", pa.int64()), ("value", pa.float64())])
    narrow = store.View([store.ViewPart(entries[0], (0, 2)), store.ViewPart(entries[1], (1,))], schema)
    wide = store.View([store.ViewPart(entries[0], (2,)), store.ViewPart(entries[1])], schema)
    lengths = narrow.lengths()
    assert lengths.tolist() == [4, 3]
    located, rows = narrow.locate(np.array([3, 0, 2, 1]), lengths)  # narrow's rows: 1, 3 | 10, 12
    assert located.tolist() == [1, 0, 1, 0] and rows.tolist() == [2, 1, 0, 3]
    at = wide.positions(located, rows, lengths)  # wide's rows: 0, 1, 3 | 10, 11, 12
    assert at.tolist() == [5, 1, 3, 2]
    assert wide.read().column("source_row").take(pa.array(at)).to_pylist() == [12, 1, 10, 3]
    assert narrow.read().column("source_row").to_pylist() == [1, 3, 10, 12]
    with pytest.raises(IndexError):
        narrow.locate(np.array([4]), lengths)
    with pytest.raises(IndexError):
        wide.positions(np.array([0]), np.array([2]), lengths)  # a row wide leaves out
