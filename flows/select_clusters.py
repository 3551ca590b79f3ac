"""The selection flow: ingest -> validate -> indicators -> relatedness -> cluster definitions
(-> cluster candidates) -> score (one task, every province) -> selection history (-> backtest, when
asked) -> assemble -> publish. It wires the stages of ``tasks.stages``; the logic lives there.
Where the flow's tasks run in its threads, once every source is read (each on both cores) a large
source is validated while the others are, and the definitions and the selection history are
computed beside the scoring, each in a process forked for it (``_started``): the machine's second
core, and the same bytes.

``prefect.yaml`` deploys it twice: ``nightly`` (scheduled, all provinces, default parameters)
and ``rerun`` (an operator's run from the UI form of ``RunRequest``). Where it reads and writes
is configuration (``KUME_DATA_DIR``, ``KUME_OUT_DIR``), not a parameter.

Tasks are cached by content (their keys: ``tasks.store``): their results are small dicts of staged
Parquet paths, never DataFrames. ``force`` recomputes every task.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.results import get_result_store
from prefect.runtime import deployment, flow_run
from prefect.states import Failed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import opaque

from kume.publication import publication_turn
from kume.report import origins_markdown, quality_markdown, selection_table
from kume.settings import PROJECT_ROOT, Settings, current_settings
from schemas.parameters import RunRequest, SelectionParameters
from tasks import stages, store
from tasks.errors import KumeError, SourceUnavailableError, safe_url
from tasks.memory import keep_freed_memory, release_memory
from tasks.publish.publication import publish, validate_staged, validated_before
from tasks.publish.snapshot import code_version, current_run, published_copies, remember_published, write_snapshot
from tasks.publish.sql import SqlSink
from tasks.reference import Reference, fold_key
from tasks.reports.html import render_reports
from tasks.sources import ALL_SOURCES
from tasks.sources.coverage import check_reference_year
from tasks.sources.files import list_source_folder
from tasks.versions import package_versions
from tasks.workers import OwnProcess, may_fork

# What the imports made (Prefect, Great Expectations, pandas: some 0.4 M objects) lives as long as
# the process: frozen out of the collector's sight, a full collection walks only what a run makes
# (a run freezes them again with what else it finds, and gives all back when it ends).
gc.freeze()


def _log(message: str) -> None:
    get_run_logger().info(message)


def _done(work: Callable[[Callable[[str], None]], dict], process: OwnProcess | None) -> dict:
    """A stage's ``work`` (given the log), done here or in ``process``, forked for it by the
    flow to run the task beside others (``_started``)."""
    return process.do(work, _log) if process else work(_log)


def _transient(task: Task, task_run: object, state: object) -> bool:
    """Retry a source that could not be reached; never a data error (that is reported)."""
    try:
        state.result()
    except SourceUnavailableError:
        return True
    except Exception:
        return False
    return False


@task(
    task_run_name="ingest-{source}",
    cache_key_fn=lambda context, p: store.ingest_key(p["source"], p["paths"], list_source_folder),
    retry_condition_fn=_transient,
)
def ingest_source(source: str, paths: store.Paths) -> dict:
    return stages.ingest(source, paths, _log)


@task(
    task_run_name="validate-{source}",
    cache_key_fn=lambda context, p: store.validate_key(p["source"], p["ingested"], p["paths"]),
)
def validate_source(source: str, ingested: dict, paths: store.Paths, process: OwnProcess | None = None) -> dict:
    """``process``: validated there, while the flow validates the other sources (``_started``)."""
    return _done(functools.partial(stages.validate_source, source, ingested, paths), process)


@task(
    task_run_name="indicators",
    cache_key_fn=lambda context, p: store.indicators_key(p["paths"], p["accepted"], p["parameters"]),
)
def compute_indicators(paths: store.Paths, accepted: dict[str, str], parameters: SelectionParameters) -> dict:
    return stages.indicators(paths, accepted, parameters, _log)


@task(
    task_run_name="relatedness",
    cache_key_fn=lambda context, p: store.relatedness_key(p["paths"], p["computed"], p["parameters"]),
)
def compute_relatedness(paths: store.Paths, computed: dict, parameters: SelectionParameters) -> dict:
    return stages.relatedness(paths, computed, parameters, _log)


@task(
    task_run_name="definitions",
    cache_key_fn=lambda context, p: store.definitions_key(p["paths"], p["sgk_accepted"], p["parameters"]),
)
def compute_definitions(
    paths: store.Paths, sgk_accepted: str, parameters: SelectionParameters, process: OwnProcess | None = None
) -> dict:
    return _done(functools.partial(stages.definitions, paths, sgk_accepted, parameters), process)


@task(
    task_run_name="cluster-candidates",
    cache_key_fn=lambda context, p: store.cluster_candidates_key(
        p["paths"], stages.accepted_paths(p["sources"]), p["computed"], p["defined"], p["parameters"]
    ),
)
def cluster_candidates(
    paths: store.Paths, sources: dict, computed: dict, defined: dict, parameters: SelectionParameters
) -> dict:
    return stages.cluster_candidates(paths, sources, computed, defined, parameters, _log)


@task(
    task_run_name="history-candidates",
    cache_key_fn=lambda context, p: store.history_candidates_key(
        p["paths"], stages.accepted_paths(p["sources"]), p["computed"], p["parameters"]
    ),
)
def history_candidates(
    paths: store.Paths,
    sources: dict,
    computed: dict,
    parameters: SelectionParameters,
    process: OwnProcess | None = None,
) -> dict:
    """Not keyed by the weights: a rerun with other weights scores the same candidates."""
    return _done(functools.partial(stages.history_candidates, paths, sources, computed, parameters), process)


@task(
    task_run_name="history",
    cache_key_fn=lambda context, p: store.history_key(
        "history", p["paths"], p["listed"]["outputs"], p["computed"], p["parameters"], p["plates"]
    ),
)
def compute_history(
    paths: store.Paths, listed: dict, computed: dict, parameters: SelectionParameters, plates: list[int]
) -> dict:
    return stages.history(paths, listed, computed, parameters, _log, provinces=plates)


@task(
    task_run_name="backtest",
    cache_key_fn=lambda context, p: store.history_key(
        "backtest", p["paths"], stages.accepted_paths(p["sources"]), p["computed"], p["parameters"]
    ),
)
def run_backtest(paths: store.Paths, sources: dict, computed: dict, parameters: SelectionParameters) -> dict:
    return stages.backtest(paths, sources, computed, parameters, _log)


@task(
    task_run_name="score-{label}-{year}",
    cache_key_fn=lambda context, p: store.score_key(p["paths"], p["candidates"], p["plate_codes"], p["parameters"]),
)
def score_provinces(
    paths: store.Paths,
    candidates: str,
    plate_codes: list[int],
    label: str,
    year: int,
    parameters: SelectionParameters,
) -> str | None:
    """Every province of the run in one task, scored in one pass: a task per province would
    spend more on reading, writing and Prefect than on scoring."""
    return stages.score_provinces(paths, candidates, plate_codes, parameters)


@task(
    task_run_name="assemble",
    cache_key_fn=lambda context, p: store.assemble_key(
        p["paths"],
        p["sources"],
        p["computed"],
        p["national"],
        p["score_files"],
        p["parameters"],
        p["plates"],
        p["run"],
        p["previous_dir"],
    ),
)
def assemble_run(
    paths: store.Paths,
    sources: dict,
    computed: dict,
    national: dict[str, str],
    score_files: list[str],
    parameters: SelectionParameters,
    plates: list[int],
    run: dict,
    previous_dir: Path | None,
) -> dict:
    """The datasets to publish, staged as Parquet (those earlier stages staged are taken as
    they are), and the run's manifest. Cached by content: a cached result's manifest gets the
    run's own fields again (``stages.with_run``)."""
    datasets, manifest = stages.assemble(
        paths, sources, computed, national, score_files, parameters, plates, run, previous_dir
    )
    made = {name: store.stage(frame, paths, f"dataset-{name}") for name, frame in datasets.items()}
    return {"datasets": {**stages.staged_datasets(computed, national), **made}, "manifest": manifest}


