"""The base of our custom actions: an action that fails says sorry, kindly, and logs only which
action failed and the kind of error, never the conversation."""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)


class SafeAction(Action, abc.ABC):
    @abc.abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """What the action does (`run`, under another name)."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        try:
            return self.answer(dispatcher, tracker, domain)
        except Exception as error:  # noqa: BLE001 (a parent must never see a crash)
            logger.error("%s failed with %s; the parent was told so.", self.name(),
                         type(error).__name__)
            dispatcher.messages.clear()  # nothing half-said
            dispatcher.utter_message(response="utter_default")
            return []
