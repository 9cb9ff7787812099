"""Topics chosen by what a message names: apps first, and support services asked for by name.

- A message that names a catalogued app (the `app` entity from AppEntityExtractor) and asks
  whether it is safe, what age it is for, its risks or its settings goes to the app guide
  (`app_safety`), whatever calm topic the intent model chose, and over a hand-off the model was
  not sure of (the danger detector and the safety net read the message after this).
- A message asking for a service by name ("stop it now number", "nspcc", "what is ceop") goes to
  the topic whose answer gives that service.
The words and names are in data/content/routing.yml; what the router did is in the parse result
under `topic_router`, for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Pattern, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.content import PROJECT_DIR, ContentError, read_yaml
from bot.nlu.language_gate import OTHER_LANGUAGE
from bot.topics import handoff_topics

ROUTING_FILE = PROJECT_DIR / "data" / "content" / "routing.yml"
ROUTER_KEY = "topic_router"
APP_TOPIC = "app_safety"
FALLBACK = DEFAULT_NLU_FALLBACK_INTENT_NAME
MAX_CHARACTERS = 4000  # as the channels cut a message; the patterns below are linear anyway
WHAT_IS = re.compile(r"\b(?:what(?:'s|s| is| are| does)|who (?:is|are)|tell me about)\b")


def phrase_pattern(phrases: Sequence[str]) -> Pattern[str]:
    """One pattern for whole-word phrases; a trailing * allows any ending of the last word."""
    parts = []
    for phrase in sorted({str(p).strip().lower() for p in phrases if str(p).strip()}, key=len,
                         reverse=True):
        open_ending = phrase.endswith("*")
        words = [re.escape(w) for w in phrase.rstrip("*").split()]
        parts.append(r"\s+".join(words) + (r"[a-z']*" if open_ending else ""))
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(parts) + r")(?![a-z0-9])")


@dataclass(frozen=True)
class Service:
    name: str
    names: Pattern[str]
    topic: str
    what_it_is: Optional[str]
    keep: frozenset = frozenset()


@dataclass(frozen=True)
class Routing:
    app_asks: Pattern[str]
    app_not_when: Optional[Pattern[str]]
    app_handoff_confidence: float
    settings_words: Pattern[str]
    settings_topics: frozenset
    service_asks: Pattern[str]
    short_words: int
    services: Tuple[Service, ...]

    def service_topic(self, text: str, model_topic: Optional[str]) -> Optional[Tuple[str, str]]:
        """(service, topic) when the message asks for a service by name."""
        found = next((s for s in self.services if s.names.search(text)), None)
        if found is None or model_topic in found.keep:
            return None
        if len(text.split()) > self.short_words and not self.service_asks.search(text):
            return None
        if found.what_it_is and WHAT_IS.search(text):
            return found.name, found.what_it_is
        return found.name, found.topic

    def is_app_question(self, text: str, model_topic: Optional[str]) -> bool:
        asks = self.app_asks.findall(text)
        if not asks or (self.app_not_when and self.app_not_when.search(text)):
            return False
        only_settings = all(self.settings_words.fullmatch(a) for a in asks)
        return not (only_settings and model_topic in self.settings_topics)


def normalise(text: str) -> str:
    return " ".join(text[:MAX_CHARACTERS].lower().replace("\u2019", "'").split())


@lru_cache(maxsize=4)
def load_routing(path: Path = ROUTING_FILE) -> Routing:
    data = read_yaml(path) or {}
    try:
        apps, services = data["app_questions"], data["services"]
        return Routing(
            app_asks=phrase_pattern(apps["asks"]),
            app_not_when=phrase_pattern(apps["not_when"]) if apps.get("not_when") else None,
            app_handoff_confidence=float(apps.get("handoff_confidence", 1.0)),
            settings_words=phrase_pattern(apps.get("settings_words") or ["settings"]),
            settings_topics=frozenset(apps.get("settings_topics") or ()),
            service_asks=phrase_pattern(services["asks"]),
            short_words=int(services["short_words"]),
            services=tuple(
                Service(name, phrase_pattern(entry["names"]), entry["topic"], entry.get("what_it_is"),
                        frozenset(entry.get("keep") or ()))
                for name, entry in (services["names"] or {}).items()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ContentError(f"{path}: {error!r} (see the comments at the top of the file)") from error


def route(message: Message, routing: Routing, handoffs: frozenset) -> None:
    """Choose the topic of one parsed message by what it names, where the rules above say so."""
    text = message.get(TEXT)
    if not text:
        return
    model_topic = (message.get(INTENT) or {}).get("name")
    confidence = float((message.get(INTENT) or {}).get("confidence") or 0.0)
    if model_topic == OTHER_LANGUAGE:
        return
    normalised = normalise(text)
    chosen: Optional[Tuple[str, str]] = None
    service = routing.service_topic(normalised, model_topic)
    if service and (model_topic not in handoffs or model_topic == service[1]):
        chosen = (f"service:{service[0]}", service[1])
    elif (model_topic not in handoffs or confidence < routing.app_handoff_confidence) and any(
            e.get("entity") == "app" for e in message.get(ENTITIES) or []):
        if routing.is_app_question(normalised, model_topic):
            chosen = ("app question", APP_TOPIC)
    if chosen is None or chosen[1] == model_topic:
        return
    reason, topic = chosen
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") not in (topic, FALLBACK)]
    picked = {"name": topic, "confidence": 1.0}
    message.set(INTENT, picked, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [picked] + ranking, add_to_output=True)
    message.set(ROUTER_KEY, {"reason": reason, "topic": topic, "model_intent": model_topic},
                add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TopicRouter(GraphComponent):
    """Apps first, and services by name (data/content/routing.yml)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return ROUTING_FILE.read_text(encoding="utf-8") if ROUTING_FILE.exists() else None

    def __init__(self) -> None:
        self.routing = load_routing()
        self.handoffs = frozenset(handoff_topics())

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TopicRouter:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            route(message, self.routing, self.handoffs)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
