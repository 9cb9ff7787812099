"""Conversations kept safely: redacted before they are stored, kept across a restart, purged."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import redact
from bot.processes import start_rasa_server
from bot.storage import RedactingSQLTrackerStore, redacted_event
from tests.conftest import post_json

CASES = yaml.safe_load((Path(__file__).parent / "privacy" / "labelled.yml").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:30] for c in CASES])
def test_redaction_on_the_labelled_set(case):
    assert redact(case["text"]) == case["kept"]


def test_a_user_event_keeps_no_personal_details_or_metadata():
    event = UserUttered("email me at jo@example.com", {"name": "parent_support", "confidence": 0.9},
                        parse_data={"text": "email me at jo@example.com",
                                    "entities": [{"entity": "x", "value": "jo@example.com"}]},
                        metadata={"ip": "203.0.113.9"}).as_dict()
    stored = redacted_event(event)
    assert "jo@example.com" not in str(stored) and "203.0.113.9" not in str(stored)
    assert stored["text"] == "email me at [email]"


def store_at(db: Path) -> RedactingSQLTrackerStore:
    return RedactingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))


def test_purge_deletes_only_conversations_older_than_the_limit(tmp_path):
    store = store_at(tmp_path / "c.db")
    now = time.time()
    for sender, age_days in (("old", 40), ("recent", 3)):
        tracker = DialogueStateTracker(sender, slots=[])
        tracker.update(UserUttered("hello", {"name": "greet", "confidence": 1.0},
                                   timestamp=now - age_days * 86400))
        asyncio.run(store.save(tracker))
    assert store.purge(30, now=dt.datetime.fromtimestamp(now)) == 1
    assert sorted(asyncio.run(store.keys())) == ["recent"]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_a_stored_conversation_survives_a_restart_and_holds_no_personal_details(
        model_path, servers, tmp_path):
    db = tmp_path / "conversations.db"
    store = {"tracker_store": {"type": "bot.storage.RedactingSQLTrackerStore",
                               "dialect": "sqlite", "db": str(db)}}

    def start():
        server = start_rasa_server(model_path, servers["actions"].port, tmp_path, "stored",
                                   endpoints_extra=store)
        server.wait_until_up("/status")
        return server

    def say(server, text):
        status, reply = post_json(server.url + "/webhooks/rest/webhook",
                                  {"sender": "parent-db", "message": text})
        assert status == 200
        return reply

    server = start()
    try:
        reply = say(server, "is tiktok ok for my daughter, she is 12. email me at jo@example.com "
                            "or ring 07700 900123, we're in CA1 1AA")
        assert reply[0]["text"].startswith("TikTok: ")  # answered from the full text
    finally:
        server.stop()
    stored = "\n".join(row[0] for row in sqlite3.connect(db).execute("select data from events"))
    for detail in ("jo@example.com", "07700 900123", "CA1 1AA"):
        assert detail not in stored
    assert "[email]" in stored and "[phone]" in stored and "[postcode]" in stored

    server = start()  # a restart: the conversation, and what it remembered, are still there
    try:
        tracker = get_json(server.url + "/conversations/parent-db/tracker")
        texts = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
        assert texts[0].startswith("is tiktok ok for my daughter")
        assert tracker["slots"]["app"] == "tiktok"
        follow_up = say(server, "what about snapchat?")
        assert follow_up[0]["text"].startswith("Snapchat: ")
        assert "Your child is 12" in follow_up[0]["text"]
    finally:
        server.stop()
