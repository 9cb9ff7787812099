"""Finding the app a parent names ("roblocks", "snap chat", "gta 5") and the child's age ("my 9 year
old", "she's twelve", "year 7") in free text.

Apps: every word sequence is compared with the catalogue's aliases, written together and apart
("snap chat" = "snapchat"). A single word that is not English may also differ from an alias by a
typo ("snapchta"; rapidfuzz similarity of at least FUZZY_CUTOFF), while an English word never does
("phone" is not "iPhone") and neither do word pairs ("for tonight" is not "fortnight"). An alias
that is itself ordinary English ("switch", "threads", "snap", "fortnight", "be real") counts only
with app-like words around it ("is the switch ok", "plays twitch"), not in "switch off" or
"grounded for a fortnight". Longer and closer matches win.
The English word list is spaCy's lookup-lemmatizer table, which the project already installs.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from rapidfuzz import fuzz, process

from bot.apps.catalogue import App

FUZZY_CUTOFF = 87
FUZZY_MIN_LENGTH = 5
WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
FUNCTION_WORDS = frozenset(
    "a an the of us we be to in on at for and or my our your his her hers its it it's this that these "
    "those he she they them him i me you what who how why when where which is are was were do does "
    "did can could would should will so up off out as by with from not no yes whats thats its dont "
    "im ive hes shes cant wont didnt doesnt isnt theres".split())
ARTICLES = frozenset("a an the his her my our their your".split())
# Words around an ordinary-English alias that show an app is meant.
BEFORE = frozenset("on play plays playing played use uses using used get gets got getting download "
                   "downloaded install installed join joined has have had onto about is need needs "
                   "want wants wanted".split())
AFTER = frozenset("app apps account accounts game games server servers chat safe ok okay age ages "
                  "rating settings controls stream streams streaming lite is on phone tablet "
                  "device minimum min privacy online".split())


@lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """English words and their forms, from spacy-lookups-data's English lemma tables."""
    import spacy_lookups_data

    data = Path(spacy_lookups_data.__file__).parent / "data"
    with gzip.open(data / "en_lemma_lookup.json.gz", "rt", encoding="utf-8") as handle:
        lookup = json.load(handle)
    return frozenset(lookup) | frozenset(lookup.values()) | FUNCTION_WORDS


def is_ordinary_english(words: Sequence[str]) -> bool:
    """Ordinary words ("switch", "be real", "fb"), which may name an app but often do not."""
    vocabulary = english_words()
    if len(words) == 1 and len(words[0]) <= 2 and words[0].isalpha():
        return True
    return all(w in vocabulary for w in words)


def needs_context(words: Sequence[str]) -> bool:
    """An exact alias match that counts only with app-like words around it: one ordinary word, or
    a phrase of short ordinary words ("be real"). "call of duty" is specific enough on its own."""
    if not is_ordinary_english(words):
        return False
    return len(words) == 1 or (len(words) == 2 and all(len(w) <= 4 for w in words))


@dataclass(frozen=True)
class AppMention:
    app_id: str
    start: int
    end: int
    text: str
    score: float


