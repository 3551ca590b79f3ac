"""The pipeline's stages as units of work over Parquet files in a work folder: each reads
what the previous stage wrote and writes its own output, so stages talk through datasets,
not through each other's internals. Prefect wraps these in ``flows/``; nothing here imports it.

Each stage stages its tables in the content-addressed store (``tasks.store``, which also holds
every stage's cache key); the published datasets are made by their builders in
``tasks.datasets``; this module reads, orders and carries over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from schemas.outputs import DATASETS, SCORE_INDICATORS
from schemas.parameters import SelectionParameters
from tasks.datasets.backtest import build_backtest
from tasks.datasets.cluster_definitions import build_cluster_definitions
from tasks.datasets.complexity import build_complexity
from tasks.datasets.concentration import build_concentration
from tasks.datasets.consultation import assessments_before_schema_4, build_consultation
from tasks.datasets.growth import build_growth
from tasks.datasets.indicators import build_indicators
from tasks.datasets.names import names_before_schema_4
from tasks.datasets.opportunities import build_opportunities
from tasks.datasets.quality import build_quality, quality_rows
from tasks.datasets.quarantine import build_quarantine
from tasks.datasets.relatedness import build_relatedness
from tasks.datasets.scores import build_scores
from tasks.datasets.selection import build_selection
from tasks.datasets.selection_history import build_selection_history
from tasks.errors import InputDataError, InputFileError, NationalInputError, printable
from tasks.methods import sector_facts
from tasks.methods.backtest import backtest as backtest_method
from tasks.methods.backtest import summary as backtest_summary
from tasks.methods.colocation import define_clusters
from tasks.methods.history import COLUMNS as HISTORY_COLUMNS
from tasks.methods.history import history_years, score_history, yearly_candidates
from tasks.methods.model import (
    MODEL_COLUMNS,
    ModelInputs,
    compute_model,
    model_candidates,
    read_columns,
    reference_year,
    relatedness_of,
    window_relatedness,
    with_strength,
)
from tasks.methods.scoring import score_candidates
from tasks.publish.snapshot import read_dataset, run_identity
from tasks.reference import Reference
from tasks.sources import NATIONAL_SOURCES
from tasks.sources.agency_db import ingest_agency_db
from tasks.sources.files import IngestedSource, ingest_files, set_aside_raw_text, values_only
from tasks.store import (
    Paths,
    StagedParts,
    View,
    read_cache_dir,
    read_frame,
    read_staged,
    stage,
    staged_schema,
    staging,
)
from tasks.validate import RAW_PREFIX, RAW_TEXT, RECORD_KEY, load_suite, validate, validate_normalized

Log = Callable[[str], None]


def ingest(source: str, paths: Paths, log: Log) -> dict:
    """Read and normalise every file of ``source``; stage the rows, and beside them the raw text
    their values were parsed from (named in the rows' file, ``RAW_TEXT``); report files and failures:
    ``failed`` (source, file, problem, provinces: what code acts on) and ``errors`` (the same
    failures as one line each, for people). With a read cache, the rows of the files read are
    staged as views of its entries (``tasks.store.View``: not written again), where they can be.
    A database that cannot be reached raises ``SourceUnavailableError`` (worth a retry)."""
    ref = Reference(paths.reference_dir)
    cache_dir = read_cache_dir(paths)
    try:
        with StagedParts(paths, f"{source}.raw") as raw_text:  # the raw text, file by file without a cache
            if source == "agency_db":
                ingested = ingest_agency_db(paths.agency_db_url, ref)
            else:
                ingested = ingest_files(
                    source,
                    paths.source_dirs(source),
                    ref,
                    progress=log,
                    cache_dir=cache_dir,
                    force=paths.force,
                    data_dir=paths.data_dir,
                    raw_text=None if cache_dir else raw_text.write,
                )
            if ingested.parts is None:  # the database's, or files not viewed: all at once
                rows = set_aside_raw_text(ingested.rows, raw_text.write, keep=[])
    except InputFileError as error:
        log(f"{source}: {printable(error)}")
        failed = [{**error.failure(), "source": source}]
        return {"source": source, "files": [], "errors": [str(error)], "failed": failed, "not_read": [], "outputs": {}}
    for error in ingested.errors:
        log(f"{source}: cannot read {printable(error)}")
    if ingested.parts is None:
        raw = raw_text.path
        rows = stage(rows, paths, f"{source}.normalized", {RAW_TEXT: Path(raw).name} if raw else None, arrow=True)
    else:
        rows, raw = _staged_views(source, ingested, paths)
    outputs = {"normalized": rows, "rejected": stage(ingested.rejected, paths, f"{source}.rejected"), "raw_text": raw}
    return {
        "source": source,
        "files": ingested.files,
        "errors": ingested.errors,
        "failed": [failure.failure() for failure in ingested.failures],
        "not_read": ingested.not_read,
        "outputs": outputs,
    }


def _staged_views(source: str, ingested: IngestedSource, paths: Paths) -> tuple[str, str | None]:
    """A source's rows and their raw text staged as views of the read cache's entries: the
    rows without the duplicates the reader set aside, the raw text of every row read."""
    raw = [name for name in ingested.rows.column_names if name.startswith(RAW_PREFIX)]
    raw_schema = pa.schema([("source_file", pa.large_string()), ("source_row", pa.int64())])
    raw_schema = pa.schema([*raw_schema, *((name, pa.large_string()) for name in raw)])
    parts = [part._replace(dropped=()) for part in ingested.parts]
    raw_text = stage(View(parts, raw_schema), paths, f"{source}.raw") if raw else None
    metadata = {RAW_TEXT: Path(raw_text).name} if raw_text else None
    values = View(ingested.parts, values_only(ingested.rows).schema)
    return stage(values, paths, f"{source}.normalized", metadata), raw_text


LARGE_SOURCE_ROWS = 500_000  # a source worth validating in a process of its own (a national registry: 2 M)


def rows_in(ingested: dict) -> int:
    """The rows the files of an ingested source held (``ingest``)."""
    return sum(file.get("rows_in") or 0 for file in ingested["files"])


def validate_source(source: str, ingested: dict, paths: Paths, log: Log) -> dict:
    """Run the source's Great Expectations suite on the columns it reads; stage the accepted
    rows (every column but the raw text, which only the quarantine shows) and the quarantine."""
    ref = Reference(paths.reference_dir)
    staged, suite = ingested["outputs"], load_suite(paths.expectations_dir, source)
    normalized = staged.get("normalized")
    rejected = read_frame(staged["rejected"]) if "rejected" in staged else None
    if normalized:
        outcome = validate_normalized(source, normalized, suite, suite_parameters(ref), rejected)
    else:
        outcome = validate(source, pd.DataFrame(columns=RECORD_KEY), suite, suite_parameters(ref), rejected)
    outputs = {
        "accepted": stage(outcome.accepted, paths, f"{source}.accepted", arrow=True),
        "quarantine": stage(outcome.quarantine, paths, f"{source}.quarantine"),
    }
    log(
        f"{source}: {outcome.rows_in} rows in = {outcome.rows_accepted} accepted + "
        f"{outcome.rows_quarantined} quarantined"
    )
    return {
        **ingested,
        "rows_in": outcome.rows_in,
        "rows_accepted": outcome.rows_accepted,
        "rows_quarantined": outcome.rows_quarantined,
        "rule_failures": outcome.rule_failures,
        "quality": quality_rows(source, ingested, outcome.accepted_records, outcome.quarantine),
        "outputs": outputs,
    }


def suite_parameters(ref: Reference) -> dict:
    """Values the expectation suites refer to as ``$PARAMETER``."""
    classes = ref.nace_classes.nace_class.tolist()
    return {
        "manufacturing_classes": classes,
        "manufacturing_classes_and_total": [*classes, "C"],
        "manufacturing_divisions": sorted(ref.nace_classes.division.unique()),
        "current_year": datetime.now(UTC).year,
    }


def accepted_paths(sources: dict[str, dict]) -> dict[str, str]:
    """Source -> its staged accepted rows, from the validation results."""
    return {source: info["outputs"]["accepted"] for source, info in sources.items()}


def indicators(paths: Paths, accepted: dict[str, str], parameters: SelectionParameters, log: Log) -> dict:
    """Province x class indicators for every year, growth over every span, concentration, and
    the scoring candidates of the reference year (latest in the data unless given)."""
    ref = Reference(paths.reference_dir)
    inputs = ModelInputs.read(accepted, ref)
    model = compute_model(inputs, parameters)
    computed, year = model.indicators, model.year
    plants = inputs.chamber_registry[["plate_code", "nace_class", "employees"]]
    concentration = build_concentration(computed.concentration, plants, year, ref)
    del inputs, plants  # the registry's rows: not held while the larger tables are staged
    candidates = model_candidates(model)
    log(f"indicators: {len(computed.table)} province x class x year rows; {len(candidates)} candidates in {year}")
    with staging(paths) as staged:
        outputs = {
            "indicators": staged(build_indicators(computed.table, ref), "indicators"),
            "growth": staged(build_growth(computed.growth, ref), "growth"),
            "concentration": staged(concentration, "concentration"),
            "candidates": staged(candidates, "candidates"),
        }
    return {
        "reference_year": year,
        "totals_used": computed.totals_used,
        "unallocated_exports_usd": round(model.unallocated_exports, 2),
        "outputs": {name: path.result() for name, path in outputs.items()},
    }


RELATEDNESS_DATASETS = ("relatedness", "complexity", "opportunities")  # national, as the indicators
# What relatedness reads of the staged indicators dataset
RELATEDNESS_FACTS = ["plate_code", "sector_code", "year", "employment", "national_sector_employment_cagr"]


def relatedness(paths: Paths, computed: dict, parameters: SelectionParameters, log: Log) -> dict:
    """Relatedness, complexity and opportunities (§6) of every province and class of the staged
    indicators, in the reference ``universe`` (all their classes when None), for every year
    with a full window; and the candidates of the indicators stage with the related-sector
    strength of the reference year (§6.7), which scoring reads."""
    ref = Reference(paths.reference_dir)
    staged = computed["outputs"]
    indicators = read_frame(staged["indicators"], columns=RELATEDNESS_FACTS)
    result = relatedness_of(
        indicators.rename(columns={"plate_code": "region_code"}), parameters, parameters.universe or None
    )
    year = computed["reference_year"]
    candidates = with_strength(read_frame(staged["candidates"]), result.strength, year)
    years = sorted(int(y) for y in result.strength.year.unique())
    span = f"{years[0]}-{years[-1]}" if years else "no year with a full window"
    log(
        f"relatedness: {len(result.pairs)} related pairs, {len(result.opportunities)} opportunities ({span}); "
        f"{int(candidates.relatedness_density.notna().sum())} of {len(candidates)} candidates with a density in {year}"
    )
    with staging(paths) as staged:
        outputs = {
            "relatedness": staged(build_relatedness(result, ref), "relatedness"),
            "complexity": staged(build_complexity(result, ref), "complexity"),
            "opportunities": staged(build_opportunities(result, indicators, ref), "opportunities"),
            "candidates": staged(candidates, "candidates"),
        }
    return {
        "window_years": result.window,
        "outputs": {name: path.result() for name, path in outputs.items()},
    }


def definitions(paths: Paths, sgk_accepted: str, parameters: SelectionParameters, log: Log) -> dict:
    """The data-driven cluster definitions (§7) of the window ending in the reference year (the
    parameters', else the latest of the data, as the indicators stage takes it), from the SGK
    employment of the accepted rows (``sgk_accepted``): the facts that are the indicators'
    employment, so the stage runs beside the indicators rather than after them. Without a full
    window in the data there are none: the dataset is empty and the reason is returned (a run
    scoring clusters then stops)."""
    ref = Reference(paths.reference_dir)
    facts, _, _ = sector_facts.sgk_tables(read_columns(sgk_accepted, MODEL_COLUMNS["sgk_employment"]))
    if facts.empty:
        raise InputDataError("no accepted SGK employment rows: nothing to define clusters from")
    settings = parameters.clusters
    year = reference_year(facts, parameters)
    try:
        result = define_clusters(
            facts,
            end_year=year,
            window=settings.window,
            min_employment=settings.min_employment,
            counts=(settings.min_clusters, settings.max_clusters),
            universe=parameters.universe or None,
        )
    except ValueError as error:
        log(f"cluster definitions: none for {year}: {error}")
        empty = DATASETS["cluster_definitions"][0].empty_table().to_pandas()
        return {"reason": str(error), "outputs": {"cluster_definitions": stage(empty, paths, "cluster_definitions")}}
    published = build_cluster_definitions(result, ref)
    log(
        f"cluster definitions {result.window_years}: {result.count} clusters of {len(result.members)} classes, "
        f"VS-industry {result.vs_industry:.2f}, VS-cluster {result.vs_cluster:.2f}"
    )
    return {
        "reason": None,
        "window_years": result.window_years,
        "outputs": {"cluster_definitions": stage(published, paths, "cluster_definitions")},
    }


def cluster_candidates(
    paths: Paths, sources: dict[str, dict], computed: dict, defined: dict, parameters: SelectionParameters, log: Log
) -> dict:
    """The candidates of a run scoring data-driven clusters (``candidates`` = cluster): the
    clusters of the published definitions (§7), their facts summed over their classes before
    any indicator (``compute_model``'s ``sector_sets``) and their related-sector strength (§6.7)
    computed among the clusters, as the selection history and the backtests compute them."""
    definitions = read_frame(defined["outputs"]["cluster_definitions"])
    year = computed["reference_year"]
    if definitions.empty:
        raise InputDataError(f"candidates = cluster: no cluster definitions for {year}: {defined['reason']}")
    sets = definitions.set_index("sector_code").cluster_id
    model = compute_model(
        ModelInputs.read(accepted_paths(sources), Reference(paths.reference_dir)), parameters, year, sets
    )
    candidates = with_strength(model_candidates(model), window_relatedness(model, parameters).strength, year)
    log(f"cluster candidates: {len(candidates)} province x cluster rows of {sets.nunique()} clusters in {year}")
    return {"outputs": {"candidates": stage(candidates, paths, "cluster-candidates")}}


def history_candidates(
    paths: Paths, sources: dict[str, dict], computed: dict, parameters: SelectionParameters, log: Log
) -> dict:
    """The candidates of every reference year the data allow up to the run's (§8.1), each year's
    from the data up to it only and the snapshot inputs in the run's reference year alone,
    staged for ``history`` to score: they do not depend on the weights, so a rerun with other
    weights reads them. Classes are built on the indicators and candidates the indicators stage
    staged (``computed``), which are not computed again."""
    ref = Reference(paths.reference_dir)
    classes = parameters.candidates == "class"  # the snapshots enter the reference year's candidates, staged
    inputs = ModelInputs.read(accepted_paths(sources), ref, snapshots=not classes)
    settings = parameters.model_copy(update={"reference_year": computed["reference_year"]})
    years = history_years(inputs, settings)
    frame = pd.DataFrame()
    if years:
        indicators = candidates = None
        if classes:
            indicators = scored_indicators(computed["outputs"]["indicators"])
            candidates = read_frame(computed["outputs"]["candidates"])
        frame = yearly_candidates(inputs, settings, years, indicators=indicators, candidates=candidates)
    return {"years": years, "outputs": {"history_candidates": stage(frame, paths, "history_candidates")}}


def history(
    paths: Paths,
    listed: dict,
    computed: dict,
    parameters: SelectionParameters,
    log: Log,
    provinces: list[int] | None = None,
) -> dict:
    """The selection of every reference year the data allow up to the run's (§8.1): the top
    three of every province (of the run's ``provinces``) among the candidates ``history_candidates``
    staged (``listed``), staged (``assemble`` builds the dataset with the run that computed it,
    and carries over the provinces the run does not recompute, as their selection)."""
    years = listed["years"]
    frame = pd.DataFrame(columns=HISTORY_COLUMNS)
    if years:
        candidates = read_frame(listed["outputs"]["history_candidates"])
        frame = score_history(candidates, parameters, computed["reference_year"], provinces=provinces)
    span = f"{years[0]}-{years[-1]}" if years else "no year with a full window and growth span"
    log(f"selection history: {frame.plate_code.nunique()} provinces, {span}")
    return {"years": years, "outputs": {"selection_history": stage(frame, paths, "selection_history")}}


def scored_indicators(path: str) -> pd.DataFrame:
    """The keys and the scored indicators (``SCORE_INDICATORS``) of the staged indicators
    dataset, keyed by ``region_code`` as the model's indicator table is: what the selection
    history reads of it."""
    names = staged_schema(path).names
    columns = [name for name in ["plate_code", "sector_code", "year", *SCORE_INDICATORS] if name in names]
    return read_frame(path, columns=columns).rename(columns={"plate_code": "region_code"})


def backtest(paths: Paths, sources: dict[str, dict], computed: dict, parameters: SelectionParameters, log: Log) -> dict:
    """The backtests of §8 on the accepted inputs (every origin year with a full window and
    the horizon's years in the data, horizons 3 and 5): the ``backtest`` dataset, and its
    summary lines in the log. The whole data, whatever the run's reference year: it tests the
    method, not one run."""
    ref = Reference(paths.reference_dir)
    table = backtest_method(ModelInputs.read(accepted_paths(sources), ref), parameters, progress=log)
    for line in backtest_summary(table):
        log(line)
    origins = sorted(int(year) for year in table.origin_year.unique())
    return {"origins": origins, "outputs": {"backtest": stage(build_backtest(table), paths, "backtest")}}


def score_provinces(
    paths: Paths, candidates: str, plate_codes: list[int], parameters: SelectionParameters
) -> str | None:
    """Score and rank the candidate sectors of the provinces ``plate_codes``, each province
    as if scored alone, all in one pass (``score_candidates`` by plate code); the staged
    scores, or None without candidates. A province that cannot be scored is named."""
    frame = read_frame(candidates, filters=[("plate_code", "in", plate_codes)])
    if frame.empty:
        return None
    try:
        scores = score_candidates(frame, parameters, by=["plate_code"])
    except ValueError:
        for plate_code, rows in frame.groupby("plate_code"):  # which province: each alone
            try:
                score_candidates(rows, parameters)
            except ValueError as error:
                province = Reference(paths.reference_dir).province_name(plate_code)
                raise InputDataError(f"scoring {province} (plate {plate_code}): {error}") from error
        raise
    return stage(scores, paths, "scores")


def check_national_sources(sources: dict[str, dict]) -> None:
    """Stop the run before publishing when a national source has a file that failed."""
    failed = [failure for source in NATIONAL_SOURCES for failure in sources[source]["failed"]]
    if failed:
        raise NationalInputError(failed)


def affected_provinces(sources: dict[str, dict], previous_manifest: dict | None) -> dict[int, list[str]]:
    """Provinces whose province-level input failed: plate code -> the failed files
    (``<source>/<file>``). A failed file is attributed to the provinces it names itself
    (``provinces``, when its reader knew them) and to those it covered in the previous
    publication (same source, same name). Only the failures' fields are read, never a message."""
    covered: dict[tuple[str, str], list[int]] = {}
    for source, info in (previous_manifest or {}).get("inputs", {}).items():
        for file in info.get("files") or []:
            covered[(source, file["file"])] = file.get("plate_codes", [])
    affected: dict[int, list[str]] = {}
    for info in sources.values():
        for failure in info["failed"]:
            key = (failure["source"], failure["file"])
            for plate in sorted({*failure.get("provinces", ()), *covered.get(key, [])}):
                affected.setdefault(plate, []).append("/".join(key))
    return affected


# The datasets with rows per province that a run computes by scoring: a publication carries
# every province of the previous one, and those the run does not recompute keep their rows.
PROVINCE_DATASETS = ("scores", "selection", "consultation", "selection_history")


def parameter_set(parameters: SelectionParameters, reference_year: int) -> dict:
    """Every parameter that decides a province's rows (the report language does not)."""
    return {**parameters.model_dump(exclude={"report_language"}), "reference_year": reference_year}


def manifest_parameter_set(manifest: dict) -> dict:
    """The parameter set of a run, from its manifest's ``parameters`` (they add the provinces)."""
    return {k: v for k, v in manifest["parameters"].items() if k not in ("provinces", "report_language")}


def parameters_id(parameters: dict) -> str:
    """A short, stable name of a parameter set: 12 hex characters of its hash."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:12]


SCHEMA_2_RENAMES = {  # schema 3.0 renamed these (the size comparison may be by employment)
    "turnover_rank": "size_rank",
    "largest_turnover_sector_code": "largest_sector_code",
    "largest_turnover_sector_name": "largest_sector_name",
}


def publication_manifest(previous_dir: Path | None) -> dict | None:
    """The manifest of the publication at ``previous_dir``; None when there is none."""
    if not previous_dir or not (previous_dir / "manifest.json").exists():
        return None
    return json.loads((previous_dir.resolve() / "manifest.json").read_text(encoding="utf-8"))


def carries_over(
    previous_dir: Path | None, sources: dict[str, dict], national: dict[str, str], plates: list[int]
) -> bool:
    """Whether ``assemble`` with the current publication at ``previous_dir`` can make other rows
    than without it: a province of it is not among ``plates``, an input failed (its provinces
    keep their rows), or its backtest is carried over (the run computed none). Read from its
    manifest alone; one that does not say which provinces and which backtest it holds counts as
    carrying over. The flow assembles without the previous publication when this is False, so
    an unchanged run after a changed one finds its assembly in the cache."""
    manifest = publication_manifest(previous_dir)
    if manifest is None:
        return False
    provinces = manifest.get("provinces")
    if not isinstance(provinces, dict) or "backtest_run" not in manifest:
        return True
    failed = any(info["failed"] for info in sources.values())
    backtest = "backtest" not in national and manifest["backtest_run"] is not None
    return failed or backtest or bool({int(plate) for plate in provinces} - set(plates))


def previous_publication(
    previous_dir: Path | None, ref: Reference
) -> tuple[dict | None, dict[str, pd.DataFrame], dict[str, dict]]:
    """The current publication: its manifest, its per-province datasets with the run and the
    parameters behind each row, and those parameter sets by id. Publications before schema
    3.0 lack ``computed_in_run`` and ``parameters_id``: their rows count as computed by the run
    they were carried over from, else by the run that published them, with its parameters.
    Those before 4.0 had the programme cluster's name in ``sector_name``: it is read as
    ``cluster_name``, next to the class's name (``names_before_schema_4``)."""
    manifest = publication_manifest(previous_dir)
    if manifest is None:
        return None, {}, {}
    previous_dir = previous_dir.resolve()  # one snapshot, even if ``current`` is switched meanwhile
    parameter_sets = dict(manifest.get("parameter_sets") or {})
    frames = {}
    for name in PROVINCE_DATASETS:
        if not (previous_dir / name).exists():
            continue
        frame = read_dataset(previous_dir / name, name)
        if "turnover_rank" in frame:  # schema 2: the rank was by registry turnover, null without one
            frame = frame.rename(columns=SCHEMA_2_RENAMES)
            frame["size_basis"] = frame.groupby("plate_code").size_rank.transform(
                lambda ranks: "turnover_registry" if ranks.notna().any() else None
            )
        if "computed_in_run" not in frame:
            origin = frame.carried_over_from if "carried_over_from" in frame else pd.Series(None, index=frame.index)
            frame["computed_in_run"] = origin.fillna(frame.run_id)
        if "parameters_id" not in frame:
            ids = {}
            for run in frame.computed_in_run.unique():
                origin = previous_dir.parent / str(run) / "manifest.json"
                record = json.loads(origin.read_text(encoding="utf-8")) if origin.exists() else manifest
                ids[run] = parameters_id(manifest_parameter_set(record))
                parameter_sets.setdefault(ids[run], manifest_parameter_set(record))
            frame["parameters_id"] = frame.computed_in_run.map(ids)
        frames[name] = assessments_before_schema_4(names_before_schema_4(frame, ref))
    return manifest, frames, parameter_sets


def carry_over(new: pd.DataFrame, old: pd.DataFrame | None, plates: list[int], run_id: str) -> pd.DataFrame:
    """The rows of ``new``, but those of ``plates`` come unchanged from the previous
    publication's ``old``: ``run_id`` becomes this publication's, ``computed_in_run`` and
    ``parameters_id`` stay those of the run that computed them, which ``carried_over_from`` names."""
    fresh = new[~new.plate_code.isin(plates)].assign(carried_over_from=None)
    if not plates or old is None:
        return fresh.reset_index(drop=True)
    kept = old[old.plate_code.isin(plates)]
    kept = kept.assign(run_id=run_id, carried_over_from=kept.computed_in_run)
    for column in kept.columns.intersection(fresh.columns):  # as computed, not as read back from Parquet
        if kept[column].dtype != fresh[column].dtype and len(fresh):
            values = kept[column]
            if pd.api.types.is_datetime64_any_dtype(fresh[column]):  # dates come back as objects
                values = pd.to_datetime(values)
            with suppress(TypeError, ValueError):
                kept[column] = values.astype(fresh[column].dtype)
    return pd.concat([fresh, kept], ignore_index=True)


def assemble(
    paths: Paths,
    sources: dict[str, dict],
    computed: dict,
    national: dict[str, str],
    score_files: list[str],
    parameters: SelectionParameters,
    plates: list[int],
    run: dict,
    previous_dir: Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The datasets this step makes (those of ``staged_datasets`` are published as their stages
    staged them, never read here) and the run manifest: run id (a hash of input hashes,
    parameters and code version), input files with their hashes and row counts, totals used, outputs.
    ``computed`` is the indicators stage's result; ``national`` names the staged national datasets
    of the later stages (relatedness, definitions, and the backtest when it ran: computed for
    every province) and the history stage's rows (``selection_history``: a province's history
    is carried over with its selection). A run without a backtest carries the current publication's over
    (``manifest["backtest_run"]`` names the run that computed it).

    A publication is complete: every province of ``previous_dir`` (the current publication) is
    in it. The run's ``plates`` are recomputed; the other provinces, and those of ``plates``
    whose inputs failed, keep their rows of ``previous_dir`` (scores, selection, consultation),
    with the run and the parameters that computed them. The run id then also names where the
    carried provinces come from, so the same id always means the same rows."""
    ref = Reference(paths.reference_dir)
    input_hashes = {f"{s}/{f['file']}": f["sha256"] for s, info in sources.items() for f in info["files"]}
    parameter_record = {**parameters.model_dump(), "provinces": plates, "reference_year": computed["reference_year"]}
    parameters_used = parameter_set(parameters, computed["reference_year"])
    run_parameters = parameters_id(parameters_used)
    previous_manifest, previous, previous_sets = previous_publication(previous_dir, ref)
    backtest, backtest_run = previous_backtest(previous_dir, previous_manifest, "backtest" in national)
    affected = affected_provinces(sources, previous_manifest)
    origins = (
        previous["scores"].drop_duplicates("plate_code").set_index("plate_code")[["computed_in_run", "parameters_id"]]
        if "scores" in previous
        else pd.DataFrame(columns=["computed_in_run", "parameters_id"])
    )
    kept = sorted(p for p in affected if p in plates and p in origins.index)  # inputs failed
    carried = sorted({*kept, *(int(p) for p in origins.index if p not in plates)})
    composition = {str(p): origins.computed_in_run[p] for p in carried}
    identity = {**parameter_record, "carried_over": composition} if composition else parameter_record
    if "backtest" in national or backtest_run:  # the same id, the same backtest rows
        identity = {**identity, "backtest": backtest_run or "computed"}
    run_id = run_identity(input_hashes, identity, run["code_version"])
    scored = [read_frame(f) for f in score_files]
    sets = read_frame(national["cluster_definitions"]) if parameters.candidates == "cluster" else None
    scores = build_scores(scored, ref, computed["reference_year"], run_id, run_parameters, sets)
    consultation = read_staged(sources["consultation"]["outputs"]["accepted"]).to_pandas()
    selection = build_selection(scores, ref, consultation, parameters.top_n, sets)
    review = build_consultation(consultation, scores)
    history = build_selection_history(read_frame(national["selection_history"]), ref, run_id, run_parameters)
    history = carry_over(history, previous.get("selection_history"), carried, run_id)
    scores = carry_over(scores, previous.get("scores"), carried, run_id)
    selection = carry_over(selection, previous.get("selection"), carried, run_id)
    review = carry_over(review, previous.get("consultation"), carried, run_id)
    quality = build_quality([row for info in sources.values() for row in info["quality"]], run_id)
    quarantine = build_quarantine([read_frame(info["outputs"]["quarantine"]) for info in sources.values()], run_id)
    datasets = {
        "selection_history": history,
        "scores": scores,
        "consultation": review,
        "selection": selection,
        "quality": quality,
        "quarantine": quarantine,
    }
    if "backtest" not in national:
        datasets["backtest"] = backtest
    manifest = {
        "run_id": run_id,
        **run,
        "finished_at": datetime.now(UTC).isoformat(),
        "parameters": parameter_record,
        "parameters_id": run_parameters,
        "parameter_sets": {
            pid: parameters_used if pid == run_parameters else previous_sets.get(pid)
            for pid in sorted({run_parameters, *scores.parameters_id})
        },
        "inputs": {
            source: {
                k: info.get(k)
                for k in (
                    "files",
                    "errors",
                    "failed",
                    "not_read",
                    "rows_in",
                    "rows_accepted",
                    "rows_quarantined",
                    "rule_failures",
                )
            }
            for source, info in sources.items()
        },
        "totals_used": computed["totals_used"],
        "unallocated_exports_usd": computed["unallocated_exports_usd"],
        # a file not read (hidden, .xls, a link outside, ...) makes the run partial, as a failed one
        "status": "partial" if any(info["errors"] or info.get("not_read") for info in sources.values()) else "complete",
        "provinces": province_origins(scores, ref.names_by_plate, carried, kept, affected),
        "provinces_carried_over": {str(p): affected[p] for p in kept},
        "carried_over_from": previous_manifest["run_id"] if carried else None,
        "previous_publication": previous_manifest["run_id"] if previous_manifest else None,
        "backtest_run": run_id if "backtest" in national else backtest_run,
    }
    return datasets, manifest


def with_run(manifest: dict, run: dict, previous_dir: Path | None) -> dict:
    """An assembled manifest with this run's own fields (flow run, start, trigger), the time it
    was assembled and the publication current then (``previous_dir``): an assembly cached by
    content (the same run id) was made by another run, and one that carries nothing over
    (``carries_over``) is assembled, and cached, without the current publication."""
    previous = publication_manifest(previous_dir)
    return {
        **manifest,
        **run,
        "finished_at": datetime.now(UTC).isoformat(),
        "previous_publication": previous["run_id"] if previous else None,
    }


def staged_datasets(computed: dict, national: dict[str, str]) -> dict[str, str]:
    """The published datasets that earlier stages staged whole (the indicators stage's, and the
    national ones of ``national`` but the history, which ``assemble`` carries over): dataset
    name -> staged file, in the publication's order (those ``assemble`` makes come after)."""
    made = computed["outputs"]
    return {
        **{name: made[name] for name in ("indicators", "growth", "concentration")},
        **{name: path for name, path in national.items() if name != "selection_history"},
    }


def previous_backtest(
    previous_dir: Path | None, previous_manifest: dict | None, computed: bool
) -> tuple[pd.DataFrame | None, str | None]:
    """The backtest a run without one publishes: the current publication's, with the run that
    computed it; empty (and no run) when none has one. Not read when the run computed its own."""
    empty = DATASETS["backtest"][0].empty_table().to_pandas()
    if computed or not previous_manifest or not (previous_dir / "backtest").exists():
        return (None if computed else empty), None
    return read_dataset(previous_dir.resolve() / "backtest", "backtest"), previous_manifest.get("backtest_run")


def province_origins(
    scores: pd.DataFrame, names: dict[int, str], carried: list[int], kept: list[int], affected: dict[int, list[str]]
) -> dict[str, dict]:
    """Per province of the publication: the run and parameter set behind its rows, and why
    they were carried over when they were (not among the run's provinces, or inputs failed)."""
    origins = {}
    for row in scores.sort_values("plate_code").drop_duplicates("plate_code").itertuples():
        plate = int(row.plate_code)
        reason = None
        if plate in kept:
            reason = "inputs failed: " + ", ".join(affected[plate])
        elif plate in carried:
            reason = "not among the run's provinces"
        origins[str(plate)] = {
            "province": names.get(plate),
            "computed_in_run": row.computed_in_run,
            "parameters_id": row.parameters_id,
            "carried_over": plate in carried,
            "reason": reason,
        }
    return origins
