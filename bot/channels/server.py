"""How the Rasa server that talks to parents is set up, in one place.

`rasa run` builds the Sanic app itself and has no hook for our settings, so every one of our
channels registers `configure` to run once as the server starts (Sanic's `before_server_start`).
It sets:

- the largest request body any route accepts (Sanic's REQUEST_MAX_SIZE, 100 MB by default):
  64 KB, far more than any parent's message or a Messenger post; larger bodies get a 413 before
  they are read;
- how long a client may take to send its request (REQUEST_TIMEOUT) and keep an idle connection
  open (KEEP_ALIVE_TIMEOUT), so slow clients cannot hold connections;
- how long the server waits for the action server (bot/action_timeout.py), and its replies'
  format checked with a validator built once (bot/action_replies.py);
- the log filter that keeps what parents type out of the log (bot/logs.py).

A reverse proxy in front (docs/deploy.md) sets the same body limit, so this is the second line.
"""

from __future__ import annotations

import logging
import os

from sanic import Sanic

from bot import action_replies, action_timeout, logs

logger = logging.getLogger(__name__)

REQUEST_MAX_SIZE = 64 * 1024  # bytes
REQUEST_TIMEOUT = 15  # seconds to receive a whole request
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle connection is kept


def configure(app: Sanic, _loop: object = None) -> None:
    """Apply the settings above to the app (once, however many channels ask)."""
    if getattr(app.ctx, "assistant_configured", False):
        return
    app.ctx.assistant_configured = True
    app.config.REQUEST_MAX_SIZE = int(os.environ.get("REQUEST_MAX_SIZE", REQUEST_MAX_SIZE))
    app.config.REQUEST_TIMEOUT = REQUEST_TIMEOUT
    app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_TIMEOUT
    limit = action_timeout.apply()
    action_replies.apply()
    logs.install()
    logger.info("Requests limited to %d bytes; action server calls to %.0f s.",
                app.config.REQUEST_MAX_SIZE, limit)
