"""Mutual TLS between nodes (docs/spec/11-security.md, 11.1): real gRPC on 127.0.0.1, real TLS, certificates made
in a temporary folder by deconflict.security.pki.

The node under test is ru-mod, with a channel to us-dod (and, where a test needs a second one, to tr-mod); the
test plays the callers, each with the certificate the case is about. A refused caller must be refused before
any behaviour runs: the behaviours a test can reach are wrapped to record each call, and the journal must stay
empty.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from deconflict.client.operator import OperatorClient
from deconflict.client.peer import PeerClient
from deconflict.client.retry import RetryPolicy
from deconflict.conformance.session import ControlClient
from deconflict.models.envelope import Mode
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer
from deconflict.node.services import testing as control_service
from deconflict.node.services.channel import ChannelService
from deconflict.node.services.notice import NoticeService
from deconflict.node.services.operator import OperatorService
from deconflict.security.credentials import ClientTls
from deconflict.security.identity import Identity, Kind, operator_uri, party_uri
from deconflict.security.pki import Authority, certificate_pem, issue, key_pem, load_authority, new_authority
from deconflict.security.trust import Trust
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from tests.nodes import (
    AGREEMENT,
    CHANNEL,
    RU,
    TEST_KEYS,
    US,
    PeerSide,
    journal_entries,
    make_pki,
    node_tls,
    notice_view,
    one_node,
    operator_of,
    peer_of,
    refusal_of,
    sortie,
    two_nodes,
)

TR = "tr-mod"
TR_CHANNEL = "ru-mod:tr-mod"
# A refused handshake is UNAVAILABLE at once: no retries, so a test does not wait for them.
ONCE = RetryPolicy(attempt_timeout=3.0, overall_timeout=3.0, retryable=frozenset())
# Behaviours a refused caller could reach: each call is recorded.
WATCHED = (
    (ChannelService, ("Hello", "GetAgreement", "Heartbeat")),
    (NoticeService, ("SubmitNotice", "GetNotice", "ListNotices")),
    (OperatorService, ("GetStatus", "FileNotice")),
    (control_service.TestControlService, ("GetObserved", "Reset")),
)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the behaviours that ran, in order."""
    calls: list[str] = []

    def recorded(name: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(behaviour)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return await behaviour(*args, **kwargs)

        return wrapper

    for cls, names in WATCHED:
        for name in names:
            monkeypatch.setattr(cls, name, recorded(name, getattr(cls, name)))
    return calls


@dataclass
class TlsNode:
    server: NodeServer
    address: str
    pki: Path

    def authority(self, party: str) -> Authority:
        return load_authority(self.pki / party)

    def journal_size(self) -> int:
        return len(journal_entries(self.server.node.loaded.journal_path))

    def tls(self, party: str = US) -> ClientTls:
        """A caller presenting `party`'s node certificate, expecting ru-mod's node."""
        return node_tls(self.pki, party, RU)

    def tls_of(self, key: Any, certificate: Any) -> ClientTls:
        """A caller presenting a certificate a test made, expecting ru-mod's node."""
        return ClientTls(certificate_pem(certificate), key_pem(key), (self.pki / RU / "ca.crt").read_bytes(), RU)


@asynccontextmanager
async def ru_node(
    folder: Path, *, channels: tuple[str, ...] = (US,), testing_clients: tuple[str, ...] = ()
) -> AsyncIterator[TlsNode]:
    """ru-mod's node with mutual TLS and a channel to each of `channels`, none of which it calls."""
    pki = make_pki(folder / "pki", (RU, US, TR))
    lines = [
        f'party = "{RU}"',
        'listen = "127.0.0.1:0"',
        'journal = "ru-mod.journal"',
        "[tls]",
        f'certificate = "pki/{RU}/node.crt"',
        f'key = "pki/{RU}/node.key"',
        f'ca = "pki/{RU}/ca.crt"',
    ]
    # Signed as every node is: ru-mod's test key, and a peer's key under its name (DCF-SEC-006).
    keys = "".join(TEST_KEYS[party].party_key_toml(party) for party in (RU, US))
    TEST_KEYS[RU].write(folder / f"{RU}.key")
    for peer in channels:
        agreement = f"agreement-{peer}.toml"
        text = (AGREEMENT.format(notice_timer=60, heartbeat=1) + keys).replace(US, peer)
        (folder / agreement).write_text(text)
        lines += [
            "[[channels]]",
            f'peer = "{peer}"',
            'peer_address = ""',
            f'agreement = "{agreement}"',
            f'peer_ca = "pki/{peer}/ca.crt"',
        ]
    lines += ["[[signing.keys]]", f'key_id = "{TEST_KEYS[RU].key_id}"', f'file = "{RU}.key"']
    if testing_clients:
        lines += ["[testing]", "enabled = true", f"clients = [{', '.join(repr(c) for c in testing_clients)}]"]
    config = folder / "ru-mod.toml"
    config.write_text("\n".join(lines).replace("'", '"') + "\n")
    server = NodeServer(load_config(config))
    port = await server.start()
    try:
        yield TlsNode(server, f"127.0.0.1:{port}", pki)
    finally:
        await server.stop(grace=0)


async def refused_handshake(node: TlsNode, ran: list[str], *, tls: ClientTls | None = None, **client: Any) -> None:
    """A caller whose Hello and notice never get past the TLS handshake: UNAVAILABLE, no behaviour, no journal."""
    async with PeerClient(node.address, tls=tls, retry=ONCE, **client) as peer:
        side = PeerSide(peer)
        for attempt in (side.hello(agreement_hash=b"\0" * 32), side.notice(sortie("us-dod/0001", owner=US))):
            refused = await refusal_of(attempt)
            assert refused.code == grpc.StatusCode.UNAVAILABLE, refused
    assert ran == []
    assert node.journal_size() == 0
    assert not node.server.node.ledger.channels[CHANNEL].greeted


# -- the handshake (DCF-SEC-001) ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_valid_peer_is_accepted_and_its_notice_stored_dcf_sec_001_dcf_sec_003(tmp_path, ran):
    async with ru_node(tmp_path) as node, peer_of(node.address, tls=node.tls()) as us:
        delivery = await us.notice(sortie("us-dod/0001", owner=US))
    assert delivery.acknowledgement.message_sequence == 1
    assert ran[:2] == ["GetAgreement", "Hello"]
    assert "SubmitNotice" in ran
    stored = journal_entries(node.server.node.loaded.journal_path)
    assert stored[0].record.sender == US  # then the node's own answer to it


@pytest.mark.asyncio
async def test_a_client_without_a_certificate_is_refused_before_any_handler_dcf_sec_001(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        anchors = (node.pki / RU / "ca.crt").read_bytes()
        credentials = grpc.ssl_channel_credentials(root_certificates=anchors)
        await refused_handshake(node, ran, credentials=credentials, options=(("grpc.ssl_target_name_override", RU),))


@pytest.mark.asyncio
async def test_a_certificate_from_an_untrusted_ca_is_refused_before_any_handler_dcf_sec_001(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        impostor = new_authority(US)  # calls itself the US CA; nobody configured it
        issued = issue(impostor, Identity(Kind.PARTY, US), days=30)
        await refused_handshake(node, ran, tls=node.tls_of(issued.key, issued.certificate))


@pytest.mark.asyncio
async def test_an_expired_certificate_is_refused_before_any_handler_dcf_sec_001(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
        issued = issue(node.authority(US), Identity(Kind.PARTY, US), days=1, now=long_ago)
        await refused_handshake(node, ran, tls=node.tls_of(issued.key, issued.certificate))


@pytest.mark.asyncio
async def test_a_plaintext_client_is_refused_before_any_handler_dcf_sec_001_dcf_sec_005(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        await refused_handshake(node, ran)


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("version", "accepted"),
    [(ssl.TLSVersion.TLSv1_3, True), (ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_1, False)],
    ids=["tls1.3", "tls1.2", "tls1.1"],
)
async def test_the_node_speaks_tls_1_2_and_1_3_only_dcf_sec_001(tmp_path, version, accepted):
    async with ru_node(tmp_path) as node:
        home = node.pki / US
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(node.pki / RU / "ca.crt")
        context.load_cert_chain(home / "node.crt", home / "node.key")
        context.set_alpn_protocols(["h2"])
        context.minimum_version = context.maximum_version = version
        host, port = node.address.rsplit(":", 1)

        def handshake() -> str | None:
            with (
                socket.create_connection((host, int(port)), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=RU) as wrapped,
            ):
                return wrapped.version()

        if accepted:
            assert await asyncio.to_thread(handshake) == version.name.replace("_", ".")
        else:
            with pytest.raises(ssl.SSLError):
                await asyncio.to_thread(handshake)


# -- who the certificate names (DCF-SEC-002, DCF-SEC-004) -------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("issuer", "uris"),
    [
        pytest.param(US, [party_uri(RU)], id="the-us-ca-naming-ru-mod"),
        pytest.param(RU, [party_uri(RU)], id="the-node-itself"),
        pytest.param(US, [party_uri(TR)], id="the-us-ca-naming-tr-mod"),
        pytest.param(US, [], id="no-uri"),
        pytest.param(US, [party_uri(US), party_uri(TR)], id="two-uris"),
        pytest.param(US, ["urn:example:us-dod"], id="not-an-identity"),
    ],
)
async def test_a_certificate_naming_another_party_is_refused_before_any_handler_dcf_sec_002_dcf_sec_004(
    tmp_path, ran, issuer, uris
):
    # Every certificate here passes the handshake: its CA is one of the node's anchors. tr-mod is a peer too (a
    # second channel), so that only the US CA's say-so is missing when it names tr-mod.
    async with ru_node(tmp_path, channels=(US, TR)) as node:
        issued = issue(node.authority(issuer), Identity(Kind.PARTY, US), days=30, uris=uris)
        async with PeerClient(node.address, tls=node.tls_of(issued.key, issued.certificate), retry=ONCE) as peer:
            side = PeerSide(peer)
            for attempt in (side.hello(agreement_hash=b"\0" * 32), peer.get_agreement(CHANNEL), side.notice(sortie())):
                refused = await refusal_of(attempt)
                assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER"), refused
    assert ran == []
    assert node.journal_size() == 0


@pytest.mark.asyncio
async def test_an_authenticated_peer_naming_a_channel_it_is_not_a_party_of_is_refused_not_peer_dcf_sec_004(
    tmp_path, ran
):
    async with ru_node(tmp_path, channels=(US, TR)) as node, peer_of(node.address, tls=node.tls(US)) as us:
        attempts = {
            "GetAgreement": us.client.get_agreement(TR_CHANNEL),
            "ListNotices": us.client.list_notices(TR_CHANNEL),
            "GetNotice": us.client.get_notice(TR_CHANNEL, "tr-mod/0001"),
            "ListConferences": us.client.list_conferences(TR_CHANNEL),
            "Watch": anext(aiter(us.client.watch(TR_CHANNEL))),
            "Hello as tr-mod": PeerSide(us.client, party=TR, channel_id=TR_CHANNEL).hello(agreement_hash=b"\0" * 32),
        }
        for what, attempt in attempts.items():
            refused = await refusal_of(attempt)
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER"), what
        assert not node.server.node.ledger.channels[TR_CHANNEL].greeted
        # Its own channel still answers.
        assert (await us.client.get_agreement(CHANNEL)).agreement_hash


@pytest.mark.asyncio
async def test_an_envelope_whose_sender_is_not_the_tls_identity_is_refused_dcf_sec_003(tmp_path):
    async with ru_node(tmp_path, channels=(US, TR)) as node:
        # tr-mod greets its own channel, so the envelope below would be admitted if it came from tr-mod.
        async with peer_of(node.address, tls=node.tls(TR), party=TR, channel_id=TR_CHANNEL):
            pass
        async with peer_of(node.address, tls=node.tls(US)) as us:
            # Signed with us-dod's own key, so that the signature holds and the sender is what is refused.
            posing = PeerSide(us.client, party=TR, channel_id=TR_CHANNEL, key=TEST_KEYS[US])
            forged = posing.envelope("notice", sortie("tr-mod/0001", owner=TR))
            refused = await refusal_of(posing.deliver(forged))
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
            answers = [answer async for answer in us.client.exchange([forged])]
            assert [answer.refusal.reason for answer in answers] == ["NOT_PEER"]
        assert node.journal_size() == 0
        assert notice_view(node.server) == {}


# -- the operator API and the test-control API ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_operator_api_serves_the_node_s_own_operators_only_dcf_sec_004(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        async with OperatorClient(node.address, tls=operator_of(node.pki, RU), retry=ONCE) as operator:
            assert (await operator.get_status()).party == RU
        assert ran == ["GetStatus"]
        ran.clear()
        us_operator = issue(node.authority(US), Identity(Kind.OPERATOR, US, "duty-officer"), days=30)
        posing = issue(node.authority(US), Identity(Kind.OPERATOR, RU, "duty-officer"), days=30)
        for name, tls in {
            "us-dod's operator": node.tls_of(us_operator.key, us_operator.certificate),
            "ru-mod's operator, as the US CA says": node.tls_of(posing.key, posing.certificate),
            "us-dod's node": node.tls(US),
            "ru-mod's own node": node.tls(RU),
        }.items():
            async with OperatorClient(node.address, tls=tls, retry=ONCE) as caller:
                for attempt in (caller.get_status(), caller.file_notice(sortie("ru-mod/x"), mode=Mode.EXERCISE)):
                    refused = await refusal_of(attempt)
                    assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OPERATOR"), name
        # An operator is not the peer either.
        async with PeerClient(node.address, tls=operator_of(node.pki, RU), retry=ONCE) as peer:
            refused = await refusal_of(peer.get_agreement(CHANNEL))
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
        assert ran == []
        assert node.journal_size() == 0


@pytest.mark.asyncio
async def test_the_test_control_api_serves_the_identities_the_config_lists_only(tmp_path, ran):
    async with ru_node(tmp_path, testing_clients=(party_uri(US),)) as node:
        async with ControlClient(node.address, tls=node.tls(US), retry=ONCE) as control:
            assert (await control.observed(CHANNEL)).observations == []
        assert ran == ["GetObserved"]
        ran.clear()
        for tls in (operator_of(node.pki, RU), node.tls(RU)):
            async with ControlClient(node.address, tls=tls, retry=ONCE) as control:
                refused = await refusal_of(control.reset(control_pb.RESPONSE_POLICY_AUTOMATIC))
                assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_TEST_CLIENT")
        assert ran == []


@pytest.mark.asyncio
async def test_an_operator_may_be_a_test_client_when_listed(tmp_path, ran):
    async with ru_node(tmp_path, testing_clients=(operator_uri(RU, "duty-officer"),)) as node:
        async with ControlClient(node.address, tls=operator_of(node.pki, RU), retry=ONCE) as control:
            await control.reset(control_pb.RESPONSE_POLICY_OPERATOR)
        assert ran == ["Reset"]


# -- the client's side: whom it reaches ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_client_refuses_a_server_that_is_not_the_party_it_expects_dcf_sec_001(tmp_path, ran):
    async with ru_node(tmp_path) as node:
        mine = node.tls(US)
        expecting_tr = ClientTls(mine.certificate_chain, mine.key, mine.anchors, TR)
        under_us_anchors = ClientTls(mine.certificate_chain, mine.key, (node.pki / US / "ca.crt").read_bytes(), RU)
        for tls in (expecting_tr, under_us_anchors):
            async with PeerClient(node.address, tls=tls, retry=ONCE) as peer:
                refused = await refusal_of(peer.get_agreement(CHANNEL))
                assert refused.code == grpc.StatusCode.UNAVAILABLE
        assert ran == []


@pytest.mark.asyncio
async def test_two_nodes_deliver_and_answer_over_mutual_tls_dcf_sec_001(tmp_path):
    async with two_nodes(tmp_path, tls=True) as pair:
        async with OperatorClient(pair.ru_address, tls=operator_of(tmp_path / "pki", RU)) as operator:
            await operator.file_notice(sortie("ru-mod/tls-1"), mode=Mode.OPERATIONAL)
            async with asyncio.timeout(15):
                while True:
                    status = (await operator.get_status()).channels[0]
                    if status.unacknowledged == 0 and status.last_sequence_received >= 1:
                        break  # us-dod acknowledged it and answered (ROGER)
                    await asyncio.sleep(0.05)
        assert (RU, "ru-mod/tls-1") in notice_view(pair.us)


# -- the identity check: once per certificate, off the hot path (DCF-SEC-003) -------------------------------------


@pytest.mark.asyncio
async def test_a_certificate_is_checked_once_then_looked_up_dcf_sec_003(tmp_path, monkeypatch):
    checked: list[bytes] = []
    identify = Trust.identify

    def counting(self: Trust, leaf_pem: bytes, chain_pem: bytes = b"") -> Identity | None:
        checked.append(leaf_pem)
        return identify(self, leaf_pem, chain_pem)

    monkeypatch.setattr(Trust, "identify", counting)
    async with ru_node(tmp_path) as node:
        for _ in range(2):  # two connections with the same certificate
            async with PeerClient(node.address, tls=node.tls(US)) as peer:
                for _ in range(5):
                    await peer.get_agreement(CHANNEL)
    assert len(checked) == 1


# -- plaintext (DCF-SEC-005) ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_insecure_node_warns_and_takes_the_peer_from_its_configuration_dcf_sec_005(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="deconflict.node.server"):
        async with one_node(tmp_path) as node, peer_of(node.address) as us:
            # Nothing authenticates a plaintext caller: it is the channel's peer, as configured, whatever it says.
            posing = PeerSide(us.client, party="tr-mod")
            refused = await refusal_of(posing.hello(agreement_hash=b"\0" * 32))
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
            forged = us.envelope("notice", sortie("tr-mod/0001", owner="tr-mod"), sender="tr-mod")
            refused = await refusal_of(us.deliver(forged))
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
    assert any("plaintext" in record.message and "DCF-SEC-005" in record.message for record in caplog.records)
