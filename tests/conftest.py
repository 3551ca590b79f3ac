"""Shared fixtures. Prefect runs on its embedded temporary server with a throwaway home."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="kume-prefect-")
# removed when the session's interpreter ends, after Prefect's server (started later, so stopped first)
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from kume.prefect_env import configure_prefect  # noqa: E402

# kume's Prefect defaults before anything imports Prefect, whose settings are read once: the
# embedded server's start-up wait among them (90 s; Prefect's 20 s, which the suite's first
# server start on a fresh home once exceeded on a slow machine)
configure_prefect()

from kume.settings import PROJECT_ROOT  # noqa: E402
from tasks.reference import Reference  # noqa: E402


@pytest.fixture(scope="session")
def ref() -> Reference:
    return Reference(PROJECT_ROOT / "data" / "reference")


@pytest.fixture(scope="session")
def published_run(tmp_path_factory) -> dict:
    """The real nightly flow over the shipped data, run once for the session."""
    from helpers import run_selection

    out_dir = tmp_path_factory.mktemp("out")
    manifest = run_selection(out_dir)
    return {"out_dir": out_dir, "run_dir": out_dir / "runs" / manifest["run_id"], "manifest": manifest}


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1800", "--hide-scrollbars",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Selenium; on CI its absence is a failure."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "Debian's chromium and chromium-driver are needed (make browser installs them)"
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="kume-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()
    shutil.rmtree(profile, ignore_errors=True)
