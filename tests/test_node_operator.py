"""The operator's reads of its own node: one notice (GetNotice) and one conference (GetConference), through real gRPC.

They answer with the protocol's own records, `NoticeRecord` and `ConferenceStatus`, exactly as the node serves
them to its peer; unlike the peer's reads they need no Hello, and a notice is found on every channel it is on.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from deconflict.client import OperatorClient
from deconflict.models.conference import ConferenceCancellation, ConferenceState
from deconflict.models.envelope import Mode
from deconflict.models.response import DialogueState, ResponseKind
from deconflict.v1 import conference_pb2, envelope_pb2
from tests.nodes import CHANNEL, RU, US, peer_of, refusal_of, sortie, two_nodes
from tests.test_node import dialogue, until
from tests.test_node_conference import proposal, settled


@pytest.mark.asyncio
async def test_the_operator_reads_a_notice_as_its_node_holds_it_dcf_ntc_029_dcf_rsp_034(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        async with OperatorClient(pair.ru_address) as operator:
            await operator.file_notice(sortie(f"{RU}/hama-1"), mode=Mode.EXERCISE)
        # us-dod's automatic policy answers ROGER.
        await until(lambda: dialogue(pair.ru, RU, f"{RU}/hama-1") == DialogueState.ANSWERED)
        async with OperatorClient(pair.ru_address) as operator:
            (record,) = (await operator.get_notice(f"{RU}/hama-1")).records
            assert list((await operator.get_notice(f"{RU}/hama-1", channel_id=CHANNEL, owner=RU)).records) == [record]
        assert (record.channel_id, record.notice.notice_id, record.notice.owner) == (CHANNEL, f"{RU}/hama-1", RU)
        assert record.notice.version == 1
        assert record.dialogue_state == DialogueState.ANSWERED
        assert record.last_response == ResponseKind.ROGER
        assert record.mode == envelope_pb2.MODE_EXERCISE
        assert not record.HasField("response_due_time")
        # The very record the node serves its peer (GetNotice of NoticeService).
        async with peer_of(pair.ru_address) as peer:
            assert (await peer.client.get_notice(CHANNEL, f"{RU}/hama-1")).record == record

        # The peer's node holds it too, as the peer's notice; the owner narrows the search.
        async with OperatorClient(pair.us_address) as operator:
            (theirs,) = (await operator.get_notice(f"{RU}/hama-1", owner=RU)).records
            assert theirs.notice == record.notice
            assert theirs.dialogue_state == DialogueState.ANSWERED
            wrong_owner = await refusal_of(operator.get_notice(f"{RU}/hama-1", owner=US))
            assert wrong_owner.code == grpc.StatusCode.NOT_FOUND
            unknown = await refusal_of(operator.get_notice(f"{RU}/nowhere"))
            assert unknown.code == grpc.StatusCode.NOT_FOUND
            empty = await refusal_of(operator.get_notice(""))
            assert (empty.code, empty.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "notice_id")
            no_channel = await refusal_of(operator.get_notice(f"{RU}/hama-1", channel_id="ru-mod:fr-mod"))
            assert no_channel.code == grpc.StatusCode.NOT_FOUND


@pytest.mark.asyncio
async def test_the_operator_reads_a_conference_as_its_node_holds_it_dcf_cnf_028_dcf_cnf_039(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        async with OperatorClient(pair.ru_address) as operator:
            await operator.propose_conference(CHANNEL, proposal("vc-1"), without_incidents=True)
        await settled(pair, "vc-1", ConferenceState.PROPOSED)
        async with OperatorClient(pair.us_address) as operator:
            status = (await operator.get_conference(CHANNEL, "vc-1")).status
        assert (status.channel_id, status.state, status.proposer) == (
            CHANNEL,
            conference_pb2.CONFERENCE_STATE_PROPOSED,
            RU,
        )
        assert (status.proposal.conference_id, status.proposal.revision) == ("vc-1", 1)
        assert not status.HasField("scheduled_slot")
        async with peer_of(pair.us_address, party=RU, node_party=US) as peer:
            assert (await peer.client.get_conference(CHANNEL, "vc-1")).status == status

        async with OperatorClient(pair.us_address) as operator:
            await operator.cancel_conference(CHANNEL, ConferenceCancellation(conference_id="vc-1", reason="no line"))
        await settled(pair, "vc-1", ConferenceState.CANCELLED)
        async with OperatorClient(pair.ru_address) as operator:
            cancelled = (await operator.get_conference(CHANNEL, "vc-1")).status
            assert cancelled.state == conference_pb2.CONFERENCE_STATE_CANCELLED
            assert not cancelled.HasField("scheduled_slot")
            assert not cancelled.HasField("record")
            unknown = await refusal_of(operator.get_conference(CHANNEL, "vc-9"))
            assert unknown.code == grpc.StatusCode.NOT_FOUND
            no_id = await refusal_of(operator.get_conference(CHANNEL, ""))
            assert (no_id.code, no_id.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "conference_id")
            no_channel = await refusal_of(operator.get_conference("", "vc-1"))
            assert (no_channel.code, no_channel.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "channel_id")
