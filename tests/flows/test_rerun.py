"""An operator's rerun of some provinces never hides the others: the publication stays complete,
the rerun's provinces are recomputed with its parameters and every other province's rows, pages
and SQL rows are carried over unchanged, each row naming the run and the parameters behind it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import run_selection

from schemas.outputs import DATASETS
from tasks import stages
from tasks.errors import SqlSchemaError
from tasks.publish.snapshot import read_dataset, switch_current
from tasks.publish.sql import SqlSink, migrate_sql, write_sql

SAMSUN = 55
PER_PROVINCE = ("selection", "scores", "consultation")
WEIGHTS = {"economic_impact": 0.4, "demand": 0.3, "networking": 0.2, "factor_conditions": 0.1}


def manifest_of(run_dir) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def datasets_of(run_dir) -> dict[str, pd.DataFrame]:
    return {name: read_dataset(run_dir / name, name) for name in DATASETS}


@pytest.fixture(scope="module")
def rerun(published_run, tmp_path_factory) -> dict:
    """The nightly publication (all 81 provinces, default parameters), copied, then an
    operator's rerun of Samsun with other weights published into the same output root."""
    out = tmp_path_factory.mktemp("rerun") / "out"
    shutil.copytree(published_run["out_dir"], out, symlinks=True, ignore=shutil.ignore_patterns("work", "ingested"))
    nightly = manifest_of(out / "current")
    before = datasets_of(out / "current")
    pages_before = {p.name: p.read_bytes() for p in (out / "current" / "reports").glob("*.html")}
    manifest = run_selection(out, provinces=["Samsun"], weights=WEIGHTS, reason="test: Samsun with other weights")
    return {
        "out": out,
        "nightly": nightly,
        "before": before,
        "pages_before": pages_before,
        "manifest": manifest,
        "after": datasets_of(out / "current"),
    }


def test_the_rerun_is_published_and_covers_every_province_of_the_previous_publication(rerun):
    nightly, manifest, before, after = rerun["nightly"], rerun["manifest"], rerun["before"], rerun["after"]
    assert manifest["run_id"] != nightly["run_id"]
    assert manifest_of(rerun["out"] / "current")["run_id"] == manifest["run_id"]
    assert manifest["parameters"]["provinces"] == [SAMSUN]
    for name in (*PER_PROVINCE, "indicators", "growth"):
        assert set(after[name].plate_code) == set(before[name].plate_code), name
        assert len(after[name]) == len(before[name]), name
    assert after["selection"].plate_code.nunique() == 81
    assert after["selection"].selected.sum() == before["selection"].selected.sum() == 81
    quality = ["source", "file"]
    assert after["quality"][quality].equals(before["quality"][quality])  # the same files read, per file
    assert (after["quality"].run_id == manifest["run_id"]).all()
    assert {p.name for p in (rerun["out"] / "current" / "reports").glob("*.html")} == set(rerun["pages_before"])


def test_only_samsun_changed_and_every_row_names_its_run_and_parameters(rerun):
    nightly, manifest, before, after = rerun["nightly"], rerun["manifest"], rerun["before"], rerun["after"]
    run, origin = manifest["run_id"], nightly["run_id"]
    assert manifest["parameters_id"] != nightly["parameters_id"]
    for name in PER_PROVINCE:
        keys = DATASETS[name][1]
        new, old = after[name], before[name]
        assert (new.run_id == run).all(), name  # every row of a publication has its run id
        samsun, others = new[new.plate_code == SAMSUN], new[new.plate_code != SAMSUN]
        assert (samsun.computed_in_run == run).all() and (samsun.parameters_id == manifest["parameters_id"]).all()
        assert (others.computed_in_run == origin).all() and (others.parameters_id == nightly["parameters_id"]).all()
        if name != "consultation":
            assert samsun.carried_over_from.isna().all() and (others.carried_over_from == origin).all(), name
        ignored = ["run_id", "carried_over_from"]
        kept = others.drop(columns=ignored, errors="ignore").sort_values(keys).reset_index(drop=True)
        previous = old[old.plate_code != SAMSUN].drop(columns=ignored, errors="ignore")
        pd.testing.assert_frame_equal(kept, previous.sort_values(keys).reset_index(drop=True), obj=name)
    samsun_before = before["scores"][before["scores"].plate_code == SAMSUN].set_index("sector_code")
    samsun_after = after["scores"][after["scores"].plate_code == SAMSUN].set_index("sector_code")
    assert not samsun_after.total_score.equals(samsun_before.total_score.reindex(samsun_after.index))


