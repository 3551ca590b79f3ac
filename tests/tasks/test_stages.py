"""Relatedness on the staged indicators (``relatedness``), assembling a publication from staged
inputs (``assemble``) and carrying provinces over from the previous one (``carry_over``), on
small frames written to a temporary work folder."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS, SCORES
from schemas.parameters import SelectionParameters
from tasks import stages
from tasks.datasets.consultation import build_consultation
from tasks.datasets.scores import build_scores
from tasks.datasets.selection import build_selection
from tasks.errors import InputDataError, NationalInputError
from tasks.methods.scoring import score_candidates
from tasks.publish.snapshot import to_table
from tasks.reference import Reference
from tasks.stages import affected_provinces, check_national_sources, ingest
from tasks.store import Paths, read_frame, read_staged

SHIPS = "Building of ships and floating structures"
PARAMETERS = SelectionParameters()
BUILT_LATER = {"run_id", "computed_in_run", "parameters_id", "province", "year", "sector_name", "cluster_name"}


def scored(plate: int, sectors: list[tuple[str, float, int]]) -> pd.DataFrame:
    """One province's scored candidates in rank order: (sector_code, total_score, size_rank)."""
    blank = {field.name: np.nan for field in SCORES if field.name not in {*BUILT_LATER, "carried_over_from"}}
    return pd.DataFrame(
        [
            {**blank, "plate_code": plate, "sector_code": code, "rank": rank, "total_score": total,
             "eligible": True, "selected": rank == 1, "size_rank": size, "size_basis": "employment"}
            for rank, (code, total, size) in enumerate(sectors, start=1)
        ]
    )  # fmt: skip


TRABZON = [("30.11", 89.9, 3), ("25.92", 65.4, 1), ("10.39", 60.9, 2)]
SAMSUN = [("32.50", 86.4, 2), ("14.19", 71.8, 1)]
ANKARA = [("30.11", 70.0, 1), ("27.11", 60.0, 2)]


def consultation() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "plate_code": [61, 61, 6],
            "meeting_date": pd.to_datetime(["2023-03-01", "2023-03-01", "2023-02-01"]),
            "institution": ["Trabzon TSO", "KTÜ", "ATO"],
            "institution_type": ["chamber", "university", "chamber"],
            "nace_class": ["30.11", "25.92", "30.11"],
            "stance": ["support", "support", "support"],
            "note": None,
        }
    )


@pytest.fixture
def paths(tmp_path) -> Paths:
    reference = PROJECT_ROOT / "data" / "reference"
    return Paths(tmp_path / "sources", reference, PROJECT_ROOT / "expectations", tmp_path / "work", "sqlite://")


def write(folder: Path, name: str, frame: pd.DataFrame) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / f"{name}.parquet", index=False)
    return str(folder / f"{name}.parquet")


def staged_run(paths: Paths, failed: list[dict] | None = None) -> tuple[dict, dict, list[str]]:
    """Two sources as validated (the registry's file covers Trabzon; one row quarantined), the
    indicators stage's outputs, and Trabzon's and Samsun's scores."""
    work = paths.work_dir
    quarantine = pd.DataFrame(
        {"source": "chamber_registry", "file": ["trabzon.csv"], "row": [7], "column": "employees", "rule": "REG-03",
         "message": "employees below 0", "raw_value": "-4"}
    )  # fmt: skip
    empty = quarantine.iloc[:0].assign(source="consultation")
    quality = {"sha256": "x", "rows_in": 1, "rows_accepted": 1, "rows_quarantined": 0, "failed_rules": None}
    sources = {
        "chamber_registry": {
            "files": [{"file": "trabzon.csv", "sha256": "r1", "rows_in": 10, "plate_codes": [61]}],
            "errors": [f"{f['file']}: {f['problem']}" for f in failed or []],
            "failed": failed or [],
            "not_read": [],
            "quality": [{**quality, "source": "chamber_registry", "file": "trabzon.csv", "error": None}],
            "outputs": {"quarantine": write(work, "registry.quarantine", quarantine)},
        },
        "consultation": {
            "files": [{"file": "danisma.csv", "sha256": "c1", "rows_in": 3}],
            "errors": [],
            "failed": [],
            "not_read": [],
            "quality": [{**quality, "source": "consultation", "file": "danisma.csv", "error": None}],
            "outputs": {
                "accepted": write(work, "consultation.accepted", consultation()),
                "quarantine": write(work, "consultation.quarantine", empty),
            },
        },
    }
    computed = {
        "reference_year": 2022,
        "totals_used": {"national": "published"},
        "unallocated_exports_usd": 0.0,
        "outputs": {
            name: write(work, name, pd.DataFrame({"sector_code": ["30.11"], "year": [2022]}))
            for name in ("indicators", "growth", "concentration")
        },
    }
    scores = [write(work, "scores-61", scored(61, TRABZON)), write(work, "scores-55", scored(55, SAMSUN))]
    return sources, computed, scores


