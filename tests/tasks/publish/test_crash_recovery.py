"""Nothing stuck: a ``kume run`` killed inside its publication leaves nothing that blocks the
next run (no slot, no lock, no orphaned Prefect server), and a run that has to wait says for whom.
(A ``kume run`` ended by SIGTERM or SIGKILL: tests/kume/test_embedded_server.py; the slot of a
holder that died on a real Prefect server: tests/kume/test_publication.py.) Each ``kume run``
here has its own output root and PREFECT_HOME."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kume_runs import PROVINCE, hold_lock, holder, kume_env, processes_of, start_kume_run, survivors

from kume.settings import PROJECT_ROOT
from tasks.errors import PublishError
from tasks.publish.publication import publish
from tasks.publish.snapshot import file_digest


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
