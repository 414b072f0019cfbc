"""The sender's outbox when the peer refuses one of its messages for good (docs/spec/02-envelope.md 2.3 and 2.5).

Two real nodes reach each other through proxies the test cuts and restores one way at a time: while they cannot
talk, each files what the other will refuse once it arrives (the same notice id, a notice that ends before it is
delivered, an answer to a version the owner has replaced, a counter to a conference called off, a second
suspension), so that the refusals are the peer's own rules at work, not a stub's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.bridge.envelope import decode_envelope, envelope_data
from deconflict.cli.connection import stored_events
from deconflict.client import OperatorClient
from deconflict.journal.base import Direction, Entry
from deconflict.models.conference import ConferenceAnswer, ConferenceCancellation, ConferenceState
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.geometry import Volume4D
from deconflict.models.notice import FlightNotice
from deconflict.models.response import DialogueState, OperationalResponse, ResponseKind
from deconflict.node.outbox import REFUSAL_KIND, REFUSAL_TYPE
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.rpc.refusal import refusal_from_message_refusal
from deconflict.v1 import envelope_pb2, errors_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    Pair,
    ProxiedPair,
    alerts,
    journal_entries,
    operator_events,
    peer_of,
    restart,
    sortie,
    status_of,
    stored_envelopes,
    suspension,
    two_nodes_via_proxies,
)
from tests.test_node import until
from tests.test_node_conference import proposal as conference
from tests.test_node_dialogue import responses_in, state_at


async def file(address: str, notice: FlightNotice) -> str:
    """File a notice through a node's operator API; the message id of the envelope that carries it."""
    async with OperatorClient(address) as operator:
        return (await operator.file_notice(notice, mode=Mode.OPERATIONAL)).sent[0].message_id


def journal(server: NodeServer) -> list[Entry]:
    return journal_entries(server.node.loaded.journal_path)


def refusals(server: NodeServer) -> list[Entry]:
    """The refusals of this node's messages it journaled, each as the peer's answer to one (ACK_IN)."""
    return [e for e in journal(server) if e.record.direction == Direction.ACK_IN and e.record.kind == REFUSAL_KIND]


def acknowledged(server: NodeServer) -> list[tuple[int, str]]:
    """(sequence, message id) of each of this node's messages the peer acknowledged, in journal order."""
    return [
        (e.record.sequence, e.record.message_id)
        for e in journal(server)
        if e.record.direction == Direction.ACK_IN and e.record.kind == "acknowledgement"
    ]


def received(server: NodeServer) -> list[tuple[int, str]]:
    """(sequence, message id) of each envelope this node stored from its peer, in journal order."""
    return [(e.sequence, e.message_id) for e in stored_envelopes(server.node.loaded.journal_path)]


def settled(link: ProxiedPair) -> bool:
    """Both nodes have every message they sent acknowledged, and each has stored all the other sent."""
    ru, us = (server.node.ledger.channels[CHANNEL] for server in (link.pair.ru, link.pair.us))
    return (
        not ru.outbox
        and not us.outbox
        and ru.acknowledged == ru.next_out - 1 == us.next_in - 1
        and us.acknowledged == us.next_out - 1 == ru.next_in - 1
    )


def ending_soon(notice_id: str, seconds: float) -> FlightNotice:
    """A sortie under way that ends in `seconds`."""
    now = datetime.now(UTC)
    notice = sortie(notice_id, latitude=31.0)
    volume = notice.volumes[0].volume
    ends = Volume4D(volume=volume, time_start=now - timedelta(minutes=30), time_end=now + timedelta(seconds=seconds))
    return notice.model_copy(update={"volumes": [ends]})


async def watched(address: str, count: int) -> list[Envelope]:
    """The first `count` envelopes a node streams to its peer with Watch from sequence 1 (DCF-STR-002)."""
    envelopes: list[Envelope] = []
    async with peer_of(address, party=US, node_party=RU) as reader:
        stream = reader.client.watch(CHANNEL, 1)
        while len(envelopes) < count:
            signed = await asyncio.wait_for(anext(stream), timeout=5)
            envelopes.append(Envelope.model_validate(envelope_data(decode_envelope(signed.payload))))
        await stream.aclose()
    return envelopes


