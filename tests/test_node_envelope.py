"""The envelope as a real node receives it (docs/spec/02-envelope.md): Hello, sequences, duplicates, header checks.

The test is the node's peer: it says Hello with a PeerClient, builds and seals envelopes itself and numbers their
sequences by hand, against one node on loopback with its journal in tmp_path.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from deconflict.client.peer import PeerClient
from deconflict.models.channel import VersionRange
from deconflict.models.notice import FlightNotice
from deconflict.node.node import utc_now
from deconflict.node.server import NodeServer
from deconflict.v1 import channel_pb2, envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    answered,
    one_node,
    peer_of,
    refusal_of,
    restart,
    sortie,
    status_of,
)


def notice(number: int) -> FlightNotice:
    return sortie(f"{US}/sortie-{number}", owner=US, latitude=33.0 + number * 0.5)


# -- Hello ------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_write_before_hello_is_refused_hello_required_dcf_env_022(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address, greet=False) as peer:
        refused = await refusal_of(peer.notice(notice(1)))
        assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
        assert refused.reason == "HELLO_REQUIRED"
        assert (await status_of(node.address)).channel.last_sequence_received == 0
        await peer.hello()
        delivery = await peer.notice(notice(1))
        assert delivery.acknowledgement.message_sequence == 1


READS_BEFORE_HELLO: dict[str, Callable[[PeerClient], object]] = {
    "Heartbeat": lambda client: client.heartbeat(
        channel_pb2.Heartbeat(channel_id=CHANNEL, party=US, sent_time=_now_proto())
    ),
    "ExchangeChecklist": lambda client: client.exchange_checklist(
        channel_pb2.Checklist(channel_id=CHANNEL, party=US, as_of_time=_now_proto())
    ),
    "GetNotice": lambda client: client.get_notice(CHANNEL, "ru-mod/any"),
    "ListNotices": lambda client: client.list_notices(CHANNEL),
    "GetConference": lambda client: client.get_conference(CHANNEL, "any"),
    "ListConferences": lambda client: client.list_conferences(CHANNEL),
    "Watch": lambda client: _first(client.watch(CHANNEL, 1)),
}


def _now_proto() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return stamp


async def _first(stream: object) -> object:
    return await anext(stream)  # type: ignore[call-overload]


@pytest.mark.asyncio
@pytest.mark.parametrize("method", sorted(READS_BEFORE_HELLO))
async def test_every_rpc_but_get_agreement_needs_hello_dcf_hel_001(tmp_path: Path, method: str) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address, greet=False) as peer:
        refused = await refusal_of(READS_BEFORE_HELLO[method](peer.client))  # type: ignore[arg-type]
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")
        # GetAgreement is served before Hello, so that a peer can diagnose a mismatch (DCF-CHN-002).
        agreement = await peer.client.get_agreement(CHANNEL)
        assert agreement.agreement_hash == hashlib.sha256(agreement.agreement).digest()


@pytest.mark.asyncio
async def test_an_agreement_hash_mismatch_is_refused_at_hello_dcf_hel_006(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address, greet=False) as peer:
        ours = (await peer.client.get_agreement(CHANNEL)).agreement_hash
        other = hashlib.sha256(b"another agreement").digest()
        refused = await refusal_of(peer.hello(agreement_hash=other, agreement_version=2))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "AGREEMENT_MISMATCH")
        # The status message names both versions and both hashes, in hexadecimal.
        assert ours.hex() in refused.message
        assert other.hex() in refused.message
        assert re.search(r"\b1\b", refused.message)
        assert re.search(r"\b2\b", refused.message)
        # No notice is exchanged on a mismatch: the peer is still not greeted.
        refused = await refusal_of(peer.notice(notice(1)))
        assert refused.reason == "HELLO_REQUIRED"


@pytest.mark.asyncio
async def test_a_version_range_mismatch_is_refused_at_hello_dcf_hel_005(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address, greet=False) as peer:
        refused = await refusal_of(peer.hello(versions=VersionRange(min_major=2, max_major=3)))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "VERSION_MISMATCH")
        assert "1" in refused.message
        assert "2" in refused.message
        assert "3" in refused.message
        refused = await refusal_of(peer.notice(notice(1)))
        assert refused.reason == "HELLO_REQUIRED"
        # An overlapping range is accepted and the highest common major is selected (DCF-HEL-007).
        answer = await peer.hello(versions=VersionRange(min_major=1, max_major=4))
        assert answer.selected_major == 1
        assert answer.hello.party == RU


# -- sequence numbers ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_sequence_starts_at_1_dcf_env_012(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        refused = await refusal_of(peer.notice(notice(1), sequence=2))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SEQUENCE_GAP")
        assert refused.sequence_gap is not None
        assert (refused.sequence_gap.expected, refused.sequence_gap.received) == (1, 2)
        for number in (1, 2, 3):
            delivery = await peer.notice(notice(number))
            assert delivery.acknowledgement.message_sequence == number


@pytest.mark.asyncio
async def test_a_gap_is_refused_with_its_details_and_nothing_stored_dcf_env_028(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(notice(1))
        await answered(node)
        before = await status_of(node.address)
        refused = await refusal_of(peer.notice(notice(2), sequence=3))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SEQUENCE_GAP")
        assert refused.sequence_gap is not None
        assert (refused.sequence_gap.expected, refused.sequence_gap.received) == (2, 3)
        after = await status_of(node.address)
        assert after.journal_size == before.journal_size
        assert after.channel.last_sequence_received == 1
        assert node.server.node.ledger.notice(US, f"{US}/sortie-2") is None
        # The missing sequence first, then the one refused: both stored, in order.
        assert (await peer.notice(notice(2))).acknowledgement.message_sequence == 2
        assert (await peer.notice(notice(3))).acknowledgement.message_sequence == 3


@pytest.mark.asyncio
async def test_a_used_sequence_with_another_id_is_refused_dcf_env_027(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(notice(1))
        await peer.notice(notice(2))
        await answered(node)
        before = await status_of(node.address)
        refused = await refusal_of(peer.notice(notice(3), sequence=1))
        assert (refused.code, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SEQUENCE_REPLAYED")
        assert (await status_of(node.address)).journal_size == before.journal_size
        assert node.server.node.ledger.notice(US, f"{US}/sortie-3") is None


# -- duplicates ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_duplicate_gets_the_byte_identical_acknowledgement_dcf_env_023(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        signed = peer.envelope("notice", notice(1))
        first = await peer.deliver(signed)
        await answered(node)
        size = (await status_of(node.address)).journal_size
        again = await peer.deliver(signed)
        assert again.signed.SerializeToString() == first.signed.SerializeToString()
        assert (await status_of(node.address)).journal_size == size
        # The next message still takes sequence 2: the duplicate consumed nothing.
        assert (await peer.notice(notice(2))).acknowledgement.message_sequence == 2


@pytest.mark.asyncio
async def test_a_duplicate_after_a_restart_gets_the_same_acknowledgement_however_late_dcf_env_023(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node:
        async with peer_of(node.address) as peer:
            first_signed = peer.envelope("notice", notice(1))
            first = await peer.deliver(first_signed)
            second_signed = peer.envelope("notice", notice(2), created_time=datetime.now(UTC) - timedelta(seconds=5))
            second = await peer.deliver(second_signed)
        # The same journal, a node whose clock is ten minutes on: far past the 30 s skew tolerance.
        loaded = node.server.node.loaded
        await node.server.stop(grace=0)
        node.server = NodeServer(loaded, clock=lambda: utc_now() + timedelta(minutes=10))
        await node.server.start()
        async with peer_of(node.address) as peer:
            peer.sequence = 3
            for signed, delivery in ((first_signed, first), (second_signed, second)):
                again = await peer.deliver(signed)
                assert again.signed.SerializeToString() == delivery.signed.SerializeToString()
            # A new message with the same (now skewed) clock is refused: the duplicate check came first.
            refused = await refusal_of(peer.notice(notice(3)))
            assert refused.reason == "CLOCK_SKEW"


@pytest.mark.asyncio
async def test_a_duplicate_after_a_plain_restart_is_answered_the_same_dcf_env_023(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        async with peer_of(node.address) as peer:
            signed = peer.envelope("notice", notice(1))
            first = await peer.deliver(signed)
        node.server = await restart(node.server)
        async with peer_of(node.address) as peer:
            again = await peer.deliver(signed)
            assert again.signed.SerializeToString() == first.signed.SerializeToString()
            assert (await peer.notice(notice(2))).acknowledgement.message_sequence == 2


@pytest.mark.asyncio
async def test_the_same_message_id_with_other_content_is_refused_dcf_env_024(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        first = await peer.notice(notice(1))
        await answered(node)
        size = (await status_of(node.address)).journal_size
        reused = peer.envelope("notice", notice(2), message_id=first.acknowledgement.message_id, sequence=1)
        refused = await refusal_of(peer.deliver(reused))
        assert (refused.code, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "MESSAGE_ID_REUSED")
        # Also with the next sequence: the id decides, before the sequence is looked at.
        reused = peer.envelope("notice", notice(2), message_id=first.acknowledgement.message_id, sequence=2)
        refused = await refusal_of(peer.deliver(reused))
        assert refused.reason == "MESSAGE_ID_REUSED"
        assert (await status_of(node.address)).journal_size == size


# -- header checks ---------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("offset", [timedelta(seconds=-45), timedelta(seconds=45)], ids=["behind", "ahead"])
async def test_created_time_outside_the_skew_tolerance_is_refused_dcf_env_025(
    tmp_path: Path, offset: timedelta
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await answered(node)
        size = (await status_of(node.address)).journal_size
        refused = await refusal_of(peer.notice(notice(1), created_time=datetime.now(UTC) + offset))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CLOCK_SKEW")
        # The message names the receiver's time and the tolerance (30 s in the agreement).
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", refused.message), refused.message
        assert "30" in refused.message
        after = await status_of(node.address)
        assert (after.journal_size, after.channel.last_sequence_received) == (size, 0)
        # Re-originated with a fresh created_time, the same sequence is stored (DCF-ENV-026).
        assert (await peer.notice(notice(1))).acknowledgement.message_sequence == 1


@pytest.mark.asyncio
async def test_a_body_the_method_does_not_take_is_refused_naming_body_dcf_env_029(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        signed = peer.envelope("notice", notice(1))
        for wrong in (peer.client.cancel_notice, peer.client.report_incident, peer.client.respond_to_notice):
            refused = await refusal_of(wrong(signed))
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
            assert [field for field, _ in refused.violations] == ["body"]
        assert (await status_of(node.address)).channel.last_sequence_received == 0
        assert (await peer.deliver(signed)).acknowledgement.message_sequence == 1


@pytest.mark.asyncio
async def test_a_recipient_that_is_not_the_node_is_refused_dcf_env_006(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        refused = await refusal_of(peer.notice(notice(1), recipient="nato"))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [field for field, _ in refused.violations] == ["recipient"]
        # recipient equal to the sender is refused too (DCF-ENV-005).
        spoiled = peer.proto("notice", notice(1))
        spoiled.recipient = US
        refused = await refusal_of(peer.deliver(peer.raw(spoiled)))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [field for field, _ in refused.violations] == ["recipient"]


@pytest.mark.asyncio
async def test_a_sender_that_is_not_the_peer_is_refused_not_peer_dcf_env_021(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        refused = await refusal_of(peer.notice(sortie("nato/sortie-1", owner="nato"), sender="nato"))
        assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
        assert (await status_of(node.address)).channel.last_sequence_received == 0


@pytest.mark.asyncio
async def test_an_unknown_channel_is_not_found_dcf_env_020(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        refused = await refusal_of(peer.notice(notice(1), channel_id="ru-mod:nato"))
        assert refused.code == grpc.StatusCode.NOT_FOUND


def _bowtie(envelope: envelope_pb2.Envelope) -> None:
    volume = envelope.notice.volumes[0].volume
    volume.ClearField("circle")
    for latitude, longitude in ((35.0, 36.0), (36.0, 37.0), (35.0, 37.0), (36.0, 36.0)):
        volume.polygon.vertices.add(latitude=latitude, longitude=longitude)


def _latitude_past_90(envelope: envelope_pb2.Envelope) -> None:
    volume = envelope.notice.volumes[0].volume
    volume.ClearField("circle")
    for latitude, longitude in ((35.0, 36.0), (35.0, 37.0), (91.0, 37.0)):
        volume.polygon.vertices.add(latitude=latitude, longitude=longitude)


def _nan_radius(envelope: envelope_pb2.Envelope) -> None:
    envelope.notice.volumes[0].volume.circle.radius_m = math.nan


def _lower_above_upper(envelope: envelope_pb2.Envelope) -> None:
    envelope.notice.volumes[0].volume.altitude_lower.value = 300


def _end_before_start(envelope: envelope_pb2.Envelope) -> None:
    volume = envelope.notice.volumes[0]
    volume.time_end.FromDatetime(volume.time_start.ToDatetime() - timedelta(minutes=1))


def _no_aircraft(envelope: envelope_pb2.Envelope) -> None:
    envelope.notice.aircraft_count = 0


def _unknown_category(envelope: envelope_pb2.Envelope) -> None:
    envelope.notice.category = 99  # type: ignore[assignment]


SPOILED: dict[str, tuple[Callable[[envelope_pb2.Envelope], None], str]] = {
    "bowtie": (_bowtie, "notice.volumes[0].volume.polygon.vertices"),
    "latitude-past-90": (_latitude_past_90, "notice.volumes[0].volume.polygon.vertices[2].latitude"),
    "nan-radius": (_nan_radius, "notice.volumes[0].volume.circle.radius_m"),
    "lower-above-upper": (_lower_above_upper, "notice.volumes[0].volume.altitude_upper"),
    "end-before-start": (_end_before_start, "notice.volumes[0].time_end"),
    "no-aircraft": (_no_aircraft, "notice.aircraft_count"),
    "unknown-category": (_unknown_category, "notice.category"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(SPOILED))
async def test_an_invalid_body_is_refused_with_the_field_path_and_nothing_stored_dcf_env_030(
    tmp_path: Path, case: str
) -> None:
    spoil, path = SPOILED[case]
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(notice(1))
        await answered(node)
        before = await status_of(node.address)
        envelope = peer.proto("notice", notice(2))
        spoil(envelope)
        refused = await refusal_of(peer.deliver(peer.raw(envelope)))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert path in [field for field, _ in refused.violations], refused.violations
        after = await status_of(node.address)
        assert after.journal_size == before.journal_size
        assert after.channel.last_sequence_received == before.channel.last_sequence_received == 1
        assert node.server.node.ledger.notice(US, f"{US}/sortie-2") is None
        # The sequence refused is still the next one (DCF-ENV-013).
        assert (await peer.notice(notice(2))).acknowledgement.message_sequence == 2


@pytest.mark.asyncio
async def test_the_acknowledgement_names_the_message_it_acknowledges_dcf_ack_003_dcf_ack_004(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        signed = peer.envelope("notice", notice(1))
        ack = (await peer.deliver(signed)).acknowledgement
        assert ack.channel_id == CHANNEL
        assert ack.acknowledging_party == RU
        assert ack.message_sender == US
        assert ack.message_sequence == 1
        assert ack.payload_sha256 == hashlib.sha256(signed.payload).digest()
        assert (ack.notice_id, ack.notice_version) == (f"{US}/sortie-1", 1)
