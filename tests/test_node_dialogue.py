"""Acknowledgement and the response dialogue between real nodes (docs/spec/05-acknowledgement.md).

What a node answers is tested with the test as its peer; what a node sends (responses, timeouts, alerts) with two
nodes on loopback driven through the operator API.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.bridge.envelope import decode_envelope, envelope_data, open_acknowledgement
from deconflict.client import OperatorClient
from deconflict.journal.base import Direction
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE, Envelope, Mode
from deconflict.models.notice import FlightNotice
from deconflict.models.response import DialogueState, OperationalResponse, ResponseKind, UnableReason
from deconflict.node.ledger import Dialogue
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    Pair,
    alerts,
    incident,
    journal_entries,
    one_node,
    operator_events,
    peer_of,
    refusal_of,
    sortie,
    stored_envelopes,
    two_nodes,
)
from tests.test_node import until


def dialogue_at(server: NodeServer, owner: str, notice_id: str) -> Dialogue:
    entry = server.node.ledger.notice(owner, notice_id)
    assert entry is not None, f"{server.node.party} does not hold {notice_id}"
    return entry.dialogues[CHANNEL]


def state_at(server: NodeServer, owner: str, notice_id: str) -> DialogueState | None:
    entry = server.node.ledger.notice(owner, notice_id)
    return None if entry is None else entry.dialogues[CHANNEL].state


def responses_in(server: NodeServer, notice_id: str) -> list[Envelope]:
    """The responses a node received about one notice, in journal order."""
    return [
        envelope
        for envelope in stored_envelopes(server.node.loaded.journal_path, Direction.IN)
        if envelope.response is not None and envelope.response.notice_id == notice_id
    ]


async def file(address: str, notice: FlightNotice) -> operator_pb.FileNoticeResponse:
    async with OperatorClient(address) as operator:
        return await operator.file_notice(notice, mode=Mode.OPERATIONAL)


# -- the logical acknowledgement ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_acknowledgement_carries_the_journal_position_and_the_due_time_dcf_ack_005_dcf_ack_009(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        notices = [sortie(f"{US}/sortie-{n}", owner=US, latitude=30.0 + n) for n in (1, 2)]
        acks = [(await peer.notice(notice)).acknowledgement for notice in notices]
        cancelled = (await peer.cancel(f"{US}/sortie-2", 1)).acknowledgement
        reported = (await peer.send("incident_report", incident("inc-1"))).acknowledgement
        positions = {
            entry.record.message_id: entry.position
            for entry in journal_entries(node.journal_path)
            if entry.record.direction == Direction.IN
        }
        for ack in (*acks, cancelled, reported):
            assert ack.journal_position == positions[ack.message_id]
        # A notice requires a response: due at stored_time plus the agreement's NOTICE timer (60 s here).
        for ack in acks:
            assert ack.response_due_time == ack.stored_time + timedelta(seconds=60)
        # A cancellation and an incident report require none (DCF-RSP-001): no due time.
        assert cancelled.response_due_time is None
        assert reported.response_due_time is None


@pytest.mark.asyncio
async def test_an_acknowledgement_is_never_acknowledged_dcf_ack_010(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await file(pair.us_address, sortie("us-dod/raqqa-1", owner=US, latitude=36.0, longitude=39.0))
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        await until(lambda: state_at(pair.us, US, "us-dod/raqqa-1") == DialogueState.ANSWERED)
        await until(lambda: pair.ru.node.ledger.channels[CHANNEL].acknowledged == 2)
        await until(lambda: pair.us.node.ledger.channels[CHANNEL].acknowledged == 2)
        await asyncio.sleep(0.5)  # time for an acknowledgement loop to show, were there one
        for server in (pair.ru, pair.us):
            entries = journal_entries(server.node.loaded.journal_path)
            sent = {e.record.message_id for e in entries if e.record.direction == Direction.OUT}
            acknowledged = [e.record for e in entries if e.record.direction == Direction.ACK_IN]
            # Every acknowledgement received names a message this node sent, once: none acknowledges an acknowledgement.
            assert sorted(r.message_id for r in acknowledged) == sorted(sent)
            for record in acknowledged:
                ack = open_acknowledgement(envelope_pb2.SignedPayload.FromString(record.payload))
                assert ack.message_id == record.message_id  # kept with its signature as proof (DCF-ACK-012)
            # No envelope in or out carries an acknowledgement: acknowledgements have no sequence (DCF-ACK-010).
            for entry in entries:
                if entry.record.direction in (Direction.IN, Direction.OUT):
                    signed = envelope_pb2.SignedPayload.FromString(entry.record.payload)
                    assert signed.payload_type != ACKNOWLEDGEMENT_TYPE
                    assert entry.record.kind != "acknowledgement"


# -- automatic policy ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_automatic_policy_answers_roger_when_clear_dcf_rsp_027(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        filed = await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        (response,) = responses_in(pair.ru, "ru-mod/hama-1")
        assert response.response is not None
        assert response.response.kind == ResponseKind.ROGER
        assert (response.response.reasons, response.response.conflicts) == ([], [])
        # A separate envelope that answers the one that carried the notice (DCF-ACK-011, DCF-ENV-011).
        assert response.in_reply_to == filed.sent[0].message_id
        assert response.sender == US
        assert dialogue_at(pair.us, RU, "ru-mod/hama-1").last_response == ResponseKind.ROGER


@pytest.mark.asyncio
async def test_the_automatic_policy_answers_unable_with_the_conflicts_dcf_rsp_027_dcf_rsp_006(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        # The same hour and levels, centres 45 km apart: two 20 km circles 5 km apart, under the 10 km minimum.
        await file(pair.us_address, sortie("us-dod/hama-2", owner=US, latitude=35.13 + 45 / 111.2))
        await until(lambda: state_at(pair.us, US, "us-dod/hama-2") == DialogueState.ANSWERED)
        (envelope,) = responses_in(pair.us, "us-dod/hama-2")
        response = envelope.response
        assert response is not None
        assert response.kind == ResponseKind.UNABLE
        assert response.reasons == [UnableReason.CONFLICT]
        (conflict,) = response.conflicts
        assert (conflict.notice_id, conflict.version, conflict.owner) == ("ru-mod/hama-1", 1, RU)
        assert (conflict.volume_index, conflict.other_volume_index) == (0, 0)
        assert 4_000 < conflict.lateral_distance_m < 6_000
        assert conflict.vertical_distance_m == 0
        assert dialogue_at(pair.us, US, "us-dod/hama-2").last_response == ResponseKind.UNABLE
        assert dialogue_at(pair.ru, US, "us-dod/hama-2").last_response == ResponseKind.UNABLE


# -- operator policy, STANDBY and timers ---------------------------------------------------------------------------


def _ack_stored_times(server: NodeServer, kind: ResponseKind) -> list[datetime]:
    """When the peer stored each response of `kind` this node sent, from the acknowledgements it kept."""
    sent = {e.message_id: e for e in stored_envelopes(server.node.loaded.journal_path, Direction.OUT)}
    times = []
    for entry in journal_entries(server.node.loaded.journal_path):
        envelope = sent.get(entry.record.message_id)
        if entry.record.direction != Direction.ACK_IN or envelope is None or envelope.response is None:
            continue
        if envelope.response.kind == kind:
            ack = open_acknowledgement(envelope_pb2.SignedPayload.FromString(entry.record.payload))
            times.append(ack.stored_time)
    return times


@pytest.mark.asyncio
async def test_the_operator_policy_answers_standby_at_once_and_standby_restarts_the_timer_dcf_rsp_029_dcf_tmr_002(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path, policy_us="operator") as pair:
        await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.STANDBY, timeout=5)
        first_due = dialogue_at(pair.ru, RU, "ru-mod/hama-1").due_time
        await until(lambda: len(_ack_stored_times(pair.us, ResponseKind.STANDBY)) == 1)
        (first_stored,) = _ack_stored_times(pair.us, ResponseKind.STANDBY)
        assert first_due == first_stored + timedelta(seconds=60)
        # The operator holds again a little later: the timer restarts with the full response time.
        await asyncio.sleep(1.0)
        async with OperatorClient(pair.us_address) as operator:
            await operator.respond(
                CHANNEL, OperationalResponse(notice_id="ru-mod/hama-1", notice_version=1, kind=ResponseKind.STANDBY)
            )
        await until(lambda: len(_ack_stored_times(pair.us, ResponseKind.STANDBY)) == 2)
        second_stored = _ack_stored_times(pair.us, ResponseKind.STANDBY)[1]
        second_due = dialogue_at(pair.ru, RU, "ru-mod/hama-1").due_time
        assert second_due == second_stored + timedelta(seconds=60)
        assert first_due is not None
        assert second_due is not None
        assert second_due - first_due >= timedelta(seconds=1)
        # The owner's record shows the hold and when the answer is now due (DCF-RSP-026).
        async with peer_of(pair.ru_address, greet=False) as reader:
            await reader.hello()
            record = (await reader.client.get_notice(CHANNEL, "ru-mod/hama-1")).record
        assert record.dialogue_state == DialogueState.STANDBY
        assert record.last_response == ResponseKind.STANDBY
        assert record.response_due_time.ToDatetime(tzinfo=UTC) == second_due


async def _timed_out(pair: Pair, events: list[operator_pb.Event]) -> None:
    """Wait for the timeout of ru-mod/hama-1 at both nodes and the owner's alert."""
    await until(lambda: state_at(pair.us, RU, "ru-mod/hama-1") == DialogueState.TIMED_OUT, timeout=10)
    await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_RESPONSE_TIMEOUT)), timeout=5)


