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
