"""Redaction (bot/privacy): how well it finds personal details, measured on labelled sets, and that
no message can make it slow."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.server import REQUEST_MAX_SIZE
from bot.privacy import MAX_LENGTH, redact
from tests.privacy import score

# Measured on the labelled set (tests/privacy/labelled.yml, 492 messages), which the redactor was
# developed against; the floors sit just under today's figures, so a change that loses ground
# fails. Before this redactor: recall 0.574, over-redaction 0.052, exact 0.638.
LABELLED_FLOOR = {"recall": 0.99, "exact": 0.98}
LABELLED_OVER_REDACTION_CEILING = 0.01


def test_the_labelled_set():
    result = score.score(redact, score.cases())
    assert result["cases"] >= 300
    assert result["recall"] >= LABELLED_FLOOR["recall"], score.misses(redact, score.cases())
    assert result["exact"] >= LABELLED_FLOOR["exact"], score.misses(redact, score.cases())
    assert result["over_redaction"] <= LABELLED_OVER_REDACTION_CEILING


# The held-out set (tests/privacy/heldout.yml, 160 messages in five writers' voices) was written
# apart from the redactor and measured once before two bug fixes (a full stop taken into a handle
# or a date; "isn't" read as a name): recall 0.910, over-redaction 0.041. Now 0.910 and 0.027.
# Before this redactor: recall 0.569, over-redaction 0.123. Not tuned on: a miss here is a
# reason to add cases to labelled.yml, not to this file.
def test_the_heldout_set():
    result = score.score(redact, score.cases(score.HELDOUT))
    assert result["cases"] >= 150
    assert result["recall"] >= 0.90
    assert result["over_redaction"] <= 0.05


# What the security review found missed (issue: hardening), each one exact.
@pytest.mark.parametrize("text, kept", [
    ("call 0044 7700 900123", "call [phone]"),
    ("or 07 700 900 123", "or [phone]"),
    ("my son Jack Smith plays roblox", "my son [name] plays roblox"),
    ("my son jack plays roblox", "my son [name] plays roblox"),
    ("my 12 year old son Jack is on tiktok", "my 12 year old son [name] is on tiktok"),
    ("I am Sarah Jones, his mum", "I am [name], his mum"),
    ("my daughter Zoë is 11", "my daughter [name] is 11"),
    ("she was born 12/03/2012", "she was born [date]"),
    ("born on 12 March 2012", "born on [date]"),
    ("his gamertag is jack_smith2012", "his gamertag is [handle]"),
    ("on discord he is jack#1234", "on discord he is [handle]"),
    ("his profile roblox.com/users/123456/profile", "his profile [link]"),
    ("she goes to St Bees School", "she goes to [school]"),
    ("we live at 14 Scotch Street, Whitehaven", "we live at [address], Whitehaven"),
    ("email jane dot doe at gmail dot com", "email [email]"),
    ("my son is 12 and Will not stop gaming", "my son is 12 and Will not stop gaming"),
])
def test_what_the_security_review_found(text, kept):
    assert redact(text) == kept


def test_a_name_found_once_is_removed_where_it_comes_again():
    assert redact("my daughter Aoife is 12. Aoife says he is nice") == \
        "my daughter [name] is 12. [name] says he is nice"


def test_text_is_cut_before_it_is_redacted():
    assert len(redact("a" * (MAX_LENGTH * 3))) == MAX_LENGTH


SLOW = 0.05  # seconds: the most any message may take


def timed(text: str) -> float:
    start = time.perf_counter()
    redact(text)
    return time.perf_counter() - start


# Inputs built to make a backtracking pattern slow: long runs of what each pattern repeats.
ADVERSARIAL = {
    "letters": "A" * REQUEST_MAX_SIZE, "dots": "a." * (REQUEST_MAX_SIZE // 2),
    "digits": "0" * REQUEST_MAX_SIZE, "spaced digits": "0 " * (REQUEST_MAX_SIZE // 2),
    "at signs": "a@" * (REQUEST_MAX_SIZE // 2), "spelled": "ab at x dot " * 6000,
    "urls": "http://" * 9000, "relations": "my son " * 9000, "introductions": "i am " * 13000,
    "names": "my son Jack Smith " * 3600, "capitals": "ABC " * 16000, "underscores": "_a" * 32000,
    "slashes": "1/" * 32000, "tags": "a#1" * 20000, "saints": "St " * 20000,
    "streets": "12 a b c " * 7000, "schools": "at a b c " * 7000,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_no_adversarial_input_is_slow(name):
    timed(ADVERSARIAL[name])  # the first call loads the word lists
    assert timed(ADVERSARIAL[name]) < SLOW


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1000, max_size=8000)
       .map(lambda t: (t * (REQUEST_MAX_SIZE // max(len(t), 1) + 1))[:REQUEST_MAX_SIZE]))
def test_no_generated_input_up_to_the_request_limit_is_slow(text):
    assert timed(text) < SLOW
