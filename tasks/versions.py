"""The versions of the packages that shape kume's outputs: one list, read from the installed
distributions. They are part of the run id (``tasks.publish.snapshot.run_identity``), of every stage's
cache key (``tasks.store.code_fingerprint``) and of the per-file read cache
(``tasks.store.reader_fingerprint``), and the manifest records them (``package_versions``): an
upgrade of any of them gives a new run id, recomputed and revalidated, never a cached result of
the old versions.

Left out on purpose: what orchestrates or installs but computes no figure (prefect, dask,
pydantic, pip), and what only the tests use (duckdb, polars, hypothesis).
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

# Distribution names (as pip knows them), with what each shapes.
OUTPUT_PACKAGES = (
    "kume",  # the package's own version; its code is hashed as well (code_version, code_fingerprint)
    "pandas",  # every table: parsing, joins, groupings, float arithmetic
    "numpy",  # the indicators, quantiles, the Dirichlet weight draws of the robustness check
    "pyarrow",  # the Parquet files: staged, cached and published
    "great-expectations",  # which rows each suite accepts or quarantines, and the output checks
    "charset-normalizer",  # the detected encoding of the input files
    "openpyxl",  # the Excel inputs as read
    "sqlalchemy",  # the agency database as read, the SQL publication
    "matplotlib",  # the charts and the map of the report pages
)


@lru_cache
def package_versions() -> dict[str, str | None]:
    """``{distribution: version}`` for ``OUTPUT_PACKAGES`` (None for one not installed), and the
    Python version under ``python``. Read once per process: a process keeps the code it imported."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in OUTPUT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
