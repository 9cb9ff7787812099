"""Starting and stopping the real Rasa and action servers, for the tests and the benchmarks."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import List, Optional

from bot.content import PROJECT_DIR

BIN = Path(sys.executable).parent
SERVER_ENV = {
    **os.environ,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
    "RASA_TELEMETRY_ENABLED": "false",
    # The servers started here share one API secret, made afresh for each run (bot/serve.py).
    "RASA_JWT_SECRET": secrets.token_hex(32),
}
READY_PATH = "/webhooks/rest/"  # answers once the model is loaded, and needs no token


def api_headers() -> dict:
    """The header that lets a caller use the HTTP API of the servers started here."""
    from bot.serve import api_token

    return {"Authorization": f"Bearer {api_token(secret=SERVER_ENV['RASA_JWT_SECRET'])}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latest_model() -> Path:
    """The newest model in models/, training one first if there is none (`make` trains)."""
    models = sorted((PROJECT_DIR / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        subprocess.run([str(BIN / "rasa"), "train", "--quiet"], cwd=PROJECT_DIR, check=True,
                       env=SERVER_ENV)
        return latest_model()
    return models[-1]


class Server:
    """A process we started, with the log it writes and the port it answers on."""

    def __init__(self, args: List[str], port: int, log: Path, env: Optional[dict] = None,
                 cwd: Path = PROJECT_DIR) -> None:
        self.port = port
        self.log = log
        self.started_at = time.monotonic()
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env or SERVER_ENV,
            stdout=self._log_handle, stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self, last: int = 40) -> str:
        """The newest lines of its log from an error on (no message text is ever logged), for a
        failing test to show why."""
        lines = self.log.read_text(errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines) if " ERROR " in line), len(lines))
        return "\n".join(lines[start:][-last:])

    def workers(self) -> List[int]:
        """The process ids of its Sanic workers (its children; none with one worker)."""
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                               text=True).stdout.split()
        return [int(pid) for pid in found]

    def wait_until_up(self, path: str = READY_PATH, timeout: float = 180) -> float:
        """Wait until `path` answers; return the seconds since the process started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log}: server exited\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return time.monotonic() - self.started_at
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"{self.log}: not up after {timeout}s\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()


def start_action_server(log_dir: Path, project: Path = PROJECT_DIR) -> Server:
    """The action server, for the project in `project` (its content, via ASSISTANT_DIR)."""
    port = free_port()
    return Server(
        [str(BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        port, log_dir / "actions.log",
        env={**SERVER_ENV, "ASSISTANT_DIR": str(project), "SANIC_HOST": "127.0.0.1"},
        cwd=project,
    )


def start_rasa_server(model: Path, action_port: int, log_dir: Path, name: str = "rasa",
                      project: Path = PROJECT_DIR, env: Optional[dict] = None,
                      endpoints_extra: Optional[dict] = None) -> Server:
    """A Rasa server with the REST channel and the HTTP API (api_headers() opens it), on a free
    port, started as `make run` starts it. Conversations are kept in memory unless
    `endpoints_extra` gives a tracker store (or other endpoints)."""
    import yaml

    port = free_port()
    endpoints = log_dir / f"{name}-endpoints.yml"
    endpoints.write_text(yaml.safe_dump({
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook",
                            "enable_selective_domain": True},  # as endpoints.yml
        **(endpoints_extra or {})}))
    return Server(
        [str(BIN / "python"), "-m", "bot.serve", "--port", str(port), "--model", str(model),
         "--endpoints", str(endpoints), "--credentials", str(project / "credentials.yml")],
        port, log_dir / f"{name}.log",
        env={**SERVER_ENV, "ASSISTANT_DIR": str(project), **(env or {})}, cwd=project,
    )
