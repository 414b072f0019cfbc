"""Chapter 05: the two acknowledgement levels, the operational response and its dialogue, and the response timers.

The suite plays both ends of a dialogue: the owner (it files notices and the party answers them) and the responder
(the party originates notices and the suite answers them, or stays silent). Where the party waits for the suite,
the suite also listens as its peer and acknowledges what the party sends, so that the party's timers run from the
suite's acknowledgement, as DCF-TMR-001 says.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from deconflict.bridge.envelope import decode_envelope
from deconflict.client.peer import Delivery
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, CaseSkippedError, case, expect
from deconflict.conformance.peer import serving
from deconflict.conformance.session import ORIGIN, Session, flight_level
from deconflict.models.channel import IncidentReport, InvolvedAircraft, Resumption, Suspension
from deconflict.models.conference import (
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceDecline,
    ConferenceProposal,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeAmendment,
    NoticeCancellation,
    NoticeCategory,
)
from deconflict.models.response import (
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
    UnableReason,
)
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from deconflict.v1 import (
    conference_pb2,
    envelope_pb2,
    notice_pb2,
    response_pb2,
)

# -- helpers, also used by the timing cases

PENDING = response_pb2.DIALOGUE_STATE_PENDING
STANDBY_STATE = response_pb2.DIALOGUE_STATE_STANDBY
ANSWERED = response_pb2.DIALOGUE_STATE_ANSWERED
TIMED_OUT = response_pb2.DIALOGUE_STATE_TIMED_OUT
SUPERSEDED = response_pb2.DIALOGUE_STATE_SUPERSEDED
NO_RESPONSE = response_pb2.RESPONSE_KIND_UNSPECIFIED
# How far the suite's clock and the party's may differ in these checks: both run on one machine, or close to it.
NEAR_S = 5.0
# How far a time the party computes may lie from the one the specification defines (timestamp rounding).
EXACT_S = 0.05
# How far `waited` may lie from the wait the suite measured: the party creates the timeout a moment after it
# computes it.
WAITED_S = 0.5


def _time(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(UTC)


def _kind(kind: int) -> str:
    return response_pb2.ResponseKind.Name(kind)  # type: ignore[arg-type]


def _state(state: int) -> str:
    return response_pb2.DialogueState.Name(state)  # type: ignore[arg-type]


def _response_time(s: Session, kind: MessageKind) -> timedelta:
    wait = s.agreement.model.response_time(kind)
    if wait is None:
        raise CaseSkippedError(f"the agreement sets no response timer for {kind.name}")
    return wait


def _opened(delivery: Delivery) -> response_pb2.LogicalAcknowledgement:
    """The acknowledgement as the party signed it, read from its bytes rather than from the opened model."""
    return response_pb2.LogicalAcknowledgement.FromString(delivery.signed.payload)


async def _refused(call: Awaitable[Any], code: grpc.StatusCode, reason: str = "", *paths: str) -> str:
    """'' when `call` is refused with `code`, and `reason` and a violation of one of `paths` when given; what
    happened otherwise."""
    try:
        await call
    except RefusedError as error:
        named = [path for path, _ in error.violations]
        if (
            error.code == code
            and (not reason or error.reason == reason)
            and (not paths or any(path in named for path in paths))
        ):
            return ""
        return f"{error.code.name}, reason {error.reason or '(none)'}, naming {', '.join(named) or 'nothing'}"
    return "accepted"


async def _each_refused(checks: list[tuple[Any, ...]]) -> list[str]:
    """Runs each check (what, call, code, reason, *paths) in turn; one line for each that went otherwise."""
    wrong = []
    for what, call, code, reason, *paths in checks:
        got = await _refused(call, code, reason, *paths)
        if got:
            wanted = code.name + (f" {reason}" if reason else "") + (f" naming {' or '.join(paths)}" if paths else "")
            wrong.append(f"{what}: {got}, not {wanted}")
    return wrong


async def _record(s: Session, notice_id: str) -> Any:
    """The party's NoticeRecord of a notice, either party's."""
    return (await s.peer.get_notice(s.channel_id, notice_id)).record


def _dialogue_of(record: Any) -> str:
    due = _time(record.response_due_time).isoformat() if record.HasField("response_due_time") else "no due time"
    return f"{_state(record.dialogue_state)}, last_response {_kind(record.last_response)}, {due}"


def _own(s: Session, **changes: Any) -> FlightNotice:
    """A notice of the party under test, for it to originate."""
    return s.notice(owner=s.target.party, **changes)


def _filed(envelope: envelope_pb2.Envelope) -> notice_pb2.FlightNotice:
    """The notice version a notice or amendment envelope carries."""
    return envelope.notice if envelope.WhichOneof("body") == "notice" else envelope.amendment.notice


def _answer(
    s: Session, filed: envelope_pb2.Envelope, kind: ResponseKind, *, in_reply_to: str | None = None, **fields: Any
) -> Awaitable[Delivery]:
    """The suite's response to the notice version the party filed with `filed`."""
    notice = _filed(filed)
    response = OperationalResponse(notice_id=notice.notice_id, notice_version=notice.version, kind=kind, **fields)
    reply = filed.message_id if in_reply_to is None else in_reply_to
    return s.send("response", response, in_reply_to=reply)


async def party_sent(s: Session, body: str) -> list[envelope_pb2.Envelope]:
    """Every envelope with `body` the party sent, in the order it stored them."""
    return [r.envelope for r in await s.observed() if r.sent and r.envelope.WhichOneof("body") == body]


async def _sent_at(s: Session, message_id: str) -> tuple[int, datetime] | None:
    """Where and when the party stored a message it sent."""
    pages = await s.control.observed(s.channel_id, 0)
    for observation in pages.observations:
        sent = observation.kind == control_pb.OBSERVATION_KIND_SENT
        if sent and decode_envelope(observation.payload.payload).message_id == message_id:
            return observation.position, _time(observation.stored_time)
    return None


async def until(what: str, found: Callable[[], Awaitable[Any]], within: float) -> Any:
    """The first true value of `found`, polled for `within` seconds; fails the case after."""
    deadline = time.monotonic() + within
    while True:
        value = await found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CaseFailedError(what, f"nothing within {within:.1f} s")
        await asyncio.sleep(0.05)


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))


def _incident(s: Session) -> IncidentReport:
    return IncidentReport(
        incident_id=f"incident-{uuid.uuid4().hex[:12]}",
        occurred_time=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
        position=ORIGIN,
        altitude=flight_level(150),
        aircraft=[
            InvolvedAircraft(party=s.party, aircraft_category=AircraftCategory.FIXED_WING, callsign="RAVEN21"),
            InvolvedAircraft(party=s.target.party, aircraft_category=AircraftCategory.ROTARY_WING),
        ],
        narrative="Two aircraft passed closer than the agreed minimum near the border.",
    )


def _suspension() -> Suspension:
    return Suspension(
        suspension_id=f"suspension-{uuid.uuid4().hex[:12]}",
        effective_time=datetime.now(UTC),
        reason="Exercise of the suspension procedure",
    )


