"""The SQL copy of a publication (through SQLAlchemy, bound parameters): kume's tables, the check
of a database's layout before writing, the one-transaction write, and the schema migration."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from schemas.outputs import SCHEMA_VERSION
from tasks.datasets.names import sector_names
from tasks.errors import PublishError, SqlSchemaError, safe_url
from tasks.publish.snapshot import checkpoint, parse_timestamp
from tasks.reference import Reference


@dataclass(frozen=True)
class SqlSink:
    """Where the SQL copy goes (SQLite file by default, PostgreSQL in production)."""

    url: str
    attempts: int = 4
    backoff_seconds: float = 1.0  # doubled after each failed attempt


METADATA = sa.MetaData()


PUBLICATIONS = sa.Table(
    "kume_publications",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("published_at", sa.String(40), nullable=False),
    sa.Column("reference_year", sa.Integer),
    sa.Column("code_version", sa.String(80)),
    sa.Column("status", sa.String(20)),
    sa.Column("schema_version", sa.String(20)),
)


CURRENT = sa.Table(
    "kume_current",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(32), nullable=False),
)


SQL_SELECTION_COLUMNS = [
    "plate_code", "rank", "province", "host", "year", "sector_code", "sector_name", "cluster_name", "total_score",
    "economic_impact", "demand", "networking", "factor_conditions", "eligible", "selected", "size_rank",
    "size_basis", "robustness_share", "cmp_strong", "eco_stars", "computed_in_run", "parameters_id",
]  # fmt: skip


SQL_INDICATOR_COLUMNS = [
    "plate_code", "sector_code", "year", "employment", "establishments", "exports", "lq_employment",
    "focus", "national_share", "employment_cagr", "cmp_strong", "eco_stars",
]  # fmt: skip


SELECTION_TABLE = sa.Table(
    "kume_selection",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    *[sa.Column(c, sa.Integer, primary_key=c in ("plate_code", "rank")) for c in ("plate_code", "rank")],
    sa.Column("province", sa.String(40)),
    sa.Column("host", sa.String(200)),
    sa.Column("year", sa.Integer),
    sa.Column("sector_code", sa.String(10)),
    sa.Column("sector_name", sa.String(200)),
    sa.Column("cluster_name", sa.String(200)),  # added with schema 4: see migrate_sql
    *[sa.Column(c, sa.Float) for c in ("total_score", "economic_impact", "demand", "networking", "factor_conditions")],
    sa.Column("eligible", sa.Boolean),
    sa.Column("selected", sa.Boolean),
    sa.Column("size_rank", sa.Integer),
    sa.Column("size_basis", sa.String(20)),
    sa.Column("robustness_share", sa.Float),
    sa.Column("cmp_strong", sa.Boolean),
    sa.Column("eco_stars", sa.Integer),
    sa.Column("computed_in_run", sa.String(32)),  # added with schema 3.0: see migrate_sql
    sa.Column("parameters_id", sa.String(16)),
)


INDICATOR_TABLE = sa.Table(
    "kume_indicators",
    METADATA,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("plate_code", sa.Integer, primary_key=True),
    sa.Column("sector_code", sa.String(10), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    *[
        sa.Column(c, sa.Float)
        for c in (
            "employment",
            "establishments",
            "exports",
            "lq_employment",
            "focus",
            "national_share",
            "employment_cagr",
        )
    ],
    sa.Column("cmp_strong", sa.Boolean),
    sa.Column("eco_stars", sa.Integer),
)


SQL_SCHEMA_VERSION = 4  # kume's SQL layout, kept in kume_schema_version; 4 came with the contract's 4.0.0


SCHEMA_VERSION_TABLE = sa.Table(
    "kume_schema_version",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


# Schema 2 (contract 2.0.0): kume_selection had turnover_rank and none of these; the other tables
# are unchanged. A schema-2 database that kume's first 3.0 release wrote to also has some of them,
# added next to turnover_rank. Schema 3 (contract 3.0.0) had no cluster_name: its sector_name held
# the programme cluster's name where the sector is one. ``migrate_sql`` brings them to schema 4.
ADDED_IN_SCHEMA_3 = ("size_rank", "size_basis", "computed_in_run", "parameters_id")
ADDED_IN_SCHEMA_4 = ("cluster_name",)


def _records(frame: pd.DataFrame, columns: list[str], run_id: str) -> list[dict]:
    if "turnover_rank" in frame and "size_rank" not in frame:  # a 2.0 snapshot read back
        frame = frame.rename(columns={"turnover_rank": "size_rank"})
    subset = frame.reindex(columns=columns)
    # column by column: the values as Python objects, missing ones None (a frame's to_dict took seconds)
    values = [subset[column].astype(object).where(subset[column].notna(), None).tolist() for column in columns]
    return [{"run_id": run_id, **dict(zip(columns, row, strict=True))} for row in zip(*values, strict=True)]


def sql_engine(url: str) -> sa.Engine:
    """An engine whose errors never show bound parameters (data rows). On SQLite, SQLAlchemy's
    documented pysqlite recipe: the driver neither begins nor commits by itself, kume's BEGIN
    covers DDL too, so tables created in a transaction that fails are rolled back with it."""
    engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_driver_autocommit)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_driver_autocommit(dbapi_connection: object, connection_record: object) -> None:
    dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN, and no COMMIT before DDL


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def sql_error_line(error: sa.exc.SQLAlchemyError, url: str) -> str:
    """A database error in one line: the driver's first line, with no statement, no data rows
    (engines hide parameters; a driver's DETAIL lines may quote rows) and no password."""
    detail = str(getattr(error, "orig", None) or error)
    line = next((part.strip() for part in detail.splitlines() if part.strip()), "")
    try:
        password = sa.engine.make_url(url).password
    except sa.exc.ArgumentError:
        password = None
    if password:
        line = line.replace(str(password), "***")
    return f"{error.__class__.__name__}: {line}" if line else error.__class__.__name__


def _kind(kind: sa.types.TypeEngine) -> str | None:
    """What matters of a column type for kume's rows: boolean, integer, number or text."""
    for name, types in (("boolean", sa.Boolean), ("integer", sa.Integer), ("number", sa.Numeric), ("text", sa.String)):
        if isinstance(kind, types):
            return name
    return None


def _type_name(kind: sa.types.TypeEngine, dialect: sa.Dialect) -> str:
    try:
        return kind.compile(dialect=dialect)
    except sa.exc.SQLAlchemyError:
        return str(kind)


def _differences(found: dict[str, sa.types.TypeEngine], table: sa.Table, dialect: sa.Dialect) -> list[str]:
    """How a table in the database differs from kume's: missing and unexpected columns, and
    columns whose values kume's rows would not fit (another kind; a shorter text where the
    database enforces lengths). A column SQLite keeps untyped takes anything."""
    missing = [column.name for column in table.columns if column.name not in found]
    unexpected = [name for name in found if name not in table.c]
    retyped = []
    for column in table.columns:
        kind = found.get(column.name)
        if kind is None or isinstance(kind, sa.types.NullType):
            continue
        shorter = (
            dialect.name != "sqlite"
            and isinstance(column.type, sa.String)
            and isinstance(kind, sa.String)
            and bool(column.type.length and kind.length and kind.length < column.type.length)
        )
        if _kind(kind) != _kind(column.type) or shorter:
            wanted = _type_name(column.type, dialect)
            retyped.append(f"{column.name} is {_type_name(kind, dialect)} (kume writes {wanted})")
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"unexpected {', '.join(unexpected)}"] if unexpected else []
    return parts + ([f"other types: {', '.join(retyped)}"] if retyped else [])


