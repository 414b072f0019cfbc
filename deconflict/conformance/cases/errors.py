"""Chapter 09: errors: codes, reasons and details, the order of checks of reads, refusals that change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.message import Message as ProtoMessage
from google.rpc import error_details_pb2, status_pb2

from deconflict.client.peer import CHANNEL_SERVICE, CONFERENCE_SERVICE, NOTICE_SERVICE
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.cases.envelope import received, refused_as, refused_with
from deconflict.conformance.session import Session, flight_level
from deconflict.models.channel import IncidentReport, InvolvedAircraft, Resumption, Suspension, VersionRange
from deconflict.models.conference import (
    Classification,
    ConferenceAnswer,
    ConferenceProposal,
    ConferenceRecord,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.models.errors import REASON_CODES
from deconflict.models.geometry import LatLng
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeAmendment
from deconflict.models.response import OperationalResponse, ResponseKind
from deconflict.v1 import channel_pb2, channel_service_pb2, envelope_pb2, notice_service_pb2

GARBAGE = b"\xff\xff\xff\xff\x0f garbage"
SERVICES = (NOTICE_SERVICE, CONFERENCE_SERVICE, CHANNEL_SERVICE)
DOMAIN = "deconflict.v1"
DETAILS_KEY = "grpc-status-details-bin"

_CODES = {code.value[0]: code for code in grpc.StatusCode}

# -- helpers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRefusal:
    """A refusal as it came over the wire: the status, and the google.rpc.Status of its details trailer."""

    code: grpc.StatusCode
    message: str
    details: status_pb2.Status | None


async def raw_call(s: Session, service: Any, method: str, request: bytes | ProtoMessage) -> RawRefusal:
    """Call a unary method with exactly these bytes; the refusal it ends in, read without the project's client."""
    data = request if isinstance(request, bytes) else request.SerializeToString()
    call = s.peer.channel.unary_unary(
        f"/{service.full_name}/{method}", request_serializer=None, response_deserializer=None
    )
    try:
        await call(data, timeout=5)
    except grpc.aio.AioRpcError as error:
        details = None
        # Runtime items are (key, value) pairs, whatever the stubs say of them.
        trailing: Any = error.trailing_metadata() or ()
        for key, value in trailing:
            if key == DETAILS_KEY and isinstance(value, bytes):
                details = status_pb2.Status.FromString(value)
        return RawRefusal(error.code(), error.details() or "", details)
    raise CaseFailedError(f"a refusal from {method}", "the party accepted the request")


def error_infos(details: status_pb2.Status) -> list[error_details_pb2.ErrorInfo]:
    found = []
    for detail in details.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            found.append(info)
    return found


def bad_requests(details: status_pb2.Status) -> list[error_details_pb2.BadRequest]:
    found = []
    for detail in details.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.append(bad)
    return found


def hello_request(s: Session, **changes: Any) -> channel_service_pb2.HelloRequest:
    hello = channel_pb2.Hello(
        channel_id=s.channel_id,
        party=s.party,
        supported_versions=channel_pb2.VersionRange(min_major=1, max_major=1),
        agreement_hash=s.agreement.sha256,
        agreement_version=s.agreement.model.version,
        implementation="deconflict conformance suite",
    )
    hello.sent_time.FromDatetime(datetime.now(UTC))
    for name, value in changes.items():
        setattr(hello, name, value)
    return channel_service_pb2.HelloRequest(hello=hello)


def proposal(s: Session, conference_id: str = "", *, title: str = "Quarterly safety review") -> ConferenceProposal:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    return ConferenceProposal(
        conference_id=conference_id or f"{s.party}/conference-{uuid.uuid4().hex[:8]}",
        revision=1,
        title=title,
        candidate_slots=[TimeSlot(start_time=start), TimeSlot(start_time=start + timedelta(days=1))],
        duration=timedelta(hours=1),
        participants=[
            Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION),
            Participant(party=s.target.party, role=ParticipantRole.HEAD_OF_DELEGATION),
        ],
        classification=Classification.UNCLASSIFIED,
    )


