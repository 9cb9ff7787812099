"""Shared fixtures: one trained model per run, and real Rasa and action servers started once."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.processes import (  # noqa: F401  (BIN and SERVER_ENV are used by the test modules)
    BIN,
    SERVER_ENV,
    Server,
    free_port,
    latest_model,
    start_action_server,
    start_rasa_server,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_path() -> Path:
    return latest_model()


class FakeGraphAPI:
    """A local stand-in for Meta's Graph API: records every Send API call."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.sent: List[Dict[str, Any]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server interface)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.sent.append({"path": self.path, "body": json.loads(body or b"{}")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"message_id": "m1"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v19.0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, recipient: str) -> List[Dict[str, Any]]:
        """The messages sent to one recipient, in order."""
        return [c["body"]["message"] for c in self.sent
                if c["body"].get("recipient", {}).get("id") == recipient]


MESSENGER_ENV = {"FACEBOOK_VERIFY_TOKEN": "test-verify-token",
                 "FACEBOOK_APP_SECRET": "test-app-secret",
                 "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-token"}


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraphAPI]:
    fake = FakeGraphAPI()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session")
def servers(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
            fake_graph: FakeGraphAPI) -> Iterator[Dict[str, Server]]:
    """An action server; a Rasa server using it, with Messenger on (talking to a fake Graph API);
    and a Rasa server whose action server is down, with Messenger off.

    All three start together, so the run waits for one start-up, not three.
    """
    log_dir = tmp_path_factory.mktemp("servers")
    actions = start_action_server(log_dir)
    rasa = start_rasa_server(model_path, actions.port, log_dir, "rasa",
                             env={**MESSENGER_ENV, "FACEBOOK_GRAPH_URL": fake_graph.url})
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
