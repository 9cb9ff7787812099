"""The rules every answer and every training example must keep, as plain functions.

Used by the content tests and by `python -m bot check`. Each problem names the file, the line and
what to do about it, for the comms officer who made the change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Set, Tuple
from urllib.parse import urlparse

import yaml

from bot import content

if TYPE_CHECKING:
    from bot.apps.catalogue import App

TOPICS_FILE = content.PROJECT_DIR.parent / "shared" / "topics.yml"
NLU_DIR = content.PROJECT_DIR / "data" / "nlu"
ALLOWLIST_FILE = content.CONTENT_DIR / "allowed_links.yml"
DOMAIN_FILE = content.PROJECT_DIR / "domain.yml"
RULES_DIR = content.PROJECT_DIR / "data" / "rules"

# `rasa data validate` warnings we accept, and why (every other warning is a problem to fix).
ACCEPTED_VALIDATE_WARNINGS = {
    # Sent by Rasa's built-in action_default_fallback, which no rule names.
    "The utterance 'utter_default' is not used in any story or rule.",
    # The general app checklist, sent by action_app_guide for an app not in the catalogue.
    "The utterance 'utter_app_safety' is not used in any story or rule.",
    "The utterance 'utter_app_safety_2' is not used in any story or rule.",
    # Sent by the custom action action_suggest_topics (actions/suggest_topics.py).
    "The utterance 'utter_suggest_topics' is not used in any story or rule.",
    # Asked by triage_form (Rasa forms ask with utter_ask_<slot>; the validator does not know).
    "The utterance 'utter_ask_in_danger_now' is not used in any story or rule.",
    "The utterance 'utter_ask_concern_kind' is not used in any story or rule.",
}
PLACEHOLDER = "TODO"

MIN_EXAMPLES = {"conversation": 15, "advice": 30, "app": 30, "handoff": 30}
TITLE_LIMIT = 20  # characters: Messenger's limit for button and quick-reply titles
MAX_MESSAGES = 3
MAX_LINKS = 2
MAX_NEXT = 3
REVIEW_AGE_WARNING = dt.timedelta(days=365)

# Advice to copy or pass on an image is only allowed in the negative ("never screenshot it").
IMAGE_HANDLING = re.compile(
    r"\b(screenshot|screen ?shot|save|saving|copy|copying|forward|forwarding|download)\w*\b"
    r"[^.!?]*\b(image|images|photo|photos|picture|pictures|nude|nudes|video|videos|pic|pics)\b",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\b(never|don't|do not|not|no|nobody|without|isn't|can't|cannot)\b", re.I)
ASKS_FOR_DETAILS = re.compile(
    r"\b(send|tell|give|share|upload|type)\b[^.!?]*\b(me|us|here|this chat)\b[^.!?]*"
    r"\b(name|names|address|addresses|photo|photos|picture|pictures|image|images)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    """Something wrong in a content or data file: where, what, and whether it stops a release."""

    path: Path
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        try:
            where = self.path.relative_to(content.PROJECT_DIR)
        except ValueError:
            where = self.path
        return f"{where}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str
    must_show: Tuple[str, ...]


def load_topics(path: Path = TOPICS_FILE) -> Dict[str, Topic]:
    """The topic catalogue (the contract in shared/topics.yml)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {
        t["id"]: Topic(t["id"], t["kind"], tuple(t.get("must_show") or ()))
        for t in data["topics"]
    }


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    path: Path
    line: int


def load_examples(directory: Path = NLU_DIR) -> List[Example]:
    """Every NLU training example, with the file and line it is written on."""
    return [e for path in sorted(directory.glob("*.yml")) for e in load_examples_from(path)]


