"""`python -m bot report`: the page for comms staff, from a seeded conversation store (no servers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.staff.report import (
    UNKNOWN_TOPIC,
    build_report,
    normalised,
    render_html,
    trend_in_words,
    write_report,
)
from bot.storage import RedactingSQLTrackerStore

MONDAY = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.timezone.utc)  # weeks of 3, 10 and 17 March
PHONE, EMAIL = "07700 900123", "jo@example.com"
FALLBACK = "nlu_fallback"


def turn(text: str, intent: str, closest: Optional[str] = None, helpful: object = None) -> dict:
    return {"text": text, "intent": intent, "closest": closest, "helpful": helpful}


# sender: (channel, week, turns). Counts this gives: see test_the_page_shows_the_seeded_numbers.
SEED: Dict[str, tuple] = {
    "c01": ("rest", 0, [turn("is roblox safe for my 9 year old", "app_safety"),
                        turn('/feedback{"helpful": true}', "feedback", helpful=True)]),
    "c02": ("rest", 0, [turn("hello", "greet"), turn("flibber jabber wotsit", FALLBACK, "screen_time")]),
    "c03": ("rest", 1, [turn("someone online keeps asking my daughter to meet up", "grooming_concern")]),
    "c04": ("rest", 2, [turn("how much screen time is ok", "screen_time"), turn("thanks", "thank"),
                        turn('/feedback{"helpful": false}', "feedback", helpful=False)]),
    "c05": ("rest", 2, [turn("/greet", "greet")]),
    "c06": ("webchat", 0, [turn("how do i set up parental controls", "parental_controls")]),
    "c07": ("webchat", 1, [turn(f"my number is {PHONE} and email {EMAIL} please ring me", FALLBACK,
                                "human_help")]),
    "c08": ("webchat", 2, [turn("Flibber, jabber WOTSIT!", FALLBACK, "screen_time"),
                           turn("/check_friends", "check_friends")]),
    "c09": ("webchat", 2, [turn("they threatened to share his photos unless he pays", "sextortion")]),
    "c10": ("facebook", 0, [turn("hi", "greet"), turn("what is discord", "app_safety"),
                            turn('/feedback{"helpful": "true"}', "feedback", helpful="true")]),
    "c11": ("facebook", 1, [turn("is fortnite ok", "app_safety")]),
    "c12": ("facebook", 2, [turn("bye", "goodbye")]),
}


def user_event(t: dict, timestamp: float, channel: str) -> UserUttered:
    ranking = [{"name": t["intent"], "confidence": 0.9}]
    if t["closest"]:
        ranking.append({"name": t["closest"], "confidence": 0.3})
    entities = [{"entity": "helpful", "value": t["helpful"]}] if t["helpful"] is not None else []
    return UserUttered(t["text"], {"name": t["intent"], "confidence": 0.9}, entities,
                       parse_data={"intent_ranking": ranking}, timestamp=timestamp, input_channel=channel)


def seed(db: Path) -> None:
    store = RedactingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    for number, (sender, (channel, week, turns)) in enumerate(SEED.items()):
        start = (MONDAY + dt.timedelta(weeks=week, hours=number)).timestamp()
        tracker = DialogueStateTracker(sender, slots=[])
        tracker.update(ActionExecuted("action_session_start", timestamp=start))
        tracker.update(SessionStarted(timestamp=start))
        tracker.update(ActionExecuted("action_listen", timestamp=start))
        for index, t in enumerate(turns):
            at = start + 60 * (index + 1)
            tracker.update(user_event(t, at, channel))
            tracker.update(ActionExecuted(f"utter_{t['intent']}", timestamp=at + 1))
            tracker.update(ActionExecuted("action_listen", timestamp=at + 2))
        asyncio.run(store.save(tracker))


def table(page: str, table_id: str) -> Dict[str, List[str]]:
    """A table of the page by its id: the row heading -> the row's other cells, as text."""
    found = re.search(rf'<table id="{table_id}">.*?</table>', page, re.S)
    assert found, table_id
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S):
        cells = [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVERSATION_ID_KEY", "report-test-key")
        seed(folder / "conversations.db")
    path = folder / "endpoints.yml"
    path.write_text(f"tracker_store:\n  type: bot.storage.RedactingSQLTrackerStore\n  dialect: sqlite\n"
                    f"  db: {folder / 'conversations.db'}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page(endpoints: Path) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVERSATION_ID_KEY", "report-test-key")
        written = write_report(endpoints, endpoints.parent / "out")
    assert written == endpoints.parent / "out" / "index.html" and written.exists()
    return written.read_text(encoding="utf-8")


def test_the_page_is_self_contained_with_charts(page):
    assert page.count("<svg") >= 4
    assert "<script" not in page and "<link" not in page and "<img" not in page and "@import" not in page
    assert not re.search(r"(src=|href=|url\()[\"']?(https?:|//)", page)  # nothing fetched from elsewhere
    assert "Period covered: 3 March 2025 to 17 March 2025" in page


def test_the_page_shows_the_seeded_numbers(page):
    summary = table(page, "summary")
    assert summary["Conversations"] == ["12"]
    assert summary["Messages parents typed"] == ["14"]  # button presses not counted
    assert summary["Not understood"] == ["16% (3 of 19 messages)"]
    assert summary["Hand-offs (to 999, CEOP and other help)"] == ["2"]
    assert summary["Answers rated helpful"] == ["2"] and summary["Answers rated not helpful"] == ["1"]

    conversations = table(page, "conversations")
    assert conversations["Week beginning"] == ["REST API", "Web chat", "Messenger"]
    assert conversations["Total"] == ["5", "4", "3"]
    assert conversations["2025-03-03"] == ["2", "1", "1"]
    assert conversations["2025-03-17"] == ["2", "2", "1"]
    assert table(page, "messages")["Total"] == ["6", "4", "4"]

    handoffs = table(page, "handoffs")
    assert handoffs["2025-03-10"] == ["1", "0", "1"] and handoffs["2025-03-17"] == ["0", "1", "1"]
    feedback = table(page, "feedback")
    assert list(feedback)[1:] == ["screen_time", "app_safety"]  # most "not helpful" first
    assert feedback["screen_time"] == ["1", "0", "0%"]
    assert feedback["app_safety"] == ["0", "2", "100%"]
    assert table(page, "topics")["app_safety"] == ["3"]


def test_not_understood_messages_are_grouped_with_a_hint_and_no_personal_details(page):
    rows = table(page, "not-understood")
    assert rows["flibber jabber wotsit"][:2] == ["2", "screen_time"]
    assert "add it under screen_time in data/nlu/" in rows["flibber jabber wotsit"][2]
    assert any("[phone]" in example and "[email]" in example for example in rows)
    for secret in (PHONE, "900123", EMAIL):
        assert secret not in page


def test_since_leaves_out_earlier_weeks(endpoints, monkeypatch):
    monkeypatch.setenv("CONVERSATION_ID_KEY", "report-test-key")
    page = write_report(endpoints, endpoints.parent / "since", since=dt.date(2025, 3, 10)).read_text()
    assert table(page, "summary")["Conversations"] == ["8"]
    assert "2025-03-03" not in table(page, "conversations")


def row(sender: str, intent: str, text: str = "a question", helpful: object = None) -> tuple:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "intent_ranking": [],
             "entities": [{"entity": "helpful", "value": helpful}] if helpful is not None else []}
    return sender, json.dumps({"event": "user", "timestamp": MONDAY.timestamp(), "text": text,
                               "parse_data": parse, "input_channel": "rest"})


