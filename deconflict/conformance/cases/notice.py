"""Chapter 04: filing, amending, cancelling, expiring and reading flight notices."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.cases.codec import deliver, expect_refusal
from deconflict.conformance.cases.geometry import box, notice_of, party_notice, refused_at, volume
from deconflict.conformance.session import Session
from deconflict.models.channel import Suspension
from deconflict.models.envelope import Mode
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCancellation, NoticeCategory
from deconflict.v1 import envelope_pb2, notice_pb2, response_pb2

# -- helpers

ACTIVE = notice_pb2.NOTICE_STATE_ACTIVE
CANCELLED = notice_pb2.NOTICE_STATE_CANCELLED
EXPIRED = notice_pb2.NOTICE_STATE_EXPIRED


async def refused(call: Any, code: grpc.StatusCode, reason: str = "", path: str = "") -> RefusedError:
    """The refusal `call` must end in: `code`, and `reason` and a violation of `path` when given."""
    try:
        await call
    except RefusedError as error:
        paths = [field for field, _ in error.violations]
        wanted = code.name + (f", reason {reason}" if reason else "") + (f", naming {path}" if path else "")
        got = f"{error.code.name}, reason {error.reason or '(none)'}, naming {', '.join(paths) or 'nothing'}: "
        expect(
            error.code == code and (not reason or error.reason == reason) and (not path or path in paths),
            wanted,
            got + error.message,
        )
        return error
    raise CaseFailedError(f"a refusal with {code.name}", "the party accepted it")


async def record(s: Session, notice_id: str) -> Any:
    """The party's NoticeRecord of a notice."""
    return (await s.peer.get_notice(s.channel_id, notice_id)).record


def state_name(state: int) -> str:
    return notice_pb2.NoticeState.Name(state)  # type: ignore[arg-type]


async def expect_state(s: Session, notice_id: str, state: int, version: int) -> None:
    held = (await record(s, notice_id)).notice
    expect(
        (held.state, held.version) == (state, version),
        f"{notice_id} {state_name(state)} at version {version}",
        f"{state_name(held.state)} at version {held.version}",
    )


def amendment(notice: FlightNotice, replaces_version: int, **changes: Any) -> NoticeAmendment:
    """The amendment replacing `replaces_version` of `notice` with its content changed by `changes`."""
    return NoticeAmendment(
        replaces_version=replaces_version, notice=notice.model_copy(update={"version": replaces_version + 1, **changes})
    )


async def spoiled_refusal(
    s: Session, body: str, value: object, spoil: Callable[[envelope_pb2.Envelope], None], path: str
) -> str:
    """'' when the suite's message, spoiled by `spoil`, is refused with INVALID_ARGUMENT naming `path`."""
    envelope = s.proto(body, value)
    spoil(envelope)
    got = await expect_refusal(deliver(s, envelope), "INVALID_ARGUMENT", path)
    return f"{got}, not INVALID_ARGUMENT naming {path}" if got else ""


def suspension() -> Suspension:
    return Suspension(
        suspension_id=f"suspension-{uuid.uuid4().hex[:12]}",
        effective_time=datetime.now(UTC),
        reason="Exercise of the suspension procedure",
    )


def _setter(field: str, value: int) -> Callable[[notice_pb2.FlightNotice], None]:
    return lambda notice: setattr(notice, field, value)


# -- 4.1 fields


