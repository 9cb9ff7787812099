"""End to end through the REST channel, as the web chat and `curl` use it."""

from __future__ import annotations

import pytest

from bot import content
from bot.topics import load_topics
from tests.conftest import Chat, post_json, reply_text

CONTACTS = content.load_contacts()
ANSWERS = content.load_answers()
TOPICS = load_topics()
SYSTEM = {**content.load_system_messages(), **content.load_system_messages(section="channel")}


def test_greeting_says_what_the_assistant_is_and_offers_topics(chat: Chat):
    reply = chat.send("hello")
    text = reply_text(reply)
    assert "automated assistant" in text
    assert "Nobody reads this chat" in text
    assert f"call {CONTACTS['emergency']}" in text
    assert [b["payload"] for b in reply[-1]["buttons"]] == ["/app_safety", "/parental_controls",
                                                            "/check_friends"]


ASK_HELPFUL = SYSTEM["ask_helpful"]["text"]


def test_is_fortnite_ok_gets_the_fortnite_answer(chat: Chat):
    reply = chat.send("is fortnite ok?")
    assert reply[0]["text"].startswith("Fortnite: ")
    assert [b["payload"] for b in reply[-2]["buttons"]] == ["/parental_controls", "/check_friends",
                                                            "/report_concern"]
    assert reply[-1]["text"] == ASK_HELPFUL


def test_an_app_question_with_a_misspelling_and_an_age_names_the_app_and_the_age(chat: Chat):
    reply = chat.send("is snap chat ok for my 11 year old")
    assert reply[0]["text"].startswith("Snapchat: ")
    assert "Your child is 11" in reply[0]["text"] and "too young" in reply[0]["text"]


def test_follow_ups_use_the_remembered_app_and_age(chat: Chat):
    chat.send("my daughter is 12, is tiktok safe")
    about_snapchat = chat.send("what about snapchat?")
    assert about_snapchat[0]["text"].startswith("Snapchat: ")
    assert "Your child is 12" in about_snapchat[0]["text"]
    controls = chat.send("how do i set the controls on it?")
    assert controls[0]["text"].startswith("On Snapchat")


def test_an_unknown_app_gets_the_general_checklist(chat: Chat):
    reply = chat.send("is wibblechat safe for kids")
    expected = content.rendered_messages(ANSWERS["app_safety"], ANSWERS, CONTACTS)
    assert [m["text"] for m in reply] == [m["text"] for m in expected] + [ASK_HELPFUL]


def test_without_the_action_server_an_app_question_gets_an_apology_not_silence(
        chat_without_actions: Chat):
    reply = chat_without_actions.send("is roblox safe for my 8 year old")
    assert [m["text"] for m in reply] == [SYSTEM["not_available"]["text"].format_map(CONTACTS)]


def test_a_very_long_message_is_cut_and_the_parent_is_told(chat: Chat):
    reply = chat.send("is roblox safe for my son? " + "He is nine and builds games with his cousin. " * 60)
    assert reply[0]["text"] == SYSTEM["message_cut"]["text"]
    assert len(reply) > 1 and reply[1]["text"] != SYSTEM["not_available"]["text"]


@pytest.mark.parametrize("message, topic", [
    ("how do i check who my daughter has added on snapchat", "check_friends"),
    ("what rules should we have about who he plays online games with", "online_gaming"),
    ("what does pegi 12 actually mean", "age_ratings"),
    ("shes always on video calls in her bedroom is that ok", "video_chat"),
    ("my son wants to go live on tiktok", "livestreaming"),
    ("how do we make a family agreement about phones", "family_agreement"),
    ("how much screen time should an 8 year old have", "screen_time"),
])
def test_advice_topics_are_answered_with_their_curated_answer(chat: Chat, message, topic):
    reply = chat.send(message)
    expected = content.rendered_messages(ANSWERS[topic], ANSWERS, CONTACTS)
    # Then "Was this helpful?", after every advice answer.
    assert [m["text"] for m in reply] == [m["text"] for m in expected] + [ASK_HELPFUL]


HANDOFF_MESSAGES = {
    "immediate_danger": "my daughter is going to meet a man she met on snapchat tonight",
    "grooming_concern": "a grown man has been sending my 12 year old sexual messages on instagram",
    "report_concern": "how do i report someone to ceop",
    "sextortion": "someone is threatening to share my sons nudes unless he pays them",
    "abuse_material_found": "i found a website with indecent pictures of children on it",
    "offender_concern": "i think my husband is looking at child abuse images",
}


@pytest.mark.parametrize("topic", sorted(HANDOFF_MESSAGES))
@pytest.mark.parametrize("server", ["chat", "chat_without_actions"])
def test_handoffs_show_their_markers_with_or_without_the_action_server(topic, server, request):
    chat: Chat = request.getfixturevalue(server)
    text = reply_text(chat.send(HANDOFF_MESSAGES[topic]))
    for marker in TOPICS[topic].must_show:
        assert marker in text, (topic, marker, text)


def test_meeting_someone_today_sees_999_first(chat: Chat):
    reply = chat.send("my son is meeting someone he met on fortnite today")
    assert reply[0]["text"].startswith(f"Call {CONTACTS['emergency']} now")


