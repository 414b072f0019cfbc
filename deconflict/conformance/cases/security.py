"""Chapter 11.1: mutual TLS and identity. These cases run only against a party that claims the tls feature.

The suite calls with certificates a real peer would never present (none, from a CA nobody trusts, expired,
naming someone else) and checks that the party refuses them and stores nothing they send, after the suite's
own Hello has opened the channel. Certificates signed by the suite's own CA need its key in the target file
([tls] ca and ca_key); without it, those cases are skipped.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from deconflict.client.peer import PeerClient
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, CaseSkippedError, case, expect
from deconflict.conformance.session import EnvelopeWriter, Session
from deconflict.security.credentials import TARGET_NAME_OPTION, ClientTls
from deconflict.security.identity import Identity, Kind, party_uri
from deconflict.security.pki import Authority, certificate_pem, issue, key_pem, new_authority

# A handshake the party refuses reaches the client as UNAVAILABLE; a party may instead accept the connection
# and refuse each call.
_TRANSPORT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED})
_OTHER_PARTY = "conformance-bystander"


def _tls(s: Session) -> Any:
    if s.target.tls is None:
        raise CaseSkippedError("the target file has no [tls] section")
    return s.target.tls


def _authority(s: Session) -> Authority:
    authority = _tls(s).authority
    if authority is None:
        raise CaseSkippedError("the target file gives no [tls] ca and ca_key: the suite cannot sign certificates")
    assert isinstance(authority, Authority)
    return authority


def _presenting(s: Session, authority: Authority, *, uris: list[str] | None = None, **validity: Any) -> ClientTls:
    """A client presenting a certificate `authority` signs for the suite's party (or `uris`)."""
    issued = issue(authority, Identity(Kind.PARTY, s.party), uris=uris, **{"days": 30, **validity})
    return ClientTls(certificate_pem(issued.certificate), key_pem(issued.key), _tls(s).party_ca, s.target.party)


async def _refused(
    s: Session, what: str, accepted: frozenset[grpc.StatusCode], reason: str = "", **client: Any
) -> None:
    """After the suite's own Hello, a caller (`client`: PeerClient's arguments) that reads the agreement and files
    a notice is refused each time, and the party stores nothing it sent."""
    await s.hello()
    async with PeerClient(s.address, retry=Session.retry_policy(), **client) as peer:
        # A notice the suite signed, relayed by this caller: only the TLS session says who sends it (DCF-SEC-003).
        writer = EnvelopeWriter(peer, party=s.party, recipient=s.target.party, channel_id=s.channel_id, key=s.key)
        attempts: list[Callable[[], Awaitable[object]]] = [
            lambda: peer.get_agreement(s.channel_id),
            lambda: writer.send("notice", s.notice()),
        ]
        for attempt in attempts:
            try:
                await attempt()
            except RefusedError as error:
                ok = error.code in accepted or (
                    error.code == grpc.StatusCode.PERMISSION_DENIED and error.reason == reason
                )
                expect(ok, f"{what} refused", f"{error.code.name} {error.reason}: {error.message}")
                continue
            raise CaseFailedError(f"{what} refused", "the party answered it")
    stored = [record for record in await s.observed() if record.received]
    expect(not stored, f"nothing stored from {what}", f"{len(stored)} message(s) stored")


@case("security.peer_certificate_accepted", "DCF-SEC-001", "DCF-SEC-003", feature="tls")
async def accepted(s: Session) -> None:
    """With the certificate of the channel's peer, the suite says Hello and files a notice, which the party
    stores as the peer's."""
    _tls(s)
    await s.hello()
    delivery = await s.file(s.notice())
    stored = [record.envelope.sender for record in await s.observed() if record.received]
    expect(stored == [s.party], f"the notice stored as {s.party}'s", stored)
    expect(delivery.acknowledgement.message_sequence == 1, "sequence 1 acknowledged", delivery.acknowledgement)


@case("security.plaintext_refused", "DCF-SEC-001", "DCF-SEC-005", feature="tls")
async def plaintext(s: Session) -> None:
    """A caller without TLS is refused: the party serves no plaintext by default."""
    _tls(s)
    await _refused(s, "a plaintext caller", _TRANSPORT)


@case("security.no_client_certificate_refused", "DCF-SEC-001", feature="tls")
async def no_certificate(s: Session) -> None:
    """A TLS caller that presents no certificate is refused (mutual TLS)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=_tls(s).party_ca)
    await _refused(
        s, "a caller without a certificate", _TRANSPORT, credentials=credentials,
        options=((TARGET_NAME_OPTION, s.target.party),),
    )  # fmt: skip


@case("security.untrusted_certificate_refused", "DCF-SEC-001", feature="tls")
async def untrusted(s: Session) -> None:
    """A certificate naming the peer, from a CA that is not the channel's trust anchor, is refused."""
    impostor = new_authority(s.party)
    await _refused(s, "a certificate from an untrusted CA", _TRANSPORT, tls=_presenting(s, impostor))


@case("security.expired_certificate_refused", "DCF-SEC-001", feature="tls")
async def expired(s: Session) -> None:
    """A certificate of the peer's CA that expired yesterday is refused."""
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    tls = _presenting(s, _authority(s), days=29, now=long_ago)
    await _refused(s, "an expired certificate", _TRANSPORT, tls=tls)


@case("security.certificate_of_another_party_refused", "DCF-SEC-002", "DCF-SEC-003", "DCF-SEC-004", feature="tls")
async def another_party(s: Session) -> None:
    """Certificates of the peer's CA that do not name the peer alone (the party under test itself, a party that
    is not of the channel, two parties, none) are refused with PERMISSION_DENIED, reason NOT_PEER (or in the
    handshake), and nothing they send is stored. The notice each files is signed by the peer: one a party of
    another channel relays is refused too (NOT_PEER, or UNAUTHENTICATED since it holds no key of the caller's)."""
    authority = _authority(s)
    for what, uris in {
        "a certificate naming the party itself": [party_uri(s.target.party)],
        "a certificate naming a party not of the channel": [party_uri(_OTHER_PARTY)],
        "a certificate naming two parties": [party_uri(s.party), party_uri(_OTHER_PARTY)],
        "a certificate naming no party": [],
    }.items():
        await _refused(s, what, _TRANSPORT, "NOT_PEER", tls=_presenting(s, authority, uris=uris))
