"""Noticing a message that is not in English, so the parent is told (in English, with the contacts)
that the assistant only understands English, rather than given a wrong answer.

A deliberately small check: a message mostly in another script (Urdu, Arabic, Polish is Latin),
or one with several common Welsh or Polish words and few English ones.
"""

from __future__ import annotations

import re
from typing import Optional

ENGLISH = frozenset(
    "the a an and is are was i im i'm my me you your he she it its to of in on for with what how "
    "can do does not this that have has be at by from or if our we they his her him so about "
    "should would will my".split())
WELSH = frozenset(
    "mae yn yr fy ei gyda beth sut ydy ydw oes plentyn merch mab ddim dw chi nhw rydw efo ond "
    "helo diolch ar-lein ffôn gêm fi hefyd iawn eisiau poeni".split())
POLISH = frozenset(
    "jest nie się czy moja mój moje córka syn dziecko jak że ale jestem mam dzień dobry proszę "
    "pomoc bezpieczny bezpieczna grać gra telefon martwię".split())
POLISH_LETTERS = re.compile(r"[ąćęłńśźż]")
WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def other_language(text: str) -> Optional[str]:
    """'welsh', 'polish' or 'other script' when the message is not in English, else None."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 3 and sum(ord(c) > 0x24F for c in letters) / len(letters) >= 0.5:
        return "other script"
    words = WORD.findall(text.lower())
    if len(words) < 3:
        return None
    english = sum(w in ENGLISH for w in words)
    welsh = sum(w in WELSH for w in words)
    polish = sum(w in POLISH for w in words) + sum(bool(POLISH_LETTERS.search(w)) for w in words)
    for name, count in (("welsh", welsh), ("polish", polish)):
        if count >= 2 and english * 2 <= count:
            return name
    return None
