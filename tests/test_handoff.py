"""The hand-off summary's choices, without Rasa."""

from __future__ import annotations

import pytest

from bot import content
from bot.safeguarding.handoff import handoff_summary, load_summaries

CONTACTS = content.load_contacts()
ANSWERS = content.load_answers()
SUMMARIES = load_summaries()


def texts(in_danger_now, concern_kind):
    return [m["text"] for m in handoff_summary(in_danger_now, concern_kind, SUMMARIES, CONTACTS,
                                               ANSWERS)]


@pytest.mark.parametrize("kind, must_contain", [
    ("sexual_contact", "ceop_report_url"),
    ("blackmail", "report_remove_url"),
    ("image_shared", "report_remove_url"),
    ("abuse_images", "iwf_report_url"),
    ("someone_viewing", "stop_it_now_phone"),
    ("other", "police_non_emergency"),
    ("unsure", "nspcc_helpline"),
])
def test_each_kind_of_concern_gets_its_service(kind, must_contain):
    said = texts("no", kind)
    assert CONTACTS[must_contain] in said[0]
    assert said[-1] == " ".join(SUMMARIES.closing.split()).format_map(CONTACTS)


def test_not_sure_about_danger_puts_999_first():
    said = texts("unsure", "blackmail")
    assert said[0].startswith(f"If you think a child could be in danger, call {CONTACTS['emergency']}")


def test_a_skipped_kind_gets_the_general_routes():
    assert texts("no", None)[0] == texts("no", "unsure")[0]


def test_the_summary_ends_with_next_step_buttons():
    last = handoff_summary("no", "other", SUMMARIES, CONTACTS, ANSWERS)[-1]
    assert [b["payload"] for b in last["buttons"]] == ["/evidence", "/after_reporting",
                                                       "/parent_support"]


def test_every_summary_fits_a_messenger_message():
    for kind in SUMMARIES.by_concern:
        for text in texts("unsure", kind):
            assert len(text) <= content.MESSAGE_LIMIT
