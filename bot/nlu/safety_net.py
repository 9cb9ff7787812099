"""The safeguarding safety net as a Rasa NLU component, placed last in the pipeline.

It checks every message against the danger signals (bot/safeguarding/danger_signals.yml) and, when
one matches, sends the message to that hand-off even if the intent model (or the fallback) chose
something else: a worried parent is never left with a wrong answer or "did you mean?". What it did
is added to the parse result under `safety_net`, so it can be seen and reviewed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safeguarding import danger

SAFETY_NET_KEY = "safety_net"
OFFENDER_CONCERN = "offender_concern"


THEMSELVES = {"entity": "concern_about", "value": "themselves", "extractor": "SafetyNet"}


def apply_safety_net(message: Message, signals: danger.DangerSignals) -> None:
    """Re-route one parsed message to a hand-off if a danger signal says so; and mark a worry
    about someone's own thoughts (the entity concern_about: themselves), which changes what the
    offender_concern answer says first (Stop It Now, not the police)."""
    text = message.get(TEXT)
    if not text:
        return
    signal = signals.match(text)
    top = (message.get(INTENT) or {}).get("name")
    handoff = danger.route(top, signal)
    if (handoff or top) == OFFENDER_CONCERN and signals.is_about_themselves(text):
        message.set(ENTITIES, [*(message.get(ENTITIES) or []), dict(THEMSELVES)], add_to_output=True)
    if handoff is None:
        return
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != handoff]
    chosen = {"name": handoff, "confidence": 1.0}
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)
    message.set(
        SAFETY_NET_KEY,
        {"signal": signal.name, "handoff": handoff, "model_intent": top},
        add_to_output=True,
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyNet(GraphComponent):
    """Routes danger language to the safeguarding hand-offs, whatever the model's intent."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self) -> None:
        self.signals = danger.load_signals()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyNet:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            apply_safety_net(message, self.signals)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
