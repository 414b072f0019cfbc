"""C2SP signed notes (c2sp.org/signed-note): a text ending in a newline, a blank line, then signature lines.

A signature line is an em dash, a space, the key name, a space and base64(key ID || signature). The key ID is
SHA-256(key name || 0x0A || signature type || public key)[:4]. Verifiers ignore signatures of keys they do not know
(by name and ID both), reject a note whose known signature fails, and reject a note no known key signed.

This module knows the note format and plain Ed25519 signatures (type 0x01); checkpoints and cosignatures
(deconflict.transparency.checkpoint, .cosignature) put their own contents and signed messages on top.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Ed25519Verifier",
    "Note",
    "NoteError",
    "NoteSignature",
    "check_key_name",
    "ed25519_signature",
    "format_verifier_key",
    "note_key_id",
    "parse_note",
    "parse_signature",
    "parse_verifier_key",
    "public_key_bytes",
    "verify_note",
]

ED25519: Final = 0x01
"""The signature type of Ed25519 note signatures."""
# The spec asks verifiers to accept at least 16 signatures; a checkpoint carries its party's and a few cosignatures.
MAX_SIGNATURES: Final = 16
MAX_NOTE_BYTES: Final = 16 << 10
_DASH: Final = "\u2014 "
_KEY_ID_BYTES: Final = 4
_ED25519_SIGNATURE_BYTES: Final = 64
_ED25519_KEY_BYTES: Final = 32


class NoteError(ValueError):
    """A note that is malformed, or whose signatures do not verify."""


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: who signed (key name and ID) and the signature bytes after the key ID."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (with its final newline) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)

    def with_signature(self, signature: NoteSignature) -> Note:
        return Note(self.text, (*self.signatures, signature))


def check_key_name(name: str) -> str:
    """A key name is non-empty and holds no space and no plus sign."""
    if not name or "+" in name or any(character.isspace() for character in name):
        raise NoteError(f"a key name is non-empty, without spaces or '+': {name!r}")
    return name


def note_key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:_KEY_ID_BYTES]


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_signature(name: str, key: Ed25519PrivateKey, text: str) -> NoteSignature:
    """The Ed25519 (type 0x01) signature line of `text` under the key named `name`."""
    _check_text(text)
    key_id = note_key_id(name, ED25519, public_key_bytes(key))
    return NoteSignature(name, key_id, key.sign(text.encode()))


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    """A trusted Ed25519 (type 0x01) note key: its name and raw 32-byte public key."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != _ED25519_KEY_BYTES:
            raise NoteError(f"an Ed25519 public key is {_ED25519_KEY_BYTES} bytes, not {len(self.public_key)}")

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, ED25519, self.public_key)

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != _ED25519_SIGNATURE_BYTES:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text.encode())
        except (InvalidSignature, ValueError):
            return False
        return True


def verify_note(note: Note, verifiers: Iterable[Ed25519Verifier]) -> list[NoteSignature]:
    """The note's signatures by the trusted keys, all verified; NoteError if one of them fails, or if none is
    there. Signatures of other keys are ignored (another key ID under a trusted name is another key)."""
    trusted = {(verifier.name, verifier.key_id): verifier for verifier in verifiers}
    verified: list[NoteSignature] = []
    for signature in note.signatures:
        verifier = trusted.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text, signature.signature):
            raise NoteError(f"the signature of {signature.name} ({signature.key_id.hex()}) does not verify")
        verified.append(signature)
    if not verified:
        names = ", ".join(sorted({name for name, _ in trusted})) or "none given"
        raise NoteError(f"no signature by a trusted key (trusted: {names})")
    return verified


def parse_note(data: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the format (not the signatures)."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError(f"a note is UTF-8: {exc}") from None
    if len(data.encode()) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes")
    _check_characters(data)
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line between its text and its signatures")
    text, block = data[: split + 1], data[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a note ends with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note carries at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature(line) for line in lines))


def parse_signature(line: str) -> NoteSignature:
    """One signature line, without its newline: `— <key name> base64(key ID || signature)`."""
    return _parse_signature(line)


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(_DASH):
        raise NoteError(f"a signature line starts with an em dash and a space: {line[:40]!r}")
    name, space, encoded = line[len(_DASH) :].partition(" ")
    if not space:
        raise NoteError(f"a signature line is a key name, a space and the signature: {line[:40]!r}")
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError(f"the signature of {name} is not base64") from None
    if len(raw) <= _KEY_ID_BYTES:
        raise NoteError(f"the signature of {name} is a key ID and a signature")
    return NoteSignature(name, raw[:_KEY_ID_BYTES], raw[_KEY_ID_BYTES:])


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    _check_characters(text)


def _check_characters(data: str) -> None:
    if any(ord(character) < 0x20 and character != "\n" for character in data):
        raise NoteError("a note holds no control character other than newline")


def format_verifier_key(name: str, signature_type: int, public_key: bytes) -> str:
    """The vkey text `<name>+<key ID in hex>+<base64(type || public key)>`."""
    key_id = note_key_id(name, signature_type, public_key)
    return f"{name}+{key_id.hex()}+{base64.b64encode(bytes([signature_type]) + public_key).decode('ascii')}"


def parse_verifier_key(vkey: str) -> tuple[str, int, bytes]:
    """A vkey's name, signature type and public key, with its key ID checked."""
    parts = vkey.strip().split("+", 2)  # base64 may hold "+" too; names and key IDs do not
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key ID>+<base64 key>")
    name, key_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        expected = bytes.fromhex(key_id)
    except (binascii.Error, ValueError):
        raise NoteError(f"verifier key {name}: the key ID is hexadecimal and the key base64") from None
    if len(raw) < 2 or len(expected) != _KEY_ID_BYTES:
        raise NoteError(f"verifier key {name}: a 4-byte key ID and a typed key")
    signature_type, public_key = raw[0], raw[1:]
    if note_key_id(name, signature_type, public_key) != expected:
        raise NoteError(f"verifier key {name}: its key ID does not match its name and key")
    return name, signature_type, public_key
