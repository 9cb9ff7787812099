"""Conversation tests (tests/stories) through `rasa test core`, on the run's one trained model."""

from __future__ import annotations

import subprocess

from tests.conftest import BIN, PROJECT_DIR, SERVER_ENV


def test_every_conversation_test_passes(model_path, tmp_path):
    result = subprocess.run(
        [str(BIN / "rasa"), "test", "core", "--model", str(model_path),
         "--stories", str(PROJECT_DIR / "tests" / "stories"), "--out", str(tmp_path),
         "--fail-on-prediction-errors"],
        cwd=PROJECT_DIR, env=SERVER_ENV, capture_output=True, text=True,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (details or result.stdout[-3000:] + result.stderr[-3000:])
    assert "# None of the test stories failed - all good!" in details or not details.strip()
