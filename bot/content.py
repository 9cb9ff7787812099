"""Curated answers and contacts: loading them from data/content and turning them into Rasa responses.

The answers are written by comms staff in `data/content/answers/*.yml`; every phone number and
reporting address is written once, in `data/content/contacts.yml`, and referred to from the text by
a placeholder such as `{nspcc_helpline}`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Tuple

import yaml

# The project folder; ASSISTANT_DIR points the tools at another copy (the tests use this).
PROJECT_DIR = Path(os.environ.get("ASSISTANT_DIR") or Path(__file__).resolve().parent.parent)
CONTENT_DIR = PROJECT_DIR / "data" / "content"
ANSWERS_DIR = CONTENT_DIR / "answers"
CONTACTS_FILE = CONTENT_DIR / "contacts.yml"
SYSTEM_FILE = CONTENT_DIR / "system.yml"

MORE_PREFIX = "Find out more:"
MESSAGE_LIMIT = 640  # characters: what fits Messenger's button template, and a phone screen


class ContentError(ValueError):
    """A content file that cannot be used as it is; the message says which file and what to do."""


@dataclass(frozen=True)
class Answer:
    """One topic's curated answer, as written in an answers file."""

    topic: str
    title: str
    reviewed: dt.date
    sources: Tuple[str, ...]
    messages: Tuple[str, ...]
    links: Tuple[str, ...]
    next: Tuple[str, ...]
    path: Path
    # Said instead, message for message, to someone worried about their own thoughts or behaviour
    # (the `concern_about` slot is "themselves"): `when_worried_about_themselves:` in the file.
    themselves: Optional[Answer] = None


# "Was this helpful?" (data/content/system.yml), after advice and app answers.
ASK_HELPFUL = "utter_ask_helpful"
THEMSELVES_KEY = "when_worried_about_themselves"
THEMSELVES_CONDITION = {"type": "slot", "name": "concern_about", "value": "themselves"}


# An answer of several chat messages is one Rasa response: the first message, with the others
# (and "Was this helpful?" after advice and app answers) under `custom: {messages: [...]}`. One
# response is one action, and every action the assistant takes costs a policy prediction (about
# 1.2 ms each); our channels send the parts one by one (`chat_messages`).
MORE_MESSAGES = "messages"
# What a chat message is made of; any other key of a message from Rasa (utter_action, ...) is
# about the whole response, and every part keeps it.
MESSAGE_PARTS = ("text", "buttons", "image", "attachment", "quick_replies", "elements", "custom")


def response_name(topic: str) -> str:
    """`utter_<topic>`: the response that sends a topic's answer, all its messages."""
    return f"utter_{topic}"


def as_response(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    """An answer's chat messages as one Rasa response (the first, carrying the others)."""
    first = dict(messages[0])
    if len(messages) > 1:
        first["custom"] = {MORE_MESSAGES: [dict(m) for m in messages[1:]]}
    return first


def chat_messages(message: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The chat messages a message from Rasa stands for, in order: itself, then any further
    messages of its answer (`as_response`). Any other custom payload is left as it is."""
    custom = message.get("custom")
    more = custom.get(MORE_MESSAGES) if isinstance(custom, Mapping) and len(custom) == 1 else None
    if not isinstance(more, list) or not all(isinstance(m, Mapping) for m in more):
        return [dict(message)]
    about = {key: value for key, value in message.items() if key not in MESSAGE_PARTS}
    first = {key: value for key, value in message.items() if key != "custom"}
    return [first] + [{**about, **part} for part in more]


def read_yaml(path: Path) -> Any:
    """A content file's data; a ContentError naming the file if it is missing or not YAML."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise ContentError(f"{path}: cannot be read ({error.strerror}).") from error
    except yaml.YAMLError as error:
        raise ContentError(f"{path}: not valid YAML ({error}). Check the indentation.") from error


def load_contacts(path: Path = CONTACTS_FILE) -> Dict[str, str]:
    """All contact placeholders (local and national) as one flat mapping of name to value."""
    data = read_yaml(path) or {}
    contacts: Dict[str, str] = {}
    for section in ("force", "national"):
        for name, value in (data.get(section) or {}).items():
            if name in contacts:
                raise ContentError(f"{path}: '{name}' is defined twice. Keep one of them.")
            contacts[name] = str(value)
    return contacts


def _as_tuple(value: Any) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item).strip() for item in value)


def _answer_from(topic: str, entry: Mapping[str, Any], path: Path) -> Answer:
    if not isinstance(entry, Mapping):
        raise ContentError(f"{path}: the answer '{topic}' should be a block of fields.")
    reviewed = entry.get("reviewed")
    if isinstance(reviewed, str):
        try:
            reviewed = dt.date.fromisoformat(reviewed)
        except ValueError as error:
            raise ContentError(
                f"{path}: '{topic}' has reviewed: {reviewed}; write the date as 2026-11-28."
            ) from error
    if not isinstance(reviewed, dt.date):
        raise ContentError(f"{path}: '{topic}' needs a reviewed date, e.g. reviewed: 2026-11-28.")
    messages = tuple(" ".join(str(text).split()) for text in entry.get("messages") or ())
    answer = Answer(
        topic=topic,
        title=str(entry.get("title") or "").strip(),
        reviewed=reviewed,
        sources=_as_tuple(entry.get("sources")),
        messages=messages,
        links=_as_tuple(entry.get("links")),
        next=_as_tuple(entry.get("next")),
        path=path,
    )
    themselves = entry.get(THEMSELVES_KEY)
    if themselves is None:
        return answer
    if not isinstance(themselves, Mapping) or len(themselves.get("messages") or ()) != len(messages):
        raise ContentError(f"{path}: '{topic}' {THEMSELVES_KEY}: give `messages:` (as many as the "
                           f"answer's {len(messages)}) and `links:`.")
    return dataclasses.replace(answer, themselves=dataclasses.replace(
        answer, messages=tuple(" ".join(str(t).split()) for t in themselves["messages"]),
        links=_as_tuple(themselves.get("links"))))


