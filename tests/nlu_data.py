"""The held-out examples (tests/nlu/heldout.yml): written apart from the training data, never trained on."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from bot.checks import load_examples

HELDOUT_DIR = Path(__file__).resolve().parent / "nlu"


def heldout_examples() -> List[Tuple[str, str]]:
    """(text, topic) pairs."""
    return [(e.text, e.intent) for e in load_examples(HELDOUT_DIR)]
