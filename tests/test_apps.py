"""The app guide without Rasa: the catalogue's rules, recognising apps and ages, the answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import content
from bot.apps import recognise
from bot.apps.catalogue import load_catalogue
from bot.apps.guide import age_line, app_answer
from bot.staff import checks

CATALOGUE = load_catalogue()
MATCHER = recognise.AppMatcher(CATALOGUE)
ANSWERS = content.load_answers()
MENTIONS = yaml.safe_load((Path(__file__).parent / "apps" / "mentions.yml").read_text())["mentions"]


def test_the_catalogue_has_at_least_30_apps_and_keeps_every_rule():
    assert len(CATALOGUE) >= 30
    assert checks.check_catalogue(CATALOGUE, checks.load_allowlist()) == []


def test_an_alias_shared_by_two_apps_is_named():
    from dataclasses import replace

    clash = {**CATALOGUE, "tiktok": replace(CATALOGUE["tiktok"], aliases=("insta",))}
    messages = [p.message for p in checks.check_catalogue(clash, checks.load_allowlist())]
    assert any("the alias 'insta' is also used by" in m for m in messages)


def first_app(text):
    found = MATCHER.find(text)
    return found[0].app_id if found else None


def test_app_recognition_on_heldout_mentions_is_at_least_097():
    right = sum(first_app(m["text"]) == m["app"] for m in MENTIONS)
    wrong = [(m["text"], m["app"], first_app(m["text"])) for m in MENTIONS
             if first_app(m["text"]) != m["app"]]
    assert right / len(MENTIONS) >= 0.97, wrong


def test_child_age_on_heldout_mentions_is_at_least_095():
    right = sum(recognise.child_age(m["text"]) == m.get("child_age") for m in MENTIONS)
    wrong = [(m["text"], m.get("child_age"), recognise.child_age(m["text"])) for m in MENTIONS
             if recognise.child_age(m["text"]) != m.get("child_age")]
    assert right / len(MENTIONS) >= 0.95, wrong


@pytest.mark.parametrize("text, app", [
    ("is roblocks ok", "roblox"), ("snap chat age?", "snapchat"), ("fortnight", "fortnite"),
    ("insta", "instagram"), ("gta 5 for a 12 year old", "gta"), ("whats app groups", "whatsapp"),
    ("youtube kids or youtube", "youtube_kids"),
])
def test_names_nicknames_and_misspellings(text, app):
    assert first_app(text) == app


@pytest.mark.parametrize("text, age", [
    ("my 9 year old", 9), ("she's twelve", 12), ("year 7", 11), ("he is 10", 10), ("aged 8", 8),
    ("gta 5", None), ("back in 5 minutes", None), ("my 40 year old husband", None),
])
def test_child_ages(text, age):
    assert recognise.child_age(text) == age


def app_with_minimum():
    return next(a for a in CATALOGUE.values() if a.min_age)


def test_a_child_under_the_minimum_age_is_told_plainly():
    app = app_with_minimum()
    line = age_line(app, app.min_age - 2)
    assert line.startswith(f"Your child is {app.min_age - 2}")
    assert "too young for an account" in line


def test_a_child_at_the_minimum_age_is_old_enough():
    app = app_with_minimum()
    assert "old enough" in age_line(app, app.min_age)


def test_every_app_answer_fits_messenger():
    for app in CATALOGUE.values():
        for age in (None, 8, 16):
            for message in app_answer(app, age, ANSWERS):
                assert len(message["text"]) <= content.MESSAGE_LIMIT, (app.id, age)


def test_a_child_under_a_pegi_rating_is_told_plainly():
    app = next(a for a in CATALOGUE.values() if a.min_age is None and "PEGI 18" in a.rating)
    assert "rated PEGI 18: its content is not meant for under-18s" in age_line(app, 12)
