"""A learned danger detector beside the rule-based safety net: is this message a disclosure?

The safety net (bot/nlu/safety_net.py) catches danger by patterns, and patterns miss the ways
people write in shock ("a man she met online is picking her up at the end of our road in 10 mins").
This component is a second, learned reader. It is trained on the same examples as the intent model,
with one question: does the message belong to a hand-off topic (data/topics.yml, kind handoff) or
not? Recall comes first, so the classes are weighted evenly however few disclosures there are.

What it does with the answer, after the intent model and the FallbackClassifier:
- the model was not sure (nlu_fallback) but a hand-off is among its top `candidates` topics and
  the detector gives at least `unsure_threshold`: the parent gets that hand-off's help, never only
  "could you put that another way";
- the model chose a calm topic but the detector is at least `threshold` sure this is a
  disclosure: the message goes to the hand-off the model ranked highest;
- a message of one or two words that the model read as a hand-off but the detector does not
  (under `calm_threshold`): "did you mean...?", with the hand-off among the choices. Two words
  say too little for the model alone ("my son", "my child" read as hand-offs once the data
  named sons and daughters in disclosures often enough).
A calm question sent to a hand-off is a failure too, so both thresholds are set from the measured
false alarms (docs/understanding.md has the figures). What it did is in the parse result under
`danger_detector`, for review. The safety net runs after it, so a matched pattern still wins.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression

from bot.nlu.intent_classifier import feature_matrix, features_of, load_scorer
from bot.nlu.language_gate import OTHER_LANGUAGE
from bot.nlu.linear_scorer import LinearScorer
from bot.topics import handoff_topics

logger = logging.getLogger(__name__)

MODEL_FILE = "danger_detector.npz"
DETECTOR_KEY = "danger_detector"
FALLBACK = DEFAULT_NLU_FALLBACK_INTENT_NAME
DISCLOSURE, CALM = "disclosure", "calm"


def reroute(message: Message, probability: float, handoffs: frozenset, config: Dict[Text, Any]) -> None:
    """Send one parsed message to a hand-off when the detector and the model's ranking say so.
    The probability is in the parse result either way, for review."""
    intent = message.get(INTENT) or {}
    top = intent.get("name")
    message.set(DETECTOR_KEY, {"probability": round(float(probability), 4)}, add_to_output=True)
    short = len((message.get(TEXT) or "").split()) < config["min_words"]
    if short and top in handoffs and probability < config["calm_threshold"]:
        # Two words the model read as a hand-off and the detector does not ("my son"): "did you
        # mean...?" with the hand-off among the choices, rather than a false alarm. (On longer
        # messages this cost hand-offs on real parents' letters: recall comes first.)
        message.set(INTENT, {"name": FALLBACK, "confidence": float(intent.get("confidence") or 0.0)},
                    add_to_output=True)
        message.set(DETECTOR_KEY, {"probability": round(float(probability), 4), "calm": True,
                                   "model_intent": top}, add_to_output=True)
        return
    if top in handoffs or top == OTHER_LANGUAGE:
        return
    # "my son", "help pls": too little to tell a disclosure from the start of a question (the
    # rule-based safety net still reads short danger words such as "missing" or "suicidal").
    if short:
        return
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK]
    candidates = [r["name"] for r in ranking[: config["candidates"]] if r["name"] in handoffs]
    if top == FALLBACK and candidates and probability >= config["unsure_threshold"]:
        handoff = candidates[0]
    elif probability >= config["threshold"]:
        handoff = next((r["name"] for r in ranking if r["name"] in handoffs), None)
    else:
        return
    if handoff is None:
        return
    chosen = {"name": handoff, "confidence": round(float(probability), 4)}
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen] + [r for r in ranking if r["name"] != handoff],
                add_to_output=True)
    message.set(DETECTOR_KEY, {"probability": round(float(probability), 4), "handoff": handoff,
                               "model_intent": top}, add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DangerDetector(GraphComponent):
    """Logistic regression, disclosure or calm, over the same features as the intent model."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # Which topics are hand-offs is part of what it learns.
        return MODEL_FILE + ":" + ",".join(sorted(handoff_topics()))

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 4.0,
            "threshold": 0.95,  # a calm topic is overridden only when this sure
            "unsure_threshold": 0.6,  # an unsure model with a hand-off among its candidates
            "candidates": 3,
            "min_words": 3,  # shorter messages are left to the model and the safety net
            # A hand-off the model chose for a one- or two-word message that the detector gives
            # less than this becomes "did you mean...?" (every short hand-off in our sets: 0.9+;
            # "my child" 0.70, read by the model as a worry about an offender).
            "calm_threshold": 0.75,
            "max_iter": 2000,
            "random_state": 42,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 scorer: Optional[LinearScorer] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.scorer = scorer
        self.handoffs = frozenset(handoff_topics())

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> DangerDetector:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        y = np.array([DISCLOSURE if m.get(INTENT) in self.handoffs else CALM for m in examples])
        if len(set(y)) < 2:
            logger.debug("Disclosures and calm questions are both needed: the detector stays off.")
            return self._resource
        sparse, dense = features_of(examples)
        tfidf = TfidfTransformer(sublinear_tf=True).fit(sparse) if sparse is not None else None
        matrix = feature_matrix(tfidf, sparse, dense, 1.0)
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"],
                                   class_weight="balanced", random_state=self.config["random_state"])
        model.fit(matrix, y)
        self.scorer = LinearScorer.from_sklearn(tfidf, model, sparse, dense, 1.0, matrix)
        with self._model_storage.write_to(self._resource) as directory:
            self.scorer.save(directory / MODEL_FILE)
        return self._resource

    def probabilities(self, messages: List[Message]) -> np.ndarray:
        """How likely each message is a disclosure (messages must have features)."""
        column = list(self.scorer.labels).index(DISCLOSURE)
        return self.scorer.probabilities(*features_of(messages))[:, column]

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if m.get(TEXT) and m.get(TEXT).strip() and m.get(INTENT)]
        if self.scorer is None or not readable:
            return messages
        for message, probability in zip(readable, self.probabilities(readable)):
            reroute(message, float(probability), self.handoffs, self.config)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> DangerDetector:
        return cls(config, model_storage, resource, load_scorer(model_storage, resource, MODEL_FILE))
