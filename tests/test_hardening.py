"""What a security and privacy review found, as tests against the real servers: one request must
not hold the server up, nothing a parent typed reaches a log, a made-up sender id gets no fresh
allowance, conversations stay in their channel, and the HTTP API is closed without a token."""

from __future__ import annotations

import http.client
import json
import logging
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot import content, logs
from bot.channels.server import REQUEST_MAX_SIZE
from tests.conftest import ADDRESS_LIMIT, post_json, reply_text
from tests.support.processes import SERVER_ENV, api_headers

CHANNEL = content.load_system_messages(section="channel")
TOO_MANY = content.fill_placeholders(CHANNEL["too_many"]["text"], content.load_contacts(), "too_many")
# Personal details a parent types; none may appear in any log line.
DETAILS = ("Jane Doe", "07700 900123", "jane.doe@example.com", "Jack Smith")
ROBLOX = "is roblox safe for my 8 year old"


def rest(server, sender: str, message, headers=None, **extra) -> tuple:
    started = time.monotonic()
    status, body = post_json(server.url + "/webhooks/rest/webhook",
                             {"sender": sender, "message": message, **extra}, headers=headers)
    return status, body, time.monotonic() - started


# ---- Bounded work per request ----

def test_a_60kb_request_with_metadata_is_answered_fast_and_delays_nobody(servers):
    rasa = servers["rasa"]
    big = {"message": "is fortnite ok? " + "A" * 30_000,
           "metadata": {"notes": "B" * 28_000, "ip": "203.0.113.9"}}
    assert len(json.dumps(big)) > 58_000
    alone = statistics.median(rest(rasa, f"alone-{i}", ROBLOX)[2] for i in range(3))

    results = {}

    def big_request() -> None:
        results["big"] = rest(rasa, "big-sender", big["message"], metadata=big["metadata"])

    thread = threading.Thread(target=big_request)
    thread.start()
    time.sleep(0.02)  # the parent's message arrives while the big one is being handled
    status, reply, parent_seconds = rest(rasa, "parent-beside-big", ROBLOX)
    thread.join(timeout=30)
    big_status, _, big_seconds = results["big"]
    assert status == 200 and reply_text(reply).startswith("Roblox: ")
    assert big_status == 200 and big_seconds < 1.0
    assert parent_seconds - alone < 0.2, (parent_seconds, alone)


