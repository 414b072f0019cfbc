"""DSSE signatures (DCF-SEC-007): Ed25519 over PAE("DSSEv1", payload_type, payload).

The signature covers the exact bytes sent, never a re-serialisation: protobuf
serialisation is not canonical.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE pre-authentication encoding: what a signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(key: Ed25519PrivateKey, payload_type: str, payload: bytes) -> bytes:
    """The 64-byte Ed25519 signature of the payload under its type."""
    return key.sign(pae(payload_type, payload))


def verify(public_key: bytes, payload_type: str, payload: bytes, signature: bytes) -> bool:
    """Whether `signature` signs this payload and type under the raw 32-byte Ed25519 `public_key`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, pae(payload_type, payload))
    except (InvalidSignature, ValueError):
        return False
    return True