def _kume_tables(connection: sa.Connection) -> dict[str, dict[str, sa.types.TypeEngine]]:
    """kume's tables present in the database, with their columns' reflected types."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    return {
        table.name: {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        for table in METADATA.sorted_tables
        if table.name in present
    }


def schema_problems(connection: sa.Connection) -> dict[str, str]:
    """Per kume table in the database that differs from this kume's, how (empty: it matches)."""
    found = _kume_tables(connection)
    problems = {}
    for table in METADATA.sorted_tables:
        if table.name in found and (parts := _differences(found[table.name], table, connection.dialect)):
            problems[table.name] = "; ".join(parts)
    return problems


def stored_schema_version(connection: sa.Connection) -> int | None:
    """The SQL schema version the database records (None: not recorded)."""
    if not sa.inspect(connection).has_table(SCHEMA_VERSION_TABLE.name):
        return None
    return connection.execute(sa.select(sa.func.max(SCHEMA_VERSION_TABLE.c.version))).scalar()


def _migratable_schema(connection: sa.Connection) -> int | None:
    """2 or 3 when kume's tables are as that SQL schema made them: kume_selection with
    turnover_rank, perhaps with some of the columns schema 3 added, and no version recorded
    (schema 2); or without cluster_name, version 3 recorded (schema 3). Every other kume table
    as it is now. None for any other layout."""
    found = _kume_tables(connection)
    selection = found.get(SELECTION_TABLE.name)
    if selection is None or any(
        schema_problems(connection).get(name) for name in found if name != SELECTION_TABLE.name
    ):
        return None
    version = stored_schema_version(connection)
    if "turnover_rank" in selection and version is None:
        added, schema, extra = (*ADDED_IN_SCHEMA_3, *ADDED_IN_SCHEMA_4), 2, [sa.Column("turnover_rank", sa.Integer)]
    elif version in (3, None):
        added, schema, extra = ADDED_IN_SCHEMA_4, 3, []
    else:
        return None
    old = sa.Table(
        SELECTION_TABLE.name,
        sa.MetaData(),
        *[sa.Column(c.name, c.type) for c in SELECTION_TABLE.columns if c.name not in added],
        *extra,
    )
    present = {name: kind for name, kind in selection.items() if name not in added}
    return schema if not _differences(present, old, connection.dialect) else None


