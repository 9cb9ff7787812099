"""A problem `python -m bot check` reports: the file, the line, and what to do about it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot import content


@dataclass(frozen=True)
class Problem:
    """Something wrong in a content or data file: where, what, and whether it stops a release."""

    path: Path
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        try:
            where = self.path.relative_to(content.PROJECT_DIR)
        except ValueError:
            where = self.path
        return f"{where}:{self.line}: {self.severity}: {self.message}"


def line_of(path: Path, key: str) -> int:
    """The line on which `key:` is first written in a YAML file (1 if not found)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def line_containing(path: Path, text: str) -> int:
    """The first line of a file that contains `text` (1 if none)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    return 1
