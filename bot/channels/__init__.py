"""The channels parents reach the assistant through: REST, the web chat and Messenger.

Each registers bot/channels/server.py's `configure` to run as the server starts: the request size
limit, timeouts and how long to wait for the action server, in one place.
"""
