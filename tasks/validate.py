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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.core import ExpectationValidationResult  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.validator.v1_validator import Validator  # noqa: E402

from tasks.errors import OutputValidationError, RowAccountingError
from tasks.store import View, is_view, read_staged, staged_schema, staged_view

logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no per-batch chatter in run logs

QUARANTINE_COLUMNS = ["source", "file", "row", "column", "rule", "message", "raw_value"]
RECORD_KEY = ["source_file", "source_row"]
RAW_PREFIX = "raw__"  # raw__<column>: the text <column> was parsed from (only validation reads it)
RAW_TEXT = "kume.raw_text"  # a staged normalised table's metadata: the staged file of its raw text
# Expectations whose verdict on a row is its values' own, whatever the other rows: these run on
# the distinct values of the columns they read
NOT_NULL = "expect_column_values_to_not_be_null"
ROW_WISE = {
    NOT_NULL,
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
}


@dataclass(frozen=True)
class ValidationOutcome:
    source: str
    # without the raw text (raw__*), which only the quarantine shows; a staged table's as an
    # Arrow table, to be staged as it is (its pandas metadata gives pandas the dtypes), or a view
    accepted: pd.DataFrame | pa.Table | View
    quarantine: pd.DataFrame  # one row per (record, failed rule)
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rule_failures: dict[str, int]
    records: pd.DataFrame | None = None  # the accepted rows' records, where the check had them

    @property
    def accepted_records(self) -> pd.DataFrame:
        """The accepted rows' records (``RECORD_KEY``), their files a category if staged."""
        if self.records is not None:
            return self.records
        accepted = self.accepted.read(RECORD_KEY) if isinstance(self.accepted, View) else self.accepted
        if isinstance(accepted, pa.Table):
            files = pc.dictionary_encode(accepted.column("source_file"))
            return pa.table({"source_file": files, "source_row": accepted.column("source_row")}).to_pandas()
        return accepted[RECORD_KEY]


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
    that the table is never held twice, and stay an Arrow table; those of a staged view, a view
    of the same parts without the rows quarantined (nothing copied)."""
    names = staged_schema(normalized).names
    table = read_staged(normalized, columns=[name for name in names if not name.startswith(RAW_PREFIX)])
    checked = _checked_columns(table, suite)
    split = _check(source, checked, suite, parameters, rejected, _RawText(normalized))
    records = checked.loc[split.accepted, RECORD_KEY].reset_index(drop=True)
    del checked
    # pandas' metadata (the dtypes pandas reads back), not the normalised table's own
    pandas = {key: value for key, value in (table.schema.metadata or {}).items() if key == b"pandas"}
    if is_view(normalized):
        view = staged_view(normalized)
        return _outcome(
            source, View(view.parts, table.schema.with_metadata(pandas)).narrowed(split.accepted), split, records
        )
    if not split.accepted.all():
        kept, schema, columns = pa.array(split.accepted), table.schema, []
        for name in schema.names:
            columns.append(table.column(name).filter(kept))
            table = table.drop_columns(name)
        table = pa.Table.from_arrays(columns, schema=schema)
    return _outcome(source, table.replace_schema_metadata(pandas), split, records)


def _checked_columns(table: pa.Table, suite: dict) -> pd.DataFrame:
    """The columns of ``table`` that ``suite`` reads, with each row's record, as pandas. The files
    go as a category: a failing row's file is then taken from its codes, not from text in as many
    chunks as the table was read in (each take would join them first)."""
    read = [*RECORD_KEY, *(name for expectation in suite["expectations"] for name in _columns_of(expectation))]
    checked = table.select([name for name in dict.fromkeys(read) if name in table.column_names])
    files = pc.dictionary_encode(checked.column("source_file"))
    return checked.set_column(checked.schema.get_field_index("source_file"), "source_file", files).to_pandas()


def _check(
    source: str,
    frame: pd.DataFrame,
    suite: dict,
    parameters: dict,
    rejected: pd.DataFrame | None,
    raw_text: Callable[[str, pd.DataFrame, np.ndarray], pd.Series | None] | None = None,
) -> _Split:
    """Which rows of ``frame`` are accepted, and the quarantine. A failing row's raw value is
    its ``raw__<column>`` in ``frame``, else ``raw_text(column, frame, positions)``, else the value."""
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
        raw = raw.iloc[rows] if raw is not None else raw_text(column, frame, rows) if raw_text else None
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


def _outcome(
    source: str, accepted: pd.DataFrame | pa.Table | View, split: _Split, records: pd.DataFrame | None = None
) -> ValidationOutcome:
    """The outcome with its ``accepted`` rows, once rows in = accepted + quarantined holds."""
    quarantine = split.quarantine
    rows_quarantined = len(quarantine[["file", "row"]].drop_duplicates())
    if split.rows_in != split.rows_accepted + rows_quarantined:  # the invariant the whole pipeline promises
        raise RowAccountingError(source, split.rows_in, split.rows_accepted, rows_quarantined)
    rule_failures = quarantine.groupby("rule").size().astype(int).to_dict()
    return ValidationOutcome(
        source, accepted, quarantine, split.rows_in, split.rows_accepted, rows_quarantined, rule_failures, records
    )


class _RawText:
    """The raw text of a staged normalised table's rows, staged beside it (the file its metadata
    names under ``RAW_TEXT``: ``raw__<column>`` with each row's record, written file by file as the
    files were read, so never held whole). Where both are views of a read cache's entries, a
    row's text is in its own entry, at its own row. Else a row's text is its record's
    (source_file, source_row); the n-th row of a record, the record's n-th (the agency
    database's records have a row per measure): the records are read once, when a failing row
    first needs its text."""

    def __init__(self, normalized: str | Path) -> None:
        named = (staged_schema(normalized).metadata or {}).get(RAW_TEXT.encode())
        self.path = Path(normalized).with_name(named.decode()) if named else None
        self._records: _RawRecords | None = None
        self._views = _same_parts(normalized, self.path) if self.path else None
        self._lengths: np.ndarray | None = None
        self._text: pa.Table | None = None

    def __call__(self, column: str, frame: pd.DataFrame, rows: np.ndarray) -> pd.Series | None:
        """``raw__<column>`` of the rows at positions ``rows`` of ``frame`` (the table's rows in
        order, with their record); None when the table has none."""
        raw = f"{RAW_PREFIX}{column}"
        if self.path is None or raw not in staged_schema(self.path).names:
            return None
        if self._views:  # each row's in its own part's file, at its own row: no records searched
            values, text = self._views
            if self._text is None:
                self._lengths, self._text = values.lengths(), text.read()  # mapped, not copied
            at = pa.array(text.positions(*values.locate(rows, self._lengths), self._lengths))
            if not np.array_equal(
                self._text.column("source_row").take(at).to_numpy(), frame.source_row.to_numpy()[rows]
            ):
                raise ValueError(f"{self.path} lacks the raw text of some rows of its normalised table")
            return pd.Series(self._text.column(raw).take(at).to_pandas(), name=raw)
        records = self._records = self._records or _RawRecords(self.path)
        file = records.files.get_indexer(frame.source_file.iloc[rows])
        wanted = file * records.rows_per_file + frame.source_row.to_numpy(dtype=np.int64)[rows]
        nth = frame.groupby(RECORD_KEY, sort=False).cumcount().to_numpy()[rows] if records.repeated else 0
        at = np.searchsorted(records.sorted, wanted) + nth
        if (file < 0).any() or not (records.sorted[np.minimum(at, len(records.sorted) - 1)] == wanted).all():
            raise ValueError(f"{self.path} lacks the raw text of some rows of its normalised table")
        text = read_staged(self.path, columns=[raw]).column(raw).take(pa.array(records.order[at]))
        return pd.Series(text.to_pandas(), name=raw)


def _same_parts(normalized: str | Path, raw_text: Path) -> tuple[View, View] | None:
    """The views of a normalised table and of its raw text (``ingest`` stages a read cache's
    entries so) when they are views of the same parts in the same order, the raw text keeping
    every row the table keeps: a row's text is then in the same part's file, at the same row."""
    if not (is_view(normalized) and is_view(raw_text)):
        return None
    values, text = staged_view(normalized), staged_view(raw_text)
    if [part.rows for part in values.parts] != [part.rows for part in text.parts]:
        return None
    kept = all(set(mine.dropped) <= set(theirs.dropped) for mine, theirs in zip(text.parts, values.parts, strict=True))
    return (values, text) if kept else None


class _RawRecords:
    """The records of a staged raw text file's rows, as numbers sorted for lookup: a file's
    position among ``files`` times ``rows_per_file`` plus the row; ``order`` gives the rows in
    that order, ``repeated`` whether a record has several rows."""

    def __init__(self, path: Path) -> None:
        keys = read_staged(path, columns=RECORD_KEY)
        keys = keys.set_column(0, "source_file", pc.dictionary_encode(keys.column("source_file"))).to_pandas()
        self.files = keys.source_file.cat.categories
        self.rows_per_file = int(keys.source_row.max()) + 1 if len(keys) else 1
        records = keys.source_file.cat.codes.to_numpy(dtype=np.int64) * self.rows_per_file + keys.source_row.to_numpy()
        self.order = np.argsort(records, kind="stable")
        self.sorted = records[self.order]
        self.repeated = bool((np.diff(self.sorted) == 0).any())


def _record_ids(frame: pd.DataFrame) -> np.ndarray:
    """Each row's record (source_file, source_row) as one number: the file's position among the
    frame's files and the row."""
    files = pd.factorize(frame.source_file, use_na_sentinel=False)[0].astype("int64")
    rows = frame.source_row.to_numpy(dtype="int64")
    return files * (int(rows.max()) + 1) + rows


