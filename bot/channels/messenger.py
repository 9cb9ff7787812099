"""Facebook Messenger, at Rasa's usual webhook (/webhooks/facebook/webhook), made safe:

- secrets come from the environment (FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET,
  FACEBOOK_PAGE_ACCESS_TOKEN; FACEBOOK_GRAPH_URL for tests); without them the channel is off and
  says so in one line, and everything else starts as usual;
- posts must carry a valid X-Hub-Signature-256 (HMAC-SHA256 of the raw body), compared in constant
  time; anything unsigned or forged gets a 403 and is not processed;
- replies are converted within Messenger's limits (messenger_format.py) and sent without blocking;
- images, stickers and other attachments are not read: the parent is told kindly to send none;
- the first message says the assistant is automated and that Meta also sees Messenger chats, and
  safeguarding replies suggest the website chat or a phone call rather than details here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional, Text

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import server
from bot.channels.messenger_format import messenger_messages
from bot.channels.rest import SystemMessages, clean_text, conversation_id, cut_to_length
from bot.safeguarding.danger import HANDOFFS
from bot.storage import StoreWatch, watching_store

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"
ENVIRONMENT = ("FACEBOOK_VERIFY_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_PAGE_ACCESS_TOKEN")
HANDOFF_RESPONSES = tuple(f"utter_{topic}" for topic in HANDOFFS)


def signature_is_valid(app_secret: str, body: bytes, header: Optional[str]) -> bool:
    """Whether X-Hub-Signature-256 is "sha256=" + HMAC-SHA256(body, app secret), in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].encode(), expected.encode())


def user_events(payload: Any) -> Iterable[Dict[str, Any]]:
    """Each messaging event of a webhook post that comes from a person: (sender, text or None for
    an attachment). Echoes, delivery and read receipts and reactions are left out."""
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or []:
        for event in (entry.get("messaging") or []) if isinstance(entry, dict) else []:
            sender = (event.get("sender") or {}).get("id")
            message = event.get("message") or {}
            if not sender or message.get("is_echo"):
                continue
            if (message.get("quick_reply") or {}).get("payload"):
                yield {"sender": str(sender), "text": message["quick_reply"]["payload"]}
            elif isinstance(message.get("text"), str):
                yield {"sender": str(sender), "text": message["text"]}
            elif message.get("attachments") or message.get("sticker_id"):
                yield {"sender": str(sender), "text": None}
            elif (event.get("postback") or {}).get("payload"):
                yield {"sender": str(sender), "text": event["postback"]["payload"]}


class MessengerOutput(OutputChannel):
    """Sends the assistant's messages to the Graph API's Send API, within Messenger's limits."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, graph_url: str, access_token: str, session: aiohttp.ClientSession) -> None:
        self.url = f"{graph_url.rstrip('/')}/me/messages"
        self.access_token = access_token
        self.session = session
        self.sent_handoff = False
        self.answered = False  # whether the assistant has sent this turn's parent anything
        # The conversation store this turn: with no conversation read, nothing is sent
        # (bot/storage.watching_store).
        self.store = StoreWatch()

    async def post(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        # Rasa passes the conversation id ("facebook:" + the page-scoped id): Meta wants the id.
        recipient_id = recipient_id.removeprefix(f"{self.name()}:")
        body = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message}
        try:
            async with self.session.post(self.url, params={"access_token": self.access_token},
                                         json=body, timeout=aiohttp.ClientTimeout(total=10)) as reply:
                if reply.status >= 400:
                    logger.error("Messenger Send API answered %s", reply.status)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
            logger.error("Messenger Send API unreachable: %s", error)

    async def send_text(self, recipient_id: Text, text: Text) -> None:
        for message in messenger_messages({"text": text}):
            await self.post(recipient_id, message)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if self.store.read_failed:
            return
        self.answered = True
        if str(message.get("utter_action") or "").startswith(HANDOFF_RESPONSES):
            self.sent_handoff = True
        for payload in messenger_messages(message):
            await self.post(recipient_id, payload)


class SeenSenders:
    """Senders this server has already greeted with the privacy notice (bounded, in memory: after a
    restart a returning parent sees the notice once more, which does no harm)."""

    def __init__(self, size: int = 50_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, sender: str) -> bool:
        if sender in self._seen:
            self._seen.move_to_end(sender)
            return False
        self._seen[sender] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class MessengerInput(FacebookInput):
    """Rasa's Facebook channel with SHA-256 signatures, secrets from the environment, and replies
    within Messenger's limits."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
        if missing:
            logger.warning("Messenger channel off: set %s to turn it on (docs/messenger.md).",
                           ", ".join(missing))
            return cls(None, None, None)
        return cls(os.environ["FACEBOOK_VERIFY_TOKEN"], os.environ["FACEBOOK_APP_SECRET"],
                   os.environ["FACEBOOK_PAGE_ACCESS_TOKEN"],
                   os.environ.get("FACEBOOK_GRAPH_URL") or DEFAULT_GRAPH_URL)

    def __init__(self, fb_verify: Optional[Text], fb_secret: Optional[Text],
                 fb_access_token: Optional[Text], graph_url: str = DEFAULT_GRAPH_URL) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.graph_url = graph_url
        self.enabled = bool(fb_verify and fb_secret and fb_access_token)
        self.seen = SeenSenders()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("fb_webhook", __name__)
        webhook.listener("before_server_start")(server.configure)
        system = SystemMessages()
        session: Dict[str, aiohttp.ClientSession] = {}

        def off() -> HTTPResponse:
            return response.json({"error": "The Messenger channel is not configured."}, status=503)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "off"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.enabled:
                return off()
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                    token.encode(), self.fb_verify.encode()):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Messenger verification with a wrong verify token refused.")
            return response.text("forbidden", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return off()
            if not signature_is_valid(self.fb_secret, request.body,
                                      request.headers.get("X-Hub-Signature-256")):
                logger.warning("Messenger post without a valid X-Hub-Signature-256 refused.")
                return response.text("forbidden", status=403)
            try:
                payload = request.json
            except Exception:
                return response.text("not JSON", status=400)
            if "client" not in session:
                session["client"] = aiohttp.ClientSession()
            for event in user_events(payload):
                await self.handle_event(event, on_new_message, system, session["client"])
            return response.text("EVENT_RECEIVED")

        return webhook

    async def handle_event(self, event: Dict[str, Any],
                           on_new_message: Callable[[UserMessage], Awaitable[Any]],
                           system: SystemMessages, client: aiohttp.ClientSession) -> None:
        sender = event["sender"]
        output = MessengerOutput(self.graph_url, self.fb_access_token, client)
        if self.seen.first_time(sender):
            await output.send_text(sender, system["messenger_privacy"])
        if event["text"] is None:
            await output.send_text(sender, system["no_images"])
            return
        text, was_cut = cut_to_length(clean_text(event["text"]))
        if was_cut:
            await output.send_text(sender, system["message_cut"])
        with watching_store() as store:
            output.store = store
            try:
                await on_new_message(UserMessage(text, output, conversation_id(self.name(), sender),
                                                 input_channel=self.name()))
            except Exception:
                logger.exception("The assistant failed to handle a Messenger message.")
                if not output.answered:
                    await output.send_text(sender, system["service_unavailable"])
                return
        if output.store.read_failed:
            await output.send_text(sender, system["service_unavailable"])
            return
        if not output.answered:  # never silence, e.g. when the action server is down
            await output.send_text(sender, system["not_available"])
        if output.sent_handoff:
            await output.send_text(sender, system["messenger_handoff"])

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None
