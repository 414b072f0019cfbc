"""The client of a peer node: one method per RPC of the deconflict.v1 services.

Writes take the signed envelope exactly as it will be sent (a SignedPayload
protobuf, serialized once, the same bytes on every retry) and return a Delivery:
the acknowledgement as received, for the caller to keep, and its content opened.
A client given `verify` runs it over each acknowledgement's signed bytes before
it opens them (DCF-SEC-011, DCF-SEC-008): one that does not verify raises
UnverifiedAnswerError. Every refusal raises RefusedError with the code, field
paths, reason and details the peer sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message as ProtoMessage
from pydantic import ValidationError

from deconflict.bridge.channel import checklist_to_proto, heartbeat_to_proto, hello_to_proto
from deconflict.bridge.envelope import PayloadError, open_acknowledgement
from deconflict.client.retry import RefusedError, RpcClient, as_proto
from deconflict.models.channel import Checklist, Heartbeat, Hello
from deconflict.models.response import LogicalAcknowledgement
from deconflict.rpc.refusal import Refusal, refusal_from_message_refusal, refusal_from_rpc_error
from deconflict.security.signing import BadSignatureError
from deconflict.v1 import (
    channel_pb2,
    channel_service_pb2,
    conference_service_pb2,
    envelope_pb2,
    notice_pb2,
    notice_service_pb2,
)

NOTICE_SERVICE: Final[ServiceDescriptor] = notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"]
CONFERENCE_SERVICE: Final[ServiceDescriptor] = conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"]
CHANNEL_SERVICE: Final[ServiceDescriptor] = channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"]

SignedPayload = envelope_pb2.SignedPayload
# Raises BadSignatureError when the acknowledgement's signatures do not verify.
VerifyAnswer = Callable[[SignedPayload], object]


class BadAnswerError(Exception):
    """The peer answered with an acknowledgement that cannot be opened: a fault of the peer, not a refusal."""


class UnverifiedAnswerError(BadAnswerError):
    """The peer's acknowledgement does not verify: it counts as no acknowledgement (DCF-SEC-011)."""


@dataclass(frozen=True)
class Delivery:
    """A write the peer stored: its acknowledgement as received, and opened."""

    # The exact bytes the peer signed: verify them, and keep them as its proof of receipt.
    signed: envelope_pb2.SignedPayload
    acknowledgement: LogicalAcknowledgement

    @classmethod
    def open(cls, signed: envelope_pb2.SignedPayload) -> Delivery:
        try:
            return cls(signed=signed, acknowledgement=open_acknowledgement(signed))
        except (PayloadError, ValidationError) as error:
            raise BadAnswerError(f"the peer's acknowledgement cannot be opened: {error}") from error


@dataclass(frozen=True)
class StreamRefusal:
    """An envelope refused on an Exchange stream, which goes on (DCF-STR-009)."""

    message_id: str
    refusal: Refusal