@pytest.mark.asyncio
async def test_a_refused_message_is_withdrawn_and_its_sequence_goes_to_the_next_dcf_env_013_dcf_env_035(
    tmp_path: Path,
) -> None:
    async with two_nodes_via_proxies(tmp_path) as link, operator_events(link.pair.ru_address) as events:
        pair = link.pair
        link.cut()
        # Both parties file notice "hama-1", the same sortie, while they cannot talk; ru-mod files two more.
        refused_id = await file(pair.ru_address, sortie("hama-1"))
        await file(pair.us_address, sortie("hama-1", owner=US))
        second = await file(pair.ru_address, sortie("ru-mod/hama-2", latitude=32.0))
        third = await file(pair.ru_address, sortie("ru-mod/hama-3", latitude=33.0))
        assert pair.ru.node.ledger.notice(RU, "hama-1") is not None
        # ru-mod reaches us-dod first: us-dod holds its own "hama-1" and refuses ru-mod's (DCF-NTC-012).
        link.to_us.restore()
        await until(lambda: len(acknowledged(pair.ru)) == 2, timeout=15)
        # The refused message is withdrawn; the next ones take sequences 1 and 2, same ids, in order.
        assert received(pair.us) == [(1, second), (2, third)]
        assert acknowledged(pair.ru) == [(1, second), (2, third)]
        (refusal,) = refusals(pair.ru)
        assert (refusal.record.message_id, refusal.record.sequence, refusal.record.sender) == (refused_id, 1, US)
        signed = envelope_pb2.SignedPayload.FromString(refusal.record.payload)
        assert signed.payload_type == REFUSAL_TYPE
        stored = refusal_from_message_refusal(errors_pb2.MessageRefusal.FromString(signed.payload))
        assert (stored.code, stored.reason) == (grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
        # The operator is told which message and why (DCF-ENV-035).
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_REFUSED)))
        (alert,) = alerts(events, operator_pb.ALERT_KIND_REFUSED)
        assert refused_id in alert.text
        assert "NOTICE_EXISTS" in alert.text
        assert alert.subject_id == "hama-1"
        # What it filed is taken back: ru-mod no longer holds a "hama-1" of its own.
        assert pair.ru.node.ledger.notice(RU, "hama-1") is None
        # us-dod's "hama-1" now reaches ru-mod, which takes it: both parties see the same channel. Nothing
        # withdrawn stays in ru-mod's conflict check: the same sortie is clear, and answered ROGER.
        link.to_ru.restore()
        await until(lambda: settled(link), timeout=15)
        assert pair.ru.node.ledger.notice(US, "hama-1") is not None
        await until(lambda: state_at(pair.us, US, "hama-1") == DialogueState.ANSWERED)
        (answer,) = [e.response for e in responses_in(pair.us, "hama-1")]
        assert answer is not None
        assert answer.kind == ResponseKind.ROGER
        assert (await status_of(pair.ru_address)).channel.unacknowledged == 0
        assert [(e.sequence, e.message_id) for e in await watched(pair.ru_address, 2)] == [(1, second), (2, third)]


@pytest.mark.asyncio
async def test_nothing_withdrawn_is_sent_again_after_a_restart_dcf_env_013_dcf_env_033_dcf_err_014_dcf_str_004(
    tmp_path: Path,
) -> None:
    async with two_nodes_via_proxies(tmp_path) as link:
        pair = link.pair
        link.cut()
        # A notice that is over before us-dod hears of it, its amendment, then a notice that is fine.
        short = ending_soon("ru-mod/short", 3)
        first = await file(pair.ru_address, short)
        async with OperatorClient(pair.ru_address) as operator:
            amended = await operator.amend_notice(short.model_copy(update={"aircraft_count": 2}), replaces_version=1)
        kept = await file(pair.ru_address, sortie("ru-mod/hama-2", latitude=32.0))
        assert pair.ru.node.ledger.channels[CHANNEL].next_out == 4
        await asyncio.sleep((short.last_end - datetime.now(UTC)).total_seconds() + 0.5)
        link.restore()
        await until(lambda: settled(link), timeout=15)
        # The notice is refused (every volume ended, DCF-NTC-013), then its amendment (no such notice): both are
        # withdrawn, each alerting, and the third message is delivered as sequence 1.
        withdrawn = [(r.record.message_id, r.record.sequence) for r in refusals(pair.ru)]
        assert withdrawn == [(first, 1), (amended.sent[0].message_id, 1)]
        assert received(pair.us)[0] == (1, kept)
        assert pair.ru.node.ledger.notice(RU, "ru-mod/short") is None
        sent = stored_envelopes(pair.ru.node.loaded.journal_path, Direction.OUT)
        assert [(e.message_id, e.sequence) for e in sent if e.message_id == kept] == [(kept, 3), (kept, 2), (kept, 1)]
        size = len(journal(pair.us))
        ru_status = (await status_of(pair.ru_address)).channel
        # Restarted, ru-mod replays the refusals: it sends nothing again and is the node that stopped.
        pair.ru = await restart(pair.ru)
        try:
            await _after_restart(pair, ru_status, size, first, kept)
        finally:
            await pair.ru.stop(grace=0)


