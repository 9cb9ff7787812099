"""Issue 15: the kinds of message real parents write that the assistant used to miss.

- Each story in tests/stories/test_real_parents.yml (our own wording of each failure kind) is
  understood as its topic by POST /model/parse, and its reply carries the help that topic must
  show. `rasa test core` (tests/test_conversations.py) checks what the assistant then does, but
  takes the intent from the story, not from the text: this file checks the text.
- The evaluation sets never teach the model: no message of the outside set, or a close variant,
  and no message of the team's field sample (kept as fingerprints) is in data/nlu.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List, Set, Tuple

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.apps.catalogue import load_catalogue
from bot.nlu.danger_detector import DETECTOR_KEY, reroute
from bot.nlu.topic_router import ROUTER_KEY, load_routing, route
from bot.staff.training_data import load_examples, normalised
from bot.topics import handoff_topics, load_topics
from tests.conftest import Chat, parse, reply_text

NLU_TESTS = Path(__file__).parent / "nlu"
STORIES = Path(__file__).parent / "stories" / "test_real_parents.yml"
CLOSE = 0.8  # share of character 4-grams two messages have in common to count as a close variant


def story_messages() -> List[Tuple[str, str, str, str]]:
    """(story, text, topic, app) for the first message of every story."""
    rows = []
    for story in yaml.safe_load(STORIES.read_text())["stories"]:
        first = story["steps"][0]
        slots = next((s["slot_was_set"] for s in story["steps"] if "slot_was_set" in s), [])
        app = next((s["app"] for s in slots if "app" in s), "")
        rows.append((story["story"], first["user"].strip(), first["intent"], app))
    return rows


def four_grams(text: str) -> Set[str]:
    text = normalised(text)
    return {text[i:i + 4] for i in range(max(1, len(text) - 3))}


@pytest.mark.parametrize("story, text, topic, app", story_messages(),
                         ids=[row[0] for row in story_messages()])
def test_each_kind_of_missed_message_gets_its_help(servers, new_sender, story, text, topic, app):
    body = parse(servers["rasa"], text)
    assert body["intent"]["name"] == topic, body.get("intent_ranking", [])[:3]
    reply = reply_text(Chat(servers["rasa"], new_sender).send(text))
    for marker in load_topics()[topic].must_show:
        assert marker in reply, (marker, reply)
    if app:
        assert load_catalogue()[app].name in reply, reply


@pytest.mark.parametrize("text", ["my son", "my daughter", "my child", "my kid", "the kids"])
def test_a_parent_starting_a_sentence_is_not_sent_to_a_hand_off(servers, text):
    """Two words say too little: the model alone read "my child" as a worry about an offender."""
    from bot.topics import handoff_topics

    assert parse(servers["rasa"], text)["intent"]["name"] not in handoff_topics()


def test_stories_cover_every_failure_kind():
    """Meeting now, abuse material, a suspected predator, a threat today, named services, a person
    in a position of trust, someone's own thoughts, long and formal messages, other Englishes,
    text-speak, emoji, untrained platforms, and catalogued apps."""
    kinds = " ".join(story for story, _, _, _ in story_messages())
    for kind in ("meet someone now", "abuse material", "predator", "violence today", "Stop It Now",
                 "NSPCC", "Childline", "Report Remove", "IWF", "Samaritans", "101", "CEOP",
                 "position of trust", "own thoughts", "long story", "formal letter", "Irish",
                 "text-speak", "emoji", "do not train on", "catalogued app"):
        assert kind in kinds, kind


def test_no_field_sample_message_is_in_the_training_data():
    fingerprints = {line.strip() for line in (NLU_TESTS / "field_sample.sha256").read_text().splitlines()
                    if line.strip() and not line.startswith("#")}
    assert len(fingerprints) >= 150
    found = [e.text for e in load_examples()
             if hashlib.sha256(normalised(e.text).encode()).hexdigest() in fingerprints]
    assert found == []


def test_no_outside_set_message_or_close_variant_is_in_the_training_data():
    outside = [e["text"] for e in yaml.safe_load((NLU_TESTS / "outside.yml").read_text())["examples"]]
    outside_grams = [(text, four_grams(text)) for text in outside]
    close = []
    for example in load_examples():
        grams = four_grams(example.text)
        for text, other in outside_grams:
            if len(grams & other) / len(grams | other) >= CLOSE:
                close.append((example.text, text))
    assert close == []


def test_the_outside_set_has_a_second_readers_labels_and_their_agreed_part_is_scored(tmp_path):
    """Every outside-set message carries a second reader's blind label (a topic of the catalogue),
    and `outside_agreed` holds exactly the messages both readers gave the same topic."""
    from bot.staff import evaluation

    examples = yaml.safe_load((NLU_TESTS / "outside.yml").read_text())["examples"]
    assert {e["second_reader"] for e in examples} <= set(load_topics())
    sets = {s.name: s.examples for s in evaluation.labelled_sets()}
    agreed = [(e["text"], e["topic"]) for e in examples if e["second_reader"] == e["topic"]]
    assert sets["outside_agreed"] == agreed and 100 <= len(agreed) < len(examples)

    planted = tmp_path / "two_readers.yml"
    planted.write_text(yaml.safe_dump({"examples": [
        {"text": "a", "topic": "screen_time", "second_reader": "screen_time"},
        {"text": "b", "topic": "screen_time", "second_reader": "family_agreement"},
        {"text": "c", "topic": "greet"}]}))
    assert evaluation.agreed_labels(planted) == [("a", "screen_time")]


def parsed(text: str, intent: str, ranking: List[str], apps: Tuple[str, ...] = (),
           confidence: float = 0.5) -> Message:
    """A message as the intent model leaves it."""
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": 0.5} for n in ranking])
    message.set(ENTITIES, [{"entity": "app", "value": a} for a in apps])
    return message


@pytest.mark.parametrize("text, model_topic, apps, topic, confidence", [
    ("is yubo ok for a 13 year old", "stranger_contact", ("yubo",), "app_safety", 0.9),
    ("what are the risks of discord", "nlu_fallback", ("discord",), "app_safety", 0.9),
    ("parental controls settings on the xbox", "parental_controls", ("xbox",), "parental_controls", 0.9),
    ("is snapchat's my ai safe", "ai_chatbots", ("snapchat",), "ai_chatbots", 0.9),
    ("a man on roblox asked her to keep secrets, is roblox safe", "grooming_concern", ("roblox",),
     "grooming_concern", 0.9),
    # A hand-off the model was not sure of: the app guide, unless the detector or the safety net
    # (which read the message next) say otherwise.
    ("she keeps asking for tiktok and she's only 10", "grooming_concern", ("tiktok",), "app_safety",
     0.55),
    ("stop it now", "out_of_scope", (), "offender_concern", 0.9),
    ("samaritans opening hours", "nlu_fallback", (), "parent_support", 0.9),
    ("what is ceop", "report_concern", (), "report_concern", 0.9),
    ("who are ceop", "learn_more", (), "learn_more", 0.9),
    ("ceop", "greet", (), "report_concern", 0.9),
    ("what happens after i report to ceop", "after_reporting", (), "after_reporting", 0.9),
    ("the iwf website", "grooming_concern", (), "grooming_concern", 0.9),
])
def test_apps_first_and_services_by_name(text, model_topic, apps, topic, confidence):
    """Apps first and named services; a hand-off the model was sure of is never replaced by a calm
    topic, and what the router did is recorded in the parse result."""
    message = parsed(text, model_topic, [model_topic, "learn_more"], apps, confidence)
    route(message, load_routing(), handoff_topics())
    assert message.get(INTENT)["name"] == topic
    if topic != model_topic:
        assert message.get(ROUTER_KEY)["model_intent"] == model_topic
        assert [r["name"] for r in message.get(INTENT_RANKING_KEY)][0] == topic


DETECTOR_CONFIG = {"threshold": 0.95, "unsure_threshold": 0.5, "candidates": 3, "min_words": 3,
                   "calm_threshold": 0.75}


@pytest.mark.parametrize("model_topic, ranking, probability, topic", [
    ("nlu_fallback", ["stranger_contact", "grooming_concern", "cyberbullying"], 0.6, "grooming_concern"),
    ("nlu_fallback", ["stranger_contact", "grooming_concern", "cyberbullying"], 0.3, "nlu_fallback"),
    ("nlu_fallback", ["stranger_contact", "cyberbullying", "screen_time", "sextortion"], 0.9,
     "nlu_fallback"),
    ("cyberbullying", ["cyberbullying", "screen_time", "immediate_danger"], 0.97, "immediate_danger"),
    ("cyberbullying", ["cyberbullying", "screen_time", "immediate_danger"], 0.9, "cyberbullying"),
    ("sextortion", ["sextortion", "nudes_sexting"], 0.1, "sextortion"),
    ("other_language", ["other_language", "immediate_danger"], 0.99, "other_language"),
])
def test_an_unsure_model_with_a_handoff_among_its_candidates_hands_off(model_topic, ranking,
                                                                        probability, topic):
    message = parsed("some message from a parent", model_topic, ranking)
    reroute(message, probability, handoff_topics(), DETECTOR_CONFIG)
    assert message.get(INTENT)["name"] == topic
    if topic != model_topic:
        assert message.get(DETECTOR_KEY) == {"probability": probability, "handoff": topic,
                                             "model_intent": model_topic}


def test_two_words_the_detector_does_not_read_as_a_disclosure_become_did_you_mean():
    for confidence in (0.34, 0.8):  # however sure the model was of "my son"
        message = parsed("my son", "grooming_concern", ["grooming_concern", "greet"])
        message.set(INTENT, {"name": "grooming_concern", "confidence": confidence})
        reroute(message, 0.3, handoff_topics(), DETECTOR_CONFIG)
        assert message.get(INTENT)["name"] == "nlu_fallback"
    for text, probability in (("sextortion help", 0.9), ("my son has a question", 0.3)):
        kept = parsed(text, "grooming_concern", ["grooming_concern", "greet"])
        kept.set(INTENT, {"name": "grooming_concern", "confidence": 0.8})
        reroute(kept, probability, handoff_topics(), DETECTOR_CONFIG)
        assert kept.get(INTENT)["name"] == "grooming_concern"


def test_a_message_too_short_to_tell_is_left_to_the_model():
    message = parsed("my son", "nlu_fallback", ["stranger_contact", "grooming_concern"])
    reroute(message, 0.99, handoff_topics(), DETECTOR_CONFIG)
    assert message.get(INTENT)["name"] == "nlu_fallback"
