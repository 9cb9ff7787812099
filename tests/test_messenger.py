"""Facebook Messenger against a running Rasa server and a fake, local Graph API."""

from __future__ import annotations

import json
import time

import pytest

from bot.channels.messenger_format import limit_problems
from bot.channels.messenger_graph import PAGE_INBOX_APP_ID, graph_version
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
    version = graph_version()  # FACEBOOK_GRAPH_VERSION, the same setting the channel uses
    assert all(c["path"].startswith(f"/{version}/me/messages?access_token=test-page-token")
               for c in calls)


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
    sent = sent_to(fake_graph, "fb-parent-3", at_least=7)
    assert CONTACTS["ceop_report_url"] in json.dumps(sent)
    said = texts(sent)
    assert said[-2] == CHANNEL["messenger_handoff"]["text"].format_map(CONTACTS)
    assert said[-1].startswith("Our team can also reply to you here")  # the person offered


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


def signed_post(servers, body: bytes) -> tuple:
    """POST to the webhook; (status, seconds it took)."""
    started = time.monotonic()
    status = post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)})
    return status, time.monotonic() - started


def test_meta_gets_its_200_at_once_and_the_answer_follows(servers, fake_graph):
    fake_graph.delay = 5.0  # every Graph API call takes 5 s
    try:
        body = event("fb-slow-graph", {"message": {"mid": "slow-1",
                                                   "text": "is roblox ok for my 8 year old"}})
        status, seconds = signed_post(servers, body)
        assert status == 200 and seconds < 1.0
        said = texts(sent_to(fake_graph, "fb-slow-graph", at_least=2, timeout=90))
    finally:
        fake_graph.delay = 0.0
    assert said[1].startswith("Roblox: ")
    typing = fake_graph.calls("/me/messages", "fb-slow-graph")
    assert any(c["body"].get("sender_action") == "typing_on" for c in typing)


def test_the_same_message_posted_twice_is_answered_once(servers, fake_graph):
    body = event("fb-twice", {"message": {"mid": "twice-1",
                                          "text": "how much screen time for a 10 year old"}})
    assert signed_post(servers, body)[0] == 200
    assert signed_post(servers, body)[0] == 200  # Meta's retry of the same message
    first = sent_to(fake_graph, "fb-twice", at_least=2)
    time.sleep(3)
    assert len(fake_graph.to("fb-twice")) == len(first)


def test_get_started_gets_the_welcome(servers, fake_graph):
    body = event("fb-new", {"postback": {"title": "Get Started", "payload": "GET_STARTED"}})
    assert signed_post(servers, body)[0] == 200
    said = texts(sent_to(fake_graph, "fb-new", at_least=2))
    assert said[0] == CHANNEL["messenger_privacy"]["text"].format_map(CONTACTS)
    assert "not sure I've understood" not in " ".join(said)
    assert "automated" in said[1] or "Hello" in said[1]


@pytest.mark.parametrize("message", [
    {"sticker_id": 369239263222822, "attachments": [
        {"type": "image", "payload": {"url": "https://example.com/like.png",
                                      "sticker_id": 369239263222822}}]},
    {"attachments": [{"type": "image", "payload": {"sticker_id": 126361874215276}}]},
])
def test_a_like_or_sticker_gets_a_kind_word_not_the_pictures_warning(servers, fake_graph, message):
    sender = f"fb-sticker-{len(json.dumps(message))}"
    body = event(sender, {"message": {"mid": f"st-{sender}", **message}})
    assert signed_post(servers, body)[0] == 200
    said = texts(sent_to(fake_graph, sender, at_least=2))
    assert said[1] == CHANNEL["messenger_sticker"]["text"].format_map(CONTACTS)


def test_a_shared_link_is_not_opened(servers, fake_graph):
    body = event("fb-link", {"message": {"mid": "link-1", "attachments": [
        {"type": "fallback", "payload": {"url": "https://example.com/free-robux"}}]}})
    assert signed_post(servers, body)[0] == 200
    said = texts(sent_to(fake_graph, "fb-link", at_least=2))
    assert said[1].startswith("I can't open links")


