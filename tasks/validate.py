"""Validation with Great Expectations: each source's suite (plain JSON in ``expectations/``,
every expectation with a rule code in its ``meta``) runs on the normalised rows; failing rows
go to quarantine with file, row, column, rule, message and raw value. Nothing is dropped:
rows in = rows accepted + rows quarantined, checked here."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from tasks.errors import OutputValidationError, RowAccountingError

logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no per-batch chatter in run logs

QUARANTINE_COLUMNS = ["source", "file", "row", "column", "rule", "message", "raw_value"]
RECORD_KEY = ["source_file", "source_row"]


@dataclass(frozen=True)
class ValidationOutcome:
    source: str
    accepted: pd.DataFrame
    quarantine: pd.DataFrame  # one row per (record, failed rule)
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rule_failures: dict[str, int]


def load_suite(expectations_dir: Path, source: str) -> dict:
    return json.loads((expectations_dir / f"{source}.json").read_text(encoding="utf-8"))


def validate(
    source: str, frame: pd.DataFrame, suite: dict, parameters: dict, rejected: pd.DataFrame | None = None
) -> ValidationOutcome:
    """Run ``suite`` over ``frame`` (one GE batch, result format COMPLETE) and split the rows.

    A record is identified by (source_file, source_row); a record with several rows (the
    agency database's long format) is quarantined whole if any of its rows fails. ``rejected``
    are rows the reader already set aside (a total row that does not add up, a duplicate firm),
    in quarantine form: they count as rows in and as quarantined.
    """
    rejected = rejected if rejected is not None and len(rejected) else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    keys = frame[RECORD_KEY].drop_duplicates()
    if frame.empty:
        rows_rejected = len(rejected[["file", "row"]].drop_duplicates())
        counts = rejected.groupby("rule").size().astype(int).to_dict()
        return ValidationOutcome(
            source, frame, rejected.reset_index(drop=True), rows_rejected, 0, rows_rejected, counts
        )
    frame = frame.reset_index(drop=True)
    failures = []
    for result in _run_suite_in_chunks(source, frame, suite, parameters):
        meta = result.expectation_config.meta or {}
        column = result.expectation_config.kwargs.get("column")
        rows = [item["_row"] for item in (result.result.get("unexpected_index_list") or [])]
        if not rows:
            continue
        failed = frame.iloc[rows]
        raw_column = f"raw__{column}" if f"raw__{column}" in frame else column
        failures.append(
            pd.DataFrame(
                {
                    "source": source,
                    "file": failed.source_file.to_numpy(),
                    "row": failed.source_row.astype("int64").to_numpy(),
                    "column": column,
                    "rule": meta.get("rule", result.expectation_config.type),
                    "message": meta.get("message", result.expectation_config.type),
                    "raw_value": failed[raw_column].astype(str).to_numpy(),
                }
            )
        )
    checked = (
        pd.concat(failures, ignore_index=True).drop_duplicates()
        if failures
        else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    bad_keys = checked[["file", "row"]].drop_duplicates().rename(columns={"file": "source_file", "row": "source_row"})
    marked = frame[RECORD_KEY].merge(bad_keys.assign(_bad=True), on=RECORD_KEY, how="left")  # keys only
    accepted = frame[marked["_bad"].isna().to_numpy()].reset_index(drop=True)
    quarantine = pd.concat([checked, rejected], ignore_index=True) if len(rejected) else checked
    quarantine = quarantine.sort_values(["file", "row", "rule"]).reset_index(drop=True)
    rows_in = len(keys) + len(rejected[["file", "row"]].drop_duplicates())
    rows_accepted = len(accepted[RECORD_KEY].drop_duplicates())
    rows_quarantined = len(quarantine[["file", "row"]].drop_duplicates())
    if rows_in != rows_accepted + rows_quarantined:  # the invariant the whole pipeline promises
        raise RowAccountingError(source, rows_in, rows_accepted, rows_quarantined)
    return ValidationOutcome(
        source,
        accepted,
        quarantine,
        rows_in,
        rows_accepted,
        rows_quarantined,
        quarantine.groupby("rule").size().astype(int).to_dict(),
    )


VALIDATION_CHUNK_ROWS = 250_000  # every expectation is row-level: chunks bound the memory, not the result


def _run_suite_in_chunks(source: str, frame: pd.DataFrame, suite: dict, parameters: dict) -> Iterator:
    """The suite's results over every row of ``frame`` (positions as ``_row``), given to Great
    Expectations a chunk at a time with only the columns the suite reads: a national registry
    has millions of rows."""
    mentioned = json.dumps([e.get("kwargs", {}) for e in suite["expectations"]])  # columns and row conditions
    columns = [c for c in frame.columns if c in mentioned]
    for start in range(0, len(frame), VALIDATION_CHUNK_ROWS):
        chunk = frame.iloc[start : start + VALIDATION_CHUNK_ROWS][columns]
        yield from _run_suite(source, chunk.assign(_row=chunk.index), suite, parameters)


def _run_suite(source: str, frame: pd.DataFrame, suite: dict, parameters: dict) -> list:
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)  # Prefect's logging setup may have reset them
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas(f"{source}_source")
        .add_dataframe_asset(source)
        .add_batch_definition_whole_dataframe("all_rows")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    expectation_suite = gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"])
    result = batch.validate(
        expectation_suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["_row"],
            "return_unexpected_index_query": False,
        },
        expectation_parameters=parameters,
    )
    return result.results


def validate_outputs(datasets: dict[str, pd.DataFrame], suites_dir: Path) -> None:
    """Run each output dataset's suite (``expectations/outputs/<dataset>.json``) before the
    publication may become current; raise naming the dataset, rule and first failing rows."""
    problems = []
    for name, frame in datasets.items():
        path = suites_dir / f"{name}.json"
        if not path.exists() or frame.empty:
            continue
        suite = json.loads(path.read_text(encoding="utf-8"))
        indexed = frame.reset_index(drop=True).rename_axis("_row").reset_index()
        for result in _run_suite(f"output_{name}", indexed, suite, {}):
            if result.success:
                continue
            meta = result.expectation_config.meta or {}
            rows = [int(item["_row"]) for item in (result.result.get("unexpected_index_list") or [])][:3]
            problems.append(f"{name}: {meta.get('rule')} {meta.get('message')} (rows {rows})")
    if problems:
        raise OutputValidationError(problems)