def _resumption(suspension_id: str) -> Resumption:
    return Resumption(suspension_id=suspension_id, effective_time=datetime.now(UTC), reason="Exercise over")


def _timeout_for(
    filed: envelope_pb2.Envelope, acknowledged: response_pb2.LogicalAcknowledgement, **changes: Any
) -> ResponseTimeout:
    """The suite's ResponseTimeout for the notice version it filed with `filed`, acknowledged with `acknowledged`."""
    notice = _filed(filed)
    due = _time(acknowledged.response_due_time) if acknowledged.HasField("response_due_time") else datetime.now(UTC)
    fields: dict[str, Any] = {
        "unanswered_message_id": filed.message_id,
        "unanswered_kind": MessageKind.NOTICE if filed.WhichOneof("body") == "notice" else MessageKind.AMENDMENT,
        "notice_id": notice.notice_id,
        "notice_version": notice.version,
        "due_time": due,
        "waited": max(datetime.now(UTC) - _time(acknowledged.stored_time), timedelta(0)),
    }
    fields.update(changes)
    return ResponseTimeout.model_validate(fields)


# -- 5.1 the logical acknowledgement


@case("acknowledgement.stored_before_acknowledged", "DCF-ACK-001", "DCF-ACK-005", "DCF-ENV-031")
async def stored_first(s: Session) -> None:
    """When the acknowledgement arrives, the message is already in the party's journal at journal_position."""
    await s.hello()
    delivered = await s.file(s.notice())
    position = delivered.acknowledgement.journal_position
    found = {o.position: o for o in await s.observed()}
    record = found.get(position)
    expect(record is not None and record.received, f"the message stored at position {position}", "nothing there")
    assert record is not None
    expect(
        record.envelope.message_id == delivered.acknowledgement.message_id,
        delivered.acknowledgement.message_id,
        record.envelope.message_id,
    )


@dataclass(frozen=True)
class _Write:
    """One of the suite's messages, as sent and as acknowledged, and what its acknowledgement must say."""

    what: str
    signed: envelope_pb2.SignedPayload
    delivery: Delivery
    notice_id: str = ""
    notice_version: int = 0
    late: bool = False
    owes_answer: bool = False


async def _one_of_each(s: Session) -> list[_Write]:
    """A message of every body the suite can send to an operator-answered party, each acknowledged."""
    await s.reset(operator=True)
    await s.hello()
    done: list[_Write] = []

    async def send(what: str, body: str, value: object, **expected: Any) -> Delivery:
        signed = s.envelope(body, value, **expected.pop("header", {}))
        delivery = await s.deliver(signed)
        done.append(_Write(what, signed, delivery, **expected))
        return delivery

    soon = timedelta(minutes=20)  # well inside the agreement's minimum lead time
    on_time = s.notice()
    await send("a notice", "notice", on_time, notice_id=on_time.notice_id, notice_version=1, owes_answer=True)
    amended = NoticeAmendment(replaces_version=1, notice=on_time.model_copy(update={"version": 2}))
    await send("an amendment", "amendment", amended, notice_id=on_time.notice_id, notice_version=2, owes_answer=True)
    moved = on_time.model_copy(update={"version": 3, "volumes": s.notice(start_in=soon).volumes})
    late_amendment = NoticeAmendment(replaces_version=2, notice=moved)
    last = await send("a late amendment", "amendment", late_amendment, notice_id=on_time.notice_id, notice_version=3,
                      late=True, owes_answer=True)  # fmt: skip
    late = s.notice(start_in=soon)
    await send("a late notice", "notice", late, notice_id=late.notice_id, notice_version=1, late=True, owes_answer=True)
    cancellation = NoticeCancellation(notice_id=late.notice_id, version=1)
    await send("a cancellation of the late notice", "cancellation", cancellation, notice_id=late.notice_id,
               notice_version=1)  # fmt: skip
    emergency = s.notice(start_in=soon, category=NoticeCategory.EMERGENCY)
    await send("a late-starting EMERGENCY notice", "notice", emergency, notice_id=emergency.notice_id,
               notice_version=1, owes_answer=True)  # fmt: skip
    # A timeout for the late amendment, whose dialogue the party holds open with STANDBY.
    amendment_message = decode_envelope(done[2].signed.payload)
    timeout = _timeout_for(amendment_message, _opened(last))
    await send("a timeout", "timeout", timeout, notice_id=on_time.notice_id, notice_version=3,
               header={"in_reply_to": amendment_message.message_id})  # fmt: skip
    theirs = await s.originate("notice", _own(s))
    roger = OperationalResponse(notice_id=theirs.notice.notice_id, notice_version=1, kind=ResponseKind.ROGER)
    await send("a response", "response", roger, notice_id=theirs.notice.notice_id, notice_version=1,
               header={"in_reply_to": theirs.message_id})  # fmt: skip
    await send("an incident report", "incident_report", _incident(s))
    suspension = _suspension()
    await send("a suspension", "suspension", suspension)
    await send("a resumption", "resumption", _resumption(suspension.suspension_id))
    return done


@case(
    "acknowledgement.names_the_message_it_acknowledges",
    "DCF-ACK-002",
    "DCF-ACK-003",
    "DCF-ACK-004",
    "DCF-ACK-006",
    "DCF-ACK-007",
)
async def names_the_message(s: Session) -> None:
    """For every body, the acknowledgement is a LogicalAcknowledgement naming the channel, the party, the message,
    its sender, sequence and payload hash, the notice version it concerns, and the time the party stored it."""
    writes = await _one_of_each(s)
    journal = {o.position: o for o in await s.observed()}
    stamps = {o.position: _time(o.stored_time) for o in (await s.control.observed(s.channel_id, 0)).observations}
    wrong: list[str] = []
    for write in writes:
        envelope = decode_envelope(write.signed.payload)
        signed = write.delivery.signed
        if signed.payload_type != ACKNOWLEDGEMENT_TYPE:
            wrong.append(f"{write.what}: payload_type {signed.payload_type!r}")
            continue
        ack = _opened(write.delivery)
        names = (ack.channel_id, ack.acknowledging_party, ack.message_id, ack.message_sender, ack.message_sequence)
        wanted = (s.channel_id, s.target.party, envelope.message_id, s.party, envelope.sequence)
        if names != wanted:
            wrong.append(f"{write.what}: names {names}, not {wanted}")
        if ack.payload_sha256 != hashlib.sha256(write.signed.payload).digest():
            wrong.append(f"{write.what}: payload_sha256 is not the SHA-256 of the payload sent")
        if (ack.notice_id, ack.notice_version) != (write.notice_id, write.notice_version):
            wrong.append(
                f"{write.what}: concerns {ack.notice_id or '(none)'} v{ack.notice_version}, "
                f"not {write.notice_id or '(none)'} v{write.notice_version}"
            )
        stored = _time(ack.stored_time)
        record = journal.get(ack.journal_position)
        if record is None or record.envelope.message_id != envelope.message_id:
            wrong.append(f"{write.what}: not in the journal at journal_position {ack.journal_position}")
        elif stamps[ack.journal_position] != stored:
            wrong.append(
                f"{write.what}: stored_time {stored.isoformat()}, but stored at "
                f"{stamps[ack.journal_position].isoformat()}"
            )
        if abs((datetime.now(UTC) - stored).total_seconds()) > NEAR_S:
            wrong.append(f"{write.what}: stored_time {stored.isoformat()} is not now")
    expect(not wrong, "each acknowledgement naming exactly its message", "; ".join(wrong))


