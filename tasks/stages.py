"""The pipeline's stages as units of work over Parquet files in a work folder: each reads
what the previous stage wrote and writes its own output, so stages talk through datasets,
not through each other's internals. Prefect wraps these in ``flows/``; nothing here imports it.

Staged files are named by their content (``<name>-<sha256 prefix>.parquet``): the same rows
always land at the same path. A stage's cache key is then a hash of the code, the reference
tables and expectation suites, its parameters, and the paths it reads (or, for ingestion, the
content hashes of the input files): unchanged inputs give the same key at every stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from schemas.parameters import SelectionParameters
from tasks import sector_facts
from tasks.errors import InputDataError, KumeError
from tasks.indicators import compute_indicators, ellison_glaeser
from tasks.ingest import IngestError, file_sha256, ingest_agency_db, ingest_files, reader_fingerprint
from tasks.publish import read_dataset, run_identity
from tasks.reference import Reference
from tasks.scoring import score_candidates
from tasks.selection import build_selection, consultation_review, sector_names
from tasks.validate import load_suite, validate

# A failed file of a national source touches every province: the run publishes nothing and the
# previous publication stays current. A failed file of a province source touches the provinces
# it covered when last read: they keep their previous selection, the others publish.
NATIONAL_SOURCES = ("sgk_employment", "exports_by_sector", "agency_db")
FILE_SOURCES = (
    "chamber_registry",
    "exporter_exports",
    "sgk_employment",
    "exports_by_sector",
    "capacity_register",
    "consultation",
)
ALL_SOURCES = (*FILE_SOURCES, "agency_db")
Log = Callable[[str], None]


@dataclass(frozen=True)
class Paths:
    """Where a run reads and stages its work."""

    sources_dir: Path
    reference_dir: Path
    expectations_dir: Path
    work_dir: Path  # staged tables, named by content: <out>/work/
    agency_db_url: str
    inbox_dir: Path | None = None  # new files dropped by hand: data/inbox/<source>/
    cache_dir: Path | None = None  # files already read, by content hash: <out>/ingested/
    force: bool = False  # read every file again, ignoring the cache

    def source_dirs(self, source: str) -> list[Path]:
        """The shipped folder of a file source, then its inbox (whose files count as newer)."""
        return [self.sources_dir / source, *([self.inbox_dir / source] if self.inbox_dir else [])]


def stage(frame: pd.DataFrame, paths: Paths, name: str) -> str:
    """Write ``frame`` to the work folder, named by its content; return the path."""
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    incoming = paths.work_dir / f".{name}-{uuid.uuid4().hex}.parquet"
    frame.to_parquet(incoming, index=False)
    target = paths.work_dir / f"{name}-{file_sha256(incoming)[:16]}.parquet"
    os.replace(incoming, target)
    return str(target)


def outputs_present(result: dict | str | None) -> bool:
    """Whether the staged files a (possibly cached) stage result names still exist; touches
    them so that pruning by age keeps what runs still use."""
    if result is None:
        return True
    files = [result] if isinstance(result, str) else [p for p in result.get("outputs", {}).values() if p]
    if not all(Path(f).exists() for f in files):
        return False
    for file in files:
        os.utime(file)
    return True


def prune_work(work_dir: Path, max_age_days: float) -> int:
    """Remove staged files no run has used for ``max_age_days``; returns how many."""
    cutoff = time.time() - max_age_days * 86400
    old = [f for f in work_dir.glob("*.parquet") if f.stat().st_mtime < cutoff] if work_dir.exists() else []
    for file in old:
        file.unlink(missing_ok=True)
    return len(old)


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


@lru_cache
def code_fingerprint() -> str:
    """Hash of the pipeline's code (``tasks/``, ``schemas/``): any change invalidates every cache."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*root.joinpath("tasks").glob("*.py"), *root.joinpath("schemas").glob("*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:24]


def setup_fingerprint(paths: Paths) -> str:
    """The code, the reference tables and the expectation suites a stage's result depends on."""
    files = sorted(
        [
            *(f for f in paths.reference_dir.rglob("*") if f.is_file()),
            *(f for f in paths.expectations_dir.rglob("*.json")),
        ]
    )
    return fingerprint(code_fingerprint(), [file_sha256(f) for f in files], str(paths.work_dir))


