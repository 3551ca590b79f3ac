"""One publication at a time on an output root: an exclusive ``flock`` on ``<out>/.publish.lock``
that the kernel releases when its holder dies, with the holder named in the file."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tasks.errors import PublishError

LOCK_FILE = ".publish.lock"


_LOCKS = threading.local()  # per thread: the output roots whose lock it holds, and their open lock files


_logger = logging.getLogger("kume.publish")


def holder_record(run_id: str | None = None, flow_run_id: str | None = None) -> dict:
    """Who holds a publication lock, as its holder writes it into the lock file: the process
    (pid and host), the run and its Prefect flow run, and since when (UTC)."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_record(handle, record: dict | None) -> None:
    handle.seek(0)
    handle.truncate()
    if record is not None:
        handle.write(json.dumps(record, default=str) + "\n")
    handle.flush()


def _read_record(handle) -> dict | None:
    """The holder record of an open lock file; None while it is empty or being written. An
    older kume's line (``pid 123 since ...``) comes back as ``{"text": line}``."""
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None if text.startswith("{") else {"text": text}
    return record if isinstance(record, dict) else None


def _alive(record: dict) -> bool:
    """False when the record names a process of this host that has ended (a killed holder's
    record, still there until the next holder writes its own); a process elsewhere counts as
    alive (the lock itself says whether anybody holds it)."""
    pid = record.get("pid")
    if record.get("host") != socket.gethostname() or not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: ended, its locks released
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _live(record: dict | None) -> dict | None:
    return record if record is not None and _alive(record) else None


def describe_holder(record: dict | None) -> str:
    """'run 1a2b (flow run 5e6f, pid 123 on host x) since 2026-03-01 12:00:01 UTC'."""
    if record is None:
        return "a publication that has not recorded itself yet"
    if "text" in record:
        return record["text"]
    details = [f"flow run {record['flow_run_id']}"] if record.get("flow_run_id") else []
    details.append(f"pid {record.get('pid')} on host {record.get('host')}")
    who = f"run {record['run_id']} ({', '.join(details)})" if record.get("run_id") else ", ".join(details)
    try:
        since = datetime.fromisoformat(str(record.get("since"))).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        since = str(record.get("since"))
    return f"{who} since {since}"


def lock_holder(out_dir: Path) -> tuple[bool, dict | None]:
    """Whether somebody holds the publication lock on ``out_dir`` now, and its record when it
    is known (never a record of a holder that has ended)."""
    try:
        handle = (out_dir / LOCK_FILE).open("r")
    except FileNotFoundError:
        return False, None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, _live(_read_record(handle))
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False, None


@contextmanager
def publication_lock(
    out_dir: Path,
    timeout_seconds: float,
    holder: dict | None = None,
    log: Callable[[str], None] | None = None,
    reentrant: bool = False,
) -> Iterator[None]:
    """One publication at a time per output root: an exclusive ``flock`` on
    ``<out>/.publish.lock``. The kernel releases it when the holder's process ends, however it
    ends (SIGKILL included), so a crashed publication never blocks the next one. The holder
    writes who it is into the file (``holder_record`` with ``holder``'s run and flow run); a
    second publication logs (``log``, else the ``kume.publish`` logger) that it waits and for
    whom, and after ``timeout_seconds`` is refused with a one-line ``PublishError`` naming the
    live holder. Taken ``reentrant`` (the flow's turn to publish, ``kume.publication``), the same
    thread may enter it again (``publish`` inside that turn): that only updates the record with
    ``holder``; otherwise a second entry waits like any other publication."""
    say = log or _logger.info
    out_dir.mkdir(parents=True, exist_ok=True)
    key = str(out_dir.resolve())
    held: dict = _LOCKS.__dict__.setdefault("held", {})
    if key in held:  # this thread holds it, reentrant
        if holder:
            handle = held[key]
            _write_record(handle, {**(_read_record(handle) or holder_record()), **holder})
        yield
        return
    with (out_dir / LOCK_FILE).open("a+") as handle:
        started = time.monotonic()
        deadline = started + timeout_seconds
        announced: dict | None | bool = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                current = _live(_read_record(handle))
                if current != announced and (current is not None or time.monotonic() - started >= 2):
                    say(f"publication: waiting for the lock on {out_dir} held by {describe_holder(current)}")
                    announced = current
                if time.monotonic() >= deadline:
                    raise PublishError(
                        f"another publication is in progress in {out_dir}: {describe_holder(current)}; "
                        f"waited {timeout_seconds:g} s"
                    ) from None
                time.sleep(0.2)
        _write_record(handle, {**holder_record(), **(holder or {})})
        if reentrant:
            held[key] = handle
        try:
            yield
        finally:
            held.pop(key, None)
            _write_record(handle, None)  # the record goes with the lock
            fcntl.flock(handle, fcntl.LOCK_UN)