def test_feedback_rates_the_last_topic_asked_in_its_own_conversation():
    rows = [row("a", "app_safety"), row("b", "screen_time"), row("a", "thank"),
            row("a", FALLBACK, "wibble"), row("a", "feedback", "/feedback", True),
            ("a", json.dumps({"event": "action", "timestamp": 0, "name": "utter_thank"})),
            row("b", "greet"), row("b", "feedback", "/feedback", "false"),
            row("c", "feedback", "/feedback", True),  # nothing asked before it
            row("a", "check_friends"), row("a", "feedback", "/feedback", False),
            row("a", "feedback", "/feedback", "maybe")]  # not a rating: not counted
    report = build_report(rows, dt.datetime(2025, 3, 4))
    assert report.feedback == {"app_safety": [1, 0], "screen_time": [0, 1], UNKNOWN_TOPIC: [1, 0],
                               "check_friends": [0, 1]}
    assert sum(report.conversations.values()) == 3
    page = render_html(report)
    assert list(table(page, "feedback"))[1:3] == ["check_friends", "screen_time"]


def test_alike_messages_are_grouped_and_labels_kept():
    assert normalised("Is Roblox OK for [name]?!") == normalised("is roblox ok for  [name]") == \
        "is roblox ok for [name]"
    assert normalised("call [phone]") != normalised("call")


def test_trend_in_words():
    weeks = [dt.date(2025, 3, 3) + dt.timedelta(weeks=n) for n in range(6)]
    assert trend_in_words(list(zip(weeks, [30, 20, 12, 10, 9, 8]))) == \
        "Down from 12% to 8% over the last 4 weeks."
    assert trend_in_words(list(zip(weeks, [5, 7]))) == "Up from 5% to 7% over the last 2 weeks."
    assert trend_in_words([]) == "No messages in this period."