def ingest_key(source: str, paths: Paths) -> str | None:
    """The cache key of reading ``source``: the content hashes of its files (a server database
    has none to hash cheaply: it is read every run, and its rows keep the later keys stable)."""
    if source == "agency_db":
        if not paths.agency_db_url.startswith("sqlite:///"):
            return None
        files = [file_sha256(Path(paths.agency_db_url.removeprefix("sqlite:///")))]
    else:
        files = [
            (str(f.relative_to(folder.parent)), file_sha256(f))
            for folder in paths.source_dirs(source)
            if folder.exists()
            for f in sorted(folder.rglob("*"))
            if f.is_file()
        ]
    return fingerprint("ingest", source, setup_fingerprint(paths), files)


def validate_key(source: str, ingested: dict, paths: Paths) -> str:
    return fingerprint("validate", source, setup_fingerprint(paths), ingested)


INDICATOR_PARAMETERS = {"reference_year", "growth_spans", "universe"}


def indicators_key(paths: Paths, accepted: dict[str, str], parameters: SelectionParameters) -> str:
    """Indicators depend on the accepted rows and the years and universe, not on the weights."""
    return fingerprint(
        "indicators", setup_fingerprint(paths), accepted, parameters.model_dump(include=INDICATOR_PARAMETERS)
    )


def score_key(paths: Paths, candidates: str, plate_code: int, parameters: SelectionParameters) -> str:
    return fingerprint(
        "score", setup_fingerprint(paths), candidates, plate_code, parameters.model_dump(exclude={"report_language"})
    )


def ingest(source: str, paths: Paths, log: Log) -> dict:
    """Read and normalise every file of ``source``; stage the rows; report files and errors.
    A database that cannot be reached raises ``SourceUnavailableError`` (worth a retry)."""
    ref = Reference(paths.reference_dir)
    try:
        if source == "agency_db":
            ingested = ingest_agency_db(paths.agency_db_url, ref)
        else:
            cache = paths.cache_dir / reader_fingerprint(paths.reference_dir) if paths.cache_dir else None
            ingested = ingest_files(
                source, paths.source_dirs(source), ref, progress=log, cache_dir=cache, force=paths.force
            )
    except IngestError as error:
        log(f"{source}: {error}")
        return {"source": source, "files": [], "errors": [str(error)], "outputs": {}}
    for error in ingested.errors:
        log(f"{source}: cannot read {error}")
    outputs = {
        "normalized": stage(ingested.frame, paths, f"{source}.normalized"),
        "rejected": stage(ingested.rejected, paths, f"{source}.rejected"),
    }
    return {"source": source, "files": ingested.files, "errors": ingested.errors, "outputs": outputs}