def load_examples_from(path: Path) -> List[Example]:
    """The examples of one NLU file (Rasa's YAML format), with their line numbers."""
    examples: List[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    intent: Optional[str] = None
    in_examples = False
    for number, line in enumerate(lines, start=1):
        match = re.match(r"^\s*-\s*intent:\s*(\S+)", line)
        if match:
            intent, in_examples = match.group(1), False
            continue
        if re.match(r"^\s*examples:\s*\|", line):
            in_examples = True
            continue
        item = re.match(r"^\s+-\s+(.*\S)\s*$", line)
        if intent and in_examples and item:
            examples.append(Example(intent, item.group(1), path, number))
        elif line.strip() and not line.startswith(" "):
            intent, in_examples = None, False
    return examples


def normalised(text: str) -> str:
    """Lower case, letters and digits only (any alphabet): how we tell whether two examples are
    the same."""
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def line_of(path: Path, key: str) -> int:
    """The line on which `key:` is first written in a YAML file (1 if not found)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def load_allowlist(path: Path = ALLOWLIST_FILE) -> List[str]:
    with path.open(encoding="utf-8") as handle:
        return [str(domain).lower() for domain in yaml.safe_load(handle)["domains"]]


def link_problem(url: str, allowed_domains: Iterable[str]) -> Optional[str]:
    """Why a link may not be used, or None if it is fine."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        return f"{url} must be a full https:// link"
    host = parsed.hostname.lower()
    if not any(host == domain or host.endswith("." + domain) for domain in allowed_domains):
        return (
            f"{url} is not on an official site in data/content/allowed_links.yml. Use a link from "
            "the NSPCC, CEOP, Childline, the IWF, the police or another listed site"
        )
    return None


def check_answers(
    answers: Mapping[str, content.Answer],
    contacts: Mapping[str, str],
    topics: Mapping[str, Topic],
    allowed_domains: List[str],
    today: Optional[dt.date] = None,
) -> List[Problem]:
    """Every rule an answer must keep (see docs/extending.md for why)."""
    today = today or dt.date.today()
    problems: List[Problem] = []
    literal_contacts = {name: value for name, value in contacts.items() if len(value) >= 3}
    for topic_id in topics:
        if topic_id not in answers:
            problems.append(Problem(content.ANSWERS_DIR, 1, f"topic '{topic_id}' has no answer: "
                                    "add one to a file in data/content/answers"))
    for answer in answers.values():
        def problem(message: str, key: Optional[str] = None, severity: str = "error",
                    answer: content.Answer = answer) -> None:
            line = line_of(answer.path, key or answer.topic)
            problems.append(Problem(answer.path, line, f"{answer.topic}: {message}", severity))

        topic = topics.get(answer.topic)
        if topic is None:
            problem("this topic is not in domain.yml's intents; add it there (python -m bot "
                    "new-topic does both)")
            continue
        if not answer.title or len(answer.title) > TITLE_LIMIT:
            problem(f"title must be 1 to {TITLE_LIMIT} characters (it is a button label)")
        if not answer.sources:
            problem("add at least one source under `sources:`")
        if answer.reviewed > today:
            problem("the reviewed date is in the future")
        elif today - answer.reviewed > REVIEW_AGE_WARNING:
            problem(f"last reviewed {answer.reviewed}: over 12 months ago, check it again",
                    severity="warning")
        if not 1 <= len(answer.messages) <= MAX_MESSAGES:
            problem(f"write 1 to {MAX_MESSAGES} messages")
        if topic.kind != "conversation" and not answer.links:
            problem("add one or two official links under `links:`")
        if len(answer.links) > MAX_LINKS:
            problem(f"use at most {MAX_LINKS} links")
        for url in answer.links:
            reason = link_problem(url, allowed_domains)
            if reason:
                problem(reason, key="links")
        if len(answer.next) > MAX_NEXT:
            problem(f"offer at most {MAX_NEXT} next topics")
        for next_topic in answer.next:
            if next_topic not in answers:
                problem(f"next topic '{next_topic}' has no answer", key="next")
        for text in answer.messages:
            for name, value in literal_contacts.items():
                if value in text:
                    problem(f"write {{{name}}} instead of {value}, so the number or address "
                            "is kept in one place (data/content/contacts.yml)")
            for name in content.placeholders_in(text):
                if name not in contacts:
                    problem(f"unknown placeholder {{{name}}}; the known ones are in "
                            "data/content/contacts.yml")
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                if IMAGE_HANDLING.search(sentence) and not NEGATION.search(sentence):
                    problem(f"'{sentence[:80]}...' seems to tell someone to copy or pass on an "
                            "image; never advise that for an image of a child")
                if ASKS_FOR_DETAILS.search(sentence) and not NEGATION.search(sentence):
                    problem(f"'{sentence[:80]}...' seems to ask for personal details or images; "
                            "the assistant must never ask for them")
        if any(name not in contacts for t in answer.messages for name in content.placeholders_in(t)):
            continue
        rendered = content.rendered_messages(answer, answers, contacts)
        for message in rendered:
            if len(message["text"]) > content.MESSAGE_LIMIT:
                problem(f"a message is {len(message['text'])} characters once the contacts and "
                        f"links are filled in; keep each under {content.MESSAGE_LIMIT} "
                        "(split it into two messages)", key="messages")
        shown = "\n".join(m["text"] for m in rendered)
        for marker in topic.must_show:
            if marker not in shown:
                problem(f"the answer must show '{marker}' (shared/topics.yml must_show)")
        if topic.id == "immediate_danger":
            first_sentence = re.split(r"(?<=[.!?])\s", rendered[0]["text"])[0]
            if contacts.get("emergency", "999") not in first_sentence:
                problem("the first sentence must tell the parent to call {emergency}")
    return problems


def check_examples(
    examples: List[Example], topics: Mapping[str, Topic], extra_intents: Set[str] = frozenset()
) -> List[Problem]:
    """Training examples: enough for every topic, none in two intents, none repeated."""
    problems: List[Problem] = []
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    seen: Dict[str, Example] = {}
    for example in examples:
        by_intent[example.intent].append(example)
        if example.intent not in topics and example.intent not in extra_intents:
            problems.append(Problem(example.path, example.line,
                                    f"intent '{example.intent}' is not a topic in shared/topics.yml"))
        key = normalised(example.text)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = example
        elif earlier.intent != example.intent:
            problems.append(Problem(
                example.path, example.line,
                f"'{example.text}' is also an example of '{earlier.intent}' "
                f"({earlier.path.name}:{earlier.line}); an example may teach only one topic"))
        else:
            problems.append(Problem(
                example.path, example.line,
                f"'{example.text}' repeats {earlier.path.name}:{earlier.line}; delete one"))
    for topic in topics.values():
        count = len(by_intent.get(topic.id, []))
        needed = MIN_EXAMPLES[topic.kind]
        if count < needed:
            problems.append(Problem(NLU_DIR, 1, f"topic '{topic.id}' has {count} examples; "
                                    f"write at least {needed} in a file in data/nlu"))
    return problems


def rasa_validate() -> List[Problem]:
    """`rasa data validate`, its warnings as problems (less the ones we accept)."""
    import subprocess

    from bot.processes import BIN, SERVER_ENV

    result = subprocess.run([str(BIN / "rasa"), "data", "validate"], cwd=content.PROJECT_DIR,
                            capture_output=True, text=True, check=False, env=SERVER_ENV)
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
    # Topics added by the force beyond the shared catalogue are advice topics.
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
    for name, message in system_messages.items():
        line = line_of(content.SYSTEM_FILE, name)
        try:
            text = content.fill_placeholders(message["text"], contacts, name)
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
    problems += check_examples(load_examples(), {**topics, **local_topics},
                               extra_intents=domain_intents - set(topics))
    problems += check_placeholders()
    problems += check_rules(answers, contacts)
    from bot.apps.catalogue import load_catalogue

    try:
        problems += check_catalogue(load_catalogue(), allowed)
    except (content.ContentError, ValueError, TypeError) as error:
        problems.append(Problem(content.CONTENT_DIR / "apps.yml", 1, str(error)))
    return problems


def check_contact_sources(contacts: Mapping[str, str], today: Optional[dt.date] = None,
                          path: Path = content.CONTACTS_FILE) -> List[Problem]:
    """Every contact has a source under `sources:`, and the file a `reviewed:` date."""
    today = today or dt.date.today()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources = data.get("sources") or {}
    problems = [Problem(path, line_of(path, name), f"add a source for '{name}' under `sources:`")
                for name in contacts if not str(sources.get(name) or "").startswith("http")]
    problems += [Problem(path, line_of(path, "sources"), f"`sources:` names '{name}', which is "
                         "not a contact") for name in sources if name not in contacts]
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, dt.date):
        problems.append(Problem(path, 1, "add a reviewed date, e.g. reviewed: 2026-11-28"))
    elif reviewed > today:
        problems.append(Problem(path, line_of(path, "reviewed"), "the reviewed date is in the future"))
    elif today - reviewed > REVIEW_AGE_WARNING:
        problems.append(Problem(path, line_of(path, "reviewed"), f"last reviewed {reviewed}: over 12 "
                                "months ago, check every contact again", "warning"))
    return problems


