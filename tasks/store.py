"""The content-addressed store: the one owner of what a run keeps to avoid doing work twice.

It owns the cache keys of the stages (Prefect's ``cache_key_fn`` of each task in
``flows/select_clusters.py`` calls the ``*_key`` functions here), the staged tables between
the stages (``<out>/work/``: Parquet, Arrow files, and views of the read cache's entries), the
read cache of parsed files (``<out>/ingested/``), the hashes
of files, the check that a stage's cached result still has its staged files, the pruning of the
work folder, and the check that a run's snapshot is already in place (the publication dedupe).

The keys, stage by stage. *Setup* (``setup_fingerprint``) is the hash of the pipeline code
(``tasks/``, ``schemas/``), the versions of the packages that shape the outputs
(``tasks.versions``), the reference tables, the expectation suites and the work folder.

=============== =============================================== =====================================
stage           key made of                                     invalidated by
=============== =============================================== =====================================
ingest          the source; setup; per entry of its folders     a file added, changed, renamed or
                (shipped, then inbox): name and SHA-256 of a    removed; an entry newly read or not
                file read, name and reason of an entry not      read; a setup change; ``force``. A
                read; a SQLite agency database: its SHA-256     server database has no key: it is
                                                                read every run
validate        the source; setup; the ingest result (staged    what the ingest result holds; a
                paths, named by content; files, errors,         setup change; ``force``
                entries not read)
indicators      setup; the accepted tables' paths (named by     accepted rows; ``reference_year``,
                content); ``reference_year``, ``growth_spans``, ``growth_spans``, ``universe``; a
                ``universe``                                    setup change; ``force``. Not the
                                                                weights
relatedness     setup; the staged indicators' and candidates'   the indicators or candidates;
                paths (named by content) and the reference      ``relatedness`` (minimum size,
                year; ``relatedness`` (minimum size, window,    window, leave-one-out),
                leave-one-out), ``universe``                    ``universe``; a setup change;
                                                                ``force``. Not the weights
definitions     setup; the staged indicators' path (named by    the indicators; ``clusters``,
                content) and the reference year; ``clusters``   ``universe``, the reference year; a
                (window, minimum size, counts), ``universe``    setup change; ``force``
cluster         setup; the accepted tables' and definitions'    any of them; a setup change;
candidates      paths (named by content); the reference year;   ``force``. Only for
                the indicators' and relatedness' parameters     ``candidates=cluster``
history         setup; the accepted tables' paths (named by     accepted rows; any parameter but
candidates      content); the reference year; every parameter   those scoring alone reads; a setup
                but those scoring alone reads (weights,         change; ``force``. Not the weights
                ``gates``, ``robustness``), ``report_language``
                and ``top_n``
history,        setup; the staged history candidates' path      what it reads; any parameter but
backtest        (history) or the accepted tables' paths         ``report_language`` and ``top_n``; the
                (backtest), named by content; the reference     provinces (history); a setup change;
                year; every parameter but ``report_language``   ``force``. The backtest runs only
                and ``top_n``; the run's plate codes (history); when asked
                the stage's name
score           setup; the candidates' path (named by           the candidates; the provinces; any
                content); the run's plate codes (one task       parameter but ``report_language``
                scores them all); every parameter but           (the weights too); a setup change;
                ``report_language``                             ``force``
read cache      the reader fingerprint (reader code             a change of the file, of the reader
                ``tasks/sources/``, ``tasks/reference.py``,     code, the reference tables or the
                ``schemas/inputs.py``, the reference tables,    packages; ``force`` reads it again
                the package versions); the source; the file's   (and replaces the entry)
                SHA-256 (with its path, for member lists, whose
                province may come from the folder or name)
assemble        setup; every stage result it takes (staged      any of them; any parameter; the
                paths, named by content; the sources' files,    provinces; the code or package
                failures and quality rows); every parameter;    versions; a new current publication;
                the provinces; the code and package versions    ``force``. Its manifest gets the
                of the run id; the run id of the publication it run's own fields (flow run, times,
                carries provinces over from                     trigger) again
publication     the run id (``run_identity`` in                 a new run id; a snapshot in place is
                ``tasks.publish.snapshot``: the inputs'         never rewritten, not even by
                hashes, the parameters and the provinces        ``force``
                carried over, the code and package versions);
                in place when ``runs/<run_id>/manifest.json``
                exists
=============== =============================================== =====================================

The keys' functions: ``ingest_key``, ``validate_key``, ``indicators_key``, ``relatedness_key``,
``definitions_key``, ``cluster_candidates_key``, ``history_candidates_key``, ``history_key``,
``score_key``; for the read cache of one file ``read_key`` in the folder of ``read_cache_dir``
(``reader_fingerprint``); for the publication ``snapshot_in_place``. File hashes are memoised
per path, size and modification time (``file_sha256``).

So a nightly run on unchanged inputs takes every stage from the cache and publishes the same
run id; other weights score again (the provinces, and their history from its staged candidates)
and take the rest from the cache. Staged files are named by
their content (``<name>-<hash>.parquet``, ``content_hash``), so the same rows always land at the same
path and a stage's key built from the paths it reads is a key of their content. A stage's
cached result whose staged files were pruned is computed again (``outputs_present``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from schemas.parameters import SelectionParameters
from tasks import versions


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

    @property
    def data_dir(self) -> Path:
        """The data folder (``KUME_DATA_DIR``), parent of ``sources/`` and ``inbox/``: no file is
        read from outside it, through a link or otherwise."""
        return self.sources_dir.parent


# Staged tables: <out>/work/<name>-<content hash>.parquet, and .arrow (Arrow IPC, uncompressed)
# for what one stage writes for the next to read whole (a source's rows as read, their raw text,
# the accepted rows): written and read at memory speed, several times faster than Parquet, which
# packs tighter.


def stage(
    frame: pd.DataFrame | pa.Table | View,
    paths: Paths,
    name: str,
    metadata: dict[str, str] | None = None,
    arrow: bool = False,
    packed: bool = False,
) -> str:
    """Write ``frame`` to the work folder, named by its content; return the path. A DataFrame
    goes through Arrow with pandas' metadata, so that pandas reads back its dtypes;
    ``metadata`` is added to the file's own (what a reader of the file needs to know). Parquet,
    or with ``arrow`` an Arrow IPC file (``read_staged``), its buffers LZ4-compressed with
    ``packed``: the national tables one stage builds and the next read, written and read three
    to five times faster than Parquet at twice its size (the indicators: 0.03 s against 0.15 s
    to write, 0.04 s against 0.2 s to read back into pandas, 18 MB against 12)."""
    if isinstance(frame, View):
        schema = frame.schema.with_metadata({**(frame.schema.metadata or {}), **(metadata or {})})
        return _stage_view(frame._replace(schema=schema), paths, name)
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    incoming = _incoming(paths, name, ".arrow" if arrow or packed else ".parquet")
    if arrow or packed:
        write_arrow(table, incoming, "lz4" if packed else None)
    else:
        pq.write_table(table, incoming)
    return _named_by_content(incoming, name)


STAGING_THREADS = 2  # Arrow encodes and compresses outside the GIL: a file per core at once


@contextmanager
def staging(paths: Paths) -> Iterator[Callable[[pd.DataFrame | pa.Table, str], Future[str]]]:
    """``stage`` in threads, packed: yields what stages a table under a name and returns the
    future of its path, so that a stage's tables are written while it builds the next (the same
    files as one by one). Every table is staged when the block ends."""
    with ThreadPoolExecutor(STAGING_THREADS, thread_name_prefix="staging") as threads:
        yield lambda frame, name: threads.submit(stage, frame, paths, name, packed=True)


def write_arrow(table: pa.Table, path: Path, compression: str | None = None) -> None:
    """``table`` as an Arrow IPC file, uncompressed unless ``compression`` (``lz4``) is given."""
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)


def read_staged(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A staged table (Parquet or Arrow IPC): ``columns`` only, if given. An Arrow file is
    mapped, not read: only the pages of the columns used are, and its text is not copied (a file
    staged is never written again: a new one takes its name); a packed one's columns used are
    decompressed."""
    if is_view(path):
        return staged_view(path).read(columns)
    if Path(path).suffix != ".arrow":
        return pq.read_table(path, columns=columns)
    source = pa.memory_map(str(path))
    if columns is None:
        return pa.ipc.open_file(source).read_all()
    names = pa.ipc.open_file(source).schema.names
    missing = [column for column in columns if column not in names]
    if missing:
        raise KeyError(f"{path}: no column {', '.join(missing)}")
    options = pa.ipc.IpcReadOptions(included_fields=[names.index(column) for column in columns])
    return pa.ipc.open_file(source, options=options).read_all().select(columns)  # in the order asked


