"""Facebook Messenger against a running Rasa server and a fake, local Graph API."""

from __future__ import annotations

import json
import time

import pytest

from bot.channels.messenger_format import limit_problems
from tests.conftest import MESSENGER_ENV
from tests.support.messenger import CHANNEL, CONTACTS, event, get, post, sent_to, sign, texts, webhook


def test_verify_handshake(servers):
    url = (webhook(servers["rasa"]) + "?hub.mode=subscribe&hub.challenge=12345&hub.verify_token="
           + MESSENGER_ENV["FACEBOOK_VERIFY_TOKEN"])
    assert get(url) == (200, "12345")
    assert get(url.replace("test-verify-token", "wrong"))[0] == 403


def test_a_signed_message_about_a_game_is_answered_through_the_graph_api(servers, fake_graph):
    body = event("fb-parent-1", {"message": {"mid": "1", "text": "is roblox ok for my 8 year old"}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    sent = sent_to(fake_graph, "fb-parent-1", at_least=4)
    said = texts(sent)
    assert said[0] == CHANNEL["messenger_privacy"]["text"].format_map(CONTACTS)
    assert said[1].startswith("Roblox: ") and "Your child is 8" in said[1]
    assert all(limit_problems(m) == [] for m in sent)
    calls = [c for c in fake_graph.sent if c["body"]["recipient"]["id"] == "fb-parent-1"]
    assert all(c["path"].startswith("/v19.0/me/messages?access_token=test-page-token") for c in calls)


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature": "sha1=abc"}])
def test_unsigned_or_forged_posts_get_403_and_send_nothing(servers, fake_graph, headers):
    sender = f"fb-forger-{len(headers)}-{len(str(headers))}"
    body = event(sender, {"message": {"mid": "1", "text": "hello"}})
    assert post(webhook(servers["rasa"]), body, headers) == 403
    time.sleep(1)
    assert fake_graph.to(sender) == []


def test_a_body_signed_with_another_secret_is_refused(servers, fake_graph):
    body = event("fb-forger-other", {"message": {"mid": "1", "text": "hello"}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body, "other")}) == 403


def test_an_image_gets_a_kind_reply_and_is_not_read(servers, fake_graph):
    body = event("fb-parent-2", {"message": {"mid": "2", "attachments": [
        {"type": "image", "payload": {"url": "https://example.com/photo.jpg"}}]}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    said = texts(sent_to(fake_graph, "fb-parent-2", at_least=2))
    assert said[1] == CHANNEL["no_images"]["text"].format_map(CONTACTS)
    assert len(said) == 2


@pytest.mark.parametrize("kind", [
    {"delivery": {"mids": ["1"], "watermark": 1}}, {"read": {"watermark": 1}},
    {"reaction": {"mid": "1", "action": "react", "emoji": "👍"}},
    {"message": {"mid": "3", "text": "our own reply", "is_echo": True}},
])
def test_receipts_reactions_and_echoes_are_ignored(servers, fake_graph, kind):
    sender = f"fb-events-{list(kind)[0]}"
    body = event(sender, kind)
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    time.sleep(1)
    assert fake_graph.to(sender) == []


def test_a_disclosure_is_routed_to_ceop_and_away_from_messenger(servers, fake_graph):
    body = event("fb-parent-3", {"message": {"mid": "4", "text":
                                             "a man keeps asking my 12 year old daughter for nudes"}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    sent = sent_to(fake_graph, "fb-parent-3", at_least=6)
    assert CONTACTS["ceop_report_url"] in json.dumps(sent)
    assert texts(sent)[-1] == CHANNEL["messenger_handoff"]["text"].format_map(CONTACTS)


def test_quick_replies_keep_every_button_of_the_safeguarding_question(servers, fake_graph):
    body = event("fb-parent-4", {"message": {"mid": "5", "text": "how do i report someone to ceop"}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    sent = sent_to(fake_graph, "fb-parent-4", at_least=5)
    question = next(m for m in sent if texts([m])[0].startswith("So I can point you"))
    titles = [b["title"] for b in question["attachment"]["payload"]["buttons"]] if "attachment" in \
        question else [r["title"] for r in question["quick_replies"]]
    assert len(titles) == 4


def test_with_no_secrets_the_channel_is_off(servers):
    assert get(webhook(servers["rasa_without_actions"]) + "?hub.verify_token=x")[0] == 503
