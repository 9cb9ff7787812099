"""What Meta posts to the Messenger webhook, read into plain events (bot/channels/messenger.py acts
on them), and the check of its signature. No network, no Rasa: plain functions over plain values."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, Iterable, Optional

from bot.channels.messenger_graph import GET_STARTED, PAGE_INBOX_APP_ID


def signature_is_valid(app_secret: str, body: bytes, header: Optional[str]) -> bool:
    """Whether X-Hub-Signature-256 is "sha256=" + HMAC-SHA256(body, app secret), in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].encode(), expected.encode())


def _attachment_kind(message: Dict[str, Any]) -> str:
    """"sticker" (a like, or any sticker), "link" (a shared post or link) or "attachment"."""
    attachments = message.get("attachments") or []
    if message.get("sticker_id") or any((a.get("payload") or {}).get("sticker_id")
                                        for a in attachments if isinstance(a, dict)):
        return "sticker"
    kinds = {a.get("type") for a in attachments if isinstance(a, dict)}
    return "link" if kinds and kinds <= {"fallback", "template", "share", "story_mention"} else "attachment"


def page_events(payload: Any) -> Iterable[Dict[str, Any]]:
    """The events of a webhook post the channel acts on, each a dict with `sender` (the parent's
    page-scoped id), `kind` and, for a message, `text` and `mid`:

    text        something the parent typed, a quick reply or a button's payload
    sticker     a sticker or like;  attachment  a picture, video, audio or file;  link  a shared link
    staff       an echo of a message the page's staff sent from the inbox (sender = the parent)
    returned    the conversation passed back from the inbox to the assistant
    policy      Meta's policy-enforcement notice (`action`, `reason`)

    Delivery and read receipts, reactions and the echoes of our own messages are left out."""
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or []:
        for event in (entry.get("messaging") or []) if isinstance(entry, dict) else []:
            if not isinstance(event, dict):
                continue
            sender = str((event.get("sender") or {}).get("id") or "")
            message = event.get("message") if isinstance(event.get("message"), dict) else {}
            mid = str(message.get("mid") or "")
            if "policy_enforcement" in event:
                notice = event["policy_enforcement"] or {}
                yield {"sender": sender, "kind": "policy", "action": str(notice.get("action")),
                       "reason": str(notice.get("reason"))[:200]}
            elif (event.get("pass_thread_control") or {}).get("new_owner_app_id") not in (
                    None, PAGE_INBOX_APP_ID, int(PAGE_INBOX_APP_ID)):
                yield {"sender": sender, "kind": "returned"}
            elif message.get("is_echo"):
                recipient = str((event.get("recipient") or {}).get("id") or "")
                if str(message.get("app_id") or "") in ("", PAGE_INBOX_APP_ID) and recipient:
                    yield {"sender": recipient, "kind": "staff"}
            elif not sender:
                continue
            elif (message.get("quick_reply") or {}).get("payload"):
                yield {"sender": sender, "kind": "text", "mid": mid,
                       "text": str(message["quick_reply"]["payload"])}
            elif isinstance(message.get("text"), str):
                yield {"sender": sender, "kind": "text", "mid": mid, "text": message["text"]}
            elif message.get("attachments") or message.get("sticker_id"):
                yield {"sender": sender, "kind": _attachment_kind(message), "mid": mid}
            elif (event.get("postback") or {}).get("payload"):
                payload_text = str(event["postback"]["payload"])
                yield {"sender": sender, "kind": "text", "mid": mid or f"postback-{event.get('timestamp')}",
                       "text": "/greet" if payload_text == GET_STARTED else payload_text,
                       "get_started": payload_text == GET_STARTED}
