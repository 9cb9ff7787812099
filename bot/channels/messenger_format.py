"""Turning the assistant's messages into Facebook Messenger Send API messages, within Meta's limits.

Plain functions over plain values: no network. Limits (Messenger Platform documentation):
text 2,000 characters; button-template text 640; at most 3 template buttons with titles of at most
20 characters; at most 13 quick replies with titles of at most 20 characters.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping
from urllib.parse import urlparse

from bot.content import MORE_PREFIX

TEXT_LIMIT = 2000
TEMPLATE_TEXT_LIMIT = 640
TEMPLATE_BUTTONS = 3
QUICK_REPLIES = 13
TITLE_LIMIT = 20
# Buttons sent as quick replies rather than a button template: answers that are one tap.
QUICK_REPLY_PAYLOADS = ("/feedback",)

# A link followed by the punctuation that ends its sentence or clause: Messenger would make the
# punctuation part of the link, and the page would not exist.
LINK_THEN_PUNCTUATION = re.compile(r"(https?://[^\s<>\"']*?)([.,;:!?]+)(?=\s|$)")
MORE_LINE = re.compile(rf"\n*{re.escape(MORE_PREFIX)}\s+((?:https?://\S+\s*)+)$")


def split_links(text: str) -> tuple:
    """(text without its "Find out more:" links, the links)."""
    match = MORE_LINE.search(text)
    if not match:
        return text, []
    return text[:match.start()].rstrip(), match.group(1).split()


def unpunctuated_links(text: str) -> str:
    """The text with any full stop, comma or other mark that directly follows a link taken away
    ("report it at https://x.uk/report-it." becomes "... https://x.uk/report-it"), so the link
    Messenger makes of it goes to the right page."""
    return LINK_THEN_PUNCTUATION.sub(r"\1", text)


def link_title(url: str) -> str:
    """A button title for a link: its site, e.g. "nspcc.org.uk" (at most 20 characters)."""
    host = (urlparse(url).hostname or url).removeprefix("www.")
    return host if len(host) <= TITLE_LIMIT else host[:TITLE_LIMIT - 1] + "…"


def short_title(title: str) -> str:
    return title if len(title) <= TITLE_LIMIT else title[:TITLE_LIMIT - 1] + "…"


def chunks(text: str, limit: int) -> List[str]:
    """The text in pieces of at most `limit` characters, cut at paragraph or word breaks."""
    pieces: List[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + ([text] if text else [])


def messenger_messages(message: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The Send API `message` objects for one of the assistant's messages, in order.

    Links become URL buttons. A message with 3 buttons or fewer in all becomes one button
    template; otherwise the links go in a template of their own and the topic buttons become quick
    replies (up to 13), so no button is ever dropped.
    """
    buttons = message.get("buttons") or []
    if buttons and all(str(b.get("payload", "")).startswith(QUICK_REPLY_PAYLOADS) for b in buttons):
        # A one-tap answer ("Was this helpful?"): quick replies, which go once used.
        return [{"text": message.get("text") or "", "quick_replies": [
            {"content_type": "text", "title": short_title(b["title"]), "payload": b["payload"]}
            for b in buttons[:QUICK_REPLIES]]}]
    text, links = split_links(unpunctuated_links(message.get("text") or ""))
    postbacks = [{"type": "postback", "title": short_title(b["title"]), "payload": b["payload"]}
                 for b in message.get("buttons") or []]
    url_buttons = [{"type": "web_url", "url": url, "title": link_title(url)}
                   for url in links[:TEMPLATE_BUTTONS]]
    if not text:
        text = "Find out more:" if url_buttons else ""

    def template(body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"attachment": {"type": "template", "payload": {
            "template_type": "button", "text": body, "buttons": buttons}}}

    out: List[Dict[str, Any]] = []
    if url_buttons or postbacks:
        pieces = chunks(text, TEXT_LIMIT)
        last = pieces.pop() if pieces else ""
        out += [{"text": piece} for piece in pieces]
        if len(last) > TEMPLATE_TEXT_LIMIT:
            out += [{"text": piece} for piece in chunks(last, TEXT_LIMIT)]
            last = "Find out more:" if url_buttons else "What next?"
        if len(url_buttons) + len(postbacks) <= TEMPLATE_BUTTONS:
            out.append(template(last, url_buttons + postbacks))
        elif url_buttons:
            out.append(template(last, url_buttons))
        else:
            out.append({"text": last})
        if len(url_buttons) + len(postbacks) > TEMPLATE_BUTTONS and postbacks:
            out[-1]["quick_replies"] = [
                {"content_type": "text", "title": b["title"], "payload": b["payload"]}
                for b in postbacks[:QUICK_REPLIES]]
    else:
        out += [{"text": piece} for piece in chunks(text, TEXT_LIMIT)]
    return out


def limit_problems(payload: Mapping[str, Any]) -> List[str]:
    """Where a Send API message breaks one of Messenger's limits (empty when it keeps them)."""
    problems = []
    if "text" in payload and len(payload["text"]) > TEXT_LIMIT:
        problems.append(f"text of {len(payload['text'])} characters")
    template = (payload.get("attachment") or {}).get("payload") or {}
    if template:
        if len(template.get("text", "")) > TEMPLATE_TEXT_LIMIT:
            problems.append(f"template text of {len(template['text'])} characters")
        if not 1 <= len(template.get("buttons", [])) <= TEMPLATE_BUTTONS:
            problems.append(f"{len(template.get('buttons', []))} template buttons")
        problems += [f"button title '{b['title']}'" for b in template.get("buttons", [])
                     if not 1 <= len(b["title"]) <= TITLE_LIMIT]
    replies = payload.get("quick_replies") or []
    if len(replies) > QUICK_REPLIES:
        problems.append(f"{len(replies)} quick replies")
    problems += [f"quick reply title '{r['title']}'" for r in replies
                 if not 1 <= len(r["title"]) <= TITLE_LIMIT]
    return problems