def national_run(paths: Paths) -> dict[str, str]:
    """The staged national datasets of the stages after the indicators (relatedness,
    definitions) and the history stage's rows: one row in each."""
    rows = {
        "relatedness": pd.DataFrame({"sector_code": ["30.11"], "related_sector_code": ["25.92"], "year": [2022]}),
        "complexity": pd.DataFrame({"level": ["province"], "plate_code": [61], "year": [2022]}),
        "opportunities": pd.DataFrame({"plate_code": [61], "sector_code": ["25.92"], "year": [2022], "rank": [1]}),
        "cluster_definitions": pd.DataFrame({"year": [2022], "cluster_id": ["c01"], "sector_code": ["30.11"]}),
        "selection_history": pd.DataFrame(
            {
                "plate_code": [61],
                "year": [2022],
                "rank": [1],
                "sector_code": ["30.11"],
                "total_score": [80.0],
                "robust": [True],
                "robustness_share": [0.9],
                "snapshot_inputs": [True],
            }
        ),  # fmt: skip
    }
    return {name: write(paths.work_dir, name, frame) for name, frame in rows.items()}


def schema_3_publication(out: Path, ref: Reference) -> Path:
    """A current publication of schema 3.0 (run "old", parameters "p-old"): Ankara and Trabzon,
    the programme cluster's name in sector_name, no cluster_name."""
    scores = build_scores([scored(6, ANKARA), scored(61, TRABZON)], ref, 2022, "old", "p-old")
    datasets = {
        "scores": scores,
        "selection": build_selection(scores, ref, consultation(), 5),
        "consultation": build_consultation(consultation(), scores),
    }
    run = out / "runs" / "old"
    for name, frame in datasets.items():
        frame = frame.assign(carried_over_from=None)
        if "cluster_name" in frame:
            frame["sector_name"] = frame.cluster_name.fillna(frame.sector_name)
            frame = frame.drop(columns="cluster_name")
        if "largest_cluster_name" in frame:
            frame["largest_sector_name"] = frame.largest_cluster_name.fillna(frame.largest_sector_name)
            frame = frame.drop(columns="largest_cluster_name")
        write(run / name, "part-0", frame)
    parameters = {**PARAMETERS.model_dump(), "reference_year": 2022, "top_n": 3}
    manifest = {"run_id": "old", "parameters": parameters, "parameter_sets": {"p-old": parameters}, "inputs": {
        "chamber_registry": {"files": [{"file": "trabzon.csv", "plate_codes": [61]}]}}}  # fmt: skip
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


# Five provinces' employment in five classes, the same in 2020-2022: presence (LQ >= 1 and >= 10)
# M = [[1,0,0,0,0], [1,1,0,0,0], [1,1,1,0,0], [0,1,1,1,0], [0,0,0,1,1]]
CLASSES = ["10.61", "25.92", "28.93", "30.11", "32.50"]
EMPLOYMENT = {
    19: [200, 5, 0, 0, 0],
    27: [100, 80, 5, 0, 0],
    55: [60, 60, 60, 0, 10],
    61: [40, 40, 40, 100, 0],
    6: [10, 20, 20, 150, 300],
}


def indicators_run(paths: Paths) -> dict:
    """The indicators stage's result: the indicators dataset (2020-2022) and the candidates of
    2022 (every class with employment, and one the indicators lack)."""
    rows = [
        {"plate_code": plate, "sector_code": code, "year": year, "employment": float(value),
         "national_sector_employment_cagr": 0.05, "lq_employment": 1.0}
        for plate, values in EMPLOYMENT.items()
        for code, value in zip(CLASSES, values, strict=True)
        for year in (2020, 2021, 2022)
    ]  # fmt: skip
    indicators = pd.DataFrame(rows).astype({"plate_code": "int16", "year": "int16"})
    candidates = indicators[(indicators.year == 2022) & (indicators.employment > 0)][["plate_code", "sector_code"]]
    candidates = pd.concat([candidates, pd.DataFrame({"plate_code": [61], "sector_code": ["33.15"]})])
    candidates = candidates.astype({"plate_code": "int64"}).assign(firms=3.0)
    outputs = {"indicators": write(paths.work_dir, "indicators", indicators)}
    outputs["candidates"] = write(paths.work_dir, "candidates", candidates)
    return {"reference_year": 2022, "outputs": outputs}


