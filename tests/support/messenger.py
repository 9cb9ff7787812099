"""Talking to the Messenger webhook as Meta does: signed posts, and what the fake Graph API got."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List

from bot import content
from tests.conftest import MESSENGER_ENV

SECRET = MESSENGER_ENV["FACEBOOK_APP_SECRET"]
CHANNEL = {**content.load_system_messages(section="channel")}
CONTACTS = content.load_contacts()


def webhook(server) -> str:
    return server.url + "/webhooks/facebook/webhook"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                              **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def get(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def event(sender: str, message: Dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": "page", "time": 1, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": "page"}, "timestamp": 1, **message}]}]}).encode()


def sent_to(fake_graph, sender: str, at_least: int = 1, timeout: float = 20) -> List[Dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(fake_graph.to(sender)) < at_least:
        time.sleep(0.1)
    return fake_graph.to(sender)


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text") or m["attachment"]["payload"]["text"] for m in messages]
