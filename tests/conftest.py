"""Shared fixtures: one trained model per run, and real Rasa and action servers started once."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.quiet import quiet_warnings
from tests.support.processes import (  # noqa: F401  (BIN and SERVER_ENV are used by the test modules)
    BIN,
    SERVER_ENV,
    Server,
    api_headers,
    free_port,
    latest_model,
    start_action_server,
    start_rasa_server,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The pinned packages' deprecation warnings, once each, would fill the end of every run.
quiet_warnings()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's data and Rasa files, to break or extend without touching the real
    one (with nothing beside it, as a force's clone would be)."""
    import shutil

    copy = tmp_path / "main"
    copy.mkdir()
    for name in ("data", "tests/stories", "tests/nlu", "docs/reference"):
        shutil.copytree(PROJECT_DIR / name, copy / name)
    for name in ("domain.yml", "config.yml", "credentials.yml", "endpoints.yml"):
        shutil.copy(PROJECT_DIR / name, copy / name)
    (copy / ".build").symlink_to(PROJECT_DIR / ".build")
    return copy


@pytest.fixture(scope="session")
def model_path() -> Path:
    return latest_model()


class FakeGraphAPI:
    """A local stand-in for Meta's Graph API: records every call (Send API, typing, handover,
    Messenger profile); `delay` makes each call slow, as Meta's sometimes are."""

    def __init__(self) -> None:
        import http.server
        import threading
        import time

        self.sent: List[Dict[str, Any]] = []
        self.delay = 0.0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server interface)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(fake.delay)
                fake.sent.append({"path": self.path, "body": json.loads(body or b"{}")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"message_id": "m1", "result": "success"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, recipient: str) -> List[Dict[str, Any]]:
        """The messages sent to one recipient, in order."""
        return [c["body"]["message"] for c in self.sent
                if c["body"].get("recipient", {}).get("id") == recipient and "message" in c["body"]]

    def calls(self, path_part: str, recipient: Optional[str] = None) -> List[Dict[str, Any]]:
        """The calls whose path contains `path_part` (for one recipient, if given)."""
        return [c for c in self.sent if path_part in c["path"] and (
            recipient is None or c["body"].get("recipient", {}).get("id") == recipient)]


ADDRESS_LIMIT = 40  # messages per 10 minutes from one client address, on the main test server
MESSENGER_ENV = {"FACEBOOK_VERIFY_TOKEN": "test-verify-token",
                 "FACEBOOK_APP_SECRET": "test-app-secret",
                 "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-token"}


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraphAPI]:
    fake = FakeGraphAPI()
    yield fake
    fake.server.shutdown()


def recommended_csp(assistant: str) -> str:
    """The Content-Security-Policy docs/webchat.md tells the force to send with pages that carry
    the widget, for an assistant at `assistant`."""
    doc = (PROJECT_DIR / "docs" / "webchat.md").read_text()
    block = re.search(r"## The Content-Security-Policy.*?```\n(.*?)```", doc, re.S).group(1)
    policy = " ".join(block.split()).removeprefix("Content-Security-Policy: ")
    return policy.replace("https://ASSISTANT-ADDRESS", assistant)


class HostSite:
    """A web site on another origin than the assistant (another port on localhost is another
    origin), like the force's own site: pages carrying the widget's one script tag, sent with the
    Content-Security-Policy docs/webchat.md tells the force to set."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.assistant = ""  # the assistant's address, known once its server has started
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
                page = site.page(self.path)
                if page is None:
                    self.send_error(404)
                    return
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Security-Policy", site.csp())
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def csp(self) -> str:
        return recommended_csp(self.assistant)

    def page(self, path: str) -> Optional[str]:
        tag = f'<script src="{self.assistant}/webchat/widget.js" defer></script>'
        if path == "/with-button":  # the force's own button, and its own title for the chat
            tag = (f'<script src="{self.assistant}/webchat/widget.js" defer '
                   f'data-open-button="#ask-us" data-title="Ask Cumbria Police"></script>')
            extra = '<p><button id="ask-us" type="button">Ask our online safety assistant</button></p>'
        elif path == "/":
            extra = ""
        else:
            return None
        return ('<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>Keeping children safe online | Example Constabulary</title></head><body>"
                "<main><h1>Keeping children safe online</h1><p>Know the apps your child uses and "
                f"talk about who they talk to.</p>{extra}</main>{tag}</body></html>")


@pytest.fixture(scope="session")
def host_sites() -> Iterator[Dict[str, HostSite]]:
    """Two sites on other origins: one the assistant allows (WEBCHAT_ALLOWED_ORIGINS), one not."""
    sites = {"allowed": HostSite(), "unlisted": HostSite()}
    yield sites
    for site in sites.values():
        site.server.shutdown()


@pytest.fixture(scope="session")
def servers(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
            fake_graph: FakeGraphAPI, host_sites: Dict[str, HostSite]) -> Iterator[Dict[str, Server]]:
    """An action server; a Rasa server using it, with Messenger on (talking to a fake Graph API);
    and a Rasa server whose action server is down, with Messenger off.

    All three start together, so the run waits for one start-up, not three.
    """
    log_dir = tmp_path_factory.mktemp("servers")
    actions = start_action_server(log_dir)
    rasa = start_rasa_server(model_path, actions.port, log_dir, "rasa",
                             env={**MESSENGER_ENV, "FACEBOOK_GRAPH_HOST": fake_graph.host,
                                  "MESSENGER_OFFICE_HOURS": "always",
                                  "WEBCHAT_ALLOWED_ORIGINS": host_sites["allowed"].origin,
                                  # as behind the force's proxy: the client's address from
                                  # X-Forwarded-For (requests without it come from this machine)
                                  "SANIC_PROXIES_COUNT": "1",
                                  "RATE_LIMIT_PER_ADDRESS": str(ADDRESS_LIMIT)})
    rasa_without_actions = start_rasa_server(model_path, free_port(), log_dir, "rasa-no-actions")
    started = {"actions": actions, "rasa": rasa, "rasa_without_actions": rasa_without_actions}
    try:
        actions.wait_until_up("/health")
        rasa.wait_until_up()
        rasa_without_actions.wait_until_up()
        for site in host_sites.values():
            site.assistant = rasa.url
        yield started
    finally:
        for server in started.values():
            server.stop()


def post_json(url: str, payload: Any, timeout: float = 60, headers: Optional[dict] = None) -> tuple:
    """POST JSON (or raw bytes) and return (status, decoded body)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json", **(headers or {})})
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
    status, body = post_json(server.url + "/model/parse", {"text": text}, headers=api_headers())
    assert status == 200, (status, body)
    return body


def stored_tracker(server: Server, sender: str, channel: str = "rest") -> Dict[str, Any]:
    """A conversation as the server keeps it, through the HTTP API (conversation ids are the
    channel's name and the sender's id: bot/channels/rest.py)."""
    request = urllib.request.Request(f"{server.url}/conversations/{channel}:{sender}/tracker",
                                     headers=api_headers())
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())