def _prepare(settings: Settings, assembled: dict, publish_result: bool) -> dict:
    """The assembled datasets read back, validated, and their reports rendered; where a staged
    file passed its suite and was published before, it is not validated again, its published
    files are copied (``copies``), and it is not read unless the pages show it. For a run whose
    snapshot is already in place (the same run id: the same inputs, parameters, code and
    packages), which is never rewritten (``tasks.publish.snapshot.write_snapshot``), only what
    its SQL copy is written from (``in_place``)."""
    manifest = assembled["manifest"]
    run_id = manifest["run_id"]
    root = settings.out_dir if publish_result else settings.out_dir / "previews"
    sink = SqlSink(settings.resolved_database_url(), attempts=settings.sql_attempts)
    manifest = {**manifest, "sql": safe_url(sink.url) if publish_result else None}
    language = manifest["parameters"]["report_language"]
    in_place = store.snapshot_in_place(root, run_id)
    copies = {}
    if in_place:
        datasets = SqlDatasets(assembled["datasets"], manifest["parameters"]["reference_year"])
        reports = {}
        _log(
            f"run {run_id} is already in place: its data files, reports and manifest were validated and written "
            "by the run that made it, and are not rewritten"
        )
    else:
        staged = assembled["datasets"]
        copies = published_copies(settings.work_dir, staged)
        # read what is validated, written or shown: a dataset validated and published before is not
        passed = validated_before(staged, settings.expectations_dir, settings.work_dir)
        skipped = {name for name in UNREPORTED if name in passed and name in copies}
        datasets = {name: None if name in skipped else store.read_frame(path) for name, path in staged.items()}
        read = {name: frame for name, frame in datasets.items() if frame is not None}
        release_memory()  # what reading them freed, before the page renderers are forked
        # the pages of provinces carried over come with them from the publication they were in
        carried_from = manifest.get("carried_over_from")
        previous = settings.out_dir / "runs" / carried_from if carried_from else None

        def validate() -> None:  # while the pages are rendered in other processes
            validate_staged(read, staged, settings.expectations_dir, settings.work_dir)

        reports = render_pages(*_as_given((read, manifest, settings.reference_dir, language, previous, validate)))
        release_memory()  # what the validation freed, before the datasets are written
        _log(f"reports: {len(reports)} pages in {language}")
    return {
        "datasets": datasets,
        "manifest": manifest,
        "reports": reports,
        "sink": sink,
        "root": root,
        "in_place": in_place,
        "run_id": run_id,
        "staged": assembled["datasets"],
        "copies": copies,
    }