def check_catalogue(apps: Mapping[str, App], allowed_domains: List[str]) -> List[Problem]:
    """Every app entry has what the guide needs, a link on the allowlist, and aliases of its own."""
    from bot.apps.catalogue import APPS_FILE, KINDS
    from bot.apps.recognise import squash

    problems: List[Problem] = []
    owner: Dict[str, str] = {}
    for app in apps.values():
        def problem(message: str, app: App = app) -> None:
            problems.append(Problem(APPS_FILE, line_of(APPS_FILE, app.id), f"{app.id}: {message}"))

        for field in ("name", "what_it_is", "report", "link"):
            if not getattr(app, field):
                problem(f"add `{field}:`")
        if app.kind not in KINDS:
            problem(f"kind must be one of {', '.join(KINDS)}")
        if not app.aliases:
            problem("add the names parents type under `aliases:`")
        if not app.risks:
            problem("add the main risks under `risks:`")
        if not app.sources:
            problem("add at least one source under `sources:`")
        if app.reviewed is None:
            problem("add a reviewed date, e.g. reviewed: 2026-11-28")
        if app.min_age is None and not app.min_age_note:
            problem("min_age is empty: say why in `min_age_note:`")
        if app.link:
            reason = link_problem(app.link, allowed_domains)
            if reason:
                problem(reason)
        for alias in (app.name.lower(),) + app.aliases:
            key = squash(alias)
            if key in owner and owner[key] != app.id:
                problem(f"the alias '{alias}' is also used by '{owner[key]}'; an alias may name "
                        "one app only")
            owner.setdefault(key, app.id)
    return problems


def check_rules(answers: Mapping[str, content.Answer], contacts: Mapping[str, str]) -> List[Problem]:
    """A rule written by hand for a topic must send all of that topic's messages, in order."""
    problems: List[Problem] = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in data.get("rules") or []:
            if rule.get("condition"):
                continue  # for one situation only; the topic's own rule sends the answer
            steps = rule.get("steps") or []
            topic = steps[0].get("intent") if steps else None
            if topic not in answers:
                continue
            sent = [s["action"] for s in steps[1:]
                    if str(s.get("action", "")).startswith(f"utter_{topic}")]
            expected = answers[topic].response_names(contacts)
            sent_by_action = not sent and any(
                str(s.get("action", "")).startswith("action_") for s in steps[1:])
            if sent != expected and not sent_by_action:
                problems.append(Problem(
                    path, _line_of_text(path, rule["rule"]),
                    f"rule '{rule['rule']}' sends {sent} but the answer to '{topic}' has the "
                    f"messages {expected}; list them all, in order"))
    return problems


def _line_of_text(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    return 1
