"""The model reads unseen parent messages right: scored on tests/nlu/heldout.yml through POST /model/parse."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from bot.topics import load_topics
from tests.conftest import parse
from tests.support.nlu_data import heldout_examples

HANDOFFS = {t.id for t in load_topics().values() if t.kind == "handoff"}


@pytest.fixture(scope="module")
def predictions(servers):
    """(text, expected topic, predicted topic) for every held-out example."""
    results = []
    for text, topic in heldout_examples():
        body = parse(servers["rasa"], text)
        ranking = body.get("intent_ranking") or []
        # Past the fallback the parent is offered the top topics, so score the model's own top pick.
        top = next((r["name"] for r in ranking if r["name"] != "nlu_fallback"), None)
        results.append((text, topic, top, body["intent"]["name"]))
    return results


def test_every_topic_has_at_least_six_heldout_examples():
    counts = Counter(topic for _, topic in heldout_examples())
    assert set(counts) == set(load_topics())
    assert min(counts.values()) >= 6


def test_heldout_accuracy_overall(predictions):
    correct = sum(expected == got for _, expected, got, _ in predictions)
    accuracy = correct / len(predictions)
    wrong = [(t, e, g) for t, e, g, _ in predictions if e != g]
    assert accuracy >= 0.95, (accuracy, wrong)


def test_heldout_accuracy_per_topic(predictions):
    """On the development set (heldout.yml); the blind set's per-topic figures are reported by
    `make bench`, with 6 or 7 examples a topic too few for a per-topic bar."""
    development = {text for text, _ in heldout_examples("heldout.yml")}
    per_topic = defaultdict(list)
    for text, expected, got, _ in predictions:
        if text not in development:
            continue
        per_topic[expected].append(expected == got)
    low = {t: sum(v) / len(v) for t, v in per_topic.items() if sum(v) / len(v) < 0.85}
    assert low == {}


def test_handoff_messages_are_routed_to_a_handoff(predictions):
    """A disclosure must reach safeguarding help, even if it is a neighbouring hand-off: what the
    parent gets (the parsed intent), never only "did you mean"."""
    missed = [(t, e, got) for t, e, _, got in predictions if e in HANDOFFS and got not in HANDOFFS]
    assert missed == []
