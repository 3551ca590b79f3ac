"""The ``quality`` dataset: per input file, rows read, accepted and quarantined with the rules
that failed, and every file that could not be read or was not taken, with why."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import QUALITY
from tasks.datasets import as_published


def quality_rows(source: str, ingested: dict, accepted: pd.DataFrame, quarantine: pd.DataFrame) -> list[dict]:
    """The rows of one source, from its ingestion (``files``, ``errors``, ``not_read``) and its
    validation's accepted rows and quarantine: a file read, a file that failed, a file not taken.
    Every row is made here, so each column has this one home."""
    files = [(file["file"], file["sha256"], file["rows_in"], None) for file in ingested["files"]]
    files += [(None, None, 0, error) for error in ingested["errors"]]
    # in a source folder, not taken: never silently
    files += [
        (skipped["file"], None, 0, f"NOT READ: {skipped['reason']}") for skipped in ingested.get("not_read") or []
    ]
    # accepted records per file label, counted once: a national registry has millions of rows
    records = accepted.groupby(accepted.source_file.astype(str)).source_row.nunique() if len(accepted) else None
    labels = pd.Series(records.index) if records is not None else None
    rows = []
    for name, sha256, rows_in, error in files:
        read = error is None
        bad = quarantine[_of_file(quarantine.file, name)] if read and len(quarantine) else quarantine.iloc[:0]
        failed = bad.groupby("rule").size() if len(bad) else pd.Series(dtype=int)
        rows.append(
            {
                "source": source,
                "file": name,
                "sha256": sha256,
                "rows_in": rows_in,
                "rows_accepted": int(records[_of_file(labels, name).to_numpy()].sum())
                if read and records is not None
                else 0,
                "rows_quarantined": int(bad[["file", "row"]].drop_duplicates().shape[0]) if len(bad) else 0,
                "failed_rules": ", ".join(f"{rule} x{count}" for rule, count in failed.items()) or None,
                "error": error,
            }
        )
    return rows


def _of_file(labels: pd.Series, name: str) -> pd.Series:
    """Rows of file ``name`` (a database's rows are labelled ``<file>:<table>``)."""
    labels = labels.astype(str)
    return labels.eq(name) | labels.str.startswith(f"{name}:")


def build_quality(rows: list[dict], run_id: str) -> pd.DataFrame:
    """Every source's ``quality_rows`` as one dataset of publication ``run_id``."""
    columns = [field.name for field in QUALITY if field.name != "run_id"]
    return as_published(pd.DataFrame(rows, columns=columns).assign(run_id=run_id), "quality")
