"""The web chat parents use on the force's website, served by the Rasa server itself:

  /webchat/            a demo page that looks like a force web page, with the widget on it
  /webchat/widget.js   the widget (one <script> tag on any page)
  /webchat/widget.css  its styles
  /webchat/message     POST {"sender", "message"}: the replies (the REST channel's checks apply)

Every page is sent with a strict Content-Security-Policy and no cookies; the widget's wording and
contact numbers are filled in from data/content when it is served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content
from bot.channels.rest import SenderRateLimit, SystemMessages, answer_request

ASSETS = Path(__file__).parent
# What the force's site should send with any page that carries the widget (docs/webchat.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def widget_text() -> dict:
    """The widget's own words, from data/content (one source of truth for numbers)."""
    system = SystemMessages()
    return {
        "launcher": "Online safety help",
        "title": "Online safety assistant",
        "exit": "Exit this page",
        "exitHint": "To leave quickly, press Shift three times or use Exit this page.",
        "privacy": system["webchat_privacy"],
        "unavailable": system["webchat_unavailable"],
        "typing": "The assistant is typing…",
        "inputLabel": "Type your question",
    }


class WebChatInput(InputChannel):
    """Serves the web chat widget and its demo page, and answers its messages."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def url_prefix(self) -> Text:
        return "/webchat"  # an absolute prefix: /webchat/, not /webhooks/webchat/

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)
        system = SystemMessages()
        rate_limit = SenderRateLimit()
        contacts = content.load_contacts()
        widget = (ASSETS / "widget.js").read_text(encoding="utf-8").replace(
            "__TEXT__", json.dumps(widget_text()))
        demo = (ASSETS / "demo.html").read_text(encoding="utf-8").replace(
            "__FORCE__", contacts["force_name"]).replace("__EMERGENCY__", contacts["emergency"])
        files = {
            "widget.js": (widget, "application/javascript; charset=utf-8"),
            "widget.css": ((ASSETS / "widget.css").read_text(encoding="utf-8"), "text/css; charset=utf-8"),
            "demo.css": ((ASSETS / "demo.css").read_text(encoding="utf-8"), "text/css; charset=utf-8"),
        }

        @webchat.route("/", methods=["GET"], strict_slashes=False)
        async def demo_page(request: Request) -> HTTPResponse:
            return response.html(demo, headers=HEADERS)

        def serve(name: str) -> None:
            body, content_type = files[name]

            async def asset(request: Request) -> HTTPResponse:
                return response.text(body, content_type=content_type, headers=HEADERS)

            webchat.add_route(asset, f"/{name}", methods=["GET"], name=name.replace(".", "_"))

        for name in files:
            serve(name)

        @webchat.route("/message", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            turn = await answer_request(request, on_new_message, self.name(), system, rate_limit,
                                        metadata_allowed=False)
            return response.json(
                [{k: r[k] for k in ("text", "buttons") if k in r} for r in turn.replies],
                status=turn.status, headers={**HEADERS, **turn.headers})

        return webchat
