"""Chapter 02: the envelope, its header, the receiver's order of checks, sequence, duplicates, clocks, outbox."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.internal import encoder

from deconflict.bridge.envelope import decode_envelope
from deconflict.client.peer import NOTICE_SERVICE, Delivery, PeerClient
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.peer import SuitePeer, serving
from deconflict.conformance.session import Observed, Session
from deconflict.models.channel import Suspension
from deconflict.models.envelope import Mode
from deconflict.models.notice import NoticeAmendment, NoticeCancellation
from deconflict.models.response import LogicalAcknowledgement
from deconflict.rpc.refusal import Refusal
from deconflict.v1 import envelope_pb2, response_pb2

# -- helpers, shared by the cases of chapters 01, 02, 09 and 12 -----------------------------------------------

ENVELOPE_TYPE = "deconflict.v1.Envelope"
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
Spoil = Callable[[envelope_pb2.Envelope], object]

# Each write RPC with the one body it takes (DCF-ENV-003), as the suite calls it.
WRITE_RPCS: dict[str, tuple[str, Callable[[PeerClient, envelope_pb2.SignedPayload], Awaitable[Delivery]]]] = {
    "SubmitNotice": ("notice", PeerClient.submit_notice),
    "AmendNotice": ("amendment", PeerClient.amend_notice),
    "CancelNotice": ("cancellation", PeerClient.cancel_notice),
    "RespondToNotice": ("response", PeerClient.respond_to_notice),
    "ProposeConference": ("conference_proposal", PeerClient.propose_conference),
    "AnswerConference": ("conference_answer", PeerClient.answer_conference),
    "RecordConference": ("conference_record", PeerClient.record_conference),
    "CancelConference": ("conference_cancellation", PeerClient.cancel_conference),
    "ReportIncident": ("incident_report", PeerClient.report_incident),
    "Suspend": ("suspension", PeerClient.suspend),
    "Resume": ("resumption", PeerClient.resume),
    "NotifyTimeout": ("timeout", PeerClient.notify_timeout),
}


def refused_as(
    refused: RefusedError, code: grpc.StatusCode, *, reason: str | None = None, field: str | None = None
) -> None:
    """Fail unless the refusal has `code`, and `reason` and a violation naming `field` when given."""
    expect(refused.code == code, code.name, f"{refused.code.name}: {refused.message}")
    if reason is not None:
        expect(refused.reason == reason, f"{code.name} with reason {reason}", refused.reason or "no reason")
    if field is not None:
        named = [path for path, _ in refused.violations]
        expect(field in named, f"a field violation naming {field}", named or "no field violation")


async def refused_with(
    s: Session, call: Awaitable[Any], code: grpc.StatusCode, *, reason: str | None = None, field: str | None = None
) -> RefusedError:
    """The refusal `call` must end in, checked as refused_as does."""
    refused = await s.refusal(call)
    refused_as(refused, code, reason=reason, field=field)
    return refused


async def received(s: Session) -> list[Observed]:
    """The messages the party stored from the suite."""
    return [record for record in await s.observed() if record.received]


async def sent_envelopes(s: Session) -> list[envelope_pb2.Envelope]:
    """The envelopes the party stored to send, in journal order."""
    return [record.envelope for record in await s.observed() if record.sent]


def padded(s: Session, signed: envelope_pb2.SignedPayload, size: int) -> envelope_pb2.SignedPayload:
    """The same envelope with an unknown field appended so that its payload is exactly `size` bytes.

    A receiver accepts fields it does not know (DCF-CMP-001), so this is still a valid message."""
    tag = encoder.TagBytes(19_999, 2)  # wire type 2: length-delimited bytes
    for length in range(max(0, size - len(signed.payload) - len(tag) - 5), size):
        extra = tag + _varint(length) + b"p" * length
        if len(signed.payload) + len(extra) == size:
            return s.seal(signed.payload + extra, signed.payload_type)
    raise ValueError(f"cannot pad a payload of {len(signed.payload)} bytes to {size}")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def near_now(moment: datetime, seconds: float = 10.0) -> bool:
    return abs((datetime.now(UTC) - moment).total_seconds()) <= seconds


# -- 2.1, 2.2: the envelope the party sends ----------------------------------------------------------------


@case(
    "envelope.party_sends_well_formed_envelopes",
    "DCF-ENV-001",
    "DCF-ENV-004",
    "DCF-ENV-005",
    "DCF-ENV-007",
    "DCF-ENV-008",
    "DCF-ENV-011",
    "DCF-ENV-012",
)
async def well_formed(s: Session) -> None:
    """Every envelope the party sends is a one-body SignedPayload with a full header, numbered 1, 2, 3..."""
    await s.hello()
    await s.originate("notice", s.notice(owner=s.target.party))
    await s.originate("notice", s.notice(owner=s.target.party))
    filed = await s.file(s.notice())
    answer = await s.answer_to(filed.acknowledgement.message_id)
    expect(answer is not None, "an operational response to the suite's notice", "none within 5 s")
    records = [record for record in await s.observed() if record.sent]
    expect(len(records) == 3, "3 envelopes sent (2 notices, 1 response)", len(records))
    ids: set[str] = set()
    for number, record in enumerate(records, start=1):
        e = record.envelope
        where = f"sent envelope {number}"
        expect(record.signed.payload_type == ENVELOPE_TYPE, f"{where}: payload_type {ENVELOPE_TYPE}",
               record.signed.payload_type)  # fmt: skip
        expect(e.WhichOneof("body") is not None, f"{where}: a body", "none")
        expect(bool(IDENTIFIER.fullmatch(e.message_id)), f"{where}: message_id an identifier", e.message_id)
        expect(e.message_id not in ids, f"{where}: a message_id not used before", e.message_id)
        ids.add(e.message_id)
        expect(e.channel_id == s.channel_id, f"{where}: channel_id {s.channel_id}", e.channel_id)
        expect(e.sender == s.target.party, f"{where}: sender {s.target.party}", e.sender)
        expect(e.recipient == s.party, f"{where}: recipient {s.party}", e.recipient)
        expect(e.sequence == number, f"{where}: sequence {number}", e.sequence)
        expect(e.HasField("created_time") and near_now(e.created_time.ToDatetime(UTC)),
               f"{where}: created_time set when originated", e.created_time)  # fmt: skip
        expect(e.HasField("protocol_version") and e.protocol_version.major == 1, f"{where}: protocol_version.major 1",
               e.protocol_version)  # fmt: skip
        expect(e.mode == envelope_pb2.MODE_OPERATIONAL, f"{where}: MODE_OPERATIONAL", e.mode)
    notices, response = records[:2], records[2].envelope
    expect(all(r.envelope.in_reply_to == "" for r in notices), "notices with an empty in_reply_to",
           [r.envelope.in_reply_to for r in notices])  # fmt: skip
    expect(response.in_reply_to == filed.acknowledgement.message_id,
           f"the response's in_reply_to {filed.acknowledgement.message_id}", response.in_reply_to)  # fmt: skip


@case("envelope.timeout_names_the_message_kind", "DCF-ENV-002", "DCF-ENV-011", timeout=20)
async def timeout_kinds(s: Session) -> None:
    """The party's ResponseTimeouts name the unanswered kind (NOTICE, AMENDMENT) and reply to that message."""
    await s.hello()
    first = await s.originate("notice", s.notice(owner=s.target.party))
    second = await s.originate("notice", s.notice(owner=s.target.party))
    amended = NoticeAmendment(replaces_version=1, notice=_notice_model(second).model_copy(update={"version": 2}))
    amendment = await s.originate("amendment", amended)
    await asyncio.sleep(3.0)  # the agreement's response time for notices and amendments
    expected = {first.message_id: response_pb2.MESSAGE_KIND_NOTICE,
                amendment.message_id: response_pb2.MESSAGE_KIND_AMENDMENT}  # fmt: skip
    for message_id, kind in expected.items():
        found = await s.sent(_timeout_for(message_id), within=4.0)
        name = response_pb2.MessageKind.Name(kind)
        expect(found is not None, f"a ResponseTimeout for the unanswered {name}", "none")
        assert found is not None
        got = response_pb2.MessageKind.Name(found.timeout.unanswered_kind)
        expect(found.timeout.unanswered_kind == kind, f"unanswered_kind {name}", got)
        expect(found.in_reply_to == message_id, f"in_reply_to {message_id} (its unanswered_message_id)",
               found.in_reply_to)  # fmt: skip