def check_sql_schema(connection: sa.Connection, url: str) -> None:
    """Refuse, in one line, a database whose kume tables are not this kume's: which table,
    which columns, and what to do."""
    safe = safe_url(url)
    problems = schema_problems(connection)
    if problems:
        (name, detail), *others = problems.items()
        more = "".join(f"; table {other}: {text}" for other, text in others)
        advice = (
            "run `kume migrate-sql` or use another database"
            if _migratable_schema(connection)
            else "use another database, or move these tables away (`kume migrate-sql` knows kume's schemas 2 and 3)"
        )
        raise SqlSchemaError(f"SQL table {name} in {safe} has another schema: {detail}{more}; {advice}")
    version = stored_schema_version(connection)
    if version is not None and version != SQL_SCHEMA_VERSION:
        advice = (
            "run `kume migrate-sql`"
            if version < SQL_SCHEMA_VERSION
            else "publish with the kume that wrote it, or use another database"
        )
        raise SqlSchemaError(
            f"SQL database {safe} holds kume's SQL schema {version}; this kume writes schema {SQL_SCHEMA_VERSION}: "
            + advice
        )


def check_sql(sink: SqlSink) -> None:
    """Check the database's kume tables before anything of a run is written (``check_sql_schema``).
    An unreachable database is left to the SQL step, which retries and reports it."""
    engine = None
    try:
        engine = sql_engine(sink.url)
        with engine.connect() as connection:
            check_sql_schema(connection, sink.url)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        return
    except sa.exc.SQLAlchemyError as error:
        raise PublishError(
            f"SQL database {safe_url(sink.url)} cannot be checked: {sql_error_line(error, sink.url)}; "
            "nothing was written"
        ) from None
    finally:
        if engine is not None:
            engine.dispose()


def _stamp_schema_version(connection: sa.Connection) -> None:
    if stored_schema_version(connection) != SQL_SCHEMA_VERSION:
        connection.execute(
            sa.insert(SCHEMA_VERSION_TABLE),
            [{"version": SQL_SCHEMA_VERSION, "applied_at": datetime.now(UTC).isoformat()}],
        )


