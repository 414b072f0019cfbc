"""Chapter 08: the channel: agreement, Hello, heartbeats, checklists, suspension, incidents and the streams."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from deconflict.bridge.channel import checklist_to_proto, heartbeat_to_proto, hello_to_proto
from deconflict.bridge.envelope import decode_envelope, seal_acknowledgement, signed_payload_to_proto
from deconflict.client.peer import Delivery, StreamRefusal
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, CaseSkippedError, case, expect
from deconflict.conformance.session import ORIGIN, Session, flight_level
from deconflict.models.channel import (
    Checklist,
    ChecklistEntry,
    Heartbeat,
    Hello,
    IncidentReport,
    InvolvedAircraft,
    Resumption,
    Suspension,
    VersionRange,
)
from deconflict.models.conference import (
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceDecline,
    ConferenceProposal,
    ConferenceRecord,
    Participant,
    ParticipantRole,
    TimeSlot,
)
from deconflict.models.notice import AircraftCategory, NoticeAmendment, NoticeCancellation, NoticeState
from deconflict.models.response import (
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
)
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.rpc.handlers import Behaviour, Context, service_handler
from deconflict.rpc.refusal import Refusal
from deconflict.rpc.server import bind, build_server
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from deconflict.v1 import (
    channel_pb2,
    channel_service_pb2,
    conference_service_pb2,
    envelope_pb2,
    notice_pb2,
    notice_service_pb2,
)

# -- helpers, also used by the conference and compatibility cases


async def expect_refused(call: Awaitable[Any], code: grpc.StatusCode, reason: str | None = None) -> RefusedError:
    """The refusal `call` must end in, with `code` and, when given, `reason`."""
    try:
        await call
    except RefusedError as error:
        wanted = f"{code.name}" + (f", reason {reason}" if reason is not None else "")
        got = f"{error.code.name}, reason {error.reason or '(none)'}: {error.message}"
        expect(error.code == code and (reason is None or error.reason == reason), wanted, got)
        return error
    raise CaseFailedError(f"a refusal with {code.name}", "the party accepted it")


async def expect_invalid(call: Awaitable[Any], path: str) -> RefusedError:
    """The refusal `call` must end in: INVALID_ARGUMENT naming the field `path`."""
    try:
        await call
    except RefusedError as error:
        paths = [field for field, _ in error.violations]
        expect(
            error.code == grpc.StatusCode.INVALID_ARGUMENT and path in paths,
            f"INVALID_ARGUMENT naming {path}",
            f"{error.code.name} naming {', '.join(paths) or 'nothing'}: {error.message}",
        )
        return error
    raise CaseFailedError(f"INVALID_ARGUMENT naming {path}", "the party accepted it")


def incident(s: Session, incident_id: str = "", **changes: Any) -> IncidentReport:
    """A valid incident report of an hour ago, both parties' aircraft involved."""
    fields: dict[str, Any] = {
        "incident_id": incident_id or f"incident-{uuid.uuid4().hex[:12]}",
        "occurred_time": datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
        "position": ORIGIN,
        "altitude": flight_level(150),
        "aircraft": [
            InvolvedAircraft(party=s.party, aircraft_category=AircraftCategory.FIXED_WING, callsign="RAVEN21"),
            InvolvedAircraft(
                party=s.target.party, aircraft_category=AircraftCategory.ROTARY_WING, transponder_code="4721"
            ),
        ],
        "narrative": "Two aircraft passed closer than the agreed minimum near the border.",
    }
    fields.update(changes)
    return IncidentReport.model_validate(fields)


def _suspension(suspension_id: str = "", *, effective: datetime | None = None, reason: str = "") -> Suspension:
    return Suspension(
        suspension_id=suspension_id or f"suspension-{uuid.uuid4().hex[:12]}",
        effective_time=effective or datetime.now(UTC),
        reason=reason or "Exercise of the channel's suspension procedure",
    )


def _resumption(suspension_id: str, *, effective: datetime | None = None) -> Resumption:
    return Resumption(
        suspension_id=suspension_id, effective_time=effective or datetime.now(UTC), reason="Procedure completed"
    )


def _heartbeat(s: Session) -> channel_pb2.Heartbeat:
    return heartbeat_to_proto(Heartbeat(channel_id=s.channel_id, party=s.party, sent_time=datetime.now(UTC)))


def _checklist(s: Session, entries: list[ChecklistEntry] | None = None) -> channel_pb2.Checklist:
    return checklist_to_proto(
        Checklist(channel_id=s.channel_id, party=s.party, as_of_time=datetime.now(UTC), entries=entries or [])
    )


def _hello(s: Session, **changes: Any) -> channel_pb2.Hello:
    fields: dict[str, Any] = {
        "channel_id": s.channel_id,
        "party": s.party,
        "supported_versions": VersionRange(min_major=1, max_major=1),
        "agreement_hash": s.agreement.sha256,
        "agreement_version": s.agreement.model.version,
        "sent_time": datetime.now(UTC),
        "implementation": "deconflict conformance suite",
    }
    fields.update(changes)
    return hello_to_proto(Hello.model_validate(fields))


def spoiled(
    s: Session, body: str, value: object, spoil: Callable[[envelope_pb2.Envelope], None], **header: Any
) -> envelope_pb2.SignedPayload:
    """The envelope of `value`, changed by `spoil` once built, so that it carries what no model allows."""
    message = s.proto(body, value, **header)
    spoil(message)
    return s.raw(message)


async def _notice_state(s: Session, notice_id: str) -> tuple[int, str]:
    record = (await s.peer.get_notice(s.channel_id, notice_id)).record
    return record.notice.version, notice_pb2.NoticeState.Name(record.notice.state)


def _around_now(when: datetime, seconds: float) -> bool:
    return abs((when - datetime.now(UTC)).total_seconds()) <= seconds


# -- 8.1 agreement


@case("channel.get_agreement_before_hello", "DCF-CHN-001", "DCF-CHN-002", "DCF-CHN-003")
async def get_agreement(s: Session) -> None:
    """Before Hello, GetAgreement serves the agreement's exact bytes and their SHA-256; unknown channel NOT_FOUND."""
    served = await s.peer.get_agreement(s.channel_id)
    digest = hashlib.sha256(served.agreement).digest()
    expect(served.agreement_hash == digest, "agreement_hash the SHA-256 of agreement", served.agreement_hash.hex())
    expect(
        served.agreement == s.agreement.data,
        "the agreement bytes the suite holds",
        f"{len(served.agreement)} bytes hashing to {digest.hex()}, the suite's hash to {s.agreement.sha256.hex()}",
    )
    agreement = channel_pb2.Agreement.FromString(served.agreement)
    expect(agreement.channel_id == s.channel_id, f"channel_id {s.channel_id}", agreement.channel_id)
    expect(agreement.version >= 1, "version at least 1", agreement.version)
    await expect_refused(s.peer.get_agreement("no-such-channel"), grpc.StatusCode.NOT_FOUND)


