"""Keeping conversations: Rasa's SQL tracker store, with personal details removed before anything is
written, and every event deleted once it is older than a set number of days.

endpoints.yml uses it on SQLite by default (var/conversations.db); docs/deploy.md shows the same
store on PostgreSQL. The assistant answers from the full text in the moment: each new event is
redacted once, as it is saved, after the reply has been worked out; what was stored before is
never read back and redacted again.

What is kept of an event: for a parent's message, its text and entity values with personal
details replaced (bot/privacy), the topic and its confidence (for `python -m bot review`); never
the channel's metadata, the entities' character offsets (they would tell the length of what was
removed) or the token offsets. Slots are redacted the same way; the slot in which Rasa keeps the
session's metadata is not kept at all.

Long conversations stay as quick as short ones. Rasa rebuilds a conversation from its current
session's events on every turn, and its policies read the whole session, so turn 200 took ten times
as long as turn 1. Once a session holds more than `session_events` events and the conversation is
at rest (no questions under way), the store starts a new session for it the way Rasa does when a
session expires, carrying every slot over; the old events stay stored. And the store keeps the
conversations it has just saved in memory (`cached_conversations`, least recently used first out,
never written anywhere): a turn whose conversation's newest stored event is still the one this
server saved is answered from memory, without reading and rebuilding it. With several servers
sharing one database, that check is what keeps each server's memory right.

Conversation ids are stored as a keyed hash (HMAC-SHA256 with CONVERSATION_ID_KEY from the
environment, or a random key kept in var/conversation-id.key), so the store does not hold a
parent's Messenger id or anything a client chose as its id. Rasa's API still finds a conversation
by its id: the store hashes it the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import logging
import os
import secrets
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Text, Tuple

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.content import PROJECT_DIR
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


def _entity_value(value: Any, redacted_text: str, known: FrozenSet[str]) -> Any:
    """An entity's value as kept: a known value ("ea_sports_fc", "themselves") or a number as it
    is; otherwise as it was if the redacted message still says it, else "[removed]"."""
    if _is_known(value, known):
        return value
    if not isinstance(value, str) or value.lower() in redacted_text.lower():
        return _redact_value(value)
    return "[removed]"


def _is_known(value: Any, known: FrozenSet[str]) -> bool:
    """Whether a slot or entity value is one the assistant itself defines (a slot name, a
    categorical value, an app id), a number or a yes/no: nothing a parent could type into it."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and (value in known or (value.isdigit() and len(value) <= 3))


def known_values(domain: Any) -> FrozenSet[str]:
    """The values of slots and entities that are the assistant's own: slot names (the form's
    requested_slot), categorical slots' values, and the app catalogue's ids. Redacting them
    ("in_danger_now" looks like a handle) would break a conversation read back from the store."""
    from bot.apps.catalogue import load_catalogue

    values = set(load_catalogue())
    for slot in getattr(domain, "slots", None) or []:
        values.add(slot.name)
        values.update(str(v) for v in getattr(slot, "values", None) or [])
    return frozenset(values)


# Slots whose values are never kept: Rasa puts the channel's metadata for a session in this one.
UNKEPT_SLOTS = ("session_started_metadata",)
UNKEPT_ENTITY_KEYS = ("start", "end")


def redacted_event(event: Dict[str, Any], known: FrozenSet[str] = frozenset()) -> Dict[str, Any]:
    """An event (as Rasa's dict) with personal details removed from what people typed.

    User messages lose their text's personal details (in `text`, `parse_data` and entity values),
    the entities' offsets and the token offsets; every event loses its channel metadata, which may
    hold what a channel knows about the sender."""
    event = dict(event)
    if "metadata" in event:
        event["metadata"] = {}
    if event.get("event") == "user":
        event["text"] = redact(event.get("text") or "")
        parse = dict(event.get("parse_data") or {})
        if "text" in parse:
            parse["text"] = redact(parse["text"] or "")
        if parse.get("entities"):
            parse["entities"] = [
                {**{k: v for k, v in e.items() if k not in UNKEPT_ENTITY_KEYS},
                 "value": _entity_value(e.get("value"), event["text"], known)}
                for e in parse["entities"]]
        parse.pop("text_tokens", None)
        parse["metadata"] = {}
        event["parse_data"] = parse
    elif event.get("event") == "slot":
        value = event.get("value")
        if event.get("name") in UNKEPT_SLOTS:
            event["value"] = None
        elif not _is_known(value, known):
            event["value"] = _redact_value(value)
    return event