def _timeout_for(message_id: str) -> Callable[[envelope_pb2.Envelope], bool]:
    def match(envelope: envelope_pb2.Envelope) -> bool:
        return envelope.WhichOneof("body") == "timeout" and envelope.timeout.unanswered_message_id == message_id

    return match


def _notice_model(envelope: envelope_pb2.Envelope) -> Any:
    from deconflict.bridge.notice import flight_notice_data
    from deconflict.models.notice import FlightNotice

    return FlightNotice.model_validate(flight_notice_data(envelope.notice))


# -- 2.2: header checks at the receiver ---------------------------------------------------------------------

_HEADER_FAULTS: list[tuple[str, str, Spoil]] = [
    ("an empty message_id", "message_id", lambda m: setattr(m, "message_id", "")),
    ("a message_id with a space", "message_id", lambda m: setattr(m, "message_id", "not an id")),
    ("a message_id of 129 characters", "message_id", lambda m: setattr(m, "message_id", "m" * 129)),
    ("an empty channel_id", "channel_id", lambda m: setattr(m, "channel_id", "")),
    ("an empty sender", "sender", lambda m: setattr(m, "sender", "")),
    ("the recipient equal to the sender", "recipient", lambda m: setattr(m, "recipient", m.sender)),
    ("sequence 0", "sequence", lambda m: setattr(m, "sequence", 0)),
    ("no created_time", "created_time", lambda m: m.ClearField("created_time")),
    ("no protocol_version", "protocol_version", lambda m: m.ClearField("protocol_version")),
    ("protocol_version.major 2", "protocol_version.major", lambda m: setattr(m.protocol_version, "major", 2)),
    ("MODE_UNSPECIFIED", "mode", lambda m: setattr(m, "mode", 0)),
    ("an unknown mode", "mode", lambda m: setattr(m, "mode", 7)),
    ("no body", "body", lambda m: m.ClearField("notice")),
]


