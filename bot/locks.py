"""The lock store of `make run`'s set-up: Rasa's own Redis lock store, reached through a Unix socket.

Rasa answers a conversation's messages one at a time by taking a lock on it. With more than one
Sanic worker (`SANIC_WORKERS`, two in `make run`: one per core) the workers must share those locks,
and Rasa allows several workers only with a lock store outside the process: Redis. `make run` starts
its own Redis (scripts/lock-redis.sh) listening on a socket in var/redis/, which only the user
running the assistant can open, with nothing written to disk: the locks live a few milliseconds.

This is Rasa's RedisLockStore, with Rasa's ticket locks, changed in two ways:
- the connection: a Unix socket, where Rasa's takes a host and port. endpoints.yml:

      lock_store:
        type: bot.locks.SocketRedisLockStore
        socket: var/redis/locks.sock     # relative to the project folder

- each change to a conversation's lock (a ticket issued; expired tickets dropped while one waits;
  a ticket given back, and the lock removed when no ticket is left) is one Redis script (Lua,
  run by EVALSHA), which Redis runs whole before any other command. Rasa's reads the lock and
  writes it back in separate steps, so two workers taking a ticket for the same conversation at
  the same moment could both get the first one and be answered side by side, and a write from a
  stale read could drop another worker's ticket, which then waited for the lock to expire
  (measured: 4 stores taking 200 tickets each at once got 277 different tickets out of 800; four
  workers taking turns on one conversation had two in it at once, and 8 of 80 turns waited for
  an expiry; tests/test_scale_out.py). A turn now takes two round trips to Redis (a ticket
  issued, with the number served now; the ticket given back) when nobody is ahead of it, where
  Rasa's, and the WATCH/MULTI/EXEC transactions this store used before, took seven.

endpoints.prod.yml uses `AtomicRedisLockStore`, the same on Rasa's host and port connection, for a
shared Redis on the network (docs/deploy.md).
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncGenerator, Optional, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig

from bot.content import PROJECT_DIR

DEFAULT_SOCKET = "var/redis/locks.sock"


def socket_path(value: Optional[str] = None) -> Path:
    """The socket's path, relative to the project folder unless absolute."""
    path = Path(value or DEFAULT_SOCKET)
    return path if path.is_absolute() else PROJECT_DIR / path


# Rasa's ticket lock (rasa.core.lock.TicketLock), changed inside Redis by one script each: the lock
# is JSON {"conversation_id": ..., "tickets": [<JSON of {"number", "expires"}>, ...]}, as Rasa
# stores it; a ticket has expired once the worker's clock (ARGV[1]) is past its `expires`; the lock
# is deleted when no ticket is left. Tickets kept are written back as they were read.
_KEEP_UNEXPIRED = """
local now = tonumber(ARGV[1])
local stored = redis.call('GET', KEYS[1])
local conversation, kept = nil, {}
if stored then
  local lock = cjson.decode(stored)
  conversation = lock['conversation_id']
  for _, text in ipairs(lock['tickets'] or {}) do
    local ticket = cjson.decode(text)
    if not (now > tonumber(ticket['expires'])) then
      table.insert(kept, {text, tonumber(ticket['number'])})
    end
  end
end
local function store(tickets)
  if #tickets == 0 then
    redis.call('DEL', KEYS[1])
    return
  end
  local texts = {}
  for i, ticket in ipairs(tickets) do texts[i] = ticket[1] end
  local lock = cjson.encode({conversation_id = conversation, tickets = texts})
  redis.call('SET', KEYS[1], lock)
  return lock
end
"""
# ARGV: now, conversation id, lifetime. Returns the new ticket's number (Rasa: the last one's + 1,
# 0 when none is left) and the lock as stored.
ISSUE_TICKET = _KEEP_UNEXPIRED + """
conversation = conversation or ARGV[2]
local number = 0
if #kept > 0 then number = kept[#kept][2] + 1 end
local ticket = cjson.encode({number = number, expires = now + tonumber(ARGV[3])})
table.insert(kept, {ticket, number})
return {number, store(kept)}
"""
# ARGV: now.
DROP_EXPIRED = _KEEP_UNEXPIRED + """
if stored then store(kept) end
return 0
"""
# ARGV: now, the ticket's number.
GIVE_BACK = _KEEP_UNEXPIRED + """
local left = {}
for _, ticket in ipairs(kept) do
  if ticket[2] ~= tonumber(ARGV[2]) then table.insert(left, ticket) end
end
if stored then store(left) end
return 0
"""


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket changes are each one Redis script (module docstring).
    Configured as Rasa's `type: redis` is: url (the host), port, db, password, key_prefix, ..."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: object) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        self._scripts()

    def _scripts(self) -> None:
        """The scripts, on this store's client (redis-py runs each by its SHA-1 and sends its
        text only when Redis does not have it yet, as after a restart)."""
        self._issue = self.red.register_script(ISSUE_TICKET)
        self._drop_expired = self.red.register_script(DROP_EXPIRED)
        self._give_back = self.red.register_script(GIVE_BACK)

    def _take_ticket(self, conversation_id: str, lock_lifetime: float) -> Tuple[int, TicketLock]:
        """A new ticket's number, and the lock with it."""
        try:
            number, lock = self._issue(keys=[self.key_prefix + conversation_id], args=[
                repr(time.time()), conversation_id, repr(float(lock_lifetime))])
            return int(number), TicketLock.from_dict(json.loads(lock))
        except Exception as error:  # as Rasa's: the message handler reports a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._take_ticket(conversation_id, lock_lifetime)[0]

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Rasa's LockStore.lock, but a ticket served as soon as it is issued (a conversation's
        usual case: one message at a time) goes ahead without reading the lock again."""
        ticket, lock = self._take_ticket(conversation_id, lock_lifetime)
        try:
            if lock.is_locked(ticket):
                lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (Rasa does this between tries while a ticket waits its turn)."""
        self._drop_expired(keys=[self.key_prefix + conversation_id], args=[repr(time.time())])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back; the lock goes when no ticket is left (Rasa: finish_serving, then
        delete_lock if nobody is waiting)."""
        self._give_back(keys=[self.key_prefix + conversation_id],
                        args=[repr(time.time()), int(ticket_number)])


class SocketRedisLockStore(AtomicRedisLockStore):
    """RedisLockStore on a Unix socket (`socket`), database `db` (default 1)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        import redis

        options = dict(endpoint_config.kwargs) if endpoint_config else {}
        db = int(options.get("db", 1))
        timeout = float(options.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS))
        super().__init__(db=db, key_prefix=options.get("key_prefix"), socket_timeout=timeout)
        self.socket = socket_path(options.get("socket"))
        # Replaces the TCP client Rasa made (it had not connected: redis-py connects on first use).
        self.red = redis.StrictRedis(unix_socket_path=str(self.socket), db=db,
                                     socket_timeout=timeout)
        self._scripts()