@pytest.mark.asyncio
async def test_silence_becomes_a_timeout_and_alerts_never_an_accept_dcf_rsp_020_dcf_tmr_004_dcf_tmr_005_dcf_tmr_014(
    tmp_path: Path,
) -> None:
    async with (
        two_nodes(tmp_path, policy_us="operator", notice_timer=2) as pair,
        operator_events(pair.ru_address) as events,
        operator_events(pair.us_address) as peer_events,
    ):
        filed = await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await _timed_out(pair, events)
        (alert,) = alerts(events, operator_pb.ALERT_KIND_RESPONSE_TIMEOUT)
        assert alert.subject_id == "ru-mod/hama-1"
        # The party that did not answer in time is told too (DCF-TMR-014).
        await until(lambda: bool(alerts(peer_events, operator_pb.ALERT_KIND_TIMEOUT_RECEIVED)), timeout=5)
        assert alerts(peer_events, operator_pb.ALERT_KIND_TIMEOUT_RECEIVED)[0].subject_id == "ru-mod/hama-1"
        # The ResponseTimeout as the peer stored it.
        (timeout,) = [e for e in stored_envelopes(pair.us.node.loaded.journal_path) if e.timeout is not None]
        assert timeout.timeout is not None
        assert timeout.in_reply_to == filed.sent[0].message_id == timeout.timeout.unanswered_message_id
        assert (timeout.timeout.notice_id, timeout.timeout.notice_version) == ("ru-mod/hama-1", 1)
        assert timeout.timeout.waited >= timedelta(seconds=2)
        ru_dialogue = dialogue_at(pair.ru, RU, "ru-mod/hama-1")
        assert ru_dialogue.state == DialogueState.TIMED_OUT
        # Silence is never consent: the last response is the STANDBY actually received.
        for server in (pair.ru, pair.us):
            assert dialogue_at(server, RU, "ru-mod/hama-1").last_response == ResponseKind.STANDBY
        # At most one timeout per unanswered message (DCF-TMR-007).
        await asyncio.sleep(2.5)
        sent = [e for e in stored_envelopes(pair.ru.node.loaded.journal_path, Direction.OUT) if e.timeout is not None]
        assert len(sent) == 1
        assert len(alerts(events, operator_pb.ALERT_KIND_RESPONSE_TIMEOUT)) == 1