KEY_VARIABLE = "CONVERSATION_ID_KEY"
KEY_FILE = PROJECT_DIR / "var" / "conversation-id.key"
HASH_PREFIX = "h:"


def conversation_key(path: Path = KEY_FILE) -> bytes:
    """The key conversation ids are hashed with: CONVERSATION_ID_KEY, or the random key kept in
    var/conversation-id.key (made, readable by its owner only, the first time it is needed).
    Several servers sharing one database need the same key: set the variable (docs/deploy.md)."""
    value = os.environ.get(KEY_VARIABLE, "")
    if value:
        return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip().encode()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode()


def stored_id(conversation_id: str, key: bytes) -> str:
    """What a conversation is stored under: a keyed hash of its id (an id that is already one,
    as `keys()` lists them, is left as it is)."""
    if conversation_id.startswith(HASH_PREFIX) and len(conversation_id) == len(HASH_PREFIX) + 64:
        return conversation_id
    return HASH_PREFIX + hmac.new(key, conversation_id.encode("utf-8", "replace"),
                                  hashlib.sha256).hexdigest()


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


_EVENT_CLASSES: Dict[str, type] = {}


def stored_event(data: Dict[str, Any]) -> Optional[Event]:
    """Event.from_parameters, with each event class found once: Rasa's walks the whole tree of
    Event subclasses for every event it reads (0.08 ms an event; a turn on the other worker reads
    the events this one stored meanwhile, and a conversation read afresh reads them all)."""
    name = data.get("event")
    if name is None:
        return None
    event_class = _EVENT_CLASSES.get(name)
    if event_class is None:
        event_class = Event.resolve_by_type(name)
        if event_class is None:  # Rasa's way of skipping an old event type
            return None
        _EVENT_CLASSES[name] = event_class
    return event_class._from_parameters(data)


def stored_events(rows: List[Dict[str, Any]]) -> List[Event]:
    """The events stored as `rows` (Rasa's deserialise_events, with stored_event)."""
    return [event for event in map(stored_event, rows) if event is not None]


SESSION_EVENTS = 60  # events in a session before a long conversation starts a new one
CACHED_CONVERSATIONS = 500  # conversations kept in memory after their last turn


def at_rest(tracker: DialogueStateTracker) -> bool:
    """Waiting for the parent, with no form or question under way: a new session loses nothing."""
    return (tracker.latest_action_name == ACTION_LISTEN_NAME and not tracker.active_loop_name
            and tracker.get_slot("requested_slot") is None)


def new_session_events(tracker: DialogueStateTracker, timestamp: float) -> List[Event]:
    """The events that start a new session carrying every slot with a value over (what Rasa's
    action_session_start does with carry_over_slots_to_new_session), all at one time."""
    slots = [SlotSet(name, value, timestamp=timestamp)
             for name, value in tracker.current_slot_values().items()
             if value is not None and name not in UNKEPT_SLOTS and name != "requested_slot"]
    return [ActionExecuted(ACTION_SESSION_START_NAME, timestamp=timestamp),
            SessionStarted(timestamp=timestamp), *slots,
            ActionExecuted(ACTION_LISTEN_NAME, timestamp=timestamp)]


# How long a write waits for the other worker's to finish before it fails (SQLite's busy timeout).
SQLITE_BUSY_SECONDS = 15


def use_write_ahead_log(engine: Any, seconds: float = SQLITE_BUSY_SECONDS) -> None:
    """Put the SQLite file's journal in write-ahead-log mode, once, as the store starts.

    With a write-ahead log `make run`'s two workers read while the other writes, and a turn's
    commit waits for one flush to disk instead of three (still every one). The mode is kept in
    the file. Switching needs the file to itself, and SQLite refuses at once (the busy timeout
    does not apply) when two connections try it together: the two workers start together on a
    new file. Each connection used to switch as it opened, so the workers' first turns could
    fail on a new file ("database is locked"; a parent got the 503). Now each worker switches
    while it starts, trying again until `seconds` have passed, and connections never switch."""
    import sqlalchemy as sa

    deadline = time.monotonic() + seconds
    while True:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode = WAL").all()
            break
        except sa.exc.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    engine.dispose()


