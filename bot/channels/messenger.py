"""Facebook Messenger, at Rasa's usual webhook (/webhooks/facebook/webhook), ready for a force's page:

- secrets come from the environment (FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET,
  FACEBOOK_PAGE_ACCESS_TOKEN); without them the channel is off and says so in one line;
- posts must carry a valid X-Hub-Signature-256 (HMAC-SHA256 of the raw body), compared in constant
  time; anything unsigned or forged gets a 403 and is not processed;
- Meta gets its 200 at once: the events are queued (bounded; a full queue is logged) and answered
  in the background, each sender's in order, with the typing indicator on meanwhile; a message id
  seen before (Meta posts again when a 200 is late) is not answered twice;
- replies are fitted to Messenger's limits (messenger_format.py) and sent through the Graph API
  (messenger_graph.py: the version is a setting, 5xx are tried again, Meta's error codes logged);
- the privacy notice (automated, Meta sees the chat, 999) comes first, and again after a day away;
  Get Started is answered as a greeting; stickers and likes get a kind word, pictures a reminder
  never to send pictures of children, shared links are not opened;
- a person when it matters: after a hand-off, or when asked for, the parent is offered the force's
  digital desk in office hours (data/content/office_hours.yml) and the conversation is passed to
  the page's inbox; while staff have it the assistant stays quiet; outside office hours the
  parent is told when someone is there and given the numbers (messenger_state.py);
- the same per-sender rate limit as REST; Meta's policy-enforcement notices are logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import zlib
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content
from bot.channels import server
from bot.channels.messenger_events import page_events, signature_is_valid
from bot.channels.messenger_format import messenger_messages
from bot.channels.messenger_graph import GraphAPI, graph_url
from bot.channels.messenger_state import DAY, flags_from_environment, load_office_hours
from bot.channels.rest import (
    SystemMessages,
    clean_text,
    conversation_id,
    cut_to_length,
    sender_rate_limit,
)
from bot.safeguarding.danger import HANDOFFS
from bot.storage import StoreWatch, watching_store

logger = logging.getLogger(__name__)

ENVIRONMENT = ("FACEBOOK_VERIFY_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_PAGE_ACCESS_TOKEN")
HANDOFF_RESPONSES = tuple(f"utter_{topic}" for topic in HANDOFFS)
PERSON_RESPONSE = "utter_human_help"
PERSON_YES, PERSON_NO = "PERSON_YES", "PERSON_NO"
WORKERS = 4  # senders are spread over these, so one sender's messages keep their order
QUEUE_SIZE = 250  # events waiting per worker; beyond this an event is dropped, and logged
NOTICE_AGAIN_AFTER = DAY  # the privacy notice again for a parent back after this long


class MessengerOutput(OutputChannel):
    """Sends the assistant's messages through the Send API, within Messenger's limits."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, graph: GraphAPI) -> None:
        self.graph = graph
        self.sent_handoff = False
        self.asked_for_person = False
        self.answered = False  # whether the assistant has sent this turn's parent anything
        # The conversation store this turn: with no conversation read, nothing is sent
        # (bot/storage.watching_store).
        self.store = StoreWatch()

    async def post(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        # Rasa passes the conversation id ("facebook:" + the page-scoped id): Meta wants the id.
        await self.graph.send(recipient_id.removeprefix(f"{self.name()}:"), message)

    async def send_text(self, recipient_id: Text, text: Text) -> None:
        for message in messenger_messages({"text": text}):
            await self.post(recipient_id, message)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if self.store.read_failed:
            return
        self.answered = True
        action = str(message.get("utter_action") or "")
        self.sent_handoff |= action.startswith(HANDOFF_RESPONSES)
        self.asked_for_person |= action.startswith(PERSON_RESPONSE)
        for part in content.chat_messages(message):  # an answer's messages, one by one
            for payload in messenger_messages(part):
                await self.post(recipient_id, payload)


class MessengerInput(FacebookInput):
    """Rasa's Facebook channel with SHA-256 signatures, secrets from the environment, an answer to
    Meta at once, and a person when it matters."""

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
                   os.environ["FACEBOOK_PAGE_ACCESS_TOKEN"])

    def __init__(self, fb_verify: Optional[Text], fb_secret: Optional[Text],
                 fb_access_token: Optional[Text]) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.enabled = bool(fb_verify and fb_secret and fb_access_token)
        self.flags = flags_from_environment() if self.enabled else None
        self.office_hours = load_office_hours()
        self.rate_limit = sender_rate_limit()
        self.queues: List[asyncio.Queue] = []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("fb_webhook", __name__)
        webhook.listener("before_server_start")(server.configure)
        system = SystemMessages()
        channel = self

        @webhook.listener("after_server_start")
        async def start_workers(app: Any, loop: Any) -> None:
            if not channel.enabled:
                return
            session = aiohttp.ClientSession()
            graph = GraphAPI(channel.fb_access_token, session, graph_url())
            channel.queues = [asyncio.Queue(maxsize=QUEUE_SIZE) for _ in range(WORKERS)]
            app.ctx.messenger_workers = [
                loop.create_task(channel.work(queue, graph, on_new_message, system))
                for queue in channel.queues]

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
            for event in page_events(payload):
                self.enqueue(event)
            return response.text("EVENT_RECEIVED")  # at once: the answers follow from the queue

        return webhook

    def enqueue(self, event: Dict[str, Any]) -> None:
        if not self.queues:
            logger.error("Messenger event dropped: the channel's workers have not started.")
            return
        queue = self.queues[zlib.crc32(event["sender"].encode()) % len(self.queues)]
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            logger.error("Messenger queue full (%d waiting): an event was dropped.", queue.qsize())

    async def work(self, queue: asyncio.Queue, graph: GraphAPI,
                   on_new_message: Callable[[UserMessage], Awaitable[Any]],
                   system: SystemMessages) -> None:
        while True:
            event = await queue.get()
            try:
                await self.handle_event(event, graph, on_new_message, system)
            except Exception:  # one bad event must not stop the worker; no message text logged
                logger.exception("Messenger: an event of kind %s could not be handled.", event.get("kind"))
            finally:
                queue.task_done()

    async def handle_event(self, event: Dict[str, Any], graph: GraphAPI,
                           on_new_message: Callable[[UserMessage], Awaitable[Any]],
                           system: SystemMessages) -> None:
        sender, kind = event["sender"], event["kind"]
        quiet = f"person:{sender}"
        if kind == "policy":
            logger.warning("Messenger policy enforcement from Meta: %s (%s).", event["action"],
                           event["reason"])
            return
        if kind == "staff":  # a person from the force is answering: stay out of their way
            await self.flags.set(quiet, self.office_hours.quiet_for_hours * 3600)
            return
        if kind == "returned":
            await self.flags.delete(quiet)
            return
        if event.get("mid") and not await self.flags.add_once(f"mid:{sender}:{event['mid']}", DAY):
            return  # Meta posted it again: it has been answered
        if await self.flags.is_set(quiet):
            return
        output = MessengerOutput(graph)
        if not self.rate_limit.allow(sender):
            await output.send_text(sender, system["too_many"])
            return
        # The privacy notice for a new parent, or one back after NOTICE_AGAIN_AFTER without a
        # message (kept with the flags, so that every worker and server agrees).
        if await self.flags.add_once(f"notice:{sender}", NOTICE_AGAIN_AFTER):
            await output.send_text(sender, system["messenger_privacy"])
        else:
            await self.flags.set(f"notice:{sender}", NOTICE_AGAIN_AFTER)
        if kind != "text":
            reply = {"sticker": "messenger_sticker", "link": "messenger_link_not_read"}.get(
                kind, "no_images")
            await output.send_text(sender, system[reply])
            return
        if event["text"] in (PERSON_YES, PERSON_NO):
            await self.person(sender, event["text"] == PERSON_YES, graph, output, system)
            return
        await graph.typing(sender)
        await self.answer(sender, event["text"], output, on_new_message, system)
        if output.sent_handoff:
            await output.send_text(sender, system["messenger_handoff"])
        if output.sent_handoff or output.asked_for_person:
            await self.offer_person(sender, output, system)

    async def answer(self, sender: str, text: str, output: MessengerOutput,
                     on_new_message: Callable[[UserMessage], Awaitable[Any]],
                     system: SystemMessages) -> None:
        text, was_cut = cut_to_length(clean_text(text))
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
        elif not output.answered:  # never silence, e.g. when the action server is down
            await output.send_text(sender, system["not_available"])

    async def offer_person(self, sender: str, output: MessengerOutput,
                           system: SystemMessages) -> None:
        """In office hours, offer the digital desk; outside them, say when it is there."""
        if not self.office_hours.is_open():
            if output.asked_for_person:
                await output.send_text(sender, system["messenger_person_closed"])
            return
        await output.post(sender, {"text": system["messenger_offer_person"], "quick_replies": [
            {"content_type": "text", "title": "Yes, a person", "payload": PERSON_YES},
            {"content_type": "text", "title": "No, thanks", "payload": PERSON_NO}]})

    async def person(self, sender: str, wanted: bool, graph: GraphAPI, output: MessengerOutput,
                     system: SystemMessages) -> None:
        if not wanted:
            await output.send_text(sender, system["messenger_person_declined"])
        elif not self.office_hours.is_open():
            await output.send_text(sender, system["messenger_person_closed"])
        elif await graph.pass_to_inbox(sender):
            await output.send_text(sender, system["messenger_passed_to_person"])
            await self.flags.set(f"person:{sender}", self.office_hours.quiet_for_hours * 3600)
        else:
            await output.send_text(sender, system["messenger_person_closed"])

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None
