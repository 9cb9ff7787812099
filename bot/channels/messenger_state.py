"""What the Messenger channel remembers between Meta's posts: message ids already handled (Meta
posts a message again when it did not get its 200 in time) and conversations a person has taken
over from the page's inbox. Plain values with a time to live.

With several Rasa servers (or Sanic workers) behind one page the memory must be shared: when
REDIS_HOST is set (as for the Redis lock store, docs/deploy.md) it is kept in Redis (REDIS_PORT,
REDIS_PASSWORD, database MESSENGER_REDIS_DB, default 2); when REDIS_SOCKET is set, in the Redis on
that Unix socket (`make run` and `make serve` set it to their lock store's, for their two
workers); otherwise in this server's memory, bounded.
Also here: the force's office hours (data/content/office_hours.yml), a plain function of the time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple
from zoneinfo import ZoneInfo

from bot import content

logger = logging.getLogger(__name__)

DAY = 24 * 3600
OFFICE_HOURS_FILE = content.CONTENT_DIR / "office_hours.yml"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class MemoryFlags:
    """Keys with a time to live, in this server's memory (at most `size` of them)."""

    def __init__(self, size: int = 100_000) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()
        self._size = size

    async def add_once(self, key: str, ttl: float) -> bool:
        """Set the key unless it is already set; whether it was new."""
        if await self.is_set(key):
            return False
        await self.set(key, ttl)
        return True

    async def set(self, key: str, ttl: float) -> None:
        self._until.pop(key, None)
        self._until[key] = time.monotonic() + ttl
        while len(self._until) > self._size:
            self._until.popitem(last=False)

    async def is_set(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[key]
            return False
        return True

    async def delete(self, key: str) -> None:
        self._until.pop(key, None)


class RedisFlags:
    """The same, in Redis, shared by every server of the page."""

    def __init__(self, host: str, port: int, password: Optional[str], db: int,
                 socket: Optional[str] = None) -> None:
        import redis.asyncio

        if socket:
            self._redis = redis.asyncio.Redis(unix_socket_path=socket, db=db)
        else:
            self._redis = redis.asyncio.Redis(host=host, port=port, password=password or None, db=db)

    async def add_once(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.set(key, b"1", ex=int(ttl), nx=True))

    async def set(self, key: str, ttl: float) -> None:
        await self._redis.set(key, b"1", ex=int(ttl))

    async def is_set(self, key: str) -> bool:
        return bool(await self._redis.exists(key))

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)


def flags_from_environment() -> MemoryFlags | RedisFlags:
    host, socket = os.environ.get("REDIS_HOST"), os.environ.get("REDIS_SOCKET")
    if not host and not socket:
        return MemoryFlags()
    logger.info("Messenger: message ids and handovers kept in Redis (shared by every server).")
    from bot.locks import socket_path

    return RedisFlags(host or "", int(os.environ.get("REDIS_PORT") or 6379),
                      os.environ.get("REDIS_PASSWORD"), int(os.environ.get("MESSENGER_REDIS_DB") or 2),
                      socket=str(socket_path(socket)) if socket and not host else None)


@dataclass(frozen=True)
class OfficeHours:
    """When the force's digital desk answers conversations passed to the page's inbox."""

    zone: ZoneInfo
    hours: Dict[str, Optional[Tuple[dt.time, dt.time]]]  # day -> (opens, closes), None if closed
    closed_on: Tuple[dt.date, ...]
    quiet_for_hours: float
    always_open: bool = False

    def is_open(self, now: Optional[dt.datetime] = None) -> bool:
        if self.always_open:
            return True
        local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(self.zone)
        if local.date() in self.closed_on:
            return False
        span = self.hours.get(DAYS[local.weekday()])
        return span is not None and span[0] <= local.time() < span[1]

    def describe(self) -> str:
        """ "Monday to Friday, 8am to 6pm" (or each day, when they differ)."""
        open_days = [(day, span) for day, span in self.hours.items() if span]
        if not open_days:
            return "not at the moment"
        spans = {span for _, span in open_days}

        def clock(t: dt.time) -> str:
            text = t.strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")
            return "midnight" if text == "12am" else text

        if len(spans) == 1:
            (opens, closes), = spans
            days = [day for day, _ in open_days]
            first, last = days[0].capitalize(), days[-1].capitalize()
            consecutive = [DAYS.index(d) for d in days] == list(
                range(DAYS.index(days[0]), DAYS.index(days[-1]) + 1))
            when = f"{first} to {last}" if consecutive and len(days) > 1 else ", ".join(
                d.capitalize() for d in days)
            return f"{when}, {clock(opens)} to {clock(closes)}"
        return "; ".join(f"{day.capitalize()} {clock(s[0])} to {clock(s[1])}" for day, s in open_days)


def _span(value: object, path: Path, day: str) -> Optional[Tuple[dt.time, dt.time]]:
    if value in (None, "closed", False):
        return None
    try:
        opens, closes = (dt.time.fromisoformat(part.strip().replace("24:00", "23:59:59"))
                         for part in str(value).split("-"))
    except ValueError as error:
        raise content.ContentError(f"{path}: {day}: write hours as 08:00-18:00, or closed.") from error
    return opens, closes


def load_office_hours(path: Path = OFFICE_HOURS_FILE) -> OfficeHours:
    """The office hours file; MESSENGER_OFFICE_HOURS=always (for tests and trials) opens it."""
    data = content.read_yaml(path) or {}
    hours = {day: _span((data.get("hours") or {}).get(day), path, day) for day in DAYS}
    closed_on = tuple(dt.date.fromisoformat(str(d)) for d in data.get("closed_on") or ())
    return OfficeHours(ZoneInfo(str(data.get("timezone") or "Europe/London")), hours, closed_on,
                       float(data.get("quiet_for_hours") or 24),
                       always_open=os.environ.get("MESSENGER_OFFICE_HOURS") == "always")
