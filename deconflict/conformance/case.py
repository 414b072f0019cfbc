"""Cases: each one an async function that checks a party under test, citing the requirements it checks.

A case fails by raising CaseFailedError with what it expected and what came back. Its level follows the
requirements it cites: a case citing only SHOULD requirements reports a departure as a warning (the
specification's levels, docs/spec/README.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from deconflict.spec import load_requirements

if TYPE_CHECKING:
    from deconflict.conformance.session import Session

CaseFunction = Callable[["Session"], Awaitable[None]]


class CaseFailedError(AssertionError):
    """The party did otherwise than the requirement says."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}; got {got}")
        self.expected = expected
        self.got = got


class CaseSkippedError(Exception):
    """The case cannot run against this party (for example a feature it does not declare)."""


@dataclass(frozen=True)
class Case:
    name: str
    requirements: tuple[str, ...]
    feature: str
    run: CaseFunction
    description: str
    # Seconds the case may take before it counts as failed.
    timeout: float

    @property
    def should_only(self) -> bool:
        """Only SHOULD / SHOULD NOT requirements: a failure is a warning."""
        levels = _levels()
        return all(levels[rid].startswith("SHOULD") for rid in self.requirements)


CASES: dict[str, Case] = {}


def case(
    name: str, *requirements: str, feature: str = "core", timeout: float = 20.0
) -> Callable[[CaseFunction], CaseFunction]:
    """Register a case under `name`; it checks `requirements` (IDs of docs/spec) for a party claiming `feature`."""
    if not requirements:
        raise ValueError(f"case {name} cites no requirement")
    levels = _levels()
    unknown = [rid for rid in requirements if rid not in levels]
    if unknown:
        raise ValueError(f"case {name} cites {', '.join(unknown)}, which the specification does not define")

    def register(run: CaseFunction) -> CaseFunction:
        if name in CASES:
            raise ValueError(f"two cases are named {name}")
        description = (run.__doc__ or "").strip().splitlines()[0] if run.__doc__ else name
        CASES[name] = Case(name, tuple(requirements), feature, run, description, timeout)
        return run

    return register


def expect(condition: bool, expected: str, got: object) -> None:
    """Fail the case unless `condition`: `expected` says what the requirement wants, `got` what came back."""
    if not condition:
        raise CaseFailedError(expected, str(got))


@cache
def _levels() -> dict[str, str]:
    return {rid: requirement.level for rid, requirement in load_requirements().items()}


def all_cases() -> dict[str, Case]:
    """Every registered case, by name (the case modules register themselves when imported)."""
    import deconflict.conformance.cases  # noqa: F401  (registers the cases)

    return dict(CASES)
