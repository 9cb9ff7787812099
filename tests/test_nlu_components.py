"""Our NLU components on their own: the converted MiniLM encoder and the calibrated classifier."""

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


def test_padding_lengths_come_from_a_few_buckets():
    assert [sentence_embeddings.bucket_length(n) for n in (1, 16, 17, 100, 5000)] == [
        16, 16, 32, 128, 256]


def test_conversion_refuses_weights_other_than_the_pinned_ones(tmp_path):
    import shutil

    fake = tmp_path / "model"
    shutil.copytree(sentence_embeddings.package_model_dir(), fake)
    (fake / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="not the pinned"):
        sentence_embeddings.convert(source=fake, target=tmp_path / "out")


def test_conversion_writes_a_loadable_cache(tmp_path):
    target = sentence_embeddings.convert(target=tmp_path / "minilm")
    encoded = sentence_embeddings.SentenceEncoder(target).encode(REFERENCE["sentences"][:1])
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