@case(
    "envelope.bad_header_refused_naming_the_field",
    "DCF-ENV-004",
    "DCF-ENV-005",
    "DCF-ENV-007",
    "DCF-ENV-008",
    "DCF-ENV-019",
    "DCF-ENV-032",
)
async def bad_header(s: Session) -> None:
    """Each broken header field (id, parties, sequence, time, version, mode, body) is INVALID_ARGUMENT naming it."""
    await s.hello()
    for what, field, spoil in _HEADER_FAULTS:
        signed = s.spoiled("notice", s.notice(), spoil)
        refused = await s.refusal(s.peer.submit_notice(signed))
        try:
            refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field=field)
        except CaseFailedError as failure:
            raise CaseFailedError(f"{failure.expected} for {what}", failure.got) from None
    expect(not await received(s), "nothing stored", "a stored message")
    # The sequence was not consumed by any of them (DCF-ENV-032).
    await s.file(s.notice())


@case("envelope.recipient_must_be_the_receiver", "DCF-ENV-006")
async def other_recipient(s: Session) -> None:
    """An envelope addressed to another party is refused with INVALID_ARGUMENT naming recipient."""
    await s.hello()
    signed = s.envelope("notice", s.notice(), recipient="someone-else")
    await refused_with(s, s.deliver(signed), grpc.StatusCode.INVALID_ARGUMENT, field="recipient")


@case("envelope.in_reply_to_only_for_replies", "DCF-ENV-011", "DCF-LIM-002")
async def in_reply_to(s: Session) -> None:
    """in_reply_to that is not an identifier, or set on a notice, is refused naming in_reply_to."""
    await s.hello()
    for value in ("not an id!", "some-message"):
        signed = s.spoiled("notice", s.notice(), lambda m, v=value: setattr(m, "in_reply_to", v))  # type: ignore[misc]
        await refused_with(s, s.deliver(signed), grpc.StatusCode.INVALID_ARGUMENT, field="in_reply_to")