def test_relatedness_stages_the_three_datasets_and_the_candidates_with_their_strength(paths):
    logged: list[str] = []
    related = stages.relatedness(paths, indicators_run(paths), PARAMETERS, logged.append)
    assert set(related["outputs"]) == {"relatedness", "complexity", "opportunities", "candidates"}
    assert related["window_years"] == 3 and logged and logged[0].startswith("relatedness: ")
    complexity = read_frame(related["outputs"]["complexity"])
    assert set(complexity.year) == {2022}  # the one full window
    provinces = complexity[complexity.level == "province"].set_index("plate_code")
    assert provinces.diversity.to_dict() == {6: 2, 19: 1, 27: 2, 55: 3, 61: 3}
    opportunities = read_frame(related["outputs"]["opportunities"])
    assert len(opportunities) == 25 - 11 and set(opportunities.national_sector_employment_cagr) == {0.05}
    candidates = read_frame(related["outputs"]["candidates"]).set_index(["plate_code", "sector_code"])
    assert len(candidates) == 19 and (candidates.firms == 3.0).all()  # every candidate, with its columns
    # phi(30.11, .) = [0, 1/3, 1/2, 0, 1/2]: Trabzon has 25.92 and 28.93, so its density is (5/6) / (4/3)
    assert candidates.relatedness_density[(61, "30.11")] == pytest.approx(0.625)
    assert candidates.relatedness_density[(61, "10.61")] == 1.0  # both neighbours of 10.61 are in Trabzon
    # 10.61's related sector is 25.92 (phi 2/3, above its row's 90th percentile): LQ of 25.92 in Çorum
    assert candidates.related_sectors_lq[(19, "10.61")] == pytest.approx((5 / 205) / (205 / 1300))
    assert candidates.loc[(61, "33.15"), ["relatedness_density", "related_sectors_lq"]].isna().all()


def test_relatedness_follows_its_parameters_and_the_universe(paths):
    computed = indicators_run(paths)
    every_year = SelectionParameters(relatedness={"window": 1, "min_employment": 100})
    related = stages.relatedness(paths, computed, every_year, lambda _: None)
    complexity = read_frame(related["outputs"]["complexity"])
    assert set(complexity.year) == {2020, 2021, 2022} and related["window_years"] == 1
    provinces = complexity[(complexity.level == "province") & (complexity.year == 2022)].set_index("plate_code")
    assert provinces.diversity.to_dict() == {6: 2, 19: 1, 27: 1, 55: 0, 61: 1}  # Samsun: 60 < 100 employees
    universe = SelectionParameters(universe=["10.61", "25.92", "28.93"])
    related = stages.relatedness(paths, computed, universe, lambda _: None)
    pairs = read_frame(related["outputs"]["relatedness"])
    # LQs on the universe's totals: 25.92 and 28.93 are present together in Samsun, Trabzon and
    # Ankara, 25.92 also in Gaziantep (phi = 3/4); 10.61 is present with neither
    assert pairs[["sector_code", "related_sector_code", "proximity"]].values.tolist() == [
        ["25.92", "28.93", 0.75],
        ["28.93", "25.92", 0.75],
    ]
    candidates = read_frame(related["outputs"]["candidates"]).set_index(["plate_code", "sector_code"])
    assert candidates.relatedness_density[[(6, "30.11"), (6, "32.50")]].isna().all()  # outside the universe
    assert candidates.relatedness_density[(55, "25.92")] == 1.0


