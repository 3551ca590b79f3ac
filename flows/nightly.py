"""The nightly selection flow: ingest -> validate -> indicators -> score (a task per province)
-> publish. It wires the stages of ``tasks.stages``; the logic lives there."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact
from prefect.runtime import flow_run

from kume.settings import PROJECT_ROOT, Settings
from schemas.parameters import SelectionParameters
from tasks import stages
from tasks.publish import SqlSink, code_version, publish, safe_url
from tasks.reference import Reference, fold_key
from tasks.reports import render_reports
from tasks.validate import validate_outputs


def _log(message: str) -> None:
    get_run_logger().info(message)


@task(task_run_name="ingest-{source}")
def ingest_source(source: str, paths: stages.Paths) -> dict:
    return stages.ingest(source, paths, _log)


@task(task_run_name="validate-{source}")
def validate_source(source: str, ingested: dict, paths: stages.Paths) -> dict:
    return stages.validate_source(source, ingested, paths, _log)


@task(task_run_name="indicators")
def compute_indicators(paths: stages.Paths, parameters: SelectionParameters) -> dict:
    return stages.indicators(paths, parameters, _log)


@task(task_run_name="score-{slug}-{year}")
def score_province(
    paths: stages.Paths, plate_code: int, slug: str, year: int, parameters: SelectionParameters
) -> pd.DataFrame:
    return stages.score_province(paths, plate_code, parameters)


@task(task_run_name="publish")
def publish_run(settings: Settings, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict) -> str:
    validate_outputs(datasets, settings.expectations_dir / "outputs")
    sink = SqlSink(settings.resolved_database_url(), attempts=settings.sql_attempts)
    manifest = {**manifest, "sql": safe_url(sink.url)}
    language = manifest["parameters"]["report_language"]
    reports = render_reports(datasets, manifest, settings.reference_dir, language)
    _log(f"reports: {len(reports)} pages in {language}")
    target = publish(
        settings.out_dir,
        run_id,
        datasets,
        manifest,
        sql=sink,
        keep=settings.keep_runs,
        lock_timeout_seconds=settings.publish_lock_timeout_seconds,
        reports=reports,
    )
    index = settings.out_dir / "current" / "reports" / "index.html"
    create_link_artifact(
        key="kume-reports",
        link=index.resolve().as_uri(),
        link_text="kume reports: national overview and province pages",
        description=f"Reports of run {run_id} (reference year {manifest['parameters']['reference_year']})",
    )
    _log(f"published run {run_id} to {target}; reports at {index}")
    return str(target)


def resolve_provinces(names: list[str] | None, ref: Reference) -> list[int]:
    """Plate codes for province names, ASCII names or plate codes; all 81 when empty."""
    if not names:
        return ref.provinces.plate_code.tolist()
    plates = []
    for name in names:
        plate = ref.plate_code(name)
        if not plate:
            raise ValueError(f"unknown province {name!r}")
        plates.append(plate)
    return sorted(set(plates))


def _flow_run_name() -> str:
    """'nightly-all-provinces', or 'nightly-samsun-trabzon' for a rerun of a few provinces."""
    provinces = flow_run.parameters.get("provinces") or []
    label = "-".join(fold_key(p) for p in provinces[:4]) + ("-and-more" if len(provinces) > 4 else "")
    return f"nightly-{label or 'all-provinces'}"


@flow(name="kume-nightly", flow_run_name=_flow_run_name, log_prints=True)
def nightly(
    provinces: list[str] | None = None,
    parameters: SelectionParameters | None = None,
    force: bool = False,
) -> dict:
    """Select the cluster sectors of the given provinces (all 81 by default) from the input
    files, publish the datasets and return the run's manifest. Where it reads and writes is
    configuration (``KUME_DATA_DIR``, ``KUME_OUT_DIR``), not a parameter."""
    parameters = parameters or SelectionParameters()
    settings = Settings()
    ref = Reference(settings.reference_dir)
    plates = resolve_provinces(provinces, ref)
    started = datetime.now(UTC)
    run_label = flow_run.get_id() or started.strftime("%Y%m%dT%H%M%S")
    staging = settings.out_dir / "staging" / str(run_label)
    staging.mkdir(parents=True, exist_ok=True)
    paths = stages.Paths(
        settings.sources_dir,
        settings.reference_dir,
        settings.expectations_dir,
        staging,
        settings.resolved_agency_db_url(),
        inbox_dir=settings.inbox_dir,
        cache_dir=settings.ingest_cache_dir,
        force=force,
    )
    current = settings.out_dir / "current"
    try:
        # Sources one after another: Great Expectations contexts are not shared across threads.
        sources = {s: validate_source(s, ingest_source(s, paths), paths) for s in stages.ALL_SOURCES}
        stages.check_national_sources(sources)
        computed = compute_indicators(paths, parameters)
        year = computed["reference_year"]
        futures = [
            score_province.submit(paths, plate, fold_key(ref.province_name(plate)), year, parameters)
            for plate in plates
        ]
        scores = pd.concat([f.result() for f in futures], ignore_index=True)
        datasets, manifest = stages.assemble(
            paths,
            sources,
            computed,
            scores,
            parameters,
            plates,
            {
                "flow_run_id": str(flow_run.get_id()),
                "started_at": started.isoformat(),
                "code_version": code_version(PROJECT_ROOT),
            },
            previous_dir=current if current.exists() else None,
        )
        publish_run(settings, manifest["run_id"], datasets, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
