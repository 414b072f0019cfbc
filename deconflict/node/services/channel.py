"""ChannelService: Hello, heartbeats, the agreement, checklists, suspension, incidents, timeouts and the streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import grpc
from pydantic import ValidationError

from deconflict.bridge.channel import checklist_to_proto, heartbeat_data, hello_data, hello_to_proto
from deconflict.bridge.envelope import decode_envelope
from deconflict.bridge.errors import message_refusal_to_proto
from deconflict.journal.base import Direction
from deconflict.models.channel import Heartbeat as HeartbeatModel
from deconflict.models.channel import Hello as HelloModel
from deconflict.models.channel import VersionRange
from deconflict.node.checklist import check_owners, checklist_of, read_checklist
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node
from deconflict.node.services import journal
from deconflict.node.services.notice import channel_of, require_hello, require_peer, write
from deconflict.rpc.handlers import Context, RequestStream
from deconflict.rpc.refusal import Refusal, to_message_refusal
from deconflict.security.identity import caller_party
from deconflict.v1 import channel_pb2, envelope_pb2, errors_pb2
from deconflict.v1 import channel_service_pb2 as pb

SUPPORTED = VersionRange(min_major=1, max_major=1)
# Everything a peer may send on an Exchange stream: every write body (DCF-STR spec).
EXCHANGE_BODIES = frozenset(
    {
        "notice",
        "amendment",
        "cancellation",
        "response",
        "timeout",
        "conference_proposal",
        "conference_answer",
        "conference_record",
        "conference_cancellation",
        "incident_report",
        "suspension",
        "resumption",
    }
)
IMPLEMENTATION = "deconflict reference node"


class ChannelService:
    """The behaviours of deconflict.v1.ChannelService over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def Hello(  # noqa: N802
        self, request: pb.HelloRequest, context: Context
    ) -> pb.HelloResponse:
        try:
            hello = HelloModel.model_validate(hello_data(request.hello))
        except ValidationError as error:
            raise Refusal.from_validation(error, "hello") from None
        channel = channel_of(self.node, hello.channel_id)
        peer = caller_party()
        if hello.party != channel.peer or (peer is not None and peer != hello.party):
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{hello.party} is not the peer of channel {channel.channel_id}",
                reason="NOT_PEER",
            )
        channel.hear()
        selected = agree(channel, hello)
        channel.greeted = True
        return pb.HelloResponse(hello=hello_to_proto(self.node_hello(channel.channel_id)), selected_major=selected)

    def node_hello(self, channel_id: str) -> HelloModel:
        channel = self.node.ledger.channels[channel_id]
        return HelloModel(
            channel_id=channel_id,
            party=self.node.party,
            supported_versions=SUPPORTED,
            agreement_hash=channel.agreement.sha256,
            agreement_version=channel.agreement.model.version,
            sent_time=self.node.clock(),
            implementation=IMPLEMENTATION,
        )

    async def Heartbeat(  # noqa: N802
        self, request: pb.HeartbeatRequest, context: Context
    ) -> pb.HeartbeatResponse:
        try:
            beat = HeartbeatModel.model_validate(heartbeat_data(request.heartbeat))
        except ValidationError as error:
            raise Refusal.from_validation(error, "heartbeat") from None  # DCF-HBT-002
        channel = channel_of(self.node, beat.channel_id)
        _require_sender(channel, beat.party, "a heartbeat")
        require_hello(channel)
        # What the peer says it sent: this node's link fetches what lies beyond what it stored (DCF-HBT-005).
        channel.peer_last_sequence_sent = beat.last_sequence_sent
        answer = channel_pb2.Heartbeat(
            channel_id=channel.channel_id, party=self.node.party, last_sequence_sent=channel.next_out - 1
        )
        answer.sent_time.FromDatetime(self.node.clock())
        return pb.HeartbeatResponse(heartbeat=answer)

    async def GetAgreement(  # noqa: N802
        self, request: pb.GetAgreementRequest, context: Context
    ) -> pb.GetAgreementResponse:
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)  # DCF-SEC-004
        if caller_party() == channel.peer:
            # Served before Hello, and the request names no party: the peer is heard only when its certificate
            # says the call is its own (DCF-HBT-006).
            channel.hear()
        return pb.GetAgreementResponse(agreement=channel.agreement.data, agreement_hash=channel.agreement.sha256)

    async def ExchangeChecklist(  # noqa: N802
        self, request: pb.ExchangeChecklistRequest, context: Context
    ) -> pb.ExchangeChecklistResponse:
        # DCF-CHK-003, in the order of DCF-ERR-016: the fields, the channel, the peer, its Hello.
        theirs = read_checklist(request.checklist)
        channel = channel_of(self.node, theirs.channel_id)
        check_owners(channel, theirs)
        peer = caller_party()
        if theirs.party != channel.peer or (peer is not None and peer != theirs.party):
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{theirs.party} is not the peer of channel {channel.channel_id}",
                reason="NOT_PEER",
            )
        require_hello(channel)
        checklist = checklist_of(self.node.ledger, channel, self.node.clock())
        return pb.ExchangeChecklistResponse(checklist=checklist_to_proto(checklist))

    async def Suspend(  # noqa: N802
        self, request: pb.SuspendRequest, context: Context
    ) -> pb.SuspendResponse:
        return pb.SuspendResponse(acknowledgement=await write(self.node, request, {"suspension"}, context))

    async def Resume(  # noqa: N802
        self, request: pb.ResumeRequest, context: Context
    ) -> pb.ResumeResponse:
        return pb.ResumeResponse(acknowledgement=await write(self.node, request, {"resumption"}, context))

    async def ReportIncident(  # noqa: N802
        self, request: pb.ReportIncidentRequest, context: Context
    ) -> pb.ReportIncidentResponse:
        return pb.ReportIncidentResponse(acknowledgement=await write(self.node, request, {"incident_report"}, context))

    async def NotifyTimeout(  # noqa: N802
        self, request: pb.NotifyTimeoutRequest, context: Context
    ) -> pb.NotifyTimeoutResponse:
        return pb.NotifyTimeoutResponse(acknowledgement=await write(self.node, request, {"timeout"}, context))

    async def Watch(  # noqa: N802
        self, request: pb.WatchRequest, context: Context
    ) -> AsyncIterator[pb.WatchResponse]:
        channel = channel_of(self.node, request.channel_id)
        require_peer(channel)  # DCF-SEC-004
        require_hello(channel)  # DCF-STR-001
        following = max(request.from_sequence, 1)
        if following > len(channel.sent_positions) + 1:
            raise Refusal(
                grpc.StatusCode.OUT_OF_RANGE,
                f"from_sequence {following} is beyond the last sent, {len(channel.sent_positions)}, plus one",
            )
        resealed = len(channel.resealed)
        while True:
            if len(channel.resealed) > resealed:
                # Messages moved down a sequence after a withdrawal, or one re-originated: stream them as they are now
                # (DCF-STR-004).
                following = min(following, *channel.resealed[resealed:])
                resealed = len(channel.resealed)
            sent = channel.sent_positions
            if following <= len(sent):
                wanted = sent[following - 1 : following - 1 + 256]
                entries = await self.node.journal.read(wanted[0], wanted[-1] - wanted[0] + 1)
                chosen = set(wanted)
                for entry in entries:
                    if entry.position in chosen and entry.record.direction == Direction.OUT:
                        yield pb.WatchResponse(envelope=envelope_pb2.SignedPayload.FromString(entry.record.payload))
                        following += 1
                continue
            await self.node.changed_within(1.0)

    async def GetCheckpoint(  # noqa: N802
        self, request: pb.GetCheckpointRequest, context: Context
    ) -> pb.GetCheckpointResponse:
        return journal.checkpoint(self.node, request, context)

    async def GetConsistencyProof(  # noqa: N802
        self, request: pb.GetConsistencyProofRequest, context: Context
    ) -> pb.GetConsistencyProofResponse:
        return journal.consistency_proof(self.node, request, context)

    async def GetInclusionProof(  # noqa: N802
        self, request: pb.GetInclusionProofRequest, context: Context
    ) -> pb.GetInclusionProofResponse:
        return journal.inclusion_proof(self.node, request, context)

    async def Cosign(  # noqa: N802
        self, request: pb.CosignRequest, context: Context
    ) -> pb.CosignResponse:
        return await journal.cosigned(self.node, request, context)

    async def Exchange(  # noqa: N802
        self, requests: AsyncIterator[pb.ExchangeRequest], context: Context
    ) -> AsyncIterator[pb.ExchangeResponse]:
        peer = caller_party()
        # Each answer with the envelope it answers: its message id is read only to label a refusal.
        answers: asyncio.Queue[
            tuple[envelope_pb2.SignedPayload | None, Awaitable[envelope_pb2.SignedPayload] | Refusal] | None
        ] = asyncio.Queue()

        async def take() -> None:
            # Envelopes are admitted in arrival order without waiting for storage: the journal batches
            # them and the answers leave in the same order (DCF-STR spec).
            try:
                async for request in _each_or_refusal(requests):
                    if isinstance(request, Refusal):
                        # An undecodable request is answered in the stream, which goes on (DCF-STR-008, DCF-STR-009).
                        answers.put_nowait((None, request))
                        continue
                    try:
                        answers.put_nowait(
                            (request.envelope, self.node.intake.admit(request.envelope, EXCHANGE_BODIES, peer))
                        )
                    except Refusal as refusal:
                        answers.put_nowait((request.envelope, refusal))
            finally:
                answers.put_nowait(None)

        reader = asyncio.get_running_loop().create_task(take())
        try:
            while (item := await answers.get()) is not None:
                envelope, pending = item
                if not isinstance(pending, Refusal):
                    try:
                        yield pb.ExchangeResponse(acknowledgement=await pending)
                        continue
                    except Refusal as refusal:
                        pending = refusal
                message_id = "" if envelope is None else _message_id(envelope)
                yield pb.ExchangeResponse(refusal=_refusal_proto(pending, message_id))
        finally:
            reader.cancel()