@case("acknowledgement.late_exactly_for_late_notices", "DCF-ACK-008", "DCF-TIM-007")
async def late_exactly(s: Session) -> None:
    """`late` is true for a notice or amendment starting within the agreement's minimum lead time, and false for
    every other message, EMERGENCY notices and cancellations of late notices included."""
    writes = await _one_of_each(s)
    wrong = [
        f"{write.what}: late {_opened(write.delivery).late}"
        for write in writes
        if _opened(write.delivery).late != write.late
    ]
    expect(not wrong, "late true exactly for the late notice and the late amendment", "; ".join(wrong))


@case(
    "acknowledgement.response_due_time_only_when_an_answer_is_owed",
    "DCF-ACK-009",
    "DCF-TMR-001",
    "DCF-TIM-007",
)
async def due_when_owed(s: Session) -> None:
    """A notice's or amendment's acknowledgement is due at its stored_time plus the agreement's response_time; no
    other message's acknowledgement has a response_due_time."""
    writes = await _one_of_each(s)
    wrong = []
    for write in writes:
        ack = _opened(write.delivery)
        body = decode_envelope(write.signed.payload).WhichOneof("body")
        if not write.owes_answer:
            if ack.HasField("response_due_time"):
                wrong.append(f"{write.what}: response_due_time {_time(ack.response_due_time).isoformat()}")
            continue
        wait = _response_time(s, MessageKind.NOTICE if body == "notice" else MessageKind.AMENDMENT)
        wanted = _time(ack.stored_time) + wait
        if not ack.HasField("response_due_time"):
            wrong.append(f"{write.what}: no response_due_time")
        elif _time(ack.response_due_time) != wanted:
            wrong.append(f"{write.what}: due {_time(ack.response_due_time).isoformat()}, not {wanted.isoformat()}")
    expect(not wrong, "response_due_time = stored_time + response_time exactly when an answer is owed",
           "; ".join(wrong))  # fmt: skip


@case("acknowledgement.no_sequence_and_nothing_answers_it", "DCF-ACK-010", "DCF-RSP-001")
async def no_loops(s: Session) -> None:
    """Acknowledgements take no sequence number and draw no message; the party answers the notice and nothing that
    requires no answer (cancellation, incident report, suspension, resumption)."""
    async with serving(s, greet=True) as peer:
        notice = s.notice()
        filed = await s.file(notice)
        # The answer first: a cancellation stored before it supersedes the notice, which then needs none
        # (DCF-RSP-024), and a party may answer a moment after the acknowledgement (DCF-TIM-003).
        answer = await s.answer_to(filed.acknowledgement.message_id)
        expect(answer is not None, "an operational response to the notice", "none within 5 s")
        assert answer is not None
        await s.cancel(notice.notice_id, 1)
        await s.send("incident_report", _incident(s))
        suspension = _suspension()
        await s.send("suspension", suspension)
        await s.send("resumption", _resumption(suspension.suspension_id))
        await peer.acknowledged(answer.message_id)
        await asyncio.sleep(1.0)  # room for anything the party would send about the acknowledgements
        sent = [(r.envelope.WhichOneof("body"), r.envelope.in_reply_to) for r in await s.observed() if r.sent]
        expect(answer.sequence == 1, "the response to carry sequence 1: the acknowledgement took none",
               f"sequence {answer.sequence}")  # fmt: skip
        expect(sent == [("response", filed.acknowledgement.message_id)],
               "one message sent: the response to the notice", sent)  # fmt: skip
        pushed = [(p.method, p.envelope.message_id) for p in peer.pushed]
        expect(pushed == [("RespondToNotice", answer.message_id)], "only the response pushed to the suite", pushed)


@case("acknowledgement.sender_keeps_the_acknowledgement", "DCF-ACK-012")
async def keeps_the_acknowledgement(s: Session) -> None:
    """The party stores the suite's acknowledgement of its message, byte for byte as the suite signed it."""
    async with serving(s, greet=True) as peer:
        sent = await s.originate("notice", _own(s))
        given = await peer.arrived(sent.message_id)

        async def kept() -> list[envelope_pb2.SignedPayload]:
            received = control_pb.OBSERVATION_KIND_ACKNOWLEDGEMENT_RECEIVED
            return [r.signed for r in await s.observed() if r.kind == received]

        stored = await until("the acknowledgement in the party's journal", kept, 5.0)
        expect(given.acknowledgement in stored, "the suite's acknowledgement stored as signed",
               f"{len(stored)} other acknowledgement(s)")  # fmt: skip


@case("acknowledgement.response_is_a_later_separate_message", "DCF-ACK-001", "DCF-ACK-011")
async def separate_and_later(s: Session) -> None:
    """The acknowledgement neither waits for nor carries a decision: a conflicting notice is acknowledged, not
    refused, and answered UNABLE in a later envelope; an operator's answer follows its acknowledgement."""
    await s.hello()
    theirs = await s.originate("notice", _own(s, offset_km=2500.0))
    delivered = await s.file(s.notice(offset_km=2500.0))
    ack = _opened(delivered)
    answer = await s.answer_to(ack.message_id)
    expect(answer is not None, "an UNABLE response after the acknowledgement", "none within 5 s")
    assert answer is not None
    expect(answer.response.kind == response_pb2.RESPONSE_KIND_UNABLE, "UNABLE: the notices conflict",
           _kind(answer.response.kind))  # fmt: skip
    expect(theirs.notice.notice_id in [c.notice_id for c in answer.response.conflicts],
           f"the conflict with {theirs.notice.notice_id} named", list(answer.response.conflicts))  # fmt: skip
    at = await _sent_at(s, answer.message_id)
    assert at is not None
    expect(at[0] > ack.journal_position and at[1] >= _time(ack.stored_time),
           f"the response stored after the notice (position {ack.journal_position})",
           f"position {at[0]} at {at[1].isoformat()}")  # fmt: skip

    await s.reset(operator=True)
    await s.hello()
    started = time.monotonic()
    delivered = await s.file(s.notice())
    took = time.monotonic() - started
    ack = _opened(delivered)
    standby = await s.answer_to(ack.message_id)
    finals = [e for e in await party_sent(s, "response") if e.response.kind != response_pb2.RESPONSE_KIND_STANDBY]
    expect(not finals and standby is not None, "only STANDBY while the operator has not decided",
           [_kind(e.response.kind) for e in finals])  # fmt: skip
    expect(took < 5.0, "the acknowledgement at once, not after the operator's decision", f"{took:.1f} s")
    decided = await s.originate(
        "response",
        OperationalResponse(notice_id=ack.notice_id, notice_version=1, kind=ResponseKind.ACCEPT),
        in_reply_to=ack.message_id,
    )
    at = await _sent_at(s, decided.message_id)
    assert at is not None
    expect(at[0] > ack.journal_position, "the operator's ACCEPT in its own, later envelope", f"position {at[0]}")


