"""Taking personal details out of what parents type, before it is kept or shown to anyone.

`redact` replaces e-mail addresses (also spelled out: "jo dot b at gmail dot com"), phone numbers,
dates, postcodes, street addresses, named schools, social-media handles and profile links, and the
names of people ("my son jack", "our lad Jack Smith", "I'm Sarah", "a man called Steve") with labels
such as [email] and [name]. It errs on the side of removing too much.

Every pattern is linear in the length of the text: each repetition is bounded, and the text is cut
to MAX_LENGTH first, so no message can make it slow (tests/test_privacy.py times the worst cases).
How well it does is measured on tests/privacy/labelled.yml (`python -m tests.privacy.score`).
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from typing import Callable, List, Tuple, Union

from bot.privacy.words import APP_WORDS, COMMON, FIRST_NAMES, INFLECTED, STOP, VOCABULARY

MAX_LENGTH = 4000  # characters: more than any channel lets through (the model reads 1,000)

Replacement = Union[str, Callable[[re.Match], str]]
_found_names: ContextVar[List[str]] = ContextVar("found_names")

# A word as people write names: any letters (É, ł...), with apostrophes or hyphens inside.
WORD = r"[^\W\d_][\w'’-]{0,30}"
URL_TAIL = r"[^\s<>\"]{0,500}?(?=[.,;:!?)\]]*(?:\s|$))"  # a link's path, never its sentence's full stop
MONTHS = (r"january|february|march|april|june|july|august|september|october|november|december|"
          r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
ORDINAL = r"(?:st|nd|rd|th)"
RELATIONS = (
    r"daughters?|sons?|lad|lass|boys?|girls?|child|children|kids?|grandsons?|granddaughters?|"
    r"nephews?|nieces?|step ?sons?|step ?daughters?|step ?dad|step ?mum|husband|wife|partner|"
    r"boyfriend|girlfriend|brothers?|sisters?|friends?|best friend|bestie|mates?|teacher|coach|"
    r"tutor|neighbou?r|dad|mum|mam|mom|ex|cousin|uncle|aunt|auntie|nan|nana|gran|granny|grandma|"
    r"grandad|grandpa|baby|foster (?:son|daughter|child)|pupil|student|"
    r"classmate|(?:wee|little|young|youngest|eldest|oldest) one|fella|fellow|guy|man|woman|lady")
MODIFIERS = (r"\d{1,2}\s*-?\s*(?:years?|yrs?)\s*-?\s*old|\d{1,2}\s*(?:yo|y/o)|little|eldest|"
             r"youngest|oldest|older|younger|teenage|teen|middle|only|big|baby")
STREET_TYPES = (r"street|st|road|rd|lane|ln|avenue|ave|close|drive|dr|way|crescent|court|place|"
                r"terrace|gardens|grove|row|square|walk|mews|rise|croft|fold|gate|vale|parade|wynd|"
                r"brow|park|hill|meadows?|view")
# Words that come between a house number and a street type in ordinary sentences ("2 hours at the
# park", "3 close friends"): a street name is never one of them.
NOT_STREET_NAMES = (r"the|a|an|on|in|at|to|of|for|and|or|my|his|her|their|our|is|are|was|hours?|"
                    r"times?|mins?|minutes?|days?|weeks?|months?|years?|old|kids|children|friends|"
                    r"mates|people|boys|girls|games|messages|pictures|photos|videos|apps|pounds|"
                    r"best|close|other|more|different|new")
SCHOOL_TYPES = r"Primary|Junior|Infants?|Secondary|Grammar|High|Community|Academy|College|School"
NOT_SCHOOL_NAMES = (r"the|a|an|my|her|his|our|their|your|this|that|new|local|primary|secondary|high|"
                    r"middle|big|same|different|school|after|before|home|every|each|nursery|"
                    r"boarding|private|state|special|senior|junior|whole|another|other|his|its|"
                    r"year|summer|holiday|sunday|football|dance|drama|driving|swimming|online|goes|"
                    r"to|at|in|and|of|for|from|sixth|form|further|night|language|art|music|is|was")
# In capitals, "Our Lady of Lourdes Primary" is a school and "The High School" is not.
NOT_SCHOOL_NAMES_CAPITALISED = "|".join(
    word.capitalize() for word in NOT_SCHOOL_NAMES.split("|") if word != "our")
DOT = r"\s*(?:\.|\(dot\)|\[dot\]|\bdot\b)\s*"
AT = r"\s*(?:@|\(at\)|\[at\]|\bat\b)\s*"


MAIL_PROVIDERS = re.compile(r"\bat\s+(?:gmail|googlemail|hotmail|outlook|live|yahoo|icloud|aol|"
                            r"btinternet|sky|virginmedia|talktalk|protonmail|proton)\b", re.I)


def _spelled_email(match: re.Match) -> str:
    """[email] for an address written out ("jo dot b at gmail dot com"), unless it is a sentence
    that happens to fit ("look at it dot com" needs a word before "at" that is not English)."""
    found = match.group(0)
    if "@" in found or "(at)" in found.lower() or "[at]" in found.lower():
        return "[email]"
    local = re.split(r"\s+at\s+", found, flags=re.I)[0]
    if re.search(r"\bdot\b", found, re.I) or re.search(r"[.\d_]", local) or MAIL_PROVIDERS.search(found):
        return "[email]"
    return found


def _phone(match: re.Match) -> str:
    """[phone] if the digits make a UK (or international) number, else the text as it was."""
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    if found.startswith("+") or digits.startswith("00"):
        digits = digits[2:] if digits.startswith("00") else digits
        if digits.startswith("44"):
            national = digits[2:].removeprefix("0")
            return "[phone]" if len(national) in (9, 10) else found
        return "[phone]" if 8 <= len(digits) <= 15 else found
    return "[phone]" if digits.startswith("0") and len(digits) in (10, 11) else found


# Products and games whose names carry numbers ("fifa24", "iphone15"): not somebody's handle.
NUMBERED_PRODUCTS = frozenset(
    "fifa fc iphone ipad galaxy pixel windows win xbox ps playstation gta cod mw bo year yr covid "
    "mp nba madden pes efootball android ios version level lvl age pegi under over top note redmi "
    "macbook switch series season chapter part episode ep grade class form room gen ks".split())


def _handle(match: re.Match) -> str:
    """[handle] for a username written without @ ("jack_smith2012", "xXgamerXx99", "jack#1234")."""
    token = match.group(0)
    if "#" in token:
        return "[handle]"
    if "_" in token:
        return "[handle]"
    prefix = re.match(r"[A-Za-z]*", token).group(0).lower()
    if sum(c.isdigit() for c in token) >= 2 and sum(c.isalpha() for c in token) >= 3 \
            and prefix not in NUMBERED_PRODUCTS:
        return "[handle]"
    return token


CONTRACTION = re.compile(r"['’](?:t|re|ve|ll|d|m)$")  # "isn't", "don't", "they're": not names


def _is_capitalised(word: str, title_case: bool) -> bool:
    """Whether a capital says something: not in a message written All In Capitals Or Title Case."""
    return not title_case and word[0].isupper() and not word.isupper()


def _first_name(word: str, title_case: bool, strict: bool) -> bool:
    """Whether `word`, right after "my son" or "called", is a name. `strict` (after "I'm") asks
    for a name we know, or a capitalised word that is not English."""
    lower = word.lower().strip("'’-")
    if not lower or lower in STOP or lower in APP_WORDS or CONTRACTION.search(lower):
        return False
    if lower in FIRST_NAMES:
        return True
    if _is_capitalised(word, title_case):
        return lower not in INFLECTED and (not strict or lower not in VOCABULARY)
    return lower not in COMMON and lower not in VOCABULARY and len(lower) > 1


def _surname(word: str, title_case: bool) -> bool:
    lower = word.lower().strip("'’-")
    if not lower or lower in STOP or lower in APP_WORDS or CONTRACTION.search(lower):
        return False
    if _is_capitalised(word, title_case):
        return lower not in INFLECTED
    return lower.isalpha() and lower not in COMMON


def _possessive(word: str) -> Tuple[str, str]:
    """("Harry", "'s") for "Harry's"; (word, "") for a word that is not possessive."""
    if len(word) > 3 and word[-2:].lower() in ("'s", "’s"):
        return word[:-2], word[-2:]
    return word, ""


@functools.lru_cache(maxsize=16)
def _title_case(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text)
    return len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


def _names(strict: bool) -> Callable[[re.Match], str]:
    """Replaces the name (first name and surname) that follows the words matched as group 1."""

    def replace(match: re.Match) -> str:
        title_case = _title_case(match.string)
        lead, first, second = match.group(1), match.group(2), match.group(3)
        first, owner = _possessive(first)
        if not _first_name(first, title_case, strict):
            return match.group(0)
        _found_names.get().append(first)
        if second and not owner:
            second, owner = _possessive(second)
            if _surname(second, title_case):
                _found_names.get().append(second)
                return f"{lead}[name]{owner}"
        return f"{lead}[name]{owner}" + match.group(0)[match.end(2) - match.start():]

    return replace


def _name_pattern(lead: str) -> re.Pattern:
    """`lead` (group 1, with the space after it), then a word and maybe a second (groups 2, 3)."""
    return re.compile(rf"({lead})({WORD})(?:\s+({WORD}))?", re.I)


# (pattern, replacement), applied in order: the specific ones before the general.
PATTERNS: List[Tuple[re.Pattern, Replacement]] = [
    # "jane dot doe at gmail dot com", "jo(at)hotmail.com"
    (re.compile(rf"(?<![\w.+'-])[\w+'-]{{1,64}}(?:{DOT}[\w+'-]{{1,64}}){{0,3}}{AT}[\w-]{{1,63}}"
                rf"(?:(?:{DOT}[\w-]{{1,63}}){{0,2}}{DOT}(?:com|co|uk|org|net|ie|ac|gov|me))\b"
                r"(?![/.]\w)", re.I),
     _spelled_email),
    (re.compile(r"(?<![\w.+'-])[\w.+'-]{1,64}(?:@|\s@\s)[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"), "[email]"),
    (re.compile(rf"\b(?:https?://|www\.){URL_TAIL}", re.I), "[link]"),
    (re.compile(rf"\b(?:[a-z0-9-]{{1,63}}\.){{1,4}}[a-z]{{2,6}}/{URL_TAIL}", re.I), "[link]"),
    (re.compile(r"\b(?:[a-z0-9-]{1,63}\.){2,4}(?:com|uk|org|net|gg|io|tv|me|app|ie)\b(?!\.\w)", re.I),
     "[link]"),
    (re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])"), "[handle]"),
    # dates: 12/03/2012, 12-3-12, 12 March 2012, 12th of march, March 12th 2012
    (re.compile(r"(?<![\d/.-])\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?![\d/-]|\.\d)"), "[date]"),
    (re.compile(r"(?<![\d/.-])\d{4}-\d{1,2}-\d{1,2}(?![\d/-]|\.\d)"), "[date]"),
    (re.compile(rf"\b\d{{1,2}}{ORDINAL}?(?:\s+of)?\s+(?:{MONTHS}|may)\b(?:,?\s+\d{{4}}\b)?", re.I),
     "[date]"),
    (re.compile(rf"\b(?:(?i:{MONTHS})\s+\d{{1,2}}(?:{ORDINAL})?\b|May\s+\d{{1,2}}(?:{ORDINAL}\b|\b"
                rf"(?=,?\s+\d{{4}})))(?:,?\s+\d{{4}}\b)?(?!\s*(?:hours?|mins?|minutes?|times?|pm|am)\b)"),
     "[date]"),
    # phone numbers in any spacing: 07700 900123, 07 700 900 123, +44 (0)7700 900123, 0044 ...
    (re.compile(r"(?<![\w+])(?:\+|\b00|\b0|\()[\d\s().-]{7,20}\d(?![\d])"), _phone),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s{0,2}\d[A-Z]{2}\b", re.I), "[postcode]"),
    (re.compile(rf"\b\d{{1,4}}[a-z]?,?\s+(?:\d{{1,4}}[a-z]?,?\s+)?"
                rf"(?:(?!(?:{NOT_STREET_NAMES})\b)[A-Za-z'’-]{{2,20}}\s+){{1,3}}(?:{STREET_TYPES})\b",
                re.I), "[address]"),
    # schools: "St Mary's C of E Primary", "Carlisle Academy", "goes to st bees school"
    (re.compile(rf"\b(?:(?:St\.?|Saint)\s+)?(?:(?!(?:{NOT_SCHOOL_NAMES_CAPITALISED})\b)[A-Z][\w'’.-]"
                rf"{{1,20}}\s+(?:(?:of|the|and|de|upon|on)\s+)?){{1,4}}(?:(?:C of E|CE|RC|Catholic|"
                rf"Church of England)\s+)?(?:{SCHOOL_TYPES})(?:\s+(?:School|Academy|College))?\b"),
     "[school]"),
    (re.compile(rf"\b(?:(?!(?:{NOT_SCHOOL_NAMES.upper()})\b)[A-Z][A-Z'’.-]{{1,20}}\s+){{1,4}}"
                rf"(?:{SCHOOL_TYPES.upper()})(?:\s+(?:SCHOOL|ACADEMY|COLLEGE))?\b"), "[school]"),
    (re.compile(rf"\b(goes to|go to|went to|attends|attend|attending|pupils? at|students? at|at|"
                rf"from)\s+(?:(?!(?:{NOT_SCHOOL_NAMES})\b)[a-z'’.-]{{2,20}}\s+){{1,3}}"
                rf"(?:{SCHOOL_TYPES.lower()})(?:\s+(?:school|academy|college))?\b"), r"\1 [school]"),
    # usernames without @
    (re.compile(r"(?<![\w@#/.])[A-Za-z][A-Za-z0-9_.]{1,29}#\d{4}\b"), _handle),
    (re.compile(r"(?<![\w@#/.\[])[A-Za-z_][A-Za-z0-9_.]{1,28}[A-Za-z0-9_](?![\w@#\]])"), _handle),
    # names
    (_name_pattern(r"\b(?:called|named|name is|name's|names|name was|known as)\s+"), _names(False)),
    (_name_pattern(rf"(?:\b(?:my|our|her|his|their|your|the|a|me)\s+|['’]s\s+)"
                   rf"(?:(?:{MODIFIERS}|[\w'’-]{{1,20}})\s+){{0,2}}?(?:{RELATIONS}),?\s+"), _names(False)),
    (_name_pattern(r"\b(?:mr|mrs|miss|ms|dr)\.?\s+"), _names(False)),
    (_name_pattern(r"(?:^|(?<=[\s,.!?(]))(?:i am|i'm|i’m|im|this is|it's|it’s|it is)\s+"), _names(True)),
]


def redact(text: str) -> str:
    """The text (cut to MAX_LENGTH) with personal details replaced by labels. A name found once
    ("my daughter Aoife") is also taken out where it comes again ("Aoife said...")."""
    text = text[:MAX_LENGTH]
    token = _found_names.set([])
    try:
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        names = sorted({name for name in _found_names.get() if len(name) > 1}, key=len, reverse=True)
    finally:
        _found_names.reset(token)
    if names:
        again = re.compile(r"(?<![\w\[])(?:" + "|".join(map(re.escape, names)) + r")(?![\w\]])", re.I)
        text = again.sub("[name]", text)
    return text
