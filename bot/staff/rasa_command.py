"""Running Rasa's own command line (`rasa train`, `rasa data validate`) from the staff tools, with
the same quiet settings the Makefile uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

from bot.content import PROJECT_DIR

BIN = Path(sys.executable).parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
       "RASA_TELEMETRY_ENABLED": "false"}


def rasa(*arguments: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    """`rasa <arguments>` in the project folder."""
    command: List[str] = [str(BIN / "rasa"), *arguments]
    return subprocess.run(command, cwd=PROJECT_DIR, env=ENV, check=check,
                          capture_output=capture, text=capture)