# -- 5.2, 5.3 the operational response, checked at the owner's node


@case(
    "response.refusals_in_order",
    "DCF-RSP-012",
    "DCF-RSP-013",
    "DCF-RSP-014",
    "DCF-RSP-015",
    "DCF-RSP-016",
)
async def refusals_in_order(s: Session) -> None:
    """Responses to an unknown notice, to the suite's own, to a superseded or cancelled version, to a closed dialogue
    or with a wrong in_reply_to are refused with their own status, in the order of DCF-RSP-016."""
    await s.hello()
    own = s.notice()
    await s.file(own)
    notice = _own(s)
    first = await s.originate("notice", notice)
    second = await s.originate(
        "amendment", NoticeAmendment(replaces_version=1, notice=notice.model_copy(update={"version": 2}))
    )
    ended = await s.originate("notice", _own(s))
    await s.originate("cancellation", NoticeCancellation(notice_id=ended.notice.notice_id, version=1))
    stray = str(uuid.uuid4())
    roger = ResponseKind.ROGER
    unknown = OperationalResponse(notice_id="party-under-test/no-such-notice", notice_version=1, kind=roger)
    ours = OperationalResponse(notice_id=own.notice_id, notice_version=1, kind=roger)
    ours_v9 = OperationalResponse(notice_id=own.notice_id, notice_version=9, kind=roger)
    failed, invalid = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    wrong = await _each_refused([
        ("an unknown notice", s.send("response", unknown, in_reply_to=stray), grpc.StatusCode.NOT_FOUND, ""),
        ("the suite's own notice", s.send("response", ours, in_reply_to=stray),
         grpc.StatusCode.PERMISSION_DENIED, "OWN_NOTICE"),
        ("the suite's own notice, at a version it does not have", s.send("response", ours_v9, in_reply_to=stray),
         grpc.StatusCode.PERMISSION_DENIED, "OWN_NOTICE"),
        ("the superseded version 1", _answer(s, first, roger), failed, "VERSION_NOT_CURRENT"),
        ("version 1, with a wrong in_reply_to", _answer(s, first, roger, in_reply_to=stray),
         failed, "VERSION_NOT_CURRENT"),
        ("a cancelled notice", _answer(s, ended, roger), failed, "NOTICE_ENDED"),
        ("version 2 in reply to version 1's message", _answer(s, second, roger, in_reply_to=first.message_id),
         invalid, "", "in_reply_to"),
    ])  # fmt: skip
    await _answer(s, second, ResponseKind.ACCEPT)
    wrong += await _each_refused([
        ("a second answer to version 2", _answer(s, second, roger), failed, "DIALOGUE_CLOSED"),
        ("a second answer to version 2 with a wrong in_reply_to", _answer(s, second, roger, in_reply_to=stray),
         failed, "DIALOGUE_CLOSED"),
    ])  # fmt: skip
    expect(not wrong, "each response refused with its status, the earlier check first", "; ".join(wrong))


# -- 5.4 the dialogue, at the owner's node and at the responder's


@case(
    "response.owner_dialogue_follows_the_table",
    "DCF-RSP-017",
    "DCF-RSP-018",
    "DCF-RSP-019",
    "DCF-RSP-026",
    "DCF-RSP-034",
    "DCF-RSP-035",
    "DCF-TMR-001",
    "DCF-TMR-002",
)
async def owner_dialogue(s: Session) -> None:
    """The party's record of its notice shows PENDING due at the suite's acknowledgement's due time, then STANDBY
    due a full response time after each STANDBY's stored_time, then ANSWERED with no due time."""
    wait = _response_time(s, MessageKind.NOTICE)
    async with serving(s, greet=True) as peer:
        sent = await s.originate("notice", _own(s))
        ours = await peer.acknowledged(sent.message_id)
        notice_id = sent.notice.notice_id
        wrong = []

        async def check(when: str, state: int, last: int, due: datetime | None) -> None:
            record = await _record(s, notice_id)
            held = _time(record.response_due_time) if record.HasField("response_due_time") else None
            if (record.dialogue_state, record.last_response, held) != (state, last, due):
                wanted = f"{_state(state)}, last_response {_kind(last)}, {due.isoformat() if due else 'no due time'}"
                wrong.append(f"{when}: {_dialogue_of(record)}, not {wanted}")

        await check("filed", PENDING, NO_RESPONSE, _time(ours.response_due_time))
        for count in (1, 2):
            standby = _opened(await _answer(s, sent, ResponseKind.STANDBY))
            await check(f"after STANDBY {count}", STANDBY_STATE, response_pb2.RESPONSE_KIND_STANDBY,
                        _time(standby.stored_time) + wait)  # fmt: skip
            await asyncio.sleep(0.2)
        await _answer(s, sent, ResponseKind.ROGER)
        await check("after ROGER", ANSWERED, response_pb2.RESPONSE_KIND_ROGER, None)
        expect(not wrong, "PENDING, STANDBY restarting the timer, then ANSWERED", "; ".join(wrong))


def _final_answers(s: Session) -> list[tuple[ResponseKind, dict[str, Any]]]:
    return [
        (ResponseKind.ACCEPT, {}),
        (ResponseKind.UNABLE, {"reasons": [UnableReason.OTHER], "remarks": "Airspace reserved for an exercise."}),
        (ResponseKind.ROGER, {}),
        (ResponseKind.COUNTER, {"counter_volumes": s.notice(start_in=timedelta(hours=6)).volumes}),
    ]


@case("response.final_kinds_close_the_dialogue", "DCF-RSP-004", "DCF-RSP-015", "DCF-RSP-019", "DCF-RSP-032")
async def final_kinds(s: Session) -> None:
    """ACCEPT, UNABLE, ROGER and COUNTER each close the dialogue (a later answer is refused DIALOGUE_CLOSED) while
    STANDBY keeps it open; a COUNTER leaves the notice as filed."""
    await s.hello()
    wrong = []
    for kind, fields in _final_answers(s):
        notice = _own(s)
        sent = await s.originate("notice", notice)
        await _answer(s, sent, ResponseKind.STANDBY)
        await _answer(s, sent, ResponseKind.STANDBY)
        await _answer(s, sent, kind, **fields)
        record = await _record(s, notice.notice_id)
        if (record.dialogue_state, record.last_response) != (ANSWERED, kind.value):
            wrong.append(f"after {kind.name}: {_dialogue_of(record)}")
        got = await _refused(_answer(s, sent, ResponseKind.STANDBY), grpc.StatusCode.FAILED_PRECONDITION,
                             "DIALOGUE_CLOSED")  # fmt: skip
        if got:
            wrong.append(f"a STANDBY after {kind.name}: {got}")
        if kind == ResponseKind.COUNTER and record.notice != s.proto("notice", notice).notice:
            wrong.append(f"after COUNTER the notice changed: version {record.notice.version}")
    expect(not wrong, "each final kind closing the dialogue, STANDBY twice before it", "; ".join(wrong))


