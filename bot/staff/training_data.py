"""The training examples (data/nlu): read with their file and line, and the rules they keep
(enough examples per topic, every intent a topic, no example in two topics)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Set

from bot import content
from bot.staff.problems import Problem
from bot.topics import Topic

NLU_DIR = content.PROJECT_DIR / "data" / "nlu"
MIN_EXAMPLES = {"conversation": 15, "advice": 30, "app": 30, "handoff": 30}


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    path: Path
    line: int


def load_examples(directory: Path = NLU_DIR) -> List[Example]:
    """Every NLU training example, with the file and line it is written on."""
    return [e for path in sorted(directory.rglob("*.yml")) for e in load_examples_from(path)]


def load_examples_from(path: Path) -> List[Example]:
    """The examples of one NLU file (Rasa's YAML format), with their line numbers."""
    examples: List[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    intent: Optional[str] = None
    in_examples = False
    for number, line in enumerate(lines, start=1):
        match = re.match(r"^\s*-\s*intent:\s*(\S+)", line)
        if match:
            intent, in_examples = match.group(1), False
            continue
        if re.match(r"^\s*examples:\s*\|", line):
            in_examples = True
            continue
        item = re.match(r"^\s+-\s+(.*\S)\s*$", line)
        if intent and in_examples and item:
            examples.append(Example(intent, item.group(1), path, number))
        elif line.strip() and not line.startswith(" "):
            intent, in_examples = None, False
    return examples


def normalised(text: str) -> str:
    """Lower case, letters and digits only (any alphabet): how we tell whether two examples are
    the same."""
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def check_examples(
    examples: List[Example], topics: Mapping[str, Topic], extra_intents: Set[str] = frozenset()
) -> List[Problem]:
    """Training examples: enough for every topic, none in two intents, none repeated."""
    problems: List[Problem] = []
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    seen: Dict[str, Example] = {}
    for example in examples:
        by_intent[example.intent].append(example)
        if example.intent not in topics and example.intent not in extra_intents:
            problems.append(Problem(example.path, example.line,
                                    f"intent '{example.intent}' is not a topic in data/topics.yml"))
        key = normalised(example.text)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = example
        elif earlier.intent != example.intent:
            problems.append(Problem(
                example.path, example.line,
                f"'{example.text}' is also an example of '{earlier.intent}' "
                f"({earlier.path.name}:{earlier.line}); an example may teach only one topic"))
        else:
            problems.append(Problem(
                example.path, example.line,
                f"'{example.text}' repeats {earlier.path.name}:{earlier.line}; delete one"))
    for topic in topics.values():
        count = len(by_intent.get(topic.id, []))
        needed = MIN_EXAMPLES[topic.kind]
        if count < needed:
            problems.append(Problem(NLU_DIR, 1, f"topic '{topic.id}' has {count} examples; "
                                    f"write at least {needed} in a file in data/nlu"))
    return problems