@case("envelope.mode_follows_the_notice", "DCF-ENV-009", "DCF-ENV-032")
async def mode_follows(s: Session) -> None:
    """An EXERCISE amendment or cancellation of an OPERATIONAL notice, or an EXERCISE suspension, is refused
    naming mode."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    amended = NoticeAmendment(replaces_version=1, notice=notice.model_copy(update={"version": 2}))
    await refused_with(s, s.send("amendment", amended, mode=Mode.EXERCISE), grpc.StatusCode.INVALID_ARGUMENT,
                       field="mode")  # fmt: skip
    cancelled = NoticeCancellation(notice_id=notice.notice_id, version=1)
    await refused_with(s, s.send("cancellation", cancelled, mode=Mode.EXERCISE), grpc.StatusCode.INVALID_ARGUMENT,
                       field="mode")  # fmt: skip
    suspension = Suspension(suspension_id="exercise-suspension", effective_time=datetime.now(UTC), reason="drill")
    signed = s.spoiled("suspension", suspension, lambda m: setattr(m, "mode", envelope_pb2.MODE_EXERCISE))
    await refused_with(s, s.peer.suspend(signed), grpc.StatusCode.INVALID_ARGUMENT, field="mode")
    record = await s.peer.get_notice(s.channel_id, notice.notice_id)
    expect(record.record.notice.version == 1, "the notice still at version 1", record.record.notice.version)


@case("envelope.exercise_never_treated_as_real", "DCF-ENV-009", "DCF-ENV-010")
async def exercise(s: Session) -> None:
    """An EXERCISE notice over the party's real one is not a conflict; it is kept, and answered, as an exercise."""
    await s.hello()
    await s.originate("notice", s.notice(owner=s.target.party, offset_km=1500.0))
    mine = s.notice(offset_km=1500.0)
    filed = await s.file(mine, mode=Mode.EXERCISE)
    answer = await s.answer_to(filed.acknowledgement.message_id)
    expect(answer is not None, "an operational response", "none within 5 s")
    assert answer is not None
    kind = response_pb2.ResponseKind.Name(answer.response.kind)
    expect(answer.response.kind == response_pb2.RESPONSE_KIND_ROGER, "ROGER: no real conflict for an exercise", kind)
    expect(answer.mode == envelope_pb2.MODE_EXERCISE, "the response in MODE_EXERCISE, as the notice",
           envelope_pb2.Mode.Name(answer.mode))  # fmt: skip
    record = await s.peer.get_notice(s.channel_id, mine.notice_id)
    expect(record.record.mode == envelope_pb2.MODE_EXERCISE, "the notice kept as MODE_EXERCISE",
           envelope_pb2.Mode.Name(record.record.mode))  # fmt: skip


# -- 2.3, 2.4: the receiver's checks, in order -------------------------------------------------------------


@case("envelope.body_must_match_the_rpc", "DCF-ENV-003", "DCF-ENV-029", "DCF-ENV-032")
async def body_per_rpc(s: Session) -> None:
    """A notice sent with any write RPC but SubmitNotice, or an amendment with SubmitNotice, is refused naming
    body, and stores nothing."""
    await s.hello()
    wrong = []
    for method, (body, call) in WRITE_RPCS.items():
        if body == "notice":
            continue
        refused = await s.refusal(call(s.peer, s.envelope("notice", s.notice())))
        if refused.code != grpc.StatusCode.INVALID_ARGUMENT or "body" not in [p for p, _ in refused.violations]:
            wrong.append(f"{method}: {refused.code.name} {refused.violations}")
    notice = s.notice()
    amendment = NoticeAmendment(replaces_version=1, notice=notice.model_copy(update={"version": 2}))
    refused = await s.refusal(s.peer.submit_notice(s.envelope("amendment", amendment)))
    if refused.code != grpc.StatusCode.INVALID_ARGUMENT or "body" not in [p for p, _ in refused.violations]:
        wrong.append(f"SubmitNotice with an amendment: {refused.code.name} {refused.violations}")
    expect(not wrong, "INVALID_ARGUMENT naming body from each", "; ".join(wrong))
    expect(not await received(s), "nothing stored", "a stored message")
    await s.file(notice)


