"""Keeping what parents type out of the logs.

Rasa logs a failed custom action with the action server's reply in it (`body='...'`), and the
SDK's reply to an error carries the whole conversation: every message the parent typed. The
filter here cuts any `body=` or `request_body` text out of a log record, in its message and in its
traceback, before a handler writes it. `install()` puts it on every handler of the root logger;
the Rasa server does so as it starts (bot/channels/server.py), the action server as it loads our
actions (actions/__init__.py).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Optional

# From `body='`, `body="`, `"request_body":` to the end of that line: what follows is the body.
BODY = re.compile(r"""(body=['"]|"request_body":)[^\n]*""")
NOT_LOGGED = r"\1[not logged: it may hold what a parent typed]"


def scrub(text: str) -> str:
    return BODY.sub(NOT_LOGGED, text)


class NoMessageText(logging.Filter):
    """Removes request and response bodies from a record, in its message and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments don't fit its message: log what it says
            message = str(record.msg)
        record.msg, record.args = scrub(message), ()
        if record.exc_info:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def install(logger: Optional[logging.Logger] = None) -> None:
    """Put the filter on each of the handlers of `logger` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, NoMessageText) for f in handler.filters):
            handler.addFilter(NoMessageText())
