"""Nothing stuck: a ``kume run`` killed inside its publication, or ended by SIGTERM or SIGKILL,
leaves nothing that blocks the next run (no slot, no lock, no orphaned Prefect server); a run
that has to wait says for whom; and on a real Prefect server, the slot of a holder that died is
freed when its lease expires. Each ``kume run`` here has its own output root and PREFECT_HOME."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from kume.settings import PROJECT_ROOT
from tasks.errors import PublishError
from tasks.publish.publication import publish
from tasks.publish.snapshot import file_digest

PROVINCE = ["--provinces", "Samsun"]  # one province: the shortest real run


def kume_env(root: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "KUME_OUT_DIR": str(root / "out"),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "KUME_EMBEDDED_SERVER", "KUME_FAULT_POINT"):
        env.pop(name, None)
    return {**env, **extra}


def start_kume_run(root: Path, *args: str, **extra: str) -> tuple[subprocess.Popen, Path]:
    log = root / f"kume-run-{time.monotonic_ns()}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kume.cli", "run", *args],
            env=kume_env(root, **extra),
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_of(root: Path) -> list[psutil.Process]:
    """Every live process whose environment names this test's output root: the kume runs and
    whatever they started (an orphan included, whoever its parent is now)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get("KUME_OUT_DIR") == str(root / "out"):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [process for process in found if alive(process)]


