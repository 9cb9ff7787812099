"""`python -m bot story SENDER_ID`: a stored conversation (already redacted) as a conversation test
in tests/stories/from_conversations.yml, or with --training as a training story in
data/stories/from_conversations.yml, for staff to correct and keep (docs/extending.md).

SENDER_ID is the conversation's id as a channel gives it ("rest:abc", "webchat:web-12ab...",
"facebook:1234"), or the stored id that `python -m bot review` and the report show ("h:3fa9...").
Only what the rules and stories can use is written: what the parent said (test) or the topic
(training), each action, and the safeguarding questions' form and answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from bot.content import PROJECT_DIR

TEST_FILE = PROJECT_DIR / "tests" / "stories" / "from_conversations.yml"
TRAINING_FILE = PROJECT_DIR / "data" / "stories" / "from_conversations.yml"
SKIPPED_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots"}


def load_events(sender_id: str, endpoints: Path) -> List[Dict[str, Any]]:
    """The stored events of one conversation, every session, as Rasa's dicts."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(endpoints), "tracker_store")
    if config is None:
        raise SystemExit(f"{endpoints} keeps no conversations (no tracker_store).")
    store = create_tracker_store(config, Domain.load(str(PROJECT_DIR / "domain.yml")))
    tracker = asyncio.run(store.retrieve_full_tracker(sender_id))
    if tracker is None:
        raise SystemExit(f"No stored conversation {sender_id!r} (it may have been purged).")
    return [event.as_dict() for event in tracker.events]


def story_steps(events: List[Dict[str, Any]], slots: Dict[str, Any], test: bool) -> List[Dict]:
    """The story's steps: user turns (their text for a test, the topic for training), actions,
    the form's loop and the answers to its questions (slots whose values the domain lists)."""
    steps: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if not intent:
                continue
            text = " ".join(str(event.get("text") or "").split())
            steps.append({"user": text, "intent": intent} if test and text else {"intent": intent})
        elif kind == "action" and event.get("name") not in SKIPPED_ACTIONS:
            steps.append({"action": event["name"]})
        elif kind == "active_loop":
            steps.append({"active_loop": event.get("name")})
        elif kind == "slot" and event.get("name") in slots:
            allowed = slots[event["name"]]
            if allowed is None or event.get("value") in allowed:
                steps.append({"slot_was_set": [{event["name"]: event.get("value")}]})
    return steps


def _domain_slots() -> Dict[str, Optional[List[Any]]]:
    """Slots a story may show: categorical ones (with their values), booleans, the form's own."""
    data = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    found: Dict[str, Optional[List[Any]]] = {"requested_slot": None}
    for name, slot in (data.get("slots") or {}).items():
        if slot.get("type") == "categorical":
            found[name] = [str(v) for v in slot.get("values") or []] + [None]
        elif slot.get("type") == "bool":
            found[name] = [True, False, None]
    return found


def write_story(sender_id: str, endpoints: Path, training: bool = False,
                out: Optional[Path] = None) -> Path:
    """Append the conversation as a story to the test (or training) stories file; its path."""
    events = load_events(sender_id, endpoints)
    steps = story_steps(events, _domain_slots(), test=not training)
    if not steps:
        raise SystemExit(f"The conversation {sender_id!r} has nothing to write.")
    target = out or (TRAINING_FILE if training else TEST_FILE)
    label = "stories"
    day = dt.date.today().isoformat()
    story = {"story": f"from a stored conversation ({sender_id[:14]}, {day}): check it, then keep it",
             "steps": steps}
    data = yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else None
    data = data or {"version": "3.1", label: []}
    data.setdefault(label, []).append(story)
    header = ("# Conversations turned into stories by `python -m bot story` (docs/extending.md).\n"
              "# Each was a real conversation, with personal details already taken out: correct "
              "what the\n# assistant got wrong, then keep it.\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100),
                      encoding="utf-8")
    return target
