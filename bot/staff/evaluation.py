"""`python -m bot evaluate`: how well the trained model reads parents' messages, set by set.

The sets, side by side, each beside a plain TF-IDF + logistic regression trained on the same data:
- our own held-out messages (tests/nlu/heldout*.yml), written in the voice of the training data,
  so they flatter us;
- questions real parents wrote on public pages (tests/nlu/outside.yml), collected verbatim, and
  the part of them whose topic a second reader, labelling blind, chose too ("outside_agreed");
- any other labelled file given with `--set` (such as the team's field sample, which stays outside
  the repository).
For each: topic accuracy (the intent /model/parse returns, so "not understood" is a miss), top-3,
hand-offs that showed the right help (the reply carries the topic's must_show markers), calm
messages sent to a hand-off, and accuracy per topic.

Writes reports/evaluation.md, reports/confusion.png (held-out messages) and
reports/evaluation.json, the figures that the next run compares with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from bot import content
from bot.content import PROJECT_DIR
from bot.safeguarding.danger import HANDOFFS
from bot.staff import checks
from bot.topics import load_topics

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
    top3: Tuple[str, ...] = ()  # the model's three best topics ("not understood" left out)


@dataclass(frozen=True)
class LabelledSet:
    name: str
    path: Path
    examples: List[Tuple[str, str]]  # (text, topic)


def read_labelled(path: Path) -> List[Tuple[str, str]]:
    """(text, topic) pairs of a labelled file: Rasa's NLU format, or a list of {text, topic} under
    `examples` or `cases`."""
    data = content.read_yaml(path) or {}
    if "nlu" in data:
        return [(e.text, e.intent) for e in checks.load_examples_from(path)]
    rows = data.get("examples") or data.get("cases") or []
    try:
        return [(str(row["text"]), str(row["topic"])) for row in rows]
    except (KeyError, TypeError) as error:
        raise content.ContentError(f"{path}: each example needs a text and a topic ({error!r}).") from error


def agreed_labels(path: Path) -> List[Tuple[str, str]]:
    """(text, topic) pairs of a labelled file whose `second_reader` (a second annotator's blind
    label) is the same topic: the messages whose label two readers agree on."""
    rows = (content.read_yaml(path) or {}).get("examples") or []
    return [(str(row["text"]), str(row["topic"])) for row in rows
            if isinstance(row, dict) and row.get("second_reader") == row.get("topic")]


def labelled_sets(extra: Sequence[Path] = ()) -> List[LabelledSet]:
    """Our held-out files, the outside set (and the part of it two readers labelled alike), and
    any extra labelled files."""
    outside = HELDOUT_DIR / "outside.yml"
    ours = [*sorted(HELDOUT_DIR.glob("heldout*.yml")), outside]
    sets = [LabelledSet(path.stem, path, read_labelled(path)) for path in ours if path.exists()]
    agreed = agreed_labels(outside) if outside.exists() else []
    if agreed:
        sets.append(LabelledSet("outside_agreed", outside, agreed))
    return sets + [LabelledSet(path.stem, path, read_labelled(path)) for path in extra if path.exists()]


@lru_cache(maxsize=1)
def reply_texts() -> Dict[str, str]:
    """What a parent is shown for each topic the model can choose (all variants, buttons' titles
    and payloads included), from the curated answers and system messages."""
    responses = content.domain_responses(content.load_answers(), content.load_contacts(),
                                         content.load_system_messages())
    texts: Dict[str, List[str]] = defaultdict(list)
    for name, variants in responses.items():
        topic = name[len("utter_"):]
        for message in (m for variant in variants for m in content.chat_messages(variant)):
            texts[topic].append(message.get("text", ""))
            texts[topic] += [b["title"] + " " + b["payload"] for b in message.get("buttons") or []]
    texts["nlu_fallback"] = texts.get("did_not_understand", [])
    return {topic: "\n".join(parts) for topic, parts in texts.items()}


def showed_right_help(expected: str, predicted: str) -> bool:
    """Whether the reply to `predicted` carries every must_show marker of the hand-off `expected`."""
    markers = load_topics()[expected].must_show if expected in load_topics() else ()
    reply = reply_texts().get(predicted, "")
    return predicted in HANDOFFS and all(marker in reply for marker in markers)


def tfidf_baseline() -> Callable[[List[str]], List[str]]:
    """A plain TF-IDF (words 1-2 + char_wb 2-5, sublinear) + logistic regression (C=10), trained
    on data/nlu: what our model has to beat."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    examples = checks.load_examples()
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=3000),
    )
    model.fit([e.text for e in examples], [e.intent for e in examples])
    return lambda texts: list(model.predict(texts)) if texts else []


def set_figures(predictions: List[Prediction], baseline: List[str]) -> Dict[str, object]:
    """The figures of one labelled set."""
    n = max(1, len(predictions))
    handoff = [p for p in predictions if p.expected in HANDOFFS]
    calm = [p for p in predictions if p.expected not in HANDOFFS]
    per_topic: Dict[str, List[bool]] = defaultdict(list)
    for p in predictions:
        per_topic[p.expected].append(p.predicted == p.expected)
    return {
        "examples": len(predictions),
        "accuracy": sum(p.predicted == p.expected for p in predictions) / n,
        "top3": sum(p.expected in p.top3 for p in predictions) / n,
        "handoffs": len(handoff),
        "handoff_right_help": sum(showed_right_help(p.expected, p.predicted) for p in handoff)
        / max(1, len(handoff)),
        "calm_to_handoff": sum(p.predicted in HANDOFFS for p in calm) / max(1, len(calm)),
        "not_understood": sum(p.predicted == "nlu_fallback" for p in predictions),
        "baseline_accuracy": sum(b == p.expected for b, p in zip(baseline, predictions)) / n,
        "accuracy_by_topic": {t: sum(v) / len(v) for t, v in sorted(per_topic.items())},
    }


