"""Faults in the parts around the assistant, with real servers:

- the action server slow, answering 500, or answering nonsense (a proxy in front of the real one
  injects each fault): hand-offs still arrive with their essential links, other answers apologise
  briefly, nobody waits long, and the conversation carries on once the action server is well;
- PostgreSQL (conversations) or Redis (locks) gone for a moment: a 503 with a kind message and the
  emergency number, and the next message after the store is back is answered with everything
  said before still remembered.

The action server stopped outright and a restart of the Rasa server are in test_rest.py and
test_storage.py.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator

import pytest

from bot import content
from bot.channels.messenger_format import unpunctuated_links
from bot.topics import load_topics
from tests.conftest import MESSENGER_ENV, PROJECT_DIR, post_json, reply_text, stored_tracker
from tests.support.messenger import event, sent_to, sign, texts, webhook
from tests.support.processes import free_port, start_rasa_server
from tests.support.services import postgres_server, redis_server

ACTION_TIMEOUT = 2  # seconds the faulty-actions server waits for an action (10 in production)
SLOW = 30  # seconds the "slow" action server takes: far past the limit
CHANNEL = content.load_system_messages(section="channel")
NOT_AVAILABLE = content.fill_placeholders(CHANNEL["not_available"]["text"],
                                          content.load_contacts(), "not_available")
SERVICE_UNAVAILABLE = content.fill_placeholders(CHANNEL["service_unavailable"]["text"],
                                                content.load_contacts(), "service_unavailable")
EMERGENCY = content.load_contacts()["emergency"]
CEOP = content.load_contacts()["ceop_report_url"]
TOPICS = load_topics()
HANDOFF = ("sextortion", "someone is threatening to share my sons nudes unless he pays them")
APP_QUESTION = "is fortnite ok for my 9 year old?"


class FaultyActionProxy:
    """Passes the Rasa server's action calls to the real action server, or, by `mode`, answers
    slowly, with a 500, with a body that is not JSON, or with JSON of the wrong shape."""

    MODES = ("pass", "slow", "error", "not_json", "wrong_shape")

    def __init__(self, target_port: int) -> None:
        self.mode = "pass"
        self.calls = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
                self._answer(200, b'{"status": "ok"}')

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.calls += 1
                mode = proxy.mode
                if mode == "slow":
                    time.sleep(SLOW)
                if mode == "error":
                    return self._answer(500, b"Internal Server Error")
                if mode == "not_json":
                    return self._answer(200, b"<html>gateway error</html>")
                if mode == "wrong_shape":
                    return self._answer(200, b'{"events": "nonsense", "responses": 7}')
                request = urllib.request.Request(
                    f"http://127.0.0.1:{target_port}{self.path}", data=body,
                    headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as reply:
                        self._answer(reply.status, reply.read())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read())

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the Rasa server gave up waiting, as it should

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def faults(model_path, servers, fake_graph, tmp_path_factory) -> Iterator[Dict[str, Any]]:
    """Two more Rasa servers, started together: one behind the faulty action proxy, and one
    keeping conversations in PostgreSQL with locks in Redis. Both have Messenger on."""
    log_dir = tmp_path_factory.mktemp("faults")
    proxy = FaultyActionProxy(servers["actions"].port)
    messenger = {**MESSENGER_ENV, "FACEBOOK_GRAPH_HOST": fake_graph.host}
    with postgres_server() as postgres, redis_server() as redis:
        stored = {"tracker_store": postgres.tracker_store(), "lock_store": redis.lock_store()}
        started = {
            "faulty": start_rasa_server(model_path, proxy.port, log_dir, "faulty-actions",
                                        env={**messenger, "ACTION_SERVER_TIMEOUT": str(ACTION_TIMEOUT)}),
            "stored": start_rasa_server(model_path, servers["actions"].port, log_dir, "stored",
                                        env=messenger, endpoints_extra=stored),
        }
        try:
            for server in started.values():
                server.wait_until_up()
            yield {**started, "proxy": proxy, "postgres": postgres, "redis": redis}
        finally:
            proxy.mode = "pass"
            for server in started.values():
                server.stop()
            proxy.server.shutdown()


def rest(server, sender: str, text: str) -> tuple:
    """(status, replies, seconds) for one message through the REST channel."""
    started = time.monotonic()
    status, body = post_json(server.url + "/webhooks/rest/webhook",
                             {"sender": sender, "message": text})
    return status, body, time.monotonic() - started


def messenger(server, sender: str, text: str) -> int:
    """POST one signed Messenger message; the webhook's status."""
    body = event(sender, {"message": {"mid": f"m-{sender}", "text": text}})
    request = urllib.request.Request(webhook(server), data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body)})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply.status


def user_texts(server, sender: str) -> list:
    return [e["text"] for e in stored_tracker(server, sender)["events"] if e["event"] == "user"]


@pytest.fixture
def proxy_mode(faults):
    """Set the proxy's fault for one test; it passes calls through again afterwards."""
    def set_mode(mode: str) -> None:
        faults["proxy"].mode = mode
    yield set_mode
    faults["proxy"].mode = "pass"


@pytest.mark.parametrize("mode", ["slow", "error", "not_json", "wrong_shape"])
def test_an_app_question_gets_a_brief_apology_when_the_action_server_fails(faults, proxy_mode,
                                                                          mode, new_sender):
    proxy_mode(mode)
    calls = faults["proxy"].calls
    status, replies, seconds = rest(faults["faulty"], new_sender, APP_QUESTION)
    assert status == 200
    assert reply_text(replies) == NOT_AVAILABLE
    assert EMERGENCY in NOT_AVAILABLE
    assert faults["proxy"].calls > calls  # the fault was really met
    assert seconds < 3 * ACTION_TIMEOUT + 5, seconds  # not Rasa's default of 5 minutes