def incident(s: Session, incident_id: str = "", *, narrative: str = "Two aircraft passed close abeam.") -> Any:
    return IncidentReport(
        incident_id=incident_id or f"{s.party}/incident-{uuid.uuid4().hex[:8]}",
        occurred_time=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2),
        position=LatLng(latitude=35.5, longitude=36.3),
        altitude=flight_level(150),
        aircraft=[InvolvedAircraft(party=s.party, aircraft_category=AircraftCategory.FIXED_WING)],
        narrative=narrative,
    )


def roger(notice: FlightNotice | envelope_pb2.Envelope, version: int = 1) -> OperationalResponse:
    notice_id = notice.notice.notice_id if isinstance(notice, envelope_pb2.Envelope) else notice.notice_id
    return OperationalResponse(notice_id=notice_id, notice_version=version, kind=ResponseKind.ROGER)


# -- 9.1: status and details ------------------------------------------------------------------------------------


@case("errors.garbage_to_every_method", "DCF-ERR-004", "DCF-STR-008")
async def garbage(s: Session) -> None:
    """Undecodable request bytes to each method of the protocol are refused with INVALID_ARGUMENT."""
    wrong = []
    for service in SERVICES:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            code = await _call_with_garbage(s, path, method.client_streaming, method.server_streaming)
            if code != grpc.StatusCode.INVALID_ARGUMENT:
                wrong.append(f"{method.name}: {code.name}")
    expect(not wrong, "INVALID_ARGUMENT from every method", "; ".join(wrong))


async def _call_with_garbage(s: Session, path: str, client_streaming: bool, server_streaming: bool) -> grpc.StatusCode:
    channel = s.peer.channel
    try:
        if client_streaming:
            # Exchange answers an undecodable envelope in the stream and goes on (DCF-STR-008, DCF-STR-009).
            call = channel.stream_stream(
                path, request_serializer=None, response_deserializer=channel_service_pb2.ExchangeResponse.FromString
            )
            async for answer in call(iter([GARBAGE]), timeout=5):
                if answer.HasField("refusal"):
                    return _CODES.get(answer.refusal.code, grpc.StatusCode.UNKNOWN)
            return grpc.StatusCode.OK
        if server_streaming:
            streaming = channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            async for _ in streaming(GARBAGE, timeout=5):
                pass
            return grpc.StatusCode.OK
        unary = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        await unary(GARBAGE, timeout=5)
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()


@case("errors.details_trailer_matches_the_status", "DCF-ERR-001", "DCF-ERR-005")
async def details_trailer(s: Session) -> None:
    """Each refusal carries a google.rpc.Status trailer with the same code and message, and its reason in an
    ErrorInfo of domain deconflict.v1."""
    no_hello = notice_service_pb2.SubmitNoticeRequest(envelope=s.envelope("notice", s.notice()))
    refusals: list[tuple[str, RawRefusal, str]] = [
        ("a write before Hello", await raw_call(s, NOTICE_SERVICE, "SubmitNotice", no_hello), "HELLO_REQUIRED"),
    ]
    await s.hello()
    unknown_channel = notice_service_pb2.GetNoticeRequest(channel_id="no-such-channel", notice_id="n-1")
    refusals.append(("an unknown channel", await raw_call(s, NOTICE_SERVICE, "GetNotice", unknown_channel), ""))
    bad = s.spoiled("notice", s.notice(), lambda m: setattr(m, "mode", 0))
    request = notice_service_pb2.SubmitNoticeRequest(envelope=bad)
    refusals.append(("a bad field", await raw_call(s, NOTICE_SERVICE, "SubmitNotice", request), ""))
    delivered = await s.file(s.notice())
    replay = notice_service_pb2.SubmitNoticeRequest(envelope=s.envelope("notice", s.notice(), sequence=1))
    refusals.append(("a replayed sequence", await raw_call(s, NOTICE_SERVICE, "SubmitNotice", replay),
                     "SEQUENCE_REPLAYED"))  # fmt: skip
    gap = notice_service_pb2.SubmitNoticeRequest(envelope=s.envelope("notice", s.notice(), sequence=9))
    refusals.append(("a sequence gap", await raw_call(s, NOTICE_SERVICE, "SubmitNotice", gap), "SEQUENCE_GAP"))
    expect(delivered.acknowledgement.message_sequence == 1, "the notice stored", delivered.acknowledgement)
    for what, refusal, reason in refusals:
        expect(refusal.details is not None, f"a {DETAILS_KEY} trailer for {what}", "none")
        assert refusal.details is not None
        expect(refusal.details.code == refusal.code.value[0],
               f"the trailer's code {refusal.code.name} for {what}", _CODES.get(refusal.details.code))  # fmt: skip
        expect(refusal.details.message == refusal.message, f"the trailer's message equal to the status's for {what}",
               f"{refusal.details.message!r} against {refusal.message!r}")  # fmt: skip
        if reason:
            infos = [(i.domain, i.reason) for i in error_infos(refusal.details)]
            expect((DOMAIN, reason) in infos, f"ErrorInfo {DOMAIN} / {reason} for {what}", infos or "none")


