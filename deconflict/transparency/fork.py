"""The fork check (DCF-JNL-011): two validly signed checkpoints of one journal that are not consistent.

Equal sizes with different roots, or a consistency proof between the two sizes that fails, is evidence that the
party showed two histories of its journal. The result keeps both signed notes, as received, for the operator and
for whoever must judge it later.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from deconflict.transparency.checkpoint import SignedCheckpoint
from deconflict.transparency.merkle import EMPTY_ROOT, ProofError, verify_consistency

__all__ = ["Fork", "check_fork"]


@dataclass(frozen=True, slots=True)
class Fork:
    """Evidence of a fork: the two checkpoints (the smaller size first) and why they cannot both be true."""

    origin: str
    first: SignedCheckpoint
    second: SignedCheckpoint
    reason: str

    def describe(self) -> str:
        return (
            f"fork of the journal {self.origin}: {_name(self.first)} and {_name(self.second)}, both validly signed, "
            f"are not consistent ({self.reason})"
        )


def _name(signed: SignedCheckpoint) -> str:
    checkpoint = signed.checkpoint
    root = base64.b64encode(checkpoint.root).decode("ascii")
    return f"the checkpoint of size {checkpoint.size} (root {root}, time {checkpoint.time})"


def check_fork(one: SignedCheckpoint, other: SignedCheckpoint, proof: Sequence[bytes] = ()) -> Fork | None:
    """None if the two checkpoints can both be true (`proof`: the consistency proof from the smaller size to the
    larger, RFC 9162 2.1.4); the Fork naming both otherwise. Both must be of the same origin."""
    if one.checkpoint.origin != other.checkpoint.origin:
        raise ValueError(f"checkpoints of two journals: {one.checkpoint.origin} and {other.checkpoint.origin}")
    first, second = sorted((one, other), key=lambda signed: signed.checkpoint.size)
    older, newer = first.checkpoint, second.checkpoint

    def fork(reason: str) -> Fork:
        return Fork(older.origin, first, second, reason)

    if older.size == 0:
        # Every tree extends the empty one; a size-0 checkpoint is only wrong if its root is not the empty root.
        if older.root != EMPTY_ROOT:
            return fork("a journal of 0 entries has the root of the empty tree")
        if newer.size == 0 and newer.root != EMPTY_ROOT:
            return fork("a journal of 0 entries has the root of the empty tree")
        return None
    if older.size == newer.size:
        return None if older.root == newer.root else fork(f"the same size, {older.size}, with different roots")
    try:
        verify_consistency(older.size, newer.size, proof, older.root, newer.root)
    except ProofError as error:
        return fork(f"the consistency proof from {older.size} to {newer.size} fails: {error}")
    return None
