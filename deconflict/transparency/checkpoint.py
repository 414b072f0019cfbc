"""Checkpoints of a channel's journal (DCF-JNL-006): C2SP tlog-checkpoint text, signed as a C2SP note with Ed25519.

    deconflict.v1/<channel id>/<party id>      the origin: whose journal of which channel
    <tree size, decimal>
    <root hash, base64>
    time <seconds since the epoch>             the one extension line

signed under the key name `deconflict.v1/<party id>/<key id>` by a `PartyKey` of the party, valid at that time.
The same Ed25519 key signs envelopes (DSSE) and checkpoints without ambiguity: a DSSE message starts "DSSEv1 ", a
checkpoint with its origin "deconflict.v1/", a cosignature's message with "cosignature/v1".
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.transparency.merkle import HASH_SIZE
from deconflict.transparency.note import (
    ED25519,
    Ed25519Verifier,
    Note,
    NoteError,
    ed25519_signature,
    parse_note,
    parse_verifier_key,
    verify_note,
)

if TYPE_CHECKING:
    from deconflict.models.channel import PartyKey

__all__ = [
    "NAMESPACE",
    "Checkpoint",
    "CheckpointError",
    "CheckpointKey",
    "SignedCheckpoint",
    "journal_origin",
    "key_name",
    "open_checkpoint",
    "sign_checkpoint",
]

NAMESPACE: Final = "deconflict.v1"
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")
_TIME_PREFIX: Final = "time "
_MAX_INT64: Final = (1 << 63) - 1


class CheckpointError(NoteError):
    """A checkpoint that is malformed, or not validly signed by the party whose journal it names."""


def journal_origin(channel_id: str, party_id: str) -> str:
    """The origin line of the checkpoints of `party_id`'s journal of `channel_id`."""
    return f"{NAMESPACE}/{channel_id}/{party_id}"


def key_name(party_id: str, key_id: str) -> str:
    """The note key name of a party's key."""
    return f"{NAMESPACE}/{party_id}/{key_id}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A journal's tree head: its origin, size, root and the time it was signed."""

    origin: str
    size: int
    root: bytes
    time: int

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("the origin is one non-empty line")
        if not 0 <= self.size <= _MAX_INT64 or not 0 <= self.time <= _MAX_INT64:
            raise CheckpointError("the size and the time are from 0 to 2**63-1")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"the root hash is {HASH_SIZE} bytes, not {len(self.root)}")

    def text(self) -> str:
        """The note text: four lines, each ending in a newline."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n{_TIME_PREFIX}{self.time}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint a note text states; CheckpointError names what is malformed."""
        if not text.endswith("\n"):
            raise CheckpointError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) != 4:
            raise CheckpointError(f"a checkpoint is 4 lines (origin, size, root, `time <seconds>`), not {len(lines)}")
        origin, size, root, time = lines
        if not _DECIMAL.fullmatch(size):
            raise CheckpointError(f"the tree size is a decimal number without leading zeros, not {size!r}")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise CheckpointError(f"the root hash is base64, not {root!r}") from None
        seconds = time.removeprefix(_TIME_PREFIX)
        if not time.startswith(_TIME_PREFIX) or not _DECIMAL.fullmatch(seconds):
            raise CheckpointError(f"the extension line is `time <seconds since the epoch>`, not {time!r}")
        return cls(origin, int(size), root_hash, int(seconds))


@dataclass(frozen=True, slots=True)
class CheckpointKey:
    """A key that may sign a party's checkpoints: a PartyKey of the channel's agreement."""

    party: str
    key_id: str
    public_key: bytes
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @classmethod
    def from_party_key(cls, key: PartyKey) -> CheckpointKey:
        return cls(key.party, key.key_id, key.ed25519_public_key, key.valid_from, key.valid_until)

    @classmethod
    def from_verifier_key(cls, vkey: str) -> CheckpointKey:
        """A key from its C2SP vkey text, `deconflict.v1/<party id>/<key id>+<key ID>+<base64 key>` (the key id is
        what follows the last slash), with no validity bounds."""
        name, signature_type, public_key = parse_verifier_key(vkey)
        party, _, key_id = name.removeprefix(f"{NAMESPACE}/").rpartition("/")
        if not name.startswith(f"{NAMESPACE}/") or not party or not key_id:
            raise CheckpointError(f"a party's key is named {NAMESPACE}/<party id>/<key id>, not {name}")
        if signature_type != ED25519:
            raise CheckpointError(f"key {name} is of signature type {signature_type:#04x}, not Ed25519 (0x01)")
        return cls(party, key_id, public_key)

    @property
    def name(self) -> str:
        return key_name(self.party, self.key_id)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, self.public_key)

    def valid_at(self, seconds: int) -> bool:
        after_start = self.valid_from is None or self.valid_from.timestamp() <= seconds
        return after_start and (self.valid_until is None or seconds < self.valid_until.timestamp())


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose signature by its party verified, with the note as received (the evidence)."""

    checkpoint: Checkpoint
    note: Note
    party: str
    signed_by: tuple[str, ...]  # the key names whose signatures verified

    def encode(self) -> str:
        return self.note.encode()


def sign_checkpoint(
    checkpoint: Checkpoint, party_id: str, key_id: str, private_key: Ed25519PrivateKey
) -> SignedCheckpoint:
    """The checkpoint signed by `party_id`'s key `key_id` (DCF-JNL-006)."""
    name = key_name(party_id, key_id)
    if not checkpoint.origin.startswith(f"{NAMESPACE}/") or not checkpoint.origin.endswith(f"/{party_id}"):
        raise CheckpointError(f"{party_id} signs the checkpoints of its own journals only, not of {checkpoint.origin}")
    note = Note(checkpoint.text(), (ed25519_signature(name, private_key, checkpoint.text()),))
    return SignedCheckpoint(checkpoint, note, party_id, (name,))


def open_checkpoint(data: str | bytes, keys: Iterable[CheckpointKey]) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify it was signed by a key of the party its origin names, valid at the
    checkpoint's time. Signatures of other keys (a peer's cosignatures) are left for their own check."""
    note = parse_note(data)
    checkpoint = Checkpoint.parse(note.text)
    if not checkpoint.origin.startswith(f"{NAMESPACE}/"):
        raise CheckpointError(f"the origin of a journal checkpoint starts with {NAMESPACE}/: {checkpoint.origin}")
    own = [key for key in keys if checkpoint.origin.endswith(f"/{key.party}")]
    try:
        verified = verify_note(note, [key.verifier() for key in own])
    except NoteError as error:
        raise CheckpointError(f"checkpoint of {checkpoint.origin} at size {checkpoint.size}: {error}") from None
    by_name = {key.name: key for key in own}
    parties = {by_name[signature.name].party for signature in verified}
    for signature in verified:
        if not by_name[signature.name].valid_at(checkpoint.time):
            raise CheckpointError(f"key {signature.name} was not valid at the checkpoint's time {checkpoint.time}")
    if len(parties) != 1:
        raise CheckpointError(f"checkpoint of {checkpoint.origin} signed by keys of several parties")
    return SignedCheckpoint(checkpoint, note, parties.pop(), tuple(signature.name for signature in verified))