def test_low_confidence_gets_did_you_mean_with_buttons(chat: Chat):
    reply = chat.send("my son")
    texts = [m.get("text") for m in reply]
    assert texts[0].startswith("Sorry, I'm not sure I've understood")
    assert texts[-1] == "Did you mean one of these?"
    payloads = [b["payload"] for b in reply[-1]["buttons"]]
    assert payloads[-1] == "/what_can_you_do" and 2 <= len(payloads) <= 3


def test_low_confidence_without_the_action_server_still_gets_a_reply(chat_without_actions: Chat):
    reply = chat_without_actions.send("my son")
    assert reply[0]["text"].startswith("Sorry, I'm not sure I've understood")


def test_a_button_payload_answers_its_topic(chat: Chat):
    reply = chat.send("/check_friends")
    assert reply[0]["text"] == content.rendered_messages(ANSWERS["check_friends"], ANSWERS,
                                                         CONTACTS)[0]["text"]


@pytest.mark.parametrize("message", [
    "",
    "   ",
    "a" * 20_000,
    "why " * 5_000,
    "😀😀😀",
    "<script>alert(1)</script>",
    "<b>hello</b> <img src=x onerror=alert(1)>",
])
def test_bad_input_gets_a_kind_reply_not_an_error(chat: Chat, message):
    reply = chat.send(message)
    assert reply, "no reply at all"
    assert all(m.get("text") for m in reply)


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b'"text"', b"{}", b'{"sender": "x"}', b'{"message": "hi"}',
    b'{"sender": "", "message": "hi"}', b'{"sender": 5, "message": "hi"}',
    b'{"sender": "x", "message": 5}', b'{"sender": "x", "message": null}',
    b'{"sender": "x", "message": ["hi"]}', ('{"sender": "%s", "message": "hi"}' % ("x" * 500)).encode(),
])
def test_malformed_requests_get_a_400_that_says_what_to_send(servers, payload):
    status, body = post_json(servers["rasa"].url + "/webhooks/rest/webhook", payload)
    assert status == 400, body
    assert "sender" in str(body) or "JSON" in str(body)


# --- the safeguarding questions after a hand-off -------------------------------------------------



def texts_of(reply):
    return [m.get("text", "") for m in reply]


def test_report_then_no_then_skip_gets_the_general_routes(chat: Chat):
    first = chat.send("how do i report someone to ceop")
    assert texts_of(first)[-1] == SYSTEM["ask_in_danger_now"]["text"]
    assert [b["title"] for b in first[-1]["buttons"]] == ["Yes, right now", "No", "Not sure", "Skip"]
    assert texts_of(chat.send("/deny")) == [SYSTEM["ask_concern_kind"]["text"]]
    end = texts_of(chat.send("/dont_know"))
    assert end[0].startswith("Thank you. The links above are the right place to start.")
    assert CONTACTS["ceop_report_url"] in end[1] and CONTACTS["nspcc_helpline"] in end[1]
    assert "Nobody reads this chat" in end[-1]


def test_yes_in_danger_gets_999_first(chat: Chat):
    chat.send("a man keeps sending my daughter sexual messages on snapchat")
    reply = chat.send("yes")
    assert reply[0]["text"].startswith(f"Call {CONTACTS['emergency']} now")


def test_a_parent_who_does_not_know_is_told_999_if_in_doubt_and_gets_the_service(chat: Chat):
    first = chat.send("someone is threatening to post my sons pictures unless he pays")
    assert texts_of(first)[-1] == SYSTEM["ask_in_danger_now"]["text"]  # the kind is known: one question
    end = texts_of(chat.send("i don't know"))
    assert end[1].startswith(f"If you think a child could be in danger, call {CONTACTS['emergency']}")
    assert CONTACTS["report_remove_url"] in end[2]


def test_changing_topic_during_the_questions_answers_it_and_asks_again(chat: Chat):
    chat.send("i found indecent images of kids on a website")
    reply = texts_of(chat.send("what is ceop"))
    assert reply[0] == content.rendered_messages(ANSWERS["what_is_ceop"], ANSWERS, CONTACTS)[0]["text"]
    assert reply[-1] == SYSTEM["ask_in_danger_now"]["text"]
    end = texts_of(chat.send("no"))
    assert CONTACTS["iwf_report_url"] in end[1]


def test_without_the_action_server_the_questions_still_end_kindly(chat_without_actions: Chat):
    chat_without_actions.send("i think my partner is looking at child abuse images")
    end = texts_of(chat_without_actions.send("no"))
    assert end[0].startswith("Thank you. The links above are the right place to start.")


def test_the_safety_net_routes_a_message_the_model_misreads(servers):
    from tests.conftest import parse

    body = parse(servers["rasa"], "she keeps saying everyone would be better off without her")
    assert body["intent"]["name"] == "immediate_danger"
    assert body["safety_net"]["signal"] == "suicide or self-harm"


def test_the_sender_rate_limit_counts_a_window_per_sender():
    from bot.channels.rest import SenderRateLimit

    limit = SenderRateLimit(limit=3, window=10)
    assert [limit.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limit.allow("b", now=3)
    assert limit.allow("a", now=10.5)  # the first message has left the window