UNREPORTED = ("growth", "concentration", "quarantine", "backtest")  # datasets the report pages do not read


class SqlDatasets(Mapping):
    """What the SQL copy is written from (``tasks.publish.sql.write_sql``): the selection and the
    reference year's indicators, read from their staged files when first asked for (a run both
    sinks call current already is not written again, ``tasks.publish.publication.publish``)."""

    def __init__(self, staged: dict[str, str], reference_year: int) -> None:
        self._read = {
            "selection": lambda: store.read_frame(staged["selection"]),
            "indicators": lambda: store.read_frame(staged["indicators"], filters=[("year", "==", reference_year)]),
        }
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = self._read[name]()
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)


@task(task_run_name="reports", cache_policy=NO_CACHE)
def render_pages(
    datasets: dict[str, pd.DataFrame],
    manifest: dict,
    reference_dir: Path,
    language: str,
    previous: Path | None,
    meanwhile: Callable[[], None],
) -> dict[str, str]:
    """The report pages, a task of their own inside publish (so a run's timeline shows them),
    rendered while ``meanwhile`` validates the datasets."""
    return render_reports(datasets, manifest, reference_dir, language, previous, meanwhile)


@task(task_run_name="publish", cache_policy=NO_CACHE)
def publish_run(
    settings: Settings,
    assembled: dict,
    publish_result: bool,
    reassemble: Callable[[Path | None], dict] | None = None,
) -> dict:
    """Validate the datasets, render the reports and publish them (one publication at a time);
    without ``publish_result``, write them to ``<out>/previews`` only. Returns where they are
    and the manifest published. If another run published while this one computed, the
    provinces this run carries over are taken again from that newer publication
    (``reassemble``), so a publication never brings back rows older than the current ones."""
    prepared = _prepare(settings, assembled, publish_result)
    notes: list[str] = []  # what the publication did besides publishing (for the kume-outputs artifact)
    if publish_result:
        # A nightly run and an operator's rerun may compute at the same time; the later one to
        # reach this point waits for its turn: the kume-publish slot on a real Prefect server,
        # and the file lock on the output root (kume.publication).
        with publication_turn(settings, prepared["manifest"], _log):
            latest = current_run(settings.out_dir)
            if reassemble and latest != prepared["manifest"].get("previous_publication"):
                _log(f"run {latest} was published meanwhile: carrying provinces over from it")
                again = reassemble(settings.out_dir / "current" if latest else None)
                if again["manifest"]["run_id"] == prepared["manifest"]["run_id"]:  # the same rows
                    prepared["manifest"] = {**again["manifest"], "sql": prepared["manifest"]["sql"]}
                else:
                    prepared = _prepare(settings, again, publish_result)
                    assembled = again
            gone = any(not copy.folder.is_dir() for copy in prepared["copies"].values())
            if gone or (prepared["in_place"] and not store.snapshot_in_place(settings.out_dir, prepared["run_id"])):
                # what it was to be copied from, or itself, pruned meanwhile: written whole
                prepared = {**_prepare(settings, assembled, publish_result), "manifest": prepared["manifest"]}
            target = publish(
                settings.out_dir,
                prepared["manifest"]["run_id"],
                prepared["datasets"],
                prepared["manifest"],
                sql=prepared["sink"],
                keep=settings.keep_runs,
                lock_timeout_seconds=settings.publish_lock_timeout_seconds,
                reports=prepared["reports"],
                log=lambda message: (_log(message), notes.append(message)),
                copies=prepared["copies"],
            )
    else:
        target = write_snapshot(
            prepared["root"],
            prepared["manifest"]["run_id"],
            prepared["datasets"],
            prepared["manifest"],
            prepared["reports"],
            prepared["copies"],
        )
    if not prepared["in_place"]:  # written from these staged files: later runs may copy them
        remember_published(settings.work_dir, prepared["staged"], target)
    manifest = prepared["manifest"]
    _log(f"{'published' if publish_result else 'preview of'} run {manifest['run_id']} in {target}")
    return {
        "manifest": manifest,
        "run": str(target),
        "reports": str(target / "reports" / "index.html"),
        "current": str(settings.out_dir / "current") if publish_result else None,
        "sql": manifest["sql"],
        "notes": notes,
    }


