"""Checklist reconciliation between real nodes (docs/spec/08-channel.md, 8.4): what each checklist rule fixes.

Each two-node test makes the nodes diverge in a way their outboxes cannot repair on their own (a link cut one
way, a clock that runs ahead, a journal restored from a backup), then lets the link come back and checks that
reconciliation brings both to the same view of every notice: id, version and state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.client import OperatorClient
from deconflict.journal.base import Direction
from deconflict.models.channel import Checklist, ChecklistEntry, Liveness
from deconflict.models.envelope import Mode
from deconflict.models.notice import NoticeState
from deconflict.models.response import DialogueState
from deconflict.node.checklist import to_fetch
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import channel_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    alerts,
    file_as,
    incident,
    journal_entries,
    notice_view,
    one_node,
    operator_events,
    peer_of,
    refusal_of,
    restart,
    sortie,
    two_nodes,
    two_nodes_via_proxies,
)
from tests.test_node import until

ACTIVE, CANCELLED, EXPIRED = NoticeState.ACTIVE, NoticeState.CANCELLED, NoticeState.EXPIRED


def liveness(server: NodeServer) -> Liveness:
    return server.node.ledger.channels[CHANNEL].liveness


def answered(server: NodeServer, owner: str, notice_id: str) -> bool:
    entry = server.node.ledger.notice(owner, notice_id)
    return entry is not None and entry.dialogues[CHANNEL].state == DialogueState.ANSWERED


def entry(notice_id: str, owner: str, version: int = 1, state: NoticeState = ACTIVE) -> ChecklistEntry:
    return ChecklistEntry(notice_id=notice_id, owner=owner, version=version, state=state)


# -- which notices differ (no network) ------------------------------------------------------------------------------


def test_the_peers_notices_that_differ_are_fetched_and_ours_never_are_dcf_chk_004_dcf_chk_005() -> None:
    theirs = Checklist(
        channel_id=CHANNEL,
        party=US,
        as_of_time=datetime.now(UTC),
        entries=[
            entry("us/missing", US),  # we lack it
            entry("us/newer", US, version=3),  # we hold version 2
            entry("us/same", US, version=2),  # we hold it alike
            entry("us/ended", US, state=CANCELLED),  # we hold it ACTIVE
            entry("us/older", US, version=1),  # we hold version 2 ACTIVE: not ACTIVE at the same or a higher one
            entry("us/ended-there-too", US, state=EXPIRED),  # we hold it EXPIRED as well
            entry("us/revived", US),  # we hold it CANCELLED: an end is never undone by a list
            entry("ru/ours", RU, version=9, state=CANCELLED),  # ours: the peer's list changes nothing (DCF-CHK-004)
        ],
    )
    held = {
        "us/newer": (2, ACTIVE),
        "us/same": (2, ACTIVE),
        "us/ended": (1, ACTIVE),
        "us/older": (2, ACTIVE),
        "us/ended-there-too": (1, EXPIRED),
        "us/revived": (1, CANCELLED),
        "us/unlisted": (1, ACTIVE),  # held ACTIVE, not listed at all
    }
    assert sorted(to_fetch(theirs, held)) == sorted(["us/missing", "us/newer", "us/ended", "us/older", "us/unlisted"])


# -- the checklist a node takes ------------------------------------------------------------------------------------


def _proto_checklist(*, party: str = US, channel_id: str = CHANNEL, **entry: object) -> channel_pb2.Checklist:
    checklist = channel_pb2.Checklist(channel_id=channel_id, party=party)
    checklist.as_of_time.FromDatetime(datetime.now(UTC))
    fields = {"notice_id": "us-dod/1", "owner": US, "version": 1, "state": int(ACTIVE), **entry}
    checklist.entries.add(**fields)  # type: ignore[arg-type]
    return checklist


@pytest.mark.asyncio
async def test_a_checklist_is_checked_field_channel_peer_then_hello_dcf_chk_003(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        async with peer_of(node.address, greet=False) as stranger:
            refused = await refusal_of(stranger.client.exchange_checklist(_proto_checklist()))
            assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")
        async with peer_of(node.address) as peer:
            refused = await refusal_of(peer.client.exchange_checklist(_proto_checklist(version=0)))
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
            assert [field for field, _ in refused.violations] == ["checklist.entries[0].version"]
            refused = await refusal_of(peer.client.exchange_checklist(_proto_checklist(state=0)))
            assert [field for field, _ in refused.violations] == ["checklist.entries[0].state"]
            refused = await refusal_of(peer.client.exchange_checklist(_proto_checklist(owner="nato")))
            assert [field for field, _ in refused.violations] == ["checklist.entries[0].owner"]
            refused = await refusal_of(peer.client.exchange_checklist(_proto_checklist(channel_id="elsewhere")))
            assert refused.code == grpc.StatusCode.NOT_FOUND
            refused = await refusal_of(peer.client.exchange_checklist(_proto_checklist(party=RU)))
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
            answer = await peer.client.exchange_checklist(_proto_checklist())
            assert (answer.checklist.channel_id, answer.checklist.party) == (CHANNEL, RU)


# -- reconciliation between two nodes --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_down_peer_heard_again_is_caught_up_with_watch_though_it_cannot_call_back_dcf_chk_001_dcf_chk_006(
    tmp_path: Path,
) -> None:
    async with two_nodes_via_proxies(tmp_path, heartbeat=1) as link:
        pair = link.pair
        before = await file_as(pair.ru_address, RU, "before")
        await until(lambda: answered(pair.ru, RU, before) and liveness(pair.ru) == liveness(pair.us) == Liveness.NORMAL)
        link.cut()
        ru_filed = [await file_as(pair.ru_address, RU, f"cut-{n}") for n in (1, 2)]
        us_filed = [await file_as(pair.us_address, US, f"cut-{n}") for n in (1, 2)]
        async with OperatorClient(pair.us_address) as operator:
            await operator.cancel_notice(us_filed[0], 1, reason="sortie called off")
        await until(lambda: liveness(pair.ru) == liveness(pair.us) == Liveness.DOWN, timeout=8)
        # Only RU can call again: the US outbox cannot deliver, so what US filed reaches RU by the checklist
        # RU trades when it hears US again, and the Watch that follows it.
        link.to_us.restore()
        await until(lambda: notice_view(pair.ru) == notice_view(pair.us), timeout=15)
        assert notice_view(pair.ru)[(US, us_filed[0])] == (1, CANCELLED)
        assert notice_view(pair.ru)[(US, us_filed[1])] == (1, ACTIVE)
        # US cannot reach RU, but hears RU's requests again: RU is NORMAL to US too (DCF-HBT-006).
        await until(lambda: liveness(pair.us) == Liveness.NORMAL, timeout=5)
        # Then US can call again: both end with every notice answered, in the same state.
        link.to_ru.restore()
        await until(lambda: all(answered(pair.us, RU, n) for n in (before, *ru_filed)), timeout=15)
        await until(lambda: answered(pair.ru, US, us_filed[1]), timeout=15)
        await until(lambda: notice_view(pair.ru) == notice_view(pair.us), timeout=10)
        assert len(notice_view(pair.ru)) == 5


@pytest.mark.asyncio
async def test_a_node_only_its_peer_calls_is_read_through_the_checklist_and_watch_dcf_chk_006_dcf_str_005(
    tmp_path: Path,
) -> None:
    # The US node has no address for RU: it never calls it, so RU fetches what US sends.
    async with two_nodes(tmp_path, heartbeat=1, peer_addresses={US: ""}) as pair:
        # US files while the RU node is stopped; when RU starts, it says Hello and trades checklists after it.
        loaded = pair.ru.node.loaded
        await pair.ru.stop(grace=0)
        filed = await file_as(pair.us_address, US, "hama-1")
        pair.ru = NodeServer(loaded)
        await pair.ru.start()
        await until(lambda: answered(pair.us, US, filed), timeout=10)
        assert notice_view(pair.ru) == notice_view(pair.us) == {(US, filed): (1, ACTIVE)}
        # Stored as if US had sent it, though US never said Hello to this RU node.
        assert not pair.ru.node.ledger.channels[CHANNEL].greeted
        stored = [
            e.record for e in journal_entries(pair.ru.node.loaded.journal_path) if e.record.direction == Direction.IN
        ]
        assert [(r.sender, r.kind, r.sequence) for r in stored] == [(US, "notice", 1)]


@pytest.mark.asyncio
async def test_a_notice_that_ended_without_an_envelope_is_taken_from_its_owners_record_dcf_chk_005_dcf_chk_004(
    tmp_path: Path,
) -> None:
    # The US node's clock runs 20 s ahead (within the agreement's 30 s tolerance): its notices expire earlier.
    ahead = timedelta(seconds=20)
    clocks = {US: lambda: datetime.now(UTC) + ahead}
    async with (
        two_nodes_via_proxies(tmp_path, heartbeat=1, clocks=clocks) as link,
        operator_events(link.pair.ru_address) as ru_events,
    ):
        pair = link.pair
        # A sortie whose only volume ends 6 s from now by the US clock, 26 s by RU's.
        short = sortie(f"{US}/short", owner=US, latitude=36.0, start_in=timedelta(0))
        volume = short.volumes[0]
        start = datetime.now(UTC).replace(microsecond=0) + ahead
        short = short.model_copy(
            update={
                "volumes": [volume.model_copy(update={"time_start": start, "time_end": start + timedelta(seconds=6)})]
            }
        )
        async with OperatorClient(pair.us_address) as operator:
            await operator.file_notice(short, mode=Mode.OPERATIONAL)
        await until(lambda: answered(pair.us, US, short.notice_id))
        await until(lambda: liveness(pair.ru) == liveness(pair.us) == Liveness.NORMAL, timeout=5)
        link.cut()
        await until(lambda: notice_view(pair.us)[(US, short.notice_id)] == (1, EXPIRED), timeout=10)
        await until(lambda: liveness(pair.ru) == Liveness.DOWN, timeout=8)
        assert notice_view(pair.ru)[(US, short.notice_id)] == (1, ACTIVE)  # by RU's clock it is not over
        link.restore()
        await until(lambda: notice_view(pair.ru) == notice_view(pair.us), timeout=10)
        assert datetime.now(UTC) < start + timedelta(seconds=6)  # before RU's clock reaches the end of the sortie
        taken = alerts(ru_events, operator_pb.ALERT_KIND_SEQUENCE_GAP)
        assert [a.subject_id for a in taken] == [short.notice_id]
        assert "EXPIRED as its owner us-dod records it" in taken[0].text
        # US trades checklists too once it hears RU again: RU's list never changes a notice US owns (DCF-CHK-004).
        await until(lambda: liveness(pair.us) == Liveness.NORMAL, timeout=10)
        assert notice_view(pair.us)[(US, short.notice_id)] == (1, EXPIRED)


@pytest.mark.asyncio
async def test_a_peer_that_lost_acknowledged_messages_gets_them_again_unchanged_dcf_chk_008(tmp_path: Path) -> None:
    async with (
        two_nodes_via_proxies(tmp_path, heartbeat=1) as link,
        operator_events(link.pair.ru_address) as ru_events,
    ):
        pair = link.pair
        first = await file_as(pair.ru_address, RU, "hama-1")
        await until(lambda: answered(pair.ru, RU, first))
        # A backup of the US journal, taken while its node is stopped.
        backup = tmp_path / "us-dod.backup"
        pair.us = await restart(pair.us, backup=backup)
        ru_channel = pair.ru.node.ledger.channels[CHANNEL]
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL and ru_channel.acknowledged == 1, timeout=10)
        # Messages that need no answer from US, so that US originates nothing the backup would lose.
        async with OperatorClient(pair.ru_address) as operator:
            await operator.report_incident(CHANNEL, incident("inc-1", party=RU))
            await operator.cancel_notice(first, 1, reason="sortie called off")
        await until(lambda: ru_channel.acknowledged == 3, timeout=10)
        assert notice_view(pair.us)[(RU, first)] == (1, CANCELLED)
        # US comes back from the backup: it lost sequences 2 and 3, which it acknowledged. It cannot call RU, so
        # only RU's checklist, after its new Hello, can find out.
        link.to_ru.cut()
        pair.us = await restart(pair.us, journal=backup)
        assert notice_view(pair.us)[(RU, first)] == (1, ACTIVE)
        await until(lambda: notice_view(pair.us) == notice_view(pair.ru), timeout=15)
        assert pair.us.node.ledger.incidents.incident(CHANNEL, "inc-1") is not None
        lost = alerts(ru_events, operator_pb.ALERT_KIND_SEQUENCE_GAP)
        assert len(lost) == 1
        assert "DCF-CHK-008" in lost[0].text
        # Sent again unchanged: the bytes US stored are those RU journaled when it first sent them.
        sent = {
            e.record.sequence: e.record.payload
            for e in journal_entries(pair.ru.node.loaded.journal_path)
            if e.record.direction == Direction.OUT
        }

        def stored() -> list[tuple[int, bytes]]:
            return [
                (e.record.sequence, e.record.payload)
                for e in journal_entries(pair.us.node.loaded.journal_path)
                if e.record.direction == Direction.IN
            ]

        # The ledger takes a message when it is admitted, the file once the commit is done: wait for that.
        await until(lambda: len(stored()) == 3, timeout=5)
        assert stored() == [(sequence, sent[sequence]) for sequence in (1, 2, 3)]