def read_frame(path: str | Path, columns: list[str] | None = None, filters: list[tuple] | None = None) -> pd.DataFrame:
    """A staged table (``read_staged``) as pandas reads it: ``columns`` only and the rows that
    pass ``filters`` (``pd.read_parquet``'s), if given."""
    if Path(path).suffix == ".parquet":
        return pd.read_parquet(path, columns=columns, filters=filters)
    table = read_staged(path, columns)
    return (table.filter(pq.filters_to_expression(filters)) if filters else table).to_pandas()


def staged_schema(path: str | Path) -> pa.Schema:
    """A staged table's schema, with its metadata, read without its rows."""
    if is_view(path):
        return staged_view(path).schema
    if Path(path).suffix != ".arrow":
        return pq.read_schema(path)
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).schema


# A staged view (``.parts``): a table made of the rows of Arrow files already written (the read
# cache's entries, one per file read), named rather than written again: each part with the rows
# it leaves out and, where its rows name their file otherwise, the name they take; and the
# table's schema. ``read_staged`` maps its parts as it maps an Arrow file.
VIEW = ".parts"


class ViewPart(NamedTuple):
    """One part of a staged view: an Arrow file of rows in ``load_read``'s layout."""

    rows: str
    dropped: tuple[int, ...] = ()  # positions of the rows left out
    source_file: str | None = None  # the name its rows' source_file takes, where it is not theirs