@dataclass(frozen=True)
class _Situation:
    what: str
    code: grpc.StatusCode
    reason: str
    call: Callable[[], Awaitable[Any]]


_FAILED, _EXISTS, _DENIED = (
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED,
)


@case("errors.reasons_by_situation", "DCF-ERR-005", "DCF-ERR-006", "DCF-ERR-007", timeout=30)
async def reasons(s: Session) -> None:
    """The situations of the table of DCF-ERR-006 are refused with their code and exactly their reason."""
    no_common_version = VersionRange(min_major=2, max_major=2)
    wrong = await _run(
        s,
        [
            _Situation("a write before Hello", _FAILED, "HELLO_REQUIRED", lambda: s.file(s.notice())),
            _Situation("Hello with no common version", _FAILED, "VERSION_MISMATCH",
                       lambda: s.hello(supported_versions=no_common_version)),
            _Situation("Hello with another agreement", _FAILED, "AGREEMENT_MISMATCH",
                       lambda: s.hello(agreement_hash=bytes(32))),
        ],
    )  # fmt: skip
    await s.hello()
    # What the situations stand on: notices of each party (amended, cancelled, answered), a conference, an incident.
    mine = s.notice()
    filed = await s.file(mine)
    ended = s.notice()
    await s.file(ended)
    await s.cancel(ended.notice_id, 1)
    theirs = await s.originate("notice", s.notice(owner=s.target.party))
    changed = await s.originate("notice", s.notice(owner=s.target.party))
    await s.originate("amendment", next_version(notice_of(changed), 1))
    answered = await s.originate("notice", s.notice(owner=s.target.party))
    await s.send("response", roger(answered), in_reply_to=answered.message_id)
    conference = proposal(s)
    offered = await s.send("conference_proposal", conference)
    report = incident(s)
    await s.send("incident_report", report)
    slot = conference.candidate_slots[0]
    own_answer = ConferenceAnswer(conference_id=conference.conference_id, revision=1, accept=SlotAcceptance(slot=slot))
    record = ConferenceRecord(conference_id=conference.conference_id, start_time=slot.start_time,
                              end_time=slot.start_time + timedelta(hours=1))  # fmt: skip
    other_report = report.model_copy(update={"narrative": "Another account."})
    late = datetime.now(UTC) - s.agreement.model.clock_skew_tolerance - timedelta(seconds=60)
    offered_id, filed_id = offered.acknowledgement.message_id, filed.acknowledgement.message_id
    wrong += await _run(
        s,
        [
            _Situation("created_time outside the tolerance", _FAILED, "CLOCK_SKEW",
                       lambda: s.file(s.notice(), created_time=late)),
            _Situation("a sequence that skips ahead", _FAILED, "SEQUENCE_GAP",
                       lambda: s.file(s.notice(), sequence=s.sequence + 5)),
            _Situation("a sequence already used", _EXISTS, "SEQUENCE_REPLAYED",
                       lambda: s.file(s.notice(), sequence=1)),
            _Situation("a message id stored with other bytes", _EXISTS, "MESSAGE_ID_REUSED",
                       lambda: s.file(s.notice(), message_id=filed_id)),
            _Situation("a notice id that exists", _EXISTS, "NOTICE_EXISTS", lambda: s.file(mine)),
            _Situation("a sender that is not the peer", _DENIED, "NOT_PEER",
                       lambda: s.file(s.notice(), sender="intruder")),
            _Situation("an amendment of the party's notice", _DENIED, "NOT_OWNER",
                       lambda: s.send("amendment", next_version(notice_of(theirs), 1))),
            _Situation("a response to one's own notice", _DENIED, "OWN_NOTICE",
                       lambda: s.send("response", roger(mine), in_reply_to=filed_id)),
            _Situation("an amendment quoting a version that is not current", grpc.StatusCode.ABORTED,
                       "STALE_VERSION", lambda: s.send("amendment", next_version(mine, 2))),
            _Situation("an amendment of a cancelled notice", _FAILED, "NOTICE_ENDED",
                       lambda: s.send("amendment", next_version(ended, 1))),
            _Situation("a response to a superseded version", _FAILED, "VERSION_NOT_CURRENT",
                       lambda: s.send("response", roger(changed), in_reply_to=changed.message_id)),
            _Situation("a second response to an answered notice", _FAILED, "DIALOGUE_CLOSED",
                       lambda: s.send("response", roger(answered), in_reply_to=answered.message_id)),
            _Situation("a conference id that exists", _EXISTS, "CONFERENCE_EXISTS",
                       lambda: s.send("conference_proposal", conference)),
            _Situation("an answer to one's own revision", _DENIED, "OWN_REVISION",
                       lambda: s.send("conference_answer", own_answer, in_reply_to=offered_id)),
            _Situation("a record of a conference not scheduled", _FAILED, "CONFERENCE_NOT_SCHEDULED",
                       lambda: s.send("conference_record", record)),
            _Situation("an incident id that exists with other content", _EXISTS, "INCIDENT_EXISTS",
                       lambda: s.send("incident_report", other_report)),
        ],
    )  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    await s.send("suspension", Suspension(suspension_id="suspension-1", effective_time=now, reason="a review"))
    again = Suspension(suspension_id="suspension-2", effective_time=now, reason="again")
    mismatch = Resumption(suspension_id="suspension-9", effective_time=now, reason="done")
    wrong += await _run(
        s,
        [
            _Situation("a notice on a suspended channel", _FAILED, "CHANNEL_SUSPENDED", lambda: s.file(s.notice())),
            _Situation("a suspension of a suspended channel", _FAILED, "ALREADY_SUSPENDED",
                       lambda: s.send("suspension", again)),
            _Situation("a resumption of another suspension", _FAILED, "SUSPENSION_MISMATCH",
                       lambda: s.send("resumption", mismatch)),
        ],
    )  # fmt: skip
    resumption = Resumption(suspension_id="suspension-1", effective_time=now, reason="done")
    await s.send("resumption", resumption)
    wrong += await _run(
        s,
        [_Situation("a resumption of a channel not suspended", _FAILED, "NOT_SUSPENDED",
                    lambda: s.send("resumption", resumption))],
    )  # fmt: skip
    expect(not wrong, "each situation refused with its code and reason", "; ".join(wrong))


