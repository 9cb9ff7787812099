"""The held-out examples (tests/nlu/heldout*.yml): written apart from the training data, never
trained on. An example that happens to be word for word in the training data too (short ones like
"yes" or "menu") is not unseen, so it is left out of the scores."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from bot.staff.checks import load_examples, load_examples_from, normalised

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "nlu"


def heldout_examples(name: str = "heldout*.yml") -> List[Tuple[str, str]]:
    """(text, topic) pairs of the held-out files matching `name`, unseen in training."""
    training = {normalised(e.text) for e in load_examples()}
    return [(e.text, e.intent) for path in sorted(HELDOUT_DIR.glob(name))
            for e in load_examples_from(path) if normalised(e.text) not in training]
