"""The tools comms staff use to see why the assistant answered as it did and to turn conversations
into stories: `python -m bot explain` and `python -m bot story`, and the "Was this helpful?"
buttons whose answers the report counts."""

from __future__ import annotations

import re
import subprocess
import time

import yaml

from bot import content
from bot.staff.problems import line_of as line_of_key
from tests.conftest import PROJECT_DIR, post_json, reply_text, stored_tracker
from tests.support.messenger import event, post, sent_to, sign, texts, webhook
from tests.support.processes import BIN, SERVER_ENV, start_rasa_server

APPS_FILE = content.CONTENT_DIR / "apps.yml"
HANDOFFS_FILE = content.ANSWERS_DIR / "handoffs.yml"


def explain(message: str) -> str:
    result = subprocess.run([str(BIN / "python"), "-m", "bot", "explain", message], cwd=PROJECT_DIR,
                            env=SERVER_ENV, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_explain_names_the_app_entry_for_an_app_question(model_path):
    out = explain("is snapchat ok for my 11 year old")
    assert "Topic: app_safety" in out
    assert f"data/content/apps.yml:{line_of_key(APPS_FILE, 'snapchat')}  the app 'snapchat'" in out
    assert "Rule: data/rules/apps.yml:" in out and "action_app_guide" in out


def test_explain_names_the_answer_and_contacts_for_a_danger_message(model_path):
    out = explain("my 12 year old is going to meet a man from snapchat tonight, he is on his way")
    assert "Topic: immediate_danger" in out
    assert f"data/content/answers/handoffs.yml:{line_of_key(HANDOFFS_FILE, 'immediate_danger')}" in out
    assert "Rule: data/rules/handoffs.yml:" in out
    contacts = content.CONTACTS_FILE
    assert f"data/content/contacts.yml:{line_of_key(contacts, 'emergency')}  {{emergency}}" in out


def test_explain_shows_when_the_safety_net_steps_in(model_path):
    out = explain("the youth leader at church gave my 13 year old his personal number and asked "
                  "her to delete the chats")
    assert "Topic: grooming_concern" in out
    assert re.search(r"Safety net: (stepped in \(signal '.*', bot/safeguarding/danger_signals.yml:\d+\)"
                     r"|did not step in)", out)


def test_feedback_through_rest_is_stored_against_the_answer(chat, servers):
    reply = chat.send("how can i see who my daughter follows on tiktok")
    ask = reply[-1]
    assert ask["text"] == "Was this helpful?"
    assert [b["payload"] for b in ask["buttons"]] == ['/feedback{"helpful": true}',
                                                     '/feedback{"helpful": false}']
    sorry = chat.send('/feedback{"helpful": false}')
    assert reply_text(sorry).startswith("Sorry that didn't help")
    # Rasa filled the response without complaint (it logs an error for a brace it can't fill).
    assert "interpolator" not in servers["rasa"].log.read_text()
    events = stored_tracker(servers["rasa"], chat.sender)["events"]
    users = [e for e in events if e["event"] == "user"]
    assert users[-1]["parse_data"]["intent"]["name"] == "feedback"
    assert {"entity": "helpful", "value": False} == {k: users[-1]["parse_data"]["entities"][0][k]
                                                     for k in ("entity", "value")}
    assert users[-2]["parse_data"]["intent"]["name"] == "check_friends"  # the answer it rates


def test_feedback_through_messenger_uses_quick_replies_and_is_stored(servers, fake_graph):
    sender = "fb-feedback"
    body = event(sender, {"message": {"mid": "fb-1", "text": "how much screen time for a 9 year old"}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    sent = sent_to(fake_graph, sender, at_least=4)
    ask = next(m for m in sent if m.get("text") == "Was this helpful?")
    assert [r["payload"] for r in ask["quick_replies"]] == ['/feedback{"helpful": true}',
                                                           '/feedback{"helpful": false}']
    body = event(sender, {"message": {"mid": "fb-2", "text": "Yes",
                                      "quick_reply": {"payload": '/feedback{"helpful": true}'}}})
    assert post(webhook(servers["rasa"]), body, {"X-Hub-Signature-256": sign(body)}) == 200
    assert texts(sent_to(fake_graph, sender, at_least=len(sent) + 1))[-1] == \
        "Thank you for letting us know."
    users = [e for e in stored_tracker(servers["rasa"], sender, "facebook")["events"]
             if e["event"] == "user"]
    assert users[-1]["parse_data"]["intent"]["name"] == "feedback"


def test_story_turns_a_stored_conversation_into_a_test_that_rasa_accepts(model_path, servers,
                                                                           tmp_path, project):
    db = tmp_path / "conversations.db"
    endpoints = tmp_path / "endpoints.yml"
    store = {"tracker_store": {"type": "bot.storage.RedactingSQLTrackerStore",
                               "dialect": "sqlite", "db": str(db)}}
    endpoints.write_text(yaml.safe_dump(store))
    key = {"CONVERSATION_ID_KEY": "story-test-key"}  # the server and the tool hash ids alike
    server = start_rasa_server(model_path, servers["actions"].port, tmp_path, "story",
                               endpoints_extra=store, env=key)
    try:
        server.wait_until_up()
        for text in ("hello", "someone is threatening to share my sons nudes unless he pays",
                     "no", "/dont_know", "how do i check his friends list on xbox",
                     '/feedback{"helpful": true}'):
            status, _ = post_json(server.url + "/webhooks/rest/webhook",
                                  {"sender": "story-parent", "message": text})
            assert status == 200
            time.sleep(0.2)
    finally:
        server.stop()
    env = {**SERVER_ENV, "ASSISTANT_DIR": str(project), **key}
    for extra in ([], ["--training"]):
        result = subprocess.run([str(BIN / "python"), "-m", "bot", "story", "rest:story-parent",
                                 "--endpoints", str(endpoints), *extra], cwd=project, env=env,
                                capture_output=True, text=True, check=False, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    test_story = yaml.safe_load((project / "tests/stories/from_conversations.yml").read_text())
    steps = test_story["stories"][0]["steps"]
    assert steps[0] == {"user": "hello", "intent": "greet"}
    assert {"action": "utter_sextortion"} in steps and {"active_loop": "triage_form"} in steps
    assert {"action": "action_handoff_summary"} in steps
    validate = subprocess.run([str(BIN / "rasa"), "data", "validate", "--data", "data",
                               "tests/stories/from_conversations.yml"], cwd=project, env=env,
                              capture_output=True, text=True, check=False, timeout=600)
    assert validate.returncode == 0, (validate.stdout + validate.stderr)[-3000:]


def test_the_terminal_chat_shows_an_answers_messages_as_messages(servers):
    """`make shell`'s chat (`python -m bot shell`, on a terminal): every message of an answer is
    shown as text, "Was this helpful?" as its buttons, and no JSON (Rasa's own `rasa shell` prints
    an answer's later messages as the JSON its response carries them in)."""
    import os
    import pty
    import select

    answers, contacts = content.load_answers(), content.load_contacts()
    messages = content.rendered_messages(answers["screen_time"], answers, contacts)
    assert len(messages) >= 2
    terminal, child_end = pty.openpty()
    shell = subprocess.Popen([str(BIN / "python"), "-m", "bot", "shell", "--url", servers["rasa"].url],
                             stdin=child_end, stdout=child_end, stderr=child_end, cwd=PROJECT_DIR)
    os.close(child_end)
    shown = b""

    def read_until(marker: bytes, seconds: float = 60) -> str:
        nonlocal shown
        deadline = time.monotonic() + seconds
        while marker not in shown and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.5)[0]:
                try:
                    shown += os.read(terminal, 65536)
                except OSError:  # the chat ended
                    break
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", shown.decode(errors="replace"))

    try:
        read_until(b"Your input")
        os.write(terminal, b"how much screen time should a 9 year old have\r")
        text = read_until(b"Was this helpful")
        os.write(terminal, b"\r")  # "Yes"
        text = read_until(b"Thank you for letting us know")
        os.write(terminal, b"/stop\r")
    finally:
        try:
            shell.wait(timeout=30)
        except subprocess.TimeoutExpired:
            shell.kill()
        os.close(terminal)
    flat = " ".join(text.split())
    for message in messages:
        assert " ".join(message["text"].split())[:80] in flat
    assert "Thank you for letting us know" in flat
    assert '"custom"' not in flat and '"messages"' not in flat
