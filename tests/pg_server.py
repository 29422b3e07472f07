"""A throwaway PostgreSQL server for the tests, from the server binaries on this machine (Debian's
`postgresql` package). It refuses to run as root, so as root it runs as the `postgres` user, in a temporary
folder, on 127.0.0.1. No mock: the store's contract suite runs against it."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import asyncpg

INSTALL_HINT = "install them with: apt-get update && apt-get install -y postgresql (.ci/run does)"


def server_binaries() -> Path:
    """The folder of initdb and pg_ctl; RuntimeError naming the fix when they are missing."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: its admin URL; `stop()` ends it and removes its files."""

    folder: Path
    port: int
    bindir: Path

    @property
    def url(self) -> str:
        """postgresql://postgres@127.0.0.1:PORT/postgres"""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        """The URL of database `name` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        self._admin(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing its connections."""
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _admin(self, sql: str) -> None:
        """Run one statement as the admin, from a thread of its own (callers may be inside an event loop)."""

        async def run() -> None:
            connection = await asyncpg.connect(self.url)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        worker = threading.Thread(target=asyncio.run, args=(run(),))
        worker.start()
        worker.join()

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_postgres() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")

    def demote() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return {"preexec_fn": demote}


def _run(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check, **_as_postgres())  # type: ignore[call-overload]


def start_postgres() -> PostgresServer:
    """initdb in a new temporary folder and start the server on a free port of 127.0.0.1 (fsync off: tests)."""
    bindir = server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    port = _free_port()
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=200"
    )
    started = _run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start"],
        check=False,
    )
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
    return PostgresServer(folder, port, bindir)
