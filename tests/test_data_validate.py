"""`rasa data validate` passes with no warnings other than the ones we decided to accept."""

from __future__ import annotations

import re
import subprocess

from bot.staff.checks import ACCEPTED_VALIDATE_WARNINGS as ACCEPTED_WARNINGS
from tests.conftest import BIN, PROJECT_DIR, SERVER_ENV


def test_rasa_data_validate_is_clean():
    result = subprocess.run(
        [str(BIN / "rasa"), "data", "validate", "--fail-on-warnings"],
        cwd=PROJECT_DIR, env=SERVER_ENV, capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    warnings = set(re.findall(r"UserWarning: (.*)", output))
    assert warnings - ACCEPTED_WARNINGS == set(), output[-4000:]
    assert "No story structure conflicts found" in output