def agree(channel: ChannelState, hello: HelloModel) -> int:
    """The checks of the other node's Hello that both ends make, the answering node of the caller's Hello and the
    caller of the answer (DCF-HEL-010): the major version both use; raises Refusal on a mismatch."""
    selected = SUPPORTED.overlap(hello.supported_versions)
    if selected is None:
        raise Refusal(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"no common protocol version: this node speaks {SUPPORTED.min_major} to {SUPPORTED.max_major}, the "
            f"peer {hello.supported_versions.min_major} to {hello.supported_versions.max_major}",
            reason="VERSION_MISMATCH",
        )  # DCF-HEL-005
    ours = channel.agreement
    if hello.agreement_hash != ours.sha256:
        raise Refusal(
            grpc.StatusCode.FAILED_PRECONDITION,
            # DCF-HEL-006: both versions and both hashes, in full, so that the parties can compare them.
            f"agreement mismatch: this node holds version {ours.model.version} with hash "
            f"{ours.sha256.hex()}, the peer version {hello.agreement_version} with hash "
            f"{hello.agreement_hash.hex()}",
            reason="AGREEMENT_MISMATCH",
        )  # DCF-HEL-006
    return selected


def check_hello_response(channel: ChannelState, answer: pb.HelloResponse) -> None:
    """DCF-HEL-010: the calling node checks the answering node's Hello as that node checked its own (fields,
    channel and party, versions, agreement hash), and the major version it selected (DCF-HEL-007); raises Refusal."""
    try:
        hello = HelloModel.model_validate(hello_data(answer.hello))
    except ValidationError as error:
        raise Refusal.from_validation(error, "hello") from None
    if (hello.channel_id, hello.party) != (channel.channel_id, channel.peer):
        raise Refusal(
            grpc.StatusCode.PERMISSION_DENIED,
            f"the answer is the Hello of {hello.party} on {hello.channel_id}, not of {channel.peer} on "
            f"{channel.channel_id}",
            reason="NOT_PEER",
        )
    selected = agree(channel, hello)
    if answer.selected_major != selected:
        raise Refusal.invalid(
            [("selected_major", f"is {answer.selected_major}, not {selected}, the highest major of both ranges")]
        )


def _require_sender(channel: ChannelState, party: str, what: str) -> None:
    """A heartbeat or checklist names its sender, which must be the authenticated peer (DCF-HBT-002, DCF-CHK-003)."""
    peer = caller_party()
    if party != channel.peer or (peer is not None and peer != party):
        raise Refusal(
            grpc.StatusCode.PERMISSION_DENIED, f"{what} on {channel.channel_id} comes from its peer", reason="NOT_PEER"
        )


def _each_or_refusal(
    requests: AsyncIterator[pb.ExchangeRequest],
) -> AsyncIterator[pb.ExchangeRequest | Refusal]:
    """Each request of the stream, or the Refusal of one that cannot be decoded, in its place."""
    if isinstance(requests, RequestStream):
        return requests.results()  # type: ignore[return-value]
    return requests


def _message_id(signed: envelope_pb2.SignedPayload) -> str:
    # Only to label a refusal: the envelope may be unreadable, which is then the reason it is refused.
    try:
        return decode_envelope(signed.payload).message_id[:128]
    except ValueError:
        return ""


def _refusal_proto(refusal: Refusal, message_id: str) -> errors_pb2.MessageRefusal:
    return message_refusal_to_proto(to_message_refusal(refusal, message_id))
