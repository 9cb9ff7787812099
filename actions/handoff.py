"""`action_handoff_summary`: after the safeguarding questions, the help that fits what happened."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import SafeAction
from bot import content
from bot.safeguarding.handoff import handoff_summary, load_summaries


class ActionHandoffSummary(SafeAction):
    def __init__(self) -> None:
        self.summaries = load_summaries()
        self.contacts = content.load_contacts()
        self.answers = content.load_answers()

    def name(self) -> str:
        return "action_handoff_summary"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        messages = handoff_summary(
            tracker.get_slot("in_danger_now"), tracker.get_slot("concern_kind"),
            self.summaries, self.contacts, self.answers,
        )
        for message in messages:
            dispatcher.utter_message(**message)
        # Asked afresh next time: a later worry may be different.
        return [SlotSet("in_danger_now", None), SlotSet("concern_kind", None)]