def validate_source(source: str, ingested: dict, paths: Paths, log: Log) -> dict:
    """Run the source's Great Expectations suite; stage accepted rows and quarantine."""
    ref = Reference(paths.reference_dir)
    staged = ingested["outputs"]
    if "normalized" in staged:
        frame = pd.read_parquet(staged["normalized"])
    else:
        frame = pd.DataFrame(columns=["source_file", "source_row"])
    rejected = pd.read_parquet(staged["rejected"]) if "rejected" in staged else None
    outcome = validate(source, frame, load_suite(paths.expectations_dir, source), suite_parameters(ref), rejected)
    outputs = {
        "accepted": stage(outcome.accepted, paths, f"{source}.accepted"),
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
        "quality": _quality_rows(source, ingested, outcome.accepted, outcome.quarantine),
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


def _quality_rows(source: str, ingested: dict, accepted: pd.DataFrame, quarantine: pd.DataFrame) -> list[dict]:
    rows = []
    for file in ingested["files"]:
        name = file["file"]
        in_file = _of_file(accepted.source_file, name) if len(accepted) else pd.Series([], dtype=bool)
        bad = quarantine[_of_file(quarantine.file, name)] if len(quarantine) else quarantine
        failed = bad.groupby("rule").size() if len(bad) else pd.Series(dtype=int)
        rows.append(
            {
                "source": source,
                "file": name,
                "sha256": file["sha256"],
                "rows_in": file["rows_in"],
                "rows_accepted": int(accepted[in_file][["source_file", "source_row"]].drop_duplicates().shape[0])
                if len(accepted)
                else 0,
                "rows_quarantined": int(bad[["file", "row"]].drop_duplicates().shape[0]) if len(bad) else 0,
                "failed_rules": ", ".join(f"{rule} x{count}" for rule, count in failed.items()) or None,
                "error": None,
            }
        )
    for error in ingested["errors"]:
        rows.append(
            {
                "source": source,
                "file": None,
                "sha256": None,
                "rows_in": 0,
                "rows_accepted": 0,
                "rows_quarantined": 0,
                "failed_rules": None,
                "error": error,
            }
        )
    return rows


def _of_file(labels: pd.Series, name: str) -> pd.Series:
    """Rows of file ``name`` (a database's rows are labelled ``<file>:<table>``)."""
    labels = labels.astype(str)
    return labels.eq(name) | labels.str.startswith(f"{name}:")


def accepted_paths(sources: dict[str, dict]) -> dict[str, str]:
    """Source -> its staged accepted rows, from the validation results."""
    return {source: info["outputs"]["accepted"] for source, info in sources.items()}


def indicators(paths: Paths, accepted: dict[str, str], parameters: SelectionParameters, log: Log) -> dict:
    """Province x class indicators for every year, growth over every span, concentration, and
    the scoring candidates of the reference year (latest in the data unless given)."""
    ref = Reference(paths.reference_dir)
    sgk = pd.read_parquet(accepted["sgk_employment"])
    if sgk.empty:
        raise InputDataError("no accepted SGK employment rows: nothing to compute indicators from")
    facts, region_totals, national_totals = sector_facts.sgk_tables(sgk)
    year = parameters.reference_year or int(facts.year.max())
    if year not in set(facts.year):
        raise InputDataError(f"reference year {year} is not in the SGK data ({facts.year.min()}-{facts.year.max()})")
    exports, unallocated = sector_facts.allocate_exports(
        pd.read_parquet(accepted["exports_by_sector"]), facts, ref.exporter_sector_of_class()
    )
    registry = pd.read_parquet(accepted["chamber_registry"])
    registry_features = sector_facts.registry_features(registry)
    facts = facts.merge(exports, on=["region_code", "sector_code", "year"], how="left")
    facts = facts.merge(
        sector_facts.turnover_usd(registry_features, ref.usd_try_rates, year),
        on=["region_code", "sector_code", "year"],
        how="left",
    )
    if parameters.universe:  # the published C totals are all manufacturing, not this universe
        region_totals = None
        national_totals = national_totals[national_totals.sector_code != "*"]
    computed = compute_indicators(facts, region_totals, national_totals, parameters.growth_spans, parameters.universe)
    names = ref.names_by_plate
    class_names = dict(zip(ref.nace_classes.nace_class, ref.nace_classes.name_en, strict=True))

    def publishable(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.rename(columns={"region_code": "plate_code"})
        return frame.assign(province=frame.plate_code.map(names), sector_name=frame.sector_code.map(class_names))

    plants = registry.rename(columns={"plate_code": "region_code", "nace_class": "sector_code"})
    concentration = computed.concentration.merge(
        ellison_glaeser(plants).assign(year=year), on=["sector_code", "year"], how="left"
    )
    candidates = sector_facts.candidate_table(
        computed.table,
        registry_features,
        sector_facts.agency_features(pd.read_parquet(accepted["agency_db"])),
        sector_facts.province_features(ref.life_index),
        year,
    )
    log(f"indicators: {len(computed.table)} province x class x year rows; {len(candidates)} candidates in {year}")
    return {
        "reference_year": year,
        "totals_used": computed.totals_used,
        "unallocated_exports_usd": round(unallocated, 2),
        "outputs": {
            "indicators": stage(publishable(computed.table), paths, "indicators"),
            "growth": stage(publishable(computed.growth), paths, "growth"),
            "concentration": stage(
                concentration.assign(sector_name=concentration.sector_code.map(class_names)), paths, "concentration"
            ),
            "candidates": stage(candidates, paths, "candidates"),
        },
    }


def score_province(paths: Paths, candidates: str, plate_code: int, parameters: SelectionParameters) -> str | None:
    """Score and rank one province's candidate sectors; the staged scores, or None without candidates."""
    frame = pd.read_parquet(candidates, filters=[("plate_code", "=", plate_code)])
    if frame.empty:
        return None
    try:
        scores = score_candidates(frame, parameters)
    except ValueError as error:
        province = Reference(paths.reference_dir).province_name(plate_code)
        raise InputDataError(f"scoring {province} (plate {plate_code}): {error}") from error
    return stage(scores, paths, f"scores-{plate_code}")


class NationalInputError(KumeError, RuntimeError):
    """A national source could not be read: nothing is published."""


def check_national_sources(sources: dict[str, dict]) -> None:
    """Stop the run before publishing when a national source has a file that failed."""
    failed = [f"{source}: {error}" for source in NATIONAL_SOURCES for error in sources[source]["errors"]]
    if failed:
        raise NationalInputError(
            "national input could not be read, the previous publication stays current: " + "; ".join(failed)
        )


def affected_provinces(sources: dict[str, dict], previous_manifest: dict | None) -> dict[int, list[str]]:
    """Provinces whose province-level input failed: plate code -> the failed files. A file is
    attributed to the provinces it covered in the previous publication (same name)."""
    covered: dict[str, list[int]] = {}
    for source, info in (previous_manifest or {}).get("inputs", {}).items():
        for file in info.get("files") or []:
            covered[f"{source}/{file['file']}"] = file.get("plate_codes", [])
    affected: dict[int, list[str]] = {}
    for source, info in sources.items():
        for error in info["errors"]:
            label = error.split(": ", 1)[0]
            for plate in covered.get(f"{source}/{label}", []):
                affected.setdefault(plate, []).append(f"{source}/{label}")
    return affected


def carry_over(new: pd.DataFrame, previous_dir: Path, dataset: str, plates: list[int]) -> pd.DataFrame:
    """Replace the rows of ``plates`` by the previous publication's, marked with its run id."""
    if not plates:
        return new.assign(carried_over_from=None)
    old = read_dataset(previous_dir / dataset, dataset)
    old = old[old.plate_code.isin(plates)]
    old = old.assign(carried_over_from=old.run_id)
    return pd.concat([new[~new.plate_code.isin(plates)].assign(carried_over_from=None), old], ignore_index=True)


def assemble(
    paths: Paths,
    sources: dict[str, dict],
    computed: dict,
    score_files: list[str],
    parameters: SelectionParameters,
    plates: list[int],
    run: dict,
    previous_dir: Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The datasets to publish and the run manifest: run id (a hash of input hashes, parameters
    and code version), input files with their hashes and row counts, totals used, outputs.
    Provinces whose inputs failed keep their rows of ``previous_dir`` (the current publication)."""
    ref = Reference(paths.reference_dir)
    scores = pd.concat([pd.read_parquet(f) for f in score_files], ignore_index=True)
    input_hashes = {f"{s}/{f['file']}": f["sha256"] for s, info in sources.items() for f in info["files"]}
    parameter_record = {**parameters.model_dump(), "provinces": plates, "reference_year": computed["reference_year"]}
    run_id = run_identity(input_hashes, parameter_record, run["code_version"])
    names = ref.names_by_plate
    scores = scores.drop(columns=["sector_name"], errors="ignore").merge(
        sector_names(ref)[["sector_code", "sector_name"]], on="sector_code", how="left"
    )
    scores = scores.assign(run_id=run_id, province=scores.plate_code.map(names), year=computed["reference_year"])
    consultation = pd.read_parquet(sources["consultation"]["outputs"]["accepted"])
    selection = build_selection(scores, ref, consultation, parameters.top_n)
    review = consultation_review(consultation, scores)
    previous_manifest = None
    if previous_dir and (previous_dir / "manifest.json").exists():
        previous_manifest = json.loads((previous_dir / "manifest.json").read_text(encoding="utf-8"))
    affected = affected_provinces(sources, previous_manifest)
    kept = sorted(p for p in affected if p in plates)
    scores = carry_over(scores.assign(run_id=run_id), previous_dir, "scores", kept)
    selection = carry_over(selection.assign(run_id=run_id), previous_dir, "selection", kept)
    quality = pd.DataFrame([row for info in sources.values() for row in info["quality"]])
    quarantine = pd.concat(
        [pd.read_parquet(info["outputs"]["quarantine"]) for info in sources.values()], ignore_index=True
    )
    staged = computed["outputs"]
    datasets = {
        "indicators": pd.read_parquet(staged["indicators"]),
        "growth": pd.read_parquet(staged["growth"]),
        "concentration": pd.read_parquet(staged["concentration"]),
        "scores": scores,
        "consultation": review.assign(run_id=run_id, province=review.plate_code.map(names)),
        "selection": selection,
        "quality": quality.assign(run_id=run_id),
        "quarantine": quarantine.assign(run_id=run_id),
    }
    manifest = {
        "run_id": run_id,
        **run,
        "finished_at": datetime.now(UTC).isoformat(),
        "parameters": parameter_record,
        "inputs": {
            source: {
                k: info.get(k)
                for k in ("files", "errors", "rows_in", "rows_accepted", "rows_quarantined", "rule_failures")
            }
            for source, info in sources.items()
        },
        "totals_used": computed["totals_used"],
        "unallocated_exports_usd": computed["unallocated_exports_usd"],
        "status": "partial" if any(info["errors"] for info in sources.values()) else "complete",
        "provinces_carried_over": {str(p): affected[p] for p in kept},
        "carried_over_from": previous_manifest["run_id"] if kept else None,
    }
    return datasets, manifest