def test_a_person_in_office_hours_then_quiet_while_staff_reply(servers, fake_graph):
    sender = "fb-wants-person"
    body = event(sender, {"message": {"mid": "p-1", "text": "can i talk to a real person please"}})
    assert signed_post(servers, body)[0] == 200
    offer = sent_to(fake_graph, sender, at_least=4)[-1]
    assert [r["payload"] for r in offer["quick_replies"]] == ["PERSON_YES", "PERSON_NO"]
    body = event(sender, {"message": {"mid": "p-2", "text": "Yes, a person",
                                      "quick_reply": {"payload": "PERSON_YES"}}})
    assert signed_post(servers, body)[0] == 200
    said = texts(sent_to(fake_graph, sender, at_least=5))
    assert said[-1].startswith("Thank you. I've passed this conversation to our team")
    handover = fake_graph.calls("/me/pass_thread_control", sender)
    assert handover and handover[0]["body"]["target_app_id"] == PAGE_INBOX_APP_ID
    # Staff reply from the page's inbox (an echo), and the parent writes again: the assistant is quiet.
    staff = json.dumps({"object": "page", "entry": [{"id": "page", "time": 1, "messaging": [
        {"sender": {"id": "page"}, "recipient": {"id": sender}, "timestamp": 2,
         "message": {"mid": "staff-1", "text": "Hello, this is the digital desk",
                     "is_echo": True, "app_id": int(PAGE_INBOX_APP_ID)}}]}]}).encode()
    assert signed_post(servers, staff)[0] == 200
    count = len(fake_graph.to(sender))
    body = event(sender, {"message": {"mid": "p-3", "text": "thanks, my son is 12 and on discord"}})
    assert signed_post(servers, body)[0] == 200
    time.sleep(3)
    assert len(fake_graph.to(sender)) == count
    # Passed back to the assistant: it answers again.
    back = json.dumps({"object": "page", "entry": [{"id": "page", "time": 1, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": "page"}, "timestamp": 3,
         "pass_thread_control": {"new_owner_app_id": "1234",
                                 "previous_owner_app_id": PAGE_INBOX_APP_ID}}]}]}).encode()
    assert signed_post(servers, back)[0] == 200
    body = event(sender, {"message": {"mid": "p-4", "text": "is roblox ok for my 8 year old"}})
    assert signed_post(servers, body)[0] == 200
    assert texts(sent_to(fake_graph, sender, at_least=count + 1))[count].startswith("Roblox: ")


def test_outside_office_hours_a_person_is_not_offered_and_the_numbers_are_given():
    import datetime as dt

    from bot.channels.messenger_state import load_office_hours

    hours = load_office_hours()
    saturday_night = dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.timezone.utc)
    monday_morning = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.timezone.utc)
    assert not hours.is_open(saturday_night) and not hours.is_open(christmas)
    assert hours.is_open(monday_morning)
    closed = CHANNEL["messenger_person_closed"]["text"]
    assert "{emergency}" in closed and "{police_non_emergency}" in closed and "{office_hours}" in closed


def test_a_policy_notice_from_meta_is_logged_not_answered(servers, fake_graph):
    body = json.dumps({"object": "page", "entry": [{"id": "page", "time": 1, "messaging": [
        {"sender": {"id": "fb-policy"}, "recipient": {"id": "page"}, "timestamp": 1,
         "policy_enforcement": {"action": "warning", "reason": "test notice"}}]}]}).encode()
    assert signed_post(servers, body)[0] == 200
    time.sleep(1)
    assert fake_graph.to("fb-policy") == []
    assert "Messenger policy enforcement from Meta: warning" in servers["rasa"].log.read_text()


def test_messenger_setup_dry_run_prints_the_profile_and_sends_nothing(fake_graph):
    import subprocess

    from tests.support.processes import BIN, SERVER_ENV

    def setup(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "python"), "-m", "bot", "messenger-setup", *args],
                              env={**SERVER_ENV, **MESSENGER_ENV, "FACEBOOK_GRAPH_HOST": fake_graph.host},
                              capture_output=True, text=True, check=False, timeout=120)

    before = len(fake_graph.calls("/me/messenger_profile"))
    dry = setup("--dry-run")
    assert dry.returncode == 0 and "(dry run: nothing was sent)" in dry.stdout
    profile = json.loads(dry.stdout[:dry.stdout.rindex("}") + 1])
    greeting = profile["greeting"][0]["text"]
    assert len(greeting) <= 160 and "automated" in greeting and "Meta" in greeting
    assert CONTACTS["emergency"] in greeting
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    titles = [a["title"] for a in profile["persistent_menu"][0]["call_to_actions"]]
    assert titles == ["What I can help with", "A child in danger now", "Report to CEOP",
                      "Use our website chat"]
    assert len(fake_graph.calls("/me/messenger_profile")) == before
    for _ in range(2):  # set for real, twice: the same profile each time
        assert setup().returncode == 0
    sent = fake_graph.calls("/me/messenger_profile")[before:]
    assert len(sent) == 2 and sent[0]["body"] == sent[1]["body"] == profile
    assert sent[0]["path"].startswith(f"/{graph_version()}/me/messenger_profile?access_token=")
