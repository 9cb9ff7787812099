"""The lock store of `make run`'s set-up: Rasa's own Redis lock store, reached through a Unix socket.

Rasa answers a conversation's messages one at a time by taking a lock on it. With more than one
Sanic worker (`SANIC_WORKERS`, two in `make run`: one per core) the workers must share those locks,
and Rasa allows several workers only with a lock store outside the process: Redis. `make run` starts
its own Redis (scripts/lock-redis.sh) listening on a socket in var/redis/, which only the user
running the assistant can open, with nothing written to disk: the locks live a few milliseconds.

This class is Rasa's RedisLockStore, locking and all; only the connection differs, since Rasa's
takes a host and port. endpoints.yml:

    lock_store:
      type: bot.locks.SocketRedisLockStore
      socket: var/redis/locks.sock     # relative to the project folder

endpoints.prod.yml keeps Rasa's `type: redis` for a shared Redis on the network (docs/deploy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.content import PROJECT_DIR

DEFAULT_SOCKET = "var/redis/locks.sock"


def socket_path(value: Optional[str] = None) -> Path:
    """The socket's path, relative to the project folder unless absolute."""
    path = Path(value or DEFAULT_SOCKET)
    return path if path.is_absolute() else PROJECT_DIR / path


class SocketRedisLockStore(RedisLockStore):
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
