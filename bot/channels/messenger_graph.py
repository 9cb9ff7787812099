"""Talking to Meta's Graph API for Messenger: the Send API, the typing indicator, passing a
conversation to the page's inbox, and the page's Messenger profile.

The version is a setting, FACEBOOK_GRAPH_VERSION (default DEFAULT_VERSION, the current one in
Meta's changelog); FACEBOOK_GRAPH_HOST replaces Meta's address (the tests' fake Graph API), the
version still added to it.
A 5xx answer or a network error is tried again with backoff; Meta's error code is logged, never
what the parent typed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)

# Meta's Graph API versions (developers.facebook.com/docs/graph-api/changelog/versions, read
# 2026-11-30): v26.0 released 29 July 2026, no end date yet; v19.0, used before, ended 21 May 2026.
DEFAULT_VERSION = "v26.0"
GRAPH_HOST = "https://graph.facebook.com"
# The payload of the Get Started button (set by python -m bot messenger-setup).
GET_STARTED = "GET_STARTED"
# Meta's Page Inbox app: passing a conversation to it puts it in the page's inbox for a person.
PAGE_INBOX_APP_ID = "263902037430900"
TIMEOUT = aiohttp.ClientTimeout(total=10)
RETRIES = 3  # tries in all for a 5xx or a network error
BACKOFF = 0.5  # seconds before the second try, doubled for each one after


def graph_version() -> str:
    return os.environ.get("FACEBOOK_GRAPH_VERSION") or DEFAULT_VERSION


def graph_url() -> str:
    """The Graph API address with its version, from the environment."""
    host = (os.environ.get("FACEBOOK_GRAPH_HOST") or GRAPH_HOST).rstrip("/")
    return f"{host}/{graph_version()}"


class GraphAPI:
    """The page's calls to the Graph API, with its page access token."""

    def __init__(self, access_token: str, session: aiohttp.ClientSession,
                 url: Optional[str] = None) -> None:
        self.url = (url or graph_url()).rstrip("/")
        self.access_token = access_token
        self.session = session

    async def call(self, path: str, body: Dict[str, Any], what: str) -> Optional[Dict[str, Any]]:
        """POST `body` to `path`; the JSON reply, or None if it failed (logged, by `what`)."""
        for attempt in range(RETRIES):
            if attempt:
                await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                async with self.session.post(f"{self.url}/{path}", json=body, timeout=TIMEOUT,
                                             params={"access_token": self.access_token}) as reply:
                    data = await reply.json(content_type=None) if reply.content_length != 0 else {}
                    if reply.status < 400:
                        return data if isinstance(data, dict) else {}
                    error = (data or {}).get("error") or {} if isinstance(data, dict) else {}
                    logger.error("Messenger %s: Graph API answered %s (code %s, subcode %s).",
                                 what, reply.status, error.get("code"), error.get("error_subcode"))
                    if reply.status < 500:
                        return None  # a mistake of ours or a refusal: trying again won't help
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as error:
                logger.error("Messenger %s: Graph API unreachable (%s).", what, type(error).__name__)
        return None

    async def send(self, recipient: str, message: Dict[str, Any]) -> bool:
        body = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message}
        return await self.call("me/messages", body, "send") is not None

    async def typing(self, recipient: str, on: bool = True) -> None:
        await self.call("me/messages", {"recipient": {"id": recipient},
                                        "sender_action": "typing_on" if on else "typing_off"},
                        "typing indicator")

    async def pass_to_inbox(self, recipient: str, app_id: str = PAGE_INBOX_APP_ID) -> bool:
        """Hand the conversation to the page's inbox (Meta's conversation routing keeps the
        handover protocol's pass_thread_control), where staff answer it."""
        body = {"recipient": {"id": recipient}, "target_app_id": app_id,
                "metadata": "The parent asked for a person (online safety assistant)."}
        return await self.call("me/pass_thread_control", body, "handover") is not None

    async def set_profile(self, profile: Dict[str, Any]) -> bool:
        return await self.call("me/messenger_profile", profile, "profile") is not None
