"""The curated answers and the training data keep every rule (bot/staff/checks.py), on the real files."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot import content
from bot.staff import checks
from bot.topics import load_topics


@pytest.fixture(scope="module")
def answers():
    return content.load_answers()


@pytest.fixture(scope="module")
def contacts():
    return content.load_contacts()


@pytest.fixture(scope="module")
def topics():
    return load_topics()


def test_all_content_and_training_data_keep_the_rules():
    errors = [str(p) for p in checks.check_all() if p.severity == "error"]
    assert errors == []


def test_every_topic_in_the_catalogue_has_an_answer_and_training_data(answers, topics):
    intents = {example.intent for example in checks.load_examples()}
    assert set(topics) <= set(answers)
    assert set(topics) <= intents


def test_every_must_show_marker_is_in_the_rendered_answer(answers, contacts, topics):
    for topic in topics.values():
        shown = "\n".join(m["text"] for m in content.rendered_messages(answers[topic.id], answers, contacts))
        for marker in topic.must_show:
            assert marker in shown, (topic.id, marker)


def test_key_numbers_come_from_the_contacts_file(answers, contacts):
    assert contacts["emergency"] == "999"
    assert contacts["police_non_emergency"] == "101"
    assert contacts["nspcc_helpline"] == "0808 800 5000"
    assert contacts["childline_phone"] == "0800 1111"
    assert contacts["stop_it_now_phone"] == "0808 1000 900"
    for answer in answers.values():
        for text in answer.messages:
            for number in ("999", "0808 800 5000", "0800 1111", "0808 1000 900"):
                assert number not in text, (answer.topic, number)


def test_immediate_danger_opens_with_999(answers, contacts):
    first = content.rendered_messages(answers["immediate_danger"], answers, contacts)[0]["text"]
    assert first.startswith(f"Call {contacts['emergency']} now")


def test_a_link_off_the_allowlist_is_named(answers, contacts, topics):
    bad = replace(answers["check_friends"], links=("https://example.com/tips",))
    problems = checks.check_answers({**answers, "check_friends": bad}, contacts, topics,
                                    checks.load_allowlist())
    assert [p.message for p in problems] == [
        "check_friends: https://example.com/tips is not on an official site in "
        "data/content/allowed_links.yml. Use a link from the NSPCC, CEOP, Childline, the IWF, "
        "the police or another listed site"
    ]


def test_http_links_and_lookalike_domains_are_refused():
    allowed = ["nspcc.org.uk"]
    assert checks.link_problem("https://www.nspcc.org.uk/x", allowed) is None
    assert checks.link_problem("http://www.nspcc.org.uk/x", allowed)
    assert checks.link_problem("https://nspcc.org.uk.evil.com/", allowed)
    assert checks.link_problem("https://fakenspcc.org.uk/", allowed)


def test_advice_to_screenshot_an_image_is_caught(answers, contacts, topics):
    bad = replace(answers["evidence"], messages=("Screenshot the photo and send it to the police.",))
    problems = checks.check_answers({**answers, "evidence": bad}, contacts, topics,
                                    checks.load_allowlist())
    assert any("copy or pass on an image" in p.message for p in problems)


def test_a_literal_number_and_a_missing_source_are_caught(answers, contacts, topics):
    bad = replace(answers["parent_support"], sources=(),
                  messages=("Ring the NSPCC on 0808 800 5000.",))
    messages = [p.message for p in checks.check_answers(
        {**answers, "parent_support": bad}, contacts, topics, checks.load_allowlist())]
    assert "parent_support: add at least one source under `sources:`" in messages
    assert any("write {nspcc_helpline} instead of 0808 800 5000" in m for m in messages)


def test_an_old_review_date_is_a_warning(answers, contacts, topics):
    old = replace(answers["screen_time"], reviewed=dt.date(2020, 1, 1))
    problems = checks.check_answers({**answers, "screen_time": old}, contacts, topics,
                                    checks.load_allowlist())
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "screen_time: last reviewed 2020-01-01: over 12 months ago, check it again")
    ]


def test_an_example_in_two_intents_and_too_few_examples_are_caught(topics, tmp_path):
    path = tmp_path / "x.yml"
    examples = [checks.Example("screen_time", "how long should he be online", path, 3),
                checks.Example("online_gaming", "How long should he be online?", path, 9)]
    messages = [p.message for p in checks.check_examples(examples, topics)]
    assert ("'How long should he be online?' is also an example of 'screen_time' (x.yml:3); "
            "an example may teach only one topic") in messages
    assert "topic 'screen_time' has 1 examples; write at least 30 in a file in data/nlu" in messages


def test_every_topic_keeps_six_unseen_heldout_examples_in_each_set(topics):
    from collections import Counter

    from tests.support.nlu_data import heldout_examples

    for name in ("heldout.yml", "heldout_blind.yml"):
        counts = Counter(topic for _, topic in heldout_examples(name))
        assert {t: counts[t] for t in topics if counts[t] < 6} == {}, name


def test_a_contact_without_a_source_or_a_review_date_is_caught(contacts, tmp_path):
    from bot.staff.checks import check_contact_sources

    path = tmp_path / "contacts.yml"
    path.write_text("force:\n  emergency: '999'\nsources:\n  emergency: https://example.org/999\n"
                    "  fax: https://example.org/fax\n")
    messages = [p.message for p in check_contact_sources(
        {"emergency": "999", "police_non_emergency": "101"}, dt.date(2026, 11, 28), path)]
    assert "add a source for 'police_non_emergency' under `sources:`" in messages
    assert "`sources:` names 'fax', which is not a contact" in messages
    assert "add a reviewed date, e.g. reviewed: 2026-11-28" in messages
    assert not any("'emergency'" in m for m in messages)
    assert check_contact_sources(contacts, dt.date.today()) == []


def test_an_answer_is_one_response_and_our_channels_send_its_messages_one_by_one():
    """`utter_<topic>` holds every message of the answer (the first, the others under `custom`),
    so a rule sends a whole answer with one action; chat_messages gives the messages back in
    order, each keeping what Rasa says about the response, and leaves other messages alone."""
    from rasa.shared.core.events import ActionExecuted

    from bot.importer import ContentImporter

    answers, contacts = content.load_answers(), content.load_contacts()
    responses = content.domain_responses(answers, contacts, content.load_system_messages())
    written = content.rendered_messages(answers["sextortion"], answers, contacts)
    assert len(written) >= 2
    sent = content.chat_messages({**responses["utter_sextortion"][-1], "utter_action": "utter_sextortion"})
    assert [m["text"] for m in sent] == [m["text"] for m in written]
    assert all(m["utter_action"] == "utter_sextortion" and "custom" not in m for m in sent)
    assert not any(name.startswith("utter_sextortion_") for name in responses)
    other = {"text": "hi", "custom": {"messages": [{"text": "x"}], "kind": "other"}}
    assert content.chat_messages(other) == [other]

    importer = ContentImporter(str(content.PROJECT_DIR / "config.yml"),
                               str(content.PROJECT_DIR / "domain.yml"),
                               [str(content.PROJECT_DIR / "data")])
    for step in importer.get_stories().story_steps:
        actions = [e.action_name for e in step.events
                   if isinstance(e, ActionExecuted) and e.action_name != "..."]
        if step.block_name == "sextortion - what to do now, then the questions":
            assert actions[:2] == ["utter_sextortion", "triage_form"]
            break
    else:
        raise AssertionError("the sextortion rule is not in the training data")


def test_links_inside_texts_are_checked_as_a_parent_would_see_them():
    from bot.staff.content_rules import link_problems_in_text

    allowed = ["police.uk", "nspcc.org.uk"]
    assert link_problems_in_text("Report at https://www.ceop.police.uk/safety-centre/ now", allowed) == []
    problems = link_problems_in_text("See https://www.ceop.police.uk/safety-centre/. Or "
                                     "http://example.com/free-robux, www.nspcc.org.uk", allowed)
    assert any("ends with '.'" in p for p in problems)
    assert any("http://example.com/free-robux must be a full https:// link" in p for p in problems)
    assert any("www.nspcc.org.uk must be a full https:// link" in p for p in problems)


def test_no_outside_set_message_is_in_the_training_data():
    """tests/nlu/outside.yml (questions real parents wrote on public pages) is for measuring only:
    none of its messages may teach the model."""
    import yaml

    from bot.staff.training_data import load_examples, normalised

    outside = yaml.safe_load((content.PROJECT_DIR / "tests" / "nlu" / "outside.yml").read_text())
    assert len(outside["examples"]) >= 150
    assert all(e["source"].startswith(("https://", "http://")) for e in outside["examples"])
    training = {normalised(e.text) for e in load_examples()}
    assert [e["text"] for e in outside["examples"] if normalised(e["text"]) in training] == []
