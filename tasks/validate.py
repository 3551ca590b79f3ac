"""Validation with Great Expectations: each source's suite (plain JSON in ``expectations/``,
every expectation with a rule code in its ``meta``) runs on the normalised rows; failing rows
go to quarantine with file, row, column, rule, message and raw value. Nothing is dropped:
rows in = rows accepted + rows quarantined, checked here.

A national registry has millions of rows: Great Expectations is given each expectation's
columns alone, as types its pandas engine checks column-wise, and, where a row's verdict is its
values' own, only their distinct values; it reports the failing ones only (whose rows' raw text
is read for them alone). The registry is read once and never held twice."""

from __future__ import annotations

import gc
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.core import ExpectationValidationResult  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.validator.v1_validator import Validator  # noqa: E402

from tasks.errors import OutputValidationError, RowAccountingError

logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no per-batch chatter in run logs

QUARANTINE_COLUMNS = ["source", "file", "row", "column", "rule", "message", "raw_value"]
RECORD_KEY = ["source_file", "source_row"]
RAW_PREFIX = "raw__"  # raw__<column>: the text <column> was parsed from (only validation reads it)
# Expectations whose verdict on a row is its values' own, whatever the other rows: these run on
# the distinct values of the columns they read
ROW_WISE = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
}


@dataclass(frozen=True)
class ValidationOutcome:
    source: str
    accepted: pd.DataFrame  # without the raw text (raw__*), which only the quarantine shows
    quarantine: pd.DataFrame  # one row per (record, failed rule)
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rule_failures: dict[str, int]


@dataclass(frozen=True)
class _Split:
    accepted: np.ndarray  # per row of the frame checked
    quarantine: pd.DataFrame
    rows_in: int
    rows_accepted: int


def load_suite(expectations_dir: Path, source: str) -> dict:
    return json.loads((expectations_dir / f"{source}.json").read_text(encoding="utf-8"))


def validate(
    source: str, frame: pd.DataFrame, suite: dict, parameters: dict, rejected: pd.DataFrame | None = None
) -> ValidationOutcome:
    """Run ``suite`` over ``frame`` and split its rows.

    A record is identified by (source_file, source_row); a record with several rows (the
    agency database's long format) is quarantined whole if any of its rows fails. ``rejected``
    are rows the reader already set aside (a total row that does not add up, a duplicate firm),
    in quarantine form: they count as rows in and as quarantined. A failing row's raw value is
    its ``raw__<column>`` text, or the value itself where there is none.
    """
    split = _check(source, frame, suite, parameters, rejected)
    columns = [name for name in frame.columns if not name.startswith(RAW_PREFIX)]
    return _outcome(source, frame.loc[split.accepted, columns].reset_index(drop=True), split)


def validate_normalized(
    source: str, normalized: str | Path, suite: dict, parameters: dict, rejected: pd.DataFrame | None = None
) -> ValidationOutcome:
    """``validate`` a staged normalised table (``raw__*`` columns, the text its columns were
    parsed from, included) as a national registry allows: it is read once, without the raw text
    (read for the failing rows only); Great Expectations sees the columns the suite reads; the
    accepted rows are taken a column at a time, each dropped from the table read once taken, so
    that the table is never held twice."""
    names = pq.read_schema(normalized).names
    table = pq.read_table(normalized, columns=[name for name in names if not name.startswith(RAW_PREFIX)])
    read = [*RECORD_KEY, *(name for expectation in suite["expectations"] for name in _columns_of(expectation))]
    split = _check(
        source,
        table.select([name for name in dict.fromkeys(read) if name in table.column_names]).to_pandas(),
        suite,
        parameters,
        rejected,
        partial(_raw_text, normalized),
    )
    if not split.accepted.all():
        kept, schema, columns = pa.array(split.accepted), table.schema, []
        for name in schema.names:
            columns.append(table.column(name).filter(kept))
            table = table.drop_columns(name)
        table = pa.Table.from_arrays(columns, schema=schema)
    return _outcome(source, table.to_pandas(), split)  # the pandas metadata gives the staged dtypes