@case("response.operator_decides_after_standby", "DCF-RSP-029", "DCF-RSP-019", "DCF-RSP-023", "DCF-RSP-032")
async def operator_decides(s: Session) -> None:
    """An operator-answered party sends STANDBY, then its operator's final answer closes the dialogue; a COUNTER
    changes nothing until the owner amends, which opens a new dialogue answered STANDBY again; an unknown
    reference is still answered UNABLE without the operator."""
    await s.reset(operator=True)
    await s.hello()
    wrong = []
    for kind, fields in _final_answers(s):
        if kind == ResponseKind.ROGER:
            continue  # an operator accepts, declines or counters
        notice = s.notice()
        filed = await s.file(notice)
        standby = await s.answer_to(filed.acknowledgement.message_id)
        if standby is None or standby.response.kind != response_pb2.RESPONSE_KIND_STANDBY:
            wrong.append(f"{notice.notice_id}: no STANDBY first")
            continue
        response = OperationalResponse(notice_id=notice.notice_id, notice_version=1, kind=kind, **fields)
        decided = await s.originate("response", response, in_reply_to=filed.acknowledgement.message_id)
        record = await _record(s, notice.notice_id)
        if (record.dialogue_state, record.last_response) != (ANSWERED, kind.value):
            wrong.append(f"after its {kind.name} ({decided.message_id}): {_dialogue_of(record)}")
        if kind != ResponseKind.COUNTER:
            continue
        if record.notice != s.proto("notice", notice).notice:
            wrong.append(f"after its COUNTER the notice changed: version {record.notice.version}")
        amended = await s.amend(notice.model_copy(update={"volumes": fields["counter_volumes"]}), 1)
        again = await s.answer_to(amended.acknowledgement.message_id)
        record = await _record(s, notice.notice_id)
        if again is None or again.response.kind != response_pb2.RESPONSE_KIND_STANDBY:
            wrong.append("no STANDBY to the amendment to the counter volumes")
        if (record.notice.version, record.dialogue_state) != (2, STANDBY_STATE):
            wrong.append(f"after the amendment: version {record.notice.version}, {_dialogue_of(record)}")
    # DCF-RSP-028 still applies: a reference the agreement lacks is answered UNABLE without the operator.
    filed = await s.file(s.notice().model_copy(update={"frequency_ids": ["no-such-frequency"]}))

    async def unable() -> envelope_pb2.Envelope | None:
        return next(
            (
                e
                for e in await party_sent(s, "response")
                if e.in_reply_to == filed.acknowledgement.message_id
                and response_pb2.UNABLE_REASON_UNKNOWN_REFERENCE in e.response.reasons
            ),
            None,
        )

    try:
        await until("", unable, 5.0)
    except CaseFailedError:
        wrong.append("a notice naming an unknown frequency: no UNABLE UNKNOWN_REFERENCE within 5 s")
    expect(not wrong, "STANDBY, then the operator's answer; a new dialogue for the amended version",
           "; ".join(wrong))  # fmt: skip


# -- 5.5 response policies


@case("response.automatic_answers", "DCF-RSP-027", "DCF-RSP-028", "DCF-RSP-008")
async def automatic_answers(s: Session) -> None:
    """An automatic party answers ROGER when clear (late or not), UNABLE with the conflicts when not, and UNABLE
    UNKNOWN_REFERENCE naming the first unknown frequency or contact."""
    await s.hello()
    theirs = await s.originate("notice", _own(s, offset_km=2600.0))
    clear = s.notice()
    unknown_frequency = {"frequency_ids": ["guard-121.5", "no-such-frequency"]}
    conflict, unknown = response_pb2.UNABLE_REASON_CONFLICT, response_pb2.UNABLE_REASON_UNKNOWN_REFERENCE
    checks: list[tuple[str, FlightNotice, list[int], str]] = [
        ("a clear notice", clear, [], ""),
        ("a clear late notice", s.notice(start_in=timedelta(minutes=20)), [], ""),
        ("a notice over the party's", s.notice(offset_km=2600.0), [conflict], ""),
        ("an unknown frequency", s.notice().model_copy(update=unknown_frequency), [unknown], "frequency_ids[1]"),
        ("an unknown contact", s.notice().model_copy(update={"contact_id": "no-such-contact"}), [unknown],
         "contact_id"),
        ("an unknown frequency and contact",
         s.notice().model_copy(update={"frequency_ids": ["no-such-frequency"], "contact_id": "no-such-contact"}),
         [unknown], "frequency_ids[0]"),
        ("a conflict and an unknown frequency", s.notice(offset_km=2600.0).model_copy(update=unknown_frequency),
         [conflict, unknown], "frequency_ids[1]"),
    ]  # fmt: skip
    wrong = []
    for what, notice, reasons, offending in checks:
        filed = await s.file(notice)
        answer = await s.answer_to(filed.acknowledgement.message_id)
        if answer is None:
            wrong.append(f"{what}: no answer within 5 s")
            continue
        got = answer.response
        kind = response_pb2.RESPONSE_KIND_UNABLE if reasons else response_pb2.RESPONSE_KIND_ROGER
        named = [c.notice_id for c in got.conflicts]
        if got.kind != kind or sorted(got.reasons) != sorted(reasons) or got.offending_field != offending:
            wrong.append(
                f"{what}: {_kind(got.kind)} {[response_pb2.UnableReason.Name(r) for r in got.reasons]} "
                f"offending_field {got.offending_field!r}"
            )
        elif (conflict in reasons) != (named == [theirs.notice.notice_id]):
            wrong.append(f"{what}: conflicts {named}")
    amended = await s.amend(clear.model_copy(update={"volumes": s.notice(offset_km=2600.0).volumes}), 1)
    answer = await s.answer_to(amended.acknowledgement.message_id)
    if answer is None or answer.response.kind != response_pb2.RESPONSE_KIND_UNABLE:
        wrong.append("an amendment onto the party's notice: not answered UNABLE")
    expect(not wrong, "ROGER when clear, UNABLE with the conflicts and the first unknown reference otherwise",
           "; ".join(wrong))  # fmt: skip


# -- 5.6 response timers and timeouts, at the waiting party


def _timeout_naming(timeouts: list[envelope_pb2.Envelope], message_id: str) -> envelope_pb2.Envelope | None:
    return next((t for t in timeouts if t.timeout.unanswered_message_id == message_id), None)


