"""`python -m bot evaluate`: how well the trained model reads the held-out parent messages.

Writes reports/evaluation.md (accuracy per topic, the worst confusions, hand-off routing, the change
since the last report), reports/confusion.png and reports/evaluation.json, the figures that the
next run compares with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from bot.content import PROJECT_DIR
from bot.safeguarding.danger import HANDOFFS
from bot.staff import checks

HELDOUT_DIR = PROJECT_DIR / "tests" / "nlu"
REPORTS_DIR = PROJECT_DIR / "reports"
DROP_WORTH_FLAGGING = 0.02  # a topic or overall score this much lower than last time is flagged


@dataclass(frozen=True)
class Prediction:
    source: str          # the held-out file
    text: str
    expected: str
    predicted: str       # what the assistant acts on (after the safety net)
    model_intent: str    # what the intent model alone said
    confidence: float


def heldout() -> List[Tuple[str, str, str]]:
    """(file, text, topic) for every held-out example not word for word in the training data."""
    training = {checks.normalised(e.text) for e in checks.load_examples()}
    return [(path.name, e.text, e.intent)
            for path in sorted(HELDOUT_DIR.glob("heldout*.yml"))
            for e in checks.load_examples_from(path) if checks.normalised(e.text) not in training]


def parser(model_path: Path) -> Callable[[List[Tuple[str, str, str]]], List[Prediction]]:
    """Load a trained model once; the function it returns reads (file, text, topic) examples."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # not a debug line per message
    agent = Agent.load(str(model_path))

    async def run(examples: List[Tuple[str, str, str]]) -> List[Prediction]:
        results = []
        for source, text, topic in examples:
            parsed = await agent.parse_message(text)
            ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
            top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
            model_intent = (parsed.get("safety_net") or {}).get("model_intent") or top["name"]
            if model_intent == "nlu_fallback" and len(ranking) > 1:
                model_intent = ranking[1]["name"]
            results.append(Prediction(source, text, topic, top["name"], model_intent,
                                      float(top["confidence"])))
        return results

    return lambda examples: asyncio.run(run(examples))


def predict(model_path: Path, examples: List[Tuple[str, str, str]]) -> List[Prediction]:
    return parser(model_path)(examples)


def summarise(predictions: List[Prediction]) -> Dict[str, object]:
    """The figures of a run, as plain values (what evaluation.json holds)."""
    per_source: Dict[str, List[bool]] = defaultdict(list)
    per_topic: Dict[str, List[bool]] = defaultdict(list)
    per_source_topic: Dict[str, Dict[str, List[bool]]] = defaultdict(lambda: defaultdict(list))
    confusions: Counter = Counter()
    for p in predictions:
        per_source[p.source].append(p.predicted == p.expected)
        per_topic[p.expected].append(p.predicted == p.expected)
        per_source_topic[p.source][p.expected].append(p.predicted == p.expected)
        if p.predicted != p.expected:
            confusions[(p.expected, p.predicted)] += 1
    handoff = [p for p in predictions if p.expected in HANDOFFS]
    count = max(1, len(handoff))
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "examples": len(predictions),
        "accuracy": sum(p.predicted == p.expected for p in predictions) / max(1, len(predictions)),
        "accuracy_by_file": {s: sum(v) / len(v) for s, v in sorted(per_source.items())},
        "accuracy_by_topic": {t: sum(v) / len(v) for t, v in sorted(per_topic.items())},
        "accuracy_by_file_and_topic": {
            source: {t: sum(v) / len(v) for t, v in sorted(topics.items())}
            for source, topics in sorted(per_source_topic.items())},
        "handoffs_routed_to_a_handoff": sum(p.predicted in HANDOFFS for p in handoff) / count,
        "handoffs_routed_by_model_alone": sum(p.model_intent in HANDOFFS for p in handoff) / count,
        "worst_confusions": [[e, g, n] for (e, g), n in confusions.most_common(10)],
    }