async def _after_restart(pair: Pair, ru_status: operator_pb.ChannelStatus, size: int, first: str, kept: str) -> None:
    """ru-mod restarted after it withdrew `first` and sent `kept` as sequence 1; us-dod's journal had `size` entries."""
    channel = pair.ru.node.ledger.channels[CHANNEL]
    assert not channel.outbox
    assert (channel.next_out, channel.acknowledged) == (ru_status.last_sequence_sent + 1, channel.next_out - 1)
    assert pair.ru.node.ledger.notice(RU, "ru-mod/short") is None
    now = (await status_of(pair.ru_address)).channel
    fields = ("last_sequence_sent", "last_sequence_received", "unacknowledged", "active_notices", "open_dialogues")
    assert [getattr(now, name) for name in fields] == [getattr(ru_status, name) for name in fields]
    await until(lambda: pair.ru.node.ledger.channels[CHANNEL].greeted)
    await asyncio.sleep(1.5)
    assert [e.record.kind for e in journal(pair.us)[size:] if e.record.direction == Direction.IN] == []
    # Watch streams the envelope that holds each sequence now, never a withdrawn one (DCF-STR-004).
    streamed = await watched(pair.ru_address, ru_status.last_sequence_sent)
    assert [e.sequence for e in streamed] == list(range(1, ru_status.last_sequence_sent + 1))
    assert streamed[0].message_id == kept
    assert first not in {e.message_id for e in streamed}
    # The alerts are kept: an operator watching from the start sees both, after the restart too.
    async with OperatorClient(pair.ru_address) as operator:
        replayed = []
        async for event in operator.watch_events(from_position=0):
            replayed.append(event)
            if len(alerts(replayed, operator_pb.ALERT_KIND_REFUSED)) == 2:
                break
        # The command line reads them with what the journal stores.
        stored = await stored_events(operator)
    texts = [alert.text for alert in alerts(replayed, operator_pb.ALERT_KIND_REFUSED)]
    assert first in texts[0]
    assert "INVALID_ARGUMENT" in texts[0]
    assert "NOT_FOUND" in texts[1]
    assert [alert.text for alert in alerts(stored, operator_pb.ALERT_KIND_REFUSED)] == texts


@pytest.mark.asyncio
async def test_a_withdrawn_answer_leaves_the_dialogue_as_it_was_dcf_env_013_dcf_rsp_014(tmp_path: Path) -> None:
    # Heartbeats far apart: ru-mod hears of version 2 only when us-dod delivers it, not from a heartbeat that says
    # us-dod sent more (DCF-HBT-005).
    async with two_nodes_via_proxies(tmp_path, policy_ru="operator", heartbeat=30) as link:
        pair = link.pair
        notice = sortie("us-dod/hama-1", owner=US)
        await file(pair.us_address, notice)
        await until(lambda: state_at(pair.us, US, "us-dod/hama-1") == DialogueState.STANDBY)
        link.cut()
        # ru-mod's operator accepts version 1 while us-dod replaces it with version 2: the two cross.
        async with OperatorClient(pair.ru_address) as operator:
            accept = OperationalResponse(notice_id="us-dod/hama-1", notice_version=1, kind=ResponseKind.ACCEPT)
            await operator.respond(CHANNEL, accept)
        assert state_at(pair.ru, US, "us-dod/hama-1") == DialogueState.ANSWERED
        async with OperatorClient(pair.us_address) as operator:
            await operator.amend_notice(notice.model_copy(update={"aircraft_count": 2}), replaces_version=1)
        # us-dod refuses the answer to a version it replaced (DCF-RSP-014): ru-mod takes its ACCEPT back.
        link.to_us.restore()
        await until(lambda: len(refusals(pair.ru)) == 1, timeout=15)
        await until(lambda: state_at(pair.ru, US, "us-dod/hama-1") == DialogueState.STANDBY)
        entry = pair.ru.node.ledger.notice(US, "us-dod/hama-1")
        assert entry is not None
        dialogue = entry.dialogues[CHANNEL]
        assert (entry.notice.version, dialogue.last_response) == (1, ResponseKind.STANDBY)
        assert dialogue.due_time is not None
        # Version 2 arrives: ru-mod holds it and answers STANDBY, as us-dod sees it.
        link.to_ru.restore()
        await until(lambda: settled(link), timeout=15)
        for server in (pair.ru, pair.us):
            entry = server.node.ledger.notice(US, "us-dod/hama-1")
            assert entry is not None
            assert (entry.notice.version, entry.dialogues[CHANNEL].state) == (2, DialogueState.STANDBY)