def test_a_first_publication_has_every_dataset_of_one_run(paths):
    sources, computed, score_files = staged_run(paths)
    run = {"code_version": "test"}
    national = national_run(paths)
    datasets, manifest = stages.assemble(paths, sources, computed, national, score_files, PARAMETERS, [55, 61], run)
    staged = stages.staged_datasets(computed, national)
    assert set(datasets) | set(staged) == set(DATASETS) and not set(datasets) & set(staged)
    assert staged["opportunities"] == national["opportunities"]  # national: published as staged
    run_id = manifest["run_id"]
    for name in ("scores", "selection", "consultation", "quality", "quarantine"):
        assert set(datasets[name].run_id) == {run_id}, name
    scores = datasets["scores"].set_index(["plate_code", "sector_code"])
    assert scores.loc[(61, "30.11"), ["sector_name", "cluster_name"]].tolist() == [SHIPS, "shipbuilding"]
    assert set(scores.computed_in_run) == {run_id} and set(scores.parameters_id) == {manifest["parameters_id"]}
    assert datasets["scores"].carried_over_from.isna().all()
    selected = datasets["selection"].query("selected").set_index("plate_code")
    assert selected.sector_code.to_dict() == {55: "32.50", 61: "30.11"}
    assert selected.largest_sector_code.to_dict() == {55: "14.19", 61: "25.92"}
    assert datasets["consultation"].institution.tolist() == ["KTÜ", "Trabzon TSO"]  # Ankara was not scored
    assert datasets["quarantine"].rule.tolist() == ["REG-03"] and len(datasets["quality"]) == 2
    assert manifest["status"] == "complete" and manifest["previous_publication"] is None
    assert manifest["provinces"]["61"] == {
        "province": "Trabzon",
        "computed_in_run": run_id,
        "parameters_id": manifest["parameters_id"],
        "carried_over": False,
        "reason": None,
    }
    again, _ = stages.assemble(paths, sources, computed, national_run(paths), score_files, PARAMETERS, [55, 61], run)
    assert again["scores"].run_id.iloc[0] == run_id  # same inputs, parameters and code: same id


def test_a_schema_3_publication_s_other_provinces_are_carried_over_with_today_s_names(paths, tmp_path):
    ref = Reference(paths.reference_dir)
    previous = schema_3_publication(tmp_path / "out", ref)
    sources, computed, score_files = staged_run(paths)
    run = {"code_version": "test"}
    datasets, manifest = stages.assemble(
        paths, sources, computed, national_run(paths), score_files, PARAMETERS, [55, 61], run, previous_dir=previous
    )
    first, _ = stages.assemble(paths, sources, computed, national_run(paths), score_files, PARAMETERS, [55, 61], run)
    assert manifest["run_id"] != first["scores"].run_id.iloc[0]  # the id names where Ankara's rows come from
    scores = datasets["scores"]
    ankara = scores[scores.plate_code == 6].set_index("sector_code")
    assert set(ankara.run_id) == {manifest["run_id"]} and set(ankara.carried_over_from) == {"old"}
    assert set(ankara.computed_in_run) == {"old"} and set(ankara.parameters_id) == {"p-old"}
    assert ankara.loc["30.11", ["sector_name", "cluster_name"]].tolist() == [SHIPS, "shipbuilding"]
    assert pd.isna(ankara.cluster_name["27.11"])
    assert set(scores[scores.plate_code == 61].computed_in_run) == {manifest["run_id"]}  # recomputed
    selection = datasets["selection"].set_index(["plate_code", "rank"])
    assert selection.loc[(6, 1), ["sector_name", "cluster_name"]].tolist() == [SHIPS, "shipbuilding"]
    assert selection.loc[(6, 1), "largest_cluster_name"] == "shipbuilding"  # Ankara's largest is 30.11 too
    assert datasets["consultation"].plate_code.tolist().count(6) == 1
    assert manifest["provinces"]["6"]["reason"] == "not among the run's provinces"
    assert manifest["carried_over_from"] == manifest["previous_publication"] == "old"
    assert set(manifest["parameter_sets"]) == {manifest["parameters_id"], "p-old"}