@case("envelope.request_and_payload_checked", "DCF-ENV-016", "DCF-ENV-017", "DCF-ENV-019", "DCF-LIM-006")
async def request_and_payload(s: Session) -> None:
    """No envelope, an empty, oversized or undecodable payload, or another payload_type: INVALID_ARGUMENT
    naming envelope, envelope.payload or envelope.payload_type."""
    await s.hello()
    from deconflict.v1 import notice_service_pb2

    await refused_with(s, s.peer.unary(NOTICE_SERVICE, "SubmitNotice", notice_service_pb2.SubmitNoticeRequest()),
                       grpc.StatusCode.INVALID_ARGUMENT, field="envelope")  # fmt: skip
    faults: list[tuple[str, str, Callable[[envelope_pb2.SignedPayload], object]]] = [
        ("an empty payload", "envelope.payload", lambda p: setattr(p, "payload", b"")),
        ("a payload of 1 MiB + 1 byte", "envelope.payload", lambda p: p.CopyFrom(padded(s, p, (1 << 20) + 1))),
        ("undecodable payload bytes", "envelope.payload", lambda p: p.CopyFrom(s.seal(b"\xff\xff\xff\xff"))),
        ("another payload_type", "envelope.payload_type", lambda p: setattr(p, "payload_type", "x.Other")),
    ]
    for what, field, spoil in faults:
        signed = s.envelope("notice", s.notice())
        spoil(signed)
        refused = await s.refusal(s.peer.submit_notice(signed))
        try:
            refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field=field)
        except CaseFailedError as failure:
            raise CaseFailedError(f"{failure.expected} for {what}", failure.got) from None
    # A payload of exactly 1 MiB is within the bound, and the transport carries it (DCF-LIM-006).
    await s.deliver(padded(s, s.envelope("notice", s.notice()), 1 << 20))


@case("envelope.unknown_channel_not_found", "DCF-ENV-020")
async def unknown_channel(s: Session) -> None:
    """An envelope on a channel the party does not serve is refused with NOT_FOUND."""
    await s.hello()
    signed = s.envelope("notice", s.notice(), channel_id="no-such-channel")
    await refused_with(s, s.deliver(signed), grpc.StatusCode.NOT_FOUND)


@case("envelope.sender_not_the_peer_refused", "DCF-ENV-021", "DCF-ENV-032")
async def not_the_peer(s: Session) -> None:
    """An envelope whose sender is not the channel's peer is refused with PERMISSION_DENIED, reason NOT_PEER."""
    await s.hello()
    signed = s.envelope("notice", s.notice(), sender="intruder")
    await refused_with(s, s.deliver(signed), grpc.StatusCode.PERMISSION_DENIED, reason="NOT_PEER")
    expect(not await received(s), "nothing stored", "a stored message")


@case("envelope.write_before_hello_refused", "DCF-ENV-022", "DCF-ENV-032")
async def write_before_hello(s: Session) -> None:
    """A write before Hello is refused with FAILED_PRECONDITION, reason HELLO_REQUIRED, and stores nothing."""
    await refused_with(s, s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, reason="HELLO_REQUIRED")
    expect(not await received(s), "nothing stored", "a stored message")


@case("envelope.sequence_gap_refused", "DCF-ENV-027", "DCF-ENV-028", "DCF-ENV-032", "DCF-ERR-008")
async def sequence_gap(s: Session) -> None:
    """A sequence above the expected one is refused with SEQUENCE_GAP and its SequenceGap, and stores nothing."""
    await s.hello()
    await s.file(s.notice())
    skipped = s.envelope("notice", s.notice(), sequence=s.sequence + 1)
    refused = await refused_with(s, s.deliver(skipped), grpc.StatusCode.FAILED_PRECONDITION, reason="SEQUENCE_GAP")
    gap = refused.sequence_gap
    expect(gap is not None and (gap.expected, gap.received) == (2, 3), "SequenceGap expected 2, received 3", gap)
    received_now = await received(s)
    expect(len(received_now) == 1, "only the first notice stored", f"{len(received_now)} received messages stored")


@case("envelope.replayed_sequence_refused", "DCF-ENV-027", "DCF-ENV-032")
async def replayed_sequence(s: Session) -> None:
    """A new message reusing a stored sequence is refused with ALREADY_EXISTS, SEQUENCE_REPLAYED; nothing stored."""
    await s.hello()
    await s.file(s.notice())
    reused = s.envelope("notice", s.notice(), sequence=s.sequence - 1)
    await refused_with(s, s.deliver(reused), grpc.StatusCode.ALREADY_EXISTS, reason="SEQUENCE_REPLAYED")
    received_now = await received(s)
    expect(len(received_now) == 1, "only the first notice stored", f"{len(received_now)} received messages stored")