def _timeout_faults(sent: envelope_pb2.Envelope, due: datetime, timeout: envelope_pb2.Envelope) -> list[str]:
    """What is wrong with the party's `timeout` for its message `sent`, whose answer was due at `due`."""
    notice = _filed(sent)
    body = timeout.timeout
    notice_kind = sent.WhichOneof("body") == "notice"
    kind = response_pb2.MESSAGE_KIND_NOTICE if notice_kind else response_pb2.MESSAGE_KIND_AMENDMENT
    wrong = []
    names = (body.unanswered_message_id, timeout.in_reply_to, body.unanswered_kind, body.notice_id, body.notice_version)
    wanted = (sent.message_id, sent.message_id, kind, notice.notice_id, notice.version)
    if names != wanted:
        wrong.append(f"names {names}, not {wanted}")
    if (body.conference_id, body.conference_revision) != ("", 0):
        wrong.append(f"names conference {body.conference_id} revision {body.conference_revision}")
    created, stated = _time(timeout.created_time), _time(body.due_time)
    if abs((stated - due).total_seconds()) > EXACT_S:
        wrong.append(f"due_time {stated.isoformat()}, not {due.isoformat()}")
    if created < stated:
        wrong.append(f"created {created.isoformat()}, before its due_time {stated.isoformat()}")
    return wrong


def _waited_fault(timeout: envelope_pb2.Envelope, awaited: timedelta) -> list[str]:
    """What is wrong with the timeout's `waited`, given how long the suite saw the answer awaited."""
    waited = timeout.timeout.waited.ToTimedelta()
    if abs((waited - awaited).total_seconds()) > WAITED_S:
        return [f"waited {waited.total_seconds():.2f} s, not about {awaited.total_seconds():.2f} s"]
    return []


def _timeout_of(s: Session, message_id: str) -> Callable[[], Awaitable[envelope_pb2.Envelope | None]]:
    async def found() -> envelope_pb2.Envelope | None:
        return _timeout_naming(await party_sent(s, "timeout"), message_id)

    return found


def _seconds_until(moment: datetime, then: float) -> float:
    """Seconds from now until `then` seconds after `moment`."""
    return (moment - datetime.now(UTC)).total_seconds() + then


@case(
    "acknowledgement.timeout_sent_when_no_response",
    "DCF-TMR-004",
    "DCF-TMR-005",
    "DCF-TMR-006",
    "DCF-TMR-007",
    "DCF-TMR-016",
    "DCF-TMR-017",
    "DCF-RSP-020",
    "DCF-RSP-021",
    "DCF-RSP-022",
    timeout=30,
)
async def timeoutsent_bodies(s: Session) -> None:
    """Unanswered past the due time, the party sends one ResponseTimeout per notice with NotifyTimeout, alerts and
    marks the dialogue TIMED_OUT; a late ROGER still closes it, a late STANDBY leaves it TIMED_OUT with no second
    timeout."""
    wait = _response_time(s, MessageKind.NOTICE)
    async with serving(s, greet=True) as peer:
        first = await s.originate("notice", _own(s))
        second = await s.originate("notice", _own(s))
        acks = [await peer.acknowledged(first.message_id), await peer.acknowledged(second.message_id)]
        dues = [_time(ack.response_due_time) for ack in acks]

        async def both() -> list[envelope_pb2.Envelope] | None:
            timeouts = await party_sent(s, "timeout")
            return timeouts if len({t.in_reply_to for t in timeouts}) >= 2 else None

        timeouts = await until("a ResponseTimeout for each unanswered notice", both, _seconds_until(max(dues), 5.0))
        wrong = []
        for sent, ack, due in zip((first, second), acks, dues, strict=True):
            timeout = _timeout_naming(timeouts, sent.message_id)
            if timeout is None:
                wrong.append(f"none naming {sent.message_id}")
                continue
            faults = _timeout_faults(sent, due, timeout)
            faults += _waited_fault(timeout, _time(timeout.created_time) - _time(ack.stored_time))
            pushed = await peer.arrived(timeout.message_id)
            if pushed.method != "NotifyTimeout":
                faults.append(f"pushed with {pushed.method}, not NotifyTimeout")
            wrong += [f"{sent.notice.notice_id}: {fault}" for fault in faults]
        expect(not wrong, "each ResponseTimeout naming its notice, due time and wait", "; ".join(wrong))

        async def alerted() -> set[str]:
            subjects = {a.subject_id for a in await s.alerts() if a.kind == operator_pb.ALERT_KIND_RESPONSE_TIMEOUT}
            return subjects if {first.notice.notice_id, second.notice.notice_id} <= subjects else set()

        await until("a RESPONSE_TIMEOUT alert for each notice", alerted, 5.0)
        for sent in (first, second):
            record = await _record(s, sent.notice.notice_id)
            expect((record.dialogue_state, record.last_response, record.HasField("response_due_time"))
                   == (TIMED_OUT, NO_RESPONSE, False), "TIMED_OUT, no response, no due time",
                   _dialogue_of(record))  # fmt: skip

        await _answer(s, first, ResponseKind.ROGER)
        await _answer(s, second, ResponseKind.STANDBY)
        record = await _record(s, first.notice.notice_id)
        expect((record.dialogue_state, record.last_response) == (ANSWERED, response_pb2.RESPONSE_KIND_ROGER),
               "ANSWERED after a ROGER that came after the timeout", _dialogue_of(record))  # fmt: skip
        record = await _record(s, second.notice.notice_id)
        expect((record.dialogue_state, record.last_response, record.HasField("response_due_time"))
               == (TIMED_OUT, response_pb2.RESPONSE_KIND_STANDBY, False),
               "still TIMED_OUT, with no timer, after a STANDBY that came after the timeout",
               _dialogue_of(record))  # fmt: skip
        await asyncio.sleep(wait.total_seconds() + 1.0)
        named = [t.timeout.unanswered_message_id for t in await party_sent(s, "timeout")]
        expect(sorted(named) == sorted([first.message_id, second.message_id]),
               "one timeout per notice, kept on record, and none after the late STANDBY", named)  # fmt: skip