def _count_distinct(values: np.ndarray) -> int:
    """How many distinct values: all of them when they rise (a staged table's records, a row
    each, come in order), else counted sorted."""
    if not len(values):
        return 0
    if (np.diff(values) > 0).all():
        return len(values)
    return int(np.count_nonzero(np.diff(np.sort(values)))) + 1


def _columns_of(expectation: dict) -> list[str]:
    """The columns an expectation reads: its column(s) and the names its row condition uses."""
    kwargs = expectation["kwargs"]
    named = [kwargs["column"]] if "column" in kwargs else []
    return [*named, *kwargs.get("column_list", []), *re.findall(r"\w+", kwargs.get("row_condition", ""))]


def _run_suite_by_column(
    frame: pd.DataFrame, suite: dict, parameters: dict, frames: BatchDefinition | None = None
) -> list[tuple[ExpectationValidationResult, np.ndarray]]:
    """The suite's results in its order, each with the positions of its failing rows; each
    column's expectations run on that column alone (with the columns its row conditions name):
    Great Expectations copies its whole batch for each filter (nulls, row conditions) and
    fingerprints it row by row. ``frames``: the Great Expectations context's (``_frames``) to
    run in, else one of its own."""
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
        with nullcontext(frames) if frames else _frames() as frames:
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
    batch, rows_of = frame[columns], None
    if row_wise and columns:
        batch, rows_of = _distinct(batch, _null_or_not(suite["expectations"]))
    checked = []
    for result in _run_suite(frames, _batch(batch), suite, parameters):
        failing = np.asarray(result.result.get("unexpected_index_list") or [], dtype="int64")
        if rows_of is not None and len(failing):  # the rows whose values' distinct row failed
            failing = np.flatnonzero(np.isin(np.arange(len(batch)), failing)[rows_of])
        checked.append((result, failing))
    return checked


