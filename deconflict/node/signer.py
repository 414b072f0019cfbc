"""The key a node signs its journal's checkpoints (DCF-JNL-006) and its cosignatures of the peer's (DCF-JNL-009) with.

`checkpoint_signer` is the one place that yields it: a key handed to the node when it is built, else the party's
first signing key of its configuration (`[[signing.keys]]`), whose public half the agreement holds. Without a key
(an unsigned node, for local experiments) the node signs no checkpoint and witnesses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.node.config import LoadedConfig
from deconflict.transparency.checkpoint import Checkpoint, SignedCheckpoint, key_name, sign_checkpoint
from deconflict.transparency.cosignature import cosign
from deconflict.transparency.note import NoteSignature, public_key_bytes

__all__ = ["CheckpointSigner", "checkpoint_signer"]


@dataclass(frozen=True, slots=True)
class CheckpointSigner:
    """One of the party's keys (a PartyKey of the agreement, by key_id) with its private half."""

    party: str
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def name(self) -> str:
        """The note key name, `deconflict.v1/<party id>/<key id>`."""
        return key_name(self.party, self.key_id)

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.private_key)

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        return sign_checkpoint(checkpoint, self.party, self.key_id, self.private_key)

    def cosign(self, checkpoint: SignedCheckpoint, time: int) -> NoteSignature:
        """The cosignature line of a checkpoint of the peer's journal, checked beforehand (DCF-JNL-010)."""
        return cosign(checkpoint, self.name, self.private_key, time)


def checkpoint_signer(loaded: LoadedConfig, given: CheckpointSigner | None = None) -> CheckpointSigner | None:
    """The node's checkpoint signing key, or None: the key given to the node, else the first of the party's signing
    keys in its configuration (a PartyKey of the agreement, DCF-JNL-006)."""
    if given is not None:
        if given.party != loaded.config.party:
            raise ValueError(f"a key of {given.party} cannot sign the checkpoints of {loaded.config.party}")
        return given
    if not loaded.signing_keys:
        return None
    key = loaded.signing_keys[0]
    return CheckpointSigner(loaded.config.party, key.key_id, key.private_key)
