"""NoticeService: the peer files, amends and cancels its notices, answers ours, and reads what we hold."""

from __future__ import annotations

import base64
from collections.abc import Collection

import grpc

from deconflict import limits
from deconflict.bridge.notice_service import notice_record_to_proto
from deconflict.models.notice import NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.models.response import DialogueState
from deconflict.node.ledger import ChannelState, NoticeEntry
from deconflict.node.node import Node
from deconflict.rpc.handlers import Context
from deconflict.rpc.refusal import Refusal
from deconflict.security.identity import caller_party
from deconflict.v1 import envelope_pb2
from deconflict.v1 import notice_service_pb2 as pb


class NoticeService:
    """The behaviours of deconflict.v1.NoticeService over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def SubmitNotice(  # noqa: N802 (gRPC method names)
        self, request: pb.SubmitNoticeRequest, context: Context
    ) -> pb.SubmitNoticeResponse:
        return pb.SubmitNoticeResponse(acknowledgement=await write(self.node, request, {"notice"}, context))

    async def AmendNotice(  # noqa: N802
        self, request: pb.AmendNoticeRequest, context: Context
    ) -> pb.AmendNoticeResponse:
        return pb.AmendNoticeResponse(acknowledgement=await write(self.node, request, {"amendment"}, context))

    async def CancelNotice(  # noqa: N802
        self, request: pb.CancelNoticeRequest, context: Context
    ) -> pb.CancelNoticeResponse:
        return pb.CancelNoticeResponse(acknowledgement=await write(self.node, request, {"cancellation"}, context))

    async def RespondToNotice(  # noqa: N802
        self, request: pb.RespondToNoticeRequest, context: Context
    ) -> pb.RespondToNoticeResponse:
        return pb.RespondToNoticeResponse(acknowledgement=await write(self.node, request, {"response"}, context))

    async def GetNotice(  # noqa: N802
        self, request: pb.GetNoticeRequest, context: Context
    ) -> pb.GetNoticeResponse:
        # Field validity first, then the channel, its peer, then Hello (DCF-ERR-016, DCF-SEC-004).
        if not request.notice_id:
            raise Refusal.invalid([("notice_id", "is required")])
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)
        require_hello(channel)
        expire_due(self.node)
        entry = self.node.ledger.find_notice(request.notice_id, (channel.peer, channel.party))
        if entry is None or channel.channel_id not in entry.dialogues:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no notice {request.notice_id} on {channel.channel_id}")
        return pb.GetNoticeResponse(record=notice_record_to_proto(record_of(channel, entry)))

    async def ListNotices(  # noqa: N802
        self, request: pb.ListNoticesRequest, context: Context
    ) -> pb.ListNoticesResponse:
        # Field validity first, then the channel, its peer, then Hello (DCF-ERR-016, DCF-SEC-004).
        start, size = page_window(request.page_size, request.page_token)
        states: set[NoticeState] = set()
        for index, value in enumerate(request.states):
            # Each element names a known state, once; a refusal names the element (DCF-NTC-031, DCF-NTC-035).
            if value not in NoticeState._value2member_map_:
                raise Refusal.invalid([(f"states[{index}]", "names no known notice state")])
            if NoticeState(value) in states:
                raise Refusal.invalid([(f"states[{index}]", "repeats an earlier state")])
            states.add(NoticeState(value))
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)
        require_hello(channel)
        expire_due(self.node)
        chosen = [
            entry
            for entry in self.node.ledger.notices.values()
            if channel.channel_id in entry.dialogues
            and (not request.owner or entry.notice.owner == request.owner)
            and (not states or entry.notice.state in states)
        ]
        page = chosen[start : start + size]
        more = start + size < len(chosen)
        return pb.ListNoticesResponse(
            records=[notice_record_to_proto(record_of(channel, entry)) for entry in page],
            next_page_token=page_token(start + size) if more else "",
        )


def expire_due(node: Node) -> None:
    """Expire the notices whose last volume is over now, not at the timers' next tick: no request processed
    after that instant sees them ACTIVE (DCF-NTC-026)."""
    for entry in node.ledger.expire(node.clock()):
        node.assessor.remove(entry.notice.owner, entry.notice.notice_id)


async def write(node: Node, request: object, bodies: Collection[str], context: Context) -> envelope_pb2.SignedPayload:
    """Every write RPC: the envelope through intake, answered with its acknowledgement once stored."""
    if node.failed is not None:
        raise Refusal(
            grpc.StatusCode.UNAVAILABLE,
            "this node cannot store now; send the same message again later",
            reason="STORAGE_UNAVAILABLE",
        )
    expire_due(node)
    signed = getattr(request, "envelope", None)
    if signed is None or not request.HasField("envelope"):  # type: ignore[attr-defined]
        raise Refusal.invalid([("envelope", "is required")])
    return await node.intake.receive(signed, bodies, caller_party())


def channel_of(node: Node, channel_id: str) -> ChannelState:
    if not channel_id:
        raise Refusal.invalid([("channel_id", "is required")])
    channel = node.ledger.channels.get(channel_id)
    if channel is None:
        raise Refusal(grpc.StatusCode.NOT_FOUND, f"this node serves no channel {channel_id}")
    return channel


def require_peer(channel: ChannelState) -> None:
    """A channel's data goes to its parties only: with TLS, the caller is the channel's peer (DCF-SEC-004). In
    plaintext the caller is unknown and taken to be the peer, as the configuration says (DCF-SEC-005)."""
    caller = caller_party()
    if caller is not None and caller != channel.peer:
        raise Refusal.permission_denied("NOT_PEER", f"{caller} is not the peer of channel {channel.channel_id}")


def require_hello(channel: ChannelState) -> None:
    """Reads and streams of the peer come after its Hello, like its writes (DCF-HEL-001, DCF-ERR-016).

    Called once the request is known to be the peer's, so it is also where the peer is heard (DCF-HBT-006)."""
    channel.hear()
    if not channel.greeted:
        raise Refusal(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"say Hello on channel {channel.channel_id} first",
            reason="HELLO_REQUIRED",
        )


def record_of(channel: ChannelState, entry: NoticeEntry) -> NoticeRecord:
    dialogue = entry.dialogues[channel.channel_id]
    waiting = dialogue.state in (DialogueState.PENDING, DialogueState.STANDBY)
    return NoticeRecord(
        channel_id=channel.channel_id,
        notice=entry.notice,
        late=entry.late,
        received_time=entry.received_time,
        last_response=dialogue.last_response,
        response_due_time=dialogue.due_time if waiting else None,
        dialogue_state=dialogue.state,
        mode=entry.mode,
    )


def page_window(page_size: int, token: str) -> tuple[int, int]:
    """The first item and the number of items of a page (0 means the default size)."""
    size = page_size or limits.DEFAULT_PAGE_SIZE
    if size > limits.MAX_PAGE_SIZE:
        raise Refusal.invalid([("page_size", f"must be at most {limits.MAX_PAGE_SIZE}")])
    return page_offset(token), size


def page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise Refusal.invalid([("page_token", "is not a token this node gave")]) from None
    if value < 0:
        raise Refusal.invalid([("page_token", "is not a token this node gave")])
    return value


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()