def survivors(processes: list[psutil.Process], timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in processes if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [f"{p.pid}: {' '.join(p.cmdline())[:200]}" for p in left if alive(p)]


def complete(out_dir: Path, run_id: str) -> bool:
    """Every file the run's manifest lists is there with its recorded hash."""
    run = out_dir / "runs" / run_id
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    files = [(file, digest) for output in manifest["outputs"].values() for file, digest in output["files"].items()]
    return bool(files) and all(file_digest(run / file) == digest for file, digest in files)


def take_stale_slot(prefect_db: Path) -> None:
    """What an older kume's killed publication left in the embedded server's database: the
    kume-publish limit with its one slot taken, and no lease anywhere that would free it."""
    with sqlite3.connect(prefect_db) as db:
        db.execute(
            'INSERT INTO concurrency_limit_v2 (active, name, "limit", active_slots, denied_slots, '
            "slot_decay_per_second, avg_slot_occupancy_seconds) VALUES (1, 'kume-publish', 1, 1, 0, 0, 2) "
            "ON CONFLICT (name) DO UPDATE SET active_slots = 1"
        )


def hold_lock(out_dir: Path, record: dict):
    """The publication lock of ``out_dir``, taken by this test process with ``record`` as holder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = (out_dir / ".publish.lock").open("a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record) + "\n")
    handle.flush()
    return handle


def holder(**fields) -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": "1a2b3c4d5e6f7a8b",
        "flow_run_id": "0f9e8d7c-0000-4000-8000-000000000001",
        "since": "2026-03-01T12:00:01+00:00",
        **fields,
    }


def test_a_run_killed_inside_its_publication_does_not_block_the_next_run(tmp_path):
    """The issue's case: SIGKILL inside the publication (lock held, reports written), and the
    embedded database has a kume-publish slot taken that nothing will free (as an older kume
    left it). The next plain run publishes in its normal time; a run refused after waiting for a
    live holder ends with one line."""
    out = tmp_path / "out"
    killed, log = start_kume_run(
        tmp_path, *PROVINCE, "--force", "--weights", "0.32,0.22,0.23,0.23", KUME_FAULT_POINT="reports-written"
    )
    assert killed.wait(timeout=400) == -signal.SIGKILL, log.read_text()[-3000:]
    orphans = processes_of(tmp_path)  # its temporary Prefect server, if it survived it
    assert not (out / "current").exists()
    take_stale_slot(tmp_path / "prefect" / "prefect.db")

    started = time.monotonic()
    process, log = start_kume_run(tmp_path, *PROVINCE, KUME_PUBLISH_LOCK_TIMEOUT_SECONDS="240")
    try:
        code = process.wait(timeout=300)
    finally:
        process.kill()
    took = time.monotonic() - started
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "waiting for" not in text and took < 200, (took, text[-3000:])
    manifest = json.loads((out / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert complete(out, manifest["run_id"]) and manifest["parameters"]["provinces"] == [55]
    assert not survivors(orphans + processes_of(tmp_path)), "the killed run's temporary Prefect server survived it"

    # a live holder: the next run waits, says for whom, and is refused in one line
    with hold_lock(out, holder(pid=os.getpid())):
        refused = subprocess.run(
            [sys.executable, "-m", "kume.cli", "run", *PROVINCE, "--weights", "0.4,0.2,0.2,0.2"],
            env=kume_env(tmp_path, KUME_PUBLISH_LOCK_TIMEOUT_SECONDS="3"),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    who = f"run 1a2b3c4d5e6f7a8b (flow run 0f9e8d7c-0000-4000-8000-000000000001, pid {os.getpid()} on host "
    assert refused.returncode == 1, refused.stderr[-3000:]
    failed = [line for line in refused.stderr.splitlines() if line.startswith("kume run failed:")]
    assert len(failed) == 1, refused.stderr[-3000:]
    assert failed[0].startswith(f"kume run failed: another publication is in progress in {out}: {who}"), failed
    assert failed[0].endswith("since 2026-03-01 12:00:01 UTC; waited 3 s"), failed
    assert "Traceback" not in refused.stderr.split(failed[0])[1]  # nothing uncaught after it
    assert f"publication: waiting for the lock on {out} held by {who}" in refused.stderr
    assert (out / "current").resolve().name == manifest["run_id"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_kume_run_ended_by_a_signal_leaves_no_process_behind(tmp_path, signum):
    process, log = start_kume_run(tmp_path, *PROVINCE)
    try:
        wait_for_line(log, "Beginning flow run", process)
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        assert any("uvicorn" in " ".join(p.cmdline()) for p in tree[1:]), "no temporary Prefect server"
        os.kill(process.pid, signum)
        code = process.wait(timeout=90)
    finally:
        process.kill()
    assert not survivors(tree), f"left behind after {signal.Signals(signum).name}"
    assert not survivors(processes_of(tmp_path))
    if signum == signal.SIGTERM:
        text = log.read_text()
        assert code == 128 + signal.SIGTERM, text[-3000:]
        assert text.strip().splitlines()[-1] == "kume run: stopped by SIGTERM"
        assert "Traceback" not in text.split("Beginning flow run")[-1].split("Crashed")[0]
    lock = tmp_path / "out" / ".publish.lock"
    if lock.exists():  # nobody holds it
        with lock.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_publication_waiting_for_the_lock_logs_its_live_holder_and_is_refused_in_one_line(tmp_path, caplog):
    out = tmp_path / "out"
    caplog.set_level("INFO", logger="kume.publish")
    with hold_lock(out, holder()):
        started = time.monotonic()
        with pytest.raises(PublishError) as refused:
            publish(out, "run-next", {}, {"flow_run_id": "fr-next"}, lock_timeout_seconds=1.5)
        assert 1.5 <= time.monotonic() - started < 5
    who = (
        f"run 1a2b3c4d5e6f7a8b (flow run 0f9e8d7c-0000-4000-8000-000000000001, pid {os.getpid()} on host "
        f"{socket.gethostname()}) since 2026-03-01 12:00:01 UTC"
    )
    assert str(refused.value) == f"another publication is in progress in {out}: {who}; waited 1.5 s"
    assert caplog.messages == [f"publication: waiting for the lock on {out} held by {who}"]
    assert not (out / "runs").exists()


def test_a_dead_holders_record_is_never_named_and_never_blocks(tmp_path, caplog):
    out = tmp_path / "out"
    caplog.set_level("INFO", logger="kume.publish")
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    # a record left by a holder that was killed, the lock free: the next publication takes it at once
    out.mkdir()
    (out / ".publish.lock").write_text(json.dumps(holder(pid=dead)) + "\n")
    from tasks.publish.lock import publication_lock

    started = time.monotonic()
    with publication_lock(out, 0, holder={"run_id": "run-next"}):
        record = json.loads((out / ".publish.lock").read_text())
        assert record["pid"] == os.getpid() and record["run_id"] == "run-next"
    assert time.monotonic() - started < 1 and not caplog.messages
    assert (out / ".publish.lock").read_text() == ""  # the record goes with the lock
    # the lock held by a live holder that has not written its record yet, over a dead one's
    with hold_lock(out, holder(pid=dead)), pytest.raises(PublishError) as refused:
        publish(out, "run-next", {}, {}, lock_timeout_seconds=2.5)
    assert f"pid {dead} " not in str(refused.value) and "has not recorded itself yet" in str(refused.value)
    assert caplog.messages == [
        f"publication: waiting for the lock on {out} held by a publication that has not recorded itself yet"
    ]


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
