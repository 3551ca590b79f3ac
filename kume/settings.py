"""One settings object for paths and connections, read from ``KUME_*`` environment variables.

An entry point builds it once and passes it down. One that builds it from its own arguments
(``kume run --out DIR``, a test) puts it in force with ``use_settings`` for the flow it runs;
the flow takes ``current_settings()`` at its start: those, else ``KUME_*`` of the process (a
worker's or deployment's run). Nothing passes settings through ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Where kume reads and writes. Every field can be set as ``KUME_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="KUME_")

    data_dir: Path = PROJECT_ROOT / "data"
    out_dir: Path = PROJECT_ROOT / "out"
    expectations_dir: Path = PROJECT_ROOT / "expectations"
    agency_db_url: str | None = None  # default: the SQLite file shipped under data/sources/agency_db
    database_url: str | None = None  # SQL publication; default: SQLite file <out>/kume.sqlite
    keep_runs: int = 5  # published snapshots kept readable under <out>/runs
    publish_lock_timeout_seconds: float = 600  # a second publication waits this long, then is refused
    publish_lease_seconds: float = 60  # lease of the kume-publish slot on a real Prefect server (renewed; 60 at least)
    sql_attempts: int = 4  # SQL publication attempts on connection failures (backoff 1, 2, 4 s)
    source_attempts: int = 4  # agency database reads on connection failures (Prefect task retries)
    source_backoff_seconds: float = 2  # first wait between those attempts, doubled each time
    work_retention_days: float = 14  # staged tables no run used for this long are removed
    dask_scheduler: str | None = None  # e.g. tcp://10.0.0.5:8786: provinces are scored on that Dask cluster

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def inbox_dir(self) -> Path:
        """New files dropped by hand, one folder per source; read by the next run."""
        return self.data_dir / "inbox"

    @property
    def sgk_folders(self) -> list[Path]:
        """Where the SGK statistics are: the shipped folder, then the inbox's."""
        return [self.sources_dir / "sgk_employment", self.inbox_dir / "sgk_employment"]

    @property
    def ingest_cache_dir(self) -> Path:
        """Files already read, kept by content hash so that a run does not parse them again."""
        return self.out_dir / "ingested"

    @property
    def work_dir(self) -> Path:
        """Staged tables between tasks, named by content, reused by cached tasks."""
        return self.out_dir / "work"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.out_dir / 'kume.sqlite'}"

    def resolved_agency_db_url(self) -> str:
        if self.agency_db_url:
            return self.agency_db_url
        return f"sqlite:///{self.sources_dir / 'agency_db' / 'agency.sqlite'}"


_IN_FORCE: ContextVar[Settings | None] = ContextVar("kume_settings", default=None)


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Put ``settings`` in force for the block (this thread and the contexts copied from it)."""
    token = _IN_FORCE.set(settings)
    try:
        yield settings
    finally:
        _IN_FORCE.reset(token)


def current_settings() -> Settings:
    """The settings in force: those of the enclosing ``use_settings``, else read now from the
    ``KUME_*`` environment variables. Called once at an entry point; the result is passed down."""
    in_force = _IN_FORCE.get()
    return in_force if in_force is not None else Settings()