def load_answers(directory: Path = ANSWERS_DIR) -> Dict[str, Answer]:
    """Every answer in the answers folder, by topic id."""
    answers: Dict[str, Answer] = {}
    for path in sorted(directory.glob("*.yml")):
        data = read_yaml(path) or {}
        for topic, entry in (data.get("answers") or {}).items():
            if topic in answers:
                raise ContentError(
                    f"{path}: the topic '{topic}' already has an answer in "
                    f"{answers[topic].path.name}. Keep one of them."
                )
            answers[topic] = _answer_from(topic, entry, path)
    return answers


def load_system_messages(path: Path = SYSTEM_FILE, section: str = "messages") -> Dict[str, Dict[str, Any]]:
    """Messages that are not answers to a topic, by name: each a `text` and optional `buttons`
    (title and payload). Section "messages" is sent by the dialogue (as Rasa responses), section
    "channel" by the chat channels themselves (a message cut short, the assistant unavailable)."""
    data = read_yaml(path) or {}
    messages = {}
    for name, value in (data.get(section) or {}).items():
        entry = value if isinstance(value, Mapping) else {"text": value}
        message: Dict[str, Any] = {"text": " ".join(str(entry.get("text") or "").split())}
        if entry.get("buttons"):
            message["buttons"] = [
                {"title": str(b["title"]), "payload": str(b["payload"])} for b in entry["buttons"]
            ]
        messages[name] = message
    return messages


def placeholders_in(text: str) -> List[str]:
    """The `{name}` placeholders a text uses."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


def fill_placeholders(text: str, contacts: Mapping[str, str], where: str = "") -> str:
    """Replace `{name}` placeholders with their contact values."""
    unknown = [name for name in placeholders_in(text) if name not in contacts]
    if unknown:
        known = ", ".join("{" + name + "}" for name in sorted(contacts))
        raise ContentError(
            f"{where}: unknown placeholder {{{unknown[0]}}}. Use one of: {known}."
        )
    return text.format_map(contacts)


def buttons_for(topics: Tuple[str, ...], answers: Mapping[str, Answer]) -> List[Dict[str, str]]:
    """Buttons that take the parent to other topics: the topic's title, and its intent as payload."""
    return [{"title": answers[topic].title, "payload": f"/{topic}"} for topic in topics]


def rendered_messages(
    answer: Answer,
    answers: Mapping[str, Answer],
    contacts: Mapping[str, str],
) -> List[Dict[str, Any]]:
    """The chat messages of an answer: placeholders filled, links and buttons at the end.

    The links go at the end of the last message, or into a message of their own when they would
    take it over the length limit.
    """
    where = f"{answer.path}: {answer.topic}"
    messages: List[Dict[str, Any]] = [
        {"text": fill_placeholders(text, contacts, where)} for text in answer.messages
    ]
    if not messages:
        return messages
    if answer.links:
        more = MORE_PREFIX + " " + "\n".join(answer.links)
        if len(messages[-1]["text"]) + 2 + len(more) <= MESSAGE_LIMIT:
            messages[-1]["text"] += "\n\n" + more
        else:
            messages.append({"text": more})
    if answer.next:
        messages[-1]["buttons"] = buttons_for(answer.next, answers)
    return messages


def domain_responses(
    answers: Mapping[str, Answer],
    contacts: Mapping[str, str],
    system_messages: Mapping[str, Mapping[str, Any]],
    rated: AbstractSet[str] = frozenset(),
) -> Dict[str, List[Dict[str, Any]]]:
    """Rasa domain `responses`: one for every curated answer (all its messages, `as_response`,
    ending with "Was this helpful?" for the `rated` topics) and one for every system message."""
    responses: Dict[str, List[Dict[str, Any]]] = {
        f"utter_{name}": [
            {**message, "text": fill_placeholders(message["text"], contacts, f"{SYSTEM_FILE}: {name}")}
        ]
        for name, message in system_messages.items()
    }
    ask = [responses[ASK_HELPFUL][0]] if rated and ASK_HELPFUL in responses else []
    for answer in answers.values():
        messages = rendered_messages(answer, answers, contacts)
        if not messages:
            continue
        if answer.topic in rated:
            messages += ask
        variants = rendered_messages(answer.themselves, answers, contacts) if answer.themselves else []
        # Rasa's conditional response variations: the first when the slot says so.
        conditional = ([{**as_response(variants), "condition": [THEMSELVES_CONDITION]}]
                       if variants else [])
        responses[response_name(answer.topic)] = conditional + [as_response(messages)]
    return responses
