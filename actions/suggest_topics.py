"""`action_suggest_topics`: after a message the model was not sure about, offer the closest topics."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import SafeAction
from bot import content

# Topics that are not worth offering as a guess ("did you mean: hello?").
NOT_SUGGESTED = {
    "nlu_fallback", "greet", "goodbye", "thank", "affirm", "deny", "out_of_scope", "bot_challenge",
}
MENU_TOPIC = "what_can_you_do"


def suggested_topics(
    ranking: List[Mapping[str, Any]], answers: Mapping[str, content.Answer], limit: int = 2
) -> List[str]:
    """The most likely topics from the model's ranking that have an answer, best first,
    followed by the menu topic so the parent can always find something else."""
    topics = [
        item["name"]
        for item in ranking
        if item.get("name") in answers and item["name"] not in NOT_SUGGESTED | {MENU_TOPIC}
    ][:limit]
    return topics + [MENU_TOPIC]


class ActionSuggestTopics(SafeAction):
    def __init__(self) -> None:
        self.answers = content.load_answers()

    def name(self) -> str:
        return "action_suggest_topics"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        topics = suggested_topics(ranking, self.answers)
        dispatcher.utter_message(
            response="utter_suggest_topics", buttons=content.buttons_for(tuple(topics), self.answers)
        )
        return []
