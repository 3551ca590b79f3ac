"""``kume check``: validate files of one source without running the pipeline, for the data
stewards who receive them. Same readers, same suites, same quarantine rules as the run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.errors import InputFileError, printable
from tasks.reference import Reference
from tasks.sources.agency_db import ingest_agency_db
from tasks.sources.files import CONTRACTS, NORMALIZERS, name_not_read, parse_file, resolve_duplicate_firms
from tasks.stages import suite_parameters
from tasks.validate import load_suite, validate

EXAMPLES_PER_RULE = 3


def check_files(
    source: str, files: list[Path], reference_dir: Path, expectations_dir: Path, province: int | None = None
) -> dict:
    """Per file: rows in / accepted / quarantined, and each failed rule with its count and its
    first example rows; or the reason the file could not be read. A member list also says how
    its province was decided (``province`` is the last resort). A file the run would not read
    (hidden or temporary, ``.xls``, another ending) is not read here either, with the run's
    reason (``not_read``). ``exit_code`` is 0 when every row was accepted, 1 when rows were
    quarantined, 2 when a file could not be, or would not be, read."""
    ref = Reference(reference_dir)
    suite = load_suite(expectations_dir, source)
    parameters = suite_parameters(ref)
    reports = []
    for path in files:
        reason = name_not_read(path.name, source) if source in CONTRACTS and path.exists() else None
        if reason:
            reports.append({"file": str(path), "error": reason, "not_read": True})
            continue
        try:
            frame, rejected, info = _read(source, path, ref, province)
        except InputFileError as error:
            reports.append({"file": str(path), "error": error.problem})
            continue
        outcome = validate(source, frame, suite, parameters, rejected)
        reports.append(
            {
                "file": str(path),
                "rows_in": outcome.rows_in,
                "rows_accepted": outcome.rows_accepted,
                "rows_quarantined": outcome.rows_quarantined,
                "failed_rules": _failed_rules(outcome.quarantine),
                **{k: info[k] for k in ("province", "province_rule", "province_evidence") if k in info},
            }
        )
    exit_code = 2 if any("error" in r for r in reports) else 1 if any(r["rows_quarantined"] for r in reports) else 0
    return {"source": source, "files": reports, "exit_code": exit_code}


def _read(source: str, path: Path, ref: Reference, province: int | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    if not path.exists():
        raise InputFileError(path, "no such file", source)
    if not path.is_file():
        raise InputFileError(path, "not a regular file (a folder, pipe, socket or device): not read", source)
    if source == "agency_db":
        return ingest_agency_db(f"sqlite:///{path.resolve()}", ref).frame, None, {}
    rows, rejected, info = parse_file(path, CONTRACTS[source], NORMALIZERS[source], ref, source, "", province)
    rows = rows.assign(source_file=path.name)
    rejected = rejected.assign(file=path.name)
    if source == "chamber_registry":
        rows, duplicates = resolve_duplicate_firms(rows.assign(_file_order=0), source)
        rows = rows.drop(columns="_file_order")
        rejected = pd.concat([rejected, duplicates], ignore_index=True) if len(duplicates) else rejected
    return rows, rejected, info


def province_decision(info: dict) -> str:
    """'Samsun, by district (412 of 415 rows)': which province a member list is for, and why."""
    if info["province_rule"] == "province column":
        return "from the file's province column, row by row"
    evidence = f" ({info['province_evidence']})" if info.get("province_evidence") else ""
    return f"{info.get('province', '?')}, by {info['province_rule']}{evidence}"


def _failed_rules(quarantine: pd.DataFrame) -> list[dict]:
    rules = []
    for rule, group in quarantine.groupby("rule", sort=True):
        examples = group.head(EXAMPLES_PER_RULE)
        rules.append(
            {
                "rule": rule,
                "message": group.message.iloc[0],
                "count": len(group),
                "examples": [
                    {"row": int(r.row), "column": r.column, "raw_value": r.raw_value} for r in examples.itertuples()
                ],
            }
        )
    return rules


def format_report(report: dict) -> str:
    """The report as text for a terminal."""
    lines = [f"source {report['source']}"]
    for file in report["files"]:
        name = printable(file["file"])  # one line per file, whatever its name holds
        if "error" in file:
            what = "not read" if file.get("not_read") else "cannot be read"
            lines.append(f"{name}: {what}: {printable(file['error'])}")
            continue
        counts = f"{file['rows_in']} rows in, {file['rows_accepted']} accepted, {file['rows_quarantined']} quarantined"
        lines.append(f"{name}: {counts}")
        if file.get("province_rule"):
            lines.append(f"  province: {printable(province_decision(file))}")
        for rule in file["failed_rules"]:
            shown = ", ".join(f"row {e['row']} {e['column']}={e['raw_value']!r}" for e in rule["examples"])
            lines.append(f"  {rule['rule']} x{rule['count']}: {printable(rule['message'])} (e.g. {shown})")
    return "\n".join(lines)
