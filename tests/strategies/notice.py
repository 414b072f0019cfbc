"""Strategies for valid notices, their answers, envelopes carrying them, and signed payloads.

Everything drawn here is a valid model; a test breaks one field itself when it
wants an invalid one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from deconflict import limits
from deconflict.models.envelope import (
    ACKNOWLEDGEMENT_TYPE,
    BODY_KINDS,
    ENVELOPE_TYPE,
    OPERATIONAL_BODIES,
    PROTOCOL_MAJOR,
    REPLY_BODIES,
    Envelope,
    Mode,
    ProtocolVersion,
    Signature,
    SignedPayload,
)
from deconflict.models.geometry import (
    Altitude,
    AltitudeReference,
    AltitudeUnit,
    Circle,
    LatLng,
    Polygon,
    Volume3D,
    Volume4D,
)
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeAmendment,
    NoticeCancellation,
    NoticeCategory,
    NoticeState,
)
from deconflict.models.notice_service import NoticeRecord
from deconflict.models.response import (
    AWAITING_ANSWER,
    FINAL_RESPONSES,
    ConflictingNotice,
    DialogueState,
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
    UnableReason,
)
from tests.strategies.geometry import utc_times, volume4ds

UINT32 = 2**32 - 1
UINT64 = 2**64 - 1


def identifiers() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,40}", fullmatch=True)


def optional_identifiers() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), identifiers())


def texts(max_size: int = 80) -> st.SearchStrategy[str]:
    """Any Unicode text (protobuf strings are UTF-8, so no lone surrogates)."""
    return st.text(max_size=max_size)


def versions() -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=UINT32)


def sequences() -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=UINT64)


def callsigns() -> st.SearchStrategy[str]:
    return st.from_regex(rf"[A-Z0-9]{{1,{limits.MAX_CALLSIGN}}}", fullmatch=True)


def transponder_codes() -> st.SearchStrategy[str]:
    return st.from_regex(r"[0-7]{4}", fullmatch=True)


@st.composite
def flight_notices(
    draw: st.DrawFn, state: NoticeState | None = None, version: int | None = None, max_volumes: int = 3
) -> FlightNotice:
    return FlightNotice(
        notice_id=draw(identifiers()),
        version=draw(versions()) if version is None else version,
        state=draw(st.sampled_from(list(NoticeState))) if state is None else state,
        owner=draw(identifiers()),
        volumes=draw(st.lists(volume4ds(), min_size=1, max_size=max_volumes)),
        aircraft_category=draw(st.sampled_from(list(AircraftCategory))),
        aircraft_count=draw(st.integers(min_value=1, max_value=limits.MAX_AIRCRAFT_COUNT)),
        callsigns=draw(st.lists(callsigns(), max_size=4, unique=True)),
        transponder_codes=draw(st.lists(transponder_codes(), max_size=4, unique=True)),
        frequency_ids=draw(st.lists(identifiers(), max_size=4, unique=True)),
        contact_id=draw(optional_identifiers()),
        category=draw(st.sampled_from(list(NoticeCategory))),
        remarks=draw(texts()),
    )


@st.composite
def notice_amendments(draw: st.DrawFn) -> NoticeAmendment:
    replaces = draw(st.integers(min_value=1, max_value=UINT32 - 1))
    notice = draw(flight_notices(state=NoticeState.ACTIVE, version=replaces + 1))
    return NoticeAmendment(replaces_version=replaces, notice=notice)


def notice_cancellations() -> st.SearchStrategy[NoticeCancellation]:
    return st.builds(NoticeCancellation, notice_id=identifiers(), version=versions(), reason=texts())


def metres() -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False)


def conflicting_notices() -> st.SearchStrategy[ConflictingNotice]:
    index = st.integers(min_value=0, max_value=limits.MAX_VOLUMES - 1)
    return st.builds(
        ConflictingNotice,
        notice_id=identifiers(),
        version=versions(),
        owner=identifiers(),
        volume_index=index,
        other_volume_index=index,
        lateral_distance_m=metres(),
        vertical_distance_m=metres(),
    )


THIRD_PARTY_REMARK = "A notice on another channel is in the way."


@st.composite
def operational_responses(draw: st.DrawFn, kind: ResponseKind | None = None) -> OperationalResponse:
    chosen = draw(st.sampled_from(list(ResponseKind))) if kind is None else kind
    unable = chosen == ResponseKind.UNABLE
    reasons = draw(st.lists(st.sampled_from(list(UnableReason)), min_size=1, unique=True)) if unable else []
    remarks = draw(texts())
    if UnableReason.OTHER in reasons and not remarks.strip():
        remarks = "Other: see the agreement."
    conflicts: list[ConflictingNotice] = []
    if UnableReason.CONFLICT in reasons:
        # Conflicts on this channel are listed; those with a third party's notice only said (DCF-CFL-019).
        conflicts = draw(st.lists(conflicting_notices(), max_size=3))
        if not conflicts and not remarks.strip():
            remarks = THIRD_PARTY_REMARK
    return OperationalResponse(
        notice_id=draw(identifiers()),
        notice_version=draw(versions()),
        kind=chosen,
        reasons=reasons,
        offending_field=draw(texts()) if unable else "",
        conflicts=conflicts,
        counter_volumes=(draw(st.lists(volume4ds(), min_size=1, max_size=2)) if chosen == ResponseKind.COUNTER else []),
        remarks=remarks,
    )


@st.composite
def notice_references(draw: st.DrawFn) -> tuple[str, int]:
    """(notice_id, notice_version): both set, or "" and 0."""
    if draw(st.booleans()):
        return draw(identifiers()), draw(versions())
    return "", 0


@st.composite
def logical_acknowledgements(draw: st.DrawFn) -> LogicalAcknowledgement:
    notice_id, notice_version = draw(notice_references())
    return LogicalAcknowledgement(
        channel_id=draw(identifiers()),
        acknowledging_party=draw(identifiers()),
        message_id=draw(identifiers()),
        message_sender=draw(identifiers()),
        message_sequence=draw(sequences()),
        payload_sha256=draw(st.binary(min_size=32, max_size=32)),
        journal_position=draw(st.integers(min_value=0, max_value=UINT64)),
        stored_time=draw(utc_times()),
        notice_id=notice_id,
        notice_version=notice_version,
        late=draw(st.booleans()),
        response_due_time=draw(st.none() | utc_times()),
    )


@st.composite
def response_timeouts(draw: st.DrawFn, kind: MessageKind | None = None) -> ResponseTimeout:
    """Timeouts of a notice or amendment (naming its notice version) or of a conference proposal (its revision)."""
    chosen = draw(st.sampled_from(sorted(AWAITING_ANSWER))) if kind is None else kind
    proposal = chosen == MessageKind.CONFERENCE_PROPOSAL
    return ResponseTimeout(
        unanswered_message_id=draw(identifiers()),
        unanswered_kind=chosen,
        notice_id="" if proposal else draw(identifiers()),
        notice_version=0 if proposal else draw(versions()),
        due_time=draw(utc_times()),
        waited=draw(st.timedeltas(min_value=timedelta(0), max_value=limits.MAX_DURATION)),
        conference_id=draw(identifiers()) if proposal else "",
        conference_revision=draw(versions()) if proposal else 0,
    )


@st.composite
def notice_records(draw: st.DrawFn) -> NoticeRecord:
    """Records whose dialogue state agrees with the last response, the due time and the notice (DCF-RSP-035)."""
    dialogue = draw(st.sampled_from(list(DialogueState)))
    if dialogue == DialogueState.SUPERSEDED:
        state = draw(st.sampled_from([NoticeState.CANCELLED, NoticeState.EXPIRED]))
    elif dialogue == DialogueState.ANSWERED:
        state = draw(st.sampled_from(list(NoticeState)))
    else:
        state = NoticeState.ACTIVE
    last_response: ResponseKind | None
    if dialogue == DialogueState.PENDING:
        last_response = None
    elif dialogue == DialogueState.STANDBY:
        last_response = ResponseKind.STANDBY
    elif dialogue == DialogueState.ANSWERED:
        last_response = draw(st.sampled_from(sorted(FINAL_RESPONSES)))
    else:
        last_response = draw(st.sampled_from([None, ResponseKind.STANDBY]))
    waiting = dialogue in (DialogueState.PENDING, DialogueState.STANDBY)
    return NoticeRecord(
        channel_id=draw(identifiers()),
        notice=draw(flight_notices(state=state)),
        late=draw(st.booleans()),
        received_time=draw(utc_times()),
        last_response=last_response,
        response_due_time=draw(st.none() | utc_times()) if waiting else None,
        dialogue_state=dialogue,
        mode=draw(st.sampled_from(list(Mode))),
    )


def protocol_versions() -> st.SearchStrategy[ProtocolVersion]:
    return st.builds(ProtocolVersion, major=st.just(PROTOCOL_MAJOR), minor=st.integers(min_value=0, max_value=UINT32))


# The envelope bodies this module draws: the notice dialogue's.
NOTICE_BODIES: dict[str, st.SearchStrategy[object]] = {
    "notice": flight_notices(),
    "amendment": notice_amendments(),
    "cancellation": notice_cancellations(),
    "response": operational_responses(),
    "timeout": response_timeouts(),
}


@st.composite
def envelopes(draw: st.DrawFn, body_field: str | None = None) -> Envelope:
    """Envelopes carrying one notice-dialogue body (any, or the one named)."""
    name = draw(st.sampled_from(sorted(NOTICE_BODIES))) if body_field is None else body_field
    body = draw(NOTICE_BODIES[name])
    sender = draw(identifiers())
    recipient = draw(identifiers().filter(lambda party: party != sender))
    return Envelope.model_validate(
        {
            "message_id": draw(identifiers()),
            "channel_id": draw(identifiers()),
            "sender": sender,
            "recipient": recipient,
            "sequence": draw(sequences()),
            "in_reply_to": _in_reply_to(name, body, draw(identifiers())),
            "created_time": draw(utc_times()),
            "protocol_version": draw(protocol_versions()),
            "mode": draw(st.sampled_from(list(Mode))),
            name: body,
        }
    )


def _in_reply_to(body_field: str, body: object, answered: str) -> str:
    """What in_reply_to must hold for this body (DCF-ENV-011)."""
    if isinstance(body, ResponseTimeout):
        return body.unanswered_message_id
    return answered if body_field in REPLY_BODIES else ""


def signatures() -> st.SearchStrategy[Signature]:
    return st.builds(Signature, key_id=identifiers(), signature=st.binary(min_size=64, max_size=64))


def signed_payloads() -> st.SearchStrategy[SignedPayload]:
    """Signed payloads of either type, with opaque bytes (not necessarily a parseable message)."""
    return st.builds(
        SignedPayload,
        payload_type=st.sampled_from([ENVELOPE_TYPE, ACKNOWLEDGEMENT_TYPE]),
        payload=st.binary(min_size=1, max_size=256),
        signatures=st.lists(signatures(), max_size=3, unique_by=lambda signature: signature.key_id),
    )


# Fixed examples: one valid message of each kind, for the tables of invalid inputs.

T0 = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def example_polygon() -> Polygon:
    corners = [(45.0, 10.0), (45.0, 11.0), (46.0, 11.0), (46.0, 10.0)]
    return Polygon(vertices=[LatLng(latitude=lat, longitude=lng) for lat, lng in corners])


def example_volumes() -> list[Volume4D]:
    """volumes[0]: a polygon, FL100 to FL200; volumes[1]: a circle, 0 to 3000 ft AGL."""
    return [
        Volume4D(
            volume=Volume3D(
                polygon=example_polygon(),
                altitude_lower=Altitude(value=100, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
                altitude_upper=Altitude(value=200, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
            ),
            time_start=T0,
            time_end=T0 + 2 * HOUR,
        ),
        Volume4D(
            volume=Volume3D(
                circle=Circle(center=LatLng(latitude=44.5, longitude=12.0), radius_m=20_000.0),
                altitude_lower=Altitude(value=0, reference=AltitudeReference.AGL, unit=AltitudeUnit.FEET),
                altitude_upper=Altitude(value=3000, reference=AltitudeReference.AGL, unit=AltitudeUnit.FEET),
            ),
            time_start=T0 + HOUR,
            time_end=T0 + 3 * HOUR,
        ),
    ]


def example_notice(version: int = 1, state: NoticeState = NoticeState.ACTIVE) -> FlightNotice:
    return FlightNotice(
        notice_id="notice-1",
        version=version,
        state=state,
        owner="party-a",
        volumes=example_volumes(),
        aircraft_category=AircraftCategory.TANKER,
        aircraft_count=2,
        callsigns=["RCH471", "RCH472"],
        transponder_codes=["4321", "4322"],
        frequency_ids=["guard-uhf", "freq-7"],
        contact_id="duty-officer",
        category=NoticeCategory.ROUTINE,
        remarks="Refuelling track, two aircraft in trail.",
    )


def example_amendment() -> NoticeAmendment:
    return NoticeAmendment(replaces_version=1, notice=example_notice(version=2))


def example_cancellation() -> NoticeCancellation:
    return NoticeCancellation(notice_id="notice-1", version=2, reason="Mission complete")


def example_conflict() -> ConflictingNotice:
    return ConflictingNotice(
        notice_id="notice-9",
        version=3,
        owner="party-b",
        volume_index=0,
        other_volume_index=1,
        lateral_distance_m=4_200.0,
        vertical_distance_m=0.0,
    )


def example_response(kind: ResponseKind = ResponseKind.ACCEPT) -> OperationalResponse:
    unable = kind == ResponseKind.UNABLE
    return OperationalResponse(
        notice_id="notice-1",
        notice_version=1,
        kind=kind,
        reasons=[UnableReason.CONFLICT, UnableReason.OTHER] if unable else [],
        offending_field="volumes[0]" if unable else "",
        conflicts=[example_conflict()] if unable else [],
        counter_volumes=example_volumes()[1:] if kind == ResponseKind.COUNTER else [],
        remarks="Tanker track crosses our exercise area." if unable else "",
    )


def example_acknowledgement() -> LogicalAcknowledgement:
    return LogicalAcknowledgement(
        channel_id="channel-ab",
        acknowledging_party="party-b",
        message_id="msg-1",
        message_sender="party-a",
        message_sequence=1,
        payload_sha256=bytes(range(32)),
        journal_position=0,
        stored_time=T0,
        notice_id="notice-1",
        notice_version=1,
        late=False,
        response_due_time=T0 + HOUR,
    )


def example_timeout() -> ResponseTimeout:
    return ResponseTimeout(
        unanswered_message_id="msg-1",
        unanswered_kind=MessageKind.NOTICE,
        notice_id="notice-1",
        notice_version=1,
        due_time=T0 + HOUR,
        waited=HOUR + timedelta(minutes=5),
    )


def example_conference_timeout() -> ResponseTimeout:
    """Revision 2 of conference conf-1 (a counter) went unanswered."""
    return ResponseTimeout(
        unanswered_message_id="msg-7",
        unanswered_kind=MessageKind.CONFERENCE_PROPOSAL,
        due_time=T0 + 48 * HOUR,
        waited=48 * HOUR,
        conference_id="conf-1",
        conference_revision=2,
    )


def example_envelope(**fields: object) -> Envelope:
    """An envelope from party-a to party-b carrying example_notice(), or the body and header fields given.

    in_reply_to and mode follow the body unless given: a reply names "msg-0" (a
    timeout its unanswered message), a suspension or resumption is OPERATIONAL.
    """
    body = {name: value for name, value in fields.items() if name in BODY_KINDS} or {"notice": example_notice()}
    ((name, value),) = body.items()
    header: dict[str, object] = {
        "message_id": "msg-1",
        "channel_id": "channel-ab",
        "sender": "party-a",
        "recipient": "party-b",
        "sequence": 1,
        "in_reply_to": _in_reply_to(name, value, "msg-0"),
        "created_time": T0 - 6 * HOUR,
        "protocol_version": ProtocolVersion(major=1, minor=0),
        "mode": Mode.OPERATIONAL if name in OPERATIONAL_BODIES else Mode.EXERCISE,
    }
    header.update({key: value for key, value in fields.items() if key not in BODY_KINDS})
    return Envelope.model_validate({**header, **body})
