"""A calibrated linear intent classifier over TF-IDF weighted sparse features and dense embeddings.

Rasa's featurizers in config.yml produce the features: count vectors of lemmas and of character
n-grams (sparse), and optionally sentence embeddings (dense). This component TF-IDF weights the
sparse counts, joins them with the dense features, and fits a logistic regression whose
probabilities are calibrated by cross-validation, so that the FallbackClassifier's threshold means
what it says (below the threshold in config.yml, 0.3: not sure). The fitted model is kept and
scored as plain arrays (`bot/nlu/linear_scorer.py`).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
import scipy.sparse
from joblib import Parallel, delayed
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import check_cv
from sklearn.preprocessing import normalize

from bot.nlu.linear_scorer import LinearScorer

logger = logging.getLogger(__name__)

MODEL_FILE = "classifier.npz"


def sentence_features(message: Message, sparse: bool) -> Optional[Any]:
    """A message's sentence-level features of the text, sparse or dense, side by side in the
    order the featurizers added them: what Rasa's get_sparse_features / get_dense_features give
    as their sentence part, without the deep copy they make first of every feature, the
    per-token sequence features included (a third of the classifier's and detector's time)."""
    parts = [f.features for f in message.features
             if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse() == sparse]
    if not parts:
        return None
    if sparse:
        return scipy.sparse.hstack(parts).tocsr() if len(parts) > 1 else scipy.sparse.csr_matrix(parts[0])
    return np.concatenate([np.asarray(p).reshape(1, -1) for p in parts], axis=-1)


def features_of(messages: List[Message]) -> Tuple[Optional[scipy.sparse.csr_matrix], Optional[np.ndarray]]:
    """The sentence-level sparse and dense features of messages, stacked row by row."""
    sparse_rows, dense_rows = [], []
    for message in messages:
        sparse, dense = sentence_features(message, sparse=True), sentence_features(message, sparse=False)
        if sparse is not None:
            sparse_rows.append(sparse)
        if dense is not None:
            dense_rows.append(dense)
    sparse_matrix = (sparse_rows[0] if len(sparse_rows) == 1
                     else scipy.sparse.vstack(sparse_rows).tocsr() if sparse_rows else None)
    dense_matrix = np.vstack(dense_rows) if dense_rows else None
    for name, matrix in (("sparse", sparse_matrix), ("dense", dense_matrix)):
        if matrix is not None and matrix.shape[0] != len(messages):
            raise ValueError(f"Some messages have no {name} sentence features.")
    return sparse_matrix, dense_matrix


def model_storage_has(model_storage: ModelStorage, resource: Resource) -> bool:
    """Whether the model holds anything for this component."""
    try:
        with model_storage.read_from(resource):
            return True
    except ValueError:
        return False


def feature_matrix(
    tfidf: Optional[TfidfTransformer],
    sparse: Optional[scipy.sparse.csr_matrix],
    dense: Optional[np.ndarray],
    dense_weight: float,
) -> scipy.sparse.csr_matrix:
    """The training matrix sklearn fits: weighted sparse features beside the dense ones (what
    LinearScorer computes from the same arrays when it scores)."""
    blocks = []
    if sparse is not None:
        blocks.append(tfidf.transform(sparse))
    if dense is not None:
        dense = np.asarray(dense, dtype=np.float64)  # as the scorer reads them
        blocks.append(scipy.sparse.csr_matrix(normalize(dense) * dense_weight))
    if not blocks:
        raise ValueError("No features: add a featurizer before this classifier in config.yml.")
    return scipy.sparse.hstack(blocks).tocsr()


def load_scorer(model_storage: ModelStorage, resource: Resource, file_name: str) -> Optional[LinearScorer]:
    """A component's saved scorer, or None when it was trained without examples or never saved."""
    try:
        with model_storage.read_from(resource) as directory:
            path = directory / file_name
            return LinearScorer.load(path) if path.exists() else None
    except ValueError:
        # Rasa raises ValueError when the component was never persisted.
        if not model_storage_has(model_storage, resource):
            return None
        raise


class _GivenScores(ClassifierMixin, BaseEstimator):
    """A "model" whose scores are its input: lets sklearn fit the calibration on scores already
    worked out (the out-of-fold scores of `fit_calibrated`)."""

    def __init__(self, classes: np.ndarray) -> None:
        self.classes = classes

    def fit(self, X: Any, y: Any) -> _GivenScores:
        self.classes_ = self.classes
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return X


