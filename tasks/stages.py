"""The pipeline's stages as units of work over Parquet files in a staging folder: each reads
what the previous stage wrote and writes its own output, so stages talk through datasets,
not through each other's internals. Prefect wraps these in ``flows/``; nothing here imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from schemas.parameters import SelectionParameters
from tasks import sector_facts
from tasks.indicators import compute_indicators, ellison_glaeser
from tasks.ingest import IngestError, ingest_agency_db, ingest_files, reader_fingerprint
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
    staging_dir: Path
    agency_db_url: str
    inbox_dir: Path | None = None  # new files dropped by hand: data/inbox/<source>/
    cache_dir: Path | None = None  # files already read, by content hash: <out>/ingested/
    force: bool = False  # read every file again, ignoring the cache

    def staged(self, name: str) -> Path:
        return self.staging_dir / f"{name}.parquet"


def ingest(source: str, paths: Paths, log: Log) -> dict:
    """Read and normalise every file of ``source``; stage the rows; report files and errors."""
    ref = Reference(paths.reference_dir)
    try:
        if source == "agency_db":
            ingested = ingest_agency_db(paths.agency_db_url, ref)
        else:
            directories = [paths.sources_dir / source]
            if paths.inbox_dir:
                directories.append(paths.inbox_dir / source)
            cache = paths.cache_dir / reader_fingerprint(paths.reference_dir) if paths.cache_dir else None
            ingested = ingest_files(source, directories, ref, progress=log, cache_dir=cache, force=paths.force)
    except IngestError as error:
        log(f"{source}: {error}")
        return {"source": source, "files": [], "errors": [str(error)]}
    for error in ingested.errors:
        log(f"{source}: cannot read {error}")
    ingested.frame.to_parquet(paths.staged(f"{source}.normalized"), index=False)
    ingested.rejected.to_parquet(paths.staged(f"{source}.rejected"), index=False)
    return {"source": source, "files": ingested.files, "errors": ingested.errors}


def validate_source(source: str, ingested: dict, paths: Paths, log: Log) -> dict:
    """Run the source's Great Expectations suite; stage accepted rows and quarantine."""
    ref = Reference(paths.reference_dir)
    normalized = paths.staged(f"{source}.normalized")
    frame = pd.read_parquet(normalized) if normalized.exists() else pd.DataFrame(columns=["source_file", "source_row"])
    rejected_path = paths.staged(f"{source}.rejected")
    rejected = pd.read_parquet(rejected_path) if rejected_path.exists() else None
    outcome = validate(source, frame, load_suite(paths.expectations_dir, source), suite_parameters(ref), rejected)
    outcome.accepted.to_parquet(paths.staged(f"{source}.accepted"), index=False)
    outcome.quarantine.to_parquet(paths.staged(f"{source}.quarantine"), index=False)
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


def accepted(paths: Paths, source: str) -> pd.DataFrame:
    return pd.read_parquet(paths.staged(f"{source}.accepted"))


def indicators(paths: Paths, parameters: SelectionParameters, log: Log) -> dict:
    """Province x class indicators for every year, growth over every span, concentration, and
    the scoring candidates of the reference year (latest in the data unless given)."""
    ref = Reference(paths.reference_dir)
    sgk = accepted(paths, "sgk_employment")
    if sgk.empty:
        raise ValueError("no accepted SGK employment rows: nothing to compute indicators from")
    facts, region_totals, national_totals = sector_facts.sgk_tables(sgk)
    year = parameters.reference_year or int(facts.year.max())
    if year not in set(facts.year):
        raise ValueError(f"reference year {year} is not in the SGK data ({facts.year.min()}-{facts.year.max()})")
    exports, unallocated = sector_facts.allocate_exports(
        accepted(paths, "exports_by_sector"), facts, ref.exporter_sector_of_class()
    )
    registry = accepted(paths, "chamber_registry")
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

    publishable(computed.table).to_parquet(paths.staged("indicators"), index=False)
    publishable(computed.growth).to_parquet(paths.staged("growth"), index=False)
    plants = registry.rename(columns={"plate_code": "region_code", "nace_class": "sector_code"})
    concentration = computed.concentration.merge(
        ellison_glaeser(plants).assign(year=year), on=["sector_code", "year"], how="left"
    )
    concentration.assign(sector_name=concentration.sector_code.map(class_names)).to_parquet(
        paths.staged("concentration"), index=False
    )
    candidates = sector_facts.candidate_table(
        computed.table,
        registry_features,
        sector_facts.agency_features(accepted(paths, "agency_db")),
        sector_facts.province_features(ref.life_index),
        year,
    )
    candidates.to_parquet(paths.staged("candidates"), index=False)
    log(f"indicators: {len(computed.table)} province x class x year rows; {len(candidates)} candidates in {year}")
    return {
        "reference_year": year,
        "totals_used": computed.totals_used,
        "unallocated_exports_usd": round(unallocated, 2),
    }


def score_province(paths: Paths, plate_code: int, parameters: SelectionParameters) -> pd.DataFrame:
    """Score and rank one province's candidate sectors."""
    candidates = pd.read_parquet(paths.staged("candidates"), filters=[("plate_code", "=", plate_code)])
    if candidates.empty:
        return candidates
    return score_candidates(candidates, parameters)


class NationalInputError(RuntimeError):
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
    scores: pd.DataFrame,
    parameters: SelectionParameters,
    plates: list[int],
    run: dict,
    previous_dir: Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The datasets to publish and the run manifest: run id (a hash of input hashes, parameters
    and code version), input files with their hashes and row counts, totals used, outputs.
    Provinces whose inputs failed keep their rows of ``previous_dir`` (the current publication)."""
    ref = Reference(paths.reference_dir)
    input_hashes = {f"{s}/{f['file']}": f["sha256"] for s, info in sources.items() for f in info["files"]}
    parameter_record = {**parameters.model_dump(), "provinces": plates, "reference_year": computed["reference_year"]}
    run_id = run_identity(input_hashes, parameter_record, run["code_version"])
    names = ref.names_by_plate
    scores = scores.drop(columns=["sector_name"], errors="ignore").merge(
        sector_names(ref)[["sector_code", "sector_name"]], on="sector_code", how="left"
    )
    scores = scores.assign(run_id=run_id, province=scores.plate_code.map(names), year=computed["reference_year"])
    consultation = accepted(paths, "consultation")
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
    quarantine = pd.concat([pd.read_parquet(paths.staged(f"{s}.quarantine")) for s in sources], ignore_index=True)
    datasets = {
        "indicators": pd.read_parquet(paths.staged("indicators")),
        "growth": pd.read_parquet(paths.staged("growth")),
        "concentration": pd.read_parquet(paths.staged("concentration")),
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