@case("envelope.duplicate_gets_the_original_acknowledgement", "DCF-ENV-023")
async def duplicate(s: Session) -> None:
    """The same message sent twice is stored once and acknowledged twice with the same signed bytes."""
    await s.hello()
    signed = s.envelope("notice", s.notice())
    first = await s.deliver(signed)
    second = await s.deliver(signed)
    expect(first.signed == second.signed, "the same acknowledgement, byte for byte", second.acknowledgement)
    received_now = await received(s)
    expect(len(received_now) == 1, "one stored message", f"{len(received_now)}")
    # It changed nothing: the next sequence is still the one after the original.
    await s.file(s.notice())


@case("envelope.late_duplicate_still_acknowledged", "DCF-ENV-023", timeout=15)
async def late_duplicate(s: Session) -> None:
    """A stored message sent again after its created_time left the skew tolerance still gets its acknowledgement."""
    await s.hello()
    tolerance = s.agreement.model.clock_skew_tolerance
    created = datetime.now(UTC) - tolerance + timedelta(seconds=3)
    signed = s.envelope("notice", s.notice(), created_time=created)
    first = await s.deliver(signed)
    await asyncio.sleep(max(0.0, (created + tolerance - datetime.now(UTC)).total_seconds()) + 1.0)
    second = await s.deliver(signed)
    expect(first.signed == second.signed, "the same acknowledgement, however late", second.acknowledgement)


@case("envelope.same_id_other_content_refused", "DCF-ENV-024", "DCF-ENV-032")
async def same_id_other_content(s: Session) -> None:
    """A stored message id with other content is refused with ALREADY_EXISTS, reason MESSAGE_ID_REUSED."""
    await s.hello()
    delivered = await s.file(s.notice())
    other = s.envelope("notice", s.notice(), message_id=delivered.acknowledgement.message_id)
    await refused_with(s, s.deliver(other), grpc.StatusCode.ALREADY_EXISTS, reason="MESSAGE_ID_REUSED")
    expect(len(await received(s)) == 1, "only the original stored", "another stored message")


@case("envelope.clock_skew_refused", "DCF-ENV-025", "DCF-ENV-032")
async def clock_skew(s: Session) -> None:
    """created_time past the skew tolerance, early or late, is refused with CLOCK_SKEW naming the party's time
    and the tolerance."""
    await s.hello()
    tolerance = s.agreement.model.clock_skew_tolerance
    seconds = tolerance.total_seconds()
    for direction in (-1, 1):
        moment = datetime.now(UTC) + direction * (tolerance + timedelta(seconds=5))
        refused = await refused_with(s, s.file(s.notice(), created_time=moment), grpc.StatusCode.FAILED_PRECONDITION,
                                     reason="CLOCK_SKEW")  # fmt: skip
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        expect(today in refused.message, f"the status message naming the party's time (on {today})", refused.message)
        spellings = {f"{seconds:g}", f"{seconds:.1f}", f"PT{seconds:g}S", str(tolerance)}
        expect(any(text in refused.message for text in spellings),
               f"the status message naming the tolerance ({seconds:g} s)", refused.message)  # fmt: skip
    expect(not await received(s), "nothing stored", "a stored message")
    # Within the tolerance, either way, is accepted.
    await s.file(s.notice(), created_time=datetime.now(UTC) + tolerance - timedelta(seconds=5))


