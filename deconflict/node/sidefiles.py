"""The files a node keeps beside its journal (its alerts, what it witnessed): where they are, their removal at a
test reset, and the microsecond timestamps they store, as the journal does."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Final

from deconflict.journal.base import from_micros, to_micros

__all__ = ["BUSY_TIMEOUT_MS", "beside", "from_micros", "remove_beside", "to_micros"]

BUSY_TIMEOUT_MS: Final = 5000  # how long a connection waits for another's lock before it fails


def beside(journal_path: Path, suffix: str) -> Path:
    """`ru-mod.journal` with suffix "alerts" -> `ru-mod.journal.alerts`."""
    return journal_path.with_name(f"{journal_path.name}.{suffix}")


def remove_beside(journal_path: Path, suffix: str) -> None:
    """Delete a closed node's file of `suffix` and SQLite's companions of it: for test resets only."""
    path = beside(journal_path, suffix)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / name).unlink()
