"""Builds the project's own English spaCy pipeline, so nothing is downloaded.

A blank English tokenizer plus the lookup lemmatizer, whose tables come from the
spacy-lookups-data package. config.yml points SpacyNLP at the folder this writes.
"""

from __future__ import annotations

from pathlib import Path

from bot.content import PROJECT_DIR

SPACY_DIR = PROJECT_DIR / ".build" / "spacy_en"


def build(target: Path = SPACY_DIR) -> Path:
    """Write the pipeline to `target` (replacing what is there) and return its path."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target
