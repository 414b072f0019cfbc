"""The channel between real nodes (docs/spec/08-channel.md): liveness, suspension, checklist and the streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from deconflict.bridge.channel import checklist_data
from deconflict.bridge.envelope import decode_envelope, envelope_data
from deconflict.client import OperatorClient, StreamRefusal
from deconflict.client.peer import Delivery
from deconflict.journal.base import Direction
from deconflict.models.channel import Checklist, Liveness
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCancellation, NoticeState
from deconflict.models.response import DialogueState
from deconflict.node.server import NodeServer
from deconflict.node.services.channel import ChannelService
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import channel_pb2, envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    alerts,
    answered,
    file_as,
    incident,
    one_node,
    operator_events,
    peer_of,
    refusal_of,
    restart,
    resumption,
    sortie,
    status_of,
    stored_envelopes,
    suspension,
    two_nodes,
    two_nodes_via_proxies,
)
from tests.test_node import until


def ours(number: int) -> FlightNotice:
    return sortie(f"{US}/sortie-{number}", owner=US, latitude=30.0 + number * 0.5)


def opened(signed: envelope_pb2.SignedPayload) -> Envelope:
    return Envelope.model_validate(envelope_data(decode_envelope(signed.payload)))


def liveness(server: NodeServer) -> Liveness:
    return server.node.ledger.channels[CHANNEL].liveness


# -- heartbeats and liveness ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_heartbeats_make_the_peer_normal_dcf_hbt_001_dcf_hbt_006(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, heartbeat=1) as pair:
        assert liveness(pair.ru) in (Liveness.UNKNOWN, Liveness.NORMAL)
        await until(lambda: liveness(pair.ru) == liveness(pair.us) == Liveness.NORMAL, timeout=5)
        assert (await status_of(pair.ru_address)).channel.liveness == Liveness.NORMAL
        assert (await status_of(pair.us_address)).channel.liveness == Liveness.NORMAL


@pytest.mark.asyncio
async def test_a_stopped_peer_goes_down_in_time_and_comes_back_normal_dcf_hbt_007_dcf_hbt_008_dcf_tim_006(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path, heartbeat=1) as pair, operator_events(pair.ru_address) as events:
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL, timeout=5)
        loaded = pair.us.node.loaded
        await pair.us.stop(grace=0)
        stopped = asyncio.get_running_loop().time()
        # heartbeat_interval 1 s x missed_heartbeats_down 3, plus the 5 s DCF-TIM-006 allows.
        await until(lambda: liveness(pair.ru) == Liveness.DOWN, timeout=3 + 5)
        assert asyncio.get_running_loop().time() - stopped >= 2.0  # not before the peer could have missed 3 beats
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_PEER_DOWN)), timeout=1)
        # The peer comes back on the same journal and port.
        pair.us = NodeServer(loaded)
        await pair.us.start()
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL, timeout=10)
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_PEER_UP)), timeout=1)
        # And messages flow again in both directions.
        async with OperatorClient(pair.ru_address) as operator:
            await operator.file_notice(sortie("ru-mod/hama-1"), mode=Mode.OPERATIONAL)
        await until(lambda: pair.us.node.ledger.notice(RU, "ru-mod/hama-1") is not None, timeout=10)


# -- suspension and resumption -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_suspension_refuses_notices_and_amendments_but_not_cancellations_or_incidents_dcf_sus_004_dcf_sus_006(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await peer.notice(ours(2))
        # The node's answers to both leave once their conflicts are checked: let them, so that nothing else
        # is stored while suspended.
        await until(lambda: len(node.server.node.ledger.channels[CHANNEL].sent_positions) == 2)
        await peer.send("suspension", suspension("note-1"))
        assert (await status_of(node.address)).channel.suspended
        await answered(node)
        size = (await status_of(node.address)).journal_size
        for attempt in (peer.notice(ours(3)), peer.amend(ours(1), 1)):
            refused = await refusal_of(attempt)
            assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
            assert "note-1" in refused.message
        assert (await status_of(node.address)).journal_size == size
        # Cancellations and incident reports still flow (DCF-SUS-006, DCF-INC-001, DCF-NTC-027).
        await peer.cancel(f"{US}/sortie-2", 1)
        await peer.send("incident_report", incident("inc-1"))
        assert node.server.node.ledger.incidents.incident(CHANNEL, "inc-1") is not None
        refused = await refusal_of(peer.send("suspension", suspension("note-2")))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_SUSPENDED")
        refused = await refusal_of(peer.send("resumption", resumption("note-2")))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SUSPENSION_MISMATCH")
        # Resumption: notices and amendments are taken again (DCF-SUS-010).
        await peer.send("resumption", resumption("note-1"))
        assert not (await status_of(node.address)).channel.suspended
        await peer.notice(ours(3))
        await peer.amend(ours(1), 1)
        refused = await refusal_of(peer.send("resumption", resumption("note-1")))
        assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_SUSPENDED")


@pytest.mark.asyncio
async def test_a_suspension_holds_both_ways_and_both_operators_are_told_dcf_sus_002_dcf_sus_007_dcf_sus_011(
    tmp_path: Path,
) -> None:
    async with (
        two_nodes(tmp_path) as pair,
        operator_events(pair.ru_address) as ru_events,
        operator_events(pair.us_address) as us_events,
    ):
        async with OperatorClient(pair.ru_address) as operator:
            await operator.suspend(CHANNEL, suspension("note-1"))
        await until(lambda: pair.us.node.ledger.channels[CHANNEL].suspended)
        for address, owner in ((pair.us_address, US), (pair.ru_address, RU)):
            async with OperatorClient(address) as operator:
                refused = await refusal_of(
                    operator.file_notice(sortie(f"{owner}/s-1", owner=owner), mode=Mode.OPERATIONAL)
                )
            assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
        for events in (ru_events, us_events):
            await until(lambda events=events: bool(alerts(events, operator_pb.ALERT_KIND_CHANNEL_STATE)), timeout=5)
        # The other party resumes; then notices flow again.
        async with OperatorClient(pair.us_address) as operator:
            await operator.resume(CHANNEL, resumption("note-1"))
        await until(lambda: not pair.ru.node.ledger.channels[CHANNEL].suspended)
        for events in (ru_events, us_events):
            await until(lambda events=events: len(alerts(events, operator_pb.ALERT_KIND_CHANNEL_STATE)) == 2, timeout=5)
        async with OperatorClient(pair.us_address) as operator:
            await operator.file_notice(sortie(f"{US}/s-2", owner=US), mode=Mode.OPERATIONAL)
        await until(lambda: pair.ru.node.ledger.notice(US, f"{US}/s-2") is not None)


# -- checklist ---------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_exchange_checklist_returns_the_channels_notices_dcf_chk_002(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        sent = node.server.node.ledger.channels[CHANNEL].sent_positions
        for number in (1, 2, 3):
            await peer.notice(ours(number))
        # Each answer leaves once its notice's conflicts are checked, beside the loop; a version amended or
        # cancelled before that needs none. Wait for them, so that the node answers all four.
        await until(lambda: len(sent) == 3)
        await peer.amend(ours(2), 1)
        await until(lambda: len(sent) == 4)
        await peer.cancel(f"{US}/sortie-3", 1)
        async with OperatorClient(node.address) as operator:
            await operator.file_notice(sortie("ru-mod/hama-1"), mode=Mode.OPERATIONAL)
        mine = Checklist(channel_id=CHANNEL, party=US, as_of_time=datetime.now(UTC), last_sequence_sent=5)
        answer = await peer.client.exchange_checklist(mine)
        theirs = Checklist.model_validate(checklist_data(answer.checklist))
        assert (theirs.channel_id, theirs.party) == (CHANNEL, RU)
        entries = {(e.owner, e.notice_id): (e.version, e.state) for e in theirs.entries}
        active = {key: value for key, value in entries.items() if value[1] == NoticeState.ACTIVE}
        assert active == {
            (US, f"{US}/sortie-1"): (1, NoticeState.ACTIVE),
            (US, f"{US}/sortie-2"): (2, NoticeState.ACTIVE),
            (RU, "ru-mod/hama-1"): (1, NoticeState.ACTIVE),
        }
        # An ended notice MAY be listed, with its state.
        assert entries.get((US, f"{US}/sortie-3"), (1, NoticeState.CANCELLED)) == (1, NoticeState.CANCELLED)
        assert theirs.last_sequence_received == 5
        # The node answered each of our three notices and the amendment (4) and filed one notice (5).
        assert theirs.last_sequence_sent == 5


# -- Watch -----------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_watch_streams_the_envelopes_sent_from_a_sequence_then_live_ones_dcf_str_002(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        for number in range(1, 5):
            await peer.notice(ours(number))
        await until(lambda: len(node.server.node.ledger.channels[CHANNEL].sent_positions) == 4)
        stream = peer.client.watch(CHANNEL, 2)
        got = [opened(await asyncio.wait_for(anext(stream), timeout=5)) for _ in range(3)]
        assert [e.sequence for e in got] == [2, 3, 4]
        assert [e.response.notice_id for e in got if e.response is not None] == [f"{US}/sortie-{n}" for n in (2, 3, 4)]
        # Then live: a new notice is answered, and the answer comes down the same stream.
        await peer.notice(ours(5))
        live = opened(await asyncio.wait_for(anext(stream), timeout=5))
        assert live.sequence == 5
        assert live.response is not None
        assert live.response.notice_id == f"{US}/sortie-5"
        await stream.aclose()
        # Each exactly as sent: the bytes in the node's journal.
        again = peer.client.watch(CHANNEL, 0)
        first = await asyncio.wait_for(anext(again), timeout=5)
        await again.aclose()
        assert opened(first).sequence == 1
        # Beyond the last sequence sent plus one is out of range (DCF-STR-003).
        refused = await refusal_of(anext(peer.client.watch(CHANNEL, 7)))
        assert refused.code == grpc.StatusCode.OUT_OF_RANGE


# -- Exchange ------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_exchange_answers_envelopes_in_flight_in_order_and_goes_on_after_a_refusal_dcf_str_007_dcf_str_009(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        sent = [
            peer.envelope("notice", ours(1), sequence=1),
            peer.envelope("notice", ours(2), sequence=2),
            peer.envelope("notice", ours(2), sequence=3),  # the same notice id again: NOTICE_EXISTS
            peer.envelope("notice", ours(3), sequence=3),
            peer.envelope("amendment", _amendment(2), sequence=4),
            peer.envelope("notice", ours(5), sequence=6),  # a gap: SEQUENCE_GAP, with its detail
            peer.envelope("cancellation", _cancellation(1), sequence=5),
        ]
        answers: list[Delivery | StreamRefusal] = []

        async def requests() -> AsyncIterator[envelope_pb2.SignedPayload]:
            for signed in sent:  # all in flight before the first answer is read
                yield signed
            await until(lambda: len(answers) == len(sent))

        async for answer in peer.client.exchange(requests()):
            answers.append(answer)
            if len(answers) == len(sent):
                break
        kinds = ["ack" if isinstance(a, Delivery) else a.refusal.reason for a in answers]
        assert kinds == ["ack", "ack", "NOTICE_EXISTS", "ack", "ack", "SEQUENCE_GAP", "ack"]
        sequences = [a.acknowledgement.message_sequence for a in answers if isinstance(a, Delivery)]
        assert sequences == [1, 2, 3, 4, 5]
        refused = answers[2]
        assert isinstance(refused, StreamRefusal)
        assert refused.message_id == opened(sent[2]).message_id
        assert refused.refusal.code == grpc.StatusCode.ALREADY_EXISTS
        gap = answers[5]
        assert isinstance(gap, StreamRefusal)
        assert gap.refusal.sequence_gap is not None
        assert (gap.refusal.sequence_gap.expected, gap.refusal.sequence_gap.received) == (5, 6)
        # The stream's acknowledgements are those the unary RPC gives a retry, byte for byte (DCF-STR-005).
        first = answers[0]
        assert isinstance(first, Delivery)
        again = await peer.deliver(sent[0])
        assert again.signed.SerializeToString() == first.signed.SerializeToString()
        assert (await status_of(node.address)).channel.last_sequence_received == 5


def _amendment(number: int) -> NoticeAmendment:
    return NoticeAmendment(replaces_version=1, notice=ours(number).model_copy(update={"version": 2}))


def _cancellation(number: int) -> NoticeCancellation:
    return NoticeCancellation(notice_id=f"{US}/sortie-{number}", version=1)


@pytest.mark.asyncio
async def test_a_heartbeat_answers_with_the_nodes_own_heartbeat_dcf_hbt_003_dcf_hbt_004(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await until(lambda: len(node.server.node.ledger.channels[CHANNEL].sent_positions) == 1)
        beat = channel_pb2.Heartbeat(channel_id=CHANNEL, party=US, last_sequence_sent=1)
        beat.sent_time.FromDatetime(datetime.now(UTC))
        answer = await peer.client.heartbeat(beat)
        assert (answer.heartbeat.channel_id, answer.heartbeat.party) == (CHANNEL, RU)
        assert answer.heartbeat.last_sequence_sent == 1
        assert (await status_of(node.address)).channel.liveness in (Liveness.UNKNOWN, Liveness.NORMAL)


@pytest.mark.asyncio
async def test_the_sequences_never_reset_across_a_restart_dcf_env_012(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        async with peer_of(node.address) as peer:
            await peer.notice(ours(1))
            await peer.notice(ours(2))
        node.server = await restart(node.server)
        async with peer_of(node.address) as peer:
            refused = await refusal_of(peer.notice(ours(3)))
            assert refused.reason == "SEQUENCE_REPLAYED"
            peer.sequence = 3
            assert (await peer.notice(ours(3))).acknowledgement.message_sequence == 3
            await until(lambda: len(node.server.node.ledger.channels[CHANNEL].sent_positions) == 3)
        assert [e.sequence for e in _responses(node.journal_path)] == [1, 2, 3]


def _responses(path: Path) -> list[Envelope]:
    return [e for e in stored_envelopes(path, Direction.OUT) if e.response is not None]


# -- reliability: the network cut and restored ------------------------------------------------------------------


def _view(server: NodeServer) -> set[tuple[str, str, int, NoticeState]]:
    return {
        (e.notice.owner, e.notice.notice_id, e.notice.version, e.notice.state)
        for e in server.node.ledger.notices.values()
    }


def _answered(server: NodeServer, owner: str, notice_id: str) -> bool:
    entry = server.node.ledger.notice(owner, notice_id)
    return entry is not None and entry.dialogues[CHANNEL].state == DialogueState.ANSWERED


@pytest.mark.asyncio
async def test_after_a_network_cut_both_sides_reconcile_to_the_same_state_dcf_env_033_dcf_chk_002(
    tmp_path: Path,
) -> None:
    """BRIEF section 8: the network cut between the nodes and restored; nothing filed meanwhile is lost."""
    async with two_nodes_via_proxies(tmp_path, heartbeat=1) as link, operator_events(link.pair.ru_address) as events:
        pair = link.pair
        await file_as(pair.ru_address, RU, "before")
        await until(lambda: _answered(pair.ru, RU, f"{RU}/before") and liveness(pair.ru) == Liveness.NORMAL)
        link.cut()
        during_ru = [await file_as(pair.ru_address, RU, f"cut-{n}") for n in range(1, 4)]
        during_us = [await file_as(pair.us_address, US, f"cut-{n}") for n in range(1, 3)]
        async with OperatorClient(pair.ru_address) as operator:
            await operator.amend_notice(sortie(f"{RU}/before", latitude=31.0), replaces_version=1)
        # The silence is noticed within missed_heartbeats_down x heartbeat_interval, with an alert (DCF-HBT-007).
        await until(lambda: liveness(pair.ru) == Liveness.DOWN, timeout=8)
        # The alert reaches the operators' stream a moment after the state changes.
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_PEER_DOWN)), timeout=5)
        assert pair.us.node.ledger.notice(RU, f"{RU}/cut-1") is None
        link.restore()
        await until(lambda: all(_answered(pair.ru, US, n) for n in during_us), timeout=20)
        await until(lambda: all(_answered(pair.us, RU, n) for n in during_ru), timeout=20)
        await until(lambda: _view(pair.ru) == _view(pair.us), timeout=10)
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL, timeout=10)
        for server, sender in ((pair.us, RU), (pair.ru, US)):
            received = [e for e in stored_envelopes(server.node.loaded.journal_path) if e.sender == sender]
            # Delivered once each, in sequence order with no gap (DCF-ENV-012, DCF-ENV-014).
            assert [e.sequence for e in received] == list(range(1, len(received) + 1))
            filed = [e.notice.notice_id for e in received if e.notice is not None]
            assert len(filed) == len(set(filed))
        filed_at_us = [e.notice.notice_id for e in stored_envelopes(pair.us.node.loaded.journal_path) if e.notice]
        assert filed_at_us == [f"{RU}/before", *during_ru]
        version = pair.us.node.ledger.notice(RU, f"{RU}/before")
        assert version is not None
        assert version.notice.version == 2
        # Both checklists, as each node serves it to its peer, list the same notices (DCF-CHK-002).
        lists = []
        for address, party in ((pair.ru_address, US), (pair.us_address, RU)):
            async with peer_of(address, party=party, node_party=US if party == RU else RU) as peer:
                mine = Checklist(channel_id=CHANNEL, party=party, as_of_time=datetime.now(UTC))
                answer = await peer.client.exchange_checklist(mine)
            checklist = Checklist.model_validate(checklist_data(answer.checklist))
            lists.append({(e.owner, e.notice_id, e.version, e.state) for e in checklist.entries})
        assert lists[0] == lists[1]
        assert len(lists[0]) == 1 + len(during_ru) + len(during_us)


@pytest.mark.asyncio
async def test_nodes_trade_checklists_after_hello_and_when_a_down_peer_returns_dcf_chk_001(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = ChannelService.ExchangeChecklist

    async def counted(self: ChannelService, request: Any, context: Any) -> Any:
        calls.append(self.node.party)
        return await original(self, request, context)

    monkeypatch.setattr(ChannelService, "ExchangeChecklist", counted)
    async with two_nodes(tmp_path, heartbeat=1) as pair:
        await until(lambda: liveness(pair.ru) == liveness(pair.us) == Liveness.NORMAL, timeout=5)
        await until(lambda: RU in calls and US in calls, timeout=3)
