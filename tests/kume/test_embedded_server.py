"""``kume run``'s own temporary Prefect server (``kume.embedded_server``): the moved end-to-end
check that a ``kume run`` ended by a signal leaves no Prefect server behind, and fast checks of
its parts without starting a server: the port, the parent-death signal, the health wait, the stop."""

from __future__ import annotations

import fcntl
import http.server
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from kume_runs import PROVINCE, processes_of, start_kume_run, survivors

from kume import embedded_server
from kume.embedded_server import EMBEDDED_SERVER_VARIABLE, EmbeddedServer, prefect_server_for_this_run
from tasks.errors import EmbeddedServerError


def wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)


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


def test_the_free_port_is_a_loopback_port_nobody_holds():
    port = embedded_server._free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))  # free: the probe that found it has let it go


def test_the_server_child_gets_sigkill_as_its_parent_death_signal():
    """The hook runs in the child before uvicorn: the kernel then SIGKILLs the child when this
    process ends. The child reads its own parent-death signal back (``PR_GET_PDEATHSIG``)."""
    hook = embedded_server._die_with_parent_hook()
    assert callable(hook)
    probe = (
        "import ctypes; libc = ctypes.CDLL(None); sig = ctypes.c_int(0); "
        "libc.prctl(2, ctypes.byref(sig), 0, 0, 0); print(sig.value)"
    )
    child = subprocess.run([sys.executable, "-S", "-c", probe], preexec_fn=hook, capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    assert int(child.stdout) == signal.SIGKILL
    without = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True)
    assert int(without.stdout) == 0


def test_the_client_environment_points_prefect_and_the_flow_at_the_server():
    server = EmbeddedServer()
    server.port = 4321
    assert server.api_url == "http://127.0.0.1:4321/api"
    assert server._client_environment() == {
        "PREFECT_API_URL": "http://127.0.0.1:4321/api",
        EMBEDDED_SERVER_VARIABLE: "http://127.0.0.1:4321/api",
        "PREFECT_UI_URL": "",
    }


def test_with_prefect_api_url_set_there_is_no_server_of_the_run(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    monkeypatch.delenv(EMBEDDED_SERVER_VARIABLE, raising=False)
    children = {child.pid for child in psutil.Process().children()}
    before = dict(os.environ)
    with prefect_server_for_this_run() as server:
        assert server is None
        assert {child.pid for child in psutil.Process().children()} == children  # nothing started
        assert dict(os.environ) == before


@pytest.fixture
def sleeper():
    """A live child process, standing in for a server that is still starting."""
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def test_a_server_that_exits_while_starting_is_an_error_with_its_exit_code():
    server = EmbeddedServer()
    server.port = embedded_server._free_port()
    server.process = subprocess.Popen(["sh", "-c", "exit 1"])
    server.process.wait()
    with pytest.raises(EmbeddedServerError, match="^the temporary Prefect server exited with code 1 while starting$"):
        server.wait(timeout=5)


def test_a_server_that_never_answers_is_an_error_after_the_timeout(sleeper):
    server = EmbeddedServer()
    server.port = embedded_server._free_port()  # nobody listens there
    server.process = sleeper
    started = time.monotonic()
    with pytest.raises(EmbeddedServerError, match=r"^the temporary Prefect server did not answer within 0\.3 s$"):
        server.wait(timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args):
        pass


def test_wait_returns_once_the_health_check_answers_and_logs_the_start_as_prefect_does(sleeper, caplog):
    health = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=health.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    prefect_logger = logging.getLogger("prefect")
    prefect_logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="prefect")
    try:
        server = EmbeddedServer()
        server.port = health.server_address[1]
        server.process = sleeper
        server.wait(timeout=10)
    finally:
        prefect_logger.removeHandler(caplog.handler)
        health.shutdown()
        health.server_close()
    assert any(
        message.startswith(f"Starting temporary server on http://127.0.0.1:{server.port}\n")
        for message in caplog.messages
    ), caplog.messages


def test_stop_without_a_server_does_nothing(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    server = EmbeddedServer()
    server.stop()
    assert server.process is None and os.environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"


def test_stop_ends_the_server_and_forgets_only_its_own_url(sleeper, monkeypatch):
    server = EmbeddedServer()
    server.port = 4321
    server.process = sleeper
    monkeypatch.setenv("PREFECT_API_URL", server.api_url)
    monkeypatch.setenv("PREFECT_UI_URL", "")
    monkeypatch.setenv(EMBEDDED_SERVER_VARIABLE, "http://127.0.0.1:5555/api")  # another server's: kept
    server.stop()
    assert sleeper.poll() == -signal.SIGTERM
    assert server.process is None
    assert "PREFECT_API_URL" not in os.environ and "PREFECT_UI_URL" not in os.environ
    assert os.environ[EMBEDDED_SERVER_VARIABLE] == "http://127.0.0.1:5555/api"
