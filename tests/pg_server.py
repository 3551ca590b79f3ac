"""A throwaway PostgreSQL server for tests that need a real server, not SQLite.

Production reads the agency database from PostgreSQL; SQLite differs in types, reflection and
drivers, so tests that claim PostgreSQL support start one from the machine's server binaries
(``/usr/lib/postgresql/<version>/bin``) in a temporary directory: TCP on 127.0.0.1 only, a free
port, its unix socket inside that directory, trust authentication. initdb refuses to run as root,
so under root the server runs as the ``postgres`` user through ``runuser``.

Without binaries, or when the server cannot start, the tests are skipped, except on CI
(``CI=true``), where that is a failure: CI must not pass by silently testing nothing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

SERVER_USER = "postgres"  # the OS user that runs the server when the tests run as root
DATABASE = "kume_test"


class PostgresUnavailableError(Exception):
    """The server binaries are missing or the server would not start; the message says why."""


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, or None."""

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.name
        return tuple(int(part) for part in number.split(".")) if number.replace(".", "").isdigit() else ()

    candidates = [p for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()]
    candidates = [p for p in candidates if Path(p, "pg_ctl").exists()]
    return Path(max(candidates, key=version)) if candidates else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def create_database(server_url: str, name: str) -> str:
    """Create (or re-create, empty) database `name` on the server of `server_url`; return its URL."""
    url = sa.make_url(server_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class PostgresServer:
    """One server in its own temporary directory: `init()` once, then `start()` / `stop()` at will
    (the port stays the same, so `url` stays valid), and `cleanup()` to stop it and delete everything."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="kume-pg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.log = self.base / "server.log"
        self.as_root = os.geteuid() == 0
        self.url = f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self.as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError as error:
                raise PostgresUnavailableError(f"running as root and there is no {SERVER_USER!r} user") from error
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError("running as root and runuser is missing")
            for path in (self.base, self.socket_dir):  # mkdtemp's 0700 directory becomes the server user's
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            "initdb", "-D", self.data, "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",  # a throwaway server: durability only costs time
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "60")

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w")

    def cleanup(self) -> None:
        """Stop the server if its postmaster is up (also after a failed start), remove the directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailableError):
                self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run(self, program: str, *args: str | Path) -> None:
        command = [str(self.bin_dir / program), *map(str, args)]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        try:
            done = subprocess.run(command, cwd=self.base, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PostgresUnavailableError(f"`{shlex.join(command)}` failed: {error}") from error
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise PostgresUnavailableError(
                f"`{shlex.join(command)}` exited {done.returncode}:\n{output}\nserver log:\n{self.log_tail()}"
            )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway server with an empty test database, for the whole session."""
    bin_dir = find_bin_dir()
    server = PostgresServer(bin_dir) if bin_dir else None
    try:
        if server is None:
            raise PostgresUnavailableError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        server.init()
        server.start()
        try:
            create_database(server.url, DATABASE)
        except (ImportError, sa.exc.SQLAlchemyError) as error:
            raise PostgresUnavailableError(f"cannot create the test database: {error}\n{server.log_tail()}") from error
    except PostgresUnavailableError as error:
        if server is not None:
            server.cleanup()
        reason = f"PostgreSQL test server unavailable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL (postgresql+psycopg) of the server's empty test database."""
    return postgres_server.url