@pytest.mark.parametrize("mode", ["slow", "error", "not_json", "wrong_shape"])
def test_a_handoff_still_brings_its_essential_links_when_the_action_server_fails(
        faults, proxy_mode, mode, new_sender):
    proxy_mode(mode)
    topic, message = HANDOFF
    status, replies, seconds = rest(faults["faulty"], new_sender, message)
    assert status == 200
    text = reply_text(replies)
    for marker in TOPICS[topic].must_show:
        assert marker in text, (mode, marker, text)
    assert seconds < 3 * ACTION_TIMEOUT + 5, seconds


def test_the_conversation_carries_on_once_the_action_server_is_well(faults, proxy_mode,
                                                                   new_sender):
    server = faults["faulty"]
    proxy_mode("error")
    assert rest(server, new_sender, "is tiktok ok for my daughter, she's 12")[1][0]["text"] == NOT_AVAILABLE
    proxy_mode("pass")
    status, replies, _ = rest(server, new_sender, "what about snapchat?")
    assert status == 200
    assert replies[0]["text"].startswith("Snapchat: ") and "Your child is 12" in replies[0]["text"]
    assert user_texts(server, new_sender) == ["is tiktok ok for my daughter, she's 12",
                                              "what about snapchat?"]


def test_messenger_gets_the_apology_when_the_action_server_fails(faults, proxy_mode, fake_graph,
                                                                new_sender):
    proxy_mode("error")
    assert messenger(faults["faulty"], new_sender, APP_QUESTION) == 200
    sent = texts(sent_to(fake_graph, new_sender, at_least=2))  # the privacy notice, the apology
    assert sent[-1] == NOT_AVAILABLE


def test_messenger_gets_the_apology_when_the_conversation_store_is_down(faults, fake_graph,
                                                                       new_sender):
    faults["postgres"].stop()
    try:
        # Meta must always get its 200, or it retries and in the end turns the webhook off.
        assert messenger(faults["stored"], new_sender, APP_QUESTION) == 200
    finally:
        faults["postgres"].start()
    sent = texts(sent_to(fake_graph, new_sender, at_least=2))
    assert sent[-1] == unpunctuated_links(SERVICE_UNAVAILABLE)  # as Messenger gets links
    assert not any(t.startswith("Fortnite") for t in sent)  # nothing read from an empty conversation


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_a_store_gone_for_a_moment_gets_a_clear_503_and_recovers_by_itself(faults, store,
                                                                          new_sender):
    server = faults["stored"]
    status, replies, _ = rest(server, new_sender, "is tiktok ok for my daughter, she's 12")
    assert status == 200 and replies[0]["text"].startswith("TikTok: ")

    faults[store].stop()
    try:
        status, replies, seconds = rest(server, new_sender, "what about roblox?")
        assert status == 503, (status, replies)
        assert reply_text(replies) == SERVICE_UNAVAILABLE
        assert EMERGENCY in SERVICE_UNAVAILABLE and CEOP in SERVICE_UNAVAILABLE
        assert seconds < 15, seconds
        status, web_replies = post_json(server.url + "/webchat/message",
                                        {"sender": new_sender, "message": "what about roblox?"})
        assert status == 503 and web_replies == [{"text": SERVICE_UNAVAILABLE}]
    finally:
        faults[store].start()

    # Back: the very next message is answered, with the age given before the outage remembered.
    status, replies, _ = rest(server, new_sender, "what about snapchat?")
    assert status == 200, (status, replies)
    assert replies[0]["text"].startswith("Snapchat: ") and "Your child is 12" in replies[0]["text"]
    assert user_texts(server, new_sender) == ["is tiktok ok for my daughter, she's 12",
                                              "what about snapchat?"]


def test_many_parents_during_an_outage_all_get_a_503_and_the_server_keeps_going(faults):
    server = faults["stored"]
    faults["postgres"].stop()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda i: rest(server, f"outage-{i}", "hello"), range(20)))
    finally:
        faults["postgres"].start()
    assert {status for status, _, _ in results} == {503}
    status, replies, _ = rest(server, "after-outage", "hello")
    assert status == 200 and replies


def test_a_database_restart_between_two_messages_is_not_noticed(faults, new_sender):
    server = faults["stored"]
    status, replies, _ = rest(server, new_sender, "is tiktok ok for my daughter, she's 12")
    assert status == 200
    faults["postgres"].stop()  # the server's pooled connections die, unused
    faults["postgres"].start()
    status, replies, _ = rest(server, new_sender, "what about snapchat?")
    assert status == 200, (status, replies)
    assert "Your child is 12" in replies[0]["text"]


def test_make_starts_the_action_server_where_endpoints_yml_calls_it(tmp_path):
    """`make run` used to take the action server's port from ACTIONS_PORT, which endpoints.yml
    (what the Rasa server calls) never heard of: set, every app question failed. The port is now
    read from endpoints.yml, so changing it there moves both."""
    for name in ("Makefile", "endpoints.yml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)

    def port(env: Dict[str, str]) -> str:
        return subprocess.run(["make", "-s", "--eval", "port: ; @echo $(ACTIONS_PORT)", "port"],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    endpoints = tmp_path / "endpoints.yml"
    assert port(dict(os.environ)) == "5055" and "localhost:5055/webhook" in endpoints.read_text()
    endpoints.write_text(endpoints.read_text().replace("localhost:5055/", "localhost:5123/"))
    assert port(dict(os.environ)) == "5123"
    assert port({**os.environ, "ACTIONS_PORT": "6000"}) == "5123"  # endpoints.yml decides