def next_version(notice: FlightNotice, quoted: int) -> NoticeAmendment:
    """An amendment of `notice` quoting version `quoted`."""
    return NoticeAmendment(replaces_version=quoted, notice=notice.model_copy(update={"version": quoted + 1}))


def notice_of(envelope: envelope_pb2.Envelope) -> FlightNotice:
    from deconflict.bridge.notice import flight_notice_data

    return FlightNotice.model_validate(flight_notice_data(envelope.notice))


async def _run(s: Session, situations: list[_Situation]) -> list[str]:
    wrong = []
    for situation in situations:
        try:
            await situation.call()
        except RefusedError as refused:
            if refused.code != situation.code or refused.reason != situation.reason:
                wrong.append(f"{situation.what}: {refused.code.name} {refused.reason or 'no reason'} "
                             f"instead of {situation.code.name} {situation.reason}")  # fmt: skip
            elif refused.reason not in REASON_CODES:
                wrong.append(f"{situation.what}: reason {refused.reason} is not in the table")
            elif situation.reason == "STALE_VERSION" and refused.stale_version is None:
                wrong.append(f"{situation.what}: no StaleVersion detail")
            continue
        wrong.append(f"{situation.what}: accepted")
    return wrong


@case("errors.stale_version_detail", "DCF-ERR-007")
async def stale_detail(s: Session) -> None:
    """ABORTED for a stale version carries a StaleVersion naming the notice, the quoted and the current version."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.amend(notice, replaces_version=1)
    refused = await refused_with(s, s.cancel(notice.notice_id, 1), grpc.StatusCode.ABORTED, reason="STALE_VERSION")
    stale = refused.stale_version
    expect(stale is not None, "a StaleVersion detail", "none")
    assert stale is not None
    got = (stale.notice_id, stale.quoted_version, stale.current_version)
    expect(got == (notice.notice_id, 1, 2), f"StaleVersion({notice.notice_id}, quoted 1, current 2)", got)


@case("errors.bad_request_names_each_field", "DCF-ERR-002", "DCF-ERR-003")
async def bad_request(s: Session) -> None:
    """INVALID_ARGUMENT carries a BadRequest whose violations name the field by its schema path and say what is
    wrong: oneofs by their name, request fields from the request."""
    hello = await raw_call(s, CHANNEL_SERVICE, "Hello", hello_request(s, agreement_hash=b"short"))
    _names(hello, "hello.agreement_hash")
    await s.hello()
    faults: list[tuple[str, envelope_pb2.SignedPayload]] = [
        ("notice.volumes[0].volume.outline",
         s.spoiled("notice", s.notice(), lambda m: m.notice.volumes[0].volume.ClearField("polygon"))),
        ("body", s.spoiled("notice", s.notice(), lambda m: m.ClearField("notice"))),
        ("notice.volumes[0].volume.polygon.vertices[1].longitude",
         s.spoiled("notice", s.notice(), lambda m: setattr(m.notice.volumes[0].volume.polygon.vertices[1],
                                                            "longitude", 200.0))),
        ("envelope.payload_type", envelope_pb2.SignedPayload(payload_type="other", payload=b"\x08\x01")),
    ]  # fmt: skip
    for path, signed in faults:
        request = notice_service_pb2.SubmitNoticeRequest(envelope=signed)
        _names(await raw_call(s, NOTICE_SERVICE, "SubmitNotice", request), path)
    page = notice_service_pb2.ListNoticesRequest(channel_id=s.channel_id, page_size=1001)
    _names(await raw_call(s, NOTICE_SERVICE, "ListNotices", page), "page_size")


def _names(refusal: RawRefusal, path: str) -> None:
    expect(refusal.code == grpc.StatusCode.INVALID_ARGUMENT, f"INVALID_ARGUMENT for {path}",
           f"{refusal.code.name}: {refusal.message}")  # fmt: skip
    found = bad_requests(refusal.details) if refusal.details is not None else []
    violations = [(v.field, v.description) for bad in found for v in bad.field_violations]
    expect(bool(violations), f"a BadRequest with a field violation for {path}", "none")
    fields = [field for field, _ in violations]
    expect(path in fields, f"a violation naming {path}", fields)
    expect(all(description.strip() for _, description in violations), "a description saying what is wrong",
           violations)  # fmt: skip


@case("errors.status_message_is_one_sentence", "DCF-ERR-013")
async def one_sentence(s: Session) -> None:
    """The status message is one plain line naming the field or value at fault."""
    await s.hello()
    signed = s.spoiled("notice", s.notice(), lambda m: setattr(m.notice, "aircraft_count", 0))
    refused = await refused_with(s, s.deliver(signed), grpc.StatusCode.INVALID_ARGUMENT)
    message = refused.message
    expect(bool(message.strip()) and "\n" not in message, "one line of text", repr(message))
    expect("aircraft_count" in message, "the message naming aircraft_count", message)
    skew = datetime.now(UTC) + s.agreement.model.clock_skew_tolerance + timedelta(seconds=60)
    refused = await refused_with(s, s.file(s.notice(), created_time=skew), grpc.StatusCode.FAILED_PRECONDITION)
    expect("\n" not in refused.message and "created_time" in refused.message,
           "one line naming created_time", refused.message)  # fmt: skip


@case("errors.refusals_change_nothing", "DCF-ERR-012")
async def refusals_change_nothing(s: Session) -> None:
    """Refusals of writes, reads and Hello leave the party's journal, notices and sequence as they were."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    journal = [(r.position, r.signed.payload) for r in await s.settled()]
    listed = await s.peer.list_notices(s.channel_id)
    attempts: list[Callable[[], Awaitable[Any]]] = [
        lambda: s.file(s.notice(), sequence=9),
        lambda: s.amend(notice, replaces_version=3),
        lambda: s.cancel(notice.notice_id, 4),
        lambda: s.file(notice),
        lambda: s.deliver(s.spoiled("notice", s.notice(), lambda m: setattr(m.notice, "aircraft_count", 0))),
        lambda: s.peer.get_notice(s.channel_id, "no-such-notice"),
        lambda: s.peer.unary(NOTICE_SERVICE, "ListNotices",
                             notice_service_pb2.ListNoticesRequest(channel_id=s.channel_id, page_size=5000)),
        lambda: s.hello(agreement_hash=bytes(32)),
    ]  # fmt: skip
    for attempt in attempts:
        await s.refusal(attempt())
    after = [(r.position, r.signed.payload) for r in await s.observed()]
    expect(after == journal, "the journal unchanged", f"{len(after)} records instead of {len(journal)}")
    again = await s.peer.list_notices(s.channel_id)
    expect(again == listed, "the notices unchanged", again)
    # Still greeted, at the same sequence: the next message is stored as number 2.
    delivered = await s.file(s.notice())
    expect(delivered.acknowledgement.message_sequence == 2, "the next message stored as sequence 2",
           delivered.acknowledgement.message_sequence)  # fmt: skip
    expect(len(await received(s)) == 2, "two stored messages", "another count")


