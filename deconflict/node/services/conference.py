"""ConferenceService: the peer proposes, answers, records and cancels conferences, and reads what we hold."""

from __future__ import annotations

import grpc

from deconflict.bridge.conference_service import conference_status_to_proto
from deconflict.node.node import Node
from deconflict.node.services.notice import channel_of, page_token, page_window, require_hello, require_peer, write
from deconflict.rpc.handlers import Context
from deconflict.rpc.refusal import Refusal
from deconflict.v1 import conference_service_pb2 as pb


class ConferenceService:
    """The behaviours of deconflict.v1.ConferenceService over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def ProposeConference(  # noqa: N802
        self, request: pb.ProposeConferenceRequest, context: Context
    ) -> pb.ProposeConferenceResponse:
        ack = await write(self.node, request, {"conference_proposal"}, context)
        return pb.ProposeConferenceResponse(acknowledgement=ack)

    async def AnswerConference(  # noqa: N802
        self, request: pb.AnswerConferenceRequest, context: Context
    ) -> pb.AnswerConferenceResponse:
        ack = await write(self.node, request, {"conference_answer"}, context)
        return pb.AnswerConferenceResponse(acknowledgement=ack)

    async def RecordConference(  # noqa: N802
        self, request: pb.RecordConferenceRequest, context: Context
    ) -> pb.RecordConferenceResponse:
        ack = await write(self.node, request, {"conference_record"}, context)
        return pb.RecordConferenceResponse(acknowledgement=ack)

    async def CancelConference(  # noqa: N802
        self, request: pb.CancelConferenceRequest, context: Context
    ) -> pb.CancelConferenceResponse:
        ack = await write(self.node, request, {"conference_cancellation"}, context)
        return pb.CancelConferenceResponse(acknowledgement=ack)

    async def GetConference(  # noqa: N802
        self, request: pb.GetConferenceRequest, context: Context
    ) -> pb.GetConferenceResponse:
        # Field validity first, then the channel, its peer, then Hello (DCF-ERR-016, DCF-SEC-004).
        if not request.conference_id:
            raise Refusal.invalid([("conference_id", "is required")])
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)
        require_hello(channel)
        status = self.node.ledger.conferences.status(channel.channel_id, request.conference_id)
        if status is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no conference {request.conference_id} on {channel.channel_id}")
        return pb.GetConferenceResponse(status=conference_status_to_proto(status))

    async def ListConferences(  # noqa: N802
        self, request: pb.ListConferencesRequest, context: Context
    ) -> pb.ListConferencesResponse:
        start, size = page_window(request.page_size, request.page_token)  # fields first (DCF-ERR-016)
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)
        require_hello(channel)
        every = self.node.ledger.conferences.statuses(channel.channel_id)
        page = every[start : start + size]
        return pb.ListConferencesResponse(
            conferences=[conference_status_to_proto(status) for status in page],
            next_page_token=page_token(start + size) if start + size < len(every) else "",
        )
