"""`action_app_guide`: "is this app safe for my child?" answered from the app catalogue, using
the app and age the parent named now or earlier in the conversation."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import SafeAction
from bot import content
from bot.apps.catalogue import load_catalogue
from bot.apps.guide import app_answer, child_age, controls_answer

# "how do I set the controls on it?": the parent means the app we were talking about.
REFERS_BACK = re.compile(r"\b(it|its|it's|that|this|there|the app|the game|that app|that game)\b")


def latest_value(tracker: Tracker, entity: str) -> Optional[str]:
    return next(iter(tracker.get_latest_entity_values(entity)), None)


class ActionAppGuide(SafeAction):
    def __init__(self) -> None:
        self.catalogue = load_catalogue()
        self.answers = content.load_answers()

    def name(self) -> str:
        return "action_app_guide"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = (tracker.latest_message.get("text") or "").lower()
        named = latest_value(tracker, "app") or tracker.get_slot("app")
        app = self.catalogue.get(named) if isinstance(named, str) else None
        # Anyone can set a slot to anything ("/app_safety{\"child_age\": \"abc\"}"): only a
        # plausible age is used.
        age = child_age(latest_value(tracker, "child_age")) or child_age(tracker.get_slot("child_age"))

        general = None  # a general answer (one response, bot/content.py) instead of the app's
        if intent == "parental_controls":
            if app and REFERS_BACK.search(text):
                messages = controls_answer(app, self.answers)
            else:
                general = "parental_controls"
        elif app:
            messages = app_answer(app, age, self.answers)
        else:  # an app we do not know, or none named: the questions to ask about any app
            general = "app_safety"
        if general:
            # Its response ends with "Was this helpful?", as every advice and app answer's does
            # (bot/importer.py).
            dispatcher.utter_message(response=content.response_name(general))
        else:
            for message in messages:
                dispatcher.utter_message(**message)
            # Asked here rather than by the rule: if the action fails, nobody is asked to rate an
            # apology (SafeAction replaces what was said).
            dispatcher.utter_message(response=content.ASK_HELPFUL)
        return [SlotSet("app", app.id if app else None)]
