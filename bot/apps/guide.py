"""What the assistant says about one app, given what it knows of the child: plain functions.

actions/app_guide.py reads the slots and sends these messages; the words about each app are in
data/content/apps.yml, the fixed phrases below.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from bot import content
from bot.apps.catalogue import App

NEXT_TOPICS = ("parental_controls", "check_friends", "report_concern")


MAX_CHILD_AGE = 25  # beyond this it is not a child's age (and "1e300" is nobody's)


def child_age(value: Any) -> Optional[int]:
    """A child's age from an entity or slot value ("12", 12, "12.0"), or None for anything that
    is not a whole number of years from 0 to MAX_CHILD_AGE ("abc", "-3", "1e9", a list)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}(?:\.0+)?\s*", value):
        number = float(value)
    else:
        return None
    return int(number) if number.is_integer() and 0 <= number <= MAX_CHILD_AGE else None


def _maybe(app: App, field: str) -> str:
    return " (not confirmed)" if field in app.unconfirmed else ""


def pegi_age(app: App) -> Optional[int]:
    """The PEGI age in the app's rating ("PEGI 18" -> 18), if it has one."""
    match = re.search(r"\bPEGI (\d+)", app.rating)
    return int(match.group(1)) if match else None


def age_line(app: App, age: Optional[int]) -> str:
    """What the app's minimum age (or its PEGI rating) means for this child, said plainly."""
    if app.min_age is None:
        note = app.min_age_note or f"{app.name} has no fixed minimum age in its terms."
        if age is None:
            return note
        pegi = pegi_age(app)
        if pegi and age < pegi:
            return (f"{note} Your child is {age}, and it is rated PEGI {pegi}: its content is not "
                    f"meant for under-{pegi}s, and it is illegal to sell it to them.")
        return f"{note} Your child is {age}."
    minimum = f"{app.name}'s own rules say users must be {app.min_age} or over{_maybe(app, 'min_age')}"
    if age is None:
        return f"{minimum}. How old is your child? Tell me and I'll say what that means for them."
    if age < app.min_age:
        return (
            f"Your child is {age}, and {minimum}, so they are too young for an account. Children "
            "who sign up with a false age lose the extra protections the app gives teenagers."
        )
    return f"Your child is {age}, and {minimum}, so they are old enough; the settings below still matter."


def app_answer(app: App, age: Optional[int], answers: Dict[str, content.Answer]) -> List[Dict[str, Any]]:
    """The answer to "is <app> safe for my child?": what it is and the age rules; the risks and
    the settings to switch on; how to block and report, the official link, and next steps."""
    first = f"{app.name}: {app.what_it_is} {age_line(app, age)}"
    if app.rating and not re.match(r"(?i)(not confirmed|unconfirmed)", app.rating):
        first += f" Rating: {app.rating}{_maybe(app, 'rating')}."
    else:
        first += " Age rating: not confirmed."
    second = "Main risks: " + "; ".join(app.risks) + "."
    if app.settings:
        second += f" Settings to switch on{_maybe(app, 'settings')}: " + "; ".join(app.settings) + "."
    third = f"{app.report} {content.MORE_PREFIX} {app.link}"
    return [
        {"text": first},
        {"text": second},
        {"text": third, "buttons": content.buttons_for(NEXT_TOPICS, answers)},
    ]


def controls_answer(app: App, answers: Dict[str, content.Answer]) -> List[Dict[str, Any]]:
    """The answer to "how do I set the controls on it?" when "it" is a known app."""
    if app.settings:
        text = f"On {app.name}{_maybe(app, 'settings')}: " + "; ".join(app.settings) + "."
    else:
        text = f"{app.name} has no parental controls of its own that I can tell you about."
    text += f" {app.report} {content.MORE_PREFIX} {app.link}"
    return [{"text": text, "buttons": content.buttons_for(("parental_controls", "privacy_settings",
                                                            "check_friends"), answers)}]
