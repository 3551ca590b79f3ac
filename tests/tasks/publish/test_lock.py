"""The publication lock on small folders: who holds it, how the holder is described, a second
publication refused after its wait, reentry by the holder's own thread, ended holders ignored."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tasks.errors import PublishError
from tasks.publish.lock import LOCK_FILE, describe_holder, holder_record, lock_holder, publication_lock


def test_a_free_root_has_no_holder_and_a_held_one_names_its_holder(tmp_path):
    assert lock_holder(tmp_path) == (False, None)  # no lock file yet
    with publication_lock(tmp_path, 1, holder={"run_id": "run-a", "flow_run_id": "fr-1"}):
        held, record = lock_holder(tmp_path)
        assert held and record["run_id"] == "run-a" and record["pid"] == os.getpid()
        assert record["host"] == socket.gethostname()
    assert lock_holder(tmp_path) == (False, None)
    assert (tmp_path / LOCK_FILE).read_text() == ""  # the record goes with the lock


def test_a_second_publication_waits_says_for_whom_and_is_refused_after_its_timeout(tmp_path):
    said = []
    with (
        publication_lock(tmp_path, 1, holder={"run_id": "run-a"}),
        pytest.raises(PublishError, match="another publication is in progress") as refused,
        publication_lock(tmp_path, 0.3, log=said.append),
    ):
        pass
    assert "run run-a (pid" in str(refused.value) and "waited 0.3 s" in str(refused.value)
    assert len(said) == 1 and said[0].startswith(f"publication: waiting for the lock on {tmp_path} held by run run-a")


def test_the_holders_thread_may_reenter_a_reentrant_lock_and_update_its_record(tmp_path):
    with publication_lock(tmp_path, 1, holder={"run_id": "run-a"}, reentrant=True):
        with publication_lock(tmp_path, 0, holder={"flow_run_id": "fr-2"}):
            record = lock_holder(tmp_path)[1]
            assert (record["run_id"], record["flow_run_id"]) == ("run-a", "fr-2")
        assert lock_holder(tmp_path)[0]  # still held by the outer entry
    assert lock_holder(tmp_path) == (False, None)


def test_a_non_reentrant_lock_is_not_entered_twice(tmp_path):
    with publication_lock(tmp_path, 1), pytest.raises(PublishError), publication_lock(tmp_path, 0, log=lambda _: None):
        pass


def test_the_record_of_a_holder_that_has_ended_is_never_reported(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)
    with publication_lock(tmp_path, 1):
        with (tmp_path / LOCK_FILE).open("w") as handle:  # a killed holder's record, still in the file
            handle.write(json.dumps({**holder_record("run-dead"), "pid": dead_pid}) + "\n")
        assert lock_holder(tmp_path) == (True, None)


def test_holders_are_described_in_one_line():
    record = {"pid": 12, "host": "h", "run_id": "r1", "flow_run_id": "f1", "since": "2026-03-01T12:00:01+03:00"}
    assert describe_holder(record) == "run r1 (flow run f1, pid 12 on host h) since 2026-03-01 09:00:01 UTC"
    assert describe_holder({**record, "run_id": None, "flow_run_id": None}) == (
        "pid 12 on host h since 2026-03-01 09:00:01 UTC"
    )
    assert describe_holder({**record, "since": "soon"}).endswith("since soon")
    assert describe_holder({"text": "pid 7 since yesterday"}) == "pid 7 since yesterday"  # an older kume's line
    assert describe_holder(None) == "a publication that has not recorded itself yet"