def compare(now: Dict[str, object], before: Optional[Dict[str, object]]) -> List[str]:
    """Lines saying what got worse (or better) since the last report."""
    if not before:
        return ["No earlier report to compare with."]
    lines = []
    change = now["accuracy"] - before["accuracy"]
    lines.append(f"Overall accuracy {before['accuracy']:.3f} -> {now['accuracy']:.3f} ({change:+.3f})"
                 + ("  **WORSE**" if change <= -DROP_WORTH_FLAGGING else ""))
    for topic, score in now["accuracy_by_topic"].items():
        old = before["accuracy_by_topic"].get(topic)
        if old is not None and abs(score - old) >= DROP_WORTH_FLAGGING:
            flag = "  **WORSE**" if score < old else ""
            lines.append(f"- {topic}: {old:.2f} -> {score:.2f}{flag}")
    return lines


def confusion_png(predictions: List[Prediction], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = sorted({p.expected for p in predictions} | {p.predicted for p in predictions})
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for p in predictions:
        matrix[index[p.expected], index[p.predicted]] += 1
    figure, axes = plt.subplots(figsize=(14, 12))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("what the assistant understood")
    axes.set_ylabel("what the parent meant")
    for (row, column), count in np.ndenumerate(matrix):
        if count and row != column:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color="red")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(now: Dict[str, object], changes: List[str], predictions: List[Prediction]) -> str:
    lines = [
        f"# How well the assistant understands parents ({now['date']})",
        "",
        f"Scored on {now['examples']} held-out messages never used in training "
        f"(tests/nlu/heldout*.yml). Overall accuracy: **{now['accuracy']:.3f}**.",
        "",
    ]
    lines += [f"- {source}: {score:.3f}" for source, score in now["accuracy_by_file"].items()]
    lines += [
        f"- Safeguarding messages routed to a hand-off: {now['handoffs_routed_to_a_handoff']:.3f} "
        f"(by the intent model alone: {now['handoffs_routed_by_model_alone']:.3f})",
        "", "## Since the last report", "", *changes,
        "", "## Accuracy per topic", "", "| topic | accuracy |", "|---|---|",
    ]
    lines += [f"| {t} | {s:.2f} |" for t, s in sorted(now["accuracy_by_topic"].items(),
                                                        key=lambda item: item[1])]
    lines += ["", "Lowest topic in each file (each file has about 6 to 9 messages a topic):", ""]
    for source, topics in now.get("accuracy_by_file_and_topic", {}).items():
        low = sorted(topics.items(), key=lambda item: item[1])[:3]
        lines.append(f"- {source}: " + ", ".join(f"{t} {s:.2f}" for t, s in low))
    lines += ["", "## Worst confusions", "", "| meant | understood as | times |", "|---|---|---|"]
    lines += [f"| {e} | {g} | {n} |" for e, g, n in now["worst_confusions"]]
    lines += ["", "## Every message understood wrongly", ""]
    lines += [f"- ({p.expected} -> {p.predicted}) {p.text}" for p in predictions
              if p.predicted != p.expected]
    lines += ["", "![confusion matrix](confusion.png)", ""]
    return "\n".join(lines)


def evaluate(model_path: Path, out: Path = REPORTS_DIR) -> Dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    predictions = predict(model_path, heldout())
    now = summarise(predictions)
    summary_file = out / "evaluation.json"
    before = json.loads(summary_file.read_text()) if summary_file.exists() else None
    changes = compare(now, before)
    confusion_png(predictions, out / "confusion.png")
    (out / "evaluation.md").write_text(markdown(now, changes, predictions), encoding="utf-8")
    summary_file.write_text(json.dumps(now, indent=1), encoding="utf-8")
    (out / "predictions.json").write_text(json.dumps([asdict(p) for p in predictions], indent=1))
    return {**now, "changes": changes}
