"""The ``quality`` dataset: per input file, rows read, accepted and quarantined with the rules
that failed, and every file that could not be read or was not taken, with why."""

from __future__ import annotations

from collections import Counter

import numpy as np
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
    # counted per file label once, then summed over a file's labels: a registry has 81 files
    # and millions of rows
    accepted_records, quarantined, failures = _records_per_label(accepted), {}, {}
    if len(quarantine):
        labels = quarantine.file.astype(str)
        quarantined = quarantine[["row"]].assign(file=labels).drop_duplicates().file.value_counts().to_dict()
        for (label, rule), count in quarantine.groupby([labels, "rule"]).size().items():
            failures.setdefault(label, Counter()).update({rule: int(count)})
    rows = []
    for name, sha256, rows_in, error in files:
        read = error is None
        of_file = [label for label in {**accepted_records, **quarantined} if read and _of_file(label, name)]
        failed = sum((failures.get(label, Counter()) for label in of_file), Counter())
        rows.append(
            {
                "source": source,
                "file": name,
                "sha256": sha256,
                "rows_in": rows_in,
                "rows_accepted": sum(accepted_records.get(label, 0) for label in of_file),
                "rows_quarantined": sum(quarantined.get(label, 0) for label in of_file),
                "failed_rules": ", ".join(f"{rule} x{count}" for rule, count in sorted(failed.items())) or None,
                "error": error,
            }
        )
    return rows


def _records_per_label(accepted: pd.DataFrame) -> dict[str, int]:
    """Accepted records (distinct source rows) per file label, counted sorted as numbers (the
    label's position times the rows per file, plus the row), sorted unless they come in order."""
    if not len(accepted):
        return {}
    files, labels = pd.factorize(accepted.source_file)
    rows = accepted.source_row.to_numpy(dtype="int64")
    per_file = int(rows.max()) + 1
    records = files.astype("int64") * per_file + rows
    if not (np.diff(records) > 0).all():  # in order already: a staged table's, a row each
        records = np.sort(records)
    counts = np.bincount(records[np.diff(records, prepend=-1) != 0] // per_file, minlength=len(labels))
    return dict(zip(labels.astype(str), counts.tolist(), strict=True))


def _of_file(label: str, name: str) -> bool:
    """Whether rows labelled ``label`` are of file ``name`` (a database's rows are labelled
    ``<file>:<table>``)."""
    return label == name or label.startswith(f"{name}:")


def build_quality(rows: list[dict], run_id: str) -> pd.DataFrame:
    """Every source's ``quality_rows`` as one dataset of publication ``run_id``."""
    columns = [field.name for field in QUALITY if field.name != "run_id"]
    return as_published(pd.DataFrame(rows, columns=columns).assign(run_id=run_id), "quality")
