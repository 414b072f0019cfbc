"""Which certificate authority vouches for which party.

The TLS layer of a node's server accepts a client certificate from any of its trust anchors (the CA of each
peer, and its own party's CA for its operators), but a CA vouches only for the party it belongs to: a
certificate from the US CA naming the Russian party authenticates nobody. So after the handshake, the identity
a certificate names (deconflict.security.identity) is taken only when the certificate chains to an anchor
configured for that identity's party (DCF-SEC-001, DCF-SEC-002).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from deconflict.security.identity import Identity, identity_of_certificate

# The intermediate CAs a client may present between its certificate and its party's anchor.
MAX_INTERMEDIATES: Final = 4


class Trust:
    """The anchors of each party, by party id."""

    def __init__(self, anchors: Mapping[str, Sequence[x509.Certificate]]) -> None:
        self._anchors = {party: tuple(certificates) for party, certificates in anchors.items()}

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(self._anchors)

    def anchors(self, party: str) -> tuple[x509.Certificate, ...]:
        return self._anchors.get(party, ())

    def every_anchor(self) -> list[x509.Certificate]:
        """Every anchor once: what the TLS layer trusts for client certificates."""
        seen: dict[bytes, x509.Certificate] = {}
        for certificates in self._anchors.values():
            for certificate in certificates:
                seen.setdefault(certificate.fingerprint(hashes.SHA256()), certificate)
        return list(seen.values())

    def identify(self, leaf_pem: bytes, chain_pem: bytes = b"") -> Identity | None:
        """The identity of a certificate the TLS layer verified, when an anchor of its party vouches for it.

        `chain_pem` is what the client presented besides its certificate (intermediate CAs, if any).
        """
        try:
            leaf = x509.load_pem_x509_certificate(leaf_pem)
            presented = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        except ValueError:
            return None
        identity = identity_of_certificate(leaf)
        if identity is None:
            return None
        return identity if chains_to(leaf, self.anchors(identity.party), presented) else None


def chains_to(
    leaf: x509.Certificate, anchors: Sequence[x509.Certificate], presented: Iterable[x509.Certificate]
) -> bool:
    """Whether `leaf` was issued by one of `anchors`, directly or through the CAs presented with it."""
    if not anchors:
        return False
    intermediates = [c for c in presented if c != leaf]
    current = leaf
    for _ in range(MAX_INTERMEDIATES + 1):
        if any(_issued_by(current, anchor) for anchor in anchors):
            return True
        issuer = next((c for c in intermediates if _issued_by(current, c)), None)
        if issuer is None:
            return False
        intermediates.remove(issuer)
        current = issuer
    return False


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
