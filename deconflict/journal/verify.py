"""Verify a journal file (DCF-JNL-013): recompute its evidence and each channel's tree, and name the first entry that
was altered, removed or reordered.

Each entry is checked against the stored link of the entry before it, so each finding is local: an altered entry
(any column), two entries swapped (the first of them), a removed entry (a missing position), entries cut off the end
(the head records more), entries written by someone else than the writer (no link, or past the head). The channel
heads are checked against the trees recomputed from the payloads (DCF-JNL-003, DCF-JNL-004), and signed checkpoints,
when given, against the channel's tree at their size.

What cannot be known from the file alone: a file rewritten whole by someone who computed the evidence again (it is
not secret), or cut short together with its heads (as a restored backup is). Only checkpoints signed and held
elsewhere (the peer's cosigned ones) show those; the report says so.
"""

from __future__ import annotations

import base64
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deconflict.journal.evidence import FIRST_LINK, entry_link
from deconflict.journal.sqlite import StoredHeads, read_evidence
from deconflict.transparency.checkpoint import SignedCheckpoint, journal_origin
from deconflict.transparency.merkle import EMPTY_ROOT, CompactRange, leaf_hash

__all__ = ["ChannelTree", "CheckpointMatch", "Finding", "Problem", "Verification", "verify_journal"]


class Problem(enum.StrEnum):
    ALTERED = "altered"  # the entry's bytes, or its place, are not those the writer stored
    REMOVED = "removed"  # entries the writer stored are gone
    ADDED = "added"  # entries the writer did not store
    HEAD = "head"  # a head does not match the entries (and no entry explains it)
    CHECKPOINT = "checkpoint"  # a signed checkpoint does not match the channel's entries


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong, at the first entry it concerns when there is one."""

    problem: Problem
    text: str
    position: int | None = None  # in the file
    channel_id: str | None = None
    index: int | None = None  # the entry's index in its channel's journal


@dataclass(frozen=True, slots=True)
class ChannelTree:
    """A channel's tree as recomputed from its entries, beside the head the writer stored."""

    channel_id: str
    size: int
    root: bytes
    recorded_size: int | None
    recorded_root: bytes | None

    @property
    def matches(self) -> bool:
        return (self.size, self.root) == (self.recorded_size, self.recorded_root)


@dataclass(frozen=True, slots=True)
class CheckpointMatch:
    """A signed checkpoint and the root of its channel's entries at its size (None: the journal has fewer)."""

    signed: SignedCheckpoint
    channel_id: str
    root: bytes | None

    @property
    def matches(self) -> bool:
        return self.root == self.signed.checkpoint.root


@dataclass(frozen=True, slots=True)
class Verification:
    path: Path
    entries: int  # rows present
    recorded: int | None  # entries the journal's head records
    channels: tuple[ChannelTree, ...]
    checkpoints: tuple[CheckpointMatch, ...]
    findings: tuple[Finding, ...]  # entry findings by position first, then heads and checkpoints

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class VerifyError(ValueError):
    """The verification cannot be made as asked (a checkpoint of another journal)."""


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def verify_journal(path: Path, checkpoints: Sequence[SignedCheckpoint] = ()) -> Verification:
    """Recompute the journal at `path` and compare it with its stored evidence and with `checkpoints` (already
    opened, that is verified as signed by their party). Read-only: a running node's journal can be verified."""
    path = Path(path)
    wanted: dict[str, set[int]] = defaultdict(set)
    roots_at: dict[tuple[str, int], bytes] = {}
    findings: list[Finding] = []
    trees: dict[str, CompactRange] = {}
    with read_evidence(path) as (heads, rows):
        for signed in checkpoints:
            wanted[_channel_of(signed, heads)].add(signed.checkpoint.size)
        # previous: the stored link of the entry before, None when it cannot be trusted to check the next one.
        expected, present = 0, 0
        previous: bytes | None = FIRST_LINK
        last: bytes | None = FIRST_LINK
        for row, link in rows:
            position, channel_id = row[0], row[1]
            tree = trees.get(channel_id)
            if tree is None:
                tree = trees[channel_id] = CompactRange()
            index = tree.size
            leaf = leaf_hash(row[7])
            tree.append(leaf)
            if tree.size in wanted.get(channel_id, ()):
                roots_at[channel_id, tree.size] = tree.root()
            present += 1
            if position != expected:
                # The entry after a gap cannot be checked: its link was made after the missing one's.
                findings.append(_missing(expected, position))
            elif link is None:
                findings.append(Finding(Problem.ADDED, "it carries no link", position, channel_id, index))
            elif previous is not None and entry_link(previous, leaf, row) != link:
                text = "its bytes, or its place, are not those the journal stored (altered, or moved)"
                findings.append(Finding(Problem.ALTERED, text, position, channel_id, index))
            previous = last = link
            expected = position + 1
    findings.extend(_head_findings(heads, expected, last, findings))
    channels = tuple(
        _channel_tree(channel, trees.get(channel), heads) for channel in sorted(set(heads.channels) | set(trees))
    )
    findings.extend(
        Finding(
            Problem.HEAD,
            f"its head records {tree.recorded_size} entries with root {_b64(tree.recorded_root or b'')}; its entries "
            f"give {tree.size} with root {_b64(tree.root)}",
            channel_id=tree.channel_id,
        )
        for tree in channels
        if not tree.matches
    )
    matches = []
    for signed in checkpoints:
        channel = _channel_of(signed, heads)
        size = signed.checkpoint.size
        matches.append(CheckpointMatch(signed, channel, EMPTY_ROOT if size == 0 else roots_at.get((channel, size))))
    matched = {(match.channel_id, match.signed.checkpoint.size) for match in matches if match.matches}
    for match in matches:
        if not match.matches:
            # The entries up to the largest size signed and matched are as signed: the first that differs is after.
            size = match.signed.checkpoint.size
            start = max((good for channel, good in matched if channel == match.channel_id and good < size), default=0)
            findings.append(_checkpoint_finding(match, trees.get(match.channel_id), start))
    # By position (the scan's order; a head's finding may name an earlier one), then those without one.
    findings.sort(key=lambda finding: (finding.position is None, finding.position or 0))
    return Verification(path, present, heads.size, channels, tuple(matches), tuple(findings))


