"""The suite as the party's peer: a gRPC server the party under test calls once `Reset` names its address.

Many requirements are about what a party does as the caller: that it says Hello first, beats, pushes its
messages one at a time and in order, and how it takes the acknowledgements and refusals it gets. `SuitePeer`
answers Hello, heartbeats and checklists, records every call, and stores and acknowledges every write as
chapter 5 says (the same message twice gets the same acknowledgement), unless a case answers a write itself.
For the party to witness it (DCF-JNL-009), it serves the checkpoint a case gives it of a tree the case builds,
that tree's consistency proofs, and keeps the cosignatures the party returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from deconflict.bridge.channel import checklist_to_proto, heartbeat_to_proto, hello_to_proto
from deconflict.bridge.envelope import seal_acknowledgement, signed_payload_to_proto
from deconflict.conformance.case import CaseFailedError, CaseSkippedError
from deconflict.conformance.session import Session
from deconflict.models.channel import Checklist, Heartbeat
from deconflict.models.response import LogicalAcknowledgement, MessageKind
from deconflict.rpc.handlers import Behaviour, Context, service_handler
from deconflict.rpc.refusal import Refusal
from deconflict.rpc.server import build_server
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from deconflict.transparency.checkpoint import Checkpoint, journal_origin, sign_checkpoint
from deconflict.transparency.merkle import MerkleTree
from deconflict.transparency.note import Note, NoteError, parse_note, parse_signature
from deconflict.v1 import (
    channel_service_pb2,
    conference_service_pb2,
    envelope_pb2,
    notice_pb2,
    notice_service_pb2,
    response_pb2,
)

SERVICES = (
    notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"],
)
# The unary writes: an envelope in, an acknowledgement out.
WRITE_METHODS = frozenset(
    method.name
    for service in SERVICES
    for method in service.methods
    if not (method.client_streaming or method.server_streaming)
    and "envelope" in method.input_type.fields_by_name
    and "acknowledgement" in method.output_type.fields_by_name
)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

# How a case answers a write itself: given the attempt number (from 0) and the signed envelope, a Refusal, an
# acknowledgement to send, or None for the right acknowledgement.
Answer = Callable[[int, envelope_pb2.SignedPayload], Awaitable["Refusal | LogicalAcknowledgement | None"]]
# How a case signs an acknowledgement otherwise than with the suite's key: given the attempt number and the
# acknowledgement sealed, unsigned; it returns it signed (or not).
Sign = Callable[[int, envelope_pb2.SignedPayload], envelope_pb2.SignedPayload]


@dataclass(frozen=True)
class Call:
    """One call the party made to the suite."""

    method: str
    request: Any
    at: float  # monotonic seconds


@dataclass(frozen=True)
class Pushed:
    """One message the suite stored from the party, with the acknowledgement it gave."""

    method: str
    envelope: envelope_pb2.Envelope
    acknowledgement: envelope_pb2.SignedPayload

    @property
    def opened(self) -> response_pb2.LogicalAcknowledgement:
        return response_pb2.LogicalAcknowledgement.FromString(self.acknowledgement.payload)


class SuitePeer:
    """The suite's node as the party's peer, recording what the party calls."""

    def __init__(self, s: Session, answer: Answer | None = None, sign: Sign | None = None) -> None:
        self.s = s
        self.answer = answer
        self.sign: Sign = sign or (lambda attempt, signed: s.sign(signed))
        self.calls: list[Call] = []  # every call, Hello and heartbeats included
        self.pushed: list[Pushed] = []  # every message stored, once each
        self.silent = False  # heartbeats go unanswered (the handler outlasts the party's deadline)
        self.refuse_next_write = False  # the next write is refused with HELLO_REQUIRED, as after a restart
        self.overlapped = False  # a write arrived while another was unanswered
        self._in_flight = 0
        self._given: dict[str, envelope_pb2.SignedPayload] = {}
        self.journal: MerkleTree | None = None  # the tree the suite's checkpoints state, once a case sets one
        self.checkpoint = b""  # the signed checkpoint served to GetCheckpoint
        self.cosignatures: list[Note] = []  # each Cosign call: the checkpoint with the party's lines added

    def serve_checkpoint(self, tree: MerkleTree) -> Checkpoint:
        """Serve a checkpoint of `tree` as the suite's journal of the channel, signed with the suite's key, and
        that tree's proofs."""
        key = self.s.key
        if key is None:
            raise CaseSkippedError("the target names no key of the suite: it cannot sign a checkpoint")
        stated = Checkpoint(
            journal_origin(self.s.channel_id, self.s.party), tree.size, tree.root(), int(datetime.now(UTC).timestamp())
        )
        self.journal = tree
        self.checkpoint = sign_checkpoint(stated, self.s.party, key.key_id, key.private_key).encode().encode()
        return stated

    # -- what the party did

    def named(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    @property
    def writes(self) -> list[Call]:
        """Every write attempt, retries included."""
        return [call for call in self.calls if call.method in WRITE_METHODS]

    def by_id(self, message_id: str) -> Pushed | None:
        return next((p for p in self.pushed if p.envelope.message_id == message_id), None)

    async def until(self, what: str, found: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until `found()`; fails the case, naming what the party called, after `within` seconds."""
        deadline = time.monotonic() + within
        while not found():
            if time.monotonic() > deadline:
                seen = [call.method for call in self.calls]
                raise CaseFailedError(what, f"not within {within:.0f} s; the party called {seen or 'nothing'}")
            await asyncio.sleep(0.05)

    async def arrived(self, message_id: str, within: float = 5.0) -> Pushed:
        """One of the party's messages, once the party has pushed it to the suite."""
        await self.until(f"message {message_id} pushed to the suite", lambda: self.by_id(message_id) is not None,
                         within)  # fmt: skip
        pushed = self.by_id(message_id)
        assert pushed is not None
        return pushed

    async def acknowledged(self, message_id: str, within: float = 5.0) -> response_pb2.LogicalAcknowledgement:
        """The suite's acknowledgement of one of the party's messages, once the party has pushed it."""
        return (await self.arrived(message_id, within)).opened

    # -- the suite's answers

    def acknowledgement(self, signed: envelope_pb2.SignedPayload, **wrong: Any) -> LogicalAcknowledgement:
        """The right acknowledgement of `signed` as chapter 5 says (response_due_time included), with the fields
        in `wrong` replaced."""
        envelope = envelope_pb2.Envelope.FromString(signed.payload)
        now = datetime.now(UTC)
        body = envelope.WhichOneof("body")
        agreement = self.s.agreement.model
        fields: dict[str, Any] = {
            "channel_id": envelope.channel_id,
            "acknowledging_party": self.s.party,
            "message_id": envelope.message_id,
            "message_sender": envelope.sender,
            "message_sequence": envelope.sequence,
            "payload_sha256": hashlib.sha256(signed.payload).digest(),
            "journal_position": len(self.pushed),
            "stored_time": now,
        }
        if body in ("notice", "amendment"):
            notice = envelope.notice if body == "notice" else envelope.amendment.notice
            first = min(volume.time_start.ToDatetime(UTC) for volume in notice.volumes)
            emergency = notice.category == notice_pb2.NOTICE_CATEGORY_EMERGENCY
            wait = agreement.response_time(MessageKind.NOTICE if body == "notice" else MessageKind.AMENDMENT)
            fields.update(
                notice_id=notice.notice_id,
                notice_version=notice.version,
                late=not emergency and first - now < agreement.minimum_lead_time,
                response_due_time=None if wait is None else now + wait,
            )
        elif body == "cancellation":
            fields.update(notice_id=envelope.cancellation.notice_id, notice_version=envelope.cancellation.version)
        elif body in ("response", "timeout"):
            concerned = getattr(envelope, body)
            fields.update(notice_id=concerned.notice_id, notice_version=concerned.notice_version)
        fields.update(wrong)
        return LogicalAcknowledgement.model_validate(fields)

    def behaviours(self, service: ServiceDescriptor) -> dict[str, Behaviour]:
        found: dict[str, Behaviour] = {}
        for method in service.methods:
            if method.name in WRITE_METHODS:
                found[method.name] = self._writer(method)
            elif method.name in (
                "Hello",
                "Heartbeat",
                "ExchangeChecklist",
                "GetCheckpoint",
                "GetConsistencyProof",
                "Cosign",
            ):
                found[method.name] = getattr(self, method.name)
            else:
                found[method.name] = _not_served_stream if method.server_streaming else _not_served
        return found

    async def Hello(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(Call("Hello", request, time.monotonic()))
        return channel_service_pb2.HelloResponse(hello=hello_to_proto(self.s.hello_model()), selected_major=1)

    async def Heartbeat(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(Call("Heartbeat", request, time.monotonic()))
        if self.silent:
            await asyncio.sleep(10 * self.s.agreement.model.heartbeat_interval.total_seconds())
        beat = Heartbeat(
            channel_id=self.s.channel_id,
            party=self.s.party,
            sent_time=datetime.now(UTC),
            last_sequence_sent=self.s.sequence - 1,
        )
        return channel_service_pb2.HeartbeatResponse(heartbeat=heartbeat_to_proto(beat))

    async def ExchangeChecklist(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(Call("ExchangeChecklist", request, time.monotonic()))
        checklist = Checklist(
            channel_id=self.s.channel_id,
            party=self.s.party,
            as_of_time=datetime.now(UTC),
            last_sequence_sent=self.s.sequence - 1,
            last_sequence_received=len(self.pushed),
        )
        return channel_service_pb2.ExchangeChecklistResponse(checklist=checklist_to_proto(checklist))

    async def GetCheckpoint(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(Call("GetCheckpoint", request, time.monotonic()))
        if not self.checkpoint:
            raise Refusal(grpc.StatusCode.FAILED_PRECONDITION, "the suite serves no checkpoint in this case")
        return channel_service_pb2.GetCheckpointResponse(checkpoint=self.checkpoint)

    async def GetConsistencyProof(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(Call("GetConsistencyProof", request, time.monotonic()))
        tree = self.journal
        if tree is None or not 0 < request.first_size <= request.second_size <= tree.size:
            raise Refusal(grpc.StatusCode.OUT_OF_RANGE, "no such sizes of the suite's journal")
        proof = tree.consistency_proof(request.first_size, request.second_size)
        return channel_service_pb2.GetConsistencyProofResponse(proof=proof)

    async def Cosign(self, request: Any, context: Context) -> Any:  # noqa: N802
        """Kept as returned: the case checks the lines (a party that cosigns wrongly is what it looks for)."""
        self.calls.append(Call("Cosign", request, time.monotonic()))
        try:
            note = parse_note(request.checkpoint)
            lines = tuple(parse_signature(bytes(line).decode().removesuffix("\n")) for line in request.cosignatures)
        except (UnicodeDecodeError, NoteError) as error:
            raise Refusal.invalid([("cosignatures", f"do not parse: {error}")]) from None
        self.cosignatures.append(Note(note.text, (*note.signatures, *lines)))
        return channel_service_pb2.CosignResponse(cosigned_size=Checkpoint.parse(note.text).size)

    def _writer(self, method: MethodDescriptor) -> Behaviour:
        output: Any = message_factory.GetMessageClass(method.output_type)

        async def write(request: Any, context: Context) -> Any:
            signed: envelope_pb2.SignedPayload = request.envelope
            attempt = len(self.writes)
            self.calls.append(Call(method.name, request, time.monotonic()))
            if self.refuse_next_write:
                self.refuse_next_write = False
                raise Refusal(grpc.StatusCode.FAILED_PRECONDITION, "say Hello first", reason="HELLO_REQUIRED")
            self.overlapped |= self._in_flight > 0
            self._in_flight += 1
            try:
                outcome = await self.answer(attempt, signed) if self.answer is not None else None
            finally:
                self._in_flight -= 1
            if isinstance(outcome, Refusal):
                raise outcome
            if outcome is not None:
                return output(
                    acknowledgement=self.sign(attempt, signed_payload_to_proto(seal_acknowledgement(outcome)))
                )
            return output(acknowledgement=self._store(attempt, method.name, signed))

        return write

    def _store(self, attempt: int, method: str, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        """Store a message once: a retry of it gets the acknowledgement given the first time, signed again."""
        envelope = envelope_pb2.Envelope.FromString(signed.payload)
        sealed = self._given.get(envelope.message_id)
        first = sealed is None
        if sealed is None:
            sealed = self._given[envelope.message_id] = signed_payload_to_proto(
                seal_acknowledgement(self.acknowledgement(signed))
            )
        given = self.sign(attempt, envelope_pb2.SignedPayload(payload_type=sealed.payload_type, payload=sealed.payload))
        if first:
            self.pushed.append(Pushed(method, envelope, given))
        return given


async def _not_served(request: Any, context: Context) -> Any:
    raise Refusal(grpc.StatusCode.UNIMPLEMENTED, "the conformance suite does not serve this method")


async def _not_served_stream(request: Any, context: Context) -> AsyncIterator[Any]:
    raise Refusal(grpc.StatusCode.UNIMPLEMENTED, "the conformance suite does not serve this method")
    yield  # an async generator, as a streaming behaviour is


@contextlib.asynccontextmanager
async def serving(
    s: Session, *, answer: Answer | None = None, sign: Sign | None = None, operator: bool = False, greet: bool = False
) -> AsyncIterator[SuitePeer]:
    """The party started afresh with the suite listening as its peer on this machine (`operator`: its response
    policy; `greet`: the suite says Hello to it first)."""
    if s.address.rsplit(":", 1)[0] not in LOOPBACK:
        raise CaseSkippedError("the suite listens on 127.0.0.1: the party under test must run on this machine")
    peer = SuitePeer(s, answer, sign)
    server = build_server(
        [service_handler(service, peer.behaviours(service)) for service in SERVICES],
        health_checking=False,
        server_reflection=False,
    )
    port = s.listen(server)
    await server.start()
    policy = control_pb.RESPONSE_POLICY_OPERATOR if operator else control_pb.RESPONSE_POLICY_AUTOMATIC
    try:
        await s.control.reset(policy, f"127.0.0.1:{port}")
        s.sequence = 1
        if greet:
            await s.hello()
        yield peer
    finally:
        # The party stops calling before the listener goes.
        await s.control.reset(control_pb.RESPONSE_POLICY_AUTOMATIC)
        await server.stop(0)
