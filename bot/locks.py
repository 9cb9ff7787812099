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
  a ticket given back, and the lock removed when no ticket is left) is one Redis transaction
  (WATCH, then MULTI/EXEC, retried if the lock changed meanwhile). Rasa's reads the lock and
  writes it back in separate steps, so two workers taking a ticket for the same conversation at
  the same moment could both get the first one and be answered side by side, and a write from a
  stale read could drop another worker's ticket, which then waited for the lock to expire
  (measured: 4 stores taking 200 tickets each at once got 277 different tickets out of 800; four
  workers taking turns on one conversation had two in it at once, and 8 of 80 turns waited for
  an expiry; tests/test_scale_out.py).

endpoints.prod.yml uses `AtomicRedisLockStore`, the same on Rasa's host and port connection, for a
shared Redis on the network (docs/deploy.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional, Tuple, TypeVar

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


Result = TypeVar("Result")
# Tries of one change before giving up with a LockError (each retry means another worker changed
# the same conversation's lock in the few microseconds between reading and writing it).
MAX_TRIES = 50


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket changes are Redis transactions (module docstring). Configured
    as Rasa's `type: redis` is: url (the host), port, db, password, key_prefix, use_ssl, ..."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: object) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str,
                change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], Result]]
                ) -> Result:
        """Apply `change` to the stored lock in one transaction: it gets the lock (or None) and
        returns the lock to store (None: delete it) and what to return."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_TRIES):
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is not None and new.tickets:
                        pipe.set(key, new.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise LockError(f"The lock kept changing: gave up after {MAX_TRIES} tries.")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take)
        except LockError:
            raise
        except Exception as error:  # as Rasa's: the message handler reports a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (Rasa does this between tries while a ticket waits its turn)."""
        def prune(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, prune)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back; the lock goes when no ticket is left (Rasa: finish_serving, then
        delete_lock if nobody is waiting)."""
        def give_back(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, give_back)


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
