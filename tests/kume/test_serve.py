"""The operator's stack for real: ``kume serve`` (what ``make serve`` runs) starts a Prefect
server on a free loopback port with a temporary PREFECT_HOME and basic auth on, creates the work
pool, deploys prefect.yaml and starts a worker. The tests use it as an operator would: through
the API and through the UI in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
)
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from kume.serve import ZOMBIE_AUTOMATION
from kume.settings import PROJECT_ROOT
from tasks.publish.snapshot import read_dataset

OTHER_WEIGHTS = {"economic_impact": 0.4, "demand": 0.3, "networking": 0.2, "factor_conditions": 0.1}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("stack")
    port = free_port()
    auth = f"kume-operator:{secrets.token_hex(8)}"
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "KUME_OUT_DIR": str(root / "out"),
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "KUME_PROJECT_DIR"):
        env.pop(name, None)
    log = (root / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kume.cli", "serve", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack = {"api": f"http://127.0.0.1:{port}/api", "auth": auth, "out": root / "out", "log": root / "serve.log"}
    try:
        deadline = time.monotonic() + 240
        while "Worker '" not in stack["log"].read_text() or "kume: Prefect UI at" not in stack["log"].read_text():
            assert process.poll() is None, stack["log"].read_text()[-3000:]
            assert time.monotonic() < deadline, stack["log"].read_text()[-3000:]
            time.sleep(1)
        yield stack
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


@contextmanager
def client(stack):
    settings = {PREFECT_API_URL: stack["api"], PREFECT_API_AUTH_STRING: stack["auth"]}
    with temporary_settings(settings), get_client(sync_client=True) as prefect:
        yield prefect


def start_rerun(stack, request: dict):
    with client(stack) as prefect:
        rerun = prefect.read_deployment_by_name("kume-selection/rerun")
        return prefect.create_flow_run_from_deployment(rerun.id, parameters={"request": request})


def wait_for(stack, flow_run, timeout: float = 300):
    """The flow run once it has reached a final state."""
    deadline = time.monotonic() + timeout
    with client(stack) as prefect:
        while not (flow_run := prefect.read_flow_run(flow_run.id)).state.is_final():
            assert time.monotonic() < deadline, stack["log"].read_text()[-3000:]
            time.sleep(1)
    return flow_run


def run_deployment(stack, request: dict, timeout: float = 300):
    """Create a run of the rerun deployment and wait for its final state."""
    return wait_for(stack, start_rerun(stack, request), timeout)


def api_call(stack, path: str, auth: str | None) -> int:
    request = urllib.request.Request(f"{stack['api']}{path}", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_api_refuses_a_call_without_the_credentials(stack):
    assert api_call(stack, "/deployments/filter", None) == 401
    assert api_call(stack, "/deployments/filter", "kume-operator:wrong") == 401
    assert api_call(stack, "/deployments/filter", stack["auth"]) == 200


def test_serve_deployed_both_deployments_without_a_path_of_this_checkout(stack):
    with client(stack) as prefect:
        nightly = prefect.read_deployment_by_name("kume-selection/nightly")
        rerun = prefect.read_deployment_by_name("kume-selection/rerun")
        pool = prefect.read_work_pool("kume-process")
        limit = prefect.read_global_concurrency_limit_by_name("kume-publish")
        automation = Automation.read(name=ZOMBIE_AUTOMATION)
    assert pool.type == "process" and limit.limit == 1
    assert automation.actions[0].type == "change-flow-run-state" and automation.trigger.within.total_seconds() == 90
    assert nightly.schedules[0].schedule.cron == "0 2 * * *"
    assert nightly.schedules[0].schedule.timezone == "Europe/Istanbul"
    assert not rerun.schedules
    for deployment in (nightly, rerun):
        stored = json.dumps(deployment.model_dump(mode="json"))
        assert str(PROJECT_ROOT) not in stored, deployment.name
        assert deployment.pull_steps == [{"kume.deploy_steps.set_project_directory": {}}]


def test_an_operator_rerun_publishes_with_its_parameters_and_leaves_artifacts(stack):
    flow_run = run_deployment(
        stack, {"provinces": ["Samsun"], "weights": OTHER_WEIGHTS, "reason": "stakeholders asked for demand"}
    )
    assert flow_run.state.is_completed(), stack["log"].read_text()[-3000:]
    assert flow_run.name == "rerun-samsun"

    current = stack["out"] / "current"
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["flow_run_id"] == str(flow_run.id)
    assert manifest["parameters"]["weights"] == OTHER_WEIGHTS
    assert manifest["parameters"]["provinces"] == [55]
    assert manifest["trigger"] == {
        "deployment": "rerun",
        "force": False,
        "publish": True,
        "backtest": False,
        "reason": "stakeholders asked for demand",
    }
    selection = read_dataset(current / "selection", "selection")
    assert set(selection.plate_code) == {55}
    chosen = selection[selection.selected].iloc[0]
    weighted = sum(weight * chosen[criterion] for criterion, weight in OTHER_WEIGHTS.items())
    assert chosen.total_score == pytest.approx(weighted, abs=0.01)

    with client(stack) as prefect:
        artifacts = prefect.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
        )
        task_runs = prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    by_key = {artifact.key: artifact for artifact in artifacts}
    assert by_key["kume-selection"].type == "table"
    rows = json.loads(by_key["kume-selection"].data)
    assert rows[0]["province"] == "Samsun" and rows[0]["robustness"].endswith("of draws")
    assert {"selected sector", "score", "runner-up", "selected's size rank", "largest sector", "size basis"} <= set(
        rows[0]
    )
    assert by_key["kume-data-quality"].type == "markdown"
    assert (
        "| chamber_registry |" in by_key["kume-data-quality"].data and "REG-NACE-02" in by_key["kume-data-quality"].data
    )
    assert str(current) in by_key["kume-outputs"].data and "reports/index.html" in by_key["kume-outputs"].data
    names = {run.name for run in task_runs}
    assert {"score-samsun-2022", "ingest-sgk_employment", "validate-agency_db", "publish"} <= names


def test_invalid_weights_are_rejected_before_the_run_starts(stack):
    before = (stack["out"] / "current" / "manifest.json").read_bytes()
    negative = {"economic_impact": -0.2, "demand": 0.6, "networking": 0.3, "factor_conditions": 0.3}
    with client(stack) as prefect, pytest.raises(PrefectHTTPStatusError, match="409|422"):
        rerun = prefect.read_deployment_by_name("kume-selection/rerun")
        prefect.create_flow_run_from_deployment(rerun.id, parameters={"request": {"weights": negative}})

    not_summing = {"economic_impact": 0.5, "demand": 0.5, "networking": 0.5, "factor_conditions": 0.5}
    flow_run = run_deployment(stack, {"provinces": ["Trabzon"], "weights": not_summing})
    assert flow_run.state.is_failed()
    assert "must sum to 1" in flow_run.state.message
    with client(stack) as prefect:
        ran = prefect.read_task_runs(
            task_run_filter=TaskRunFilter(), flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    assert ran == []  # refused before any task ran
    assert (stack["out"] / "current" / "manifest.json").read_bytes() == before


def test_a_run_that_finds_the_publication_slot_taken_waits_for_it(stack):
    """The collision rule: the later publication queues for the one slot of kume-publish."""
    current = stack["out"] / "current" / "manifest.json"
    before = current.read_bytes()
    with client(stack) as prefect:  # another publication holds the slot
        held = prefect.increment_concurrency_slots_with_lease(
            names=["kume-publish"], slots=1, mode="concurrency", lease_duration=300
        )
        lease = held.json()["lease_id"]
        try:
            assert prefect.read_global_concurrency_limit_by_name("kume-publish").active_slots == 1
            flow_run = start_rerun(stack, {"provinces": ["Trabzon"], "reason": "collision"})
            deadline = time.monotonic() + 240
            while True:
                runs = prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
                if any(run.name == "publish" and run.state.is_running() for run in runs):
                    break
                assert time.monotonic() < deadline, stack["log"].read_text()[-3000:]
                time.sleep(1)
            time.sleep(15)  # publishing alone takes a few seconds: by now it would have published
            assert current.read_bytes() == before
            assert not prefect.read_flow_run(flow_run.id).state.is_final()
        finally:
            prefect.release_concurrency_slots_with_lease(lease)
    flow_run = wait_for(stack, flow_run)
    assert flow_run.state.is_completed()
    assert json.loads(current.read_text(encoding="utf-8"))["flow_run_id"] == str(flow_run.id)


def test_the_rerun_form_in_the_prefect_ui_shows_the_parameter_fields(stack, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    with client(stack) as prefect:
        rerun = prefect.read_deployment_by_name("kume-selection/rerun")
    ui = stack["api"].removesuffix("/api")
    browser.get(f"{ui}/deployments/deployment/{rerun.id}/run")
    wait = WebDriverWait(browser, 60)
    login = wait.until(
        expected_conditions.any_of(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "input[type=password]")),
            expected_conditions.presence_of_element_located((By.XPATH, "//*[contains(text(), 'reason')]")),
        )
    )
    if login.tag_name == "input":
        login.send_keys(stack["auth"])
        login.submit()
        browser.get(f"{ui}/deployments/deployment/{rerun.id}/run")
    wait.until(expected_conditions.presence_of_element_located((By.XPATH, "//*[contains(text(), 'reason')]")))
    text = browser.find_element(By.TAG_NAME, "body").text.lower()
    for field in ("provinces", "reference year", "weights", "gates", "force", "publish", "reason"):
        assert field in text, field