def resolve_provinces(names: list[str] | None, ref: Reference) -> list[int]:
    """Plate codes for province names, ASCII names or plate codes; all 81 when empty."""
    if not names:
        return ref.provinces.plate_code.tolist()
    plates = []
    for name in names:
        plate = ref.plate_code(name)
        if not plate:
            raise KumeError(f"unknown province {name!r}")
        plates.append(plate)
    return sorted(set(plates))


def _flow_run_name() -> str:
    """'nightly-all-provinces', 'rerun-samsun-trabzon': the deployment, then the provinces."""
    request = flow_run.parameters.get("request") or {}
    provinces = request.get("provinces") if isinstance(request, dict) else request.provinces
    provinces = provinces or []
    label = "-".join(fold_key(p) for p in provinces[:4]) + ("-and-more" if len(provinces) > 4 else "")
    return f"{_deployment_name() or 'kume'}-{label or 'all-provinces'}"


def _deployment_name() -> str | None:
    """The name of the run's deployment; None for a run without one, as the flow run in hand says
    (``prefect.runtime.deployment`` reads the run from the API again to find it has none: 37 ms)."""
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None and context.flow_run.deployment_id is None:
        return None
    return deployment.name


def _provinces_label(names: list[str], every: int) -> str:
    """'samsun-trabzon', 'adana-ankara-antalya-aydin-and-more', 'all-provinces': a run's
    provinces in a task's name."""
    if len(names) == every:
        return "all-provinces"
    return "-".join(fold_key(name) for name in names[:4]) + ("-and-more" if len(names) > 4 else "")