# -- 8.2 hello


@case("channel.hello_required_first", "DCF-HEL-001", "DCF-HBT-002", "DCF-CHK-003")
async def hello_required(s: Session) -> None:
    """Before Hello, every write, read, Heartbeat and ExchangeChecklist is FAILED_PRECONDITION, HELLO_REQUIRED."""
    notice = s.notice()
    unanswered = str(uuid.uuid4())
    proposal = ConferenceProposal(
        conference_id="conference-1",
        revision=1,
        title="Review",
        candidate_slots=[TimeSlot(start_time=datetime.now(UTC) + timedelta(days=2))],
        duration=timedelta(hours=1),
        participants=[Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION)],
        classification=Classification.RESTRICTED,
    )
    start = datetime.now(UTC).replace(microsecond=0)
    writes: list[tuple[str, object, str]] = [
        ("notice", notice, ""),
        ("amendment", NoticeAmendment(replaces_version=1, notice=notice.model_copy(update={"version": 2})), ""),
        ("cancellation", NoticeCancellation(notice_id=notice.notice_id, version=1), ""),
        ("response", OperationalResponse(notice_id="theirs", notice_version=1, kind=ResponseKind.ROGER), unanswered),
        (
            "timeout",
            ResponseTimeout(
                unanswered_message_id=unanswered,
                unanswered_kind=MessageKind.NOTICE,
                notice_id=notice.notice_id,
                notice_version=1,
                due_time=start,
                waited=timedelta(seconds=3),
            ),
            unanswered,
        ),
        ("conference_proposal", proposal, ""),
        (
            "conference_answer",
            ConferenceAnswer(conference_id="conference-1", revision=1, decline=ConferenceDecline(reason="No")),
            unanswered,
        ),
        (
            "conference_record",
            ConferenceRecord(conference_id="conference-1", start_time=start, end_time=start + timedelta(hours=1)),
            "",
        ),
        ("conference_cancellation", ConferenceCancellation(conference_id="conference-1", reason="No"), ""),
        ("incident_report", incident(s), ""),
        ("suspension", _suspension(), ""),
        ("resumption", _resumption("suspension-1"), ""),
    ]
    calls: list[tuple[str, Awaitable[Any]]] = [
        (f"the {body} write", s.send(body, value, in_reply_to=reply)) for body, value, reply in writes
    ]
    calls += [
        ("GetNotice", s.peer.get_notice(s.channel_id, notice.notice_id)),
        ("ListNotices", s.peer.list_notices(s.channel_id)),
        ("GetConference", s.peer.get_conference(s.channel_id, "conference-1")),
        ("ListConferences", s.peer.list_conferences(s.channel_id)),
        ("Heartbeat", s.peer.heartbeat(_heartbeat(s))),
        ("ExchangeChecklist", s.peer.exchange_checklist(_checklist(s))),
    ]
    wrong = []
    for what, call in calls:
        try:
            await call
            wrong.append(f"{what}: accepted")
        except RefusedError as error:
            if error.code != grpc.StatusCode.FAILED_PRECONDITION or error.reason != "HELLO_REQUIRED":
                wrong.append(f"{what}: {error.code.name} {error.reason}")
    expect(not wrong, "FAILED_PRECONDITION, HELLO_REQUIRED for each", "; ".join(wrong))


@case("channel.hello_fields_checked", "DCF-HEL-002")
async def hello_fields(s: Session) -> None:
    """A Hello with a bad field is refused with INVALID_ARGUMENT naming it, and greets nobody."""

    def spoil(change: Callable[[channel_pb2.Hello], None]) -> channel_pb2.Hello:
        hello = _hello(s)
        change(hello)
        return hello

    def min_zero(h: channel_pb2.Hello) -> None:
        h.supported_versions.min_major = 0

    def max_below(h: channel_pb2.Hello) -> None:
        h.supported_versions.min_major, h.supported_versions.max_major = 2, 1

    def no_versions(h: channel_pb2.Hello) -> None:
        h.ClearField("supported_versions")

    def short_hash(h: channel_pb2.Hello) -> None:
        h.agreement_hash = h.agreement_hash[:31]

    def version_zero(h: channel_pb2.Hello) -> None:
        h.agreement_version = 0

    def no_time(h: channel_pb2.Hello) -> None:
        h.ClearField("sent_time")

    def no_channel(h: channel_pb2.Hello) -> None:
        h.channel_id = ""

    def no_party(h: channel_pb2.Hello) -> None:
        h.party = ""

    def long_name(h: channel_pb2.Hello) -> None:
        h.implementation = "x" * 257

    for change, path in (
        (min_zero, "hello.supported_versions.min_major"),
        (max_below, "hello.supported_versions.max_major"),
        (no_versions, "hello.supported_versions"),
        (short_hash, "hello.agreement_hash"),
        (version_zero, "hello.agreement_version"),
        (no_time, "hello.sent_time"),
        (no_channel, "hello.channel_id"),
        (no_party, "hello.party"),
        (long_name, "hello.implementation"),
    ):
        await expect_invalid(s.peer.hello(spoil(change)), path)
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")


@case("channel.hello_for_an_unknown_channel", "DCF-HEL-003")
async def hello_unknown_channel(s: Session) -> None:
    """A Hello for a channel the party does not serve is refused with NOT_FOUND."""
    await expect_refused(s.peer.hello(_hello(s, channel_id="no-such-channel")), grpc.StatusCode.NOT_FOUND)


@case("channel.hello_from_another_party", "DCF-HEL-004")
async def hello_other_party(s: Session) -> None:
    """A Hello whose party is not the peer of the channel is refused with PERMISSION_DENIED."""
    for party in ("somebody-else", s.target.party):
        await expect_refused(s.peer.hello(_hello(s, party=party)), grpc.StatusCode.PERMISSION_DENIED)
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")


@case("channel.hello_versions_must_overlap", "DCF-HEL-005")
async def hello_versions(s: Session) -> None:
    """Versions 7 to 9 against the party's: FAILED_PRECONDITION, VERSION_MISMATCH, naming both ranges."""
    refused = await expect_refused(
        s.peer.hello(_hello(s, supported_versions=VersionRange(min_major=7, max_major=9))),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_MISMATCH",
    )
    ours = (await s.peer.hello(_hello(s))).hello.supported_versions
    named = [str(n) for n in (7, 9, ours.min_major, ours.max_major)]
    expect(
        all(n in refused.message for n in named),
        f"a status message naming 7, 9 and {ours.min_major} to {ours.max_major}",
        refused.message,
    )


