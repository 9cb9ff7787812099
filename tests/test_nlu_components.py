"""Our NLU components on their own: the converted MiniLM encoder (TensorFlow conversion and ONNX
export) and the calibrated classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import sentence_embeddings
from bot.nlu.embedding_featurizer import SentenceEmbeddingFeaturizer
from bot.nlu.intent_classifier import CalibratedLinearIntentClassifier

REFERENCE = json.loads((Path(__file__).parent / "nlu" / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def encoder():
    return sentence_embeddings.SentenceEncoder.shared()


def test_converted_model_matches_the_pytorch_reference(encoder):
    vectors = encoder.encode(REFERENCE["sentences"])
    expected = np.array(REFERENCE["embeddings"])
    assert vectors.shape == expected.shape == (3, 384)
    np.testing.assert_allclose(vectors, expected, atol=1e-4)


def test_embeddings_are_unit_length_and_batch_independent(encoder):
    one_by_one = np.vstack([encoder.encode([s]) for s in REFERENCE["sentences"]])
    together = encoder.encode(REFERENCE["sentences"])
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(one_by_one, together, atol=1e-5)


def test_the_onnx_graph_gives_the_tensorflow_models_embeddings(encoder):
    sentences = ["is snapchat ok", "word " * 300, "", "My son (13) was sent a link on Discord."]
    expected = sentence_embeddings.tensorflow_embeddings(sentence_embeddings.CACHE_DIR, sentences)
    np.testing.assert_allclose(encoder.encode(sentences), expected, atol=1e-5)


def test_an_export_that_disagrees_with_tensorflow_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(sentence_embeddings, "EXPORT_AGREEMENT", -1.0)
    with pytest.raises(RuntimeError, match="differ from TensorFlow"):
        sentence_embeddings.export_onnx(target=tmp_path / "onnx")
    assert not list((tmp_path / "onnx").glob("model.onnx*"))


def test_conversion_refuses_weights_other_than_the_pinned_ones(tmp_path):
    import shutil

    fake = tmp_path / "model"
    shutil.copytree(sentence_embeddings.package_model_dir(), fake)
    (fake / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="not the pinned"):
        sentence_embeddings.convert(source=fake, target=tmp_path / "out")


def test_conversion_writes_a_loadable_cache(tmp_path):
    target = sentence_embeddings.convert(target=tmp_path / "minilm")
    encoded = sentence_embeddings.tensorflow_embeddings(target, REFERENCE["sentences"][:1])
    np.testing.assert_allclose(encoded[0], REFERENCE["embeddings"][0], atol=1e-4)


def _messages(pairs):
    return [Message(data={"text": text, "intent": intent}) for text, intent in pairs]


TRAINING = [(f"how long should my child spend on the tablet {i}", "screen_time") for i in range(6)] + [
    (f"someone is threatening to share my son's photos unless he pays {i}", "sextortion")
    for i in range(6)] + [(f"is roblox safe for a {i} year old", "app_safety") for i in range(6)]


def test_classifier_trains_saves_loads_and_agrees(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("classifier")
    context = ExecutionContext(node_name="classifier", graph_schema=None)
    featurizer = SentenceEmbeddingFeaturizer.create({}, storage, resource, context)
    data = TrainingData(_messages(TRAINING))
    featurizer.process_training_data(data)
    classifier = CalibratedLinearIntentClassifier.create({"calibration_folds": 3}, storage,
                                                         resource, context)
    classifier.train(data)
    test = [Message(data={"text": "my lad is being blackmailed over a picture, they want money"})]
    featurizer.process(test)
    classifier.process(test)
    assert test[0].get("intent")["name"] == "sextortion"
    ranking = test[0].get("intent_ranking")
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6

    loaded = CalibratedLinearIntentClassifier.load({"calibration_folds": 3}, storage, resource,
                                                   context)
    again = [Message(data={"text": test[0].get("text")})]
    featurizer.process(again)
    loaded.process(again)
    assert again[0].get("intent_ranking") == ranking


def test_an_empty_message_gets_no_intent(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(node_name="c", graph_schema=None)
    classifier = CalibratedLinearIntentClassifier.create({}, storage, Resource("c"), context)
    empty = [Message(data={"text": ""})]
    classifier.process(empty)
    assert empty[0].get("intent") == {"name": None, "confidence": 0.0}


@pytest.mark.parametrize("topics", [2, 4])
@pytest.mark.parametrize("calibrated", [True, False])
def test_scorer_arrays_give_sklearns_probabilities(tmp_path, topics, calibrated):
    import scipy.sparse
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    from bot.nlu.linear_scorer import LinearScorer

    rng = np.random.default_rng(7)
    y = np.repeat([f"topic_{i}" for i in range(topics)], 10)
    counts = scipy.sparse.csr_matrix(rng.poisson(0.4, size=(len(y), 30)) + np.eye(len(y), 30))
    dense = rng.normal(size=(len(y), 8))
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    matrix = scipy.sparse.hstack([tfidf.transform(counts), normalize(dense) * 0.7]).tocsr()
    model = LogisticRegression(C=10, max_iter=2000)
    if calibrated:
        model = CalibratedClassifierCV(model, method="sigmoid", cv=3, ensemble=False)
    model.fit(matrix, y)

    scorer = LinearScorer.from_sklearn(tfidf, model, counts, dense, 0.7, matrix)
    scorer.save(tmp_path / "model.npz")
    loaded = LinearScorer.load(tmp_path / "model.npz")
    new_counts = scipy.sparse.csr_matrix(rng.poisson(0.5, size=(5, 30)))
    new_dense = rng.normal(size=(5, 8))
    expected = model.predict_proba(
        scipy.sparse.hstack([tfidf.transform(new_counts), normalize(new_dense) * 0.7]).tocsr())
    np.testing.assert_allclose(loaded.probabilities(new_counts, new_dense), expected, atol=1e-12)
    assert list(loaded.labels) == list(model.classes_)


@pytest.mark.parametrize("topics", [2, 5])
def test_calibration_fitted_beside_the_folds_is_sklearns_model(topics):
    """`fit_calibrated` runs the fits in another order from CalibratedClassifierCV, on the same
    folds: the probabilities are the same, on the training rows and on new ones."""
    import scipy.sparse
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    from bot.nlu.intent_classifier import fit_calibrated

    rng = np.random.default_rng(11)
    y = np.repeat([f"topic_{i}" for i in range(topics)], [9 + i for i in range(topics)])
    X = scipy.sparse.csr_matrix(rng.poisson(0.5, size=(len(y), 40)) + np.eye(len(y), 40))
    new = scipy.sparse.csr_matrix(rng.poisson(0.5, size=(6, 40)))
    base = LogisticRegression(C=10, max_iter=2000, class_weight="balanced")
    sklearns = CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    ours = fit_calibrated(base, X, y, folds=3, n_jobs=2)
    assert list(ours.classes_) == list(sklearns.classes_)
    for rows in (X, new):
        np.testing.assert_allclose(ours.predict_proba(rows), sklearns.predict_proba(rows), atol=1e-12)


def test_a_model_file_holding_python_objects_is_refused(tmp_path):
    from bot.nlu.linear_scorer import LinearScorer

    np.savez(tmp_path / "model.npz", labels=np.array([object()], dtype=object),
             intercept=np.zeros(1))
    with pytest.raises(ValueError, match="allow_pickle"):
        LinearScorer.load(tmp_path / "model.npz")


def test_features_unlike_the_training_ones_are_refused():
    from bot.nlu.linear_scorer import LinearScorer

    scorer = LinearScorer(labels=np.array(["a", "b", "c"]), intercept=np.zeros(3),
                          dense_coef=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="different kinds of features"):
        scorer.probabilities(None, None)
    np.testing.assert_allclose(scorer.probabilities(None, np.ones((1, 4))), [[1 / 3] * 3])


def test_features_of_gives_what_rasas_combined_sentence_features_give():
    """features_of reads the sentence features without Rasa's deep copy of every feature: the
    same matrices, the two count-vector featurizers side by side in the order they were added."""
    import scipy.sparse
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features

    from bot.nlu.intent_classifier import features_of

    rng = np.random.default_rng(7)
    messages = []
    for tokens in (3, 8):
        message = Message(data={TEXT: "some words here"})
        for origin, width in (("words", 40), ("characters", 90)):
            sequence = scipy.sparse.random(tokens, width, density=0.2, format="coo", random_state=1)
            sentence = scipy.sparse.random(1, width, density=0.3, format="coo", random_state=tokens)
            message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, origin))
            message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, origin))
        message.add_features(Features(rng.random((1, 384)), FEATURE_TYPE_SENTENCE, TEXT, "minilm"))
        messages.append(message)
    sparse, dense = features_of(messages)
    expected_sparse = scipy.sparse.vstack(
        [scipy.sparse.csr_matrix(m.get_sparse_features(TEXT)[1].features) for m in messages])
    expected_dense = np.vstack([m.get_dense_features(TEXT)[1].features for m in messages])
    assert sparse.shape == (2, 130) and (sparse != expected_sparse).nnz == 0
    assert np.array_equal(dense, expected_dense)