def test_an_assembly_that_carries_nothing_over_is_the_same_without_the_publication_it_replaces(paths, tmp_path):
    """The flow assembles without the current publication when ``carries_over`` says it would
    take nothing from it (its cache key then does not name it): the same rows, the same run id."""
    sources, computed, score_files = staged_run(paths)
    national, run = national_run(paths), {"code_version": "test"}
    first, manifest = stages.assemble(paths, sources, computed, national, score_files, PARAMETERS, [55, 61], run)
    published = tmp_path / "out" / "runs" / manifest["run_id"]
    for name, frame in first.items():
        write(published / name, "part-0", frame)
    (published / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    assert not stages.carries_over(published, sources, national, [55, 61])
    again, again_manifest = stages.assemble(
        paths, sources, computed, national, score_files, PARAMETERS, [55, 61], run, previous_dir=published
    )
    assert again_manifest["run_id"] == manifest["run_id"] and set(again) == set(first)
    for name, frame in first.items():
        assert to_table(again[name], name).equals(to_table(frame, name)), name
    replaced = stages.with_run(manifest, {"flow_run_id": "f2"}, published)
    assert replaced["previous_publication"] == manifest["run_id"] and replaced["flow_run_id"] == "f2"
    assert stages.with_run(manifest, run, None)["previous_publication"] is None

    # what it would carry over: a province not among the run's, a failed input's, the backtest
    assert stages.carries_over(published, sources, national, [61])
    failed = [{"source": "chamber_registry", "file": "trabzon.csv", "problem": "no header row", "provinces": []}]
    assert stages.carries_over(published, staged_run(paths, failed)[0], national, [55, 61])
    (published / "manifest.json").write_text(json.dumps({**manifest, "backtest_run": "b"}), encoding="utf-8")
    assert stages.carries_over(published, sources, national, [55, 61])
    assert not stages.carries_over(published, sources, {**national, "backtest": "computed"}, [55, 61])
    # a manifest that does not say which provinces or which backtest it holds counts as carrying over
    older = {key: value for key, value in manifest.items() if key != "backtest_run"}
    (published / "manifest.json").write_text(json.dumps(older), encoding="utf-8")
    assert stages.carries_over(published, sources, national, [55, 61])
    assert stages.carries_over(
        schema_3_publication(tmp_path / "old", Reference(paths.reference_dir)), sources, national, [6, 61]
    )
    assert not stages.carries_over(None, sources, national, [55, 61])
    assert not stages.carries_over(tmp_path / "none", sources, national, [55, 61])


def test_a_province_whose_input_failed_keeps_its_previous_rows(paths, tmp_path):
    ref = Reference(paths.reference_dir)
    previous = schema_3_publication(tmp_path / "out", ref)
    failed = [{"source": "chamber_registry", "file": "trabzon.csv", "problem": "no header row", "provinces": []}]
    sources, computed, score_files = staged_run(paths, failed)
    datasets, manifest = stages.assemble(
        paths,
        sources,
        computed,
        national_run(paths),
        score_files,
        PARAMETERS,
        [55, 61],
        {"code_version": "test"},
        previous,
    )
    trabzon = datasets["scores"][datasets["scores"].plate_code == 61]
    assert set(trabzon.computed_in_run) == {"old"} and set(trabzon.carried_over_from) == {"old"}
    assert manifest["provinces_carried_over"] == {"61": ["chamber_registry/trabzon.csv"]}
    assert manifest["provinces"]["61"]["reason"] == "inputs failed: chamber_registry/trabzon.csv"
    assert manifest["status"] == "partial"
    assert set(datasets["scores"][datasets["scores"].plate_code == 55].computed_in_run) == {manifest["run_id"]}


def test_carry_over_keeps_the_old_rows_of_the_provinces_named_as_they_were_computed():
    new = pd.DataFrame({"plate_code": [55, 61], "rank": [1, 1], "total_score": [86.4, 89.9]}).assign(
        run_id="new", computed_in_run="new", parameters_id="p-new"
    )
    old = pd.DataFrame(  # as read back from Parquet: ranks of another type
        {"plate_code": [61, 6], "rank": [1.0, 1.0], "total_score": [80.0, 70.0], "run_id": "old",
         "computed_in_run": ["older", "old"], "parameters_id": "p-old"}
    )  # fmt: skip
    carried = stages.carry_over(new, old, [61, 6], "new").set_index("plate_code")
    assert carried.index.tolist() == [55, 61, 6]
    assert carried.total_score.to_dict() == {55: 86.4, 61: 80.0, 6: 70.0}  # Trabzon's new rows are dropped
    assert set(carried.run_id) == {"new"}
    assert carried.computed_in_run.to_dict() == {55: "new", 61: "older", 6: "old"}
    assert carried.carried_over_from.tolist()[0] is None and carried.carried_over_from[[61, 6]].tolist() == [
        "older",
        "old",
    ]
    assert carried["rank"].dtype == new["rank"].dtype
    assert stages.carry_over(new, None, [], "new").carried_over_from.isna().all()


# Inputs that failed: by the error's fields, never by its message
def failure(source: str, file: str, problem: str = "no header row", provinces: list[int] | None = None) -> dict:
    return {"source": source, "file": file, "problem": problem, "provinces": provinces or []}


def inputs(*failures: dict) -> dict[str, dict]:
    """Ingested sources as the flow holds them, with ``failures`` in their sources."""
    sources = ("chamber_registry", "sgk_employment", "exports_by_sector", "consultation", "agency_db")
    return {
        source: {
            "failed": [f for f in failures if f["source"] == source],
            "errors": [f"{f['file']}: {f['problem']}" for f in failures if f["source"] == source],
        }
        for source in sources
    }


def previous(**files: list[tuple[str, list[int]]]) -> dict:
    """A previous manifest whose sources read ``files``: (name, plate codes it covered)."""
    return {
        "inputs": {
            source: {"files": [{"file": name, "plate_codes": plates} for name, plates in listed]}
            for source, listed in files.items()
        }
    }


def test_a_failed_file_affects_the_provinces_it_covered_in_the_previous_publication():
    last = previous(chamber_registry=[("samsun_uyeler.csv", [55]), ("trabzon.tsv", [61])])
    affected = affected_provinces(inputs(failure("chamber_registry", "samsun_uyeler.csv")), last)
    assert affected == {55: ["chamber_registry/samsun_uyeler.csv"]}


def test_the_file_is_matched_by_its_name_whatever_the_name_holds():
    # a name with ": " in it: splitting the message on ": " took "a" for the file
    name = "inbox/a: b.csv"
    last = previous(chamber_registry=[(name, [19, 55]), ("a", [6])])
    failed = failure("chamber_registry", name, problem="cannot be parsed: at line 3: EOF")
    assert affected_provinces(inputs(failed), last) == {
        19: [f"chamber_registry/{name}"],
        55: [f"chamber_registry/{name}"],
    }


def test_the_same_name_in_another_source_is_another_file():
    last = previous(consultation=[("samsun.csv", [55])])
    assert affected_provinces(inputs(failure("chamber_registry", "samsun.csv")), last) == {}


def test_provinces_a_failure_names_count_with_those_of_the_previous_publication():
    last = previous(chamber_registry=[("ordu.csv", [52])])
    failed = failure("chamber_registry", "ordu.csv", provinces=[52, 55])
    assert affected_provinces(inputs(failed), last) == {
        52: ["chamber_registry/ordu.csv"],
        55: ["chamber_registry/ordu.csv"],
    }
    assert affected_provinces(inputs(failed), None) == {
        52: ["chamber_registry/ordu.csv"],
        55: ["chamber_registry/ordu.csv"],
    }


def test_without_a_previous_publication_or_failures_nothing_is_affected():
    assert affected_provinces(inputs(failure("chamber_registry", "x.csv")), None) == {}
    assert affected_provinces(inputs(), previous(chamber_registry=[("x.csv", [55])])) == {}


def test_a_failed_national_file_stops_the_run_with_the_failures_as_fields():
    failed = failure("sgk_employment", "sgk_il_nace4_2020.csv")
    with pytest.raises(NationalInputError) as stopped:
        check_national_sources(inputs(failed, failure("chamber_registry", "samsun.csv")))
    assert stopped.value.failures == [failed]  # a province-level file is not a national failure
    assert str(stopped.value) == (
        "national input could not be read, the previous publication stays current: "
        "sgk_employment: sgk_il_nace4_2020.csv: no header row"
    )
    check_national_sources(inputs(failure("chamber_registry", "samsun.csv")))  # no national failure: carries on


def input_paths(tmp_path, agency_db_url: str = "sqlite://") -> Paths:
    return Paths(
        sources_dir=tmp_path / "data" / "sources",
        reference_dir=PROJECT_ROOT / "data" / "reference",
        expectations_dir=PROJECT_ROOT / "expectations",
        work_dir=tmp_path / "work",
        agency_db_url=agency_db_url,
    )


def test_ingest_records_a_file_that_cannot_be_read_by_its_fields_and_as_one_line(tmp_path):
    folder = tmp_path / "data" / "sources" / "chamber_registry"
    folder.mkdir(parents=True)
    (folder / "no_header.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    ingested = ingest("chamber_registry", input_paths(tmp_path), lambda _: None)
    [failed] = ingested["failed"]
    assert failed["source"] == "chamber_registry" and failed["file"] == "no_header.csv" and failed["provinces"] == []
    assert failed["problem"].startswith("no header row")
    assert ingested["errors"] == [f"no_header.csv: {failed['problem']}"]


def test_ingest_records_an_agency_database_that_cannot_be_read_as_a_failure_of_its_source(tmp_path):
    database = tmp_path / "agency.sqlite"
    sqlite3.connect(database).close()  # a database without the agency's tables
    ingested = ingest("agency_db", input_paths(tmp_path, f"sqlite:///{database}"), lambda _: None)
    [failed] = ingested["failed"]
    assert (failed["source"], failed["file"]) == ("agency_db", "agency.sqlite")
    assert failed["problem"].startswith("agency database lacks tables")
    assert ingested["files"] == [] and ingested["errors"] == [f"agency.sqlite: {failed['problem']}"]


def test_the_run_s_provinces_are_scored_in_one_pass_each_as_if_scored_alone(paths):
    frame = pd.DataFrame(
        {
            "plate_code": [55, 55, 55, 61, 61, 61],
            "sector_code": ["10.71", "32.50", "14.19", "30.11", "25.92", "10.39"],
            "employment": [400.0, 900.0, 120.0, 800.0, 300.0, 60.0],
            "establishments": [30.0, 12.0, 9.0, 20.0, 25.0, 6.0],
            "lq_employment": [1.1, 2.5, 1.4, 3.0, 1.2, 0.9],
            "exports": ["5", "7", "1", "9", "2", "4"],
        }
    )
    candidates = write(paths.work_dir, "candidates", frame)
    staged = pd.read_parquet(stages.score_provinces(paths, candidates, [55, 61], PARAMETERS))
    alone = pd.concat([score_candidates(rows, PARAMETERS) for _, rows in frame.groupby("plate_code")])
    pd.testing.assert_frame_equal(staged, pd.read_parquet(write(paths.work_dir, "alone", alone)))
    assert stages.score_provinces(paths, candidates, [6], PARAMETERS) is None  # no candidates

    broken = write(paths.work_dir, "broken", frame.assign(exports=["5", "7", "1", "9", "many", "4"]))
    with pytest.raises(InputDataError, match=r"^scoring Trabzon \(plate 61\): could not convert .*'many'"):
        stages.score_provinces(paths, broken, [55, 61], PARAMETERS)


def test_with_a_read_cache_a_source_is_staged_as_views_of_its_entries_and_validated_the_same(tmp_path):
    """The shipped member lists (one duplicate firm added, one file in a province folder):
    staged as views of the read cache's entries, not written again, they read back as the rows
    and raw text staged without a cache, and validate to the same accepted rows and quarantine."""
    folder = tmp_path / "data" / "sources" / "chamber_registry"
    shutil.copytree(PROJECT_ROOT / "data" / "sources" / "chamber_registry", folder)
    listed = sorted(folder.glob("*.csv"))[0]
    text = listed.read_bytes().rstrip(b"\r\n")
    listed.write_bytes(text + b"\n" + text.splitlines()[-1] + b"\n")  # a firm listed twice
    (folder / "Samsun").mkdir()
    shutil.move(sorted(folder.glob("*.csv"))[-1], folder / "Samsun")
    written = input_paths(tmp_path)
    viewed = replace(written, work_dir=tmp_path / "work-viewed", cache_dir=tmp_path / "ingested")
    results = {}
    for name, paths in (("written", written), ("viewed", viewed)):
        ingested = ingest("chamber_registry", paths, lambda _: None)
        results[name] = (ingested, stages.validate_source("chamber_registry", ingested, paths, lambda _: None))
    (ingested, validated), (viewed_ingested, viewed_validated) = results["written"], results["viewed"]
    assert Path(viewed_ingested["outputs"]["normalized"]).suffix == ".parts"
    assert Path(viewed_ingested["outputs"]["raw_text"]).suffix == ".parts"
    assert Path(ingested["outputs"]["normalized"]).suffix == ".arrow"
    assert read_staged(viewed_ingested["outputs"]["normalized"]).equals(read_staged(ingested["outputs"]["normalized"]))
    assert "Samsun/" in str(read_staged(viewed_ingested["outputs"]["normalized"]).column("source_file"))
    for kept in ("accepted", "quarantine"):
        assert read_staged(viewed_validated["outputs"][kept]).equals(read_staged(validated["outputs"][kept]))
    assert validated["rule_failures"] == viewed_validated["rule_failures"]
    assert "REG-DUP-01" in validated["rule_failures"] and len(validated["rule_failures"]) > 1  # rules failed too
