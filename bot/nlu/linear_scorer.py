"""The trained intent classifier as plain arrays: what it saves, loads and scores with.

sklearn fits the model (TF-IDF weights, a logistic regression, its sigmoid calibration). What is
kept is only arrays in an `.npz` file read with `allow_pickle=False`, so loading a model file can
never run code, and nothing heavier than numpy and scipy is needed to score:

- loading sklearn models safely with skops cost 5 s of every server start (its import walks all of
  sklearn), and
- sklearn's `predict_proba` on one sparse row copied the whole coefficient matrix on every call.

`from_sklearn` checks, on the training data, that these arrays give sklearn's own probabilities; if
a future sklearn computed them differently, training stops rather than ship a different model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import scipy.sparse
from scipy.special import expit, softmax
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

# Largest difference from sklearn's probabilities that `from_sklearn` accepts (float rounding).
AGREEMENT = 1e-9


@dataclass
class LinearScorer:
    """Calibrated probabilities of a linear model over TF-IDF sparse and L2-normalised dense features."""

    labels: np.ndarray  # (topics,) the topic names, in column order
    intercept: np.ndarray  # (columns,) one column per topic, or one for two topics
    sparse_coef: Optional[np.ndarray] = None  # (sparse features, columns)
    dense_coef: Optional[np.ndarray] = None  # (dense features, columns)
    idf: Optional[np.ndarray] = None  # TF-IDF weights of the sparse features; None: L2 only
    calibration: Optional[np.ndarray] = None  # (2, columns) sigmoid a and b; None: uncalibrated
    dense_weight: float = 1.0

    @classmethod
    def from_sklearn(
        cls,
        tfidf: Optional[TfidfTransformer],
        model: Any,
        sparse: Optional[scipy.sparse.spmatrix],
        dense: Optional[np.ndarray],
        dense_weight: float,
        matrix: scipy.sparse.spmatrix,
    ) -> LinearScorer:
        """The arrays of a fitted model; `sparse` and `dense` are the features it was trained on,
        `matrix` the joined matrix sklearn saw."""
        if isinstance(model, CalibratedClassifierCV):
            if len(model.calibrated_classifiers_) != 1 or model.method != "sigmoid":
                raise ValueError("Only one sigmoid-calibrated model (ensemble=False) is supported.")
            calibrated = model.calibrated_classifiers_[0]
            regression = calibrated.base_estimator
            calibration = np.array([[c.a_ for c in calibrated.calibrators],
                                    [c.b_ for c in calibrated.calibrators]], dtype=np.float64)
        elif isinstance(model, LogisticRegression):
            regression, calibration = model, None
        else:
            raise ValueError(f"Cannot turn {type(model).__name__} into arrays.")
        if list(regression.classes_) != list(model.classes_):
            raise ValueError("The calibrated classes are not in the model's order.")
        coef = np.asarray(regression.coef_, dtype=np.float64)
        n_sparse = sparse.shape[1] if sparse is not None else 0
        scorer = cls(
            labels=np.asarray(model.classes_).astype(str),
            intercept=np.asarray(regression.intercept_, dtype=np.float64),
            sparse_coef=np.ascontiguousarray(coef[:, :n_sparse].T) if sparse is not None else None,
            dense_coef=np.ascontiguousarray(coef[:, n_sparse:].T) if dense is not None else None,
            idf=np.asarray(tfidf.idf_, dtype=np.float64) if tfidf is not None else None,
            calibration=calibration,
            dense_weight=float(dense_weight),
        )
        if tfidf is not None and not tfidf.sublinear_tf:
            raise ValueError("The scorer applies sublinear TF; train the TF-IDF with it.")
        difference = np.abs(scorer.probabilities(sparse, dense) - model.predict_proba(matrix)).max()
        if difference > AGREEMENT:
            raise RuntimeError(f"Exported arrays differ from sklearn's probabilities by {difference}.")
        return scorer

    def weighted_sparse(self, counts: scipy.sparse.spmatrix) -> scipy.sparse.csr_matrix:
        """Sublinear TF-IDF, L2-normalised (what sklearn's TfidfTransformer does)."""
        matrix = scipy.sparse.csr_matrix(counts, dtype=np.float64, copy=True)
        if self.idf is not None:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
            matrix.data *= self.idf[matrix.indices]
        return normalize(matrix)

    def decision(
        self, sparse: Optional[scipy.sparse.spmatrix], dense: Optional[np.ndarray]
    ) -> np.ndarray:
        """The regression's scores, one column per topic (one column in all for two topics)."""
        if (sparse is None) != (self.sparse_coef is None) or (dense is None) != (self.dense_coef is None):
            raise ValueError("The message has different kinds of features from the training data.")
        scores = np.broadcast_to(self.intercept, (self._rows(sparse, dense), len(self.intercept))).copy()
        if sparse is not None:
            scores += self.weighted_sparse(sparse) @ self.sparse_coef
        if dense is not None:
            scores += (normalize(np.asarray(dense, dtype=np.float64)) * self.dense_weight) @ self.dense_coef
        return scores

    def probabilities(
        self, sparse: Optional[scipy.sparse.spmatrix], dense: Optional[np.ndarray]
    ) -> np.ndarray:
        """(messages, topics) probabilities summing to 1, as sklearn's `predict_proba` gives them."""
        scores = self.decision(sparse, dense)
        if self.calibration is None:
            if len(self.labels) == 2:
                positive = expit(scores[:, 0])
                return np.column_stack([1.0 - positive, positive])
            return softmax(scores, axis=1)
        a, b = self.calibration
        calibrated = expit(-(scores * a + b))
        if len(self.labels) == 2:
            return np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
        total = calibrated.sum(axis=1, keepdims=True)
        proba = np.divide(calibrated, total, out=np.full_like(calibrated, 1.0 / len(self.labels)),
                          where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    @staticmethod
    def _rows(sparse: Optional[scipy.sparse.spmatrix], dense: Optional[np.ndarray]) -> int:
        return sparse.shape[0] if sparse is not None else dense.shape[0]

    def save(self, path: Path) -> None:
        arrays = {name: value for name, value in vars(self).items()
                  if isinstance(value, np.ndarray)}
        np.savez(path, dense_weight=np.array(self.dense_weight), **arrays)

    @classmethod
    def load(cls, path: Path) -> LinearScorer:
        with np.load(path, allow_pickle=False) as saved:
            fields = {name: saved[name] for name in saved.files}
        return cls(**{**fields, "dense_weight": float(fields.get("dense_weight", 1.0))})
