"""The app catalogue (data/content/apps.yml), loaded into plain values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from bot import content

APPS_FILE = content.CONTENT_DIR / "apps.yml"
KINDS = ("app", "game", "platform", "device")


@dataclass(frozen=True)
class App:
    id: str
    name: str
    kind: str
    aliases: Tuple[str, ...]
    min_age: Optional[int]
    min_age_note: str
    rating: str
    what_it_is: str
    risks: Tuple[str, ...]
    settings: Tuple[str, ...]
    report: str
    link: str
    sources: Tuple[str, ...]
    unconfirmed: Tuple[str, ...]
    reviewed: Optional[dt.date]


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _texts(value: Any) -> Tuple[str, ...]:
    return tuple(_text(v) for v in (value or ()))


def load_catalogue(path: Path = APPS_FILE) -> Dict[str, App]:
    """Every app by id. Raises content.ContentError on a file that cannot be read."""
    data = content.read_yaml(path) or {}
    apps = {}
    for app_id, entry in (data.get("apps") or {}).items():
        min_age = entry.get("min_age")
        reviewed = entry.get("reviewed")
        if isinstance(reviewed, str):
            reviewed = dt.date.fromisoformat(reviewed)
        apps[app_id] = App(
            id=app_id,
            name=_text(entry.get("name")),
            kind=_text(entry.get("kind")),
            aliases=tuple(a.lower().strip() for a in _texts(entry.get("aliases"))),
            min_age=int(min_age) if min_age is not None else None,
            min_age_note=_text(entry.get("min_age_note")),
            rating=_text(entry.get("rating")),
            what_it_is=_text(entry.get("what_it_is")),
            risks=_texts(entry.get("risks")),
            settings=_texts(entry.get("settings")),
            report=_text(entry.get("report")),
            link=_text(entry.get("link")),
            sources=_texts(entry.get("sources")),
            unconfirmed=_texts(entry.get("unconfirmed")),
            reviewed=reviewed,
        )
    return apps