class View(NamedTuple):
    """A staged view's parts and schema, before or after it is staged (``stage`` stages one)."""

    parts: list[ViewPart]
    schema: pa.Schema

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """The view's table (``columns`` only, if given), its parts mapped."""
        schema = self.schema
        if columns is not None:
            schema = pa.schema([schema.field(name) for name in columns], metadata=schema.metadata)
        tables = []
        for part in self.parts:
            table = _entry_rows(Path(part.rows), schema.names)
            if part.source_file is not None and "source_file" in schema.names:
                named = pa.repeat(pa.scalar(part.source_file, pa.large_string()), len(table))
                table = table.set_column(schema.names.index("source_file"), "source_file", named)
            tables.append(_without(table, part.dropped).cast(pa.schema(schema, metadata=None)))
        joined = pa.concat_tables(tables) if tables else schema.empty_table()
        return joined.replace_schema_metadata(schema.metadata)

    def lengths(self) -> np.ndarray:
        """How many rows each part's file holds (those it leaves out included)."""
        return np.array([_entry_length(Path(part.rows)) for part in self.parts], dtype=np.int64)

    def locate(self, positions: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The part each of the view's rows at ``positions`` comes from, and its row in that
        part's file (``lengths``: the files' rows)."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = self._starts(lengths)
        if len(positions) and not (positions.min() >= 0 and positions.max() < starts[-1]):
            raise IndexError(f"a position outside the view's {starts[-1]} rows")
        located = np.searchsorted(starts, positions, side="right") - 1
        rows = positions - starts[located]
        for part in np.unique(located):
            if self.parts[part].dropped:
                at = np.flatnonzero(located == part)
                np.put(rows, at, np.delete(np.arange(lengths[part]), list(self.parts[part].dropped))[rows[at]])
        return located, rows

    def positions(self, located: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The view's positions of the rows ``rows`` of the files of parts ``located``
        (``locate``'s, of a view of the same parts); a row it leaves out raises."""
        positions = self._starts(lengths)[located] + rows
        for part in np.unique(located):
            if dropped := self.parts[part].dropped:
                at = np.flatnonzero(located == part)
                if np.isin(rows[at], dropped).any():
                    raise IndexError(f"a row {self.parts[part].rows} leaves out")
                np.put(positions, at, positions[at] - np.searchsorted(np.sort(dropped), rows[at]))
        return positions

    def _starts(self, lengths: np.ndarray) -> np.ndarray:
        """Where each part's rows start in the view, and its length last."""
        kept = lengths - np.array([len(part.dropped) for part in self.parts], dtype=np.int64)
        return np.concatenate(([0], np.cumsum(kept)))

    def narrowed(self, keep: np.ndarray) -> View:
        """The view of the rows ``keep`` marks (one mark per row of the view)."""
        parts, start = [], 0
        for part in self.parts:
            rows = np.delete(np.arange(_entry_length(Path(part.rows))), list(part.dropped))
            kept = keep[start : start + len(rows)]
            start += len(rows)
            dropped = np.union1d(part.dropped, rows[~kept]).astype(np.int64)
            parts.append(part._replace(dropped=tuple(dropped.tolist())))
        return View(parts, self.schema)


def _without(table: pa.Table, rows: tuple[int, ...]) -> pa.Table:
    """``table`` without the ``rows`` (positions): a few are left out by slicing around them
    (mapped text stays mapped, not copied), many by filtering."""
    if len(rows) > SLICED_ROWS:
        return table.filter(pa.array(np.bincount(rows, minlength=len(table)) == 0))
    gaps = np.sort(np.asarray(rows, dtype=np.int64))
    spans = zip(np.concatenate(([0], gaps + 1)).tolist(), np.concatenate((gaps, [len(table)])).tolist(), strict=True)
    return pa.concat_tables([table.slice(start, stop - start) for start, stop in spans if stop > start] or [table[:0]])


# The most rows a part of a view leaves out by slicing around them (measured: filtering the
# registry's 81 parts for their 246 rows quarantined took 0.6-1 s, copying their mapped text)
SLICED_ROWS = 64


def _stage_view(view: View, paths: Paths, name: str) -> str:
    """Stage ``view``; return its path, named by its content (the parts are named by theirs)."""
    incoming = _incoming(paths, name, VIEW)
    staged = {
        "schema": base64.b64encode(view.schema.serialize().to_pybytes()).decode(),
        "parts": [part._asdict() for part in view.parts],
    }
    incoming.write_text(json.dumps(staged), encoding="utf-8")
    return _named_by_content(incoming, name)


def staged_view(path: str | Path) -> View:
    """A staged view's parts and schema."""
    staged = json.loads(Path(path).read_text(encoding="utf-8"))
    parts = [ViewPart(part["rows"], tuple(part["dropped"]), part["source_file"]) for part in staged["parts"]]
    return View(parts, pa.ipc.read_schema(pa.py_buffer(base64.b64decode(staged["schema"]))))


def is_view(path: str | Path) -> bool:
    return Path(path).suffix == VIEW


class StagedParts:
    """A table staged a part at a time (``write``, Arrow tables of the first part's columns and
    types), as an Arrow IPC file whose record batches are the parts: for what is never held
    whole, such as the text a registry's columns were parsed from, file by file. Named by its
    content once the ``with`` block ends (``path``; None when no part was written)."""

    def __init__(self, paths: Paths, name: str) -> None:
        self.paths, self.name = paths, name
        self.path: str | None = None
        self._incoming: Path | None = None
        self._sink: pa.OSFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, part: pa.Table) -> None:
        if self._writer is None:
            self._incoming, self._schema = _incoming(self.paths, self.name, ".arrow"), part.schema
            self._sink = pa.OSFile(str(self._incoming), "wb")
            self._writer = pa.ipc.new_file(self._sink, part.schema)
        self._writer.write_table(part.select(self._schema.names).cast(self._schema))

    def __enter__(self) -> StagedParts:
        return self

    def __exit__(self, error_type: type | None, *_: object) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._sink.close()
        if error_type is None:
            self.path = _named_by_content(self._incoming, self.name)
        else:
            self._incoming.unlink(missing_ok=True)


def _incoming(paths: Paths, name: str, suffix: str) -> Path:
    """Where a staged file is written before it is named by its content: hidden, unique."""
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    return paths.work_dir / f".{name}-{uuid.uuid4().hex}{suffix}"


def _named_by_content(incoming: Path, name: str) -> str:
    target = incoming.with_name(f"{name}-{content_hash(incoming)}{incoming.suffix}")
    os.replace(incoming, target)
    return str(target)


def content_hash(path: Path) -> str:
    """What names a staged file: the XXH3 hash of its bytes (128 bits, at 7 GB/s here where
    SHA-256 does 1.5: staged files run to hundreds of MB), as 16 hex digits. The hashes a
    publication shows (of its inputs) stay SHA-256."""
    digest = xxhash.xxh3_128()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def outputs_present(result: dict | str | None) -> bool:
    """Whether the staged files a (possibly cached) stage result names still exist; touches
    them so that pruning by age keeps what runs still use."""
    if result is None:
        return True
    files = [result] if isinstance(result, str) else [p for p in result.get("outputs", {}).values() if p]
    if not all(Path(f).exists() for f in files):
        return False
    parts = [part.rows for file in files if is_view(file) for part in staged_view(file).parts]
    if not all(Path(part).exists() for part in parts):  # a view's parts (the read cache's entries)
        return False
    for file in files:
        os.utime(file)
    return True


def prune_work(work_dir: Path, max_age_days: float) -> int:
    """Remove staged files no run has used for ``max_age_days``, and the notes kept about staged
    files (``validated/``, ``published/``: ``tasks.publish``) no run has written since; returns how many."""
    cutoff = time.time() - max_age_days * 86400
    patterns = ("*.parquet", "*.arrow", f"*{VIEW}", "validated/*", "published/*")
    found = [file for pattern in patterns for file in work_dir.glob(pattern)]
    old = [f for f in found if f.stat().st_mtime < cutoff] if work_dir.exists() else []
    for file in old:
        file.unlink(missing_ok=True)
    return len(old)


# Hashes


def fingerprint(*parts: object) -> str:
    """A short hash of JSON-able ``parts``: the form of every key."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read once per version of the file (size and modification time): the
    cache keys and the reader both ask for it. A version hashed by an earlier run is taken from
    the hashes it kept (``keep_file_hashes``) when its size, modification and change times and
    inode are the same: a file rewritten in place, even with its old size and modification time
    put back, has a new change time, which no one can set."""
    stat = path.stat()
    known = _known_sha256(path, stat)
    if known is not None:
        return known
    sha256 = _sha256_of(path, stat.st_size, stat.st_mtime_ns)
    _known_hashes.update({str(path): [*_version(stat), sha256]})
    return sha256


def _version(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _known_sha256(path: Path, stat: os.stat_result) -> str | None:
    """The hash kept for this version of the file (``keep_file_hashes``, or hashed before)."""
    known = _known_hashes.get(str(path))
    return known[4] if known is not None and known[:4] == _version(stat) else None


def file_hashes(files: list[Path]) -> list[str]:
    """``file_sha256`` of each of ``files``; those not hashed before two at a time: SHA-256 runs
    outside the GIL, and a source's files run to hundreds of MB (the national registry's 192 MB:
    0.15 s on one core, 0.08 s on two)."""
    unknown = [file for file in files if _known_sha256(file, file.stat()) is None]
    if len(unknown) > 1:
        with ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="hashing") as threads:
            list(threads.map(file_sha256, unknown))
    return [file_sha256(file) for file in files]


HASHING_THREADS = 2
_known_hashes: dict[str, list] = {}  # path -> [size, mtime_ns, ctime_ns, inode, sha256]
FILE_HASHES = "file-hashes.json"  # in the work folder


def keep_file_hashes(work_dir: Path) -> None:
    """Take the file hashes an earlier run kept in ``work_dir`` (a nightly run on unchanged
    inputs then reads none of them: 0.25 s of SHA-256 for the national 228 MB). Unreadable: none."""
    try:
        kept = json.loads((work_dir / FILE_HASHES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(kept, dict):
        _known_hashes.update(
            {path: known for path, known in kept.items() if isinstance(known, list) and len(known) == 5}
        )


def save_file_hashes(work_dir: Path) -> None:
    """Keep the hashes of the files that still exist for the next run (written whole, then
    renamed into place)."""
    kept = {path: known for path, known in _known_hashes.items() if Path(path).exists()}
    work_dir.mkdir(parents=True, exist_ok=True)
    incoming = work_dir / f".{FILE_HASHES}-{uuid.uuid4().hex}"
    incoming.write_text(json.dumps(kept), encoding="utf-8")
    os.replace(incoming, work_dir / FILE_HASHES)


@lru_cache(maxsize=4096)
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache
def code_fingerprint() -> str:
    """Hash of the pipeline's code (``tasks/``, ``schemas/``) and of the versions of the packages
    that shape the outputs (``tasks.versions``): any change, or an upgrade, invalidates every cache."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(json.dumps(versions.package_versions(), sort_keys=True).encode())
    code = [*root.joinpath("tasks").rglob("*.py"), *root.joinpath("tasks").rglob("*.json")]
    for path in sorted([*code, *root.joinpath("schemas").rglob("*.py")]):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
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


# The stages' keys (Prefect's cache_key_fn)


class Listing(Protocol):
    """A source folder as the reader lists it (``tasks.sources.files.SourceListing``)."""

    files: list[Path]
    not_read: list[tuple[Path, str]]


ListFolder = Callable[[Path, str, Path], Listing]


def ingest_key(source: str, paths: Paths, list_folder: ListFolder) -> str | None:
    """The cache key of reading ``source``: the content hashes of the files the reader takes
    from its folders, listed by ``list_folder`` (``tasks.sources.files.list_source_folder``,
    passed in: the reader imports this module), and the other entries by name and reason (a
    file outside is never opened). A SQLite agency database is keyed by its content; one on a
    server has none to hash cheaply: it is read every run, and its rows keep the later keys stable."""
    if source == "agency_db":
        if not paths.agency_db_url.startswith("sqlite:///"):
            return None
        database = Path(paths.agency_db_url.removeprefix("sqlite:///"))
        return fingerprint("ingest", source, setup_fingerprint(paths), [file_sha256(database)])
    entries: list[tuple[str, str]] = []
    for folder in paths.source_dirs(source):
        listing = list_folder(folder, source, paths.data_dir)
        hashes = file_hashes(listing.files)
        entries += [(str(f.relative_to(folder.parent)), sha) for f, sha in zip(listing.files, hashes, strict=True)]
        entries += [(str(f.relative_to(folder.parent)), reason) for f, reason in listing.not_read]
    return fingerprint("ingest", source, setup_fingerprint(paths), entries)


def validate_key(source: str, ingested: dict, paths: Paths) -> str:
    """Validation depends on the ingest result: its staged paths are named by content."""
    return fingerprint("validate", source, setup_fingerprint(paths), ingested)


INDICATOR_PARAMETERS = {"reference_year", "growth_spans", "universe"}


def indicators_key(paths: Paths, accepted: dict[str, str], parameters: SelectionParameters) -> str:
    """Indicators depend on the accepted rows and the years and universe, not on the weights."""
    return fingerprint(
        "indicators", setup_fingerprint(paths), accepted, parameters.model_dump(include=INDICATOR_PARAMETERS)
    )


RELATEDNESS_PARAMETERS = {"relatedness", "universe"}


def relatedness_key(paths: Paths, computed: dict, parameters: SelectionParameters) -> str:
    """Relatedness depends on the staged indicators and candidates (paths named by content), the
    reference year (whose strength joins the candidates), its own parameters and the universe;
    not on the weights."""
    staged = computed["outputs"]
    return fingerprint(
        "relatedness",
        setup_fingerprint(paths),
        staged["indicators"],
        staged["candidates"],
        computed["reference_year"],
        parameters.model_dump(include=RELATEDNESS_PARAMETERS),
    )


DEFINITION_PARAMETERS = {"clusters", "universe", "reference_year"}


def definitions_key(paths: Paths, sgk_accepted: str, parameters: SelectionParameters) -> str:
    """Cluster definitions depend on the accepted SGK rows (staged, named by content), the
    reference year (the window's end: the latest of those rows unless given), their own
    parameters and the universe; not on the weights."""
    return fingerprint(
        "definitions", setup_fingerprint(paths), sgk_accepted, parameters.model_dump(include=DEFINITION_PARAMETERS)
    )


def cluster_candidates_key(
    paths: Paths, accepted: dict[str, str], computed: dict, defined: dict, parameters: SelectionParameters
) -> str:
    """Data-driven clusters as candidates depend on the accepted rows and the definitions (named
    by content), the reference year and the parameters of the indicators and of relatedness."""
    return fingerprint(
        "cluster-candidates",
        setup_fingerprint(paths),
        accepted,
        computed["reference_year"],
        defined["outputs"]["cluster_definitions"],
        parameters.model_dump(include=INDICATOR_PARAMETERS | RELATEDNESS_PARAMETERS),
    )


def history_candidates_key(
    paths: Paths, accepted: dict[str, str], computed: dict, parameters: SelectionParameters
) -> str:
    """The selection history's candidates are built from the accepted rows (named by content)
    with every parameter but those scoring alone reads (``SCORING_PARAMETERS``): a rerun with
    other weights finds them."""
    return fingerprint(
        "history-candidates",
        setup_fingerprint(paths),
        accepted,
        computed["reference_year"],
        parameters.model_dump(exclude=SCORING_PARAMETERS),
    )


# What scoring reads and building the candidates does not; and what the report alone reads.
SCORING_PARAMETERS = {"weights", "gates", "robustness", "report_language", "top_n"}


def history_key(
    stage: str,
    paths: Paths,
    staged: dict[str, str],
    computed: dict,
    parameters: SelectionParameters,
    plate_codes: list[int] | None = None,
) -> str:
    """The selection history (of the provinces ``plate_codes``, from its staged candidates) and
    the backtest (``stage``, from the accepted rows) are recomputed from what they read (staged
    files, named by content) with every parameter that decides a selection, the weights too."""
    return fingerprint(
        stage,
        setup_fingerprint(paths),
        staged,
        computed["reference_year"],
        parameters.model_dump(exclude={"report_language", "top_n"}),
        *([sorted(plate_codes)] if plate_codes is not None else []),
    )


def score_key(paths: Paths, candidates: str, plate_codes: list[int], parameters: SelectionParameters) -> str:
    """The provinces' scores depend on the candidates, which provinces, and every parameter but
    the report's language."""
    return fingerprint(
        "score",
        setup_fingerprint(paths),
        candidates,
        sorted(plate_codes),
        parameters.model_dump(exclude={"report_language"}),
    )


def assemble_key(
    paths: Paths,
    sources: dict,
    computed: dict,
    national: dict[str, str],
    score_files: list[str],
    parameters: SelectionParameters,
    plates: list[int],
    run: dict,
    previous_dir: Path | None,
) -> str:
    """The publication's datasets and manifest depend on the stages' results (staged files named
    by content), every parameter, the provinces, the code and package versions the run id names,
    and the publication they carry provinces over from (a snapshot, never rewritten, named by its
    run id); not on the run's own fields (flow run, times, trigger), set again on every run."""
    previous = previous_dir.resolve().name if previous_dir and (previous_dir / "manifest.json").exists() else None
    return fingerprint(
        "assemble",
        setup_fingerprint(paths),
        sources,
        computed,
        national,
        score_files,
        parameters.model_dump(),
        plates,
        run["code_version"],
        run["package_versions"],
        previous,
    )


# The read cache: <out>/ingested/<reader fingerprint>/<source>/<read key>/{rows,rejected}.arrow, info.json


def reader_fingerprint(reference_dir: Path) -> str:
    """Hash of the reader code, the reference tables and the versions of the packages that shape
    what is read (``tasks.versions``): cached reads are valid while it holds."""
    digest = hashlib.sha256(json.dumps(versions.package_versions(), sort_keys=True).encode())
    tasks_dir = Path(__file__).resolve().parent
    code = [
        *sorted(tasks_dir.joinpath("sources").glob("*.py")),
        tasks_dir / "reference.py",
        tasks_dir / "store.py",  # the cache's own format
        tasks_dir.parent / "schemas" / "inputs.py",
    ]
    for path in [*code, *sorted(reference_dir.glob("*.csv"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_cache_dir(paths: Paths) -> Path | None:
    """The read cache of the current reader (``<out>/ingested/<reader fingerprint>/``), if the
    run keeps one."""
    return paths.cache_dir / reader_fingerprint(paths.reference_dir) if paths.cache_dir else None


def prune_read_cache(paths: Paths, max_age_days: float) -> int:
    """Remove the read caches of other readers (other reader code, reference tables or package
    versions: never read by this one) to which no run added for ``max_age_days``; returns how
    many. An entry runs to several times its file's size (Arrow, uncompressed)."""
    current = read_cache_dir(paths)
    if current is None or not current.parent.is_dir():
        return 0
    cutoff = time.time() - max_age_days * 86400
    old = [
        folder
        for folder in current.parent.iterdir()
        if folder.is_dir() and folder != current and _last_added(folder) < cutoff
    ]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)


def _last_added(folder: Path) -> float:
    """When an entry was last added to a reader's cache: its sources' folders change then."""
    return max([folder.stat().st_mtime, *(source.stat().st_mtime for source in folder.iterdir())])


def read_key(source: str, sha256: str, relative: str) -> str:
    """The read cache's key of one file: its content hash; for a member list also its path in
    the source folder (``relative``), since its province may come from the folder or the name."""
    if source != "chamber_registry":
        return sha256
    return f"{sha256}-{hashlib.sha256(relative.encode()).hexdigest()[:12]}"


def cached_read(cache_dir: Path | None, source: str, key: str) -> tuple[pa.Table, pd.DataFrame, dict] | None:
    """The rows, rejected rows and file info kept for a file read before (``"read": "cached"``),
    or None when there are none (or no cache)."""
    entry = cache_dir / source / key if cache_dir else None
    if entry is None or not (entry / "info.json").exists():
        return None
    rows, rejected, info = load_read(entry)
    return rows, rejected, {**info, "read": "cached"}


def save_read(
    cache_dir: Path | None, source: str, key: str, rows: pa.Table, rejected: pd.DataFrame, info: dict
) -> Path | None:
    """Keep what was read from a file for the next runs (``write_read``); returns the entry
    (None without a cache)."""
    if cache_dir is None:
        return None
    entry = cache_dir / source / key
    write_read(entry, rows, rejected, info)
    return entry


def write_read(entry: Path, rows: pa.Table, rejected: pd.DataFrame, info: dict) -> None:
    """What was read from a file (its rows with pandas' metadata), in the folder ``entry``, as
    Arrow IPC files (written in every cold run: Parquet would cost more than the reading), each
    written under a unique name and renamed into place; ``info.json`` last, as it marks the entry
    complete. A column that is another's values (raw text a value was kept from as it was) is
    written once (``_shared_columns``)."""
    entry.mkdir(parents=True, exist_ok=True)
    shared = _shared_columns(rows)
    rows = rows.drop_columns(list(shared)).replace_schema_metadata(
        {**(rows.schema.metadata or {}), _SHARED: json.dumps({"columns": rows.column_names, "shared": shared})}
    )
    rejected = pa.Table.from_pandas(rejected, preserve_index=False, nthreads=1)
    for name, table in zip(_READ, (rows, rejected), strict=True):
        incoming = entry / f".{name}-{uuid.uuid4().hex}"
        write_arrow(table, incoming)
        os.replace(incoming, entry / f"{name}.arrow")
    incoming = entry / f".info-{uuid.uuid4().hex}"
    incoming.write_text(json.dumps(info, default=str), encoding="utf-8")
    os.replace(incoming, entry / "info.json")


def load_read(entry: Path) -> tuple[pa.Table, pd.DataFrame, dict]:
    """The rows (mapped from their file, not copied), rejected rows and file info ``write_read``
    left in ``entry``."""
    rejected = read_staged(entry / f"{_READ[1]}.arrow")
    rejected = rejected.to_pandas() if rejected.num_rows else pd.DataFrame(columns=rejected.column_names)
    return _entry_rows(entry / f"{_READ[0]}.arrow"), rejected, json.loads((entry / "info.json").read_text("utf-8"))


def _entry_length(path: Path) -> int:
    """How many rows ``write_read`` left in ``path``."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all().num_rows


def _entry_rows(path: Path, columns: list[str] | None = None) -> pa.Table:
    """The rows ``write_read`` left in ``path`` (``columns`` only, if given), mapped."""
    rows = read_staged(path)
    metadata = dict(rows.schema.metadata)
    layout = json.loads(metadata.pop(_SHARED))
    names = layout["columns"] if columns is None else columns
    return pa.table({name: rows[layout["shared"].get(name, name)] for name in names}).replace_schema_metadata(metadata)


def _shared_columns(table: pa.Table) -> dict[str, str]:
    """The columns of ``table`` that hold the very values of an earlier one (the same type and
    Arrow buffers), each with that column's name."""
    layouts = {name: _layout(column) for name, column in zip(table.column_names, table.columns, strict=True)}
    first: dict[tuple, str] = {}
    for name, layout in layouts.items():
        first.setdefault(layout, name)
    return {name: first[layout] for name, layout in layouts.items() if first[layout] != name}


def _layout(column: pa.ChunkedArray) -> tuple:
    """A column's type and where its values lie in memory."""
    chunks = ((chunk.offset, len(chunk), *(b.address if b else 0 for b in chunk.buffers())) for chunk in column.chunks)
    return (str(column.type), *chunks)


_SHARED = b"kume.read"  # the rows' columns in order, and which are another's (``write_read``)


_READ = ("rows", "rejected")


# The publication


def snapshot_in_place(out_dir: Path, run_id: str) -> bool:
    """Whether the run's snapshot is already in ``out_dir/runs`` (its manifest is renamed into
    place last): the same run id means the same inputs, parameters, code and packages, so it is
    never written again."""
    return (out_dir / "runs" / run_id / "manifest.json").exists()