def write_sql(sink: SqlSink, run_id: str, datasets: dict[str, pd.DataFrame], manifest: dict) -> None:
    """Upsert the run's selection and reference-year indicators and make it current, in one
    transaction with bound parameters, after checking the tables (``check_sql_schema``); kume's
    tables are created in that same transaction when missing. Connection failures are retried
    with backoff; any database error ends as one line (``PublishError``), nothing written."""
    selection = datasets["selection"]
    indicators = datasets["indicators"]
    year = manifest.get("parameters", {}).get("reference_year")
    if year is not None:
        indicators = indicators[indicators.year == year]
    rows = {
        SELECTION_TABLE: _records(selection, SQL_SELECTION_COLUMNS, run_id),
        INDICATOR_TABLE: _records(indicators, SQL_INDICATOR_COLUMNS, run_id),
    }
    publication = {
        "run_id": run_id,
        "published_at": datetime.now(UTC).isoformat(),
        "reference_year": year,
        "code_version": manifest.get("code_version"),
        "status": manifest.get("status"),
        "schema_version": SCHEMA_VERSION,
    }
    safe = safe_url(sink.url)
    delay = sink.backoff_seconds
    for attempt in range(1, sink.attempts + 1):
        engine = None
        try:
            engine = sql_engine(sink.url)
            with engine.begin() as connection:
                check_sql_schema(connection, sink.url)
                METADATA.create_all(connection)  # in the data's transaction: a failure creates nothing
                _stamp_schema_version(connection)
                checkpoint("sql-begun")
                for table, records in rows.items():
                    connection.execute(sa.delete(table).where(table.c.run_id == run_id))
                    if records:
                        connection.execute(sa.insert(table), records)
                checkpoint("sql-rows-written")
                connection.execute(sa.delete(PUBLICATIONS).where(PUBLICATIONS.c.run_id == run_id))
                connection.execute(sa.insert(PUBLICATIONS), [publication])
                connection.execute(sa.delete(CURRENT))
                connection.execute(sa.insert(CURRENT), [{"id": 1, "run_id": run_id}])
            return
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if attempt == sink.attempts:
                raise PublishError(
                    f"SQL publication failed after {attempt} attempts ({error.__class__.__name__} at {safe}: "
                    f"{sql_error_line(error, sink.url).partition(': ')[2]}); nothing of run {run_id} was written "
                    "and the previous publication stays current"
                ) from None
            time.sleep(delay)
            delay *= 2
        except sa.exc.SQLAlchemyError as error:
            raise PublishError(
                f"SQL publication of run {run_id} to {safe} failed: {sql_error_line(error, sink.url)}; "
                "nothing of it was written and the previous publication stays current"
            ) from None
        finally:
            if engine is not None:
                engine.dispose()


