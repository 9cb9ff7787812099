"""The safety net: danger language recognised by rules, whatever the intent model thought.

The signals live in danger_signals.yml beside this file. `route` decides, from a message's top
intent and the signal it matched, which hand-off (if any) the message must go to instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

from bot.content import ContentError, read_yaml
from bot.topics import handoff_topics

SIGNALS_FILE = Path(__file__).with_name("danger_signals.yml")
IMMEDIATE_DANGER = "immediate_danger"
HANDOFFS = handoff_topics()  # from the catalogue, data/topics.yml


@dataclass(frozen=True)
class Signal:
    handoff: str
    name: str
    patterns: Tuple[Pattern[str], ...]
    unless: Tuple[Pattern[str], ...] = ()

    def matches(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns) and not any(
            p.search(text) for p in self.unless)


@dataclass(frozen=True)
class DangerSignals:
    spellings: Tuple[Tuple[Pattern[str], str], ...]
    signals: Tuple[Signal, ...]  # in the order they are checked
    personal_words: Pattern[str]
    general_question: Pattern[str]
    hypothetical: Pattern[str]
    about_themselves: Pattern[str]

    def normalise(self, text: str) -> str:
        """Lower case, apostrophes straightened, text-speak spelled out, spaces folded."""
        text = " ".join(text.lower().replace("\u2019", "'").split())
        for pattern, replacement in self.spellings:
            text = pattern.sub(replacement, text)
        return text

    def is_general_question(self, normalised: str) -> bool:
        """ "what is sextortion?" or "what should I do if she is ever asked for a nude?": a
        question about the topic, not a disclosure of something happening."""
        if self.hypothetical.search(normalised):
            return True
        return bool(self.general_question.search(normalised)) and not self.personal_words.search(
            normalised)

    def is_about_themselves(self, text: str) -> bool:
        """Whether the writer is worried about their own thoughts or behaviour ("I have thoughts
        about children"), rather than about somebody else."""
        return bool(self.about_themselves.search(self.normalise(text)))

    def match(self, text: str) -> Optional[Signal]:
        """The first signal a message matches, or None for no danger or a general question."""
        normalised = self.normalise(text)
        if self.is_general_question(normalised):
            return None
        return next((s for s in self.signals if s.matches(normalised)), None)


def _expand(pattern: str, parts: Dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: parts[m.group(1)], pattern)


@lru_cache(maxsize=4)
def load_signals(path: Path = SIGNALS_FILE) -> DangerSignals:
    data = read_yaml(path)
    parts = data.get("parts") or {}
    signals: List[Signal] = []
    strays = sorted(set(data["order"]) - HANDOFFS)
    if strays or set(data["signals"]) != set(data["order"]):
        raise ContentError(f"{path}: `order` must list each hand-off that has signals, and only "
                           f"hand-off topics of data/topics.yml (not: {', '.join(strays)}).")
    for handoff in data["order"]:
        for signal in data["signals"][handoff]:
            patterns = tuple(re.compile(_expand(p, parts)) for p in signal["all"])
            unless = tuple(re.compile(_expand(p, parts)) for p in signal.get("unless") or ())
            signals.append(Signal(handoff, signal["name"], patterns, unless))
    spellings = tuple((re.compile(k), v) for k, v in (data.get("spellings") or {}).items())
    return DangerSignals(
        spellings, tuple(signals), re.compile(data["personal_words"]),
        re.compile(data["general_question"]), re.compile(data["hypothetical"]),
        re.compile(data["about_themselves"]),
    )


def route(top_intent: Optional[str], signal: Optional[Signal]) -> Optional[str]:
    """The hand-off a message must go to instead of its top intent, or None to keep it.

    Danger now always wins ("call 999" first). Otherwise a hand-off the model already chose is
    kept (it read the message as a whole), and anything else goes to the signal's hand-off.
    """
    if signal is None:
        return None
    if signal.handoff == IMMEDIATE_DANGER:
        return None if top_intent == IMMEDIATE_DANGER else IMMEDIATE_DANGER
    if top_intent in HANDOFFS:
        return None
    return signal.handoff
