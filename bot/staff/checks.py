"""`python -m bot check`: every rule over the files as they are now (check_all), and Rasa's own
validation (rasa_validate). The rules themselves: content_rules.py (answers, contacts, apps, rules)
and training_data.py (examples). Each problem names the file, the line and what to do about it,
for the comms officer who made the change.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import List, Optional, Set

import yaml

from bot import content
from bot.staff.content_rules import (  # noqa: F401  (also used through this module)
    RULES_DIR,
    TITLE_LIMIT,
    check_answers,
    check_catalogue,
    check_citations,
    check_contact_sources,
    check_rules,
    check_texts,
    link_problem,
    load_allowlist,
)
from bot.staff.problems import Problem, line_of  # noqa: F401
from bot.staff.training_data import (  # noqa: F401
    MIN_EXAMPLES,
    NLU_DIR,
    Example,
    check_examples,
    load_examples,
    load_examples_from,
    normalised,
)
from bot.topics import Topic, load_topics

DOMAIN_FILE = content.PROJECT_DIR / "domain.yml"
# `rasa data validate` warnings we accept, and why (every other warning is a problem to fix).
ACCEPTED_VALIDATE_WARNINGS = {
    # Sent by Rasa's built-in action_default_fallback, which no rule names.
    "The utterance 'utter_default' is not used in any story or rule.",
    # The general app checklist, sent by action_app_guide for an app not in the catalogue.
    "The utterance 'utter_app_safety' is not used in any story or rule.",
    # Sent by action_app_guide after an app's own answer; every other advice or app answer
    # carries "Was this helpful?" inside its own response (bot/importer.py).
    "The utterance 'utter_ask_helpful' is not used in any story or rule.",
    # Sent by the custom action action_suggest_topics (actions/suggest_topics.py).
    "The utterance 'utter_suggest_topics' is not used in any story or rule.",
    # Asked by triage_form (Rasa forms ask with utter_ask_<slot>; the validator does not know).
    "The utterance 'utter_ask_in_danger_now' is not used in any story or rule.",
    "The utterance 'utter_ask_concern_kind' is not used in any story or rule.",
    # Sent only by the "Was this helpful?" buttons (/feedback{"helpful": ...}), never typed.
    "The intent 'feedback' is listed in the domain file, but is not found in the NLU training data.",
}
PLACEHOLDER = "TODO"


def rasa_validate() -> List[Problem]:
    """`rasa data validate`, its warnings as problems (less the ones we accept)."""
    from bot.staff.rasa_command import rasa

    result = rasa("data", "validate", capture=True, check=False)
    output = result.stdout + result.stderr
    problems = [Problem(content.PROJECT_DIR / "domain.yml", 1, f"rasa data validate: {w.strip()}",
                        "warning")
                for w in sorted(set(re.findall(r"UserWarning: (.*)", output)))
                if w.strip() not in ACCEPTED_VALIDATE_WARNINGS]
    if result.returncode != 0:
        errors = re.findall(r"(?:ERROR|Error|error)[^\n]*", output) or [output[-500:]]
        problems.append(Problem(content.PROJECT_DIR / "domain.yml", 1,
                                "rasa data validate failed: " + errors[-1].strip()))
    return problems


def check_placeholders() -> List[Problem]:
    """Scaffolded files (python -m bot new-topic) still holding TODO placeholders."""
    problems = []
    folders = [NLU_DIR, content.ANSWERS_DIR, RULES_DIR, content.PROJECT_DIR / "tests" / "stories"]
    for folder in folders:
        for path in sorted(folder.glob("*.yml")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if PLACEHOLDER in line and not line.lstrip().startswith("#"):
                    problems.append(Problem(path, number, f"replace the placeholder: {line.strip()}"))
    return problems


def check_routing(topic_ids: Set[str]) -> List[Problem]:
    """data/content/routing.yml reads, and names only topics in the catalogue."""
    from bot.nlu.topic_router import ROUTING_FILE, load_routing

    load_routing.cache_clear()
    try:
        routing = load_routing()
    except content.ContentError as error:
        return [Problem(ROUTING_FILE, 1, str(error))]
    problems = []
    named = [(s.name, t) for s in routing.services for t in (s.topic, s.what_it_is, *s.keep) if t]
    named += [("settings_topics", t) for t in routing.settings_topics]
    for where, topic in named:
        if topic not in topic_ids:
            problems.append(Problem(ROUTING_FILE, line_of(ROUTING_FILE, where),
                                    f"{where}: '{topic}' is not a topic in data/topics.yml"))
    return problems


def check_all(today: Optional[dt.date] = None) -> List[Problem]:
    """Every content and training-data rule, over the files as they are now."""
    try:
        answers = content.load_answers()
        contacts = content.load_contacts()
        system_messages = {**content.load_system_messages(),
                           **content.load_system_messages(section="channel")}
    except content.ContentError as error:
        return [Problem(content.CONTENT_DIR, 1, str(error))]
    topics = load_topics()
    domain_intents = set(yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["intents"])
    # Topics in domain.yml with an answer but not (yet) in the catalogue count as advice topics.
    local_topics = {i: Topic(i, "advice", ()) for i in domain_intents - set(topics) if i in answers}
    allowed = load_allowlist()
    problems = check_answers(answers, contacts, {**topics, **local_topics}, allowed, today)
    for name, value in contacts.items():
        if value.startswith("http"):
            reason = link_problem(value, allowed)
            if reason:
                problems.append(Problem(content.CONTACTS_FILE, line_of(content.CONTACTS_FILE, name),
                                        reason))
    problems += check_contact_sources(contacts, today)
    from bot.channels.messenger_state import load_office_hours

    try:
        channel_placeholders = {**contacts, "office_hours": load_office_hours().describe()}
    except content.ContentError as error:
        problems.append(Problem(content.CONTENT_DIR / "office_hours.yml", 1, str(error)))
        channel_placeholders = dict(contacts)
    for name, message in system_messages.items():
        line = line_of(content.SYSTEM_FILE, name)
        try:
            text = content.fill_placeholders(message["text"], channel_placeholders, name)
        except content.ContentError as error:
            problems.append(Problem(content.SYSTEM_FILE, line, str(error)))
            continue
        if not text or len(text) > content.MESSAGE_LIMIT:
            problems.append(Problem(content.SYSTEM_FILE, line, f"{name}: write a message of 1 to "
                                    f"{content.MESSAGE_LIMIT} characters"))
        for button in message.get("buttons", []):
            if not button["title"] or len(button["title"]) > TITLE_LIMIT:
                problems.append(Problem(content.SYSTEM_FILE, line, f"{name}: button title "
                                        f"'{button['title']}' must be 1 to {TITLE_LIMIT} characters"))
    from bot.staff.messenger_setup import PROFILE_FILE, messenger_profile

    try:
        menu = messenger_profile()["persistent_menu"][0]["call_to_actions"]
        for item in menu:
            reason = link_problem(item["url"], allowed) if "url" in item else None
            if reason:
                problems.append(Problem(PROFILE_FILE, line_of(PROFILE_FILE, "menu"), reason))
    except content.ContentError as error:
        problems.append(Problem(PROFILE_FILE, 1, str(error)))
    problems += check_examples(load_examples(), {**topics, **local_topics},
                               extra_intents=domain_intents - set(topics))
    problems += check_placeholders()
    problems += check_rules(answers)
    problems += check_citations()
    problems += check_texts(answers, channel_placeholders, allowed)
    problems += check_routing(set(topics))
    from bot.apps.catalogue import load_catalogue

    try:
        problems += check_catalogue(load_catalogue(), allowed)
    except (content.ContentError, ValueError, TypeError) as error:
        problems.append(Problem(content.CONTENT_DIR / "apps.yml", 1, str(error)))
    return problems
