"""The code passes the style bar: mypy --strict (config in pyproject.toml), ruff lint and ruff format.

Each tool runs from the running Python's environment, over what pyproject.toml
names: mypy over deconflict/, scripts/ and examples/; ruff over the whole
repository except the generated deconflict/v1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    ("command", "fix"),
    [
        pytest.param(("mypy",), "fix the type errors (strict mode)", id="mypy-strict"),
        pytest.param(("ruff", "check"), "fix them, or run `ruff check --fix`", id="ruff-check"),
        pytest.param(("ruff", "format", "--check"), "run `ruff format`", id="ruff-format"),
    ],
)
def test_code_quality(command, fix):
    result = _run(*command)
    assert result.returncode == 0, f"`{' '.join(command)}` found problems: {fix}\n{result.stdout}{result.stderr}"