def _cached(task: Task, force: bool, *args: object) -> dict | str | None:
    """Run a cached task; if the staged files its cached result names are gone, run it again.
    What the task freed goes back to the system before the next one (``release_memory``)."""
    return _present(task, task.with_options(refresh_cache=force)(*_as_given(args)), args)


def _present(task: Task, result: dict | str | None, args: tuple) -> dict | str | None:
    if not store.outputs_present(result):
        _log(f"{task.name}: the staged files of the cached result are gone; computing again")
        result = task.with_options(refresh_cache=True)(*_as_given(args))
    release_memory()
    return result


def _started(task: Task, force: bool, beside: bool, *args: object, background: bool = False) -> Callable[[], dict]:
    """Start a cached task (``_cached``) whose last parameter is the process to do its work in;
    return what waits for its result. ``beside``: the task runs in a thread of the task runner
    while the flow goes on with the next tasks, its work in a process forked for it now (between
    tasks: ``OwnProcess``); else it runs now, here, as it does when its result is in the cache
    (``_in_cache``: no process is forked for a task that has nothing to do)."""
    if not beside or (not force and _in_cache(task, args)):
        result = _cached(task, force, *args, None)
        return lambda: result
    process = OwnProcess(background)
    future = task.with_options(refresh_cache=force).submit(*_as_given((*args, process)))

    @functools.cache
    def result() -> dict:
        try:
            return _present(task, future.result(), (*args, None))
        finally:
            process.close()

    return result


def _in_cache(task: Task, args: tuple) -> bool:
    """Whether ``task`` called with ``args`` (all but its process) will find its result in
    Prefect's cache: its key (``cache_key_fn``) has a record in the task's result store, as
    Prefect's task engine asks. An unchanged nightly run forked three processes for nothing
    (50 ms each, their start and end)."""
    parameters = dict(zip(inspect.signature(task.fn).parameters, args, strict=False))
    key = task.cache_key_fn(None, parameters)
    return key is not None and get_result_store().update_for_task(task, _sync=True).exists(key)


def stages_beside() -> bool:
    """Whether independent stages run at once, each in a process of its own: where the flow run's
    tasks run in its threads (not on Dask's workers, which would run the submitted ones) and
    this process may fork."""
    return isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner) and may_fork()


def _as_given(arguments: tuple) -> list[opaque]:
    """A task's arguments, for Prefect to take as they are rather than walk every list and dict
    inside them for futures (a source's files and quality rows: thousands of values): they are
    results already, never futures."""
    return [opaque(argument) for argument in arguments]


def task_runner(settings: Settings) -> TaskRunner:
    """The Dask cluster at ``KUME_DASK_SCHEDULER`` when set, else threads of this process."""
    if settings.dask_scheduler:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_scheduler)
    return ThreadPoolTaskRunner()


class SettingsTaskRunner(ThreadPoolTaskRunner):
    """The flow's task runner, chosen when a flow run starts rather than at import: Prefect's
    engine enters ``duplicate()`` of the flow's runner, which is ``task_runner`` of the settings
    in force then (``kume run``'s, or the worker's ``KUME_*``)."""

    def duplicate(self) -> TaskRunner:
        return task_runner(current_settings())


@flow(name="kume-selection", flow_run_name=_flow_run_name, log_prints=True, task_runner=SettingsTaskRunner())
def select_clusters(request: RunRequest = RunRequest()) -> dict:  # noqa: B008 (a frozen default)
    """Select the cluster sectors of the requested provinces (all 81 by default), publish the
    datasets and reports, and return the run's manifest. A problem with the inputs, the
    parameters or the publication ends the run Failed with a message naming the province, the
    file and the rule; the previous publication stays current. Where it reads and writes: the
    settings in force (``kume.settings.current_settings``), taken once here and passed down."""
    try:
        with _frozen_for_the_run():
            return _select(request, current_settings())
    except KumeError as error:
        get_run_logger().error(f"run failed: {error}")
        return Failed(message=str(error), data=error)


