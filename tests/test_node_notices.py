"""Flight notices at a real node (docs/spec/04-notice.md): filing, amendment, cancellation, lateness and reads.

The test is the peer (us-dod) of one ru-mod node: it files its own notices with a PeerClient, and the node's
operator files ru-mod's with the operator API, so that both owners are on the channel.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.bridge.notice_service import notice_record_data
from deconflict.client import OperatorClient, PeerClient
from deconflict.models.envelope import Mode
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCategory, NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.v1 import notice_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    Single,
    answered,
    one_node,
    peer_of,
    refusal_of,
    sortie,
    status_of,
    suspension,
)


def ours(
    number: int, *, start_in: timedelta = timedelta(hours=3), category: NoticeCategory = NoticeCategory.ROUTINE
) -> FlightNotice:
    """A notice of the test's party, us-dod."""
    return sortie(f"{US}/sortie-{number}", owner=US, latitude=33.0 + number * 0.5, start_in=start_in, category=category)


async def file_theirs(node: Single, notice_id: str) -> FlightNotice:
    """A notice of the node's own party, ru-mod, filed by its operator."""
    async with OperatorClient(node.address) as operator:
        await operator.file_notice(sortie(notice_id, latitude=30.0), mode=Mode.OPERATIONAL)
    entry = node.server.node.ledger.notice(RU, notice_id)
    assert entry is not None
    return entry.notice


async def record(client: PeerClient, notice_id: str) -> NoticeRecord:
    answer = await client.get_notice(CHANNEL, notice_id)
    return NoticeRecord.model_validate(notice_record_data(answer.record))


# -- filing -----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_new_notice_is_stored_active_at_version_1_dcf_ntc_014(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        ack = (await peer.notice(ours(1), mode=Mode.EXERCISE)).acknowledgement
        assert (ack.notice_id, ack.notice_version, ack.late) == (f"{US}/sortie-1", 1, False)
        stored = await record(peer.client, f"{US}/sortie-1")
        assert stored.notice == ours(1)
        assert stored.notice.state == NoticeState.ACTIVE
        assert stored.mode == Mode.EXERCISE  # DCF-NTC-036
        assert stored.late is False
        assert stored.received_time == ack.stored_time