@case("envelope.checks_in_order", "DCF-ENV-015", "DCF-ENV-023")
async def checks_in_order(s: Session) -> None:
    """A message with two faults is answered for the one checked first, in the order of DCF-ENV-015."""
    notice = s.notice
    # (4) header before (6) Hello.
    signed = s.spoiled("notice", notice(), lambda m: setattr(m, "mode", 0))
    await refused_with(s, s.peer.submit_notice(signed), grpc.StatusCode.INVALID_ARGUMENT, field="mode")
    # (5) channel before (6) Hello.
    await refused_with(s, s.file(notice(), channel_id="no-such-channel"), grpc.StatusCode.NOT_FOUND)
    await s.hello()
    # (2) payload type before (4) parsing.
    signed = envelope_pb2.SignedPayload(payload_type="x.Other", payload=b"\xff\xff\xff\xff")
    await refused_with(s, s.peer.submit_notice(signed), grpc.StatusCode.INVALID_ARGUMENT,
                       field="envelope.payload_type")  # fmt: skip
    # (8) clock skew before (9) sequence.
    late = datetime.now(UTC) - s.agreement.model.clock_skew_tolerance - timedelta(seconds=60)
    await refused_with(s, s.file(notice(), created_time=late, sequence=5), grpc.StatusCode.FAILED_PRECONDITION,
                       reason="CLOCK_SKEW")  # fmt: skip
    # (9) sequence before (10) body against the RPC.
    gap = s.envelope("notice", notice(), sequence=5)
    await refused_with(s, s.peer.amend_notice(gap), grpc.StatusCode.FAILED_PRECONDITION, reason="SEQUENCE_GAP")
    # (10) body against the RPC before (11) body validity.
    bad = s.spoiled("notice", notice(), lambda m: setattr(m.notice, "aircraft_count", 0))
    await refused_with(s, s.peer.amend_notice(bad), grpc.StatusCode.INVALID_ARGUMENT, field="body")
    # (11) body validity before (12) the rules of its chapter (here: an amendment of no known notice).
    unknown = s.notice()
    amended = s.proto(
        "amendment", NoticeAmendment(replaces_version=1, notice=unknown.model_copy(update={"version": 2}))
    )
    amended.amendment.notice.aircraft_count = 0
    await refused_with(s, s.peer.amend_notice(s.raw(amended)), grpc.StatusCode.INVALID_ARGUMENT,
                       field="amendment.notice.aircraft_count")  # fmt: skip
    # (7) duplicate before (8) clock skew and (9) sequence: a stored message sent again is acknowledged.
    signed = s.envelope("notice", notice())
    first = await s.deliver(signed)
    await s.file(notice())
    again = await s.deliver(signed)
    expect(again.signed == first.signed, "the original acknowledgement for the duplicate", again.acknowledgement)


@case("envelope.body_field_paths_from_the_envelope", "DCF-ENV-030", "DCF-ERR-003")
async def body_paths(s: Session) -> None:
    """A bad field of a body is named by its path from the envelope, with indexes of repeated fields."""
    await s.hello()
    signed = s.spoiled("notice", s.notice(),
                     lambda m: setattr(m.notice.volumes[0].volume.polygon.vertices[2], "latitude", 95.0))  # fmt: skip
    await refused_with(s, s.deliver(signed), grpc.StatusCode.INVALID_ARGUMENT,
                       field="notice.volumes[0].volume.polygon.vertices[2].latitude")  # fmt: skip


@case("envelope.refused_message_changes_nothing", "DCF-ENV-013", "DCF-ENV-032")
async def refused_changes_nothing(s: Session) -> None:
    """A refused notice is not stored, not answered, not readable, and its sequence goes to the next message."""
    await s.hello()
    bad = s.notice()
    signed = s.spoiled("notice", bad, lambda m: setattr(m.notice, "aircraft_count", 0))
    refused = await s.refusal(s.deliver(signed))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT)
    not_found = await s.refusal(s.peer.get_notice(s.channel_id, bad.notice_id))
    refused_as(not_found, grpc.StatusCode.NOT_FOUND)
    good = await s.file(s.notice())
    expect(good.acknowledgement.message_sequence == 1, "the next message stored with sequence 1",
           good.acknowledgement.message_sequence)  # fmt: skip
    records = await s.observed()
    expect(len([r for r in records if r.received]) == 1, "only the good notice stored", len(records))
    refused_id = decode_envelope(signed.payload).message_id
    replies = [r for r in records if r.sent and r.envelope.in_reply_to == refused_id]
    expect(not replies, "no answer to the refused notice", replies)


# -- 2.5: the party's outbox, seen from a listening peer ----------------------------------------------------


@case("envelope.outbox_stores_first_and_retries_the_same_bytes", "DCF-ENV-033", "DCF-ENV-014", "DCF-ERR-014",
      timeout=20)  # fmt: skip
