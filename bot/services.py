"""PostgreSQL and Redis started on local ports for the scale-out test and `make bench-load`:
Debian's packages (installed by `make services` if missing), each in a throw-away folder."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bot.processes import free_port


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing is listening on port {port} after {timeout}s")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make services`.")
    return Path(found[-1]).parent


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "rasa"

    def tracker_store(self, database: str = "rasa") -> dict:
        """The endpoints.yml `tracker_store` section for this server."""
        return {"type": "bot.storage.RedactingSQLTrackerStore", "dialect": "postgresql",
                "url": "127.0.0.1", "port": self.port, "db": database, "username": self.user,
                "login_db": "postgres"}


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL server of its own (trust authentication, loopback only), run as the
    `postgres` system user, since PostgreSQL refuses to run as root."""
    account = pwd.getpwnam("postgres")
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    os.chown(folder, account.pw_uid, account.pw_gid)
    port = free_port()
    binaries = postgres_bin()

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    as_postgres(str(binaries / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "rasa")
    as_postgres(str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"),
                "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-w", "start")
    try:
        wait_for_port(port)
        yield Postgres(port)
    finally:
        as_postgres(str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Redis:
    port: int

    def lock_store(self) -> dict:
        """The endpoints.yml `lock_store` section for this server."""
        return {"type": "redis", "url": "127.0.0.1", "port": self.port, "db": 1}


@contextlib.contextmanager
def redis_server() -> Iterator[Redis]:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("Redis is not installed: run `make services`.")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield Redis(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
