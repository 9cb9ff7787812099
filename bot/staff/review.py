"""`python -m bot review`: the messages the assistant did not understand, from the stored
conversations, with personal details removed, ready to become training examples."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from bot.privacy import redact

FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class NotUnderstood:
    text: str            # with personal details removed
    closest_topic: str
    confidence: float


def from_events(events: List[dict], since: dt.datetime, threshold: float) -> List[NotUnderstood]:
    """The user messages in a conversation's events that fell back or scored under `threshold`."""
    found = []
    for event in events:
        if event.get("event") != "user" or (event.get("timestamp") or 0) < since.timestamp():
            continue
        text = (event.get("text") or "").strip()
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        if not text or text.startswith("/"):
            continue  # a button press, not something the parent typed
        ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        confidence = float(ranking[0]["confidence"]) if ranking else 0.0
        if intent.get("name") == FALLBACK or confidence < threshold:
            closest = ranking[0]["name"] if ranking else "unknown"
            found.append(NotUnderstood(redact(text), closest, confidence))
    return found


def not_understood(since: dt.date, endpoints: Path, threshold: float = 0.5) -> List[NotUnderstood]:
    """Every message since `since` (a day) that the assistant did not understand."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(endpoints), "tracker_store")
    if config is None:
        raise SystemExit(
            f"{endpoints} keeps no conversations (no tracker_store), so there is nothing to review.")
    store = create_tracker_store(config)
    start = dt.datetime.combine(since, dt.time())

    async def collect() -> List[NotUnderstood]:
        found: List[NotUnderstood] = []
        for sender in await store.keys():
            tracker = await store.retrieve(sender)
            if tracker is not None:
                found += from_events([e.as_dict() for e in tracker.events], start, threshold)
        return found

    return asyncio.run(collect())


def grouped(items: List[NotUnderstood]) -> Dict[str, List[str]]:
    groups: Dict[str, List[str]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.closest_topic, i.confidence)):
        if item.text not in groups[item.closest_topic]:
            groups[item.closest_topic].append(item.text)
    return dict(groups)


def nlu_snippet(items: List[NotUnderstood]) -> str:
    """The messages as Rasa NLU YAML, under their closest topic, for a person to check and move
    into data/nlu (the closest topic is a guess: correct it where it is wrong)."""
    lines = ["# Messages the assistant did not understand, under the topic it thought closest.",
             "# Check each one: move it to the right topic, rewrite any [name]-style labels, then",
             "# copy it into the topic's file in data/nlu and run: python -m bot check",
             'version: "3.1"', "nlu:"]
    for topic, texts in grouped(items).items():
        lines += [f"- intent: {topic}", "  examples: |"]
        lines += [f"    - {' '.join(t.split())}" for t in texts]
    return "\n".join(lines) + "\n"
