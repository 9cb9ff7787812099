"""The topic catalogue (data/topics.yml): every topic the assistant understands, its kind, and for a
hand-off the markers its reply must show. The one place that says which topics are hand-offs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Tuple

from bot.content import PROJECT_DIR, ContentError, read_yaml

TOPICS_FILE = PROJECT_DIR / "data" / "topics.yml"
KINDS = ("conversation", "advice", "app", "handoff")


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str
    must_show: Tuple[str, ...]


@lru_cache(maxsize=4)
def load_topics(path: Path = TOPICS_FILE) -> Dict[str, Topic]:
    """Every topic in the catalogue, by id."""
    data = read_yaml(path)
    try:
        topics = {t["id"]: Topic(t["id"], t["kind"], tuple(t.get("must_show") or ()))
                  for t in data["topics"]}
    except (KeyError, TypeError) as error:
        raise ContentError(f"{path}: cannot read the topic catalogue ({error}).") from error
    unknown = sorted(t.id for t in topics.values() if t.kind not in KINDS)
    if unknown:
        raise ContentError(f"{path}: unknown kind for {', '.join(unknown)} (one of {KINDS}).")
    return topics


def handoff_topics(path: Path = TOPICS_FILE) -> FrozenSet[str]:
    """The topics whose answer hands a worried parent on (999, CEOP, the IWF...)."""
    return frozenset(t.id for t in load_topics(path).values() if t.kind == "handoff")
