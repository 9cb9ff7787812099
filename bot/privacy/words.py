"""The word lists the redactor uses to tell a name from an ordinary word after "my son" or "I'm".

- FIRST_NAMES: first names common in the UK and Ireland (first_names.txt beside this file, which
  anyone may add to), so that a name typed in lower case ("my son jack") is recognised;
- VOCABULARY: English words (spaCy's lookup tables, from the pinned spacy-lookups-data package), so
  that an unknown word in lower case after "my son" can be taken for a name;
- COMMON: words that follow "my son" in ordinary sentences: function words, verbs and their forms,
  adverbs ("my son keeps", "my son Is being bullied");
- INFLECTED: stop words, inflected forms and adverbs: what a capitalised word after "my son" is
  when it is not a name ("My son Keeps asking");
- STOP: spaCy's English stop words;
- APP_WORDS: the apps and games in the catalogue, by name and alias (never somebody's name).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import spacy_lookups_data
from spacy.lang.en.stop_words import STOP_WORDS

from bot import content

HERE = Path(__file__).parent


def _lookups(name: str) -> dict:
    path = Path(spacy_lookups_data.__file__).parent / "data" / f"en_{name}.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _first_names() -> frozenset:
    lines = (HERE / "first_names.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _app_words() -> frozenset:
    apps = (content.read_yaml(content.CONTENT_DIR / "apps.yml") or {}).get("apps") or {}
    words = set()
    for app_id, app in apps.items():
        for name in [app_id, app.get("name", ""), *(app.get("aliases") or [])]:
            words.update(str(name).lower().replace("_", " ").split())
    return frozenset(words)


_lemmas = _lookups("lemma_lookup")  # inflected form -> lemma ("keeps" -> "keep")
_index = _lookups("lemma_index")  # part of speech -> lemmas

STOP = frozenset(STOP_WORDS) | {"im", "i'm", "ive", "dont", "doesnt", "didnt", "cant", "wont",
                                "isnt", "hes", "shes", "theyre", "its", "u", "ur", "r", "n"}
VOCABULARY = frozenset(_lemmas) | frozenset(_lemmas.values()) | frozenset(
    word for words in _index.values() for word in words)
INFLECTED = STOP | frozenset(_lemmas) | frozenset(_index["adv"])  # "keeps", "got", "never"
COMMON = STOP | frozenset(_lemmas) | frozenset(_index["verb"]) | frozenset(_index["adv"]) | {
    "year", "years", "age", "aged", "who", "whos", "whose", "too", "also", "now", "again", "online",
    "today", "tonight", "yesterday", "recently", "here", "there", "please", "thanks", "thank", "hi",
    "hello", "lol", "x", "xx", "mum", "dad", "mam", "mom"}
FIRST_NAMES = _first_names()
APP_WORDS = _app_words() - FIRST_NAMES
