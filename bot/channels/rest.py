"""The REST channel (same URL as Rasa's: /webhooks/rest/webhook), made safe for real use:

- a malformed request gets a 400 that says what to send, never a 500, and never a reply in
  somebody else's conversation (Rasa's own channel falls back to the sender "default");
- a very long message is cut before the model sees it, and the parent is told;
- if the assistant could not produce any reply (an action server down, say), the parent gets a
  short apology with the emergency number rather than silence;
- if it failed outright (the conversation store unreachable for a moment, say), the answer is a
  503 with a Retry-After and a kind message giving 999, CEOP and the NSPCC helpline, and the next
  message works once the store is back;
- one sender may send at most 60 messages in 10 minutes, and one client address at most
  RATE_LIMIT_PER_ADDRESS (default 600, for many parents behind one school or office address), then
  a 429 with a kind reply. The address is the connection's, or, behind the force's reverse proxy,
  the one the proxy saw (Sanic's SANIC_PROXIES_COUNT, set only when a trusted proxy is in front;
  a sender id the client makes up afresh does not escape the address's limit);
- `metadata` is not accepted: nothing a client sends besides the message is kept;
- conversations are scoped by channel: the conversation id is "rest:" + sender, so a web chat
  conversation cannot be read or continued over REST.

The web chat's /webchat/message runs through the same `answer_request`.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content
from bot.channels import server
from bot.storage import watching_store

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 1000  # characters the model reads; a parent's question fits many times over
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


def checked_sender(body: dict) -> str:
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise InvalidUsage(f'"sender" must be a non-empty string. {USAGE}')
    if len(sender) > MAX_SENDER_LENGTH:
        raise InvalidUsage(f'"sender" must be at most {MAX_SENDER_LENGTH} characters.')
    if clean_text(sender) != sender:
        raise InvalidUsage('"sender" may not contain control characters or invalid Unicode.')
    return sender


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Text safe to read and store: lone surrogates (not valid Unicode) replaced, and control
    characters (bar new lines and tabs) removed."""
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return CONTROL_CHARACTERS.sub("", text)


def checked_message(body: dict) -> str:
    message = body.get("message")
    if not isinstance(message, str):
        raise InvalidUsage(f'"message" must be a string. {USAGE}')
    return clean_text(message)


def cut_to_length(text: str, limit: int = MAX_MESSAGE_LENGTH) -> tuple:
    """(the text the model reads, whether it was cut). Cuts at a word boundary where it can."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut), True


class SenderRateLimit:
    """At most `limit` messages from one sender in `window` seconds (in memory, per server; a
    reverse proxy limits per client too: docs/deploy.md). Keeps one sender from tying up the
    assistant, and a conversation from growing without end."""

    def __init__(self, limit: int = 60, window: float = 600.0, senders: int = 100_000) -> None:
        self.limit, self.window, self.senders = limit, window, senders
        self._times: OrderedDict[str, deque] = OrderedDict()

    def allow(self, sender: str, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self._times.pop(sender, None) or deque()
        while times and now - times[0] > self.window:
            times.popleft()
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        self._times[sender] = times
        if len(self._times) > self.senders:
            self._times.popitem(last=False)
        return allowed


DEFAULT_ADDRESS_LIMIT = 600  # messages per 10 minutes from one client address
DEFAULT_SENDER_LIMIT = 60  # messages per 10 minutes from one sender


def limit_from_environment(variable: str, default: int) -> int:
    value = os.environ.get(variable, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def sender_rate_limit() -> SenderRateLimit:
    """A channel's per-sender limit: 60 messages in 10 minutes, or RATE_LIMIT_PER_SENDER (which
    `make bench-load` raises to time turn 200 of one conversation; leave it alone in service)."""
    return SenderRateLimit(limit=limit_from_environment("RATE_LIMIT_PER_SENDER", DEFAULT_SENDER_LIMIT))


@functools.cache
def address_rate_limit() -> SenderRateLimit:
    """The per-address limit, shared by every channel of this server (RATE_LIMIT_PER_ADDRESS)."""
    return SenderRateLimit(limit=limit_from_environment("RATE_LIMIT_PER_ADDRESS", DEFAULT_ADDRESS_LIMIT))


def client_address(request: Request) -> Optional[str]:
    """Who sent the request: the address the trusted proxy saw (only if SANIC_PROXIES_COUNT says
    there is one; Sanic ignores forwarding headers otherwise), else the connection's. None for
    this machine itself: a reverse proxy on the same machine, not configured as one, would make
    every parent look like one client, and limiting that would limit everyone together."""
    address = (request.remote_addr or request.ip or "").strip("[]")
    try:
        return None if ipaddress.ip_address(address).is_loopback else address
    except ValueError:
        return address or None


def conversation_id(channel: str, sender: str) -> str:
    """The id a conversation is kept under: the channel's name and the sender's id."""
    return f"{channel}:{sender}"


class SystemMessages:
    """The channel's own messages, from data/content/system.yml with the contacts filled in."""

    def __init__(self) -> None:
        from bot.channels.messenger_state import load_office_hours

        contacts = {**content.load_contacts(), "office_hours": load_office_hours().describe()}
        self._messages = {
            name: content.fill_placeholders(message["text"], contacts, name)
            for name, message in content.load_system_messages(section="channel").items()
        }

    def __getitem__(self, name: str) -> str:
        return self._messages[name]