class PeerClient(RpcClient):
    """`async with PeerClient("peer.example:8443", credentials=...) as peer: await peer.hello(...)`.

    `timeout` is the deadline of each attempt; unary calls are retried on
    UNAVAILABLE with the client's RetryPolicy, streams are not (a Watch is started
    again from the next sequence expected).
    """

    def __init__(self, target: str, *, verify: VerifyAnswer | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        self._verify = verify

    def _delivery(self, signed: SignedPayload) -> Delivery:
        if self._verify is not None:
            try:
                self._verify(signed)
            except BadSignatureError as error:
                raise UnverifiedAnswerError(f"the peer's acknowledgement does not verify: {error}") from None
        return Delivery.open(signed)

    # Writes: a signed envelope in, a Delivery out.

    async def _write(self, service: ServiceDescriptor, method: str, request: ProtoMessage) -> Delivery:
        response = await self.unary(service, method, request)
        return self._delivery(response.acknowledgement)

    async def submit_notice(self, envelope: SignedPayload) -> Delivery:
        request = notice_service_pb2.SubmitNoticeRequest(envelope=envelope)
        return await self._write(NOTICE_SERVICE, "SubmitNotice", request)

    async def amend_notice(self, envelope: SignedPayload) -> Delivery:
        request = notice_service_pb2.AmendNoticeRequest(envelope=envelope)
        return await self._write(NOTICE_SERVICE, "AmendNotice", request)

    async def cancel_notice(self, envelope: SignedPayload) -> Delivery:
        request = notice_service_pb2.CancelNoticeRequest(envelope=envelope)
        return await self._write(NOTICE_SERVICE, "CancelNotice", request)

    async def respond_to_notice(self, envelope: SignedPayload) -> Delivery:
        request = notice_service_pb2.RespondToNoticeRequest(envelope=envelope)
        return await self._write(NOTICE_SERVICE, "RespondToNotice", request)

    async def propose_conference(self, envelope: SignedPayload) -> Delivery:
        request = conference_service_pb2.ProposeConferenceRequest(envelope=envelope)
        return await self._write(CONFERENCE_SERVICE, "ProposeConference", request)

    async def answer_conference(self, envelope: SignedPayload) -> Delivery:
        request = conference_service_pb2.AnswerConferenceRequest(envelope=envelope)
        return await self._write(CONFERENCE_SERVICE, "AnswerConference", request)

    async def record_conference(self, envelope: SignedPayload) -> Delivery:
        request = conference_service_pb2.RecordConferenceRequest(envelope=envelope)
        return await self._write(CONFERENCE_SERVICE, "RecordConference", request)

    async def cancel_conference(self, envelope: SignedPayload) -> Delivery:
        request = conference_service_pb2.CancelConferenceRequest(envelope=envelope)
        return await self._write(CONFERENCE_SERVICE, "CancelConference", request)

    async def suspend(self, envelope: SignedPayload) -> Delivery:
        return await self._write(CHANNEL_SERVICE, "Suspend", channel_service_pb2.SuspendRequest(envelope=envelope))

    async def resume(self, envelope: SignedPayload) -> Delivery:
        return await self._write(CHANNEL_SERVICE, "Resume", channel_service_pb2.ResumeRequest(envelope=envelope))

    async def report_incident(self, envelope: SignedPayload) -> Delivery:
        request = channel_service_pb2.ReportIncidentRequest(envelope=envelope)
        return await self._write(CHANNEL_SERVICE, "ReportIncident", request)

    async def notify_timeout(self, envelope: SignedPayload) -> Delivery:
        request = channel_service_pb2.NotifyTimeoutRequest(envelope=envelope)
        return await self._write(CHANNEL_SERVICE, "NotifyTimeout", request)

    # Reads and the handshake: the protobuf response, for the caller to validate.

    async def get_notice(self, channel_id: str, notice_id: str) -> notice_service_pb2.GetNoticeResponse:
        request = notice_service_pb2.GetNoticeRequest(channel_id=channel_id, notice_id=notice_id)
        response: notice_service_pb2.GetNoticeResponse = await self.unary(NOTICE_SERVICE, "GetNotice", request)
        return response

    async def list_notices(
        self,
        channel_id: str,
        *,
        owner: str = "",
        states: Iterable[int] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> notice_service_pb2.ListNoticesResponse:
        request = notice_service_pb2.ListNoticesRequest(
            channel_id=channel_id,
            owner=owner,
            states=[notice_pb2.NoticeState.ValueType(state) for state in states],
            page_size=page_size,
            page_token=page_token,
        )
        response: notice_service_pb2.ListNoticesResponse = await self.unary(NOTICE_SERVICE, "ListNotices", request)
        return response

    async def get_conference(self, channel_id: str, conference_id: str) -> conference_service_pb2.GetConferenceResponse:
        request = conference_service_pb2.GetConferenceRequest(channel_id=channel_id, conference_id=conference_id)
        response: conference_service_pb2.GetConferenceResponse = await self.unary(
            CONFERENCE_SERVICE, "GetConference", request
        )
        return response

    async def list_conferences(
        self, channel_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> conference_service_pb2.ListConferencesResponse:
        request = conference_service_pb2.ListConferencesRequest(
            channel_id=channel_id, page_size=page_size, page_token=page_token
        )
        response: conference_service_pb2.ListConferencesResponse = await self.unary(
            CONFERENCE_SERVICE, "ListConferences", request
        )
        return response

    async def hello(self, hello: Hello | channel_pb2.Hello) -> channel_service_pb2.HelloResponse:
        request = channel_service_pb2.HelloRequest(hello=as_proto(hello, hello_to_proto))
        response: channel_service_pb2.HelloResponse = await self.unary(CHANNEL_SERVICE, "Hello", request)
        return response

    async def heartbeat(self, heartbeat: Heartbeat | channel_pb2.Heartbeat) -> channel_service_pb2.HeartbeatResponse:
        request = channel_service_pb2.HeartbeatRequest(heartbeat=as_proto(heartbeat, heartbeat_to_proto))
        response: channel_service_pb2.HeartbeatResponse = await self.unary(CHANNEL_SERVICE, "Heartbeat", request)
        return response

    async def get_agreement(self, channel_id: str) -> channel_service_pb2.GetAgreementResponse:
        request = channel_service_pb2.GetAgreementRequest(channel_id=channel_id)
        response: channel_service_pb2.GetAgreementResponse = await self.unary(CHANNEL_SERVICE, "GetAgreement", request)
        return response

    async def exchange_checklist(
        self, checklist: Checklist | channel_pb2.Checklist
    ) -> channel_service_pb2.ExchangeChecklistResponse:
        request = channel_service_pb2.ExchangeChecklistRequest(checklist=as_proto(checklist, checklist_to_proto))
        response: channel_service_pb2.ExchangeChecklistResponse = await self.unary(
            CHANNEL_SERVICE, "ExchangeChecklist", request
        )
        return response

    # The peer's journal (DCF-JNL-006 to DCF-JNL-009).

    async def get_checkpoint(self, channel_id: str) -> channel_service_pb2.GetCheckpointResponse:
        request = channel_service_pb2.GetCheckpointRequest(channel_id=channel_id)
        response: channel_service_pb2.GetCheckpointResponse = await self.unary(
            CHANNEL_SERVICE, "GetCheckpoint", request
        )
        return response

    async def get_consistency_proof(
        self, channel_id: str, first_size: int, second_size: int
    ) -> channel_service_pb2.GetConsistencyProofResponse:
        request = channel_service_pb2.GetConsistencyProofRequest(
            channel_id=channel_id, first_size=first_size, second_size=second_size
        )
        response: channel_service_pb2.GetConsistencyProofResponse = await self.unary(
            CHANNEL_SERVICE, "GetConsistencyProof", request
        )
        return response

    async def get_inclusion_proof(
        self, channel_id: str, index: int, tree_size: int
    ) -> channel_service_pb2.GetInclusionProofResponse:
        request = channel_service_pb2.GetInclusionProofRequest(channel_id=channel_id, index=index, tree_size=tree_size)
        response: channel_service_pb2.GetInclusionProofResponse = await self.unary(
            CHANNEL_SERVICE, "GetInclusionProof", request
        )
        return response

    async def cosign(
        self, channel_id: str, checkpoint: bytes, cosignatures: Iterable[bytes]
    ) -> channel_service_pb2.CosignResponse:
        """Return this party's cosignature lines of the peer's checkpoint, as the peer served it."""
        request = channel_service_pb2.CosignRequest(
            channel_id=channel_id, checkpoint=checkpoint, cosignatures=list(cosignatures)
        )
        response: channel_service_pb2.CosignResponse = await self.unary(CHANNEL_SERVICE, "Cosign", request)
        return response

    # Streams.

    async def watch(self, channel_id: str, from_sequence: int = 0) -> AsyncGenerator[SignedPayload, None]:
        """Every envelope the peer sent on the channel from `from_sequence`, then live, as sent.

        Ends with RefusedError: UNAVAILABLE when the peer ends the stream
        (DCF-STR-006; watch again from the next sequence expected).
        """
        call = self.channel.unary_stream(
            f"/{CHANNEL_SERVICE.full_name}/Watch",
            request_serializer=None,
            response_deserializer=channel_service_pb2.WatchResponse.FromString,
        )
        request = channel_service_pb2.WatchRequest(channel_id=channel_id, from_sequence=from_sequence)
        stream = call(request.SerializeToString())
        try:
            async for response in stream:
                yield response.envelope
        except grpc.RpcError as error:
            raise RefusedError(refusal_from_rpc_error(error)) from None
        finally:
            stream.cancel()

    async def exchange(
        self, envelopes: AsyncIterable[SignedPayload] | Iterable[SignedPayload]
    ) -> AsyncIterator[Delivery | StreamRefusal]:
        """Send the envelopes on one Exchange stream; yield one answer per envelope, in order (DCF-STR-007).

        A refused envelope yields a StreamRefusal and the stream goes on; a refusal
        of the whole stream raises RefusedError.
        """
        call = self.channel.stream_stream(
            f"/{CHANNEL_SERVICE.full_name}/Exchange",
            request_serializer=None,
            response_deserializer=channel_service_pb2.ExchangeResponse.FromString,
        )
        stream = call(_exchange_requests(envelopes))
        try:
            async for response in stream:
                if response.HasField("refusal"):
                    refused = response.refusal
                    yield StreamRefusal(refused.message_id, refusal_from_message_refusal(refused))
                else:
                    yield self._delivery(response.acknowledgement)
        except grpc.RpcError as error:
            raise RefusedError(refusal_from_rpc_error(error)) from None
        finally:
            stream.cancel()


async def _exchange_requests(
    envelopes: AsyncIterable[SignedPayload] | Iterable[SignedPayload],
) -> AsyncIterator[bytes]:
    if isinstance(envelopes, AsyncIterable):
        async for envelope in envelopes:
            yield channel_service_pb2.ExchangeRequest(envelope=envelope).SerializeToString()
    else:
        for envelope in envelopes:
            yield channel_service_pb2.ExchangeRequest(envelope=envelope).SerializeToString()
