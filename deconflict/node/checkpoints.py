"""The node's journals as its peer checks them (DCF-JNL-005 to DCF-JNL-008): each channel's Merkle tree and the
checkpoints the node signs of it.

A channel's tree takes each entry as it becomes durable. The journal's writer thread hashes every entry anyway
(deconflict.journal.evidence) and hands the leaf hash back with the entry's index in the channel's journal, so the
loop only adds the interior nodes: one hash per entry on average, and 64 bytes of memory per entry (every level is
kept, so that the root of any earlier size and any proof cost O(log n) hashes). At start the replay hashes each
payload again to rebuild the trees.

A checkpoint is signed when asked for and the tree grew since the last one, and at least once per heartbeat
interval in which it grew (DCF-JNL-007, `sign_grown`): one Ed25519 signature and O(log n) hashes, never per entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from deconflict.journal.base import ChannelLeaf
from deconflict.node.signer import CheckpointSigner
from deconflict.transparency.checkpoint import Checkpoint, SignedCheckpoint, journal_origin
from deconflict.transparency.merkle import MerkleTree, leaf_hash

__all__ = ["JournalTrees", "NoSignerError"]

log = logging.getLogger(__name__)


class NoSignerError(Exception):
    """The node holds no checkpoint signing key: it serves no checkpoint and witnesses nothing."""


class JournalTrees:
    """The Merkle tree of each channel's journal, and the last checkpoint signed of each."""

    def __init__(self, party: str, signer: CheckpointSigner | None, clock: Callable[[], datetime]) -> None:
        self.party = party
        self.signer = signer
        self._clock = clock
        self._trees: dict[str, MerkleTree] = {}
        self._signed: dict[str, SignedCheckpoint] = {}

    def tree(self, channel_id: str) -> MerkleTree:
        """The tree of the channel's durable entries (empty for a channel with none yet)."""
        tree = self._trees.get(channel_id)
        if tree is None:
            tree = self._trees[channel_id] = MerkleTree()
        return tree

    def durable(self, leaves: list[ChannelLeaf]) -> None:
        """The journal's listener: a committed batch's entries, in order (DCF-JNL-005: index in the channel)."""
        for channel_id, index, leaf in leaves:
            tree = self.tree(channel_id)
            if index != tree.size:  # the journal numbers them; a mismatch would make every later proof wrong
                raise RuntimeError(f"entry {index} of channel {channel_id} is not the next of its tree, {tree.size}")
            tree.append(leaf)

    def replayed(self, channel_id: str, payload: bytes) -> int:
        """An entry read back at start, in journal order; its index in its channel's journal."""
        return self.tree(channel_id).append(leaf_hash(payload))

    def signed(self, channel_id: str) -> SignedCheckpoint | None:
        """The last checkpoint signed of the channel's journal, if any."""
        return self._signed.get(channel_id)

    def latest(self, channel_id: str) -> SignedCheckpoint:
        """The checkpoint of the journal as it is now: the last one signed, or a new one if the journal grew."""
        if self.signer is None:
            raise NoSignerError(f"{self.party} holds no checkpoint signing key")
        tree = self.tree(channel_id)
        signed = self._signed.get(channel_id)
        if signed is None or signed.checkpoint.size != tree.size:
            checkpoint = Checkpoint(
                journal_origin(channel_id, self.party), tree.size, tree.root(), int(self._clock().timestamp())
            )
            signed = self._signed[channel_id] = self.signer.sign(checkpoint)
        return signed

    def sign_grown(self, channel_id: str) -> None:
        """Sign a checkpoint if the journal grew since the last one (DCF-JNL-007; a node without a key signs none)."""
        if self.signer is not None:
            self.latest(channel_id)