@case("notice.field_rules", "DCF-NTC-003", "DCF-NTC-004", "DCF-NTC-005", "DCF-NTC-006", "DCF-NTC-008")
async def field_rules(s: Session) -> None:
    """No volumes, unknown categories, no aircraft, bad callsigns and transponder codes and repeats are refused
    naming the field or the element."""
    await s.hello()

    def put(field: str, *values: Any) -> Callable[[notice_pb2.FlightNotice], None]:
        def spoil(notice: notice_pb2.FlightNotice) -> None:
            target = getattr(notice, field)
            if hasattr(target, "extend"):
                del target[:]
                target.extend(values)
            else:
                setattr(notice, field, values[0])

        return spoil

    def no_volumes(notice: notice_pb2.FlightNotice) -> None:
        del notice.volumes[:]

    checks: list[tuple[str, Callable[[notice_pb2.FlightNotice], None], str]] = [
        ("no volumes", no_volumes, "notice.volumes"),
        ("aircraft_category unspecified", put("aircraft_category", 0), "notice.aircraft_category"),
        ("aircraft_category 99", put("aircraft_category", 99), "notice.aircraft_category"),
        ("category unspecified", put("category", 0), "notice.category"),
        ("category 99", put("category", 99), "notice.category"),
        ("aircraft_count 0", put("aircraft_count", 0), "notice.aircraft_count"),
        ("a lower-case callsign", put("callsigns", "RCH471", "rch472"), "notice.callsigns[1]"),
        ("a callsign with a hyphen", put("callsigns", "RCH-471"), "notice.callsigns[0]"),
        ("a callsign of 17 characters", put("callsigns", "A" * 17), "notice.callsigns[0]"),
        ("an empty callsign", put("callsigns", ""), "notice.callsigns[0]"),
        ("a transponder code with an 8", put("transponder_codes", "7780"), "notice.transponder_codes[0]"),
        ("a transponder code of 3 digits", put("transponder_codes", "1200", "770"), "notice.transponder_codes[1]"),
        ("a repeated callsign", put("callsigns", "RCH471", "RCH472", "RCH471"), "notice.callsigns[2]"),
        ("a repeated transponder code", put("transponder_codes", "7700", "7700"), "notice.transponder_codes[1]"),
        ("a repeated frequency", put("frequency_ids", "guard-121.5", "guard-121.5"), "notice.frequency_ids[1]"),
    ]
    wrong = []
    for what, spoil, path in checks:
        got = await refused_at(s, s.notice(), spoil, path)
        if got:
            wrong.append(f"{what}: {got}")
    expect(not wrong, "each refused with INVALID_ARGUMENT naming the field", "; ".join(wrong))


@case("notice.unknown_references_not_refused", "DCF-NTC-007")
async def unknown_references(s: Session) -> None:
    """A notice naming a frequency and a contact the agreement does not have is stored, not refused."""
    await s.hello()
    notice = s.notice().model_copy(
        update={"frequency_ids": ["guard-121.5", "no-such-frequency"], "contact_id": "no-such-contact"}
    )
    delivered = await s.file(notice)
    expect(delivered.acknowledgement.notice_id == notice.notice_id, f"{notice.notice_id} stored", delivered)


# -- 4.2 filing


@case("notice.filed_notice_is_stored_active", "DCF-NTC-014", "DCF-NTC-029", "DCF-NTC-036", "DCF-NTC-010")
async def stored_active(s: Session) -> None:
    """A filed notice reads back as filed, ACTIVE at version 1, not late, stored now, operational, its dialogue
    open (STANDBY, due) under an operator and closed by the automatic ROGER otherwise."""
    await s.reset(operator=True)
    await s.hello()
    notice = s.notice()
    delivered = await s.file(notice)
    await s.answer_to(delivered.acknowledgement.message_id)
    held = await record(s, notice.notice_id)
    expect(held.channel_id == s.channel_id, f"channel_id {s.channel_id}", held.channel_id)
    expect(held.notice == s.proto("notice", notice).notice, "the notice as filed", held.notice)
    expect(not held.late, "late false", held.late)
    stored = held.received_time.ToDatetime(UTC)
    expect(abs((stored - datetime.now(UTC)).total_seconds()) < 30, "received_time now", stored)
    expect(held.mode == envelope_pb2.MODE_OPERATIONAL, "mode MODE_OPERATIONAL", held.mode)
    dialogue = response_pb2.DialogueState.Name(held.dialogue_state)
    expect(held.dialogue_state == response_pb2.DIALOGUE_STATE_STANDBY, "dialogue_state STANDBY", dialogue)
    expect(held.last_response == response_pb2.RESPONSE_KIND_STANDBY, "last_response STANDBY", held.last_response)
    expect(held.HasField("response_due_time"), "a response_due_time while STANDBY", "none")
    await s.reset()
    await s.hello()
    delivered = await s.file(notice)
    await s.answer_to(delivered.acknowledgement.message_id)
    held = await record(s, notice.notice_id)
    expect(
        held.dialogue_state == response_pb2.DIALOGUE_STATE_ANSWERED,
        "dialogue_state ANSWERED after ROGER",
        response_pb2.DialogueState.Name(held.dialogue_state),
    )
    expect(held.last_response == response_pb2.RESPONSE_KIND_ROGER, "last_response ROGER", held.last_response)
    expect(not held.HasField("response_due_time"), "no response_due_time once answered", held.response_due_time)


