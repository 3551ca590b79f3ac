"""The agency-database reader against a real PostgreSQL server: the shipped SQLite database copied
table by table into PostgreSQL must ingest to the same long frame as the SQLite file itself."""

from __future__ import annotations

import os
import socket
import threading
from unittest import mock

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import run_selection
from pg_server import create_database, free_port, postgres_server, postgres_url  # noqa: F401
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

from kume.settings import PROJECT_ROOT
from schemas.inputs import AGENCY_DB_TABLES
from tasks.errors import InputFileError, NationalInputError, SourceUnavailableError
from tasks.reference import Reference
from tasks.sources.agency_db import ingest_agency_db
from tasks.sources.files import IngestedSource

SQLITE_PATH = PROJECT_ROOT / "data" / "sources" / "agency_db" / "agency.sqlite"
SQLITE_URL = f"sqlite:///{SQLITE_PATH}"


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(PROJECT_ROOT / "data" / "reference")


def copy_sqlite_to(url: str, skip: tuple[str, ...] = ()) -> None:
    """Every table of the shipped SQLite agency database, except `skip`, into the database at `url`."""
    source, target = sa.create_engine(SQLITE_URL), sa.create_engine(url)
    try:
        with source.connect() as reading, target.begin() as writing:
            for table in sa.inspect(reading).get_table_names():
                if table not in skip:
                    pd.read_sql_table(table, reading).to_sql(table, writing, index=False)
    finally:
        source.dispose()
        target.dispose()


def comparable(ingested: IngestedSource) -> pd.DataFrame:
    """The frame sorted by record and measure; source_file keeps only its table suffix, the part
    after the database label (file name for SQLite, database name for PostgreSQL)."""
    frame = ingested.frame.assign(source_file=ingested.frame["source_file"].str.rsplit(":", n=1).str[-1])
    return frame.sort_values(["table", "source_row", "measure"], kind="stable").reset_index(drop=True)


def test_postgres_copy_ingests_like_the_sqlite_file(postgres_url, reference):  # noqa: F811
    url = create_database(postgres_url, "agency_full")
    copy_sqlite_to(url)

    from_postgres = ingest_agency_db(url, reference)
    from_sqlite = ingest_agency_db(SQLITE_URL, reference)

    assert not from_postgres.frame.empty
    assert set(from_postgres.frame["table"]) == set(AGENCY_DB_TABLES)
    pd.testing.assert_frame_equal(comparable(from_postgres), comparable(from_sqlite))
    assert from_postgres.source == from_sqlite.source == "agency_db"
    assert from_postgres.errors == from_sqlite.errors == []
    [pg_file], [sqlite_file] = from_postgres.files, from_sqlite.files
    assert pg_file["file"] == "agency_full"
    assert pg_file["rows_in"] == sqlite_file["rows_in"] > 0
    assert {k: v for k, v in pg_file.items() if k not in ("file", "sha256")} == {
        k: v for k, v in sqlite_file.items() if k not in ("file", "sha256")
    }


def test_postgres_database_missing_a_table_is_an_ingest_error_naming_it(postgres_url, reference):  # noqa: F811
    url = create_database(postgres_url, "agency_missing_table")
    copy_sqlite_to(url, skip=("testing_labs",))

    with pytest.raises(InputFileError, match="testing_labs") as raised:
        ingest_agency_db(url, reference)
    assert (raised.value.source, raised.value.file) == ("agency_db", "agency_missing_table")
    assert "lacks tables" in raised.value.problem


def agency_reads(flow_run_id: str) -> int:
    """How many times the flow run's ingest-agency_db task ran (1 + its retries)."""
    with get_client(sync_client=True) as client:
        [task_run] = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["ingest-agency_db"])),
        )
    return task_run.run_count


def run_against(url: str, out, **request):
    """The selection flow reading the agency database at ``url``: four attempts, 1, 2, 4 s apart."""
    settings = {"KUME_AGENCY_DB_URL": url, "KUME_SOURCE_ATTEMPTS": "4", "KUME_SOURCE_BACKOFF_SECONDS": "1"}
    with mock.patch.dict(os.environ, settings):
        return run_selection(out, **request)


def test_an_unreachable_agency_database_is_retried_and_the_run_goes_on_when_it_is_back(
    postgres_server,  # noqa: F811
    tmp_path,
):
    url = create_database(postgres_server.url, "agency_retry")
    copy_sqlite_to(url)
    postgres_server.stop()
    # The database is down: the run's first connection reaches a stand-in on its port that hangs
    # up, and only then does PostgreSQL come back, so the run must retry to finish.
    stand_in = socket.create_server(("127.0.0.1", postgres_server.port))

    def hang_up_then_start() -> None:
        connection, _ = stand_in.accept()
        connection.close()
        stand_in.close()
        postgres_server.start()

    comeback = threading.Thread(target=hang_up_then_start)
    comeback.start()
    try:
        manifest = run_against(url, tmp_path / "out", provinces=["Samsun"], force=True)
    finally:
        comeback.join(timeout=60)
    assert manifest["status"] == "complete"
    assert manifest["inputs"]["agency_db"]["files"][0]["file"] == "agency_retry"
    assert agency_reads(manifest["flow_run_id"]) >= 2


def test_a_database_that_stays_down_fails_the_run_with_a_message_naming_it(tmp_path):
    url = f"postgresql+psycopg://kume:secret@127.0.0.1:{free_port()}/agency"
    with pytest.raises(SourceUnavailableError, match=r"agency_db: cannot reach the agency database") as raised:
        run_against(url, tmp_path / "out", provinces=["Samsun"])
    assert raised.value.source == "agency_db"
    assert "127.0.0.1" in str(raised.value) and "secret" not in str(raised.value)
    assert not (tmp_path / "out" / "current").exists()


def test_a_data_error_in_the_database_is_reported_not_retried(postgres_url, tmp_path):  # noqa: F811
    url = create_database(postgres_url, "agency_no_labs")
    copy_sqlite_to(url, skip=("testing_labs",))
    with pytest.raises(NationalInputError, match="agency_db: agency_no_labs: .*lacks tables.*testing_labs") as raised:
        run_against(url, tmp_path / "out", provinces=["Samsun"])
    [failure] = raised.value.failures
    assert (failure["source"], failure["file"]) == ("agency_db", "agency_no_labs")
    with get_client(sync_client=True) as client:
        [task_run] = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["ingest-agency_db"])),
            sort="EXPECTED_START_TIME_DESC",
            limit=1,
        )
    assert task_run.run_count == 1
