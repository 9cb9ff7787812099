"""The REST channel, with the request checked first: a malformed request gets a 400 that says
what to send, never a 500, and never a reply in somebody else's conversation."""

from __future__ import annotations

from typing import Any, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

MAX_SENDER_LENGTH = 128
USAGE = 'Send a JSON object like {"sender": "a-conversation-id", "message": "your question"}.'


def request_body(request: Request) -> dict:
    """The request's JSON object, or a 400 saying what to send."""
    try:
        body: Any = request.json
    except Exception as error:  # sanic raises its own error types for bad JSON
        raise InvalidUsage(f"The request body is not valid JSON. {USAGE}") from error
    if not isinstance(body, dict):
        raise InvalidUsage(f"The request body must be a JSON object. {USAGE}")
    return body


class CheckedRestInput(RestInput):
    """Rasa's REST channel (same URL: /webhooks/rest/webhook) with its input checked."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = request_body(req).get("sender")
        if not isinstance(sender, str) or not sender.strip():
            raise InvalidUsage(f'"sender" must be a non-empty string. {USAGE}')
        if len(sender) > MAX_SENDER_LENGTH:
            raise InvalidUsage(f'"sender" must be at most {MAX_SENDER_LENGTH} characters.')
        return sender

    def _extract_message(self, req: Request) -> Optional[Text]:
        message = request_body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage(f'"message" must be a string. {USAGE}')
        return message

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[dict]:
        metadata = request_body(request).get("metadata")
        return metadata if isinstance(metadata, dict) else None
