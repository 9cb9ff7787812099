"""Shared fixtures: one trained model per run, and real Rasa and action servers started once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
              "RASA_TELEMETRY_ENABLED": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latest_model() -> Path:
    """The newest model in models/, training one first if there is none (`make test` trains)."""
    models = sorted((PROJECT_DIR / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        subprocess.run([str(BIN / "rasa"), "train", "--quiet"], cwd=PROJECT_DIR, check=True,
                       env=SERVER_ENV)
        return latest_model()
    return models[-1]


@pytest.fixture(scope="session")
def model_path() -> Path:
    return latest_model()


class Server:
    """A process we started, with the log it writes and the port it answers on."""

    def __init__(self, args: List[str], port: int, log: Path, cwd: Path = PROJECT_DIR) -> None:
        self.port = port
        self.log = log
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(
            args, cwd=cwd, env=SERVER_ENV, stdout=self._log_handle, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self, path: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log} : server exited\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"{self.log}: not up after {timeout}s\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log_handle.close()


def start_action_server(log_dir: Path) -> Server:
    port = free_port()
    return Server(
        [str(BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        port, log_dir / "actions.log",
    )


def start_rasa_server(model: Path, action_port: int, log_dir: Path, name: str) -> Server:
    """A Rasa server with the REST channel and the HTTP API, on a free port."""
    port = free_port()
    endpoints = log_dir / f"{name}-endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    return Server(
        [str(BIN / "rasa"), "run", "--enable-api", "--port", str(port), "--model", str(model),
         "--endpoints", str(endpoints), "--credentials", str(PROJECT_DIR / "credentials.yml")],
        port, log_dir / f"{name}.log",
    )


@pytest.fixture(scope="session")
def servers(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Server]]:
    """An action server, a Rasa server using it, and a Rasa server whose action server is down.

    All three start together, so the run waits for one start-up, not three.
    """
    log_dir = tmp_path_factory.mktemp("servers")
    actions = start_action_server(log_dir)
    rasa = start_rasa_server(model_path, actions.port, log_dir, "rasa")
    rasa_without_actions = start_rasa_server(model_path, free_port(), log_dir, "rasa-no-actions")
    started = {"actions": actions, "rasa": rasa, "rasa_without_actions": rasa_without_actions}
    try:
        actions.wait_until_up("/health")
        rasa.wait_until_up("/status")
        rasa_without_actions.wait_until_up("/status")
        yield started
    finally:
        for server in started.values():
            server.stop()


def post_json(url: str, payload: Any, timeout: float = 60) -> tuple:
    """POST JSON (or raw bytes) and return (status, decoded body)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body.decode(errors="replace")


class Chat:
    """Talks to one Rasa server through its REST channel, as one sender."""

    def __init__(self, server: Server, sender: str) -> None:
        self.server = server
        self.sender = sender

    def send(self, message: Any) -> List[Dict[str, Any]]:
        status, body = post_json(
            self.server.url + "/webhooks/rest/webhook", {"sender": self.sender, "message": message}
        )
        assert status == 200, (status, body)
        return body


def reply_text(messages: List[Dict[str, Any]]) -> str:
    """Everything a parent sees in a reply: texts, button titles and payloads."""
    parts: List[str] = []
    for message in messages:
        parts.append(message.get("text") or "")
        for button in message.get("buttons") or []:
            parts += [button.get("title", ""), button.get("payload", "")]
    return "\n".join(parts)


_sender_count = 0


@pytest.fixture
def new_sender(request: pytest.FixtureRequest) -> str:
    global _sender_count
    _sender_count += 1
    return f"test-{request.node.name[:40]}-{_sender_count}-{os.getpid()}"


@pytest.fixture
def chat(servers: Dict[str, Server], new_sender: str) -> Chat:
    return Chat(servers["rasa"], new_sender)


@pytest.fixture
def chat_without_actions(servers: Dict[str, Server], new_sender: str) -> Chat:
    return Chat(servers["rasa_without_actions"], new_sender)


def parse(server: Server, text: str) -> Optional[Dict[str, Any]]:
    status, body = post_json(server.url + "/model/parse", {"text": text})
    assert status == 200, (status, body)
    return body