@contextlib.contextmanager
def _frozen_for_the_run() -> Iterator[None]:
    """What exists when a run starts (Prefect's run machinery, the objects the imports and the
    last runs left) is frozen out of the garbage collector's sight until the run ends, when all
    that is frozen is given back (the collector cannot give back part): a full collection during
    the run walks only what the run made. Measured at
    national scale: the run's one full collection walked some 0.3 M objects for 0.13-0.17 s and
    found 10 to free, at the start of the registry's reading (which waited for it)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _select(request: RunRequest, settings: Settings) -> dict:
    keep_freed_memory()  # within a stage (``_cached`` releases it between stages)
    ref = Reference(settings.reference_dir)
    parameters = request.selection_parameters()
    plates = resolve_provinces(request.provinces, ref)
    check_reference_year(
        parameters.reference_year, settings.sgk_folders, settings.data_dir
    )  # before any work (the UI's form)
    started = datetime.now(UTC)
    paths = store.Paths(
        settings.sources_dir,
        settings.reference_dir,
        settings.expectations_dir,
        settings.work_dir,
        settings.resolved_agency_db_url(),
        inbox_dir=settings.inbox_dir,
        cache_dir=settings.ingest_cache_dir,
        force=request.force,
    )
    store.keep_file_hashes(settings.work_dir)
    store.code_fingerprint()  # in every stage's key: read once here, not in the first source's task (0.1 s)
    ingest = ingest_source.with_options(
        retries=settings.source_attempts - 1,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.source_backoff_seconds),
    )
    beside = stages_beside()
    # Sources read one after another, each on every core; then a large one is validated in a
    # process of its own while the others are validated here (Great Expectations contexts are not
    # shared across threads). Read beside a large one's validation, the others had one core.
    ingested = {source: _cached(ingest, request.force, source, paths) for source in ALL_SOURCES}
    large = {source: beside and stages.rows_in(read) >= stages.LARGE_SOURCE_ROWS for source, read in ingested.items()}
    validated = {
        source: _started(validate_source, request.force, large[source], source, ingested[source], paths)
        for source in sorted(ALL_SOURCES, key=lambda source: not large[source])  # the large ones started first
    }
    sources = {source: validated[source]() for source in ALL_SOURCES}
    stages.check_national_sources(sources)
    accepted = stages.accepted_paths(sources)
    # the definitions beside the indicators (both from the SGK employment, on one core each),
    # the selection history's candidates beside the scoring (relatedness, whose matrix products
    # use every core, runs alone)
    defining = _started(
        compute_definitions, request.force, beside, paths, accepted["sgk_employment"], parameters, background=True
    )
    computed = _cached(compute_indicators, request.force, paths, accepted, parameters)
    related = _cached(compute_relatedness, request.force, paths, computed, parameters)
    listing = _started(history_candidates, request.force, beside, paths, sources, computed, parameters)
    year, candidates = computed["reference_year"], related["outputs"]["candidates"]
    if parameters.candidates == "cluster":
        defined = defining()
        clustered = _cached(cluster_candidates, request.force, paths, sources, computed, defined, parameters)
        candidates = clustered["outputs"]["candidates"]
    label = _provinces_label([ref.province_name(plate) for plate in plates], len(ref.provinces))
    score = score_provinces.with_options(refresh_cache=request.force)
    scored = score.submit(paths, candidates, plates, label, year, parameters).result()  # on a Dask worker, if any
    if not store.outputs_present(scored):
        scored = _cached(score_provinces, True, paths, candidates, plates, label, year, parameters)
    score_files = [scored] if scored else []
    history = _cached(compute_history, request.force, paths, listing(), computed, parameters, plates)
    defined = defining()
    national = {
        **{name: related["outputs"][name] for name in stages.RELATEDNESS_DATASETS},
        "cluster_definitions": defined["outputs"]["cluster_definitions"],
        "selection_history": history["outputs"]["selection_history"],
    }
    if request.backtest:
        tested = _cached(run_backtest, request.force, paths, sources, computed, parameters)
        national["backtest"] = tested["outputs"]["backtest"]
    current = settings.out_dir / "current"
    trigger = {
        "deployment": _deployment_name(),
        "force": request.force,
        "publish": request.publish,
        "backtest": request.backtest,
        "reason": request.reason or None,
    }
    run = {
        "flow_run_id": str(flow_run.get_id()),
        "started_at": started.isoformat(),
        "code_version": code_version(PROJECT_ROOT),
        "package_versions": package_versions(),  # part of the run id (tasks.publish.snapshot.run_identity)
        "trigger": trigger,
    }

    def reassemble(previous: Path | None) -> dict:
        """The run's datasets again, carrying provinces over from ``previous``."""
        carried_from = previous if stages.carries_over(previous, sources, national, plates) else None
        arguments = (paths, sources, computed, national, score_files, parameters, plates, run, carried_from)
        assembled = assemble_run.with_options(refresh_cache=request.force)(*_as_given(arguments))
        if not store.outputs_present({"outputs": assembled["datasets"]}):
            _log("assemble: the staged files of the cached result are gone; assembling again")
            assembled = assemble_run.with_options(refresh_cache=True)(*_as_given(arguments))
        assembled = {**assembled, "manifest": stages.with_run(assembled["manifest"], run, previous)}
        _selection_artifact(assembled, plates, year, request.publish)
        return assembled

    assembled = reassemble(current if current.exists() else None)
    create_markdown_artifact(key="kume-data-quality", markdown=quality_markdown(assembled["manifest"]))
    locations = publish_run(*_as_given((settings, assembled, request.publish, reassemble)))
    manifest = locations.pop("manifest")
    create_markdown_artifact(key="kume-outputs", markdown=_outputs_markdown(manifest, locations))
    store.save_file_hashes(settings.work_dir)
    removed = store.prune_work(settings.work_dir, settings.work_retention_days)
    if removed:
        _log(f"work folder: removed {removed} staged files unused for {settings.work_retention_days:g} days")
    if store.prune_read_cache(paths, settings.work_retention_days):
        _log(f"read cache: removed what earlier reader code read, unused for {settings.work_retention_days:g} days")
    return {**manifest, "locations": locations}