@case("channel.hello_selects_the_highest_common_major", "DCF-HEL-007", "DCF-HEL-008", "DCF-CMP-008")
async def hello_answer(s: Session) -> None:
    """A Hello offering 1 to 9 is answered with the party's own Hello and the highest major both support."""
    answer = await s.peer.hello(_hello(s, supported_versions=VersionRange(min_major=1, max_major=9)))
    theirs = answer.hello
    expect(theirs.channel_id == s.channel_id, f"channel_id {s.channel_id}", theirs.channel_id)
    expect(theirs.party == s.target.party, f"party {s.target.party}", theirs.party)
    expect(
        theirs.agreement_hash == s.agreement.sha256,
        f"agreement_hash {s.agreement.sha256.hex()}",
        theirs.agreement_hash.hex(),
    )
    expect(
        theirs.agreement_version == s.agreement.model.version,
        f"agreement_version {s.agreement.model.version}",
        theirs.agreement_version,
    )
    sent = theirs.sent_time.ToDatetime(UTC)
    expect(theirs.HasField("sent_time") and _around_now(sent, 30), "its sent_time, now", sent)
    versions = theirs.supported_versions
    expect(1 <= versions.min_major <= 1 <= versions.max_major, "a range including major 1", versions)
    highest = min(versions.max_major, 9)
    expect(answer.selected_major == highest, f"selected_major {highest}", answer.selected_major)
    # The Hello holds: writes are taken from now on.
    delivered = await s.file(s.notice())
    expect(delivered.acknowledgement.message_sequence == 1, "the notice stored", delivered.acknowledgement)


