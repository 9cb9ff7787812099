"""A Rasa entity extractor for the app guide: `app` (a catalogue id, from names, nicknames and
misspellings) and `child_age` (whole years), found by rules rather than the intent model.

The catalogue is data/content/apps.yml; recognition is in bot/apps/recognise.py.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.apps import recognise
from bot.apps.catalogue import load_catalogue


def entities_in(text: str, matcher: recognise.AppMatcher) -> List[Dict[str, Any]]:
    """The app and child_age entities of a message, in Rasa's entity format."""
    entities: List[Dict[str, Any]] = [
        {"entity": "app", "value": m.app_id, "start": m.start, "end": m.end,
         "confidence_entity": m.score / 100.0}
        for m in matcher.find(text)
    ]
    age = recognise.child_age(text)
    if age is not None:
        entities.append({"entity": "child_age", "value": str(age), "start": 0, "end": len(text),
                         "confidence_entity": 1.0})
    return entities


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class AppEntityExtractor(EntityExtractorMixin, GraphComponent):
    """Adds `app` and `child_age` entities to every message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self) -> None:
        self.matcher = recognise.AppMatcher(load_catalogue())

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AppEntityExtractor:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = self.add_extractor_name(entities_in(text, self.matcher))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
