"""``kume run``'s temporary Prefect server: the one Prefect would start by itself without
``PREFECT_API_URL`` (the same uvicorn command and environment: ``PREFECT__SERVER_EPHEMERAL``, no
UI, loopback, SQLite under ``PREFECT_HOME``), but started by kume as a child that dies with it.

Prefect's own (``prefect.server.api.server.SubprocessASGIServer``) is stopped by an ``atexit``
hook only, so a ``kume run`` ended by SIGTERM or SIGKILL left it running. This one is started
with ``PR_SET_PDEATHSIG`` (Linux: the kernel kills it when ``kume run``'s main thread ends,
whatever ends it) in a process group of its own (a Ctrl-C reaches ``kume run``, which then stops
it), and ``kume run`` stops it when it ends normally or on SIGTERM (``kume.cli``).

While it runs, ``PREFECT_API_URL`` points at it and ``KUME_EMBEDDED_SERVER`` holds the same URL:
the flow knows from that that the server is its own (``kume.publication.on_embedded_server``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tasks.errors import EmbeddedServerError

EMBEDDED_SERVER_VARIABLE = "KUME_EMBEDDED_SERVER"
PR_SET_PDEATHSIG = 1
PORT_IN_USE = 3  # uvicorn's exit code when it cannot bind


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent_hook():
    """A ``preexec_fn`` that has the kernel SIGKILL the child when this process ends (Linux);
    None elsewhere. SIGKILL: the parent is gone, nobody needs an orderly shutdown, and SQLite
    keeps the database consistent whatever the moment."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return hook


class EmbeddedServer:
    """A temporary Prefect server on a free loopback port, a child of this process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> EmbeddedServer:
        """Start the server (without waiting for it: ``wait``) and point this process's
        ``PREFECT_API_URL`` at it; call before Prefect is imported, so that its start-up
        overlaps the imports."""
        self.port = _free_port()
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        for name in self._client_environment():
            env.pop(name, None)
        # the folder holding the prefect package, as Prefect gives uvicorn; found without
        # importing Prefect, whose import then overlaps the server's start-up
        app_dir = os.path.dirname(os.path.dirname(importlib.util.find_spec("prefect").origin))
        command = [
            sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env=env,
            preexec_fn=_die_with_parent_hook(),
            process_group=0,
        )
        os.environ.update(self._client_environment())
        return self

    def _client_environment(self) -> dict[str, str]:
        """This process's view of the server: its API, no UI (as with Prefect's own temporary
        server: no "View at" links to a UI that is not served)."""
        return {"PREFECT_API_URL": self.api_url, EMBEDDED_SERVER_VARIABLE: self.api_url, "PREFECT_UI_URL": ""}

    def wait(self, timeout: float) -> None:
        """Wait until the server answers its health check; a port taken meanwhile: another one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == PORT_IN_USE:
                self.start()
                continue
            if code is not None:
                raise EmbeddedServerError(f"the temporary Prefect server exited with code {code} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        _logger().info(
                            f"Starting temporary server on http://127.0.0.1:{self.port}\nSee "
                            "https://www.prefect.io/docs/v3/concepts/server#how-to-guides "
                            "for more information on running a dedicated Prefect server."
                        )
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise EmbeddedServerError(f"the temporary Prefect server did not answer within {timeout:g} s")

    def settings(self):
        """Prefect's settings pointing at this server, for a process that imported Prefect
        before the server started (its settings are read at import)."""
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

        return temporary_settings(updates={PREFECT_API_URL: self.api_url, PREFECT_UI_URL: ""})

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and forget its URL."""
        if self.process is None:
            return
        if self.process.poll() is None:
            _send_what_prefect_queued()
            _logger().info(f"Stopping temporary server on http://127.0.0.1:{self.port}")
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        for name, value in self._client_environment().items():
            if os.environ.get(name) == value:
                del os.environ[name]


def _send_what_prefect_queued() -> None:
    """Let Prefect send the run logs and events it still queues before its server stops (what
    its own exit hooks do before they stop its temporary server)."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=5)


def _logger() -> logging.Logger:
    return logging.getLogger("prefect")  # where Prefect logs its own temporary server's start and stop


@contextmanager
def prefect_server_for_this_run() -> Iterator[EmbeddedServer | None]:
    """kume's temporary server for the block unless ``PREFECT_API_URL`` is set (then None):
    started on entry (``EmbeddedServer.wait`` for it to answer), stopped on exit, however the
    block ends."""
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    server = EmbeddedServer().start()
    try:
        yield server
    finally:
        server.stop()