def test_the_manifest_lists_the_run_and_parameters_behind_each_province(rerun):
    nightly, manifest = rerun["nightly"], rerun["manifest"]
    provinces = manifest["provinces"]
    assert len(provinces) == 81
    assert provinces[str(SAMSUN)] == {
        "province": "Samsun",
        "computed_in_run": manifest["run_id"],
        "parameters_id": manifest["parameters_id"],
        "carried_over": False,
        "reason": None,
    }
    others = [origin for plate, origin in provinces.items() if plate != str(SAMSUN)]
    assert {(o["computed_in_run"], o["parameters_id"], o["carried_over"]) for o in others} == {
        (nightly["run_id"], nightly["parameters_id"], True)
    }
    assert {o["reason"] for o in others} == {"not among the run's provinces"}
    assert provinces["61"]["province"] == "Trabzon"
    sets = manifest["parameter_sets"]
    assert set(sets) == {manifest["parameters_id"], nightly["parameters_id"]}
    assert sets[manifest["parameters_id"]]["weights"] == WEIGHTS
    assert set(sets[nightly["parameters_id"]]["weights"].values()) == {0.25}
    assert manifest["carried_over_from"] == manifest["previous_publication"] == nightly["run_id"]
    assert manifest["provinces_carried_over"] == {} and manifest["status"] == "complete"
    assert manifest["trigger"]["reason"] == "test: Samsun with other weights"


def test_carried_pages_are_kept_and_the_overview_names_both_runs(rerun):
    reports = rerun["out"] / "current" / "reports"
    changed = {p.name for p in reports.glob("province-*.html") if p.read_bytes() != rerun["pages_before"][p.name]}
    assert changed == {"province-55-samsun.html"}
    overview = (reports / "index.html").read_text(encoding="utf-8")
    nightly, manifest = rerun["nightly"], rerun["manifest"]
    for text in (nightly["run_id"], nightly["parameters_id"], manifest["run_id"], manifest["parameters_id"]):
        assert text in overview
    assert "80 il" in overview and "1 il: Samsun" in overview
    samsun = (reports / "province-55-samsun.html").read_text(encoding="utf-8")
    assert manifest["run_id"] in samsun and "Ekonomik Etki 0.4" in samsun


def test_sql_holds_the_same_publication_as_parquet(rerun):
    run, selection = rerun["manifest"]["run_id"], rerun["after"]["selection"]
    engine = sa.create_engine(f"sqlite:///{rerun['out'] / 'kume.sqlite'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT run_id FROM kume_current")).scalar() == run
            rows = pd.read_sql(
                sa.text("SELECT * FROM kume_selection WHERE run_id = :run"), connection, params={"run": run}
            )
            indicator_provinces = connection.execute(
                sa.text("SELECT count(DISTINCT plate_code) FROM kume_indicators WHERE run_id = :run"), {"run": run}
            ).scalar()
    finally:
        engine.dispose()
    assert indicator_provinces == 81
    assert rows.groupby("plate_code").size().to_dict() == selection.groupby("plate_code").size().to_dict()
    chosen = rows[rows.selected.astype(bool)].set_index("plate_code").sort_index()
    expected = selection[selection.selected].set_index("plate_code").sort_index()
    assert chosen.sector_code.to_dict() == expected.sector_code.to_dict()
    assert chosen.computed_in_run.to_dict() == expected.computed_in_run.to_dict()
    assert chosen.parameters_id.to_dict() == expected.parameters_id.to_dict()


def test_the_artifacts_say_what_was_recomputed_and_what_was_carried_over(rerun):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    manifest, nightly = rerun["manifest"], rerun["nightly"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[manifest["flow_run_id"]]))
        )
    by_key = {artifact.key: artifact for artifact in artifacts}
    outputs = by_key["kume-outputs"].data
    assert f"Replaces the publication of run {nightly['run_id']}" in outputs
    assert f"recomputed in this run, parameters {manifest['parameters_id']}" in outputs
    assert f"carried over unchanged from run {nightly['run_id']}, parameters {nightly['parameters_id']}" in outputs
    assert "weights 0.4/0.3/0.2/0.1" in outputs and ": 80: Adana" in outputs
    rows = json.loads(by_key["kume-selection"].data)
    assert [(row["province"], row["computed"]) for row in rows] == [("Samsun", "this run")]
    assert "80 provinces carried over unchanged" in by_key["kume-selection"].description


def test_a_publication_made_while_the_rerun_computed_is_what_it_carries_over(rerun, monkeypatch):
    """The nightly publishes while an operator's Trabzon rerun computes: the rerun then carries
    the other provinces over from the nightly's publication, not from the one it started from."""
    import flows.select_clusters as selection_flow

    out, nightly, samsun_run = rerun["out"], rerun["nightly"]["run_id"], rerun["manifest"]["run_id"]
    real = selection_flow.publication_turn

    def nightly_publishes_meanwhile(*args, **kwargs):
        switch_current(out, nightly)
        return real(*args, **kwargs)

    monkeypatch.setattr(selection_flow, "publication_turn", nightly_publishes_meanwhile)
    manifest = run_selection(out, provinces=["Trabzon"], weights=WEIGHTS)
    assert manifest["previous_publication"] == manifest["carried_over_from"] == nightly
    assert manifest_of(out / "current")["run_id"] == manifest["run_id"]
    selection = read_dataset(out / "current" / "selection", "selection")
    origins = selection.drop_duplicates("plate_code").set_index("plate_code").computed_in_run
    assert origins[61] == manifest["run_id"] and origins[SAMSUN] == nightly != samsun_run
    assert set(origins.drop(61)) == {nightly} and len(origins) == 81


