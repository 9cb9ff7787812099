"""The hand-off summary after the safeguarding questions: which help, in which words.

Plain functions over plain values; actions/handoff.py only reads the slots and sends the result.
The words are in data/content/handoff_summaries.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot import content

SUMMARIES_FILE = content.CONTENT_DIR / "handoff_summaries.yml"

@dataclass(frozen=True)
class Summaries:
    not_sure_about_danger: str
    by_concern: Mapping[str, str]
    closing: str
    next: Tuple[str, ...]


def load_summaries(path: Path = SUMMARIES_FILE) -> Summaries:
    data = content.read_yaml(path) or {}

    def text(value: Any) -> str:
        return " ".join(str(value).split())

    try:
        return Summaries(
            not_sure_about_danger=text(data["not_sure_about_danger"]),
            by_concern={kind: text(value) for kind, value in data["by_concern"].items()},
            closing=text(data["closing"]),
            next=tuple(data.get("next") or ()),
        )
    except (KeyError, AttributeError) as error:
        raise content.ContentError(f"{path}: missing or misshapen {error}.") from error


def handoff_summary(
    in_danger_now: Optional[str],
    concern_kind: Optional[str],
    summaries: Summaries,
    contacts: Mapping[str, str],
    answers: Mapping[str, content.Answer],
) -> List[Dict[str, Any]]:
    """The messages to send once the questions are answered (or skipped).

    "Not sure" about danger puts 999 first; the kind of concern picks the service; an unknown or
    skipped kind gets the general routes. (A "yes, in danger now" never gets here: it is answered
    with the immediate-danger hand-off straight away.)
    """
    texts: List[str] = []
    if in_danger_now in (None, "unsure"):
        texts.append(summaries.not_sure_about_danger)
    kind = concern_kind if concern_kind in summaries.by_concern else "unsure"
    texts.append(summaries.by_concern[kind])
    texts.append(summaries.closing)
    messages = [{"text": content.fill_placeholders(t, contacts, str(SUMMARIES_FILE))} for t in texts]
    messages[-1]["buttons"] = content.buttons_for(summaries.next, answers)
    return messages