class AnswerCollector(CollectingOutputChannel):
    """Rasa's collecting channel, with each answer's messages as separate replies (an answer is
    one Rasa response: bot/content.py, `as_response`)."""

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        for part in content.chat_messages(message):
            await super().send_response(recipient_id, part)


@dataclass
class Turn:
    """What one message got: the replies to show, and the HTTP status to send them with."""

    replies: List[Dict[str, Any]]
    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)


RETRY_AFTER_SECONDS = 60


def unavailable(sender: str, system: SystemMessages) -> Turn:
    """The 503 for a turn the assistant could not handle: the way to urgent help, and when to retry."""
    return Turn([{"recipient_id": sender, "text": system["service_unavailable"]}], 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def handle_message(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    text: str,
    sender: str,
    channel: str,
    system: SystemMessages,
) -> Turn:
    """Run one parent message through the assistant and return what to show them."""
    text, was_cut = cut_to_length(text)
    sender = conversation_id(channel, sender)
    collector = AnswerCollector()
    failed = False
    with watching_store() as store:
        try:
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=channel)
            )
        except Exception:  # e.g. the lock store unreachable; the error is in the log
            logger.exception("The assistant failed to handle a message on the %s channel.", channel)
            failed = True
    if store.read_failed:
        # Whatever was worked out came from an empty conversation, not this parent's: don't show it.
        logger.error("Conversation store unavailable: answered %s with a 503.", channel)
        return unavailable(sender, system)
    replies = list(collector.messages)
    if was_cut:
        replies.insert(0, {"recipient_id": sender, "text": system["message_cut"]})
    if any(r.get("text") or r.get("buttons") for r in replies):
        # Answered, even if the conversation could not be saved afterwards: a hand-off's links
        # matter more than the record.
        return Turn(replies)
    if failed:
        return unavailable(sender, system)
    replies.append({"recipient_id": sender, "text": system["not_available"]})
    return Turn(replies)


async def answer_request(
    request: Request,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    channel: str,
    system: SystemMessages,
    rate_limit: SenderRateLimit,
) -> Turn:
    """One POSTed message, checked (400), rate-limited by address and sender (429) and answered.
    The replies carry the sender id the client sent, not the conversation id it is kept under."""
    body = request_body(request)
    sender, text = checked_sender(body), checked_message(body)
    address = client_address(request)
    if not rate_limit.allow(sender) or (address and not address_rate_limit().allow(address)):
        return Turn([{"recipient_id": sender, "text": system["too_many"]}], 429,
                    {"Retry-After": str(int(rate_limit.window))})
    turn = await handle_message(on_new_message, text, sender, channel, system)
    for reply in turn.replies:
        if "recipient_id" in reply:
            reply["recipient_id"] = sender
    return turn


class CheckedRestInput(RestInput):
    """Rasa's REST channel with its input checked and its replies guaranteed."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        webhook.listener("before_server_start")(server.configure)
        system = SystemMessages()
        rate_limit = sender_rate_limit()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            turn = await answer_request(request, on_new_message, self.name(), system, rate_limit)
            return response.json(turn.replies, status=turn.status, headers=turn.headers)

        return webhook