def not_in_training(pairs: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """The (text, topic) pairs whose text is not word for word a training example."""
    training = {checks.normalised(e.text) for e in checks.load_examples()}
    return [(text, topic) for text, topic in pairs if checks.normalised(text) not in training]


def heldout() -> List[Tuple[str, str, str]]:
    """(file, text, topic) for every held-out example not word for word in the training data."""
    return [(path.name, text, topic)
            for path in sorted(HELDOUT_DIR.glob("heldout*.yml"))
            for text, topic in not_in_training(read_labelled(path))]


def parser(model_path: Path) -> Callable[[List[Tuple[str, str, str]]], List[Prediction]]:
    """Load a trained model once; the function it returns reads (file, text, topic) examples."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot import graph_runner

    configure_structlog(logging.WARNING)  # not a debug line per message
    graph_runner.apply()  # as the server runs the model
    agent = Agent.load(str(model_path))

    async def run(examples: List[Tuple[str, str, str]]) -> List[Prediction]:
        results = []
        for source, text, topic in examples:
            parsed = await agent.parse_message(text)
            intent = parsed.get("intent") or {}
            ranking = [r["name"] for r in parsed.get("intent_ranking") or []
                       if r["name"] != "nlu_fallback"]
            # What the intent model chose before the detector, the router or the safety net.
            overrides = [parsed.get(k) or {} for k in ("topic_router", "danger_detector", "safety_net")]
            model_intent = next((o["model_intent"] for o in overrides if o.get("model_intent")),
                                intent.get("name") or "")
            if model_intent == "nlu_fallback" and ranking:
                model_intent = ranking[0]
            results.append(Prediction(source, text, topic, intent.get("name") or "", model_intent,
                                      float(intent.get("confidence") or 0.0), tuple(ranking[:3])))
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


SetFigures = Dict[str, Dict[str, object]]


def score_sets(model_path: Path, extra: Sequence[Path] = ()) -> Tuple[SetFigures, List[Prediction]]:
    """The figures of every labelled set, and the held-out predictions (for the report's details)."""
    read = parser(model_path)
    baseline = tfidf_baseline()
    figures, heldout_predictions = {}, []
    for labelled in labelled_sets(extra):
        pairs = labelled.examples
        if labelled.name.startswith("heldout"):
            pairs = not_in_training(pairs)
        predictions = read([(labelled.path.name, text, topic) for text, topic in pairs])
        figures[labelled.name] = set_figures(predictions, baseline([text for text, _ in pairs]))
        if labelled.name.startswith("heldout"):
            heldout_predictions += predictions
    return figures, heldout_predictions


SET_COLUMNS = (
    ("examples", "messages", "{:d}"),
    ("accuracy", "topic accuracy", "{:.3f}"),
    ("baseline_accuracy", "plain TF-IDF + LR", "{:.3f}"),
    ("top3", "topic in top 3", "{:.3f}"),
    ("handoff_right_help", "hand-offs that showed the right help", "{:.3f}"),
    ("calm_to_handoff", "calm messages sent to a hand-off", "{:.3f}"),
    ("not_understood", "not understood", "{:d}"),
)


def sets_markdown(sets: Dict[str, Dict[str, object]]) -> List[str]:
    """The sets side by side, then accuracy per topic in each."""
    names = list(sets)
    lines = ["## Every set side by side", "",
             "heldout and heldout_blind are our own, written in the voice of the training data; "
             "outside is real parents' questions from public pages (tests/nlu/outside.yml), and "
             "outside_agreed the part of it whose topic a second reader chose too, blind; "
             "any other set was given with --set.", "",
             "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label, form in SET_COLUMNS:
        lines.append(f"| {label} | " + " | ".join(form.format(sets[n][key]) for n in names) + " |")
    topics = sorted({t for n in names for t in sets[n]["accuracy_by_topic"]})
    lines += ["", "### Accuracy per topic, set by set", "",
              "| topic | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for topic in topics:
        cells = [sets[n]["accuracy_by_topic"].get(topic) for n in names]
        lines.append(f"| {topic} | " + " | ".join("" if c is None else f"{c:.2f}" for c in cells) + " |")
    return lines + [""]


def evaluate(model_path: Path, out: Path = REPORTS_DIR, extra: Sequence[Path] = ()) -> Dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    sets, predictions = score_sets(model_path, extra)
    now = {**summarise(predictions), "sets": sets}
    summary_file = out / "evaluation.json"
    before = json.loads(summary_file.read_text()) if summary_file.exists() else None
    changes = compare(now, before)
    confusion_png(predictions, out / "confusion.png")
    report = markdown(now, changes, predictions).split("\n")
    at = report.index("## Since the last report")
    report[at:at] = sets_markdown(sets)
    (out / "evaluation.md").write_text("\n".join(report), encoding="utf-8")
    summary_file.write_text(json.dumps(now, indent=1), encoding="utf-8")
    (out / "predictions.json").write_text(json.dumps([asdict(p) for p in predictions], indent=1))
    return {**now, "changes": changes}
