"""Keeping conversations: Rasa's SQL tracker store, with personal details removed before anything is
written, and old conversations deleted after a set number of days.

endpoints.yml uses it on SQLite by default (var/conversations.db); docs/deploy.md shows the same
store on PostgreSQL. The assistant answers from the full text in the moment: the tracker is
redacted only as it is saved, after the reply has been worked out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import redact

logger = logging.getLogger(__name__)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


def redacted_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """An event (as Rasa's dict) with personal details removed from what people typed.

    User messages lose their text's personal details (in `text`, `parse_data` and entity values)
    and their channel metadata, which may hold what a channel knows about the sender."""
    event = dict(event)
    if event.get("event") == "user":
        event["text"] = redact(event.get("text") or "")
        parse = dict(event.get("parse_data") or {})
        if "text" in parse:
            parse["text"] = redact(parse["text"] or "")
        if parse.get("entities"):
            parse["entities"] = [{**e, "value": _redact_value(e.get("value"))}
                                 for e in parse["entities"]]
        parse["metadata"] = {}
        event["parse_data"] = parse
        event["metadata"] = {}
    elif event.get("event") == "slot":
        event["value"] = _redact_value(event.get("value"))
    return event


@dataclass
class StoreWatch:
    """What went wrong with the conversation store while a channel handled one message."""

    # The conversation could not be read: whatever Rasa worked out came from an empty one.
    read_failed: bool = False


_watch: ContextVar[Optional[StoreWatch]] = ContextVar("store_watch", default=None)


@contextlib.contextmanager
def watching_store() -> Iterator[StoreWatch]:
    """While a channel handles one message: whether the store failed to read the conversation.

    Rasa wraps every tracker store in its FailSafeTrackerStore, which on an error answers from an
    empty conversation and keeps it in memory, saying nothing. A parent in the middle of the
    safeguarding questions would then have "yes" read without its question. The channels use this
    to answer with a clear "not available" instead (bot/channels/rest.py).
    """
    watch = StoreWatch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


@contextlib.contextmanager
def _noting_read_failure() -> Iterator[None]:
    try:
        yield
    except Exception:
        watch = _watch.get()
        if watch is not None:
            watch.read_failed = True
        raise


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that stores conversations with personal details removed, and that gets over
    a database restart by itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            # Rasa's engine hands out pooled connections without checking them, so the first turn
            # after a database restart would fail on a dead one. Checking each connection as it is
            # taken ("pre-ping") replaces dead ones silently; the cost is one round trip per turn.
            import sqlalchemy as sa
            from rasa.core.tracker_store import create_engine_kwargs

            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        events = [redacted_event(e.as_dict()) for e in tracker.events]
        slots = self.domain.slots if self.domain else []
        redacted = DialogueStateTracker.from_dict(tracker.sender_id, events, slots)
        await super().save(redacted)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with _noting_read_failure():
            return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        with _noting_read_failure():
            return await super().retrieve_full_tracker(conversation_id)

    def purge(self, days: int, now: Optional[dt.datetime] = None) -> int:
        """Delete every conversation whose last message is older than `days` days; return how many."""
        import sqlalchemy as sa

        cutoff = ((now or dt.datetime.now()) - dt.timedelta(days=days)).timestamp()
        with self.session_scope() as session:
            old = (session.query(self.SQLEvent.sender_id)
                   .group_by(self.SQLEvent.sender_id)
                   .having(sa.func.max(self.SQLEvent.timestamp) < cutoff).all())
            senders = [row[0] for row in old]
            if senders:
                session.query(self.SQLEvent).filter(
                    self.SQLEvent.sender_id.in_(senders)).delete(synchronize_session=False)
                session.commit()
        logger.info("Deleted %d conversation(s) older than %d days.", len(senders), days)
        return len(senders)