def _null_or_not(expectations: list[dict]) -> set[str]:
    """The columns of which ``expectations`` ask only whether they are null (a registry number):
    each the column of a not-null expectation, named by no other nor by any row condition."""
    by_value = set()
    for expectation in expectations:
        names = _columns_of(expectation)  # a not-null expectation's column first
        by_value.update(names[1:] if expectation["type"] == NOT_NULL else names)
    return {e["kwargs"]["column"] for e in expectations if e["type"] == NOT_NULL} - by_value


def _distinct(frame: pd.DataFrame, null_or_not: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``frame`` (null a value like any other; of a ``null_or_not`` column,
    whether it is null alone: the verdicts on it depend on nothing else) and, for each of its rows,
    the position of its values among them: a row of ``frame`` for each, where they first come."""
    codes = None
    for name in frame.columns:
        column, count = _factorized(frame[name].isna() if name in null_or_not else frame[name])
        codes = column if codes is None else pd.factorize(codes * count + column)[0]
    # codes number the values in the order they first come: a row holds its values' first
    # occurrence where its code exceeds every code before it
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    return frame.iloc[first].reset_index(drop=True), codes


def _factorized(values: pd.Series) -> tuple[np.ndarray, int]:
    """The values' codes, numbered in the order they first come, and how many codes there may
    be: ``pd.factorize``'s, or a plain bool column's read off its bytes (a hash table takes
    15-20 ms on a registry's 2 M flags)."""
    if values.dtype == bool:
        codes = values.to_numpy().view(np.uint8).astype(np.int64)
        return (1 - codes if len(codes) and codes[0] else codes), 2
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, len(uniques)


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
    """This thread's Great Expectations context, whose one pandas asset takes any frame as a
    batch: made once per thread (its set-up and its engine's first use cost 20-40 ms a
    source; contexts are not shared between threads), its engine emptied after each use (it
    keeps every batch it was given and every metric it computed)."""
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)  # Prefect's logging setup may have reset them
    frames = getattr(_contexts, "frames", None)
    if frames is None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = context.data_sources.add_pandas("frames")
        frames = _contexts.frames = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all_rows")
    try:
        yield frames
    finally:
        engine = frames.data_asset.datasource.get_execution_engine()
        engine.batch_manager.reset_batch_cache()
        engine.batch_manager.batch_data_cache.clear()
        engine._metric_cache.clear()  # no public way: the cache a new engine would start with


_contexts = threading.local()


def _run_suite(frames: BatchDefinition, frame: pd.DataFrame, suite: dict, parameters: dict) -> list:
    """The suite's results over ``frame`` in one batch: every expectation's verdict alone first
    (result format BOOLEAN_ONLY, half the work of a fuller one); then, again, those that failed
    (or may have failing rows though they pass: ``mostly``), each listing the index labels of its
    failing rows (COMPLETE: nothing per passing row). The validator is the one ``Batch.validate``
    makes, given the frame itself: a batch got first would be loaded (and fingerprinted, row by
    row) twice."""
    expectations = suite["expectations"]
    validator = Validator(frames, result_format="BOOLEAN_ONLY", batch_parameters={"dataframe": frame})
    results = validator.validate_expectation_suite(
        gx.ExpectationSuite(name=suite["name"], expectations=expectations), parameters
    ).results
    again = [at for at, result in enumerate(results) if not result.success or "mostly" in expectations[at]["kwargs"]]
    listed = {}
    if again:
        validator.result_format = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
        failing = gx.ExpectationSuite(name=suite["name"], expectations=[expectations[at] for at in again])
        listed = dict(zip(again, validator.validate_expectation_suite(failing, parameters).results, strict=True))
    return [listed.get(at, result) for at, result in enumerate(results)]


def validate_outputs(datasets: dict[str, pd.DataFrame], suites_dir: Path) -> None:
    """Run each output dataset's suite (``expectations/outputs/<dataset>.json``) before the
    publication may become current; raise naming the dataset, rule and first failing rows."""
    problems = []
    with _frames() as frames:  # one Great Expectations context for them all (15 ms each)
        for name, frame in datasets.items():
            path = suites_dir / f"{name}.json"
            if not path.exists() or frame.empty:
                continue
            suite = json.loads(path.read_text(encoding="utf-8"))
            for result, rows in _run_suite_by_column(frame.reset_index(drop=True), suite, {}, frames):
                if result.success:
                    continue
                meta = result.expectation_config.meta or {}
                rows = [int(row) for row in rows[:3]]
                problems.append(f"{name}: {meta.get('rule')} {meta.get('message')} (rows {rows})")
    if problems:
        raise OutputValidationError(problems)
