"""gRPC credentials for mutual TLS: a node's server, its calls to its peers, an operator's calls to its node.

grpc checks a server's certificate against the trust anchors the client gives (here: the anchors of the one
party it means to reach, never a bundle of every party's) and then against a name, the
`grpc.ssl_target_name_override` option. That name check looks at the certificate's DNS names or, when it has
none, its common name; it never looks at URIs (grpc 1.85: an override equal to the party's URI fails with
"Hostname Verification Check failed"). So the override is the party id, which `deconflict pki` writes into a
node's certificate as a DNS name beside its URI, and the address dialled (an IP address, a host name of the
ministry's network) plays no part in who the peer is. Together: only the peer's CA can have issued the
certificate, and it issued it for the peer's node. The URI itself (DCF-SEC-002) is checked by the side that
receives calls, where grpc shows the certificate (deconflict.security.access); each node receives the other's
calls, so each node's URI is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import grpc
from cryptography import x509

from deconflict.security.identity import Kind, identity_of_certificate
from deconflict.security.pki import CA_CERT, OPERATOR_CERT, OPERATOR_KEY, certificate_pem
from deconflict.security.trust import Trust

TARGET_NAME_OPTION: Final = "grpc.ssl_target_name_override"


class CredentialsError(ValueError):
    """Certificate files that cannot be used, with which and why."""


@dataclass(frozen=True, slots=True)
class ClientTls:
    """What a client presents (its certificate chain and key) and whom it expects: a party, under its anchors."""

    certificate_chain: bytes
    key: bytes
    anchors: bytes
    server_party: str

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.anchors, private_key=self.key, certificate_chain=self.certificate_chain
        )

    def options(self) -> tuple[tuple[str, str], ...]:
        # The party id, matched against the DNS name of the server's certificate (see the module's text).
        return ((TARGET_NAME_OPTION, self.server_party),)


@dataclass(frozen=True, slots=True)
class NodeTls:
    """A node's TLS material, read once at start: its certificate and key, its party's anchors (for its
    operators) and each peer's (for that channel alone)."""

    party: str
    certificate_chain: bytes
    key: bytes
    own_anchors: bytes
    peer_anchors: dict[str, bytes] = field(default_factory=dict)

    def trust(self) -> Trust:
        anchors = {self.party: x509.load_pem_x509_certificates(self.own_anchors)}
        for peer, pem in self.peer_anchors.items():
            anchors[peer] = x509.load_pem_x509_certificates(pem)
        return Trust(anchors)

    def server_credentials(self) -> grpc.ServerCredentials:
        """Mutual TLS: a client without a certificate from one of the anchors is refused in the handshake
        (DCF-SEC-001). grpc negotiates TLS 1.2 or 1.3, never less."""
        bundle = b"".join(certificate_pem(certificate) for certificate in self.trust().every_anchor())
        return grpc.ssl_server_credentials(
            [(self.key, self.certificate_chain)], root_certificates=bundle, require_client_auth=True
        )

    def client_for(self, peer: str) -> ClientTls:
        """How this node calls `peer`: with its own certificate, trusting the peer's anchors only."""
        return ClientTls(self.certificate_chain, self.key, self.peer_anchors[peer], peer)


def operator_tls(folder: Path) -> ClientTls:
    """An operator's credentials as `deconflict pki operator` writes them: operator.crt, operator.key and the
    party's ca.crt, which verifies the party's own node."""
    try:
        chain = (folder / OPERATOR_CERT).read_bytes()
        key = (folder / OPERATOR_KEY).read_bytes()
        anchors = (folder / CA_CERT).read_bytes()
    except OSError as error:
        raise CredentialsError(f"{error.filename}: {error.strerror}") from None
    try:
        certificate = x509.load_pem_x509_certificate(chain)
    except ValueError as error:
        raise CredentialsError(f"{folder / OPERATOR_CERT}: not a PEM certificate ({error})") from None
    identity = identity_of_certificate(certificate)
    if identity is None or identity.kind is not Kind.OPERATOR:
        raise CredentialsError(f"{folder / OPERATOR_CERT}: names no operator (urn:deconflict:operator:PARTY/NAME)")
    return ClientTls(chain, key, anchors, identity.party)