@pytest.mark.asyncio
async def test_a_response_after_the_timeout_closes_the_dialogue_dcf_rsp_021(tmp_path: Path) -> None:
    async with (
        two_nodes(tmp_path, policy_us="operator", notice_timer=2) as pair,
        operator_events(pair.ru_address) as events,
    ):
        await file(pair.ru_address, sortie("ru-mod/hama-1"))
        await _timed_out(pair, events)
        async with OperatorClient(pair.us_address) as operator:
            await operator.respond(
                CHANNEL, OperationalResponse(notice_id="ru-mod/hama-1", notice_version=1, kind=ResponseKind.ACCEPT)
            )
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        for server in (pair.ru, pair.us):
            dialogue = dialogue_at(server, RU, "ru-mod/hama-1")
            assert (dialogue.state, dialogue.last_response) == (DialogueState.ANSWERED, ResponseKind.ACCEPT)
            assert dialogue.timeout_sent  # the timeout stays on record


# -- rule checks on responses (the test as the responding peer) ------------------------------------------------------


@pytest.mark.asyncio
async def test_responses_to_a_superseded_version_or_a_closed_dialogue_are_refused_dcf_rsp_014_dcf_rsp_015(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        notice = sortie("ru-mod/hama-1")
        async with OperatorClient(node.address) as operator:
            await operator.file_notice(notice, mode=Mode.OPERATIONAL)
            await operator.amend_notice(notice.model_copy(update={"aircraft_count": 2}), replaces_version=1)
        carried: list[envelope_pb2.SignedPayload] = []
        async for signed in peer.client.watch(CHANNEL, 1):
            carried.append(signed)
            if len(carried) == 2:
                break
        first, second = (Envelope.model_validate(_data(signed)) for signed in carried)
        assert (first.body_field, second.body_field) == ("notice", "amendment")

        def accept(version: int) -> OperationalResponse:
            return OperationalResponse(notice_id="ru-mod/hama-1", notice_version=version, kind=ResponseKind.ACCEPT)

        refused = await refusal_of(peer.send("response", accept(1), in_reply_to=first.message_id))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "VERSION_NOT_CURRENT")
        # in_reply_to must name the envelope that carried the answered version (DCF-RSP-016).
        refused = await refusal_of(peer.send("response", accept(2), in_reply_to=first.message_id))
        assert (refused.code, [f for f, _ in refused.violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["in_reply_to"])
        await peer.send("response", accept(2), in_reply_to=second.message_id)
        assert dialogue_at(node.server, RU, "ru-mod/hama-1").state == DialogueState.ANSWERED
        refused = await refusal_of(peer.send("response", accept(2), in_reply_to=second.message_id))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DIALOGUE_CLOSED")
        async with OperatorClient(node.address) as operator:
            await operator.cancel_notice("ru-mod/hama-1", 2)
        refused = await refusal_of(peer.send("response", accept(2), in_reply_to=second.message_id))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOTICE_ENDED")


def _data(signed: envelope_pb2.SignedPayload) -> dict[str, object]:
    return envelope_data(decode_envelope(signed.payload))


@pytest.mark.asyncio
async def test_a_party_never_answers_its_own_notice_own_notice_dcf_rsp_013(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        delivery = await peer.notice(sortie(f"{US}/sortie-1", owner=US))
        roger = OperationalResponse(notice_id=f"{US}/sortie-1", notice_version=1, kind=ResponseKind.ROGER)
        refused = await refusal_of(peer.send("response", roger, in_reply_to=delivery.acknowledgement.message_id))
        assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "OWN_NOTICE")
        # A response to a notice nobody filed is NOT_FOUND (DCF-RSP-012).
        unknown = roger.model_copy(update={"notice_id": "ru-mod/none"})
        refused = await refusal_of(peer.send("response", unknown, in_reply_to=delivery.acknowledgement.message_id))
        assert refused.code == grpc.StatusCode.NOT_FOUND


@pytest.mark.asyncio
async def test_the_responder_sends_a_separate_envelope_after_the_acknowledgement_dcf_ack_011(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        delivery = await peer.notice(sortie(f"{US}/sortie-1", owner=US))
        assert delivery.acknowledgement.notice_id == f"{US}/sortie-1"
        # The node's ROGER arrives as its own envelope, sequence 1 of the node's, answering ours.
        stream = peer.client.watch(CHANNEL, 1)
        signed = await asyncio.wait_for(anext(stream), timeout=5)
        await stream.aclose()
        response = Envelope.model_validate(_data(signed))
        assert response.response is not None
        assert response.response.kind == ResponseKind.ROGER
        assert (response.sequence, response.in_reply_to) == (1, delivery.acknowledgement.message_id)
        assert response.created_time >= delivery.acknowledgement.stored_time - timedelta(milliseconds=1)
        assert response.created_time <= datetime.now(UTC)
