"""The code is ruff-clean (settings in pyproject.toml)."""

from __future__ import annotations

import subprocess

from tests.conftest import BIN, PROJECT_DIR


def test_ruff_finds_nothing():
    result = subprocess.run([str(BIN / "ruff"), "check", "bot", "actions", "tests"],
                            cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
