"""A run's turn to publish (``kume.publication``): the file lock alone on the run's own
temporary Prefect server, the leased ``kume-publish`` slot first on a real one. Fast checks of
the turn, the lease and the names of holders; then, moved here with their real Prefect server,
the slot of a killed holder freed when its lease expires, a refusal in one line, and a slot
left taken freed when kume serve starts its server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from kume_runs import hold_lock, holder, kume_env
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.settings import PREFECT_API_URL, temporary_settings

from kume import publication
from kume.embedded_server import EMBEDDED_SERVER_VARIABLE
from kume.publication import MINIMUM_LEASE_SECONDS, lease_seconds, on_embedded_server, publication_turn
from kume.settings import PROJECT_ROOT, Settings
from tasks.errors import PublishError
from tasks.publish.lock import lock_holder


@pytest.mark.parametrize(("configured", "lease"), [(1, 60), (59.5, 60), (60, 60), (90, 90), (600, 600)])
def test_the_lease_is_never_shorter_than_the_server_accepts(configured, lease):
    assert MINIMUM_LEASE_SECONDS == 60
    assert lease_seconds(Settings(publish_lease_seconds=configured)) == lease


@pytest.mark.parametrize(
    ("api_url", "embedded", "own"),
    [
        (None, None, True),  # Prefect's embedded server
        ("http://127.0.0.1:4321/api", "http://127.0.0.1:4321/api", True),  # kume run's own server
        ("http://127.0.0.1:4321/api", None, False),  # a real server
        ("http://prefect.example:4200/api", "http://127.0.0.1:4321/api", False),  # a real one, not kume run's
    ],
)
def test_a_server_is_the_runs_own_without_an_api_url_or_when_kume_run_started_it(monkeypatch, api_url, embedded, own):
    if embedded is None:
        monkeypatch.delenv(EMBEDDED_SERVER_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(EMBEDDED_SERVER_VARIABLE, embedded)
    settings = {"updates": {PREFECT_API_URL: api_url}} if api_url else {"restore_defaults": {PREFECT_API_URL}}
    with temporary_settings(**settings):
        assert on_embedded_server() is own


def test_the_lease_holder_is_the_flow_run_when_its_id_is_one():
    flow_run = "0f9e8d7c-0000-4000-8000-000000000001"
    assert publication._lease_holder(flow_run) == ConcurrencyLeaseHolder(type="flow_run", id=UUID(flow_run))
    assert publication._lease_holder(None) is None
    assert publication._lease_holder("not-a-flow-run-id") is None


def test_the_slot_holder_is_named_from_the_lock_on_the_same_output_root(tmp_path):
    settings = Settings(out_dir=tmp_path / "out", publish_lease_seconds=90)
    assert publication._slot_holder(settings) == (
        f"a run that holds no lock on {tmp_path / 'out'} (it publishes elsewhere, or it died and its lease "
        "expires within 90 s)"
    )
    with hold_lock(tmp_path / "out", holder()):
        assert publication._slot_holder(settings) == (
            "run 1a2b3c4d5e6f7a8b (flow run 0f9e8d7c-0000-4000-8000-000000000001, "
            f"pid {os.getpid()} on host {socket.gethostname()}) since 2026-03-01 12:00:01 UTC"
        )


def test_a_monotonic_moment_is_shown_as_utc_wall_clock_time():
    shown = publication._clock(time.monotonic() - 3600)
    assert shown.endswith(" UTC")
    moment = datetime.strptime(shown, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert abs(moment - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(seconds=2)


@pytest.fixture
def own_server(monkeypatch):
    """No PREFECT_API_URL: the run's own temporary server, where the turn is the file lock alone."""
    monkeypatch.delenv(EMBEDDED_SERVER_VARIABLE, raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def test_on_the_runs_own_server_the_turn_is_the_lock_on_the_output_root(tmp_path, own_server):
    settings = Settings(out_dir=tmp_path / "out")
    logged = []
    manifest = {"run_id": "run-a", "flow_run_id": "fr-a", "parameters": {}}
    with publication_turn(settings, manifest, logged.append):
        held, record = lock_holder(tmp_path / "out")
        assert held and (record["run_id"], record["flow_run_id"], record["pid"]) == ("run-a", "fr-a", os.getpid())
    assert lock_holder(tmp_path / "out") == (False, None)
    assert logged == []  # nobody to wait for


def test_a_turn_that_waits_past_the_deadline_is_refused_naming_the_holder(tmp_path, own_server):
    out = tmp_path / "out"
    settings = Settings(out_dir=out, publish_lock_timeout_seconds=0.4)
    logged = []
    who = (
        "run 1a2b3c4d5e6f7a8b (flow run 0f9e8d7c-0000-4000-8000-000000000001, "
        f"pid {os.getpid()} on host {socket.gethostname()}) since 2026-03-01 12:00:01 UTC"
    )
    with (
        hold_lock(out, holder()),
        pytest.raises(PublishError) as refused,
        publication_turn(settings, {"run_id": "run-b"}, logged.append),
    ):
        pytest.fail("took the turn while another publication held the lock")
    assert str(refused.value) == f"another publication is in progress in {out}: {who}; waited 0.4 s"
    assert logged == [f"publication: waiting for the lock on {out} held by {who}"]


HOLDER = """
import sys, time
from kume.publication import publication_turn
from kume.settings import Settings
with publication_turn(Settings(), {"run_id": "run-dead", "flow_run_id": sys.argv[1]}, print):
    print("held", flush=True)
    time.sleep(600)
"""

WAITER = """
import time
from kume.publication import publication_turn
from kume.settings import Settings
from tasks.errors import PublishError
started = time.monotonic()
try:
    with publication_turn(Settings(), {"run_id": "run-next", "flow_run_id": None}, lambda m: print(m, flush=True)):
        print(f"took the turn after {time.monotonic() - started:.1f} s", flush=True)
except PublishError as error:
    print(f"refused: {error}", flush=True)
    raise SystemExit(3)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server (not the embedded one): its Repossessor frees expired leases,
    here every second."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    env = kume_env(
        root,
        PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS="1",
        PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS="2",  # waiters retry every 2 s at most
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        from kume.serve import wait_for_api

        wait_for_api(api, None, timeout=180)
        yield {"api": api, "root": root}
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def slots_taken(api: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name("kume-publish").active_slots


def test_on_a_real_server_the_slot_of_a_killed_holder_is_freed_when_its_lease_expires(prefect_server, tmp_path):
    """The holder takes the slot (and the lock) with a 60 s lease, the shortest the server
    accepts, and is SIGKILLed: nothing releases the slot but the lease's expiry; then the
    Repossessor (every second here) frees it and the waiting run takes its turn."""
    api = prefect_server["api"]
    env = kume_env(tmp_path, PREFECT_API_URL=api, PYTHONPATH=str(PROJECT_ROOT))
    holder_run = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(uuid.uuid4())],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = holder_run.stdout.readline()
        if line.strip() != "held":
            pytest.fail(line + holder_run.communicate(timeout=60)[0])
        assert slots_taken(api) == 1
        holder_run.kill()
        holder_run.wait(timeout=10)
        killed = time.monotonic()
    finally:
        holder_run.kill()
    waiter = subprocess.run(
        [sys.executable, "-c", WAITER],
        env={**env, "KUME_PUBLISH_LOCK_TIMEOUT_SECONDS": "120"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    freed_after = time.monotonic() - killed
    assert waiter.returncode == 0, waiter.stdout + waiter.stderr[-3000:]
    lines = waiter.stdout.splitlines()
    assert lines[0] == (
        f"publication: waiting for the kume-publish slot at {api}, taken by a run that holds no lock on "
        f"{tmp_path / 'out'} (it publishes elsewhere, or it died and its lease expires within 60 s)"
    )
    assert lines[-1].startswith("took the turn after ")
    assert 55 < freed_after < 80, lines  # the lease (60 s), then the Repossessor and a retry
    assert slots_taken(api) == 0


def test_on_a_real_server_a_run_refused_the_slot_says_so_in_one_line(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = prefect_server["api"]
    env = kume_env(tmp_path, PREFECT_API_URL=api, KUME_PUBLISH_LOCK_TIMEOUT_SECONDS="3", PYTHONPATH=str(PROJECT_ROOT))
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        from kume.publication import ensure_publish_limit

        ensure_publish_limit()
        lease = client.increment_concurrency_slots_with_lease(
            names=["kume-publish"], slots=1, mode="concurrency", lease_duration=300
        ).json()["lease_id"]
        try:
            with hold_lock(tmp_path / "out", holder()):
                waiter = subprocess.run(
                    [sys.executable, "-c", WAITER],
                    env=env,
                    cwd=PROJECT_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
        finally:
            client.release_concurrency_slots_with_lease(lease)
    assert waiter.returncode == 3, waiter.stdout + waiter.stderr[-3000:]
    who = f"run 1a2b3c4d5e6f7a8b (flow run 0f9e8d7c-0000-4000-8000-000000000001, pid {os.getpid()} on host "
    waiting, refused = waiter.stdout.splitlines()
    assert waiting.startswith(f"publication: waiting for the kume-publish slot at {api}, taken by {who}")
    assert refused.startswith(
        f"refused: the publication slot kume-publish at {api} stayed taken for 3 s (waiting since "
    )
    assert f"; taken by {who}" in refused and "Traceback" not in waiter.stderr


def test_a_slot_left_taken_in_the_database_is_freed_when_kume_serve_starts_its_server(prefect_server):
    """What kume serve does once its freshly started server answers (Prefect keeps leases in the
    server's memory: none can hold a slot yet): a kume-publish slot still taken is a left-over."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from kume.publication import ensure_publish_limit
    from kume.serve import release_left_over_slots

    api = prefect_server["api"]
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        ensure_publish_limit()
        lease = client.increment_concurrency_slots_with_lease(
            names=["kume-publish"], slots=1, mode="concurrency", lease_duration=300
        ).json()["lease_id"]
        assert slots_taken(api) == 1
        release_left_over_slots()
        assert slots_taken(api) == 0
        client.release_concurrency_slots_with_lease(lease)
    assert slots_taken(api) == 0
