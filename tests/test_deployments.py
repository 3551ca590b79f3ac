"""prefect.yaml stays in step with the flow code: entrypoints load, parameters exist."""

from __future__ import annotations

import inspect

import yaml
from prefect.flows import load_flow_from_entrypoint

from kume.settings import PROJECT_ROOT


def test_every_deployment_loads_its_flow_with_known_parameters(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    config = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    assert config["deployments"], "no deployments declared"
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(deployment["entrypoint"])
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(deployment.get("parameters") or {}) <= accepted, deployment["name"]
        assert "/" not in str(deployment.get("work_pool", {}).get("name", ""))
    nightly = next(d for d in config["deployments"] if d["name"] == "nightly")
    assert nightly["schedules"][0] == {"cron": "0 2 * * *", "timezone": "Europe/Istanbul"}
