"""How well the redactor does on a labelled set: tests/privacy/labelled.yml (the set it was
developed against) or tests/privacy/heldout.yml (written apart, by another writer, without sight
of the redactor or of the first set; measured, never tuned on):

- recall: of the personal details in the set, the share that no longer appear in what is kept;
- over-redaction: of the messages with nothing personal in them, the share that were changed;
- exact: the share of messages kept exactly as labelled.

    .venv/bin/python -m tests.privacy.score
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List

import yaml

LABELLED = Path(__file__).parent / "labelled.yml"
HELDOUT = Path(__file__).parent / "heldout.yml"


def cases(path: Path = LABELLED) -> List[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]


def score(redact: Callable[[str], str], labelled: List[dict]) -> Dict[str, float]:
    details = found = clean = changed = exact = 0
    for case in labelled:
        kept = redact(case["text"])
        exact += kept == case["kept"]
        for detail in case["details"]:
            details += 1
            found += detail not in kept
        if not case["details"]:
            clean += 1
            changed += kept != case["text"]
    return {"cases": len(labelled), "details": details, "recall": found / details,
            "clean": clean, "over_redaction": changed / clean, "exact": exact / len(labelled)}


def misses(redact: Callable[[str], str], labelled: List[dict]) -> List[tuple]:
    return [(c["text"], redact(c["text"]), c["kept"]) for c in labelled if redact(c["text"]) != c["kept"]]


if __name__ == "__main__":
    import sys

    from bot.privacy import redact

    for path in (LABELLED, HELDOUT):
        result = score(redact, cases(path))
        print(f"{path.name}: " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))
        if "-v" in sys.argv:
            for text, got, want in misses(redact, cases(path)):
                print(f"- {text}\n  got:  {got}\n  want: {want}")
