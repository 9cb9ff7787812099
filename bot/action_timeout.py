"""How long the Rasa server waits for the action server before giving up on a custom action.

Rasa 3.6 waits up to 5 minutes (`rasa.core.constants.DEFAULT_REQUEST_TIMEOUT`), and endpoints.yml
has no setting for it. A parent would see nothing for that long if the action server hung. Past
this limit Rasa logs the failure and carries on as if the action server were down: hand-offs still
arrive (their answers do not need the action server), and other answers end with a short apology.
Our actions answer in milliseconds, so the default of 10 seconds only cuts off a server in trouble.

Set ACTION_SERVER_TIMEOUT (seconds) to change it. Our channels apply it when the server loads them
(bot/channels/__init__.py).
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "ACTION_SERVER_TIMEOUT"
DEFAULT_SECONDS = 10.0


def seconds() -> float:
    """The limit from the environment, or the default if it is unset or not a positive number."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "")
    try:
        limit = float(value) if value else DEFAULT_SECONDS
    except ValueError:
        limit = 0
    if limit <= 0:
        logger.warning("%s=%r is not a positive number of seconds; using %s.",
                       ENVIRONMENT_VARIABLE, value, DEFAULT_SECONDS)
        return DEFAULT_SECONDS
    return limit


def apply() -> float:
    """Make Rasa wait at most `seconds()` for each custom action; return the limit."""
    import rasa.core.actions.action

    limit = seconds()
    # RemoteAction.run reads this module-level name on every call.
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = limit
    return limit