@case(
    "response.closed_dialogues_never_time_out",
    "DCF-RSP-014",
    "DCF-RSP-018",
    "DCF-RSP-023",
    "DCF-RSP-024",
    "DCF-RSP-025",
    "DCF-TMR-002",
    "DCF-TMR-006",
    "DCF-TMR-016",
    timeout=30,
)
async def closed_dialogues(s: Session) -> None:
    """No ResponseTimeout for a version superseded by an amendment, a cancelled, expired or answered notice, nor
    before a STANDBY's restarted due time; the amended version times out on its own timer."""
    wait = _response_time(s, MessageKind.NOTICE)
    async with serving(s, greet=True) as peer:
        amended = _own(s)
        a1 = await s.originate("notice", amended)
        a2 = await s.originate(
            "amendment", NoticeAmendment(replaces_version=1, notice=amended.model_copy(update={"version": 2}))
        )
        b = await s.originate("notice", _own(s))
        await s.originate("cancellation", NoticeCancellation(notice_id=b.notice.notice_id, version=1))
        # Over within two seconds, before its answer is due.
        c = await s.originate("notice", _own(s, start_in=timedelta(seconds=-30), hours=32 / 3600))
        d = await s.originate("notice", _own(s))
        e = await s.originate("notice", _own(s))
        acks = {sent.message_id: await peer.acknowledged(sent.message_id) for sent in (a1, a2, b, c, d, e)}
        await _answer(s, d, ResponseKind.ROGER)
        await asyncio.sleep(1.5)
        standby = _opened(await _answer(s, e, ResponseKind.STANDBY))
        e_due = _time(standby.stored_time) + wait
        a2_due = _time(acks[a2.message_id].response_due_time)
        found = await until("a timeout for the amended version", _timeout_of(s, a2.message_id),
                             _seconds_until(a2_due, 5.0))  # fmt: skip
        wrong = [f"the amended version: {fault}" for fault in _timeout_faults(a2, a2_due, found)]
        found = await until("a timeout a full response time after the STANDBY", _timeout_of(s, e.message_id),
                             _seconds_until(e_due, 5.0))  # fmt: skip
        # `waited` runs from the first acknowledgement, the STANDBY's restart included.
        awaited = _time(found.created_time) - _time(acks[e.message_id].stored_time)
        faults = _timeout_faults(e, e_due, found) + _waited_fault(found, awaited)
        wrong += [f"after STANDBY: {fault}" for fault in faults]
        expect(not wrong, "the amended version's and the STANDBY's timeouts as due", "; ".join(wrong))
        named = sorted(t.timeout.unanswered_message_id for t in await party_sent(s, "timeout"))
        expect(named == sorted([a2.message_id, e.message_id]),
               "timeouts for the amended version and the STANDBY only, not for a superseded, cancelled, expired or "
               f"answered notice ({a1.message_id}, {b.message_id}, {c.message_id}, {d.message_id})",
               named)  # fmt: skip

        states = [
            (a1, 2, TIMED_OUT, NO_RESPONSE),
            (b, 1, SUPERSEDED, NO_RESPONSE),
            (c, 1, SUPERSEDED, NO_RESPONSE),
            (d, 1, ANSWERED, response_pb2.RESPONSE_KIND_ROGER),
            (e, 1, TIMED_OUT, response_pb2.RESPONSE_KIND_STANDBY),
        ]
        for sent, version, state, last in states:
            record = await _record(s, sent.notice.notice_id)
            if (record.notice.version, record.dialogue_state, record.last_response) != (version, state, last):
                wrong.append(f"{sent.notice.notice_id}: version {record.notice.version}, {_dialogue_of(record)}")
        got = await _refused(_answer(s, c, ResponseKind.ACCEPT), grpc.StatusCode.FAILED_PRECONDITION, "NOTICE_ENDED")
        if got:
            wrong.append(f"an ACCEPT to the expired notice: {got}")
        expect(not wrong, "superseded, cancelled and expired dialogues ended without a response", "; ".join(wrong))


@case("response.timers_held_while_suspended", "DCF-TMR-008", "DCF-TMR-006", "DCF-TMR-016", timeout=30)
async def held_while_suspended(s: Session) -> None:
    """A suspension holds the timer: nothing is sent while suspended, and the answer falls due at the resumption's
    effective_time plus the time that was left; `waited` leaves the suspended time out."""
    async with serving(s, greet=True) as peer:
        sent = await s.originate("notice", _own(s))
        ack = await peer.acknowledged(sent.message_id)
        due = _time(ack.response_due_time)
        await _sleep_until(_time(ack.stored_time) + timedelta(seconds=1.0))
        suspension = _suspension()
        await s.send("suspension", suspension)
        left = due - suspension.effective_time
        await _sleep_until(due + timedelta(seconds=0.8))
        held = await party_sent(s, "timeout")
        expect(not held, "no timeout while the channel is suspended", [t.in_reply_to for t in held])
        resumption = _resumption(suspension.suspension_id)
        await s.send("resumption", resumption)
        expected = resumption.effective_time + left
        found = await until("a timeout once the time left has run after the resumption",
                             _timeout_of(s, sent.message_id), _seconds_until(expected, 5.0))  # fmt: skip
        not_suspended = (suspension.effective_time - _time(ack.stored_time)) + (
            _time(found.created_time) - resumption.effective_time
        )
        wrong = _timeout_faults(sent, expected, found) + _waited_fault(found, not_suspended)
        expect(not wrong, f"due at the resumption plus the {left.total_seconds():.1f} s left", "; ".join(wrong))


# -- 5.6 response timeouts, at the party that was waited for


async def _filing(s: Session, body: str, value: object) -> tuple[envelope_pb2.Envelope, Delivery]:
    """One of the suite's messages as sent, and its acknowledgement."""
    signed = s.envelope(body, value)
    return decode_envelope(signed.payload), await s.deliver(signed)


def _notify(s: Session, timeout: ResponseTimeout) -> Awaitable[Delivery]:
    return s.send("timeout", timeout, in_reply_to=timeout.unanswered_message_id)


