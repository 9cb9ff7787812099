"""The custom actions' deciding functions, without Rasa."""

from __future__ import annotations

from actions.suggest_topics import suggested_topics
from bot import content

ANSWERS = content.load_answers()


def test_suggestions_are_the_top_topics_then_the_menu():
    ranking = [
        {"name": "nlu_fallback", "confidence": 1.0},
        {"name": "greet", "confidence": 0.3},
        {"name": "screen_time", "confidence": 0.25},
        {"name": "what_can_you_do", "confidence": 0.2},
        {"name": "first_phone", "confidence": 0.2},
        {"name": "parental_controls", "confidence": 0.1},
    ]
    assert suggested_topics(ranking, ANSWERS) == ["screen_time", "first_phone", "what_can_you_do"]


def test_with_no_ranking_the_menu_is_offered():
    assert suggested_topics([], ANSWERS) == ["what_can_you_do"]


def test_a_failing_action_says_sorry_and_logs_no_conversation(caplog):
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.base import SafeAction

    class Broken(SafeAction):
        def name(self) -> str:
            return "action_broken"

        def answer(self, dispatcher, tracker, domain):
            dispatcher.utter_message(text="half an answer")
            raise ValueError(f"could not convert {tracker.latest_message['text']!r}")

    tracker = Tracker("s", {}, {"text": "my son Jack Smith 07700 900123"}, [], False, None, {}, "")
    dispatcher = CollectingDispatcher()
    assert Broken().run(dispatcher, tracker, {}) == []
    assert dispatcher.messages == [{**dispatcher.messages[0], "response": "utter_default"}]
    assert "ValueError" in caplog.text and "Jack" not in caplog.text and "07700" not in caplog.text


def test_only_a_plausible_child_age_is_used():
    from bot.apps.guide import child_age

    assert [child_age(v) for v in ("12", 12, "12.0", " 9 ")] == [12, 12, 12, 9]
    assert [child_age(v) for v in ("abc", "-3", "1e9", "1e999", [1], None, True, 8.5, 30)] == [None] * 9