def _fold_scores(model: LogisticRegression, X: Any, y: np.ndarray, train: np.ndarray,
                 test: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    return test, model.fit(X[train], y[train]).decision_function(X[test])


def fit_calibrated(base: LogisticRegression, X: Any, y: np.ndarray, folds: int,
                   n_jobs: int) -> CalibratedClassifierCV:
    """The model sklearn's `CalibratedClassifierCV(base, method="sigmoid", cv=folds,
    ensemble=False)` fits: the regression fitted on all the data, its scores calibrated by sigmoids
    fitted on out-of-fold scores. sklearn fits the regression on all the data only after the
    folds; here it is fitted beside them (3 folds and the whole on 2 cores: two rounds of fits
    instead of three). The folds are sklearn's (stratified, in order), so the model is the same."""
    splits = check_cv(folds, y, classifier=True).split(X, y)
    fitted, *scored = Parallel(n_jobs=n_jobs)(
        [delayed(clone(base).fit)(X, y)]
        + [delayed(_fold_scores)(clone(base), X, y, train, test) for train, test in splits])
    classes = fitted.classes_
    scores = np.zeros((len(y), 1 if len(classes) == 2 else len(classes)))
    for test, fold in scored:
        scores[test] = fold.reshape(len(test), -1)
    model = CalibratedClassifierCV(_GivenScores(classes).fit(scores, y), method="sigmoid", cv="prefit")
    model.fit(scores, y)
    # The calibration is kept, and put on the regression fitted on all the data.
    model.calibrated_classifiers_[0].base_estimator = fitted
    model.n_features_in_ = fitted.n_features_in_
    return model


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class CalibratedLinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over TF-IDF sparse features and dense embeddings, calibrated."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # The saved format is part of the fingerprint: a model cached in an older format is
        # retrained rather than loaded as "no classifier".
        return MODEL_FILE

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 10.0,  # inverse regularisation of the logistic regression
            "dense_weight": 1.0,  # scale of the (L2-normalised) dense block against the sparse one
            "calibration_folds": 5,  # cross-validation folds for the sigmoid calibration; 0 = off
            "n_jobs": 2,  # fits run at once while training (the folds and the fit on all the data)
            "max_iter": 2000,
            "ranking_length": 10,
            "random_state": 42,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: Optional[LinearScorer] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.scorer = scorer

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CalibratedLinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        if not examples:
            logger.debug("No intent examples: the classifier stays untrained.")
            return self._resource
        sparse, dense = features_of(examples)
        tfidf = TfidfTransformer(sublinear_tf=True).fit(sparse) if sparse is not None else None
        X = feature_matrix(tfidf, sparse, dense, self.config["dense_weight"])
        y = np.array([m.get(INTENT) for m in examples])
        base = LogisticRegression(
            C=self.config["C"],
            max_iter=self.config["max_iter"],
            class_weight="balanced",
            random_state=self.config["random_state"],
        )
        folds = self.config["calibration_folds"]
        if folds and min(np.unique(y, return_counts=True)[1]) >= folds:
            model = fit_calibrated(base, X, y, folds, self.config["n_jobs"])
        else:
            model = base.fit(X, y)
        self.scorer = LinearScorer.from_sklearn(
            tfidf, model, sparse, dense, self.config["dense_weight"], X)
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        scorable = [m for m in messages if m.get(TEXT) and m.get(TEXT).strip()]
        for message in messages:
            if self.scorer is None or message not in scorable:
                # Nothing to read (an empty message): no intent, so the fallback takes over.
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set("intent_ranking", [], add_to_output=True)
        if self.scorer is None or not scorable:
            return messages
        probabilities = self.scorer.probabilities(*features_of(scorable))
        labels = list(self.scorer.labels)
        for message, row in zip(scorable, probabilities):
            order = np.argsort(-row)
            ranking = [
                {"name": labels[i], "confidence": float(row[i])}
                for i in order[: self.config["ranking_length"]]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self.scorer.save(directory / MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CalibratedLinearIntentClassifier:
        return cls(config, model_storage, resource, load_scorer(model_storage, resource, MODEL_FILE))