def squash(text: str) -> str:
    """Letters and digits only: 'Snap Chat!' -> 'snapchat'."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


class AppMatcher:
    def __init__(self, apps: Mapping[str, App]) -> None:
        self._by_alias: Dict[str, str] = {}
        for app in apps.values():
            for alias in (app.name.lower(),) + app.aliases:
                key = squash(alias)
                if key:
                    self._by_alias.setdefault(key, app.id)
        self._fuzzy_keys = [k for k in self._by_alias if len(k) >= FUZZY_MIN_LENGTH]
        longest = max((len(a.split()) for app in apps.values() for a in app.aliases), default=1)
        self._max_words = max(longest, 3)

    def _score(self, phrase: str, fuzzy: bool) -> Optional[Tuple[str, float]]:
        key = squash(phrase)
        if not key:
            return None
        if key in self._by_alias:
            return self._by_alias[key], 100.0
        if fuzzy and len(key) >= FUZZY_MIN_LENGTH:
            best = process.extractOne(key, self._fuzzy_keys, scorer=fuzz.ratio,
                                      score_cutoff=FUZZY_CUTOFF)
            if best:
                return self._by_alias[best[0]], float(best[1])
        return None

    @staticmethod
    def _looks_like_an_app(text: str, words: List[Tuple[int, int]], i: int, n: int) -> bool:
        """Whether an ordinary-English alias at words[i:i+n] is used as an app's name."""
        lowered = text.lower()
        # the word before, or the one before that across an article ("has an android")
        reach = 2 if i >= 2 and lowered[slice(*words[i - 1])] in ARTICLES else 1
        before = {lowered[s:e] for s, e in words[max(0, i - reach):i]}
        after = {lowered[s:e] for s, e in words[i + n:i + n + 1]}
        if before & BEFORE or after & AFTER:
            return True
        if len(words) <= n + 1:  # "twitch?", "discord age"
            return True
        if text[words[i + n - 1][1]:].lstrip()[:1] in ("-", ":", "?"):  # "Threads - who can reply"
            return True
        first_letter = text[words[i][0]]
        return i > 0 and first_letter.isupper()  # "my son uses Discord"

    def find(self, text: str) -> List[AppMention]:
        """Every app named in the text, in order, without overlaps."""
        lowered = text.lower()
        words = [(m.start(), m.end()) for m in WORD.finditer(lowered)]
        candidates: List[Tuple[int, float, AppMention]] = []
        for i in range(len(words)):
            for n in range(1, self._max_words + 1):
                if i + n > len(words):
                    break
                start, end = words[i][0], words[i + n - 1][1]
                phrase_words = [lowered[s:e] for s, e in words[i:i + n]]
                # typos only within one word that is not English ("snapchta", not "for tonight")
                fuzzy = n == 1 and not is_ordinary_english(phrase_words)
                scored = self._score(lowered[start:end], fuzzy)
                if (scored and needs_context(phrase_words)
                        and not self._looks_like_an_app(text, words, i, n)):
                    scored = None
                if scored:
                    app_id, score = scored
                    candidates.append((n, score, AppMention(app_id, start, end, text[start:end], score)))
        chosen: List[AppMention] = []
        for _, _, mention in sorted(candidates, key=lambda c: (-c[1], -c[0], c[2].start)):
            if all(mention.end <= m.start or mention.start >= m.end for m in chosen):
                chosen.append(mention)
        return sorted(chosen, key=lambda m: m.start)


NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
}
_NUMBER = r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")"
AGE_PATTERNS = (
    # "year 7" (school year in England and Wales): a Year 7 child is 11 at the start of the year
    (re.compile(r"\byear\s*(\d{1,2})\b(?!\s*-?\s*olds?)"), 4),
    (re.compile(_NUMBER + r"\s*-?\s*(?:years?|yrs?|yo|y/o)\b(?:\s*-?\s*olds?)?"), 0),
    (re.compile(r"\b(?:aged?|ages)\s*" + _NUMBER + r"\b"), 0),
    (re.compile(r"\b(?:he|she|they|son|daughter|granddaughter|grandson|lad|lass|kid|child|boy|girl|"
                r"nephew|niece)(?:'s|’s| is| are|s|,)?\s+(?:only\s+|just\s+|now\s+)?" + _NUMBER
                + r"\b(?!\s*(?:min|minutes|hours|pounds|quid|%|am|pm|times|days|weeks))"), 0),
    (re.compile(r"\bturned\s+" + _NUMBER + r"\b"), 0),
)


def child_age(text: str) -> Optional[int]:
    """The child's age in years if the text gives one (1 to 18), else None."""
    lowered = text.lower()
    for pattern, offset in AGE_PATTERNS:
        for match in pattern.finditer(lowered):
            raw = match.group(1)
            number = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
            age = number + offset
            if 1 <= age <= 18:
                return age
    return None