# -- 9.2: what the node answers ----------------------------------------------------------------------------------


@case("errors.unknown_method_unimplemented", "DCF-ERR-015")
async def unimplemented(s: Session) -> None:
    """A method the node does not implement, in a known or an unknown service, is answered UNIMPLEMENTED."""
    for path in ("/deconflict.v1.NoticeService/NoSuchMethod", "/deconflict.v1.NoSuchService/NoSuchMethod"):
        try:
            await s.peer.channel.unary_unary(path, request_serializer=None, response_deserializer=None)(b"", timeout=5)
        except grpc.aio.AioRpcError as error:
            expect(error.code() == grpc.StatusCode.UNIMPLEMENTED, f"UNIMPLEMENTED for {path}", error.code().name)
            continue
        raise CaseFailedError(f"UNIMPLEMENTED for {path}", "OK")


@case("errors.reads_checked_in_order", "DCF-ERR-016")
async def reads_in_order(s: Session) -> None:
    """Requests without an envelope are checked fields first, then channel, then Hello; Hello and GetAgreement
    need no Hello."""
    get = s.peer.get_notice
    # Field validity before the channel, the channel before Hello.
    await refused_with(s, get("no-such-channel", ""), grpc.StatusCode.INVALID_ARGUMENT, field="notice_id")
    listing = notice_service_pb2.ListNoticesRequest(channel_id="no-such-channel", page_size=1001)
    await refused_with(s, s.peer.unary(NOTICE_SERVICE, "ListNotices", listing), grpc.StatusCode.INVALID_ARGUMENT,
                       field="page_size")  # fmt: skip
    await refused_with(s, get("no-such-channel", "n-1"), grpc.StatusCode.NOT_FOUND)
    listing = notice_service_pb2.ListNoticesRequest(channel_id=s.channel_id, page_size=1001)
    await refused_with(s, s.peer.unary(NOTICE_SERVICE, "ListNotices", listing), grpc.StatusCode.INVALID_ARGUMENT,
                       field="page_size")  # fmt: skip
    await refused_with(s, get(s.channel_id, "n-1"), grpc.StatusCode.FAILED_PRECONDITION, reason="HELLO_REQUIRED")
    await refused_with(s, s.peer.list_notices(s.channel_id), grpc.StatusCode.FAILED_PRECONDITION,
                       reason="HELLO_REQUIRED")  # fmt: skip
    beat = channel_pb2.Heartbeat(channel_id=s.channel_id, party=s.party)
    beat.sent_time.FromDatetime(datetime.now(UTC))
    await refused_with(s, s.peer.heartbeat(beat), grpc.StatusCode.FAILED_PRECONDITION, reason="HELLO_REQUIRED")
    agreement = await s.peer.get_agreement(s.channel_id)
    expect(agreement.agreement_hash == s.agreement.sha256, "GetAgreement answered before Hello", agreement)
    refusal = await s.refusal(s.peer.unary(CHANNEL_SERVICE, "Hello", hello_request(s, channel_id="no-such-channel")))
    refused_as(refusal, grpc.StatusCode.NOT_FOUND)
    await s.hello()
    await refused_with(s, get(s.channel_id, "n-1"), grpc.StatusCode.NOT_FOUND)
