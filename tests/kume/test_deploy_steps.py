"""Prefect's standard commands, as an operator who knows Prefect and not kume would type them:
``prefect server start``, ``prefect work-pool create kume-process --type process``, ``prefect
deploy --all`` and ``prefect worker start --pool kume-process`` from the checkout, each a
subprocess with the venv's ``prefect`` (a free loopback port, a temporary PREFECT_HOME). Runs of
the ``rerun`` deployment are created through the REST API, as the UI does.

No kume-specific variable is set: the environment is stripped of every ``KUME_*`` variable but
``KUME_OUT_DIR``, which points to a temporary folder so that the test does not write into the
checkout. That is configuration (where kume writes its outputs), not the project's location: the
worker finds the checkout through the deployments' pull step, from the installed kume package.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest

from kume.deploy_steps import ENTRYPOINT_FILE, ProjectNotFoundError, set_project_directory
from kume.settings import PROJECT_ROOT

PREFECT = str(Path(sys.executable).with_name("prefect"))
NOT_FOUND = "kume: cannot find the kume checkout"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


TRANSIENT = {429, 502, 503}  # what Prefect's own client retries (a busy server database answers 503)


def api(url: str, method: str = "GET", body: dict | None = None, attempts: int = 5) -> object:
    """A call of the server's REST API, retried on a transient answer as Prefect's client does."""
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
            return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            if error.code not in TRANSIENT or attempt == attempts:
                raise
            time.sleep(attempt)


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """A subprocess in its own process group (stopped with all its children), output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    """Terminate the process group of ``process``; kill what is left of it after 20 s."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


class Stack:
    """A Prefect server set up with the four standard commands, and its worker."""

    def __init__(self, root: Path) -> None:
        self.root = root
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/api"
        self.out = root / "out"
        env = {name: value for name, value in os.environ.items() if not name.startswith("KUME_")}
        for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING", "PYTHONPATH"):
            env.pop(name, None)
        env.update(
            {
                "KUME_OUT_DIR": str(self.out),  # where outputs go: configuration, not the project's location
                "PREFECT_HOME": str(root / "prefect"),
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "PREFECT_LOGGING_LEVEL": "INFO",
                "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
        )
        self.server_env = env
        self.env = {**env, "PREFECT_API_URL": self.url}
        self.processes: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.worker_log = root / "worker.log"

    def log_tail(self) -> str:
        logs = [self.root / "server.log", self.root / "deploy.log", self.worker_log]
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())

    def up(self) -> None:
        server = start(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", self.url.split(":")[-1].removesuffix("/api")],
            self.server_env,
            self.root,
            self.root / "server.log",
        )
        self.processes.append(server)
        deadline = time.monotonic() + 120
        while True:
            try:
                if api(f"{self.url}/health") is True:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert server.poll() is None and time.monotonic() < deadline, self.log_tail()
            time.sleep(0.5)
        with (self.root / "deploy.log").open("ab") as log:
            for command, cwd in (
                ([PREFECT, "work-pool", "create", "kume-process", "--type", "process"], self.root),
                ([PREFECT, "--no-prompt", "deploy", "--all"], PROJECT_ROOT),
            ):
                done = subprocess.run(
                    command, env=self.env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
                assert done.returncode == 0, self.log_tail()
        nightly = self.deployment("nightly")  # fires at 02:00 Istanbul time: kept out of the way
        api(f"{self.url}/deployments/{nightly['id']}/pause_deployment", "POST", {})

    def start_worker(self, **extra_env: str) -> None:
        """``prefect worker start --pool kume-process`` from the checkout (replacing a running one)."""
        if self.worker is not None:
            stop(self.worker)
        self.worker_log.write_text("")
        self.worker = start(
            [PREFECT, "worker", "start", "--pool", "kume-process"],
            {**self.env, **extra_env},
            PROJECT_ROOT,
            self.worker_log,
        )
        self.processes.append(self.worker)
        deadline = time.monotonic() + 90
        while "Worker '" not in self.worker_log.read_text(errors="replace"):
            assert self.worker.poll() is None and time.monotonic() < deadline, self.log_tail()
            time.sleep(0.5)

    def worker_said(self, text: str, timeout: float = 30) -> str:
        """The worker's log once it holds ``text`` (or ``timeout`` has passed): the worker writes
        what the flow run's process printed after the run's final state reaches the server."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.worker_log.read_text(errors="replace")) and time.monotonic() < deadline:
            time.sleep(0.5)
        return log

    def deployment(self, name: str) -> dict:
        return api(f"{self.url}/deployments/name/kume-selection/{name}")

    def run_rerun(self, request: dict, timeout: float = 300) -> dict:
        """A run of ``rerun`` created through the REST API, as the UI's Custom run does, once final."""
        rerun = self.deployment("rerun")
        flow_run = api(
            f"{self.url}/deployments/{rerun['id']}/create_flow_run", "POST", {"parameters": {"request": request}}
        )
        deadline = time.monotonic() + timeout
        final = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
        while (flow_run := api(f"{self.url}/flow_runs/{flow_run['id']}"))["state"]["type"] not in final:
            assert time.monotonic() < deadline, f"{flow_run['state']}\n{self.log_tail()}"
            time.sleep(1)
        return flow_run

    def down(self) -> None:
        for process in reversed(self.processes):
            stop(process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("standard"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def test_a_rerun_from_the_api_completes_on_a_standard_worker_with_no_kume_variable(stack):
    stack.start_worker()
    flow_run = stack.run_rerun({"provinces": ["Samsun"], "reason": "the standard Prefect path"})
    assert flow_run["state"]["type"] == "COMPLETED", f"{flow_run['state']}\n{stack.log_tail()}"
    assert flow_run["name"] == "rerun-samsun"

    artifacts = api(f"{stack.url}/artifacts/filter", "POST", {"artifacts": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    by_key = {artifact["key"]: artifact for artifact in artifacts}
    assert {"kume-selection", "kume-data-quality", "kume-outputs"} <= set(by_key)
    assert json.loads(by_key["kume-selection"]["data"])[0]["province"] == "Samsun"
    assert str(stack.out / "current") in by_key["kume-outputs"]["data"]
    manifest = json.loads((stack.out / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["flow_run_id"] == flow_run["id"]

    for name in ("nightly", "rerun"):  # the deployments hold no path of this machine
        deployment = stack.deployment(name)
        assert str(PROJECT_ROOT) not in json.dumps(deployment), name
        assert deployment["pull_steps"] == [{"kume.deploy_steps.set_project_directory": {}}]


def test_a_worker_that_cannot_find_the_checkout_fails_the_run_with_one_line(stack, tmp_path):
    stack.start_worker(KUME_PROJECT_DIR=str(tmp_path))  # an empty folder
    flow_run = stack.run_rerun({"provinces": ["Samsun"]}, timeout=120)
    log = stack.worker_said(NOT_FOUND)
    assert flow_run["state"]["type"] in {"FAILED", "CRASHED"}, log
    assert flow_run["state"]["message"].startswith(NOT_FOUND), flow_run["state"]
    assert "KUME_PROJECT_DIR" in flow_run["state"]["message"] and "\n" not in flow_run["state"]["message"]
    assert NOT_FOUND in log and "Traceback" not in log, log
    logs = api(f"{stack.url}/logs/filter", "POST", {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    assert [entry["level"] for entry in logs if entry["message"].startswith(NOT_FOUND)] == [40]  # in the run's logs


def test_the_pull_step_changes_to_the_checkout_of_the_installed_package(monkeypatch, tmp_path):
    monkeypatch.delenv("KUME_PROJECT_DIR", raising=False)
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    assert set_project_directory() == {"directory": str(PROJECT_ROOT)}
    assert Path.cwd() == PROJECT_ROOT and (Path.cwd() / ENTRYPOINT_FILE).is_file()

    monkeypatch.setenv("KUME_PROJECT_DIR", str(PROJECT_ROOT / "flows" / ".."))  # honoured when set
    assert set_project_directory() == {"directory": str(PROJECT_ROOT)}


def test_the_pull_step_refuses_a_folder_without_the_flows_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("KUME_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID", raising=False)
    monkeypatch.chdir(PROJECT_ROOT)
    with pytest.raises(ProjectNotFoundError) as refused:
        set_project_directory()
    message = str(refused.value)
    assert message.startswith(NOT_FOUND) and "\n" not in message
    assert str(tmp_path) in message and "pip install -e <checkout>" in message and "KUME_PROJECT_DIR" in message
    assert refused.value.code == message  # exits the preparing process with this line, status 1
    assert Path.cwd() == PROJECT_ROOT  # left where it was

    # and as the process Prefect runs it in: the one line on stderr, no traceback, exit status 1
    step = "from kume.deploy_steps import set_project_directory; set_project_directory()"
    env = {**os.environ, "KUME_PROJECT_DIR": str(tmp_path)}
    env.pop("PREFECT__FLOW_RUN_ID", None)
    done = subprocess.run([sys.executable, "-c", step], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == message and "Traceback" not in done.stderr
