"""Taking personal details out of what parents type, before it is kept or shown to anyone.

`redact` replaces email addresses, UK phone numbers, postcodes, street addresses, social-media
handles and profile links, and names a parent introduces ("my daughter Emily") with labels such as
[email] and [name]. It errs on the side of removing too much.
"""

from __future__ import annotations

import re
from typing import List, Tuple

RELATIONS = (r"daughter|son|lad|lass|boy|girl|child|kid|grandson|granddaughter|nephew|niece|"
             r"step ?son|step ?daughter|husband|wife|partner|boyfriend|girlfriend|brother|sister|"
             r"friend|mate|teacher|neighbour|dad|mum|mam|ex")
# (pattern, label), applied in order: the specific ones before the general.
PATTERNS: List[Tuple[re.Pattern, str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.I), "[email]"),
    (re.compile(r"https?://\S+|www\.\S+|\b(instagram|facebook|tiktok|snapchat|twitter|x|youtube|"
                r"discord)\.(com|gg)/\S+", re.I), "[link]"),
    (re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,30}"), "[handle]"),
    # UK phone numbers: 07700 900123, +44 7700 900123, 01228 123456, (01228) 123 456
    (re.compile(r"(?<!\d)(\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"), "[phone]"),
    # UK postcodes: CA1 1AA, LA9 4PZ, sw1a1aa
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I), "[postcode]"),
    # street addresses: "12 Church Street", "flat 3, 4 mill lane"
    (re.compile(r"\b\d{1,4}[a-z]?,?\s+(\w+\s){0,3}(street|st|road|rd|lane|ln|avenue|ave|close|"
                r"drive|dr|way|crescent|court|place|terrace|gardens|grove|row|square|walk)\b", re.I),
     "[address]"),
    # names a parent introduces: "my daughter Emily", "her name is Sophie", "a lad called Jack"
    (re.compile(r"\b(called|named|name is|name's|names)\s+[A-Za-z][a-z'-]+", re.I), r"\1 [name]"),
    (re.compile(r"\b(my|our|her|his|their)\s+(" + RELATIONS + r"),?\s+([A-Z][a-z'-]+)\b"),
     r"\1 \2 [name]"),
]


def redact(text: str) -> str:
    """The text with personal details replaced by labels."""
    for pattern, label in PATTERNS:
        text = pattern.sub(label, text)
    return text
