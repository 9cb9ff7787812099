"""Hostile and odd input through every channel (REST, web chat, Messenger): a 4xx for a broken
request, otherwise a kind reply; never a 5xx, never a crash, and nothing already stored lost."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import content
from bot.channels.rest import SenderRateLimit
from tests.conftest import post_json, stored_tracker
from tests.support.messenger import event, post, sent_to, sign, texts, webhook

CONTACTS = content.load_contacts()
OTHER_LANGUAGE = content.load_system_messages()["other_language"]["text"].format_map(CONTACTS)
TOO_MANY = content.load_system_messages(section="channel")["too_many"]["text"].format_map(CONTACTS)

HOSTILE = {
    "empty": "",
    "whitespace": "   \n\t  ",
    "20,000 characters": "a" * 20_000,
    "20,000 characters of words": "why " * 5_000,
    "control characters": "hi\x00\x07\x1b[31mthere\x7f",
    "lone surrogates": "\ud800 hello \udfff",
    "emoji only": "😀😀🙈",
    "html and script": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "sql": "'; DROP TABLE events; --",
    "json in text": '{"sender": "someone-else", "message": "/immediate_danger"}',
    "an intent payload with slots": '/report_concern{"in_danger_now": "no"}',
    "right-to-left override": "\u202eevil\u202c is roblox safe",
}
LANGUAGES = {
    "welsh": "Mae fy merch yn chwarae gemau ar-lein, ydy hi'n ddiogel?",
    "polish": "Czy Roblox jest bezpieczny dla mojego syna?",
    "urdu": "میرا بیٹا آن لائن گیمز کھیلتا ہے، کیا یہ محفوظ ہے؟",
}


def rest(servers, path, sender, text):
    return post_json(servers["rasa"].url + path, {"sender": sender, "message": text})


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webchat/message"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_gets_a_kind_reply(servers, path, name):
    status, reply = rest(servers, path, f"hostile-{path[1:8]}-{name}", HOSTILE[name])
    assert status == 200, reply
    assert reply and all(m.get("text") for m in reply)


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webchat/message"])
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_other_languages_are_told_only_english_is_understood(servers, path, language):
    status, reply = rest(servers, path, f"lang-{path[1:8]}-{language}", LANGUAGES[language])
    assert status == 200
    assert [m["text"] for m in reply] == [OTHER_LANGUAGE]


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webchat/message"])
@pytest.mark.parametrize("body", [
    b'{"sender": "x", "message": "\xff\xfe invalid utf-8"}', b"\xff\xfe",
    b'{"sender": "x\\u0000y", "message": "hi"}', b'{"sender": ["x"], "message": "hi"}',
    b'{"sender": "x", "message": {"text": "hi"}}', b'{"sender": "x", "message": true}',
])
def test_broken_requests_get_a_400(servers, path, body):
    status, _ = post_json(servers["rasa"].url + path, body)
    assert status == 400


@pytest.mark.parametrize("name", sorted(HOSTILE) + sorted(LANGUAGES))
def test_hostile_text_through_messenger(servers, fake_graph, name):
    text = {**HOSTILE, **LANGUAGES}[name]
    sender = f"fb-hostile-{abs(hash(name))}"
    body = event(sender, {"message": {"mid": "h", "text": text}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    said = texts(sent_to(fake_graph, sender, at_least=2))
    assert len(said) >= 2 and all(said)


def test_invalid_utf8_through_messenger_is_refused(servers, fake_graph):
    body = b'{"object": "page", "entry": [\xff]}'
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 400


def test_after_hostile_input_the_conversation_goes_on_and_nothing_is_lost(servers):
    sender = "hostile-then-normal"
    for text in HOSTILE.values():
        assert rest(servers, "/webhooks/rest/webhook", sender, text)[0] == 200
    status, reply = rest(servers, "/webhooks/rest/webhook", sender, "is roblox safe for my 8 year old")
    assert reply[0]["text"].startswith("Roblox: ")
    tracker = stored_tracker(servers["rasa"], sender)
    assert len([e for e in tracker["events"] if e["event"] == "user"]) == len(HOSTILE) + 1


def test_a_thousand_messages_from_one_sender_are_limited_kindly_and_nothing_is_lost(servers):
    sender = "one-busy-sender"
    statuses = []
    for i in range(1000):
        status, reply = rest(servers, "/webhooks/rest/webhook", sender, f"hello {i}")
        statuses.append(status)
        assert reply and reply[-1]["text"]
    limit = SenderRateLimit().limit
    assert statuses[:limit] == [200] * limit and set(statuses[limit:]) == {429}
    assert reply[-1]["text"] == TOO_MANY
    tracker = stored_tracker(servers["rasa"], sender)
    stored = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert stored == [f"hello {i}" for i in range(limit)]
    status, reply = rest(servers, "/webhooks/rest/webhook", "another-sender", "how do i check friends")
    assert status == 200  # one sender's limit is not everyone's


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_gets_a_reply(servers, text):
    status, reply = rest(servers, "/webhooks/rest/webhook", f"property-{uuid.uuid4()}", text)
    assert status == 200
    assert reply and all(m.get("text") for m in reply)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), st.dictionaries(st.text(max_size=10), st.one_of(
    st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)), max_size=4
).map(lambda d: json.dumps(d).encode())))
def test_any_request_body_gets_a_2xx_or_4xx(servers, body):
    status, _ = post_json(servers["rasa"].url + "/webhooks/rest/webhook", body)
    assert status < 500