def test_an_old_sql_table_is_refused_until_migrated_then_takes_the_new_columns(rerun, tmp_path, ref):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # kume_selection as schema 2.0 created it
        connection.execute(
            sa.text(
                "CREATE TABLE kume_selection (run_id VARCHAR(32) NOT NULL, plate_code INTEGER NOT NULL, "
                "rank INTEGER NOT NULL, province VARCHAR(40), host VARCHAR(200), year INTEGER, "
                "sector_code VARCHAR(10), sector_name VARCHAR(200), total_score FLOAT, economic_impact FLOAT, "
                "demand FLOAT, networking FLOAT, factor_conditions FLOAT, eligible BOOLEAN, selected BOOLEAN, "
                "turnover_rank INTEGER, robustness_share FLOAT, cmp_strong BOOLEAN, eco_stars INTEGER, "
                "PRIMARY KEY (run_id, plate_code, rank))"
            )
        )
    engine.dispose()
    manifest = {"parameters": {"reference_year": 2022}, "status": "complete"}
    with pytest.raises(SqlSchemaError, match="unexpected turnover_rank; run `kume migrate-sql`"):
        write_sql(SqlSink(url, attempts=1), "run-x", rerun["after"], manifest)  # no silent ALTER any more
    assert migrate_sql(url, ref).startswith("migrated ")
    write_sql(SqlSink(url), "run-x", rerun["after"], manifest)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("kume_selection")}
        stored = connection.execute(sa.text("SELECT count(DISTINCT computed_in_run) FROM kume_selection")).scalar()
    engine.dispose()
    assert {"computed_in_run", "parameters_id", "sector_code"} <= columns and stored == 2


def test_a_publication_before_schema_3_is_carried_over_with_its_runs_and_parameters(rerun, tmp_path, ref):
    """Its rows lack computed_in_run and parameters_id: they come from the run that published
    them, or the one named by carried_over_from, with that run's parameters. Its turnover_rank
    and largest_turnover_* columns are read as size_rank and largest_sector_*."""
    nightly = rerun["nightly"]
    runs = tmp_path / "runs"
    for name in PER_PROVINCE:
        frame = rerun["before"][name].drop(columns=["computed_in_run", "parameters_id"]).assign(run_id="old")
        if "size_basis" in frame:  # schema 2 ranked by registry turnover only
            frame = frame.assign(size_rank=frame.size_rank.where(frame.size_basis == "turnover_registry"))
            frame = frame.drop(columns="size_basis")
        frame = frame.rename(columns={new: old for old, new in stages.SCHEMA_2_RENAMES.items()})
        if "carried_over_from" in frame:
            frame["carried_over_from"] = frame.carried_over_from.mask(frame.plate_code == 61, "older")
        (runs / "old" / name).mkdir(parents=True)
        frame.to_parquet(runs / "old" / name / "part-0.parquet", index=False)
    (runs / "old" / "manifest.json").write_text(json.dumps({**nightly, "run_id": "old"}), encoding="utf-8")
    older = {**nightly["parameters"], "weights": WEIGHTS}
    (runs / "older").mkdir()
    (runs / "older" / "manifest.json").write_text(json.dumps({"run_id": "older", "parameters": older}))
    (tmp_path / "current").symlink_to(Path("runs") / "old")

    manifest, frames, sets = stages.previous_publication(tmp_path / "current", ref)
    assert manifest["run_id"] == "old"
    scores = frames["scores"].drop_duplicates("plate_code").set_index("plate_code")
    assert scores.computed_in_run[61] == "older" and set(scores.computed_in_run.drop(61)) == {"old"}
    assert set(scores.parameters_id.drop(61)) == {nightly["parameters_id"]}  # the same hash as today's
    assert sets[scores.parameters_id[61]]["weights"] == WEIGHTS
    assert "turnover_rank" not in frames["selection"] and "largest_sector_code" in frames["selection"]
    assert scores.size_basis[55] == "turnover_registry" and pd.isna(scores.size_basis[6])  # Ankara: no registry
    carried = stages.carry_over(frames["selection"].iloc[:0], frames["selection"], [61, 55], "new")
    assert set(carried.run_id) == {"new"} and set(carried.carried_over_from) == {"old", "older"}


def test_the_next_nightly_run_recomputes_every_province_with_its_parameters(rerun):
    nightly = run_selection(rerun["out"])
    assert {o["computed_in_run"] for o in nightly["provinces"].values()} == {nightly["run_id"]}
    assert not any(o["carried_over"] for o in nightly["provinces"].values())
    assert nightly["parameters_id"] == rerun["nightly"]["parameters_id"] and nightly["carried_over_from"] is None
    selection = read_dataset(rerun["out"] / "current" / "selection", "selection")
    assert (selection.computed_in_run == nightly["run_id"]).all() and selection.carried_over_from.isna().all()
    assert (selection.parameters_id == nightly["parameters_id"]).all() and selection.plate_code.nunique() == 81
    if nightly["code_version"] == rerun["nightly"]["code_version"]:  # same inputs, parameters and code
        assert nightly["run_id"] == rerun["nightly"]["run_id"]
        pd.testing.assert_frame_equal(selection, rerun["before"]["selection"])
