"""The channels parents reach the assistant through: REST, the web chat and Messenger.

Loading any of them also limits how long the server waits for the action server
(bot/action_timeout.py): every server that talks to parents loads one of them.
"""

from bot import action_timeout

action_timeout.apply()