@case(
    "response.silence_reported_by_the_owner_checked",
    "DCF-TMR-011",
    "DCF-TMR-012",
    "DCF-TMR-013",
    "DCF-TMR-014",
    "DCF-TMR-017",
)
async def silence_reported(s: Session) -> None:
    """A ResponseTimeout is refused when it names no message, one needing no answer, another kind, notice or version,
    an ended dialogue, or comes twice, or by another RPC; a valid one is stored, alerted and marks TIMED_OUT, and one
    that crossed the party's final answer leaves it ANSWERED."""
    await s.reset(operator=True)
    await s.hello()
    x_sent, x = await _filing(s, "notice", s.notice())
    y_notice = s.notice()
    y_sent, y = await _filing(s, "notice", y_notice)
    z_notice = s.notice()
    z_sent, z = await _filing(s, "notice", z_notice)
    cancel_sent, _ = await _filing(s, "cancellation", NoticeCancellation(notice_id=z_notice.notice_id, version=1))
    y_amended = NoticeAmendment(replaces_version=1, notice=y_notice.model_copy(update={"version": 2}))
    await _filing(s, "amendment", y_amended)
    w_sent, w = await _filing(s, "notice", s.notice())
    accept = OperationalResponse(notice_id=w.acknowledgement.notice_id, notice_version=1, kind=ResponseKind.ACCEPT)
    await s.originate("response", accept, in_reply_to=w_sent.message_id)
    x_ack = _opened(x)
    invalid, failed = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION

    async def through(write: Callable[[envelope_pb2.SignedPayload], Awaitable[Delivery]]) -> Delivery:
        # Sealed when sent, with the sequence then next.
        return await write(s.envelope("timeout", _timeout_for(x_sent, x_ack), in_reply_to=x_sent.message_id))

    cancelled = _timeout_for(z_sent, _opened(z), unanswered_message_id=cancel_sent.message_id)
    wrong = await _each_refused([
        ("one naming no message", _notify(s, _timeout_for(x_sent, x_ack, unanswered_message_id=str(uuid.uuid4()))),
         grpc.StatusCode.NOT_FOUND, ""),
        ("one naming a cancellation", _notify(s, cancelled),
         invalid, "", "timeout.unanswered_message_id", "timeout.unanswered_kind"),
        ("one of kind AMENDMENT for a notice",
         _notify(s, _timeout_for(x_sent, x_ack, unanswered_kind=MessageKind.AMENDMENT)),
         invalid, "", "timeout.unanswered_kind"),
        ("one naming another notice", _notify(s, _timeout_for(x_sent, x_ack, notice_id=y_notice.notice_id)),
         invalid, "", "timeout.notice_id"),
        ("one naming version 2", _notify(s, _timeout_for(x_sent, x_ack, notice_version=2)),
         invalid, "", "timeout.notice_version"),
        ("one sent with RespondToNotice", through(s.peer.respond_to_notice), invalid, "", "body"),
        ("one sent with SubmitNotice", through(s.peer.submit_notice), invalid, "", "body"),
        ("one for a version superseded by an amendment", _notify(s, _timeout_for(y_sent, _opened(y))),
         failed, "DIALOGUE_CLOSED"),
        ("one for a cancelled notice", _notify(s, _timeout_for(z_sent, _opened(z))), failed, "DIALOGUE_CLOSED"),
    ])  # fmt: skip
    try:
        stored = _opened(await _notify(s, _timeout_for(x_sent, x_ack)))
        if (stored.notice_id, stored.notice_version) != (x_ack.notice_id, 1):
            wrong.append(f"the valid timeout acknowledged as about {stored.notice_id} v{stored.notice_version}")
        record = await _record(s, x_ack.notice_id)
        if record.dialogue_state != TIMED_OUT:
            wrong.append(f"after the valid timeout: {_dialogue_of(record)}")
        alerts = [a for a in await s.alerts() if a.kind == operator_pb.ALERT_KIND_TIMEOUT_RECEIVED]
        if x_ack.notice_id not in [a.subject_id for a in alerts]:
            wrong.append(f"no TIMEOUT_RECEIVED alert about {x_ack.notice_id}")
    except RefusedError as error:
        wrong.append(f"the valid timeout: refused {error.code.name} {error.reason}")
    wrong += await _each_refused([
        ("a second timeout for the same notice", _notify(s, _timeout_for(x_sent, x_ack)), failed, "TIMEOUT_EXISTS"),
    ])  # fmt: skip
    try:
        await _notify(s, _timeout_for(w_sent, _opened(w)))
        record = await _record(s, w.acknowledgement.notice_id)
        if (record.dialogue_state, record.last_response) != (ANSWERED, response_pb2.RESPONSE_KIND_ACCEPT):
            wrong.append(f"after a timeout that crossed the ACCEPT: {_dialogue_of(record)}")
    except RefusedError as error:
        wrong.append(f"a timeout that crossed the party's ACCEPT: refused {error.code.name} {error.reason}")
    expect(not wrong, "each timeout refused with its status, the valid ones stored", "; ".join(wrong))


def _conference(s: Session, conference_id: str = "", revision: int = 1) -> ConferenceProposal:
    """A one-hour conference two days ahead, both heads of delegation attending."""
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return ConferenceProposal(
        conference_id=conference_id or f"conference-{uuid.uuid4().hex[:12]}",
        revision=revision,
        title="Review of the channel",
        candidate_slots=[TimeSlot(start_time=start), TimeSlot(start_time=start + timedelta(hours=2))],
        duration=timedelta(hours=1),
        participants=[
            Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION),
            Participant(party=s.target.party, role=ParticipantRole.HEAD_OF_DELEGATION),
        ],
        classification=Classification.RESTRICTED,
    )


def _conference_timeout(
    sent: envelope_pb2.Envelope, acknowledged: response_pb2.LogicalAcknowledgement
) -> ResponseTimeout:
    """The suite's ResponseTimeout for the conference revision it proposed with `sent`."""
    proposal = sent.conference_proposal
    return ResponseTimeout(
        unanswered_message_id=sent.message_id,
        unanswered_kind=MessageKind.CONFERENCE_PROPOSAL,
        conference_id=proposal.conference_id,
        conference_revision=proposal.revision,
        due_time=_time(acknowledged.response_due_time),
        waited=max(datetime.now(UTC) - _time(acknowledged.stored_time), timedelta(0)),
    )


@case("response.conference_silence_reported_checked", "DCF-TMR-019")
async def conference_silence(s: Session) -> None:
    """A ResponseTimeout for a conference revision is stored while it awaits its answer, leaving the conference open,
    and refused DIALOGUE_CLOSED once a counter, an acceptance, a decline or a cancellation has ended the wait."""
    await s.hello()

    async def proposed() -> tuple[ConferenceProposal, envelope_pb2.Envelope, Delivery]:
        proposal = _conference(s)
        sent, delivered = await _filing(s, "conference_proposal", proposal)
        return proposal, sent, delivered

    def party_answers(proposal: ConferenceProposal, sent: envelope_pb2.Envelope, **answer: Any) -> Awaitable[Any]:
        body = ConferenceAnswer(conference_id=proposal.conference_id, revision=1, **answer)
        return s.originate("conference_answer", body, in_reply_to=sent.message_id)

    wrong = []
    open_proposal, open_sent, open_delivered = await proposed()
    try:
        await _notify(s, _conference_timeout(open_sent, _opened(open_delivered)))
        status = (await s.peer.get_conference(s.channel_id, open_proposal.conference_id)).status
        if status.state != conference_pb2.CONFERENCE_STATE_PROPOSED:
            wrong.append(f"after a timeout the conference is {conference_pb2.ConferenceState.Name(status.state)}")
    except RefusedError as error:
        wrong.append(f"a timeout for an unanswered proposal: refused {error.code.name} {error.reason}")
    ended: list[tuple[str, Callable[[ConferenceProposal, envelope_pb2.Envelope], Awaitable[Any]]]] = [
        ("countered", lambda p, e: party_answers(p, e, counter=_conference(s, p.conference_id, revision=2))),
        ("accepted", lambda p, e: party_answers(p, e, accept=SlotAcceptance(slot=p.candidate_slots[0]))),
        ("declined", lambda p, e: party_answers(p, e, decline=ConferenceDecline(reason="No slot suits us"))),
        ("cancelled", lambda p, e: s.send("conference_cancellation", ConferenceCancellation(
            conference_id=p.conference_id, reason="The delegation cannot travel"))),
    ]  # fmt: skip
    for what, end in ended:
        proposal, sent, delivered = await proposed()
        await end(proposal, sent)
        got = await _refused(
            _notify(s, _conference_timeout(sent, _opened(delivered))),
            grpc.StatusCode.FAILED_PRECONDITION,
            "DIALOGUE_CLOSED",
        )
        if got:
            wrong.append(f"a timeout for a proposal {what}: {got}")
    expect(not wrong, "stored while the revision awaits its answer, DIALOGUE_CLOSED after", "; ".join(wrong))
