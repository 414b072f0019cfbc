"""Project-wide pytest set-up: the opt-in switch for long runs, and the conformance target.

Tests marked `slow` (soak and fuzz runs; the marker is declared in pyproject.toml)
are skipped unless pytest is given --slow. `--conformance-target FILE` runs the
conformance cases of tests/test_conformance.py against that target instead of a
reference node started for the test.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run the tests marked slow (soak, fuzz)")
    parser.addoption(
        "--conformance-target",
        default=None,
        help="a conformance target file (deconflict conformance run --config): run the cases against it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