@case("notice.submit_version_and_state", "DCF-NTC-010", "DCF-NTC-034", "DCF-NTC-028")
async def submit_version_state(s: Session) -> None:
    """A new notice at version 0 or 2, or CANCELLED, EXPIRED or UNSPECIFIED, is refused naming notice.version or
    notice.state, and nothing is stored."""
    await s.hello()
    wrong = []
    for what, field, value in (
        ("version 2", "version", 2),
        ("version 0", "version", 0),
        ("CANCELLED", "state", CANCELLED),
        ("EXPIRED", "state", EXPIRED),
        ("UNSPECIFIED", "state", 0),
    ):
        got = await refused_at(s, s.notice(), _setter(field, value), f"notice.{field}")
        if got:
            wrong.append(f"{what}: {got}")
    expect(not wrong, "each refused with INVALID_ARGUMENT", "; ".join(wrong))
    stored = [o for o in await s.observed() if o.received]
    expect(not stored, "nothing stored", f"{len(stored)} stored messages")


@case("notice.owner_must_be_sender", "DCF-NTC-011")
async def owner_sender(s: Session) -> None:
    """A notice whose owner is not the sender (the party itself, or a stranger) is refused with
    PERMISSION_DENIED, reason NOT_OWNER."""
    await s.hello()
    for owner in (s.target.party, "somebody-else"):
        await refused(s.file(s.notice(owner=owner)), grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER")


@case("notice.notice_id_never_reused", "DCF-NTC-001", "DCF-NTC-012")
async def never_reused(s: Session) -> None:
    """A notice id already on the channel is refused with ALREADY_EXISTS, NOTICE_EXISTS: the suite's own, after it
    was cancelled too, and one of the party's notices."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await refused(s.file(notice), grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
    await s.cancel(notice.notice_id, 1)
    await refused(s.file(notice), grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
    theirs = await s.originate("notice", s.notice(owner=s.target.party))
    taken = s.notice(notice_id=theirs.notice.notice_id)
    await refused(s.file(taken), grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")


@case("notice.ended_notice_refused", "DCF-NTC-013")
async def ended(s: Session) -> None:
    """A notice or amendment whose volumes have all ended is refused with INVALID_ARGUMENT naming the time_end of
    the volume that ended last."""
    await s.hello()
    now = datetime.now(UTC).replace(microsecond=0)
    late_end = volume(box(0, 0, 10, 10), start=now - timedelta(hours=2), minutes=119)
    early_end = volume(box(0, 0, 10, 10), start=now - timedelta(hours=3), minutes=60)
    over = notice_of(s, early_end, late_end, early_end)
    await refused(s.file(over), grpc.StatusCode.INVALID_ARGUMENT, path="notice.volumes[1].time_end")
    notice = s.notice()
    await s.file(notice)
    amended = amendment(notice, 1, volumes=[late_end, early_end])
    await refused(
        s.send("amendment", amended), grpc.StatusCode.INVALID_ARGUMENT, path="amendment.notice.volumes[0].time_end"
    )
    await expect_state(s, notice.notice_id, ACTIVE, 1)


# -- 4.3 late notices


@case("notice.late_notices_marked", "DCF-NTC-015", "DCF-NTC-016", "DCF-NTC-017")
async def late(s: Session) -> None:
    """Starting within the lead time (1 h) a notice is late: stored, marked late in its acknowledgement and record;
    an amendment that is not late clears the mark; a notice 30 s beyond the lead time and an emergency are not
    late."""
    await s.hello()
    lead = s.agreement.model.minimum_lead_time
    for what, start_in, category, is_late in (
        ("30 s within the lead time", lead - timedelta(seconds=30), NoticeCategory.ROUTINE, True),
        ("already started", -timedelta(minutes=10), NoticeCategory.ROUTINE, True),
        ("30 s beyond the lead time", lead + timedelta(seconds=30), NoticeCategory.ROUTINE, False),
        ("an emergency starting in 5 min", timedelta(minutes=5), NoticeCategory.EMERGENCY, False),
    ):
        notice = s.notice(start_in=start_in, category=category)
        delivered = await s.file(notice)
        expect(
            delivered.acknowledgement.late == is_late,
            f"{what}: acknowledgement late {is_late}",
            delivered.acknowledgement.late,
        )
        held = await record(s, notice.notice_id)
        expect(held.late == is_late, f"{what}: NoticeRecord.late {is_late}", held.late)
        if is_late and start_in > timedelta(0):
            later = s.notice(start_in=timedelta(hours=3))
            amended = await s.send("amendment", amendment(notice, 1, volumes=later.volumes))
            expect(not amended.acknowledgement.late, "the amendment moving it 3 h ahead: late false", True)
            held = await record(s, notice.notice_id)
            expect(not held.late, "NoticeRecord.late false once the current version is not late", held.late)


# -- 4.4 amendment


@case("notice.amendment_form", "DCF-NTC-018", "DCF-NTC-034")
async def amendment_form(s: Session) -> None:
    """An amendment whose notice is not replaces_version + 1 or not ACTIVE, or whose replaces_version is 0, is
    refused naming that field; the notice stays as it was."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    good = amendment(notice, 1)

    def version(value: int) -> Callable[[envelope_pb2.Envelope], None]:
        return lambda e: setattr(e.amendment.notice, "version", value)

    def state(e: envelope_pb2.Envelope) -> None:
        e.amendment.notice.state = CANCELLED

    def zero(e: envelope_pb2.Envelope) -> None:
        e.amendment.replaces_version = 0
        e.amendment.notice.version = 1

    wrong = []
    for what, spoil, path in (
        ("version 3 for 1", version(3), "amendment.notice.version"),
        ("version 1 for 1", version(1), "amendment.notice.version"),
        ("CANCELLED", state, "amendment.notice.state"),
        ("replaces_version 0", zero, "amendment.replaces_version"),
    ):
        got = await spoiled_refusal(s, "amendment", good, spoil, path)
        if got:
            wrong.append(f"{what}: {got}")
    expect(not wrong, "each refused with INVALID_ARGUMENT", "; ".join(wrong))
    await expect_state(s, notice.notice_id, ACTIVE, 1)


@case("notice.amendment_replaces_every_field", "DCF-NTC-018", "DCF-NTC-023")
async def amendment_replaces(s: Session) -> None:
    """An amendment replaces the whole notice (fields it leaves out are gone, not merged), makes it version 2 and
    ACTIVE, and the party answers the new version."""
    await s.hello()
    notice = s.notice().model_copy(
        update={
            "callsigns": ["RCH471"],
            "transponder_codes": ["4721"],
            "remarks": "Two aircraft",
            "frequency_ids": ["guard-121.5", "guard-243.0"],
        }
    )
    filed = await s.file(notice)
    await s.answer_to(filed.acknowledgement.message_id)
    changed = amendment(
        notice,
        1,
        callsigns=[],
        transponder_codes=[],
        remarks="",
        frequency_ids=["guard-243.0"],
        aircraft_count=1,
        volumes=s.notice(start_in=timedelta(hours=5)).volumes,
    )
    delivered = await s.send("amendment", changed)
    held = await record(s, notice.notice_id)
    expect(
        held.notice == s.proto("notice", changed.notice).notice,
        "the amended notice exactly, version 2, ACTIVE",
        held.notice,
    )
    reply = await s.answer_to(delivered.acknowledgement.message_id)
    expect(
        reply is not None and reply.response.notice_version == 2,
        "the party's response to version 2",
        reply.response if reply else "none within 5 s",
    )


@case("notice.unknown_notice_not_found", "DCF-NTC-019")
async def unknown_notice(s: Session) -> None:
    """An amendment or cancellation of a notice id the channel does not have is refused with NOT_FOUND."""
    await s.hello()
    stranger = s.notice()
    await refused(s.send("amendment", amendment(stranger, 1)), grpc.StatusCode.NOT_FOUND)
    await refused(s.cancel(stranger.notice_id, 1), grpc.StatusCode.NOT_FOUND)


@case("notice.only_the_owner_changes_a_notice", "DCF-NTC-020")
async def owner_only(s: Session) -> None:
    """Amending or cancelling the party's notice, or amending the suite's own notice to another owner, is refused
    with PERMISSION_DENIED, NOT_OWNER, and changes nothing."""
    await s.hello()
    theirs = party_notice(s, s.notice())
    await s.originate("notice", theirs)
    denied = grpc.StatusCode.PERMISSION_DENIED
    await refused(s.cancel(theirs.notice_id, 1), denied, "NOT_OWNER")
    await refused(s.send("amendment", amendment(theirs, 1)), denied, "NOT_OWNER")
    await refused(s.send("amendment", amendment(theirs, 1, owner=s.party)), denied, "NOT_OWNER")
    await expect_state(s, theirs.notice_id, ACTIVE, 1)
    mine = s.notice()
    await s.file(mine)
    await refused(s.send("amendment", amendment(mine, 1, owner=s.target.party)), denied, "NOT_OWNER")
    held = (await record(s, mine.notice_id)).notice
    expect(
        (held.owner, held.version) == (s.party, 1),
        f"{mine.notice_id} still the suite's, version 1",
        (held.owner, held.version),
    )


@case("notice.cancelled_notice_is_final", "DCF-NTC-021", "DCF-NTC-025", "DCF-NTC-028")
async def cancelled_final(s: Session) -> None:
    """A cancellation makes the notice CANCELLED at the same version; amending or cancelling it again is refused
    with FAILED_PRECONDITION, NOTICE_ENDED, naming the state, and it stays CANCELLED."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.send("amendment", amendment(notice, 1))
    await s.send("cancellation", NoticeCancellation(notice_id=notice.notice_id, version=2, reason="Sortie withdrawn"))
    await expect_state(s, notice.notice_id, CANCELLED, 2)
    # Each attempt is made only when its turn comes: a failed expectation must not leave coroutines unawaited.
    attempts: list[Callable[[], Awaitable[Any]]] = [
        lambda: s.send("amendment", amendment(notice, 2)),
        lambda: s.cancel(notice.notice_id, 2),
    ]
    for attempt in attempts:
        error = await refused(attempt(), grpc.StatusCode.FAILED_PRECONDITION, "NOTICE_ENDED")
        expect("CANCELLED" in error.message.upper(), "a status message naming the state CANCELLED", error.message)
    await expect_state(s, notice.notice_id, CANCELLED, 2)


@case("notice.stale_version_refused", "DCF-NTC-022")
async def stale(s: Session) -> None:
    """An amendment or cancellation quoting a version other than the current one is refused with ABORTED,
    STALE_VERSION, with a StaleVersion naming the notice, the quoted and the current version."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.send("amendment", amendment(notice, 1))
    attempts: list[tuple[str, Callable[[], Awaitable[Any]], int]] = [
        ("an amendment of version 1", lambda: s.send("amendment", amendment(notice, 1)), 1),
        ("a cancellation of version 1", lambda: s.cancel(notice.notice_id, 1), 1),
        ("a cancellation of version 3", lambda: s.cancel(notice.notice_id, 3), 3),
    ]
    for what, attempt, quoted in attempts:
        error = await refused(attempt(), grpc.StatusCode.ABORTED, "STALE_VERSION")
        stale = error.stale_version
        got = None if stale is None else (stale.notice_id, stale.quoted_version, stale.current_version)
        expect(got == (notice.notice_id, quoted, 2), f"{what}: StaleVersion ({notice.notice_id}, {quoted}, 2)", got)
    await expect_state(s, notice.notice_id, ACTIVE, 2)


@case("notice.amend_and_cancel_current_version", "DCF-NTC-022", "DCF-NTC-023", "DCF-NTC-025")
async def current_version(s: Session) -> None:
    """An amendment quoting the current version makes it version 2, ACTIVE; a cancellation quoting 2 ends it."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.send("amendment", amendment(notice, 1))
    await expect_state(s, notice.notice_id, ACTIVE, 2)
    await s.cancel(notice.notice_id, 2)
    await expect_state(s, notice.notice_id, CANCELLED, 2)


@case("notice.checks_in_order", "DCF-NTC-024", "DCF-NTC-027", "DCF-SUS-004")
async def checks_in_order(s: Session) -> None:
    """With several faults the first check answers: suspension before ownership (filing, amending), ownership
    before existence (filing), existence before ownership, ownership before state and state before version
    (amending, cancelling); cancellations are not held by a suspension."""
    await s.hello()
    denied, ended = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION
    mine, theirs = s.notice(), party_notice(s, s.notice())
    await s.file(mine)
    await s.originate("notice", theirs)
    # Ownership before existence: the party's id, filed as the party's by the suite.
    await refused(s.file(s.notice(owner=s.target.party, notice_id=theirs.notice_id)), denied, "NOT_OWNER")
    # Existence before ownership: an unknown id, amended as the party's.
    unknown = party_notice(s, s.notice())
    await refused(s.send("amendment", amendment(unknown, 1)), grpc.StatusCode.NOT_FOUND)
    # Ownership before state: the party's cancelled notice.
    await s.originate("cancellation", NoticeCancellation(notice_id=theirs.notice_id, version=1))
    await refused(s.cancel(theirs.notice_id, 1), denied, "NOT_OWNER")
    # State before version: the suite's cancelled notice, quoting a stale version.
    ended_notice = s.notice()
    await s.file(ended_notice)
    await s.cancel(ended_notice.notice_id, 1)
    await refused(s.send("amendment", amendment(ended_notice, 3)), ended, "NOTICE_ENDED")
    await refused(s.cancel(ended_notice.notice_id, 3), ended, "NOTICE_ENDED")
    # Suspension first for filing and amending; cancellations flow.
    await s.send("suspension", suspension())
    await refused(s.file(s.notice(owner=s.target.party)), ended, "CHANNEL_SUSPENDED")
    await refused(s.send("amendment", amendment(mine, 5)), ended, "CHANNEL_SUSPENDED")
    await s.cancel(mine.notice_id, 1)
    await expect_state(s, mine.notice_id, CANCELLED, 1)


# -- 4.5 expiry


@case("notice.expiry", "DCF-NTC-026", "DCF-NTC-021", "DCF-NTC-001", "DCF-NTC-028", timeout=15)
async def expiry(s: Session) -> None:
    """A notice whose last volume ends becomes EXPIRED at that instant with no message exchanged; it can no longer
    be amended or cancelled, and its id is not filed again."""
    await s.hello()
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    short = volume(box(0, 0, 10, 10), start=end - timedelta(minutes=10), minutes=10)
    notice = notice_of(s, short)
    delivered = await s.file(notice)
    await s.answer_to(delivered.acknowledgement.message_id)
    before = len(await s.observed())
    await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 0.5)
    await expect_state(s, notice.notice_id, EXPIRED, 1)
    exchanged = (await s.observed())[before:]
    expect(not exchanged, "no message exchanged for the expiry", [o.envelope.WhichOneof("body") for o in exchanged])
    error = await refused(s.cancel(notice.notice_id, 1), grpc.StatusCode.FAILED_PRECONDITION, "NOTICE_ENDED")
    expect("EXPIRED" in error.message.upper(), "a status message naming the state EXPIRED", error.message)
    later = s.notice(notice_id=notice.notice_id)
    await refused(s.file(later), grpc.StatusCode.ALREADY_EXISTS, "NOTICE_EXISTS")
    listed = await s.peer.list_notices(s.channel_id, states=[ACTIVE])
    expect(
        not [r for r in listed.records if r.notice.notice_id == notice.notice_id],
        "the expired notice not listed as ACTIVE",
        "listed",
    )


# -- 4.7 reading notices


@case("notice.get_notice_requests", "DCF-NTC-030")
async def get_notice(s: Session) -> None:
    """GetNotice with an empty channel_id or notice_id is INVALID_ARGUMENT naming it; an unknown channel or
    notice is NOT_FOUND."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    invalid, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    await refused(s.peer.get_notice("", notice.notice_id), invalid, path="channel_id")
    await refused(s.peer.get_notice(s.channel_id, ""), invalid, path="notice_id")
    await refused(s.peer.get_notice("no-such-channel", notice.notice_id), missing)
    await refused(s.peer.get_notice(s.channel_id, "no-such-notice"), missing)


@case("notice.list_notices_filters_in_order", "DCF-NTC-031", "DCF-NTC-035")
async def list_notices(s: Session) -> None:
    """ListNotices returns the channel's notices oldest first (an amendment does not move one), by owner and by
    state; bad or repeated states, an empty or unknown channel are refused."""
    await s.hello()
    first, second, third = s.notice(), party_notice(s, s.notice()), s.notice()
    await s.file(first)
    await s.originate("notice", second)
    await s.file(third)
    await s.send("amendment", amendment(first, 1))
    await s.cancel(third.notice_id, 1)

    async def ids(**query: Any) -> list[str]:
        return [r.notice.notice_id for r in (await s.peer.list_notices(s.channel_id, **query)).records]

    everyone = [first.notice_id, second.notice_id, third.notice_id]
    for query, wanted in (
        ({}, everyone),
        ({"owner": s.party}, [first.notice_id, third.notice_id]),
        ({"owner": s.target.party}, [second.notice_id]),
        ({"states": [CANCELLED]}, [third.notice_id]),
        ({"states": [ACTIVE, CANCELLED]}, everyone),
        ({"states": [EXPIRED]}, []),
    ):
        got = await ids(**query)
        expect(got == wanted, f"ListNotices {query or 'of everything'}: {wanted}", got)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await refused(s.peer.list_notices(s.channel_id, states=[0]), invalid, path="states[0]")
    await refused(s.peer.list_notices(s.channel_id, states=[ACTIVE, 99]), invalid, path="states[1]")
    await refused(s.peer.list_notices(s.channel_id, states=[ACTIVE, CANCELLED, ACTIVE]), invalid, path="states[2]")
    await refused(s.peer.list_notices(""), invalid)
    await refused(s.peer.list_notices("no-such-channel"), grpc.StatusCode.NOT_FOUND)


@case("notice.list_notices_pages", "DCF-NTC-032")
async def pages(s: Session) -> None:
    """Pages of 2 over 3 notices: 2 and a token, then 1 and no token; page_size 0 means the default; a page_size
    over 1000 and a token the party did not give are refused naming the field."""
    await s.hello()
    for _ in range(3):
        await s.file(s.notice())
    page = await s.peer.list_notices(s.channel_id, page_size=2)
    expect(
        len(page.records) == 2 and bool(page.next_page_token),
        "2 records and a next_page_token",
        f"{len(page.records)} records, token {page.next_page_token!r}",
    )
    rest = await s.peer.list_notices(s.channel_id, page_size=2, page_token=page.next_page_token)
    expect(
        len(rest.records) == 1 and not rest.next_page_token,
        "1 record and no token on the last page",
        f"{len(rest.records)} records, token {rest.next_page_token!r}",
    )
    whole = await s.peer.list_notices(s.channel_id)
    expect(len(whole.records) == 3 and not whole.next_page_token, "page_size 0: all 3 on one page", len(whole.records))
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await refused(s.peer.list_notices(s.channel_id, page_size=1001), invalid, path="page_size")
    await refused(s.peer.list_notices(s.channel_id, page_token="not-a-token-of-the-party!"), invalid, path="page_token")


@case("notice.record_mode_is_the_filing_mode", "DCF-NTC-036")
async def record_mode(s: Session) -> None:
    """A notice filed in MODE_EXERCISE reads back with mode MODE_EXERCISE, in GetNotice and ListNotices, also after
    an amendment; an operational one with MODE_OPERATIONAL."""
    await s.hello()
    drill, real = s.notice(), s.notice()
    await s.file(drill, mode=Mode.EXERCISE)
    await s.send("amendment", amendment(drill, 1), mode=Mode.EXERCISE)
    await s.file(real)
    exercise, operational = envelope_pb2.MODE_EXERCISE, envelope_pb2.MODE_OPERATIONAL
    expect((await record(s, drill.notice_id)).mode == exercise, "GetNotice: MODE_EXERCISE", "another mode")
    expect((await record(s, real.notice_id)).mode == operational, "GetNotice: MODE_OPERATIONAL", "another mode")
    modes = {r.notice.notice_id: r.mode for r in (await s.peer.list_notices(s.channel_id)).records}
    expect(
        modes == {drill.notice_id: exercise, real.notice_id: operational}, "ListNotices: each its filing mode", modes
    )