@pytest.mark.asyncio
async def test_a_new_notice_must_be_version_1_and_active_dcf_ntc_010(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        for field, value in (("version", 2), ("state", NoticeState.CANCELLED)):
            refused = await refusal_of(peer.notice(ours(1).model_copy(update={field: value})))
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
            assert [path for path, _ in refused.violations] == [f"notice.{field}"]
        assert (await status_of(node.address)).channel.last_sequence_received == 0


@pytest.mark.asyncio
async def test_a_notice_owned_by_another_party_is_refused_not_owner_dcf_ntc_011(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        refused = await refusal_of(peer.notice(sortie(f"{RU}/forged", owner=RU)))
        assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER")


@pytest.mark.asyncio
async def test_filing_an_existing_notice_id_is_refused_notice_exists_dcf_ntc_012(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await answered(node)
        size = (await status_of(node.address)).journal_size
        refused = await refusal_of(peer.notice(ours(1).model_copy(update={"aircraft_count": 2})))
        assert (refused.code, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
        # Also after it ended: notice ids are never reused (DCF-NTC-001).
        await peer.cancel(f"{US}/sortie-1", 1)
        refused = await refusal_of(peer.notice(ours(1)))
        assert refused.reason == "NOTICE_EXISTS"
        # The cancellation and the node's acknowledgement of it only (DCF-JNL-001).
        assert (await status_of(node.address)).journal_size == size + 2


@pytest.mark.asyncio
async def test_an_id_the_other_party_already_uses_is_refused_whatever_its_owner_dcf_ntc_012(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await file_theirs(node, "hama-1")
        refused = await refusal_of(peer.notice(sortie("hama-1", owner=US)))
        assert (refused.code, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
        assert node.server.node.ledger.notice(US, "hama-1") is None


# -- amendment ----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_amendment_quoting_the_current_version_makes_the_next_one_dcf_ntc_023(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        changed = ours(1).model_copy(update={"aircraft_count": 2, "remarks": "two aircraft only"})
        ack = (await peer.amend(changed, 1)).acknowledgement
        assert (ack.notice_id, ack.notice_version) == (f"{US}/sortie-1", 2)
        stored = await record(peer.client, f"{US}/sortie-1")
        assert stored.notice.version == 2
        assert stored.notice.aircraft_count == 2
        assert stored.notice.state == NoticeState.ACTIVE
        ack = (await peer.amend(changed.model_copy(update={"version": 2}), 2)).acknowledgement
        assert ack.notice_version == 3


@pytest.mark.asyncio
async def test_a_stale_amendment_is_aborted_with_the_current_version_dcf_ntc_022(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await peer.amend(ours(1), 1)
        await answered(node)
        size = (await status_of(node.address)).journal_size
        refused = await refusal_of(peer.amend(ours(1).model_copy(update={"aircraft_count": 9}), 1))
        assert (refused.code, refused.reason) == (grpc.StatusCode.ABORTED, "STALE_VERSION")
        assert refused.stale_version is not None
        assert refused.stale_version.notice_id == f"{US}/sortie-1"
        assert (refused.stale_version.quoted_version, refused.stale_version.current_version) == (1, 2)
        # A cancellation quoting a stale version is aborted the same way.
        refused = await refusal_of(peer.cancel(f"{US}/sortie-1", 1))
        assert refused.reason == "STALE_VERSION"
        assert refused.stale_version is not None
        assert refused.stale_version.current_version == 2
        assert (await status_of(node.address)).journal_size == size
        assert (await record(peer.client, f"{US}/sortie-1")).notice.aircraft_count == 4


@pytest.mark.asyncio
async def test_an_amendment_must_be_the_quoted_version_plus_one_dcf_ntc_018(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        envelope = peer.proto(
            "amendment", NoticeAmendment(replaces_version=1, notice=ours(1).model_copy(update={"version": 2}))
        )
        envelope.amendment.notice.version = 3
        refused = await refusal_of(peer.deliver(peer.raw(envelope)))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "amendment.notice.version" in [path for path, _ in refused.violations]


@pytest.mark.asyncio
async def test_an_unknown_notice_cannot_be_amended_or_cancelled_dcf_ntc_019(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        assert (await refusal_of(peer.amend(ours(7), 1))).code == grpc.StatusCode.NOT_FOUND
        assert (await refusal_of(peer.cancel(f"{US}/sortie-7", 1))).code == grpc.StatusCode.NOT_FOUND


@pytest.mark.asyncio
async def test_the_other_partys_notice_cannot_be_amended_or_cancelled_not_owner_dcf_ntc_020(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        theirs = await file_theirs(node, "ru-mod/latakia-1")
        attempts = {
            "amendment claiming the owner": peer.amend(theirs, 1),
            "amendment as its own": peer.amend(theirs.model_copy(update={"owner": US}), 1),
            "cancellation": peer.cancel("ru-mod/latakia-1", 1),
        }
        for what, attempt in attempts.items():
            refused = await refusal_of(attempt)
            assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER"), what
        entry = node.server.node.ledger.notice(RU, "ru-mod/latakia-1")
        assert entry is not None
        assert (entry.notice.version, entry.notice.state) == (1, NoticeState.ACTIVE)


# -- cancellation ------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_cancellation_ends_the_notice_at_its_version_dcf_ntc_025(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await peer.amend(ours(1), 1)
        ack = (await peer.cancel(f"{US}/sortie-1", 2)).acknowledgement
        assert (ack.notice_id, ack.notice_version) == (f"{US}/sortie-1", 2)
        stored = await record(peer.client, f"{US}/sortie-1")
        assert (stored.notice.state, stored.notice.version) == (NoticeState.CANCELLED, 2)


@pytest.mark.asyncio
async def test_a_cancelled_notice_can_no_longer_change_notice_ended_dcf_ntc_021(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await peer.cancel(f"{US}/sortie-1", 1)
        await answered(node)
        size = (await status_of(node.address)).journal_size
        for attempt in (peer.amend(ours(1), 1), peer.cancel(f"{US}/sortie-1", 1)):
            refused = await refusal_of(attempt)
            assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOTICE_ENDED")
            assert "CANCELLED" in refused.message
        assert (await status_of(node.address)).journal_size == size


# -- lateness ----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_notice_with_less_than_the_lead_time_is_acknowledged_late_dcf_ntc_015_dcf_ntc_016(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        # The agreement's minimum lead time is one hour.
        ack = (await peer.notice(ours(1, start_in=timedelta(minutes=30)))).acknowledgement
        assert ack.late is True
        assert (await record(peer.client, f"{US}/sortie-1")).late is True
        # An amendment that gives the lead time back is not late, and the record follows the current version.
        ack = (await peer.amend(ours(1, start_in=timedelta(hours=2)), 1)).acknowledgement
        assert ack.late is False
        assert (await record(peer.client, f"{US}/sortie-1")).late is False
        # An amendment with too little lead time is late again (DCF-ACK-008).
        ack = (
            await peer.amend(ours(1, start_in=timedelta(minutes=10)).model_copy(update={"version": 2}), 2)
        ).acknowledgement
        assert ack.late is True
        ack = (await peer.notice(ours(2, start_in=timedelta(hours=2)))).acknowledgement
        assert ack.late is False


@pytest.mark.asyncio
async def test_an_emergency_is_never_late_dcf_ntc_017(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        emergency = ours(1, start_in=timedelta(minutes=5), category=NoticeCategory.EMERGENCY)
        ack = (await peer.notice(emergency)).acknowledgement
        assert ack.late is False
        assert (await record(peer.client, f"{US}/sortie-1")).late is False


# -- reading -----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_notice_serves_both_parties_notices_and_refuses_unknown_ones_dcf_ntc_029_dcf_ntc_030(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await file_theirs(node, "ru-mod/latakia-1")
        assert (await record(peer.client, f"{US}/sortie-1")).notice.owner == US
        assert (await record(peer.client, "ru-mod/latakia-1")).notice.owner == RU  # DCF-CHK-007
        refused = await refusal_of(peer.client.get_notice(CHANNEL, "ru-mod/unknown"))
        assert refused.code == grpc.StatusCode.NOT_FOUND
        refused = await refusal_of(peer.client.get_notice(CHANNEL, ""))
        assert (refused.code, [path for path, _ in refused.violations]) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            ["notice_id"],
        )
        refused = await refusal_of(peer.client.get_notice("ru-mod:nato", f"{US}/sortie-1"))
        assert refused.code == grpc.StatusCode.NOT_FOUND


@pytest.mark.asyncio
async def test_list_notices_pages_oldest_first_dcf_ntc_031_dcf_ntc_032(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        for number in range(1, 6):
            await peer.notice(ours(number))
        seen: list[str] = []
        token = ""
        pages = 0
        while True:
            page = await peer.client.list_notices(CHANNEL, page_size=2, page_token=token)
            assert len(page.records) <= 2
            seen += [r.notice.notice_id for r in page.records]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert pages == 3
        assert seen == [f"{US}/sortie-{n}" for n in range(1, 6)]
        every = await peer.client.list_notices(CHANNEL)
        assert [r.notice.notice_id for r in every.records] == seen
        assert every.next_page_token == ""
        refused = await refusal_of(peer.client.list_notices(CHANNEL, page_size=100_000))
        assert [path for path, _ in refused.violations] == ["page_size"]
        refused = await refusal_of(peer.client.list_notices(CHANNEL, page_token="not a token"))
        assert [path for path, _ in refused.violations] == ["page_token"]


@pytest.mark.asyncio
async def test_list_notices_filters_by_owner_and_state_dcf_ntc_031(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        for number in (1, 2, 3):
            await peer.notice(ours(number))
        await peer.cancel(f"{US}/sortie-2", 1)
        await file_theirs(node, "ru-mod/latakia-1")

        async def ids(**filters: object) -> list[str]:
            answer = await peer.client.list_notices(CHANNEL, **filters)  # type: ignore[arg-type]
            return [r.notice.notice_id for r in answer.records]

        assert await ids(owner=RU) == ["ru-mod/latakia-1"]
        assert await ids(owner=US) == [f"{US}/sortie-{n}" for n in (1, 2, 3)]
        assert await ids(states=[notice_pb2.NOTICE_STATE_CANCELLED]) == [f"{US}/sortie-2"]
        assert await ids(owner=US, states=[notice_pb2.NOTICE_STATE_ACTIVE]) == [f"{US}/sortie-1", f"{US}/sortie-3"]
        assert await ids(states=[notice_pb2.NOTICE_STATE_EXPIRED]) == []


@pytest.mark.asyncio
async def test_list_notices_refuses_an_unknown_or_repeated_state_naming_it_dcf_ntc_031_dcf_ntc_035(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        active, cancelled = notice_pb2.NOTICE_STATE_ACTIVE, notice_pb2.NOTICE_STATE_CANCELLED
        for states, path in (
            ([active, notice_pb2.NOTICE_STATE_UNSPECIFIED], "states[1]"),
            ([99], "states[0]"),
            ([cancelled, active, cancelled], "states[2]"),
        ):
            refused = await refusal_of(peer.client.list_notices(CHANNEL, states=states))
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
            assert [field for field, _ in refused.violations] == [path]


# -- rule order --------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_suspension_is_the_first_rule_checked_dcf_ntc_024(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(ours(1))
        await peer.send("suspension", suspension())
        # Owner, existence and version would each refuse these too; suspension answers first.
        for attempt in (
            peer.notice(sortie(f"{RU}/forged", owner=RU)),
            peer.notice(ours(1)),
            peer.amend(ours(9), 1),
            peer.amend(ours(1), 5),
        ):
            refused = await refusal_of(attempt)
            assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
