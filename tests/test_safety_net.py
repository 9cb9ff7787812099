"""The safety net on its own labelled set (tests/safety/labelled.yml), and its routing decisions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safety_net import apply_safety_net
from bot.safeguarding import danger

LABELLED = yaml.safe_load((Path(__file__).parent / "safety" / "labelled.yml").read_text())
SIGNALS = danger.load_signals()


def test_the_labelled_set_is_big_enough():
    assert len(LABELLED["danger"]) >= 100 and len(LABELLED["benign"]) >= 100


def test_recall_is_1_on_danger_messages():
    missed = [m["text"] for m in LABELLED["danger"] if SIGNALS.match(m["text"]) is None]
    assert missed == []


def test_danger_now_is_recognised_as_danger_now():
    wrong = [(m["text"], SIGNALS.match(m["text"]).handoff) for m in LABELLED["danger"]
             if m["handoff"] == "immediate_danger" and SIGNALS.match(m["text"]).handoff != m["handoff"]]
    assert wrong == []


def test_false_alarms_on_benign_messages_stay_under_3_percent():
    alarms = [text for text in LABELLED["benign"] if SIGNALS.match(text)]
    assert len(alarms) / len(LABELLED["benign"]) < 0.03, alarms


@pytest.mark.parametrize("text", [
    "what is sextortion",
    "what are the signs of grooming",
    "what should i do if my child is ever asked for a nude",
    "my son is dying to play fortnite",
    "how do i find my sons missing ipad",
    "she wants to meet her friends from school in town today",
])
def test_questions_and_near_misses_do_not_fire(text):
    assert SIGNALS.match(text) is None


@pytest.mark.parametrize("top, handoff, expected", [
    ("screen_time", "immediate_danger", "immediate_danger"),   # danger now always wins
    ("sextortion", "immediate_danger", "immediate_danger"),
    ("immediate_danger", "immediate_danger", None),
    ("cyberbullying", "sextortion", "sextortion"),             # a non-hand-off is overridden
    ("nlu_fallback", "grooming_concern", "grooming_concern"),  # so is "not sure"
    ("sextortion", "grooming_concern", None),                  # a hand-off the model chose stays
])
def test_routing(top, handoff, expected):
    signal = next(s for s in SIGNALS.signals if s.handoff == handoff)
    assert danger.route(top, signal) == expected


def test_no_signal_means_no_routing():
    assert danger.route("screen_time", None) is None


def test_the_component_reroutes_and_says_why():
    message = Message(data={"text": "she said she wants to die",
                            "intent": {"name": "cyberbullying", "confidence": 0.6},
                            "intent_ranking": [{"name": "cyberbullying", "confidence": 0.6},
                                               {"name": "immediate_danger", "confidence": 0.2}]})
    apply_safety_net(message, SIGNALS)
    assert message.get("intent") == {"name": "immediate_danger", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["immediate_danger", "cyberbullying"]
    assert message.get("safety_net") == {"signal": "suicide or self-harm",
                                         "handoff": "immediate_danger",
                                         "model_intent": "cyberbullying"}


def test_the_component_leaves_ordinary_messages_alone():
    message = Message(data={"text": "how long should he be on his xbox",
                            "intent": {"name": "screen_time", "confidence": 0.9}})
    apply_safety_net(message, SIGNALS)
    assert message.get("intent") == {"name": "screen_time", "confidence": 0.9}
    assert message.get("safety_net") is None


def test_the_handoffs_are_the_catalogues_and_the_signals_name_no_other(tmp_path):
    from bot.content import ContentError
    from bot.topics import load_topics

    assert danger.HANDOFFS == {t.id for t in load_topics().values() if t.kind == "handoff"}
    signals = yaml.safe_load(danger.SIGNALS_FILE.read_text())
    signals["order"].append("screen_time")  # not a hand-off: a signal must never send a parent there
    signals["signals"]["screen_time"] = []
    stray = tmp_path / "signals.yml"
    stray.write_text(yaml.safe_dump(signals))
    with pytest.raises(ContentError, match="screen_time"):
        danger.load_signals(stray)
