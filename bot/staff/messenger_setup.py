"""`python -m bot messenger-setup [--dry-run]`: the force's page's Messenger profile, set through
the Graph API: the greeting, the Get Started button and the menu (data/content/messenger_profile.yml).

Setting the profile again replaces it with the same values, so running it twice is harmless.
--dry-run prints what would be sent and sends nothing. Needs FACEBOOK_PAGE_ACCESS_TOKEN.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Dict

from bot import content
from bot.channels.messenger_graph import GET_STARTED

PROFILE_FILE = content.CONTENT_DIR / "messenger_profile.yml"
GREETING_LIMIT = 160  # characters (Meta's limit for the greeting text)
MENU_TITLE_LIMIT = 30
MENU_ITEMS_LIMIT = 20


def messenger_profile(path: Path = PROFILE_FILE) -> Dict[str, Any]:
    """The Graph API's messenger_profile body, checked against Meta's limits."""
    data = content.read_yaml(path) or {}
    contacts = content.load_contacts()
    greeting = content.fill_placeholders(" ".join(str(data.get("greeting") or "").split()),
                                         contacts, f"{path}: greeting")
    if not 1 <= len(greeting) <= GREETING_LIMIT:
        raise content.ContentError(f"{path}: the greeting is {len(greeting)} characters; Meta "
                                   f"allows 1 to {GREETING_LIMIT}.")
    actions = []
    for item in data.get("menu") or []:
        title = str(item.get("title") or "")
        if not 1 <= len(title) <= MENU_TITLE_LIMIT:
            raise content.ContentError(f"{path}: menu title '{title}' must be 1 to "
                                       f"{MENU_TITLE_LIMIT} characters.")
        if item.get("url"):
            actions.append({"type": "web_url", "title": title, "url": content.fill_placeholders(
                str(item["url"]), contacts, f"{path}: {title}")})
        else:
            actions.append({"type": "postback", "title": title, "payload": str(item["payload"])})
    if not 1 <= len(actions) <= MENU_ITEMS_LIMIT:
        raise content.ContentError(f"{path}: give 1 to {MENU_ITEMS_LIMIT} menu items.")
    return {
        "greeting": [{"locale": "default", "text": greeting}],
        "get_started": {"payload": GET_STARTED},
        "persistent_menu": [{"locale": "default", "composer_input_disabled": False,
                             "call_to_actions": actions}],
    }


async def _send(profile: Dict[str, Any], token: str) -> bool:
    import aiohttp

    from bot.channels.messenger_graph import GraphAPI

    async with aiohttp.ClientSession() as session:
        return await GraphAPI(token, session).set_profile(profile)


def setup(dry_run: bool) -> int:
    profile = messenger_profile()
    print(json.dumps(profile, indent=2, ensure_ascii=False))
    if dry_run:
        print("\n(dry run: nothing was sent)")
        return 0
    token = os.environ.get("FACEBOOK_PAGE_ACCESS_TOKEN")
    if not token:
        print("Set FACEBOOK_PAGE_ACCESS_TOKEN (docs/messenger.md), or use --dry-run.")
        return 1
    if asyncio.run(_send(profile, token)):
        print("\nThe page's Messenger profile is set.")
        return 0
    print("\nMeta refused the profile; the log line above gives its error code (docs/messenger.md).")
    return 1
