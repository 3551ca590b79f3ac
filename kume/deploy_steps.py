"""The pull step of kume's Prefect deployments: where the worker finds the checkout.

``prefect.yaml`` names :func:`set_project_directory` as its pull step. Prefect imports it in the
process that prepares each flow run and calls it before loading ``flows/select_clusters.py``, so any
worker that can import kume runs the flows of the checkout kume is installed from
(``pip install -e <checkout>``), started however it is (``kume serve``, or ``prefect worker
start`` as Prefect documents it). No path is stored in a deployment.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from pathlib import Path

from kume.settings import PROJECT_ROOT

ENTRYPOINT_FILE = "flows/select_clusters.py"  # what prefect.yaml's entrypoints load, relative to the checkout
PROJECT_DIR_VARIABLE = "KUME_PROJECT_DIR"


class ProjectNotFoundError(SystemExit):
    """The checkout cannot be found. A ``SystemExit``: the process preparing the flow run ends
    with this one line on stderr and exit code 1, not with a traceback of Prefect's internals."""


def project_directory() -> tuple[Path, str]:
    """The checkout to run, and where that answer came from: ``KUME_PROJECT_DIR`` when set,
    else the checkout the imported kume package lives in."""
    configured = os.environ.get(PROJECT_DIR_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser().resolve(), PROJECT_DIR_VARIABLE
    return PROJECT_ROOT, "where the kume package is installed"


def set_project_directory() -> dict[str, str]:
    """Prefect pull step: change to the kume checkout and return ``{"directory": <it>}``.

    When the checkout lacks ``flows/select_clusters.py`` the flow run ends Failed with one line saying
    what to do (also the message of the run's state when the step runs for a flow run)."""
    root, source = project_directory()
    if not (root / ENTRYPOINT_FILE).is_file():
        message = (
            f"kume: cannot find the kume checkout: {root} (from {source}) has no {ENTRYPOINT_FILE}; "
            "install kume in the worker's environment from its checkout (pip install -e <checkout>) "
            f"or set {PROJECT_DIR_VARIABLE} to the checkout"
        )
        _fail_flow_run(message)
        raise ProjectNotFoundError(message)
    os.chdir(root)
    return {"directory": str(root)}


def _fail_flow_run(message: str) -> None:
    """Put ``message`` in the logs of the flow run this step prepares (if any) and end that run
    Failed with it, so that the UI shows it; the worker's report of the exit code then leaves that
    state as it is. Best effort: without the API the exit code still fails the run (Crashed)."""
    flow_run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    if not flow_run_id:
        return
    from datetime import UTC, datetime

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import LogCreate
    from prefect.states import Failed

    log = LogCreate(
        name="kume.deploy_steps",
        level=logging.ERROR,
        message=message,
        timestamp=datetime.now(UTC),
        flow_run_id=flow_run_id,
    )
    with suppress(Exception), get_client(sync_client=True) as client:
        with suppress(Exception):
            client.create_logs([log])
        client.set_flow_run_state(flow_run_id, Failed(message=message))
