"""Custom actions, run by the action server (`rasa run actions --actions actions`).

Each is a SafeAction: it never fails in front of a parent, whatever a message sets its slots to.
Loading this package keeps message text out of the action server's log (bot/logs.py).
"""

from bot import logs

logs.install()
