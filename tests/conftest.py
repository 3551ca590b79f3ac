"""Shared fixtures. Prefect runs on its embedded temporary server with a throwaway home."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="kume-prefect-")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from kume.settings import PROJECT_ROOT  # noqa: E402
from tasks.reference import Reference  # noqa: E402


@pytest.fixture(scope="session")
def ref() -> Reference:
    return Reference(PROJECT_ROOT / "data" / "reference")


@pytest.fixture(scope="session")
def published_run(tmp_path_factory) -> dict:
    """The real nightly flow over the shipped data, run once for the session."""
    from helpers import run_nightly

    out_dir = tmp_path_factory.mktemp("out")
    manifest = run_nightly(out_dir)
    return {"out_dir": out_dir, "run_dir": out_dir / "runs" / manifest["run_id"], "manifest": manifest}
