"""Every message the assistant can send fits Messenger's limits, and no button is dropped."""

from __future__ import annotations

import pytest

from bot import content
from bot.apps.catalogue import load_catalogue
from bot.apps.guide import app_answer
from bot.channels.messenger_format import (
    limit_problems,
    messenger_messages,
    split_links,
    unpunctuated_links,
)
from bot.importer import ContentImporter
from bot.safeguarding.handoff import handoff_summary, load_summaries
from tests.conftest import PROJECT_DIR

ANSWERS = content.load_answers()
CONTACTS = content.load_contacts()


def every_message():
    domain = ContentImporter(str(PROJECT_DIR / "config.yml"), str(PROJECT_DIR / "domain.yml"),
                             [str(PROJECT_DIR / "data")]).get_domain()
    for name, variations in domain.responses.items():
        for message in variations:
            for part in content.chat_messages(message):  # each message of an answer, as sent
                yield name, part
    for app in load_catalogue().values():
        for age in (None, 8, 15):
            for message in app_answer(app, age, ANSWERS):
                yield f"app {app.id} {age}", message
    summaries = load_summaries()
    for kind in summaries.by_concern:
        for message in handoff_summary("unsure", kind, summaries, CONTACTS, ANSWERS):
            yield f"summary {kind}", message
    from bot.channels.rest import SystemMessages

    system = SystemMessages()  # the channels' own messages, as the channels fill them in
    for name in content.load_system_messages(section="channel"):
        yield name, {"text": system[name]}


@pytest.mark.parametrize("name, message", list(every_message()))
def test_within_messenger_limits_and_nothing_dropped(name, message):
    converted = messenger_messages(message)
    assert converted, name
    for payload in converted:
        assert limit_problems(payload) == [], (name, payload)
    payloads_in = [b["payload"] for b in message.get("buttons") or []]
    payloads_out = [b["payload"] for m in converted
                    for b in (m.get("attachment", {}).get("payload", {}).get("buttons", [])
                              + m.get("quick_replies", [])) if "payload" in b]
    assert payloads_out == payloads_in, name
    _, links = split_links(message.get("text") or "")
    urls_out = [b["url"] for m in converted
                for b in m.get("attachment", {}).get("payload", {}).get("buttons", []) if "url" in b]
    assert urls_out == links[:3], name


def test_a_long_text_is_split_not_cut():
    text = ("A sentence about online safety. " * 100).strip()
    converted = messenger_messages({"text": text})
    assert len(converted) == 2 and " ".join(m["text"] for m in converted) == text


@pytest.mark.parametrize("text, sent", [
    ("Report it at https://www.cumbria.police.uk/report-it.", "Report it at https://www.cumbria.police.uk/report-it"),
    ("See https://www.ceop.police.uk/, then call.", "See https://www.ceop.police.uk/ then call."),
    ("Is it https://www.nspcc.org.uk? Yes!", "Is it https://www.nspcc.org.uk Yes!"),
    ("https://www.iwf.org.uk/report/ is the page", "https://www.iwf.org.uk/report/ is the page"),
    ("Version 2.1. Nothing to see.", "Version 2.1. Nothing to see."),
])
def test_punctuation_after_a_link_is_not_sent_as_part_of_it(text, sent):
    assert unpunctuated_links(text) == sent
    assert messenger_messages({"text": text}) == [{"text": sent}]