def _selection_artifact(assembled: dict, plates: list[int], year: int, published: bool) -> None:
    """The operator's table of the selection of the run's provinces (``kume-selection``)."""
    manifest = assembled["manifest"]
    carried = sum(1 for origin in (manifest.get("provinces") or {}).values() if origin["carried_over"])
    create_table_artifact(
        key="kume-selection",
        table=selection_table(store.read_frame(assembled["datasets"]["selection"]), plates),
        description=f"Selection of run {manifest['run_id']}, reference year {year}"
        + (f"; {carried} provinces carried over unchanged from earlier runs (see kume-outputs)" if carried else "")
        + ("" if published else " (preview, not published)"),
    )


def _outputs_markdown(manifest: dict, locations: dict) -> str:
    lines = [f"# Outputs of run {manifest['run_id']}", ""]
    if locations["current"]:
        lines.append(f"- Current publication (what consumers read): `{locations['current']}`")
    else:
        lines.append("- Not published (a preview): the current publication is unchanged")
    lines += [
        f"- This run's datasets and manifest: `{locations['run']}`",
        f"- Reports: [{locations['reports']}]({Path(locations['reports']).resolve().as_uri()})",
    ]
    if locations["sql"]:
        lines.append(f"- SQL tables `kume_selection`, `kume_indicators`: `{locations['sql']}`")
    lines += [f"- {note}" for note in locations.get("notes") or []]
    reason = manifest["trigger"]["reason"]
    trigger = manifest["trigger"]["deployment"] or "direct call"
    lines += ["", f"Trigger: {trigger}" + (f", reason: {reason}" if reason else "")]
    lines += origins_markdown(manifest)
    return "\n".join(lines)
