"""The web chat parents use on the force's website, served by the Rasa server itself:

  /webchat/            a demo page that looks like a force web page, with the widget on it
  /webchat/widget.js   the widget (one <script> tag on any page)
  /webchat/widget.css  its styles
  /webchat/message     POST {"sender", "message"}: the replies (the REST channel's checks apply)

Every page is sent with a strict Content-Security-Policy and no cookies; the widget's wording and
contact numbers are filled in from data/content when it is served.

The force's site is another origin than the assistant, so /webchat/message answers the browser's
CORS preflight and POST for the origins in WEBCHAT_ALLOWED_ORIGINS (comma-separated, read at
start-up) and for no others: an unlisted origin gets no Access-Control-Allow-Origin, and its POSTs
are refused (403). Never "*", never credentials. widget.js and widget.css load from anywhere (a
script or style tag is not subject to CORS). docs/webchat.md.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, FrozenSet, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content
from bot.channels import server
from bot.channels.rest import SystemMessages, answer_request, sender_rate_limit

logger = logging.getLogger(__name__)

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


ORIGINS_VARIABLE = "WEBCHAT_ALLOWED_ORIGINS"
MESSAGE_PATH = "/webchat/message"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may remember the preflight's answer


def origin_of(value: str) -> Optional[str]:
    """`scheme://host[:port]` in the form browsers send in Origin, or None if `value` is not an
    http(s) origin (a path, a wildcard, credentials in it...)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.path not in ("", "/") or parts.query or parts.fragment or "*" in value:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")


def allowed_origins(value: Optional[str] = None) -> FrozenSet[str]:
    """The origins in WEBCHAT_ALLOWED_ORIGINS (or `value`). Anything that is not an origin is
    left out, with a warning that names it: it could only be a mistake."""
    value = os.environ.get(ORIGINS_VARIABLE, "") if value is None else value
    origins = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        origin = origin_of(item)
        if origin is None:
            logger.warning("%s: %r is not an origin like https://www.example.police.uk; ignored.",
                           ORIGINS_VARIABLE, item)
        else:
            origins.add(origin)
    return frozenset(origins)


def is_same_origin(request: Request, origin: str) -> bool:
    """Whether the page that sent the request was served by this server (the demo page)."""
    return urlsplit(origin).netloc == request.host


def cors_headers(origin: str) -> dict:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_middleware(origins: FrozenSet[str]) -> Callable[[Request], Any]:
    """Answers the browser's preflight for /webchat/message. Rasa gives the whole app Sanic-Cors,
    whose own middleware answers every OPTIONS request, with no permission unless `rasa run --cors`
    opens the whole HTTP API; so this one runs before it, for this one path only."""

    async def preflight(request: Request) -> Optional[HTTPResponse]:
        if request.method != "OPTIONS" or request.path != MESSAGE_PATH:
            return None
        origin = request.headers.get("Origin", "")
        asked = request.headers.get("Access-Control-Request-Method", "").upper()
        if origin not in origins or asked != "POST":
            return response.empty(status=403, headers={"Vary": "Origin"})
        return response.empty(status=204, headers={
            **cors_headers(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        })

    return preflight


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
        webchat.listener("before_server_start")(server.configure)
        origins = allowed_origins()
        logger.info("Web chat allowed on %d other origin(s): %s", len(origins),
                    ", ".join(sorted(origins)) or f"none (set {ORIGINS_VARIABLE})")

        @webchat.listener("before_server_start")
        def answer_preflights_first(app: Any, _loop: Any) -> None:
            app.request_middleware.appendleft(preflight_middleware(origins))

        system = SystemMessages()
        rate_limit = sender_rate_limit()
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
            origin = request.headers.get("Origin")
            allowed = {}
            if origin and origin in origins:
                allowed = cors_headers(origin)
            elif origin and not is_same_origin(request, origin):
                # A page on an unlisted site: the browser would hide the answer anyway, so do no work.
                return response.json([{"text": system["webchat_unavailable"]}], status=403,
                                     headers={**HEADERS, "Vary": "Origin"})
            turn = await answer_request(request, on_new_message, self.name(), system, rate_limit)
            return response.json(
                [{k: r[k] for k in ("text", "buttons") if k in r} for r in turn.replies],
                status=turn.status, headers={**HEADERS, **turn.headers, **allowed})

        return webchat
