"""The rules every answer, contact, app entry and hand-written rule must keep: official links,
sources and review dates, lengths within Messenger's limits, safe wording about images, and rules
that name an answer once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional
from urllib.parse import urlparse

import yaml

from bot import content
from bot.topics import Topic

if TYPE_CHECKING:
    from bot.apps.catalogue import App

from bot.staff.problems import Problem, line_containing, line_of

ALLOWLIST_FILE = content.CONTENT_DIR / "allowed_links.yml"
RULES_DIR = content.PROJECT_DIR / "data" / "rules"
STORIES_DIR = content.PROJECT_DIR / "data" / "stories"
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
    variants = [a.themselves for a in answers.values() if a.themselves]
    for answer in [*answers.values(), *variants]:
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
                problem(f"the answer must show '{marker}' (data/topics.yml must_show)")
        if topic.id == "immediate_danger":
            first_sentence = re.split(r"(?<=[.!?])\s", rendered[0]["text"])[0]
            if contacts.get("emergency", "999") not in first_sentence:
                problem("the first sentence must tell the parent to call {emergency}")
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


def check_rules(answers: Mapping[str, content.Answer]) -> List[Problem]:
    """Rules and stories written by hand name an answer by `utter_<topic>` alone: it sends all
    the answer's messages (bot/importer.py), so they never depend on how many messages an answer
    has. A rule for a topic with an answer must send it (or run an action that does)."""
    numbered = re.compile(r"utter_(\w+)_\d+")
    problems: List[Problem] = []
    for path in sorted([*RULES_DIR.glob("*.yml"), *STORIES_DIR.glob("*.yml")]):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in [*(data.get("rules") or []), *(data.get("stories") or [])]:
            name = block.get("rule") or block.get("story")
            steps = block.get("steps") or []
            for step in steps:
                action = str(step.get("action", ""))
                older = numbered.fullmatch(action)
                if older and older.group(1) in answers:
                    problems.append(Problem(
                        path, line_containing(path, f"action: {action}"),
                        f"'{name}' names {action}: name only utter_{older.group(1)}, which sends "
                        "every message of the answer"))
            topic = steps[0].get("intent") if steps and "rule" in block else None
            if block.get("condition") or topic not in answers:
                continue  # for one situation only; the topic's own rule sends the answer
            actions = [str(s.get("action", "")) for s in steps[1:]]
            if f"utter_{topic}" not in actions and not any(a.startswith("action_") for a in actions):
                problems.append(Problem(
                    path, line_containing(path, name),
                    f"rule '{name}' does not send the answer to '{topic}': add "
                    f"'- action: utter_{topic}' after the intent"))
    return problems


FACT_SHEET = content.PROJECT_DIR / "docs" / "reference" / "facts.md"
CITATION = re.compile(r"(?:fact sheets?|facts\.md) ((?:S\d+(?:,? (?:and )?)?)+)")


def check_citations(fact_sheet: Path = FACT_SHEET) -> List[Problem]:
    """Every "fact sheet S<n>" a content file cites is a source listed in the fact sheet, which is
    kept with the project (docs/reference/facts.md), so a reader can follow it."""
    listed = set(re.findall(r"\bS(\d+) https?://", fact_sheet.read_text(encoding="utf-8")))
    problems: List[Problem] = []
    for path in sorted(content.CONTENT_DIR.rglob("*.yml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for cited in CITATION.findall(line):
                for source in re.findall(r"S(\d+)", cited):
                    if source not in listed:
                        problems.append(Problem(path, number, f"S{source} is not a source in "
                                                f"{fact_sheet.relative_to(content.PROJECT_DIR)}"))
    return problems


# A link as a parent's screen shows it: from http(s):// or www. to the next space.
LINK_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.I)
TRAILING = ".,;:!?)]}'\""


def link_problems_in_text(text: str, allowed_domains: Iterable[str]) -> List[str]:
    """Why each link written inside a message may not be shown: not https on an official site,
    or punctuation stuck to its end (a chat app may make it part of the link)."""
    problems = []
    for found in LINK_IN_TEXT.findall(text):
        url = found.rstrip(TRAILING)
        reason = link_problem(url if url.lower().startswith("http") else "https://" + url,
                              allowed_domains) if url.lower().startswith("https://") else (
            f"{url} must be a full https:// link")
        if reason:
            problems.append(reason)
        if url != found:
            problems.append(f"{found} ends with '{found[len(url):]}': put a space or a new "
                            "sentence after a link, or move it to `links:`")
    return problems


def check_texts(answers: Mapping[str, content.Answer], placeholders: Mapping[str, str],
                allowed_domains: List[str]) -> List[Problem]:
    """Every text a parent can see, with its placeholders filled: the answers, the app catalogue,
    the hand-off summaries and the system messages. Each link in it must pass link_problems_in_text."""
    texts: List[tuple] = []
    for answer in [*answers.values(), *(a.themselves for a in answers.values() if a.themselves)]:
        texts += [(answer.path, answer.topic, text) for text in answer.messages]
    apps_file = content.CONTENT_DIR / "apps.yml"
    for app_id, entry in ((content.read_yaml(apps_file) or {}).get("apps") or {}).items():
        for key in ("what_it_is", "report", "min_age_note", "rating"):
            texts.append((apps_file, app_id, str(entry.get(key) or "")))
        for key in ("risks", "settings"):
            texts += [(apps_file, app_id, str(item)) for item in entry.get(key) or []]
    summaries_file = content.CONTENT_DIR / "handoff_summaries.yml"
    summaries = content.read_yaml(summaries_file) or {}
    for key, value in summaries.items():
        values = value.values() if isinstance(value, dict) else [value]
        texts += [(summaries_file, key, str(v)) for v in values if isinstance(v, str)]
    for section in ("messages", "channel"):
        for name, message in content.load_system_messages(section=section).items():
            texts.append((content.SYSTEM_FILE, name, message["text"]))
    problems: List[Problem] = []
    for path, key, text in texts:
        try:
            filled = content.fill_placeholders(text, placeholders, key)
        except content.ContentError:
            continue  # an unknown placeholder is reported by the other checks
        reasons = link_problems_in_text(filled, allowed_domains)
        if reasons:
            # The line where the text starts (its first words before any placeholder), else its key's.
            first_words = text[:40].split("{")[0].strip()
            line = line_containing(path, first_words) if first_words else line_of(path, key)
            problems += [Problem(path, line, f"{key}: {reason}") for reason in reasons]
    return problems
