"""prefect.yaml stays in step with the flow code: entrypoints load, schedules are as the
programme runs them, parameters validate against the flow's signature and its RunRequest."""

from __future__ import annotations

import inspect

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema

from kume.settings import PROJECT_ROOT
from schemas.parameters import PROVINCE_NAMES, RunRequest


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def deployment(config: dict, name: str) -> dict:
    return next(d for d in config["deployments"] if d["name"] == name)


def strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_deployment_loads_its_flow_and_its_parameters_validate(config, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    assert {d["name"] for d in config["deployments"]} >= {"nightly", "rerun"}
    for spec in config["deployments"]:
        flow = load_flow_from_entrypoint(spec["entrypoint"])
        signature = inspect.signature(flow.fn)
        assert list(signature.parameters) == ["request"], spec["name"]
        assert signature.parameters["request"].annotation in (RunRequest, "RunRequest")
        parameters = spec.get("parameters") or {}
        assert set(parameters) <= set(signature.parameters), spec["name"]
        request = flow.validate_parameters(parameters).get("request", RunRequest())
        assert request == RunRequest(**(parameters.get("request") or {}))
        assert spec["work_pool"]["name"] == "kume-process"
        assert spec["enforce_parameter_schema"] is True
        # heartbeats on in production: the zombie-run automation relies on them
        assert int(spec["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]) >= 30


def test_nightly_runs_at_two_istanbul_time_with_the_defaults_and_rerun_has_no_schedule(config):
    nightly = deployment(config, "nightly")
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "Europe/Istanbul"}]
    assert nightly["parameters"] == {}  # all provinces, default parameters
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    rerun = deployment(config, "rerun")
    assert not rerun.get("schedules")
    assert rerun["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


def test_no_path_of_a_machine_is_baked_into_the_deployments(config):
    assert not [s for s in strings(config) if s.startswith(("/", "~")) or ":\\" in s]
    assert config["pull"] == [{"kume.deploy_steps.set_project_directory": {}}]  # finds the checkout itself
    for spec in config["deployments"]:
        assert (PROJECT_ROOT / spec["entrypoint"].split(":")[0]).exists()  # relative to the checkout


def test_the_rerun_form_offers_the_provinces_weights_gates_and_switches(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    flow = load_flow_from_entrypoint("flows/select_clusters.py:select_clusters")
    schema = parameter_schema(flow).model_dump()
    form = schema["definitions"]["RunRequest"]["properties"]
    assert list(form)[:2] == ["provinces", "reference_year"]
    assert {"weights", "gates", "force", "publish", "reason"} <= set(form)
    choices = form["provinces"]["items"]["enum"]
    assert len(choices) == 81 and "Kahramanmaraş" in choices and tuple(choices) == PROVINCE_NAMES
    weights = schema["definitions"]["CriteriaWeights"]["properties"]
    assert all(field["minimum"] == 0 for field in weights.values())
    relatedness = schema["definitions"]["RelatednessParameters"]["properties"]  # §6: with their defaults
    assert "relatedness" in form and {name: field["default"] for name, field in relatedness.items()} == {
        "min_employment": 10.0,
        "window": 3,
        "leave_one_out": False,
    }
    assert (relatedness["window"]["minimum"], relatedness["window"]["maximum"]) == (1, 10)
