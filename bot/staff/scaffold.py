"""`python -m bot new-topic NAME`: the files a new topic needs, with TODO placeholders that
`python -m bot check` reports until a person has filled them in."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import List

import yaml

from bot import content
from bot.staff import checks

NAME = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
STORIES_FILE = content.PROJECT_DIR / "tests" / "stories" / "test_conversations.yml"


def new_topic(name: str, project: Path = content.PROJECT_DIR) -> List[Path]:
    """Write the intent, examples, answer and conversation test for topic `name`."""
    if not NAME.match(name):
        raise ValueError(f"'{name}' is not a topic id: use lower case letters, digits and _, "
                         "e.g. sharenting")
    domain_file = project / "domain.yml"
    domain_text = domain_file.read_text(encoding="utf-8")
    if name in yaml.safe_load(domain_text)["intents"]:
        raise ValueError(f"'{name}' is already an intent in domain.yml.")
    nlu_file = project / "data" / "nlu" / f"{name}.yml"
    answer_file = project / "data" / "content" / "answers" / f"{name}.yml"
    for path in (nlu_file, answer_file):
        if path.exists():
            raise ValueError(f"{path} already exists.")

    marker = "  # helper intent"
    insert = f"  - {name}\n"
    domain_file.write_text(domain_text.replace(marker, insert + marker, 1)
                           if marker in domain_text else domain_text, encoding="utf-8")
    nlu_file.write_text(
        f'version: "3.1"\n# How parents ask about {name}: at least {checks.MIN_EXAMPLES["advice"]} '
        "varied examples, as they really type.\nnlu:\n"
        f"- intent: {name}\n  examples: |\n"
        f"    - {checks.PLACEHOLDER}: a way a parent might ask this\n"
        f"    - {checks.PLACEHOLDER}: another way, short\n"
        f"    - {checks.PLACEHOLDER}: another way, long, with some background first\n",
        encoding="utf-8")
    answer_file.write_text(
        f"# The answer to {name}. Write phone numbers and reporting links as placeholders such as\n"
        "# {nspcc_helpline} (the list is in data/content/contacts.yml).\n"
        "answers:\n"
        f"  {name}:\n"
        f"    title: {checks.PLACEHOLDER} button label\n"
        f"    reviewed: {dt.date.today().isoformat()}\n"
        "    sources:\n"
        f"      - {checks.PLACEHOLDER}: where this advice comes from\n"
        "    messages:\n"
        "      - >-\n"
        f"        {checks.PLACEHOLDER}: the advice, the action first, in plain words.\n"
        "    links:\n"
        "      - https://www.nspcc.org.uk/keeping-children-safe/online-safety/\n"
        "    next: [what_can_you_do]\n",
        encoding="utf-8")
    stories = project / "tests" / "stories" / "test_conversations.yml"
    with stories.open("a", encoding="utf-8") as handle:
        handle.write(
            f"\n  - story: a parent asks about {name}\n"
            "    steps:\n"
            "      - user: |\n"
            f"          {checks.PLACEHOLDER}: a question a parent might ask, not one of the examples\n"
            f"        intent: {name}\n"
            f"      - action: utter_{name}\n")
    return [domain_file, nlu_file, answer_file, stories]
