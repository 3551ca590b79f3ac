"""Prefect defaults for kume, set before Prefect is imported.

Without PREFECT_API_URL Prefect starts its embedded temporary server (SQLite under
PREFECT_HOME) for the duration of a run; kume keeps that home inside the project and turns
off everything that would reach the network.
"""

from __future__ import annotations

import os

from kume.settings import PROJECT_ROOT

DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / ".prefect"),
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "GX_ANALYTICS_ENABLED": "false",
    # Arrow's buffers from the system allocator, which gives freed memory back between stages
    # (its default pool keeps it: about 0.3 GB more peak memory at national scale).
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


def configure_prefect() -> None:
    """Apply kume's defaults for every Prefect variable the environment does not set."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
