"""The agency-database reader against a real PostgreSQL server: the shipped SQLite database copied
table by table into PostgreSQL must ingest to the same long frame as the SQLite file itself."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from pg_server import create_database, postgres_url  # noqa: F401

from kume.settings import PROJECT_ROOT
from schemas.inputs import AGENCY_DB_TABLES
from tasks.ingest import IngestedSource, IngestError, ingest_agency_db
from tasks.reference import Reference

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

    with pytest.raises(IngestError, match="testing_labs") as raised:
        ingest_agency_db(url, reference)
    assert "lacks tables" in raised.value.problem
