"""Cosignatures (DCF-JNL-009): a party witnesses its peer's checkpoint as a C2SP tlog-cosignature.

The signature line is `— <key name> base64(key ID || timestamp || signature)`: the key ID is computed with
signature type 0x04, the timestamp is 8 bytes big-endian (seconds since the epoch), and the Ed25519 signature covers

    cosignature/v1
    time <timestamp>
    <the checkpoint's whole note text, extension lines included>

A cosignature states that, at that time, this is the largest tree of that journal the cosigner saw consistent with
the ones before it (DCF-JNL-010: it cosigns nothing it could not check so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.transparency.checkpoint import SignedCheckpoint, key_name
from deconflict.transparency.note import Note, NoteError, NoteSignature, check_key_name, note_key_id, public_key_bytes

__all__ = ["COSIGNATURE_ED25519", "Cosignature", "CosignerKey", "cosign", "cosigned_message", "verify_cosignatures"]

COSIGNATURE_ED25519: Final = 0x04
"""The signature type of timestamped Ed25519 cosignatures."""
_HEADER: Final = "cosignature/v1\n"
_TIMESTAMP_BYTES: Final = 8
_SIGNATURE_BYTES: Final = 64
_MAX_TIMESTAMP: Final = (1 << 63) - 1


def cosigned_message(note_text: str, time: int) -> bytes:
    """What a cosignature at `time` signs: the header line, the time line, then the checkpoint's note text."""
    if not 0 <= time <= _MAX_TIMESTAMP:
        raise NoteError(f"a cosignature's time is from 0 to 2**63-1, not {time}")
    return f"{_HEADER}time {time}\n{note_text}".encode()


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A trusted cosigner: its key name and raw Ed25519 public key."""

    name: str
    public_key: bytes

    @classmethod
    def of_party(cls, party_id: str, key_id: str, public_key: bytes) -> CosignerKey:
        return cls(key_name(party_id, key_id), public_key)

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, COSIGNATURE_ED25519, self.public_key)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: who cosigned, and when."""

    name: str
    time: int
    line: NoteSignature


def cosign(checkpoint: SignedCheckpoint | Note, name: str, private_key: Ed25519PrivateKey, time: int) -> NoteSignature:
    """The cosignature line of `name` on a checkpoint, at `time`. The caller has checked the checkpoint's signature
    and its consistency with the last one it cosigned (DCF-JNL-009, DCF-JNL-010)."""
    check_key_name(name)
    note = checkpoint.note if isinstance(checkpoint, SignedCheckpoint) else checkpoint
    signature = private_key.sign(cosigned_message(note.text, time))
    key_id = note_key_id(name, COSIGNATURE_ED25519, public_key_bytes(private_key))
    return NoteSignature(name, key_id, time.to_bytes(_TIMESTAMP_BYTES, "big") + signature)


def verify_cosignatures(checkpoint: SignedCheckpoint | Note, cosigners: Iterable[CosignerKey]) -> list[Cosignature]:
    """The cosignatures of trusted cosigners on the checkpoint, verified; NoteError if one of them fails.
    Lines of other keys are ignored; how many cosignatures are enough is the caller's policy."""
    note = checkpoint.note if isinstance(checkpoint, SignedCheckpoint) else checkpoint
    trusted = {(cosigner.name, cosigner.key_id): cosigner for cosigner in cosigners}
    found: list[Cosignature] = []
    for line in note.signatures:
        cosigner = trusted.get((line.name, line.key_id))
        if cosigner is None:
            continue
        if len(line.signature) != _TIMESTAMP_BYTES + _SIGNATURE_BYTES:
            raise NoteError(f"the cosignature of {line.name} is a timestamp and a 64-byte signature")
        time = int.from_bytes(line.signature[:_TIMESTAMP_BYTES], "big")
        try:
            Ed25519PublicKey.from_public_bytes(cosigner.public_key).verify(
                line.signature[_TIMESTAMP_BYTES:], cosigned_message(note.text, time)
            )
        except (InvalidSignature, ValueError):
            raise NoteError(f"the cosignature of {line.name} at time {time} does not verify") from None
        found.append(Cosignature(line.name, time, line))
    return found