def send_declared_body(server, path: str, size: int) -> int:
    """POST with a body of `size` bytes declared: the status, read as soon as the server answers."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    try:
        for _ in range(size // 65536):
            connection.send(b" " * 65536)
    except OSError:
        pass  # the server closed the connection after answering: as it should
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webchat/message",
                                  "/webhooks/facebook/webhook", "/model/parse"])
def test_a_15mb_body_gets_413_on_every_route(servers, path):
    assert send_declared_body(servers["rasa"], path, 15 * 1024 * 1024) == 413


def test_a_body_just_under_the_limit_is_read(servers):
    message = "is fortnite ok? " + "x" * (REQUEST_MAX_SIZE - 200)
    status, reply, _ = rest(servers["rasa"], "just-under", message)
    assert status == 200 and reply


# ---- Actions never crash on what a parent can send; logs carry no message text ----

@pytest.mark.parametrize("payload", [
    '/app_safety{"child_age":"abc"}', '/app_safety{"child_age":"1e999"}',
    '/app_safety{"child_age":-3}', '/app_safety{"child_age":["x"]}',
    '/app_safety{"app":{"a":1},"child_age":"12"}', '/app_safety{"app":["roblox"]}',
    '/parental_controls{"app":7}',
])
def test_slots_set_to_nonsense_get_a_kind_answer(servers, new_sender, payload):
    rasa = servers["rasa"]
    status, first, _ = rest(rasa, new_sender, "my name is Jane Doe, ring 07700 900123 or "
                                              "jane.doe@example.com, my son Jack Smith")
    assert status == 200
    status, reply, _ = rest(rasa, new_sender, payload)
    assert status == 200 and reply_text(reply).strip()
    if payload.startswith("/app_safety"):
        assert "went wrong" not in reply_text(reply)  # answered, not merely excused
    else:  # the general answer; Rasa's rules then add their fallback for an app no message named
        assert reply_text(reply).startswith("Set controls up")
    actions_log = Path(servers["actions"].log).read_text(errors="replace")
    assert "failed with" not in actions_log  # no action fell back on SafeAction's apology
    status, reply, _ = rest(rasa, new_sender, ROBLOX)  # and the conversation goes on
    assert reply_text(reply).startswith("Roblox: ")


def test_no_personal_detail_reaches_any_log(servers, new_sender):
    # After the nonsense above (same run), and a failing action server seen from Rasa's side.
    rasa = servers["rasa"]
    rest(rasa, new_sender, "I am Jane Doe, my son Jack Smith, 07700 900123, jane.doe@example.com")
    rest(rasa, new_sender, '/app_safety{"child_age":"abc"}')
    rest(servers["rasa_without_actions"], new_sender,
         "I am Jane Doe, my son Jack Smith, 07700 900123, jane.doe@example.com, is tiktok ok")
    time.sleep(0.5)
    for server in servers.values():
        log = Path(server.log).read_text(errors="replace")
        for detail in DETAILS:
            assert detail not in log, (server.log, detail)


def test_the_log_filter_cuts_bodies_from_messages_and_tracebacks():
    from rasa.utils.endpoints import ClientResponseError

    record = logging.LogRecord("rasa", logging.ERROR, __file__, 1, "Failed: %s", (
        ClientResponseError(500, "Internal Server Error",
                            '{"request_body": {"tracker": {"text": "Jane Doe 07700 900123"}}}'),),
        None)
    try:
        raise RuntimeError("action failed") from ClientResponseError(
            500, "error", '{"error": "x", "request_body": {"text": "Jane Doe"}}')
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    logs.NoMessageText().filter(record)
    written = logging.Formatter().format(record)
    assert "Jane Doe" not in written and "07700" not in written
    assert "not logged" in written and "RuntimeError" in written


# ---- Rate limits that a made-up sender id does not escape ----

def test_a_new_sender_id_does_not_escape_the_per_address_limit(servers):
    rasa = servers["rasa"]
    client = {"X-Forwarded-For": "198.51.100.7"}  # as the force's proxy would say
    statuses = [rest(rasa, f"fresh-id-{i}", "hello", headers=client)[0] for i in range(ADDRESS_LIMIT)]
    assert statuses == [200] * ADDRESS_LIMIT
    status, reply, _ = rest(rasa, "yet-another-fresh-id", "hello", headers=client)
    assert status == 429 and reply[-1]["text"] == TOO_MANY
    # Another parent, at another address, is not held up.
    status, reply, _ = rest(rasa, "someone-else", ROBLOX, headers={"X-Forwarded-For": "198.51.100.8"})
    assert status == 200 and reply_text(reply).startswith("Roblox: ")


# ---- Conversations scoped by channel ----

def test_a_web_chat_conversation_cannot_be_continued_over_rest(servers, new_sender):
    rasa = servers["rasa"]
    status, reply = post_json(rasa.url + "/webchat/message",
                              {"sender": new_sender, "message": "is tiktok ok for my 12 year old"})
    assert status == 200 and "Your child is 12" in reply_text(reply)
    status, reply, _ = rest(rasa, new_sender, "what about snapchat?")
    assert status == 200 and "Your child is 12" not in reply_text(reply)
    assert reply[0]["recipient_id"] == new_sender  # the client's id, not the stored one


# ---- The HTTP API: a token in a header, never in the URL ----

def api_status(server, path: str, headers=None) -> int:
    request = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_http_api_needs_a_token_in_a_header(servers):
    rasa = servers["rasa"]
    assert api_status(rasa, "/status") == 401
    assert api_status(rasa, "/conversations/rest:x/tracker") == 401
    assert api_status(rasa, f"/status?token={SERVER_ENV['RASA_JWT_SECRET']}") == 401
    assert api_status(rasa, "/status", {"Authorization": "Bearer not-a-token"}) == 401
    assert api_status(rasa, "/status", api_headers()) == 200


def test_secrets_are_refused_on_the_command_line():
    from bot.serve import rasa_arguments

    with pytest.raises(SystemExit):
        rasa_arguments(["--auth-token", "x"])
    with pytest.raises(SystemExit):
        rasa_arguments(["--jwt-secret=x"])
    assert rasa_arguments(["--port", "5005"])[-2:] == ["--interface", "127.0.0.1"]


def listening_addresses(port: int) -> set:
    """The local addresses a TCP port listens on (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:
                found.add(address)
    return found


def test_the_servers_listen_on_this_machine_only(servers):
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    for name in ("rasa", "actions"):
        addresses = listening_addresses(servers[name].port)
        assert addresses and addresses <= loopback, (name, addresses)