@case("channel.hello_agreement_mismatch", "DCF-HEL-006")
async def hello_mismatch(s: Session) -> None:
    """A Hello with another agreement's hash: FAILED_PRECONDITION, AGREEMENT_MISMATCH, naming both hashes."""
    other = hashlib.sha256(b"another agreement").digest()
    version = s.agreement.model.version + 4
    refused = await expect_refused(
        s.peer.hello(_hello(s, agreement_hash=other, agreement_version=version)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "AGREEMENT_MISMATCH",
    )
    text = refused.message.lower()
    expect(
        other.hex() in text and s.agreement.sha256.hex() in text and str(version) in text,
        f"a status message naming both hashes in hexadecimal and version {version}",
        refused.message,
    )
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")


# -- 8.3 heartbeat


@case("channel.heartbeat_answered_with_the_party_own", "DCF-HBT-003", "DCF-HBT-004")
async def heartbeat(s: Session) -> None:
    """A Heartbeat is answered with the party's own: its party, its time, its highest sequence sent to the suite."""
    await s.hello()
    answer = (await s.peer.heartbeat(_heartbeat(s))).heartbeat
    expect(
        answer.channel_id == s.channel_id and answer.party == s.target.party,
        f"the heartbeat of {s.target.party} on {s.channel_id}",
        f"{answer.party} on {answer.channel_id}",
    )
    expect(
        answer.HasField("sent_time") and _around_now(answer.sent_time.ToDatetime(UTC), 30),
        "its sent_time, now",
        answer.sent_time,
    )
    expect(
        answer.last_sequence_sent == 0, "last_sequence_sent 0 before the party sent anything", answer.last_sequence_sent
    )
    await s.originate("notice", s.notice(owner=s.target.party))
    delivered = await s.file(s.notice())
    expect(await s.answer_to(delivered.acknowledgement.message_id) is not None, "the party's response", "none in 5 s")
    answer = (await s.peer.heartbeat(_heartbeat(s))).heartbeat
    expect(answer.last_sequence_sent == 2, "last_sequence_sent 2 (a notice and a response)", answer.last_sequence_sent)


@case("channel.heartbeat_fields_checked", "DCF-HBT-002")
async def heartbeat_fields(s: Session) -> None:
    """A Heartbeat with a bad field is INVALID_ARGUMENT naming it; unknown channel NOT_FOUND; other party denied."""
    await s.hello()

    def spoil(change: Callable[[channel_pb2.Heartbeat], None]) -> channel_pb2.Heartbeat:
        beat = _heartbeat(s)
        change(beat)
        return beat

    def no_time(h: channel_pb2.Heartbeat) -> None:
        h.ClearField("sent_time")

    def no_party(h: channel_pb2.Heartbeat) -> None:
        h.party = ""

    def no_channel(h: channel_pb2.Heartbeat) -> None:
        h.channel_id = ""

    def stranger(h: channel_pb2.Heartbeat) -> None:
        h.party = "somebody-else"

    def elsewhere(h: channel_pb2.Heartbeat) -> None:
        h.channel_id = "no-such-channel"

    for change, path in (
        (no_time, "heartbeat.sent_time"),
        (no_party, "heartbeat.party"),
        (no_channel, "heartbeat.channel_id"),
    ):
        await expect_invalid(s.peer.heartbeat(spoil(change)), path)
    await expect_refused(s.peer.heartbeat(spoil(elsewhere)), grpc.StatusCode.NOT_FOUND)
    await expect_refused(s.peer.heartbeat(spoil(stranger)), grpc.StatusCode.PERMISSION_DENIED)


# -- 8.4 checklist


@case("channel.checklist_answered_with_active_notices_and_sequences", "DCF-CHK-002")
async def checklist(s: Session) -> None:
    """ExchangeChecklist is answered with the party's checklist: every active notice of both, and its sequences."""
    await s.hello()
    mine = s.notice()
    delivered = await s.file(mine)
    expect(await s.answer_to(delivered.acknowledgement.message_id) is not None, "the party's response", "none in 5 s")
    await s.amend(mine, replaces_version=1)
    theirs = (await s.originate("notice", s.notice(owner=s.target.party))).notice
    # The party answers the amendment too; wait until it has, so the sequences below are settled.
    await _settled(s, sent=3)
    answer = (await s.peer.exchange_checklist(_checklist(s))).checklist
    expect(
        answer.channel_id == s.channel_id and answer.party == s.target.party,
        f"the checklist of {s.target.party}",
        f"{answer.party} on {answer.channel_id}",
    )
    expect(
        answer.HasField("as_of_time") and _around_now(answer.as_of_time.ToDatetime(UTC), 30),
        "as_of_time, now",
        answer.as_of_time,
    )
    listed = {(e.notice_id, e.owner): (e.version, e.state) for e in answer.entries}
    active = notice_pb2.NOTICE_STATE_ACTIVE
    wanted = {(mine.notice_id, s.party): (2, active), (theirs.notice_id, s.target.party): (1, active)}
    for key, value in wanted.items():
        expect(listed.get(key) == value, f"{key[0]} of {key[1]}: version {value[0]}, ACTIVE", listed.get(key))
    expect(
        (answer.last_sequence_sent, answer.last_sequence_received) == (3, 2),
        "last_sequence_sent 3 and last_sequence_received 2",
        f"{answer.last_sequence_sent} and {answer.last_sequence_received}",
    )


async def _settled(s: Session, *, sent: int, within: float = 5.0) -> None:
    """Wait until the party has sent `sent` envelopes on the channel."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        count = sum(1 for o in await s.observed() if o.sent)
        if count >= sent:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise CaseFailedError(f"{sent} envelopes sent by the party", f"{count} within {within:.0f} s")
        await asyncio.sleep(0.05)


@case("channel.checklist_fields_checked", "DCF-CHK-003")
async def checklist_fields(s: Session) -> None:
    """A checklist with a bad field is INVALID_ARGUMENT naming it; unknown channel NOT_FOUND; other party denied."""
    await s.hello()
    entries = [
        ChecklistEntry(notice_id="notice-1", owner=s.party, version=1, state=NoticeState.ACTIVE),
        ChecklistEntry(notice_id="notice-2", owner=s.target.party, version=2, state=NoticeState.CANCELLED),
    ]

    def spoil(change: Callable[[channel_pb2.Checklist], None]) -> channel_pb2.Checklist:
        checklist = _checklist(s, entries)
        change(checklist)
        return checklist

    def no_time(c: channel_pb2.Checklist) -> None:
        c.ClearField("as_of_time")

    def no_party(c: channel_pb2.Checklist) -> None:
        c.party = ""

    def repeated(c: channel_pb2.Checklist) -> None:
        c.entries[1].notice_id = "notice-1"

    def no_notice(c: channel_pb2.Checklist) -> None:
        c.entries[0].notice_id = ""

    def outside_owner(c: channel_pb2.Checklist) -> None:
        c.entries[1].owner = "somebody-else"

    def version_zero(c: channel_pb2.Checklist) -> None:
        c.entries[0].version = 0

    def unspecified(c: channel_pb2.Checklist) -> None:
        c.entries[1].state = notice_pb2.NOTICE_STATE_UNSPECIFIED

    def stranger(c: channel_pb2.Checklist) -> None:
        c.party = "somebody-else"

    def elsewhere(c: channel_pb2.Checklist) -> None:
        c.channel_id = "no-such-channel"

    for change, path in (
        (no_time, "checklist.as_of_time"),
        (no_party, "checklist.party"),
        (repeated, "checklist.entries[1].notice_id"),
        (no_notice, "checklist.entries[0].notice_id"),
        (outside_owner, "checklist.entries[1].owner"),
        (version_zero, "checklist.entries[0].version"),
        (unspecified, "checklist.entries[1].state"),
    ):
        await expect_invalid(s.peer.exchange_checklist(spoil(change)), path)
    await expect_refused(s.peer.exchange_checklist(spoil(elsewhere)), grpc.StatusCode.NOT_FOUND)
    await expect_refused(s.peer.exchange_checklist(spoil(stranger)), grpc.StatusCode.PERMISSION_DENIED)


@case("channel.checklist_never_changes_the_party_notices", "DCF-CHK-004")
async def checklist_own(s: Session) -> None:
    """A peer checklist listing the party's notice at a higher version, CANCELLED, changes nothing of it."""
    await s.hello()
    theirs = (await s.originate("notice", s.notice(owner=s.target.party))).notice
    claimed = ChecklistEntry(notice_id=theirs.notice_id, owner=s.target.party, version=3, state=NoticeState.CANCELLED)
    await s.peer.exchange_checklist(_checklist(s, [claimed]))
    await asyncio.sleep(0.5)
    state = await _notice_state(s, theirs.notice_id)
    expect(state == (1, "NOTICE_STATE_ACTIVE"), "its notice still version 1, ACTIVE", state)
    sent = [o.envelope.WhichOneof("body") for o in await s.observed() if o.sent]
    expect(sent == ["notice"], "nothing sent about it but the notice", sent)


@case("channel.get_notice_serves_both_parties_notices", "DCF-CHK-007")
async def get_notice(s: Session) -> None:
    """GetNotice serves the suite's notices and the party's own, at their current version and state."""
    await s.hello()
    mine = s.notice()
    await s.file(mine)
    await s.cancel(mine.notice_id, 1)
    theirs = (await s.originate("notice", s.notice(owner=s.target.party))).notice
    for notice_id, owner, wanted in (
        (mine.notice_id, s.party, (1, "NOTICE_STATE_CANCELLED")),
        (theirs.notice_id, s.target.party, (1, "NOTICE_STATE_ACTIVE")),
    ):
        record = (await s.peer.get_notice(s.channel_id, notice_id)).record
        got = (record.notice.version, notice_pb2.NoticeState.Name(record.notice.state))
        expect(
            record.notice.owner == owner and got == wanted,
            f"{notice_id} of {owner}: {wanted}",
            f"{record.notice.owner}: {got}",
        )


# -- 8.5 suspension


@case("channel.suspension_stops_notices_both_ways", "DCF-SUS-002", "DCF-SUS-004", "DCF-SUS-007", "DCF-SUS-011")
async def suspension(s: Session) -> None:
    """Once suspended, notices and amendments are refused CHANNEL_SUSPENDED both ways, and the operator is told."""
    await s.hello()
    before = s.notice()
    await s.file(before)
    suspended = _suspension(reason="Border incident under investigation")
    await s.send("suspension", suspended)
    attempts: list[tuple[str, Callable[[], Awaitable[Delivery]]]] = [
        ("a notice", lambda: s.file(s.notice())),
        ("an amendment", lambda: s.amend(before, replaces_version=1)),
    ]
    for what, attempt in attempts:
        refused = await expect_refused(attempt(), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
        since = suspended.effective_time.strftime("%H:%M")
        expect(
            suspended.suspension_id in refused.message
            and suspended.reason in refused.message
            and since in refused.message,
            f"a status message for {what} giving {suspended.suspension_id}, since {since} and why",
            refused.message,
        )
    await expect_refused(
        s.originate("notice", s.notice(owner=s.target.party)), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED"
    )
    sent = [o.envelope.WhichOneof("body") for o in await s.observed() if o.sent]
    expect("notice" not in sent, "no notice sent by the party while suspended", sent)
    alerts = [a for a in await s.alerts() if a.kind == operator_pb.ALERT_KIND_CHANNEL_STATE]
    expect(bool(alerts), "an operator alert for the suspension received", "none")


@case("channel.suspension_lets_everything_else_flow", "DCF-SUS-006", "DCF-INC-001")
async def suspension_flow(s: Session) -> None:
    """While suspended, cancellations, responses, incidents, conferences, resumption, Hello and reads flow."""
    await s.hello()
    mine = s.notice()
    await s.file(mine)
    carried = await s.originate("notice", s.notice(owner=s.target.party))
    suspended = _suspension()
    await s.send("suspension", suspended)
    proposal = ConferenceProposal(
        conference_id=f"conference-{uuid.uuid4().hex[:8]}",
        revision=1,
        title="Review of the suspension",
        candidate_slots=[TimeSlot(start_time=datetime.now(UTC).replace(microsecond=0) + timedelta(days=1))],
        duration=timedelta(hours=1),
        participants=[Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION)],
        classification=Classification.RESTRICTED,
    )
    response = OperationalResponse(notice_id=carried.notice.notice_id, notice_version=1, kind=ResponseKind.ROGER)
    steps: list[tuple[str, Awaitable[Any]]] = [
        ("a cancellation", s.cancel(mine.notice_id, 1)),
        ("a response", s.send("response", response, in_reply_to=carried.message_id)),
        ("an incident report", s.send("incident_report", incident(s))),
        ("a conference proposal", s.send("conference_proposal", proposal)),
        ("Hello", s.hello()),
        ("Heartbeat", s.peer.heartbeat(_heartbeat(s))),
        ("ExchangeChecklist", s.peer.exchange_checklist(_checklist(s))),
        ("GetNotice", s.peer.get_notice(s.channel_id, mine.notice_id)),
        ("ListNotices", s.peer.list_notices(s.channel_id)),
        ("GetConference", s.peer.get_conference(s.channel_id, proposal.conference_id)),
        ("the resumption", s.send("resumption", _resumption(suspended.suspension_id))),
    ]
    for what, step in steps:
        try:
            await step
        except RefusedError as error:
            raise CaseFailedError(f"{what} taken while suspended", f"{error.code.name}: {error.message}") from None


@case("channel.suspension_is_not_retroactive", "DCF-SUS-005")
async def not_retroactive(s: Session) -> None:
    """A suspension effective an hour ago leaves the notices stored before it as they were."""
    await s.hello()
    before = s.notice()
    await s.file(before)
    await s.send("suspension", _suspension(effective=datetime.now(UTC) - timedelta(hours=1)))
    state = await _notice_state(s, before.notice_id)
    expect(state == (1, "NOTICE_STATE_ACTIVE"), "the notice still version 1, ACTIVE", state)
    listed = [r.notice.notice_id for r in (await s.peer.list_notices(s.channel_id)).records]
    expect(before.notice_id in listed, f"{before.notice_id} listed", listed)


@case("channel.suspension_from_effective_time_to_resumption", "DCF-SUS-004", "DCF-SUS-010", timeout=30)
async def suspension_window(s: Session) -> None:
    """Notices are refused from the suspension's effective_time, and taken again from the resumption's."""
    await s.hello()
    ahead = 2.0
    suspended = _suspension(effective=datetime.now(UTC) + timedelta(seconds=ahead))
    await s.send("suspension", suspended)
    await s.file(s.notice())  # not in effect yet
    await asyncio.sleep(ahead + 0.2)
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
    await s.send(
        "resumption", _resumption(suspended.suspension_id, effective=datetime.now(UTC) + timedelta(seconds=ahead))
    )
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
    await asyncio.sleep(ahead + 0.2)
    await s.file(s.notice())


@case("channel.second_suspension_refused", "DCF-SUS-003")
async def second_suspension(s: Session) -> None:
    """A suspension while one is pending or in effect is refused with ALREADY_SUSPENDED."""
    await s.hello()
    pending = _suspension(effective=datetime.now(UTC) + timedelta(hours=1))
    await s.send("suspension", pending)
    await expect_refused(s.send("suspension", _suspension()), grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_SUSPENDED")
    await s.send("resumption", _resumption(pending.suspension_id, effective=pending.effective_time))
    await s.send("suspension", _suspension())
    await expect_refused(s.send("suspension", _suspension()), grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_SUSPENDED")


@case("channel.suspension_fields_checked", "DCF-SUS-001")
async def suspension_fields(s: Session) -> None:
    """A suspension without suspension_id, effective_time or reason is refused naming the field."""
    await s.hello()

    def no_id(e: envelope_pb2.Envelope) -> None:
        e.suspension.suspension_id = ""

    def no_time(e: envelope_pb2.Envelope) -> None:
        e.suspension.ClearField("effective_time")

    def no_reason(e: envelope_pb2.Envelope) -> None:
        e.suspension.reason = ""

    for spoil, path in (
        (no_id, "suspension.suspension_id"),
        (no_time, "suspension.effective_time"),
        (no_reason, "suspension.reason"),
    ):
        await expect_invalid(s.deliver(spoiled(s, "suspension", _suspension(), spoil)), path)
    await s.file(s.notice())  # nothing suspended


@case("channel.resumption_rules", "DCF-SUS-008", "DCF-SUS-009")
async def resumption_rules(s: Session) -> None:
    """A resumption needs a suspension in force, its id, a reason and an effective_time not before it."""
    await s.hello()
    await expect_refused(
        s.send("resumption", _resumption("suspension-x")), grpc.StatusCode.FAILED_PRECONDITION, "NOT_SUSPENDED"
    )
    suspended = _suspension()
    await s.send("suspension", suspended)
    await expect_refused(
        s.send("resumption", _resumption("another-suspension")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "SUSPENSION_MISMATCH",
    )

    def no_reason(e: envelope_pb2.Envelope) -> None:
        e.resumption.reason = ""

    def no_id(e: envelope_pb2.Envelope) -> None:
        e.resumption.suspension_id = ""

    def no_time(e: envelope_pb2.Envelope) -> None:
        e.resumption.ClearField("effective_time")

    for spoil, path in (
        (no_reason, "resumption.reason"),
        (no_id, "resumption.suspension_id"),
        (no_time, "resumption.effective_time"),
    ):
        await expect_invalid(s.deliver(spoiled(s, "resumption", _resumption(suspended.suspension_id), spoil)), path)
    earlier = _resumption(suspended.suspension_id, effective=suspended.effective_time - timedelta(minutes=5))
    await expect_invalid(s.send("resumption", earlier), "resumption.effective_time")
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")


@case("channel.either_party_suspends_and_resumes", "DCF-SUS-002", "DCF-SUS-010", "DCF-SUS-011")
async def either_party(s: Session) -> None:
    """The party's own suspension stops the suite's notices; the suite's resumption ends it; both are alerted."""
    await s.hello()
    suspended = (await s.originate("suspension", _suspension())).suspension
    await expect_refused(s.file(s.notice()), grpc.StatusCode.FAILED_PRECONDITION, "CHANNEL_SUSPENDED")
    await s.send("resumption", _resumption(suspended.suspension_id))
    await s.file(s.notice())
    alerts = [a for a in await s.alerts() if a.kind == operator_pb.ALERT_KIND_CHANNEL_STATE]
    expect(
        len(alerts) >= 2,
        "an operator alert for the suspension sent and for the resumption received",
        [a.text for a in alerts],
    )


# -- 8.6 incidents


@case("channel.incident_report_stored_as_sent", "DCF-INC-001", "DCF-INC-008")
async def incident_stored(s: Session) -> None:
    """An incident report with an unknown closest approach, and one with 0 m, are stored exactly as sent."""
    await s.hello()
    unknown = s.envelope("incident_report", incident(s))
    await s.deliver(unknown)
    met = s.envelope("incident_report", incident(s, closest_lateral_m=0.0, closest_vertical_m=0.0))
    await s.deliver(met)
    stored = [o.signed.payload for o in await s.observed() if o.received]
    expect(stored == [unknown.payload, met.payload], "both reports stored byte for byte", f"{len(stored)} stored")


@case("channel.incident_fields_checked", "DCF-INC-002", "DCF-INC-003", "DCF-INC-008")
async def incident_fields(s: Session) -> None:
    """An incident report with a bad field, or a bad aircraft, is refused naming the field."""
    await s.hello()
    report = "incident_report"

    def setter(path: str, value: Any) -> Callable[[envelope_pb2.Envelope], None]:
        def spoil(e: envelope_pb2.Envelope) -> None:
            *parents, last = path.split(".")
            target: Any = e.incident_report
            for part in parents:
                target = target.aircraft[int(part[9:-1])] if part.startswith("aircraft[") else getattr(target, part)
            if value is None:
                target.ClearField(last)
            else:
                setattr(target, last, value)

        return spoil

    def no_aircraft(e: envelope_pb2.Envelope) -> None:
        e.incident_report.ClearField("aircraft")

    for spoil, path in (
        (setter("incident_id", ""), f"{report}.incident_id"),
        (setter("occurred_time", None), f"{report}.occurred_time"),
        (setter("position", None), f"{report}.position"),
        (setter("position.latitude", 91.0), f"{report}.position.latitude"),
        (setter("altitude", None), f"{report}.altitude"),
        (no_aircraft, f"{report}.aircraft"),
        (setter("closest_lateral_m", -1.0), f"{report}.closest_lateral_m"),
        (setter("closest_vertical_m", math.inf), f"{report}.closest_vertical_m"),
        (setter("closest_lateral_m", math.nan), f"{report}.closest_lateral_m"),
        (setter("narrative", ""), f"{report}.narrative"),
        (setter("aircraft[0].party", ""), f"{report}.aircraft[0].party"),
        (setter("aircraft[1].aircraft_category", 0), f"{report}.aircraft[1].aircraft_category"),
        (setter("aircraft[0].callsign", "raven 21"), f"{report}.aircraft[0].callsign"),
        (setter("aircraft[0].callsign", "R" * 17), f"{report}.aircraft[0].callsign"),
        (setter("aircraft[1].transponder_code", "4728"), f"{report}.aircraft[1].transponder_code"),
        (setter("aircraft[1].notice_id", " "), f"{report}.aircraft[1].notice_id"),
    ):
        await expect_invalid(s.deliver(spoiled(s, "incident_report", incident(s), spoil)), path)


@case("channel.incident_in_the_future_refused", "DCF-INC-004")
async def incident_future(s: Session) -> None:
    """An occurred_time past the clock plus the skew tolerance is refused; one inside the tolerance is taken."""
    await s.hello()
    tolerance = s.agreement.model.clock_skew_tolerance
    ahead = datetime.now(UTC) + tolerance + timedelta(minutes=1)
    await expect_invalid(s.send("incident_report", incident(s, occurred_time=ahead)), "incident_report.occurred_time")
    await s.send("incident_report", incident(s, occurred_time=datetime.now(UTC) + tolerance / 3))


@case("channel.incident_id_unique_on_the_channel", "DCF-INC-005")
async def incident_unique(s: Session) -> None:
    """The same report again is stored as a message; another report under a known incident id is refused."""
    await s.hello()
    report = incident(s)
    first = await s.send("incident_report", report)
    again = await s.send("incident_report", report)
    expect(
        again.acknowledgement.message_id != first.acknowledgement.message_id,
        "a second message acknowledged",
        again.acknowledgement,
    )
    other = report.model_copy(update={"narrative": "Another account of the same events."})
    await expect_refused(s.send("incident_report", other), grpc.StatusCode.ALREADY_EXISTS, "INCIDENT_EXISTS")
    theirs = (await s.originate("incident_report", incident(s, narrative="Reported by the party."))).incident_report
    taken = incident(s, theirs.incident_id)
    await expect_refused(s.send("incident_report", taken), grpc.StatusCode.ALREADY_EXISTS, "INCIDENT_EXISTS")


# -- 8.7 streams (feature "streaming")


@case("stream.watch_refusals", "DCF-STR-001", "DCF-STR-003", feature="streaming")
async def watch_refusals(s: Session) -> None:
    """Watch is refused before Hello, for an unknown channel, and from beyond the last sequence sent plus one."""

    async def first(channel_id: str, from_sequence: int = 0) -> None:
        async for _ in s.peer.watch(channel_id, from_sequence):
            return

    async def within(call: Awaitable[None]) -> None:
        await asyncio.wait_for(call, 5.0)

    await expect_refused(within(first(s.channel_id)), grpc.StatusCode.FAILED_PRECONDITION)
    await s.hello()
    await expect_refused(within(first("no-such-channel")), grpc.StatusCode.NOT_FOUND)
    await s.originate("notice", s.notice(owner=s.target.party))
    await expect_refused(within(first(s.channel_id, 3)), grpc.StatusCode.OUT_OF_RANGE)


@case("stream.watch_streams_every_envelope_then_live", "DCF-STR-002", feature="streaming")
async def watch(s: Session) -> None:
    """Watch gives every envelope the party sent, in order and as sent, from from_sequence, then each new one."""
    await s.hello()
    for _ in range(3):
        await s.originate("notice", s.notice(owner=s.target.party))
    sent = [o.signed for o in await s.observed() if o.sent]
    streamed: list[envelope_pb2.SignedPayload] = []

    async def take(count: int, from_sequence: int) -> None:
        async for signed in s.peer.watch(s.channel_id, from_sequence):
            streamed.append(signed)
            if len(streamed) == count:
                return

    await asyncio.wait_for(take(3, 0), 5.0)
    expect(streamed == sent, "the three envelopes as sent, in order", [len(x.payload) for x in streamed])
    streamed.clear()
    watching = asyncio.ensure_future(asyncio.wait_for(take(3, 2), 5.0))
    await asyncio.sleep(0.3)
    await s.originate("notice", s.notice(owner=s.target.party))
    await watching
    sent = [o.signed for o in await s.observed() if o.sent]
    expect(streamed == sent[1:], "sequences 2 to 4, the last sent after the Watch began", len(streamed))


@case(
    "stream.exchange_answers_each_envelope_in_order", "DCF-STR-007", "DCF-STR-008", "DCF-STR-009", feature="streaming"
)
async def exchange(s: Session) -> None:
    """Exchange answers each envelope in order, acknowledgements as the unary RPC's, refusals without ending it."""
    await s.hello()
    first = s.envelope("notice", s.notice(), sequence=1)
    unary = await s.deliver(first)

    def bad(e: envelope_pb2.Envelope) -> None:
        e.notice.aircraft_count = 0

    broken = spoiled(s, "notice", s.notice(), bad, sequence=2)
    broken_id = envelope_pb2.Envelope.FromString(broken.payload).message_id
    good = s.envelope("notice", s.notice(), sequence=2)
    answers = [a async for a in s.peer.exchange([first, broken, good])]
    expect(len(answers) == 3, "three answers", len(answers))
    again, refused, taken = answers
    expect(
        isinstance(again, Delivery) and again.signed == unary.signed,
        "the acknowledgement of the duplicate, byte for byte as the unary one",
        again,
    )
    expect(isinstance(refused, StreamRefusal), "a refusal of the broken notice", refused)
    assert isinstance(refused, StreamRefusal)
    paths = [path for path, _ in refused.refusal.violations]
    expect(
        refused.message_id == broken_id
        and refused.refusal.code == grpc.StatusCode.INVALID_ARGUMENT
        and "notice.aircraft_count" in paths,
        f"INVALID_ARGUMENT for {broken_id} naming notice.aircraft_count",
        f"{refused.refusal.code.name} for {refused.message_id} naming {paths}",
    )
    expect(
        isinstance(taken, Delivery) and taken.acknowledgement.message_sequence == 2,
        "the next notice acknowledged after the refusal",
        taken,
    )


@case("stream.exchange_refusal_details", "DCF-STR-011", "DCF-STR-012", "DCF-STR-013", feature="streaming")
async def refusal_details(s: Session) -> None:
    """Refusals on Exchange carry the reason and the StaleVersion or SequenceGap of the unary RPC, and only then."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.amend(notice, replaces_version=1)
    stale = s.envelope(
        "amendment", NoticeAmendment(replaces_version=1, notice=notice.model_copy(update={"version": 2}))
    )
    gap = s.envelope("notice", s.notice(), sequence=s.sequence + 5)

    def bad(e: envelope_pb2.Envelope) -> None:
        e.notice.aircraft_count = 0

    broken = spoiled(s, "notice", s.notice(), bad)
    answers = [a async for a in s.peer.exchange([stale, gap, broken])]
    refusals = [a.refusal for a in answers if isinstance(a, StreamRefusal)]
    expect(len(refusals) == 3, "three refusals", answers)
    stale_r, gap_r, invalid_r = refusals
    expect(
        stale_r.code == grpc.StatusCode.ABORTED
        and stale_r.reason == "STALE_VERSION"
        and stale_r.stale_version is not None
        and stale_r.stale_version.current_version == 2
        and stale_r.sequence_gap is None,
        "ABORTED, STALE_VERSION, a StaleVersion with current_version 2",
        stale_r,
    )
    expect(
        gap_r.code == grpc.StatusCode.FAILED_PRECONDITION
        and gap_r.reason == "SEQUENCE_GAP"
        and gap_r.sequence_gap is not None
        and gap_r.stale_version is None
        and (gap_r.sequence_gap.expected, gap_r.sequence_gap.received) == (s.sequence, s.sequence + 5),
        f"FAILED_PRECONDITION, SEQUENCE_GAP, a SequenceGap expecting {s.sequence}",
        gap_r,
    )
    expect(
        str(s.sequence) in gap_r.message and str(s.sequence + 5) in gap_r.message,
        "a message stating the expected and received sequences",
        gap_r.message,
    )
    expect(
        invalid_r.code == grpc.StatusCode.INVALID_ARGUMENT
        and invalid_r.reason == ""
        and invalid_r.stale_version is None
        and invalid_r.sequence_gap is None,
        "INVALID_ARGUMENT with no reason and no detail",
        invalid_r,
    )


# -- the party as caller: the suite listens as its peer (Reset with peer_address)

# Every write RPC: its request carries the envelope, its response the acknowledgement.
_WRITE_METHODS = frozenset(
    {
        "SubmitNotice",
        "AmendNotice",
        "CancelNotice",
        "RespondToNotice",
        "ProposeConference",
        "AnswerConference",
        "RecordConference",
        "CancelConference",
        "Suspend",
        "Resume",
        "ReportIncident",
        "NotifyTimeout",
    }
)
_PEER_SERVICES = (
    notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"],
)
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class _Call:
    method: str
    request: Any
    at: float  # monotonic seconds


@dataclass
class _ListeningPeer:
    """The suite's node as the party's peer: answers Hello, heartbeats, checklists and writes, and records them."""

    s: Session
    calls: list[_Call] = field(default_factory=list)
    silent: bool = False  # heartbeats go unanswered (the handler outlasts the party's deadline)
    refuse_next_write: bool = False  # the next write is refused with HELLO_REQUIRED, as after a restart
    stored: int = 0

    def named(self, method: str) -> list[_Call]:
        return [call for call in self.calls if call.method == method]

    def behaviours(self, service: ServiceDescriptor) -> dict[str, Behaviour]:
        found: dict[str, Behaviour] = {}
        for method in service.methods:
            if method.name in _WRITE_METHODS:
                found[method.name] = self._writer(method)
            elif hasattr(self, method.name):
                found[method.name] = getattr(self, method.name)
            else:
                found[method.name] = _not_served_stream if method.server_streaming else _not_served
        return found

    async def Hello(self, request: channel_service_pb2.HelloRequest, context: Context) -> Any:  # noqa: N802
        self.calls.append(_Call("Hello", request, time.monotonic()))
        return channel_service_pb2.HelloResponse(hello=_hello(self.s), selected_major=1)

    async def Heartbeat(self, request: channel_service_pb2.HeartbeatRequest, context: Context) -> Any:  # noqa: N802
        self.calls.append(_Call("Heartbeat", request, time.monotonic()))
        if self.silent:
            await asyncio.sleep(10 * self.s.agreement.model.heartbeat_interval.total_seconds())
        return channel_service_pb2.HeartbeatResponse(heartbeat=_heartbeat(self.s))

    async def ExchangeChecklist(self, request: Any, context: Context) -> Any:  # noqa: N802
        self.calls.append(_Call("ExchangeChecklist", request, time.monotonic()))
        checklist = _checklist(self.s)
        checklist.last_sequence_received = self.stored
        return channel_service_pb2.ExchangeChecklistResponse(checklist=checklist)

    def _writer(self, method: MethodDescriptor) -> Behaviour:
        output = message_factory.GetMessageClass(method.output_type)

        async def write(request: Any, context: Context) -> Any:
            self.calls.append(_Call(method.name, request, time.monotonic()))
            if self.refuse_next_write:
                self.refuse_next_write = False
                raise Refusal(grpc.StatusCode.FAILED_PRECONDITION, "say Hello first", reason="HELLO_REQUIRED")
            envelope = decode_envelope(request.envelope.payload)
            self.stored += 1
            acknowledgement = LogicalAcknowledgement(
                channel_id=envelope.channel_id,
                acknowledging_party=self.s.party,
                message_id=envelope.message_id,
                message_sender=envelope.sender,
                message_sequence=envelope.sequence,
                payload_sha256=hashlib.sha256(request.envelope.payload).digest(),
                journal_position=self.stored,
                stored_time=datetime.now(UTC),
            )
            return output(acknowledgement=self.s.sign(signed_payload_to_proto(seal_acknowledgement(acknowledgement))))

        return write

    async def until(self, what: str, found: Callable[[], bool], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not found():
            if time.monotonic() > deadline:
                seen = [call.method for call in self.calls]
                raise CaseFailedError(what, f"not within {within:.0f} s; the party called {seen or 'nothing'}")
            await asyncio.sleep(0.05)


async def _not_served(request: Any, context: Context) -> Any:
    raise Refusal(grpc.StatusCode.UNIMPLEMENTED, "the conformance suite does not serve this method")


async def _not_served_stream(request: Any, context: Context) -> AsyncIterator[Any]:
    raise Refusal(grpc.StatusCode.UNIMPLEMENTED, "the conformance suite does not serve this method")
    yield  # an async generator, as a streaming behaviour is


@contextlib.asynccontextmanager
async def _listening(s: Session) -> AsyncIterator[_ListeningPeer]:
    """The party started afresh with the suite listening as its peer, on this machine."""
    if s.address.rsplit(":", 1)[0] not in _LOOPBACK:
        raise CaseSkippedError("the suite listens on 127.0.0.1: the party under test must run on this machine")
    peer = _ListeningPeer(s)
    server = build_server(
        [service_handler(service, peer.behaviours(service)) for service in _PEER_SERVICES],
        health_checking=False,
        server_reflection=False,
    )
    port = bind(server, "127.0.0.1:0")
    await server.start()
    try:
        await s.control.reset(control_pb.RESPONSE_POLICY_AUTOMATIC, f"127.0.0.1:{port}")
        yield peer
    finally:
        # The party stops calling before the listener goes.
        await s.control.reset(control_pb.RESPONSE_POLICY_AUTOMATIC)
        await server.stop(0)


@case("channel.party_says_hello_before_anything_else", "DCF-HEL-009")
async def says_hello(s: Session) -> None:
    """Started with a notice to send, the party says Hello to the suite, for this channel, before the notice."""
    async with _listening(s) as peer:
        await s.originate("notice", s.notice(owner=s.target.party))
        await peer.until("the notice pushed to the suite", lambda: bool(peer.named("SubmitNotice")))
        order = [call.method for call in peer.calls if call.method in ("Hello", "SubmitNotice")]
        expect(order[:2] == ["Hello", "SubmitNotice"], "Hello, then the notice", order)
        hello = peer.calls[0].request.hello
        expect(peer.calls[0].method == "Hello", "Hello first of all", peer.calls[0].method)
        expect(
            (hello.channel_id, hello.party, hello.agreement_hash) == (s.channel_id, s.target.party, s.agreement.sha256),
            f"a Hello of {s.target.party} on {s.channel_id} with the agreement's hash",
            f"{hello.party} on {hello.channel_id}, hash {hello.agreement_hash.hex()}",
        )


@case("channel.party_beats_every_interval", "DCF-HBT-001", "DCF-HBT-004", timeout=30)
async def beats(s: Session) -> None:
    """After Hello the party sends a Heartbeat every heartbeat_interval, giving its highest sequence sent."""
    interval = s.agreement.model.heartbeat_interval.total_seconds()
    async with _listening(s) as peer:
        # A message that awaits no answer, so that nothing else is sent while the case counts.
        await s.originate("incident_report", incident(s))
        await peer.until("a first Heartbeat", lambda: bool(peer.named("Heartbeat")), within=3 * interval + 3)
        await asyncio.sleep(3 * interval + 0.2)
        beats = peer.named("Heartbeat")
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(beats)]
        expect(len(beats) >= 3, f"a Heartbeat every {interval:.0f} s", f"{len(beats)} in {3 * interval:.0f} s")
        expect(
            all(0.5 * interval <= gap <= 2 * interval for gap in gaps),
            f"{interval:.0f} s between heartbeats",
            ", ".join(f"{gap:.2f} s" for gap in gaps),
        )
        last = beats[-1].request.heartbeat
        expect(
            (last.channel_id, last.party) == (s.channel_id, s.target.party),
            f"the heartbeat of {s.target.party}",
            f"{last.party} on {last.channel_id}",
        )
        expect(last.last_sequence_sent == 1, "last_sequence_sent 1 after its one message", last.last_sequence_sent)


@case("channel.party_alerts_when_the_peer_goes_down_and_up", "DCF-HBT-007", "DCF-HBT-008", timeout=40)
async def down_and_up(s: Session) -> None:
    """Heartbeats unanswered for missed_heartbeats_down intervals: a PEER_DOWN alert; answered again: PEER_UP."""
    agreement = s.agreement.model
    interval = agreement.heartbeat_interval.total_seconds()
    down_after = interval * agreement.missed_heartbeats_down
    async with _listening(s) as peer:
        await peer.until("an answered Heartbeat", lambda: bool(peer.named("Heartbeat")), within=3 * interval + 3)
        await asyncio.sleep(0.2)
        peer.silent = True
        silent_since = time.monotonic()

        async def alerted(kind: int) -> bool:
            return any(alert.kind == kind for alert in await s.alerts())

        while not await alerted(operator_pb.ALERT_KIND_PEER_DOWN):
            waited = time.monotonic() - silent_since
            expect(waited <= down_after + 3 * interval, f"a PEER_DOWN alert within {down_after:.0f} s", "none")
            await asyncio.sleep(0.1)
        waited = time.monotonic() - silent_since
        expect(waited >= down_after - interval, f"no PEER_DOWN before {down_after:.0f} s of silence", f"{waited:.1f} s")
        peer.silent = False
        back = time.monotonic()
        while not await alerted(operator_pb.ALERT_KIND_PEER_UP):
            expect(time.monotonic() - back <= 3 * interval + 1, "a PEER_UP alert once heartbeats are answered", "none")
            await asyncio.sleep(0.1)


@case("channel.party_says_hello_again_when_refused_hello_required", "DCF-HEL-008")
async def hello_again(s: Session) -> None:
    """Refused HELLO_REQUIRED, as by a peer that restarted, the party says Hello again and resends the same bytes."""
    async with _listening(s) as peer:
        await peer.until("a Hello", lambda: bool(peer.named("Hello")))
        peer.refuse_next_write = True
        await s.originate("notice", s.notice(owner=s.target.party))
        await peer.until("the notice sent again", lambda: len(peer.named("SubmitNotice")) >= 2, within=8.0)
        order = [call.method for call in peer.calls if call.method in ("Hello", "SubmitNotice")]
        expect(
            order[:4] == ["Hello", "SubmitNotice", "Hello", "SubmitNotice"],
            "Hello, the notice refused, Hello again, the notice again",
            order,
        )
        first, second = (call.request.envelope for call in peer.named("SubmitNotice")[:2])
        expect(first == second, "the same envelope, byte for byte", "another envelope")
