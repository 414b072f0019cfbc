"""Message signatures: this party's signing keys, and the verifier of its peers' (DCF-SEC-006 to DCF-SEC-013).

A node signs every SignedPayload it creates, envelopes and acknowledgements, over PAE("DSSEv1", type, payload):
the exact bytes it sends (DCF-SEC-009). It verifies what it receives before it parses it (DCF-SEC-008), with the
keys of the agreements it holds, each turned into an Ed25519 key object once, when the node starts. A key signs
and verifies only inside its validity (DCF-SEC-013), at the node's clock.

Private keys stay inside SigningKey: no repr, log line or error shows their bytes (DCF-SEC-016).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.dsse import pae
from deconflict.models.channel import ED25519_PUBLIC_KEY_BYTES, Agreement
from deconflict.v1 import envelope_pb2

SIGNATURE_BYTES = 64


class SigningKeyError(ValueError):
    """A key file that cannot be used; the message names the file, never what it holds."""


class BadSignatureError(Exception):
    """No usable signature verifies, or one fails: refused with UNAUTHENTICATED, reason BAD_SIGNATURE."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of this party's Ed25519 private keys, under the key_id its PartyKey has in the agreements."""

    key_id: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        return cls(key_id, Ed25519PrivateKey.generate())

    @classmethod
    def published(cls, key_id: str, seed: str) -> SigningKey:
        """A key derived from a text anyone can read: for tests, demos and benchmarks, never a real channel."""
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest()))

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key, as the agreement's PartyKey holds it."""
        return self.private_key.public_key().public_bytes_raw()

    def write(self, path: Path) -> None:
        """Store the private key as PKCS#8 PEM, readable by its owner only."""
        data = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)

    def party_key_toml(self, party: str, valid_from: str = "2015-10-20T00:00:00Z") -> str:
        """The agreement's [[keys]] entry for this key, in the TOML form an agreement file takes."""
        public = base64.b64encode(self.public_bytes).decode("ascii")
        return (
            f'\n[[keys]]\nkey_id = "{self.key_id}"\nparty = "{party}"\n'
            f'ed25519_public_key = "{public}"\nvalid_from = {valid_from}\n'
        )