def _missing(expected: int, position: int) -> Finding:
    others = "" if position == expected + 1 else f", and so are entries {expected + 1} to {position - 1}"
    return Finding(Problem.REMOVED, f"missing{others}", expected)


def _head_findings(heads: StoredHeads, end: int, last_link: bytes | None, found: list[Finding]) -> list[Finding]:
    if heads.size is None:
        return [Finding(Problem.HEAD, "the journal has no head: it was not written by its writer")]
    if heads.size > end:
        others = "" if heads.size == end + 1 else f", and so are entries {end + 1} to {heads.size - 1}"
        return [Finding(Problem.REMOVED, f"missing{others}: the journal's head records {heads.size}", end)]
    if heads.size < end:
        return [
            Finding(Problem.ADDED, f"not written by the journal's writer: its head records {heads.size}", heads.size)
        ]
    if heads.link != last_link and not any(finding.position == end - 1 for finding in found):
        return [Finding(Problem.HEAD, f"the journal's head does not hold the link of its last entry, {end - 1}")]
    return []


def _channel_tree(channel_id: str, tree: CompactRange | None, heads: StoredHeads) -> ChannelTree:
    tree = tree or CompactRange()
    recorded = heads.channels.get(channel_id)
    if recorded is None:
        return ChannelTree(channel_id, tree.size, tree.root(), None, None)
    size, root, subtrees = recorded
    try:
        if CompactRange.from_bytes(size, subtrees).root() != root:
            root = b""  # a head whose root is not its own tree's matches nothing
    except ValueError:
        root = b""
    return ChannelTree(channel_id, tree.size, tree.root(), size, root)


def _channel_of(signed: SignedCheckpoint, heads: StoredHeads) -> str:
    for channel in heads.channels:
        if journal_origin(channel, signed.party) == signed.checkpoint.origin:
            return channel
    raise VerifyError(f"the checkpoint of {signed.checkpoint.origin} is not of a channel of this journal")


def _checkpoint_finding(match: CheckpointMatch, tree: CompactRange | None, start: int) -> Finding:
    checkpoint = match.signed.checkpoint
    held = tree.size if tree is not None else 0
    signer = ", ".join(match.signed.signed_by)
    if match.root is None:
        others = "" if checkpoint.size == held + 1 else f", and so are its entries {held + 1} to {checkpoint.size - 1}"
        return Finding(
            Problem.REMOVED,
            f"missing{others}: the channel holds {held} entries, and {signer} signed a checkpoint of "
            f"{checkpoint.size} at time {checkpoint.time}",
            channel_id=match.channel_id,
            index=held,
        )
    return Finding(
        Problem.CHECKPOINT,
        f"its first {checkpoint.size} entries do not give the root {_b64(checkpoint.root)} that {signer} signed at "
        f"time {checkpoint.time}: one of its entries {start} to {checkpoint.size - 1} differs",
        channel_id=match.channel_id,
    )