async def outbox_retries(s: Session) -> None:
    """The party stores a message before sending it, resends the same bytes after UNAVAILABLE, Hellos again after
    HELLO_REQUIRED, resends the missing sequence after SEQUENCE_GAP, and never sends n+1 before n is acknowledged."""
    stored_before: list[bool] = []

    async def answer(attempt: int, signed: envelope_pb2.SignedPayload) -> Refusal | LogicalAcknowledgement | None:
        journal = [r.signed.payload for r in await s.observed() if r.sent]
        stored_before.append(signed.payload in journal)
        sequence = decode_envelope(signed.payload).sequence
        if attempt == 0:
            return Refusal.unavailable()
        if attempt == 1:
            return Refusal.failed_precondition("HELLO_REQUIRED", "say Hello first")
        if attempt == 3 and sequence == 2:
            # Pretend sequence 1 was lost: the party delivers it again, then 2.
            return Refusal.gap(expected=1, received=2)
        await asyncio.sleep(0.2)  # keeps the message unacknowledged a while, for DCF-ENV-014
        return None

    async with serving(s, answer=answer) as peer:
        await peer.until("a Hello from the party to its peer", lambda: bool(peer.named("Hello")))
        hellos_before = len(peer.named("Hello"))
        await s.originate("notice", s.notice(owner=s.target.party))
        await s.originate("notice", s.notice(owner=s.target.party))
        await peer.until("6 writes from the party", lambda: len(peer.writes) >= 6, within=10.0)
        payloads = [call.request.envelope.payload for call in peer.writes]
        sequences = [decode_envelope(payload).sequence for payload in payloads]
        expect(all(stored_before), "every message in the party's journal before it arrives", stored_before)
        expect(payloads[0] == payloads[1] == payloads[2],
               "the same payload bytes after UNAVAILABLE and after HELLO_REQUIRED", sequences)  # fmt: skip
        expect(len(peer.named("Hello")) > hellos_before, "a new Hello after HELLO_REQUIRED", "none")
        expect(sequences[:6] == [1, 1, 1, 2, 1, 2], "sequences 1, 1, 1, 2, then 1 again after the gap, 2",
               sequences)  # fmt: skip
        expect(payloads[4] == payloads[0] and payloads[5] == payloads[3], "the same bytes resent", "other bytes")
        expect(not peer.overlapped, "one message at a time over unary RPCs", "a write sent while another waited")


@case("envelope.outbox_checks_the_acknowledgement", "DCF-ENV-034", timeout=20)
async def outbox_checks_ack(s: Session) -> None:
    """An acknowledgement naming another message or another payload hash raises an alert, and the party sends the
    message again."""
    wrong_fields: list[dict[str, Any]] = [
        {"message_id": "another-message"},
        {"payload_sha256": hashlib.sha256(b"other bytes").digest()},
    ]
    peer_ref: list[SuitePeer] = []

    async def answer(attempt: int, signed: envelope_pb2.SignedPayload) -> Refusal | LogicalAcknowledgement | None:
        if attempt < len(wrong_fields):
            return peer_ref[0].acknowledgement(signed, **wrong_fields[attempt])
        return None

    async with serving(s, answer=answer) as peer:
        peer_ref.append(peer)
        sent = await s.originate("notice", s.notice(owner=s.target.party))
        wanted = len(wrong_fields) + 1
        await peer.until(f"{wanted} writes from the party", lambda: len(peer.writes) >= wanted, within=10.0)
        ids = {decode_envelope(call.request.envelope.payload).message_id for call in peer.writes}
        expect(ids == {sent.message_id}, f"the same message {sent.message_id} resent", ids)
        alerts = await s.alerts()
        expect(len(alerts) >= len(wrong_fields), f"{len(wrong_fields)} alerts, one per wrong acknowledgement",
               [a.text for a in alerts])  # fmt: skip


@case("envelope.outbox_definitive_refusal_alerts", "DCF-ENV-035", timeout=15)
async def outbox_refused(s: Session) -> None:
    """A definitive refusal of the party's message raises an operator alert naming the message and the refusal."""

    async def answer(attempt: int, signed: envelope_pb2.SignedPayload) -> Refusal | LogicalAcknowledgement | None:
        return Refusal.invalid([("notice.remarks", "is refused by the suite")])

    async with serving(s, answer=answer) as peer:
        sent = await s.originate("notice", s.notice(owner=s.target.party))
        await peer.until("a write from the party", lambda: bool(peer.writes))
        deadline = time.monotonic() + 3.0
        naming: list[str] = []
        while time.monotonic() < deadline and not naming:
            alerts = await s.alerts()
            naming = [a.text for a in alerts if sent.message_id in a.text + " " + a.subject_id]
            await asyncio.sleep(0.1)
        expect(bool(naming), f"an alert naming message {sent.message_id}", [a.text for a in await s.alerts()])
        expect(any("INVALID_ARGUMENT" in text or "notice.remarks" in text for text in naming),
               "the alert naming the refusal (its code or field)", naming)  # fmt: skip
