"""Who is calling: the identity a certificate names, in the URI subject alternative name.

A party's node is `urn:deconflict:party:<party id>` (DCF-SEC-002); one of its operators is
`urn:deconflict:operator:<party id>/<name>`, the name without a slash, so the party is everything before the
last one. A certificate names an identity only when it carries exactly one URI subject alternative name and
that URI has one of these forms: none, several or another form authenticate nobody.

The identity of the current call is kept in a context variable, set by the access check that runs before
every behaviour (deconflict.security.access): each gRPC call runs in a task of its own, so it never leaks to
another call.
"""

from __future__ import annotations

import enum
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from cryptography import x509

PARTY_URI_PREFIX: Final = "urn:deconflict:party:"
OPERATOR_URI_PREFIX: Final = "urn:deconflict:operator:"
# The party ids of the protocol (deconflict.models.types.Identifier) and an operator's name: no slash.
_PARTY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Kind(enum.StrEnum):
    PARTY = "party"  # a party's node: the peer on a channel
    OPERATOR = "operator"  # a person of a party, at its own node's operator API


@dataclass(frozen=True, slots=True)
class Identity:
    kind: Kind
    party: str
    name: str = ""  # an operator's name; "" for a party

    @property
    def uri(self) -> str:
        if self.kind is Kind.PARTY:
            return party_uri(self.party)
        return operator_uri(self.party, self.name)

    def __str__(self) -> str:
        return self.uri


def party_uri(party: str) -> str:
    return PARTY_URI_PREFIX + party


def operator_uri(party: str, name: str) -> str:
    return f"{OPERATOR_URI_PREFIX}{party}/{name}"


def valid_party(party: str) -> bool:
    return bool(_PARTY.fullmatch(party))


def valid_operator_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def identity_of_uri(uri: str) -> Identity | None:
    """The identity a URI names, None when it is not of a deconflict form."""
    if uri.startswith(PARTY_URI_PREFIX):
        party = uri[len(PARTY_URI_PREFIX) :]
        return Identity(Kind.PARTY, party) if valid_party(party) else None
    if uri.startswith(OPERATOR_URI_PREFIX):
        party, _, name = uri[len(OPERATOR_URI_PREFIX) :].rpartition("/")
        if valid_party(party) and valid_operator_name(name):
            return Identity(Kind.OPERATOR, party, name)
    return None


def uris_of(certificate: x509.Certificate) -> list[str]:
    """Every URI subject alternative name of `certificate`, in order."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(uri) for uri in names.get_values_for_type(x509.UniformResourceIdentifier)]


def identity_of_certificate(certificate: x509.Certificate) -> Identity | None:
    """The identity of the one URI subject alternative name; None with none, several, or another form."""
    uris = uris_of(certificate)
    return identity_of_uri(uris[0]) if len(uris) == 1 else None


# The identity the TLS session of the current call authenticated; None in plaintext (or before the check ran).
CALLER: ContextVar[Identity | None] = ContextVar("deconflict_caller", default=None)


def caller_party() -> str | None:
    """The party the current call's certificate authenticated (DCF-SEC-003); None in plaintext, where the peer
    is the channel's, from the node's own configuration (DCF-SEC-005)."""
    identity = CALLER.get()
    if identity is None:
        return None
    # "" is no party id: an operator's certificate, which the access check keeps from the peer's RPCs anyway,
    # matches no channel's peer instead of passing for plaintext.
    return identity.party if identity.kind is Kind.PARTY else ""