@pytest.mark.asyncio
async def test_a_withdrawn_suspension_leaves_the_channel_as_the_peer_has_it_dcf_env_013_dcf_sus_003(
    tmp_path: Path,
) -> None:
    async with two_nodes_via_proxies(tmp_path) as link:
        pair = link.pair
        link.cut()
        for address, note in ((pair.ru_address, "note-ru"), (pair.us_address, "note-us")):
            async with OperatorClient(address) as operator:
                await operator.suspend(CHANNEL, suspension(note))
        assert pair.ru.node.ledger.channels[CHANNEL].suspended_by == "note-ru"
        # ru-mod's suspension reaches us-dod first, which is suspended already: ALREADY_SUSPENDED.
        link.to_us.restore()
        await until(lambda: len(refusals(pair.ru)) == 1, timeout=15)
        assert not pair.ru.node.ledger.channels[CHANNEL].suspended  # taken back
        # Then us-dod's reaches ru-mod, which takes it: the channel is suspended by the same note at both.
        link.to_ru.restore()
        await until(lambda: settled(link), timeout=15)
        assert refusals(pair.us) == []
        for server in (pair.ru, pair.us):
            channel = server.node.ledger.channels[CHANNEL]
            assert (channel.suspended_by, channel.next_out + channel.next_in) == ("note-us", 3)


@pytest.mark.asyncio
async def test_a_watch_under_way_streams_the_messages_moved_down_a_sequence_dcf_str_004_dcf_str_002(
    tmp_path: Path,
) -> None:
    async with two_nodes_via_proxies(tmp_path) as link:
        pair = link.pair
        link.cut()
        refused_id = await file(pair.ru_address, sortie("hama-1"))
        await file(pair.us_address, sortie("hama-1", owner=US))
        kept = await file(pair.ru_address, sortie("ru-mod/hama-2", latitude=32.0))
        async with peer_of(pair.ru_address) as watcher:
            stream = watcher.client.watch(CHANNEL, 1)

            async def streamed() -> tuple[int, str]:
                signed = await asyncio.wait_for(anext(stream), timeout=15)
                envelope = Envelope.model_validate(envelope_data(decode_envelope(signed.payload)))
                return envelope.sequence, envelope.message_id

            # Before us-dod refuses "hama-1", it holds sequence 1.
            assert [await streamed(), await streamed()] == [(1, refused_id), (2, kept)]
            link.to_us.restore()
            # Withdrawn, it is not streamed again; the message that holds sequence 1 now is.
            assert await streamed() == (1, kept)
            await stream.aclose()
        await until(lambda: received(pair.us) == [(1, kept)])


@pytest.mark.asyncio
async def test_a_withdrawn_counter_replays_what_came_after_it_dcf_env_013_dcf_cnf_014(tmp_path: Path) -> None:
    async with two_nodes_via_proxies(tmp_path) as link:
        pair = link.pair
        async with OperatorClient(pair.ru_address) as operator:
            await operator.propose_conference(CHANNEL, conference("vc-1"), without_incidents=True)
        await until(lambda: pair.us.node.ledger.conferences.status(CHANNEL, "vc-1") is not None)
        link.cut()
        # us-dod counters revision 1 while ru-mod calls the conference off.
        counter = ConferenceAnswer(conference_id="vc-1", revision=1, counter=conference("vc-1", revision=2))
        async with OperatorClient(pair.us_address) as operator:
            await operator.answer_conference(CHANNEL, counter)
        async with OperatorClient(pair.ru_address) as operator:
            await operator.cancel_conference(CHANNEL, ConferenceCancellation(conference_id="vc-1", reason="by letter"))
        # The cancellation reaches us-dod first and is stored over its counter; then ru-mod refuses the counter of
        # a cancelled conference (CONFERENCE_NOT_OPEN), and us-dod takes the counter back from under it.
        link.to_us.restore()
        await until(lambda: pair.us.node.ledger.channels[CHANNEL].next_in == 3)
        assert state_of(pair.us, "vc-1") == (ConferenceState.CANCELLED, US, 2)
        link.to_ru.restore()
        await until(lambda: len(refusals(pair.us)) == 1, timeout=15)
        await until(lambda: settled(link), timeout=15)
        for server in (pair.ru, pair.us):
            assert state_of(server, "vc-1") == (ConferenceState.CANCELLED, RU, 1)


def state_of(server: NodeServer, conference_id: str) -> tuple[ConferenceState, str, int]:
    """A conference's state, its proposer and the revision it stands at, as a node holds it."""
    status = server.node.ledger.conferences.status(CHANNEL, conference_id)
    assert status is not None
    return status.state, status.proposer, status.proposal.revision
