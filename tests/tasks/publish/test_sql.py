"""The SQL publication meets a database it did not make: kume's tables of another layout, kume's
previous layouts (schemas 2 and 3) and their migration, a database error. On SQLite and on a real
PostgreSQL server (tests/pg_server.py): the run fails with one line naming the table and the
columns, nothing is created in the database, the current publication is untouched, and after
`kume migrate-sql` publishing works."""

from __future__ import annotations

import itertools
import os
import shutil

import pandas as pd
import pytest
import sqlalchemy as sa
from pg_server import create_database, postgres_server, postgres_url  # noqa: F401

from kume.cli import main as kume
from tasks.errors import PublishError, SqlSchemaError, safe_url
from tasks.publish.publication import publish
from tasks.publish.snapshot import current_run, file_digest
from tasks.publish.sql import METADATA, SELECTION_TABLE, SQL_SCHEMA_VERSION, SqlSink, migrate_sql, sql_current_run

SCHEMA_2 = [  # kume's SQL tables as schema 2 (contract 2.0.0) created them
    "CREATE TABLE kume_selection (run_id VARCHAR(32) NOT NULL, plate_code INTEGER NOT NULL, rank INTEGER NOT NULL, "
    "province VARCHAR(40), host VARCHAR(200), year INTEGER, sector_code VARCHAR(10), sector_name VARCHAR(200), "
    "total_score FLOAT, economic_impact FLOAT, demand FLOAT, networking FLOAT, factor_conditions FLOAT, "
    "eligible BOOLEAN, selected BOOLEAN, turnover_rank INTEGER, robustness_share FLOAT, cmp_strong BOOLEAN, "
    "eco_stars INTEGER, PRIMARY KEY (run_id, plate_code, rank))",
    "CREATE TABLE kume_indicators (run_id VARCHAR(32) NOT NULL, plate_code INTEGER NOT NULL, "
    "sector_code VARCHAR(10) NOT NULL, year INTEGER NOT NULL, employment FLOAT, establishments FLOAT, exports FLOAT, "
    "lq_employment FLOAT, focus FLOAT, national_share FLOAT, employment_cagr FLOAT, cmp_strong BOOLEAN, "
    "eco_stars INTEGER, PRIMARY KEY (run_id, plate_code, sector_code, year))",
    "CREATE TABLE kume_publications (run_id VARCHAR(32) NOT NULL PRIMARY KEY, published_at VARCHAR(40) NOT NULL, "
    "reference_year INTEGER, code_version VARCHAR(80), status VARCHAR(20), schema_version VARCHAR(20))",
    "CREATE TABLE kume_current (id INTEGER NOT NULL PRIMARY KEY, run_id VARCHAR(32) NOT NULL)",
]
SCHEMA_2_ROWS = [  # run "old": Samsun ranked by registry turnover, Ankara without a registry
    "INSERT INTO kume_selection (run_id, plate_code, rank, province, sector_code, sector_name, total_score, "
    "selected, turnover_rank) VALUES ('old', 55, 1, 'Samsun', '32.50', 'medical equipment and supplies', 86.4, "
    "TRUE, 8), ('old', 55, 2, 'Samsun', '14.19', 'Manufacture of other wearing apparel and accessories', 80.1, "
    "FALSE, 3), ('old', 6, 1, 'Ankara', '27.11', NULL, 70.0, TRUE, NULL)",
    "INSERT INTO kume_publications (run_id, published_at, reference_year, schema_version) "
    "VALUES ('old', '2025-01-01T02:00:00+00:00', 2022, '2.0.0')",
    "INSERT INTO kume_current (id, run_id) VALUES (1, 'old')",
]
# What the first 3.0 release's silent ALTERs left in a schema-2 database: the new columns beside turnover_rank
SCHEMA_2_TOUCHED = [
    "ALTER TABLE kume_selection ADD COLUMN size_rank INTEGER",
    "ALTER TABLE kume_selection ADD COLUMN size_basis VARCHAR(20)",
    "ALTER TABLE kume_selection ADD COLUMN computed_in_run VARCHAR(32)",
    "ALTER TABLE kume_selection ADD COLUMN parameters_id VARCHAR(16)",
]
NAMES = itertools.count()
MEDICAL = "Manufacture of medical and dental instruments and supplies"  # NACE 32.50, the cluster's main class


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """An empty database: a SQLite file, or a fresh database on the throwaway PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kume.sqlite'}"
    server_url = request.getfixturevalue("postgres_url")
    return create_database(server_url, f"kume_schema_{next(NAMES)}")


def tiny_run(run_id: str) -> dict[str, pd.DataFrame]:
    """A run's selection (two provinces) and reference-year indicators, small and made up."""
    selection = pd.DataFrame(
        {
            "plate_code": [55, 55, 61],
            "rank": [1, 2, 1],
            "province": ["Samsun", "Samsun", "Trabzon"],
            "year": 2022,
            "sector_code": ["32.50", "14.19", "30.11"],
            "sector_name": [
                "Manufacture of medical and dental instruments and supplies",
                "Manufacture of other wearing apparel and accessories",
                "Building of ships and floating structures",
            ],
            "cluster_name": ["medical equipment and supplies", None, "shipbuilding"],
            "total_score": [86.4, 80.1, 89.9],
            "selected": [True, False, True],
            "eligible": True,
            "size_rank": [8, 3, 5],
            "size_basis": ["turnover_registry", "turnover_registry", "turnover_agency"],
        }
    ).assign(run_id=run_id, computed_in_run=run_id, parameters_id="p-default")
    indicators = pd.DataFrame(
        {"plate_code": [55, 61], "sector_code": ["32.50", "30.11"], "year": 2022, "employment": [1200.0, 3400.0]}
    )
    return {"selection": selection, "indicators": indicators}