def sql_current(sink: SqlSink) -> tuple[str, datetime | None] | None:
    """The run the database calls current and when it committed it (None: no current run)."""
    engine = sql_engine(sink.url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            if not inspector.has_table(CURRENT.name):
                return None
            run = connection.execute(sa.select(CURRENT.c.run_id)).scalar()
            if run is None:
                return None
            when = None
            if inspector.has_table(PUBLICATIONS.name):
                query = sa.select(PUBLICATIONS.c.published_at).where(PUBLICATIONS.c.run_id == run)
                when = connection.execute(query).scalar()
            return run, parse_timestamp(when) if when else None
    finally:
        engine.dispose()


def sql_current_run(sink: SqlSink) -> str | None:
    current = sql_current(sink)
    return current[0] if current else None


def migrate_sql(url: str, ref: Reference) -> str:
    """Bring a database of kume's SQL schema 2 or 3 to schema 4 in one transaction, and record
    the version. From 2: kume_selection's turnover_rank becomes size_rank; size_basis
    (``turnover_registry`` where the province's rows had a rank, as a 2.0 snapshot is read),
    computed_in_run (the row's run) and parameters_id (empty: the run's manifest has its
    parameters) are added. From 2 and 3: cluster_name is added (``_cluster_names``). A database
    at schema 4 or without kume tables is left as it is; any other layout is refused in one line.
    Returns what was done, in one line."""
    safe = safe_url(url)
    engine = None
    try:
        engine = sql_engine(url)
        with engine.begin() as connection:
            found = _kume_tables(connection)
            if not found:
                return f"{safe} has no kume tables: nothing to migrate (the first publication creates them)"
            version = stored_schema_version(connection)
            if not schema_problems(connection) and version in (None, SQL_SCHEMA_VERSION):
                METADATA.create_all(connection)
                _stamp_schema_version(connection)
                return f"{safe} is at kume's SQL schema {SQL_SCHEMA_VERSION} already: nothing to migrate"
            schema = _migratable_schema(connection)
            if schema is None:
                problems = "; ".join(f"{name}: {text}" for name, text in schema_problems(connection).items())
                recorded = f"schema {version} recorded" if version is not None else problems
                raise SqlSchemaError(
                    f"cannot migrate {safe}: its kume tables are in no layout kume knows ({recorded}); "
                    "nothing was changed"
                )
            columns = found[SELECTION_TABLE.name]
            for column in SELECTION_TABLE.columns:
                if column.name not in columns:  # names and types are kume's own constants
                    kind = column.type.compile(dialect=connection.dialect)
                    connection.execute(sa.text(f"ALTER TABLE kume_selection ADD COLUMN {column.name} {kind}"))
            if schema == 2:
                _from_schema_2(connection)
            renamed = _cluster_names(connection, ref)
            METADATA.create_all(connection)
            _stamp_schema_version(connection)
            rows = connection.execute(sa.select(sa.func.count()).select_from(SELECTION_TABLE)).scalar()
            if schema_problems(connection):  # cannot happen: the transaction rolls back if it did
                raise SqlSchemaError(f"migrating {safe} left {schema_problems(connection)}; nothing was changed")
        changes = "turnover_rank is size_rank now, size_basis, computed_in_run and parameters_id added; " * (
            schema == 2
        )
        return (
            f"migrated {safe} from kume's SQL schema {schema} to {SQL_SCHEMA_VERSION}: kume_selection's {changes}"
            f"cluster_name added, the cluster's name moved there from sector_name in {renamed} of {rows} rows"
        )
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise PublishError(f"cannot reach {safe}: {sql_error_line(error, url)}; nothing was changed") from None
    except sa.exc.SQLAlchemyError as error:
        raise PublishError(f"migrating {safe} failed: {sql_error_line(error, url)}; nothing was changed") from None
    finally:
        if engine is not None:
            engine.dispose()


def _from_schema_2(connection: sa.Connection) -> None:
    """kume_selection's schema-2 columns as schema 3 has them: size_rank from turnover_rank,
    size_basis and computed_in_run filled, turnover_rank dropped."""
    connection.execute(sa.text("UPDATE kume_selection SET size_rank = turnover_rank WHERE size_rank IS NULL"))
    connection.execute(
        sa.text(
            "UPDATE kume_selection SET size_basis = 'turnover_registry' WHERE size_basis IS NULL AND EXISTS "
            "(SELECT 1 FROM kume_selection AS other WHERE other.run_id = kume_selection.run_id "
            "AND other.plate_code = kume_selection.plate_code AND other.size_rank IS NOT NULL)"
        )
    )
    connection.execute(sa.text("UPDATE kume_selection SET computed_in_run = run_id WHERE computed_in_run IS NULL"))
    connection.execute(sa.text("ALTER TABLE kume_selection DROP COLUMN turnover_rank"))


def _cluster_names(connection: sa.Connection, ref: Reference) -> int:
    """Schemas 2 and 3 wrote the programme cluster's name in sector_name where the sector is one
    of its clusters: in the rows whose sector_name is exactly that name (``ref``'s
    cluster_sectors), it moves to cluster_name and the NACE class's name takes its place. Other
    rows keep their sector_name (the class's name) and a null cluster_name. Returns the rows changed."""
    names = sector_names(ref).dropna(subset=["cluster_name"])
    statement = sa.text(
        "UPDATE kume_selection SET cluster_name = sector_name, sector_name = :class_name "
        "WHERE sector_code = :code AND sector_name = :cluster_name AND cluster_name IS NULL"
    )
    changed = 0
    for row in names.itertuples():  # five clusters: one statement each, bound parameters
        result = connection.execute(
            statement, {"class_name": row.sector_name, "code": row.sector_code, "cluster_name": row.cluster_name}
        )
        changed += result.rowcount
    return changed
