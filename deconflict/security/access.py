"""Who may call what: the check that runs before every behaviour of a node's services (DCF-SEC-004).

- the protocol's services (deconflict.v1): a party's node that is the peer of one of this node's channels;
  each behaviour then checks that the caller is the peer of the channel its request names (DCF-SEC-003);
- the operator API: an operator of this node's own party;
- the test-control API: only the identities the configuration lists ([testing] clients);
- health and reflection (grpc's own services): any caller the TLS handshake admitted.

With TLS, the identity comes from the certificate of the call's TLS session, vouched for by an anchor of its
party (deconflict.security.trust), never from the request. Each certificate is parsed and checked once; the
identity is then one dictionary lookup per call, keyed by the certificate's bytes. In plaintext (insecure,
DCF-SEC-005) nothing is authenticated: the behaviours take the peer from the node's configuration instead.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

from deconflict.node.faults import Fault
from deconflict.rpc.handlers import Admit, Context
from deconflict.rpc.refusal import Refusal
from deconflict.security.identity import CALLER, Identity, Kind
from deconflict.security.trust import Trust

# Distinct certificates remembered; beyond, the cache starts again (a node has a handful of callers).
CACHE_LIMIT: Final = 1024


class Audience(enum.Enum):
    PEER = "peer"
    OPERATOR = "operator"
    TESTING = "testing"


class Access:
    """The checks of one node: its party, its peers, the anchors of each party (None: plaintext)."""

    def __init__(
        self,
        party: str,
        peers: Iterable[str],
        trust: Trust | None,
        testing_clients: Iterable[str] = (),
        faults: Iterable[Fault] = (),
    ) -> None:
        self.party = party
        self.peers = frozenset(peers)
        self.trust = trust
        self.testing_clients = frozenset(testing_clients)
        self.faults = frozenset(faults)
        self._identities: dict[bytes, Identity | None] = {}

    def admit(self, audience: Audience) -> Admit:
        """The check run before each call of a service meant for `audience`."""
        if self.trust is None:
            return _plaintext
        return {Audience.PEER: self._peer, Audience.OPERATOR: self._operator, Audience.TESTING: self._testing}[audience]

    def identify(self, context: Context) -> Identity | None:
        """The identity the call's TLS session authenticated, None when its certificate names none we trust."""
        auth = context.auth_context()
        pem = next(iter(auth.get("x509_pem_cert", ())), b"")
        if not pem or self.trust is None:
            return None
        try:
            return self._identities[pem]
        except KeyError:
            pass
        identity = self.trust.identify(pem, next(iter(auth.get("x509_pem_cert_chain", ())), b""))
        if len(self._identities) >= CACHE_LIMIT:
            self._identities.clear()
        self._identities[pem] = identity
        return identity

    def _peer(self, context: Context) -> None:
        identity = self.identify(context)
        if identity is not None and Fault.SKIP_ACCESS_CHECK in self.faults:
            return  # the faulty variant (node/faults.py): the caller stays unknown, taken for the channel's peer
        if identity is None or identity.kind is not Kind.PARTY or identity.party not in self.peers:
            raise Refusal.permission_denied(
                "NOT_PEER", f"{_named(identity)} is not the peer of a channel of {self.party} (DCF-SEC-004)"
            )
        CALLER.set(identity)

    def _operator(self, context: Context) -> None:
        identity = self.identify(context)
        if identity is None or identity.kind is not Kind.OPERATOR or identity.party != self.party:
            raise Refusal.permission_denied(
                "NOT_OPERATOR", f"{_named(identity)} is not an operator of {self.party}: the operator API is theirs"
            )
        CALLER.set(identity)

    def _testing(self, context: Context) -> None:
        identity = self.identify(context)
        if identity is None or identity.uri not in self.testing_clients:
            raise Refusal.permission_denied(
                "NOT_TEST_CLIENT", f"{_named(identity)} is not a test client of this node ([testing] clients)"
            )
        CALLER.set(identity)


def _plaintext(context: Context) -> None:
    """Nothing to authenticate: the caller stays unknown, and the peer is the channel's (DCF-SEC-005)."""


def _named(identity: Identity | None) -> str:
    return "a certificate that names no identity vouched for by its party's CA" if identity is None else identity.uri
