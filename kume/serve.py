"""``kume serve``: the operator's local Prefect stack in one command.

It starts a Prefect server (bound to 127.0.0.1 unless told otherwise), creates the process work
pool, the one-slot publication limit and the automation that marks runs without heartbeats
Crashed, deploys ``prefect.yaml`` (``nightly`` and ``rerun``), and runs a worker until
interrupted. With ``--api-url`` (or ``PREFECT_API_URL``) it uses an existing server instead.

Exposed on a network (any host but loopback), the server must have basic auth:
``PREFECT_SERVER_API_AUTH_STRING=user:password`` from the environment; the worker and the
deploy step send it as ``PREFECT_API_AUTH_STRING``.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

from kume.prefect_env import configure_prefect
from kume.settings import PROJECT_ROOT
from tasks.errors import ServeError

WORK_POOL = "kume-process"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ZOMBIE_AUTOMATION = "kume: crash flow runs without heartbeats"


def client_environment(api_url: str) -> dict[str, str]:
    """Environment of the deploy step and the worker: the API and its credentials. Without
    KUME_PROJECT_DIR: the worker's pull step then runs the flows of the checkout kume is installed
    from, the one whose prefect.yaml is deployed here."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    env.pop("KUME_PROJECT_DIR", None)
    if env.get("PREFECT_SERVER_API_AUTH_STRING") and not env.get("PREFECT_API_AUTH_STRING"):
        env["PREFECT_API_AUTH_STRING"] = env["PREFECT_SERVER_API_AUTH_STRING"]
    return env


def wait_for_api(api_url: str, auth: str | None, timeout: float = 120) -> None:
    """Wait until the server answers its health check (with the credentials, if any)."""
    request = urllib.request.Request(f"{api_url}/health")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect API at {api_url} did not answer within {timeout:.0f} s")


def prepare_server() -> None:
    """Work pool, publication limit and zombie-run automation, each created unless present."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    from kume.publication import ensure_publish_limit

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(WORK_POOL)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process", base_job_template=template))
    ensure_publish_limit()
    try:
        Automation.read(name=ZOMBIE_AUTOMATION)
    except (ValueError, ObjectNotFound):
        Automation(
            name=ZOMBIE_AUTOMATION,
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={
                    "prefect.flow-run.heartbeat",
                    "prefect.flow-run.Completed",
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled",
                    "prefect.flow-run.Crashed",
                },
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(seconds=90),
            ),
            actions=[ChangeFlowRunState(state=StateType.CRASHED, message="No heartbeat for 90 s: marked Crashed.")],
        ).create()


def release_left_over_slots() -> None:
    """A server kume serve has just started holds no lease yet when it keeps them in memory
    (Prefect's default): a taken kume-publish slot is then a left-over (of a server stopped
    while a run published, or of an older kume's runs in the same database) that nothing would
    ever free. Free it."""
    from prefect.settings import get_current_settings

    from kume.publication import PUBLISH_LIMIT, release_stale_publish_slots

    if get_current_settings().server.concurrency.lease_storage.endswith(".memory"):
        freed = release_stale_publish_slots()
        if freed:
            print(f"kume: freed {freed} slot(s) of {PUBLISH_LIMIT} that no live run held (left over)")


def serve(host: str, port: int, api_url: str | None) -> int:
    """Bring the stack up and keep the worker running until interrupted."""
    configure_prefect()
    children: list[subprocess.Popen] = []
    auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING") or os.environ.get("PREFECT_API_AUTH_STRING")
    own_server = api_url is None
    if api_url is None:
        if host not in LOOPBACK and not os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
            raise ServeError(
                f"refusing to expose the Prefect server on {host} without basic auth: "
                "set PREFECT_SERVER_API_AUTH_STRING=user:password (or bind to 127.0.0.1)"
            )
        api_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/api"
        server_env = {**os.environ, "PREFECT_SERVER_API_HOST": host, "PREFECT_SERVER_API_PORT": str(port)}
        server_env.pop("PREFECT_API_URL", None)
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
                env=server_env,
                cwd=PROJECT_ROOT,
            )
        )
    env = client_environment(api_url)
    os.environ.update({name: env[name] for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING") if name in env})
    try:
        wait_for_api(api_url, auth)
        prepare_server()
        if own_server:
            release_left_over_slots()
        subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"], env=env, cwd=PROJECT_ROOT, check=True
        )
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL, "--type", "process"],
                env=env,
                cwd=PROJECT_ROOT,
            )
        )
        ui = api_url.removesuffix("/api")
        print(f"kume: Prefect UI at {ui} (deployments kume-selection/nightly and kume-selection/rerun); Ctrl-C stops")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(child.poll() is None for child in children):
            time.sleep(1)
        failed = next(child for child in children if child.poll() is not None)
        raise ServeError(f"{' '.join(map(str, failed.args[:5]))} exited with code {failed.returncode}")
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
