"""Source ``agency_db``: the development agency's database, read through SQLAlchemy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from schemas.inputs import AGENCY_DB_TABLES
from tasks.errors import InputFileError, SourceUnavailableError, safe_url
from tasks.reference import Reference
from tasks.sources.files import IngestedSource
from tasks.sources.parsing import nace_columns
from tasks.store import file_sha256


def ingest_agency_db(url: str, ref: Reference) -> IngestedSource:
    """Read the development-agency database through SQLAlchemy, flattened to long format
    (table, plate_code, nace_class, measure, value) with each record's table and id."""
    engine = sa.create_engine(url)
    label = Path(sa.engine.make_url(url).database or "agency_db").name
    frames = []
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names())
            missing = sorted(set(AGENCY_DB_TABLES) - present)
            if missing:
                raise InputFileError(label, f"agency database lacks tables {missing}", "agency_db")
            for table, measures in AGENCY_DB_TABLES.items():
                records = pd.read_sql_table(table, connection)
                frames.append(_agency_long(table, measures, records, ref, label))
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        if url.startswith("sqlite"):  # a file, not a connection: no use retrying
            raise InputFileError(
                label, f"cannot read the agency database ({error.__class__.__name__})", "agency_db"
            ) from error
        raise SourceUnavailableError(
            "agency_db",
            f"agency_db: cannot reach the agency database {safe_url(url)} ({error.__class__.__name__}: "
            f"{str(error.orig).strip().splitlines()[0] if error.orig else error})",
        ) from None
    except sa.exc.SQLAlchemyError as error:
        raise InputFileError(
            label, f"cannot read the agency database ({error.__class__.__name__})", "agency_db"
        ) from error
    finally:
        engine.dispose()
    frame = pd.concat(frames, ignore_index=True)
    rows_in = frame.drop_duplicates(["table", "source_row"]).shape[0]
    files = [
        {"file": label, "sha256": _database_fingerprint(url), "rows_in": rows_in, "encoding": None, "separator": None}
    ]
    return IngestedSource("agency_db", pa.Table.from_pandas(frame, preserve_index=False), files)


def _agency_long(
    table: str, measures: tuple[str, ...], records: pd.DataFrame, ref: Reference, label: str
) -> pd.DataFrame:
    """One long row per record and measure. Counts are 1 per record; graduates and the survey's
    Likert answer carry their value. Zones are specialised (sector-specific) or organised."""
    nace_class, _ = nace_columns(records.nace_code.fillna(""))
    plates = pd.array([ref.plate_code(p) for p in records.plate_code], dtype="Int64")
    out = []
    for measure in measures:
        if measure == "graduates":
            value = records["graduates"]
        elif measure == "cooperation_willingness":
            value = records["willingness"]
        else:
            value = pd.Series(1.0, index=records.index)
        measure_of_row = measure
        if table == "industrial_zones":
            measure_of_row = records["kind"].map({"specialised": "specialised_zones"}).fillna("organised_zones")
        out.append(
            pd.DataFrame(
                {
                    "table": table,
                    "plate_code": plates,
                    "nace_class": nace_class,
                    "measure": measure_of_row,
                    "value": pd.to_numeric(value, errors="coerce").astype(float).to_numpy(),
                    "source_file": f"{label}:{table}",
                    "source_row": records["id"].to_numpy(),
                    "raw__nace_class": records.nace_code.fillna("").astype(str).to_numpy(),
                    "raw__plate_code": records.plate_code.astype(str).to_numpy(),
                    "raw__value": value.astype(str).to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _database_fingerprint(url: str) -> str:
    """Content hash of an SQLite file; for a server database, a hash of its URL without the
    password (the content is recorded through the row counts)."""
    if url.startswith("sqlite:///"):
        return file_sha256(Path(url.removeprefix("sqlite:///")))
    safe = sa.engine.make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(safe.encode()).hexdigest()
