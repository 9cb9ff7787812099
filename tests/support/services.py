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
from typing import Iterator, Optional

from bot.content import PROJECT_DIR
from tests.support.processes import free_port


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


def _as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Postgres:
    port: int
    folder: Path
    user: str = "rasa"

    def tracker_store(self, database: str = "rasa") -> dict:
        """The endpoints.yml `tracker_store` section for this server."""
        return {"type": "bot.storage.RedactingSQLTrackerStore", "dialect": "postgresql",
                "url": "127.0.0.1", "port": self.port, "db": database, "username": self.user,
                "login_db": "postgres"}

    def start(self) -> None:
        _as_postgres(str(postgres_bin() / "pg_ctl"), "-D", str(self.folder / "data"),
                     "-l", str(self.folder / "log"),
                     "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                           "-c fsync=off", "-w", "start")
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop at once, as a crash or a restart would: clients are cut off mid-connection."""
        _as_postgres(str(postgres_bin() / "pg_ctl"), "-D", str(self.folder / "data"),
                     "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL server of its own (trust authentication, loopback only), run as the
    `postgres` system user, since PostgreSQL refuses to run as root."""
    account = pwd.getpwnam("postgres")
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    os.chown(folder, account.pw_uid, account.pw_gid)
    server = Postgres(free_port(), folder)
    _as_postgres(str(postgres_bin() / "initdb"), "-D", str(folder / "data"), "-A", "trust",
                 "-U", server.user)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # a test may have stopped it
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class Redis:
    """A Redis server on a port of its own; `stop` and `start` keep the port."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise RuntimeError("Redis is not installed: run `make services`.")
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def lock_store(self) -> dict:
        """The endpoints.yml `lock_store` section for this server."""
        return {"type": "bot.locks.AtomicRedisLockStore", "url": "127.0.0.1", "port": self.port,
                "db": 1}

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def redis_server() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class LockRedis:
    """`make run`'s lock-store Redis (scripts/lock-redis.sh) on a socket in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.socket = folder / "redis" / "locks.sock"
        self.process: Optional[subprocess.Popen] = None

    def lock_store(self) -> dict:
        """The endpoints.yml `lock_store` section `make run` uses, with this socket."""
        return {"type": "bot.locks.SocketRedisLockStore", "socket": str(self.socket)}

    def start(self) -> None:
        if not shutil.which("redis-server"):
            raise RuntimeError("Redis is not installed: run `make services`.")
        self.process = subprocess.Popen(["bash", str(PROJECT_DIR / "scripts" / "lock-redis.sh"),
                                         str(self.socket)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("The lock store's Redis did not start.")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def lock_redis(folder: Path) -> Iterator[LockRedis]:
    server = LockRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
