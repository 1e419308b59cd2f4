"""A throw-away PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` on a private unix socket.

Use it from a test module with ``pytest_plugins = ["tests.pgserver"]`` or
``from tests.pgserver import pg_server  # noqa: F401``; the session fixture :func:`pg_server`
starts one cluster for the whole run and stops it (and deletes it) at the end.

* The server binaries are found on ``PATH``, then under ``/usr/lib/postgresql/*/bin``
  (Debian/Ubuntu ``postgresql`` package), ``/usr/pgsql-*/bin`` (PGDG RPMs) and
  ``/opt/homebrew/opt/postgresql*/bin``; with none, the tests are skipped with a reason that
  says so (CI installs ``postgresql`` and runs them).
* The server listens on no TCP address (``listen_addresses = ''``), only on a unix socket
  in a fresh private directory, so no port is shared with anything else on the machine.
* ``initdb`` refuses to run as root: as root the cluster belongs to the ``postgres`` user
  when it exists, else to ``nobody``; the commands run through ``runuser``/``su``.
* Authentication: the superuser ``iop_admin`` is trusted on the socket; every other role
  needs its password (``scram-sha-256``), so a test proves the password really travels.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = "iop_admin"


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    found = shutil.which("pg_ctl")
    candidates = [str(Path(found).parent)] if found else []
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/opt/homebrew/opt/postgresql*/bin",
        "/usr/local/opt/postgresql*/bin",
    ):
        candidates += sorted(glob.glob(pattern), reverse=True)  # newest version first
    for c in candidates:
        d = Path(c)
        if all((d / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


@dataclass
class PgServer:
    """A running cluster: where its socket is and how to reach it."""

    bin_dir: Path
    root: Path
    socket_dir: Path
    port: int
    user: str | None  # the OS user running the server when we are root, else None

    def url(self, database: str = "postgres", user: str = ADMIN, password: str | None = None,
            query: str = "") -> str:  # fmt: skip
        """A SQLAlchemy URL over the unix socket (``password`` percent-encoded by the caller)."""
        auth = f"{user}:{password}" if password is not None else user
        extra = f"&{query}" if query else ""
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}&port={self.port}{extra}"

    def execute(self, sql: str | list[str], database: str = "postgres") -> None:
        """Run statements as the superuser (autocommit: CREATE DATABASE included)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=ADMIN, dbname=database,
            autocommit=True,
        ) as conn:  # fmt: skip
            for statement in [sql] if isinstance(sql, str) else sql:
                conn.execute(statement)


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *argv]
    return ["su", "-s", "/bin/sh", user, "-c", " ".join(f"'{a}'" for a in argv)]


def _free_port() -> int:
    with socket.socket() as s:  # only a number for the socket file name; no TCP listener
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(bin_dir: Path) -> PgServer:
    """initdb + pg_ctl start; raises RuntimeError with the server log when it fails."""
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            break
    root = Path(tempfile.mkdtemp(prefix="iopkit-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if user is not None:
        info = pwd.getpwnam(user)
        for p in (root, sock):
            os.chown(p, info.pw_uid, info.pw_gid)
    os.chmod(root, 0o711)  # the server user may enter; the socket dir stays private below
    os.chmod(sock, 0o700 if user is None else 0o711)
    log = root / "server.log"
    run = {"check": True, "capture_output": True, "text": True, "timeout": 180, "cwd": root}
    subprocess.run(
        _as_user(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", ADMIN, "-E", "UTF8",
                        "--no-locale", "--auth-local=trust", "--auth-host=reject"]),
        **run,
    )  # fmt: skip
    (data / "pg_hba.conf").write_text(
        f"local all {ADMIN} trust\nlocal all all scram-sha-256\n", encoding="utf-8"
    )
    port = _free_port()
    options = f"-k {sock} -p {port} -c listen_addresses='' -c fsync=off"
    try:
        subprocess.run(
            _as_user(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log),
                            "-o", options, "-w", "-t", "120", "start"]),
            **run,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        text = log.read_text() if log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {exc.stderr}\n{text}") from None
    return PgServer(bin_dir, root, sock, port, user)


def stop_server(server: PgServer) -> None:
    """pg_ctl stop (fast) and delete the cluster."""
    subprocess.run(
        _as_user(server.user, [str(server.bin_dir / "pg_ctl"), "-D", str(server.root / "data"),
                               "-m", "fast", "-w", "stop"]),
        capture_output=True, timeout=120, cwd=server.root,
    )  # fmt: skip
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throw-away cluster per test session (see the module docstring)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[dev]'")
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under "
            "/usr/lib/postgresql/*/bin: install the postgresql package to run these tests"
        )
    server = start_server(bin_dir)
    try:
        yield server
    finally:
        stop_server(server)