def _check(
    source: str,
    frame: pd.DataFrame,
    suite: dict,
    parameters: dict,
    rejected: pd.DataFrame | None,
    raw_text: Callable[[str, np.ndarray], pd.Series | None] | None = None,
) -> _Split:
    """Which rows of ``frame`` are accepted, and the quarantine. A failing row's raw value is
    its ``raw__<column>`` in ``frame``, else ``raw_text(column, positions)``, else the value."""
    rejected = rejected if rejected is not None and len(rejected) else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    rows_rejected = len(rejected[["file", "row"]].drop_duplicates())
    if frame.empty:
        return _Split(np.ones(0, dtype=bool), rejected.reset_index(drop=True), rows_rejected, 0)
    frame = frame.reset_index(drop=True)
    failures, failed_rows = [], []
    for expectation, (_, rows) in zip(
        suite["expectations"], _run_suite_by_column(frame, suite, parameters), strict=True
    ):
        if not len(rows):
            continue
        column, meta = expectation["kwargs"].get("column"), expectation.get("meta") or {}
        raw = frame.get(f"{RAW_PREFIX}{column}")
        raw = raw.iloc[rows] if raw is not None else raw_text(column, rows) if raw_text else None
        failures.append(
            pd.DataFrame(
                {
                    "source": source,
                    "file": frame.source_file.iloc[rows].to_numpy(),
                    "row": frame.source_row.iloc[rows].astype("int64").to_numpy(),
                    "column": column,
                    "rule": meta.get("rule", expectation["type"]),
                    "message": meta.get("message", expectation["type"]),
                    "raw_value": (raw if raw is not None else frame[column].iloc[rows]).astype(str).to_numpy(),
                }
            )
        )
        failed_rows.append(rows)
    checked = (
        pd.concat(failures, ignore_index=True).drop_duplicates()
        if failures
        else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    quarantine = pd.concat([checked, rejected], ignore_index=True) if len(rejected) else checked
    records = _record_ids(frame)
    failed = records[np.concatenate(failed_rows)] if failed_rows else records[:0]
    accepted = ~pd.Series(records).isin(failed).to_numpy()  # a record goes whole
    return _Split(
        accepted,
        quarantine.sort_values(["file", "row", "rule"]).reset_index(drop=True),
        _count_distinct(records) + rows_rejected,
        _count_distinct(records[accepted]),
    )


def _outcome(source: str, accepted: pd.DataFrame, split: _Split) -> ValidationOutcome:
    """The outcome with its ``accepted`` rows, once rows in = accepted + quarantined holds."""
    quarantine = split.quarantine
    rows_quarantined = len(quarantine[["file", "row"]].drop_duplicates())
    if split.rows_in != split.rows_accepted + rows_quarantined:  # the invariant the whole pipeline promises
        raise RowAccountingError(source, split.rows_in, split.rows_accepted, rows_quarantined)
    rule_failures = quarantine.groupby("rule").size().astype(int).to_dict()
    return ValidationOutcome(
        source, accepted, quarantine, split.rows_in, split.rows_accepted, rows_quarantined, rule_failures
    )


def _raw_text(normalized: str | Path, column: str, rows: np.ndarray) -> pd.Series | None:
    """The raw text ``column`` was parsed from (``raw__<column>``) at positions ``rows`` of a
    staged normalised table; None when the table has none."""
    table = ds.dataset(normalized, format="parquet")
    raw = f"{RAW_PREFIX}{column}"
    if raw not in table.schema.names:
        return None
    return table.take(pa.array(rows), columns=[raw]).to_pandas()[raw]


def _record_ids(frame: pd.DataFrame) -> np.ndarray:
    """Each row's record (source_file, source_row) as one number: the file's position among the
    frame's files and the row."""
    files = pd.factorize(frame.source_file, use_na_sentinel=False)[0].astype("int64")
    rows = frame.source_row.to_numpy(dtype="int64")
    return files * (int(rows.max()) + 1) + rows


def _count_distinct(values: np.ndarray) -> int:
    """How many distinct values: counted sorted (a staged table's records come in order)."""
    return int(np.count_nonzero(np.diff(np.sort(values)))) + 1 if len(values) else 0


def _columns_of(expectation: dict) -> list[str]:
    """The columns an expectation reads: its column(s) and the names its row condition uses."""
    kwargs = expectation["kwargs"]
    named = [kwargs["column"]] if "column" in kwargs else []
    return [*named, *kwargs.get("column_list", []), *re.findall(r"\w+", kwargs.get("row_condition", ""))]


def _run_suite_by_column(
    frame: pd.DataFrame, suite: dict, parameters: dict
) -> list[tuple[ExpectationValidationResult, np.ndarray]]:
    """The suite's results in its order, each with the positions of its failing rows; each
    column's expectations run on that column alone (with the columns its row conditions name):
    Great Expectations copies its whole batch for each filter (nulls, row conditions) and
    fingerprints it row by row."""
    by_column: dict[str | None, list[int]] = {}
    for position, expectation in enumerate(suite["expectations"]):
        by_column.setdefault(expectation["kwargs"].get("column"), []).append(position)
    results, collecting = {}, gc.isenabled()
    # Great Expectations (its pydantic models) leaves exceptions whose tracebacks hold frames,
    # and through them the batches and this frame. With the collector paused they stay in the
    # youngest generation, where one cheap collection afterwards finds them all (running, it
    # would move some to the oldest, to hold gigabytes until a full collection some time later).
    gc.disable()
    try:
        with _frames() as frames:
            for positions in by_column.values():
                expectations = [suite["expectations"][position] for position in positions]
                checked = _run_on_columns(frames, frame, {**suite, "expectations": expectations}, parameters)
                results.update(zip(positions, checked, strict=True))
    finally:
        if collecting:
            gc.enable()
    gc.collect(0)
    return [results[position] for position in range(len(suite["expectations"]))]


def _run_on_columns(
    frames: BatchDefinition, frame: pd.DataFrame, suite: dict, parameters: dict
) -> list[tuple[ExpectationValidationResult, np.ndarray]]:
    """The suite's results over the columns of ``frame`` it reads, each with the positions of
    its failing rows. Where every verdict is a row's values' own (``ROW_WISE``), the suite runs
    on the distinct values, mostly a few hundred of millions of rows: a row fails where its
    values do."""
    read = dict.fromkeys(name for expectation in suite["expectations"] for name in _columns_of(expectation))
    columns = [name for name in read if name in frame]
    row_wise = all(e["type"] in ROW_WISE and "mostly" not in e["kwargs"] for e in suite["expectations"])
    batch, rows_of = _distinct(frame[columns]) if row_wise and columns else (frame[columns], None)
    checked = []
    for result in _run_suite(frames, _batch(batch), suite, parameters):
        failing = np.asarray(result.result.get("unexpected_index_list") or [], dtype="int64")
        if rows_of is not None and len(failing):
            failing = np.flatnonzero(pd.Series(rows_of).isin(failing).to_numpy())
        checked.append((result, failing))
    return checked


def _distinct(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``frame`` (null a value like any other) and, for each of its rows,
    the position of its values among them."""
    codes = None
    for name in frame.columns:
        column, values = pd.factorize(frame[name], use_na_sentinel=False)
        codes = column if codes is None else pd.factorize(codes * len(values) + column)[0]
    # codes number the values in the order they first come: a row holds its values' first
    # occurrence where its code exceeds every code before it
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    return frame.iloc[first].reset_index(drop=True), codes


def _batch(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as Great Expectations checks it fast. Its pandas engine compares int64 and
    float64 numbers column-wise but other number types (int16, nullable Int64, ...) a row at a
    time: those go as float64 (NaN for missing; exact below 2**53)."""
    other_numbers = [
        name
        for name, values in frame.items()
        if pd.api.types.is_numeric_dtype(values.dtype)
        and not pd.api.types.is_bool_dtype(values.dtype)
        and values.dtype not in (int, float)
    ]
    return frame.astype(dict.fromkeys(other_numbers, "float64"))


@contextmanager
def _frames() -> Iterator[BatchDefinition]:
    """An ephemeral Great Expectations context whose one pandas asset takes any frame as a
    batch. Its data source goes afterwards: Great Expectations keeps its last context, and the
    source's engine its last batch."""
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)  # Prefect's logging setup may have reset them
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("frames")
    try:
        yield source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all_rows")
    finally:
        context.data_sources.delete(source.name)


def _run_suite(frames: BatchDefinition, frame: pd.DataFrame, suite: dict, parameters: dict) -> list:
    """The suite's results over ``frame`` in one batch; a failing expectation lists the index
    labels of its failing rows (result format COMPLETE: nothing per passing row). The validator
    is the one ``Batch.validate`` makes, given the frame itself: a batch got first would be
    loaded (and fingerprinted, row by row) twice."""
    validator = Validator(
        frames,
        result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        batch_parameters={"dataframe": frame},
    )
    expectation_suite = gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"])
    return validator.validate_expectation_suite(expectation_suite, parameters).results


def validate_outputs(datasets: dict[str, pd.DataFrame], suites_dir: Path) -> None:
    """Run each output dataset's suite (``expectations/outputs/<dataset>.json``) before the
    publication may become current; raise naming the dataset, rule and first failing rows."""
    problems = []
    for name, frame in datasets.items():
        path = suites_dir / f"{name}.json"
        if not path.exists() or frame.empty:
            continue
        suite = json.loads(path.read_text(encoding="utf-8"))
        for result, rows in _run_suite_by_column(frame.reset_index(drop=True), suite, {}):
            if result.success:
                continue
            meta = result.expectation_config.meta or {}
            rows = [int(row) for row in rows[:3]]
            problems.append(f"{name}: {meta.get('rule')} {meta.get('message')} (rows {rows})")
    if problems:
        raise OutputValidationError(problems)