def read_signing_key(key_id: str, path: Path) -> SigningKey:
    """A private key from a file: PKCS#8 PEM, or the 32 raw bytes of the Ed25519 seed."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningKeyError(f"{path}: {error.strerror or error}") from None
    try:
        if len(data) == 32:
            private = Ed25519PrivateKey.from_private_bytes(data)
        else:
            loaded = serialization.load_pem_private_key(data, password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise SigningKeyError(f"{path}: not an Ed25519 private key")
            private = loaded
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path}: not an unencrypted Ed25519 private key (PKCS#8 PEM or 32 raw bytes)") from None
    return SigningKey(key_id, private)


def key_problem(party: str, peer: str, keys: Sequence[SigningKey], agreement: Agreement, required: bool) -> str:
    """What keeps this node from signing and verifying on the channel of `agreement`; "" when nothing does."""
    named = {key.key_id: key for key in agreement.keys}
    for key in keys:
        held = named.get(key.key_id)
        if held is None:
            continue  # a key of another channel, or of an agreement version to come
        if held.party != party:
            return f"the agreement gives key {key.key_id} to {held.party}, not to {party}"
        if held.ed25519_public_key != key.public_bytes:
            return f"the agreement holds another public key than this node's under key_id {key.key_id}"
    if not required:
        return ""
    if not any(key.key_id in named for key in keys):
        ids = ", ".join(key.key_id for key in keys)
        return (
            f"the agreement names none of this node's signing keys ({ids}): add its PartyKey, or set "
            "signing.required = false for local experiments (DCF-SEC-014)"
        )
    if not any(held.party == peer for held in agreement.keys):
        return f"the agreement names no key of {peer}: nothing it sends could be verified (DCF-SEC-008)"
    return ""


@dataclass(frozen=True, slots=True)
class _Validity:
    valid_from: datetime
    valid_until: datetime | None

    def covers(self, now: datetime) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)


@dataclass(frozen=True, slots=True)
class _OwnKey:
    key_id: str
    private_key: Ed25519PrivateKey = field(repr=False)
    validity: _Validity


class Signer:
    """Signs this node's SignedPayloads with its keys valid now on the channel (DCF-SEC-006, DCF-SEC-013).

    During a rotation overlap both keys are valid and both sign; a key outside its validity never does. With
    `required` false (DCF-SEC-014) a node without keys sends its payloads unsigned.
    """

    def __init__(self, party: str, keys: Sequence[SigningKey], agreements: Iterable[Agreement], required: bool) -> None:
        self.required = required
        ours = {key.key_id: key for key in keys}
        self._keys: dict[str, tuple[_OwnKey, ...]] = {}
        for agreement in agreements:
            self._keys[agreement.channel_id] = tuple(
                _OwnKey(held.key_id, ours[held.key_id].private_key, _Validity(held.valid_from, held.valid_until))
                for held in agreement.keys
                if held.party == party
                and held.key_id in ours
                and held.ed25519_public_key == ours[held.key_id].public_bytes
            )

    def can_sign(self, channel_id: str, now: datetime) -> bool:
        """Whether a payload signed now on the channel would carry a signature, or need not."""
        return not self.required or any(key.validity.covers(now) for key in self._keys.get(channel_id, ()))

    def sign(self, channel_id: str, signed: envelope_pb2.SignedPayload, now: datetime) -> envelope_pb2.SignedPayload:
        """Add the signature of each key valid now over the exact payload bytes (DCF-SEC-009); returns `signed`."""
        message = b""
        for key in self._keys.get(channel_id, ()):
            if key.validity.covers(now):
                message = message or pae(signed.payload_type, signed.payload)
                signed.signatures.add(key_id=key.key_id, signature=key.private_key.sign(message))
        return signed


@dataclass(frozen=True, slots=True)
class PeerKey:
    """A PartyKey of a peer in one agreement, ready to verify."""

    key_id: str
    party: str
    channel_id: str
    public_key: Ed25519PublicKey = field(repr=False)
    validity: _Validity


Verified = tuple[PeerKey, ...]


class Verifier:
    """Verifies the peers' signatures with the keys of the agreements this node holds (DCF-SEC-008, DCF-SEC-011).

    With `required` false (DCF-SEC-014) a payload without a usable signature passes; one that fails never does.
    """

    def __init__(self, party: str, agreements: Iterable[Agreement], required: bool) -> None:
        self.required = required
        self._by_party: dict[str, dict[str, Verified]] = {}
        # Without an authenticated peer (plaintext), any peer's key is usable; the key must then be the sender's
        # in the envelope's channel, which check_channel says after parsing.
        self._any: dict[str, Verified] = {}
        for agreement in agreements:
            for held in agreement.keys:
                if held.party == party:
                    continue
                key = PeerKey(
                    held.key_id,
                    held.party,
                    agreement.channel_id,
                    Ed25519PublicKey.from_public_bytes(held.ed25519_public_key),
                    _Validity(held.valid_from, held.valid_until),
                )
                keys = self._by_party.setdefault(held.party, {})
                keys[held.key_id] = (*keys.get(held.key_id, ()), key)
                self._any[held.key_id] = (*self._any.get(held.key_id, ()), key)

    def verify(
        self, signed: envelope_pb2.SignedPayload, peer: str | None, now: datetime, field: str = "envelope"
    ) -> Verified:
        """The keys whose signatures verify over the received bytes, before anything is parsed from them.

        Usable: a key of `peer` (any peer's when None) valid now; signatures by other keys are ignored. Raises
        BadSignatureError when a usable signature fails, or (when required) when none verifies.
        """
        keys = self._any if peer is None else self._by_party.get(peer, {})
        verified: list[PeerKey] = []
        message = b""
        for index, signature in enumerate(signed.signatures):
            usable = [key for key in keys.get(signature.key_id, ()) if key.validity.covers(now)]
            if not usable:
                continue
            message = message or pae(signed.payload_type, signed.payload)
            verified.append(_verified_by(usable, signature.signature, message, f"{field}.signatures[{index}]"))
        if not verified and self.required:
            raise BadSignatureError(
                f"{field} carries no signature by a key of {peer or 'the peer'} valid now (DCF-SEC-008)"
            )
        return tuple(verified)

    @staticmethod
    def check_channel(verified: Verified, sender: str, channel_id: str, field: str = "envelope") -> None:
        """After parsing: a key that verified must be the sender's in the agreement of the payload's channel."""
        if verified and not any(key.party == sender and key.channel_id == channel_id for key in verified):
            key = verified[0]
            raise BadSignatureError(
                f"{field} is signed with key {key.key_id} of {key.party} on channel {key.channel_id}, not with a key "
                f"of {sender} on channel {channel_id} (DCF-SEC-008)"
            )


def _verified_by(usable: list[PeerKey], signature: bytes, message: bytes, where: str) -> PeerKey:
    if len(signature) == SIGNATURE_BYTES:
        for key in usable:
            try:
                key.public_key.verify(signature, message)
            except InvalidSignature:
                continue
            return key
    raise BadSignatureError(f"{where}, by key {usable[0].key_id}, does not verify (DCF-SEC-008)")


def public_key_from_base64(text: str) -> bytes:
    """An agreement file's `ed25519_public_key`: the base64 of the raw 32-byte key."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("must be the base64 of the 32-byte Ed25519 public key") from None
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise ValueError(f"must be the base64 of the 32-byte Ed25519 public key, not of {len(raw)} bytes")
    return raw
