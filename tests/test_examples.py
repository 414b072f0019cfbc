"""What a newcomer runs first works: the examples, the README's snippets, and the README's two commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
README = (ROOT / "README.md").read_text()
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
TEST_COMMAND = "python3.11 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest"
# tests/test_demo.py runs the demo itself; here, only that the README still gives this command.
REPLAY_COMMAND = "python3.11 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/deconflict demo"


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(example):
    result = _python(str(example))
    assert result.returncode == 0, f"{example.name} failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip(), f"{example.name} printed nothing"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet-{index}" for index in range(len(SNIPPETS))])
def test_readme_snippet_runs(snippet):
    result = _python("-c", snippet)
    assert result.returncode == 0, f"a README snippet failed:\n{snippet}\n{result.stdout}{result.stderr}"


def test_readme_commands_are_the_ones_run():
    assert SNIPPETS
    blocks = re.findall(r"^```sh\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    assert f"{TEST_COMMAND}\n" in blocks, "the README's test command changed: update this test and .ci/run"
    assert f"{REPLAY_COMMAND}\n" in blocks, "the README's demo command changed: update this test"
    assert len(blocks) >= 2
    assert blocks[:2] == [f"{REPLAY_COMMAND}\n", f"{TEST_COMMAND}\n"], (
        "the README opens with exactly two set-up commands"
    )
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in ci, ".ci/run must run exactly the README's test command"