@dataclass
class CachedConversation:
    latest_id: Optional[int]  # the database id of its newest stored event
    stored: int  # how many events of its current session are stored
    tracker: DialogueStateTracker


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that stores conversations with personal details removed, keeps long
    conversations short and recent ones in memory, and gets over a database restart by itself."""

    def __init__(self, *args: Any, session_events: int = SESSION_EVENTS,
                 cached_conversations: int = CACHED_CONVERSATIONS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_events = int(session_events)
        self.cached_conversations = int(cached_conversations)
        self._cache: OrderedDict[str, CachedConversation] = OrderedDict()  # by stored id
        self._key = conversation_key()
        self._known_for: Any = None  # the domain _known_values was made from (it is set late)
        self._known_values: FrozenSet[str] = frozenset()
        if self.engine.dialect.name == "sqlite":
            import sqlalchemy as sa

            on_file = self.engine.url.database not in (None, "", ":memory:")
            if on_file:
                # Connections kept open and reused: for a file, SQLAlchemy 1.4 opened and closed
                # one for every read and write, three per turn, each set up afresh.
                url = self.engine.url
                self.engine.dispose()
                self.engine = sa.create_engine(
                    url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                    connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
                self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

            # Deleted rows are overwritten with zeros, not left in the file's free pages.
            @sa.event.listens_for(self.engine, "connect")
            def sqlite_settings(connection: Any, _record: Any) -> None:
                connection.execute("PRAGMA secure_delete = ON")

            self.engine.dispose()  # connections made before the listener get it too
            if on_file:
                use_write_ahead_log(self.engine)
        else:
            # Rasa's engine hands out pooled connections without checking them, so the first turn
            # after a database restart would fail on a dead one. Checking each connection as it is
            # taken ("pre-ping") replaces dead ones silently; the cost is one round trip per turn.
            import sqlalchemy as sa
            from rasa.core.tracker_store import create_engine_kwargs

            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _known(self) -> FrozenSet[str]:
        """known_values for the domain Rasa gave this store (it may change when a model loads)."""
        if self._known_for is not self.domain:
            self._known_for, self._known_values = self.domain, known_values(self.domain)
        return self._known_values

    def _event_query(self, session: Any, sender_id: Text, fetch_events_from_all_sessions: bool) -> Any:
        return super()._event_query(session, stored_id(sender_id, self._key),
                                    fetch_events_from_all_sessions)

    def _add(self, session: Any, key: str, events: Iterator[Event]) -> Tuple[int, Optional[int]]:
        """Add events to the database session, each redacted once; return how many, and the
        database id of the last.

        One multi-row INSERT of plain rows (Rasa adds an ORM object per event, which SQLAlchemy
        then inserts one by one to learn its id: 1.2 ms of a turn's CPU). The newest id is then
        this conversation's highest: its lock keeps any other writer out meanwhile."""
        known = self._known()
        rows = []
        for event in events:
            data = redacted_event(event.as_dict(), known)
            rows.append({
                "sender_id": key, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
                "action_name": data.get("name"), "data": json.dumps(data)})
        if not rows:
            return 0, None
        session.execute(self.SQLEvent.__table__.insert(), rows)
        return len(rows), self._latest_id(session, key)

    def _session_count(self, session: Any, sender_id: Text) -> int:
        return self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()

    @functools.cached_property
    def _latest_id_query(self) -> Any:
        import sqlalchemy as sa

        events = self.SQLEvent.__table__
        return sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sa.bindparam("key"))

    @functools.cached_property
    def _newer_events_query(self) -> Any:
        """A conversation's events stored after a given id, oldest first, at most a session's
        worth and one more (more than that: read the conversation afresh)."""
        import sqlalchemy as sa

        events = self.SQLEvent.__table__
        return sa.select(events.c.id, events.c.type_name, events.c.data).where(
            events.c.sender_id == sa.bindparam("key"), events.c.id > sa.bindparam("after")).order_by(
            events.c.id).limit(self.session_events + 1)

    def _latest_id(self, session: Any, key: str) -> Optional[int]:
        """The id of the conversation's newest stored event (one lookup in the sender index).
        Asked twice a turn, as a plain SQL statement built once (as `_newer_events_query` is):
        through the ORM it took 0.18 ms; building the statement each time cost as much as running
        it."""
        return session.execute(self._latest_id_query, {"key": key}).scalar()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, each redacted once, under the hashed id, and keep the
        conversation in memory for its next turn. (Rasa's own save also streams events to an
        event broker: none is configured, and one would receive what parents typed before
        redaction.)"""
        key = stored_id(tracker.sender_id, self._key)
        cached = self._cache.get(key)
        with self.session_scope() as session:
            # This turn's conversation, as retrieve() read it: how many of its events are stored
            # is known; otherwise the database is asked.
            if cached is not None and cached.tracker is tracker:
                stored, latest = cached.stored, cached.latest_id
            else:
                stored, latest = self._session_count(session, tracker.sender_id), None
            added, last_id = self._add(session, key, itertools.islice(tracker.events, stored, None))
            session.commit()
        self._remember(key, CachedConversation(last_id if added else latest, stored + added, tracker))

    def _remember(self, key: str, entry: CachedConversation) -> None:
        if self.cached_conversations <= 0 or entry.latest_id is None:
            self._cache.pop(key, None)
            return
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.cached_conversations:
            self._cache.popitem(last=False)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's current session: from memory when the database's newest event for
        it is still the one this server saved last, else read and rebuilt; a long one at rest
        first gets a new session."""
        key = stored_id(sender_id, self._key)
        with _noting_read_failure():
            with self.session_scope() as session:
                latest = self._latest_id(session, key)
                cached = self._cache.get(key)
                if self._up_to_date(session, key, cached, latest):
                    tracker, stored = cached.tracker, cached.stored
                else:
                    self._cache.pop(key, None)
                    tracker, stored, latest = self._read_session(session, sender_id)
            if tracker is None:
                return None
            if stored > self.session_events and at_rest(tracker):
                return self._start_new_session(key, tracker)
            self._remember(key, CachedConversation(latest, stored, tracker))
            return tracker

    def _up_to_date(self, session: Any, key: str, cached: Optional[CachedConversation],
                    latest: Optional[int]) -> bool:
        """Whether the remembered conversation is the stored one: unchanged since this server
        saved it (and no turn failed before its save), or brought up to date with the events
        another worker or server stored after it, reading only those (with two workers, each turn
        goes to either). False, for a full read, when one of them starts a new session or
        anything else does not add up."""
        if (cached is None or latest is None or cached.latest_id is None
                or latest < cached.latest_id or len(cached.tracker.events) != cached.stored):
            return False
        if latest == cached.latest_id:
            return True
        rows = session.execute(self._newer_events_query, {"key": key, "after": cached.latest_id}).all()
        if (not rows or rows[-1].id != latest
                or any(row.type_name == SessionStarted.type_name for row in rows)):
            return False
        for row in rows:
            event = stored_event(json.loads(row.data))
            if event is None:  # an event Rasa skips too: read the conversation afresh
                return False
            cached.tracker.update(event)
        cached.stored, cached.latest_id = cached.stored + len(rows), latest
        return True

    def _read_session(self, session: Any, sender_id: Text
                      ) -> Tuple[Optional[DialogueStateTracker], int, Optional[int]]:
        """The conversation's current session read from the database in one query, as Rasa's
        retrieve reads it: the tracker, how many events it has stored, and the newest one's id."""
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows or not self.domain:
            return None, 0, None
        events = stored_events([json.loads(row.data) for row in rows])
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots), len(rows), rows[-1].id

    def _start_new_session(self, key: str, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """Store a new session carrying the slots over, and return the conversation as it now is."""
        events = new_session_events(tracker, time.time())
        with self.session_scope() as session:
            added, last_id = self._add(session, key, iter(events))
            session.commit()
        fresh = DialogueStateTracker.from_events(tracker.sender_id, events, self.domain.slots)
        self._remember(key, CachedConversation(last_id, added, fresh))
        return fresh

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        with _noting_read_failure():
            return await super().retrieve_full_tracker(conversation_id)

    def purge(self, days: int, now: Optional[dt.datetime] = None) -> int:
        """Delete every event older than `days` days, in every conversation, live ones included;
        return how many. On SQLite the file is then rebuilt (VACUUM) and its write-ahead log
        emptied, so nothing deleted stays in either; on PostgreSQL see docs/deploy.md for what a
        purge leaves (dead rows, WAL, backups)."""
        cutoff = ((now or dt.datetime.now()) - dt.timedelta(days=days)).timestamp()
        self._cache.clear()
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(
                self.SQLEvent.timestamp < cutoff).delete(synchronize_session=False)
            session.commit()
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.exec_driver_sql("VACUUM")
                # The log's copies of the old pages go too: it is emptied into the file, then cut.
                autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        logger.info("Deleted %d event(s) older than %d days.", deleted, days)
        return deleted