MANIFEST = {"parameters": {"reference_year": 2022}, "code_version": "test", "status": "complete"}


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def tables(url: str) -> dict[str, list[str]]:
    """The database's tables and their columns."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            return {name: [c["name"] for c in inspector.get_columns(name)] for name in inspector.get_table_names()}
    finally:
        engine.dispose()


def query(url: str, statement: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(statement))]
    finally:
        engine.dispose()


def tree(folder) -> dict[str, tuple]:
    """Every file under ``folder`` (a link followed): content hash, inode and modification time."""
    root = folder.resolve()
    return {
        str(path.relative_to(root)): (file_digest(path), path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_a_table_of_another_schema_fails_the_run_in_one_line_and_creates_nothing(database, tmp_path):
    out = tmp_path / "out"
    publish(out, "run-old", tiny_run("run-old"), MANIFEST)  # the current publication (no SQL yet)
    before = tree(out / "current")
    execute(database, SCHEMA_2[0])  # kume_selection alone, as schema 2 made it
    with pytest.raises(SqlSchemaError) as refused:
        publish(out, "run-new", tiny_run("run-new"), MANIFEST, sql=SqlSink(database, attempts=1))
    assert str(refused.value) == (
        f"SQL table kume_selection in {safe_url(database)} has another schema: "
        "missing cluster_name, size_rank, size_basis, computed_in_run, parameters_id; unexpected turnover_rank; "
        "run `kume migrate-sql` or use another database"
    )
    assert isinstance(refused.value, PublishError)  # a KumeError: `kume run failed: ...`, exit 1
    assert list(tables(database)) == ["kume_selection"]  # nothing created
    assert query(database, "SELECT count(*) FROM kume_selection") == [(0,)]
    assert current_run(out) == "run-old" and tree(out / "current") == before
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["run-old"]  # checked before the snapshot


def test_another_kind_of_column_is_named_with_both_types(database, tmp_path):
    METADATA.create_all(engine := sa.create_engine(database))
    engine.dispose()
    execute(database, "DROP TABLE kume_indicators")
    execute(
        database,
        "CREATE TABLE kume_indicators (run_id VARCHAR(32), plate_code VARCHAR(2), sector_code VARCHAR(10), "
        "year INTEGER, employment FLOAT, establishments FLOAT, exports FLOAT, lq_employment FLOAT, focus FLOAT, "
        "national_share FLOAT, employment_cagr FLOAT, cmp_strong BOOLEAN, eco_stars INTEGER)",
    )
    with pytest.raises(SqlSchemaError) as refused:
        publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=SqlSink(database, attempts=1))
    assert str(refused.value).startswith(
        f"SQL table kume_indicators in {safe_url(database)} has another schema: "
        "other types: plate_code is VARCHAR(2) (kume writes INTEGER); "
    )
    assert sql_current_run(SqlSink(database)) is None and not (tmp_path / "out" / "current").exists()


@pytest.mark.parametrize("layout", ["schema 2", "schema 2 with the 3.0 columns added beside it"])
def test_migrate_sql_brings_a_schema_2_database_to_the_current_layout(database, tmp_path, monkeypatch, capsys, layout):
    execute(database, *SCHEMA_2, *SCHEMA_2_ROWS, *(SCHEMA_2_TOUCHED if layout != "schema 2" else []))
    sink = SqlSink(database, attempts=1)
    with pytest.raises(SqlSchemaError, match="unexpected turnover_rank; run `kume migrate-sql`"):
        publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=sink)

    monkeypatch.setenv("KUME_DATABASE_URL", database)
    assert kume(["migrate-sql"]) == 0
    said = capsys.readouterr()
    assert said.out.strip() == (
        f"migrated {safe_url(database)} from kume's SQL schema 2 to 4: kume_selection's turnover_rank is size_rank "
        "now, size_basis, computed_in_run and parameters_id added; cluster_name added, the cluster's name moved "
        "there from sector_name in 1 of 3 rows"
    )
    assert sorted(tables(database)["kume_selection"]) == sorted(c.name for c in SELECTION_TABLE.columns)
    assert query(database, "SELECT version FROM kume_schema_version") == [(SQL_SCHEMA_VERSION,)]
    migrated = query(
        database,
        "SELECT plate_code, rank, size_rank, size_basis, computed_in_run, parameters_id, sector_name, cluster_name "
        "FROM kume_selection ORDER BY plate_code, rank",
    )
    assert migrated == [
        (6, 1, None, None, "old", None, None, None),  # no registry turnover: no size basis, as 2.0 is read
        (55, 1, 8, "turnover_registry", "old", None, MEDICAL, "medical equipment and supplies"),
        (55, 2, 3, "turnover_registry", "old", None, "Manufacture of other wearing apparel and accessories", None),
    ]

    publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=sink)  # publishing works now
    assert sql_current_run(sink) == current_run(tmp_path / "out") == "run-new"
    assert query(database, "SELECT count(*) FROM kume_selection WHERE run_id = 'run-new'") == [(3,)]
    assert kume(["migrate-sql"]) == 0
    assert "is at kume's SQL schema 4 already: nothing to migrate" in capsys.readouterr().out


def schema_3(url: str) -> None:
    """kume's tables as SQL schema 3 (contract 3.0.0) made them: no cluster_name, the programme
    cluster's name in sector_name (Samsun's 32.50), version 3 recorded."""
    METADATA.create_all(engine := sa.create_engine(url))
    engine.dispose()
    execute(
        url,
        "ALTER TABLE kume_selection DROP COLUMN cluster_name",
        "INSERT INTO kume_schema_version (version, applied_at) VALUES (3, '2025-06-01T02:00:00+00:00')",
        "INSERT INTO kume_selection (run_id, plate_code, rank, province, sector_code, sector_name, computed_in_run) "
        "VALUES ('old', 55, 1, 'Samsun', '32.50', 'medical equipment and supplies', 'old'), "
        "('old', 55, 2, 'Samsun', '14.19', 'Manufacture of other wearing apparel and accessories', 'old'), "
        "('old', 61, 1, 'Trabzon', '30.11', 'Building of ships and floating structures', 'old')",
        "INSERT INTO kume_publications (run_id, published_at, reference_year, schema_version) "
        "VALUES ('old', '2025-06-01T02:00:00+00:00', 2022, '3.0.0')",
        "INSERT INTO kume_current (id, run_id) VALUES (1, 'old')",
    )


def test_a_schema_3_database_is_refused_until_migrated_then_has_cluster_names(database, tmp_path, ref):
    schema_3(database)
    sink = SqlSink(database, attempts=1)
    with pytest.raises(SqlSchemaError) as refused:
        publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=sink)
    assert str(refused.value) == (
        f"SQL table kume_selection in {safe_url(database)} has another schema: missing cluster_name; "
        "run `kume migrate-sql` or use another database"
    )
    assert migrate_sql(database, ref) == (
        f"migrated {safe_url(database)} from kume's SQL schema 3 to 4: kume_selection's cluster_name added, the "
        "cluster's name moved there from sector_name in 1 of 3 rows"
    )
    assert query(database, "SELECT max(version) FROM kume_schema_version") == [(SQL_SCHEMA_VERSION,)]
    names = query(
        database, "SELECT sector_code, sector_name, cluster_name FROM kume_selection ORDER BY plate_code, rank"
    )
    assert names == [
        ("32.50", MEDICAL, "medical equipment and supplies"),  # the cluster's name was in sector_name
        ("14.19", "Manufacture of other wearing apparel and accessories", None),  # a class without a cluster
        ("30.11", "Building of ships and floating structures", None),  # not the cluster's name: left as it was
    ]
    publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=sink)
    rows = query(database, "SELECT sector_name, cluster_name FROM kume_selection WHERE run_id = 'run-new' AND rank = 1")
    assert sorted(rows) == [
        ("Building of ships and floating structures", "shipbuilding"),
        (MEDICAL, "medical equipment and supplies"),
    ]
    assert migrate_sql(database, ref).endswith("is at kume's SQL schema 4 already: nothing to migrate")


def test_migrate_sql_refuses_a_layout_it_does_not_know_in_one_line(database, monkeypatch, capsys):
    execute(database, "CREATE TABLE kume_selection (run_id VARCHAR(32), plate_code INTEGER, turnover_rank INTEGER)")
    monkeypatch.setenv("KUME_DATABASE_URL", database)
    assert kume(["migrate-sql"]) == 1
    said = capsys.readouterr()
    assert said.err.startswith(f"kume migrate-sql failed: cannot migrate {safe_url(database)}: its kume tables are")
    assert (
        said.err.count("\n") == 1
        and "missing rank, province" in said.err
        and said.err.rstrip().endswith("nothing was changed")
    )
    assert tables(database) == {"kume_selection": ["run_id", "plate_code", "turnover_rank"]}


def test_a_database_error_is_one_line_without_the_statement_or_the_rows(database, tmp_path):
    refusing = sa.MetaData()  # kume's tables, but one refuses every selection row
    for table in METADATA.sorted_tables:
        columns = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns]
        checks = [sa.CheckConstraint("total_score < 0", name="no_scores")] if table.name == "kume_selection" else []
        sa.Table(table.name, refusing, *columns, *checks)
    refusing.create_all(engine := sa.create_engine(database))
    engine.dispose()
    with pytest.raises(PublishError) as failed:
        publish(tmp_path / "out", "run-new", tiny_run("run-new"), MANIFEST, sql=SqlSink(database, attempts=1))
    message = str(failed.value)
    assert message.startswith(f"SQL publication of run run-new to {safe_url(database)} failed: IntegrityError: ")
    assert "no_scores" in message or "CHECK constraint failed" in message
    for leaked in ("\n", "INSERT", "[SQL", "Samsun", "86.4", "Failing row"):
        assert leaked not in message, leaked
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert query(database, "SELECT count(*) FROM kume_selection") == [(0,)]
    assert not (tmp_path / "out" / "current").exists()


def test_kume_run_against_a_table_of_another_schema_says_so_in_one_line(published_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    shutil.copytree(published_run["out_dir"], out, symlinks=True, ignore=shutil.ignore_patterns("work", "ingested"))
    before = tree(out / "current")
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    execute(url, SCHEMA_2[0])
    monkeypatch.setenv("KUME_OUT_DIR", str(out))
    monkeypatch.setenv("KUME_DATABASE_URL", url)
    monkeypatch.setenv("KUME_SQL_ATTEMPTS", "1")
    assert kume(["run"]) == 1
    err = capsys.readouterr().err
    line = (
        f"kume run failed: SQL table kume_selection in {url} has another schema: "
        "missing cluster_name, size_rank, size_basis, computed_in_run, parameters_id; unexpected turnover_rank; "
        "run `kume migrate-sql` or use another database"
    )
    assert line in err.splitlines(), err[-3000:]
    assert "[SQL" not in err and "INSERT INTO" not in err
    assert list(tables(url)) == ["kume_selection"]
    assert tree(out / "current") == before
    assert os.readlink(out / "current") == os.readlink(published_run["out_dir"] / "current")
