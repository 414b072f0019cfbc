"""Notice-dialogue messages through the wire: model -> protobuf -> bytes -> protobuf -> model is the
identity for valid messages, and a valid message broken in one field is always refused at that field's path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import envelope as envelope_bridge
from deconflict.bridge import notice as notice_bridge
from deconflict.bridge import response as response_bridge
from deconflict.models.base import Message, field_violations
from deconflict.models.envelope import ENVELOPE_TYPE, PAYLOAD_TYPES, Envelope, Mode, SignedPayload
from deconflict.models.geometry import AltitudeReference, AltitudeUnit
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.models.response import (
    AWAITING_ANSWER,
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
    UnableReason,
)
from deconflict.v1 import envelope_pb2, notice_pb2, response_pb2
from tests.strategies.mutations import bad_enum_numbers, bad_identifiers, break_duration, break_timestamp, refusal_paths
from tests.strategies.notice import (
    envelopes,
    flight_notices,
    identifiers,
    logical_acknowledgements,
    notice_amendments,
    notice_cancellations,
    operational_responses,
    response_timeouts,
    signed_payloads,
)

FAST = settings(max_examples=60, deadline=None)


def _through_the_wire(
    model: Message, to_proto: Callable[[Any], ProtoMessage], read: Callable[[Any], dict[str, Any]]
) -> Message:
    message = to_proto(model)
    received = type(message).FromString(message.SerializeToString())
    return type(model).model_validate(read(received))


# Valid messages survive the wire unchanged.


@FAST
@given(flight_notices())
def test_flight_notice_round_trip(notice: FlightNotice) -> None:
    """DCF-GEN-005: a valid notice survives the wire unchanged."""
    assert _through_the_wire(notice, notice_bridge.flight_notice_to_proto, notice_bridge.flight_notice_data) == notice


@FAST
@given(notice_amendments())
def test_amendment_round_trip(amendment: Any) -> None:
    """DCF-NTC-018: a valid amendment survives the wire unchanged."""
    to_proto, read = notice_bridge.notice_amendment_to_proto, notice_bridge.notice_amendment_data
    assert _through_the_wire(amendment, to_proto, read) == amendment


@FAST
@given(notice_cancellations())
def test_cancellation_round_trip(cancellation: Any) -> None:
    """DCF-NTC-025: a valid cancellation survives the wire unchanged."""
    to_proto, read = notice_bridge.notice_cancellation_to_proto, notice_bridge.notice_cancellation_data
    assert _through_the_wire(cancellation, to_proto, read) == cancellation


@FAST
@given(operational_responses())
def test_operational_response_round_trip(response: OperationalResponse) -> None:
    """DCF-RSP-004: a valid response of any kind survives the wire unchanged."""
    to_proto, read = response_bridge.operational_response_to_proto, response_bridge.operational_response_data
    assert _through_the_wire(response, to_proto, read) == response


@FAST
@given(logical_acknowledgements())
def test_acknowledgement_round_trip(ack: LogicalAcknowledgement) -> None:
    """DCF-ACK-002: a valid acknowledgement survives the wire, bare and sealed."""
    to_proto, read = response_bridge.logical_acknowledgement_to_proto, response_bridge.logical_acknowledgement_data
    assert _through_the_wire(ack, to_proto, read) == ack
    sealed = envelope_bridge.seal_acknowledgement(ack)
    assert envelope_bridge.open_acknowledgement(envelope_bridge.signed_payload_to_proto(sealed)) == ack


@FAST
@given(response_timeouts())
def test_response_timeout_round_trip(timeout: ResponseTimeout) -> None:
    """DCF-TMR-009, DCF-TMR-018: a valid timeout, of a notice or of a proposal, survives the wire unchanged."""
    to_proto, read = response_bridge.response_timeout_to_proto, response_bridge.response_timeout_data
    assert _through_the_wire(timeout, to_proto, read) == timeout


@FAST
@given(envelopes())
def test_envelope_round_trip(envelope: Envelope) -> None:
    """DCF-ENV-001: a valid envelope survives the wire, bare and sealed."""
    to_proto, read = envelope_bridge.envelope_to_proto, envelope_bridge.envelope_data
    assert _through_the_wire(envelope, to_proto, read) == envelope
    sealed = envelope_bridge.seal_envelope(envelope)
    assert envelope_bridge.open_envelope(envelope_bridge.signed_payload_to_proto(sealed)) == envelope


@FAST
@given(signed_payloads())
def test_signed_payload_round_trip(signed: SignedPayload) -> None:
    """DCF-SEC-010: a valid signed payload survives the wire unchanged."""
    to_proto, read = envelope_bridge.signed_payload_to_proto, envelope_bridge.signed_payload_data
    assert _through_the_wire(signed, to_proto, read) == signed


@FAST
@given(envelopes(body_field="notice"))
def test_sealed_bytes_are_stable(envelope: Envelope) -> None:
    """DCF-SEC-009: what is signed is reproducible from the model."""
    # What is signed must be reproducible from the model: sealing twice gives the same bytes.
    assert envelope_bridge.seal_envelope(envelope).payload == envelope_bridge.seal_envelope(envelope).payload


# Invalid messages: a valid one broken in one field, as a peer would send it, is refused at that field.

Breaker = Callable[[st.DrawFn, Any], str]


def _bad_latitude(draw: st.DrawFn) -> float:
    return draw(st.sampled_from([math.nan, math.inf, -math.inf]) | st.floats(min_value=90.0, exclude_min=True))


def _bad_longitude(draw: st.DrawFn) -> float:
    return draw(st.sampled_from([math.nan, -math.inf]) | st.floats(max_value=-180.0, exclude_max=True))


def _break_point(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    index = draw(st.integers(0, len(message.volumes) - 1))
    volume = message.volumes[index].volume
    if volume.HasField("polygon"):
        vertex = draw(st.integers(0, len(volume.polygon.vertices) - 1))
        point, path = volume.polygon.vertices[vertex], f"volumes[{index}].volume.polygon.vertices[{vertex}]"
    else:
        point, path = volume.circle.center, f"volumes[{index}].volume.circle.center"
    if draw(st.booleans()):
        point.latitude = _bad_latitude(draw)
        return f"{path}.latitude"
    point.longitude = _bad_longitude(draw)
    return f"{path}.longitude"


def _break_outline(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    index = draw(st.integers(0, len(message.volumes) - 1))
    volume = message.volumes[index].volume
    path = f"volumes[{index}].volume"
    if volume.HasField("circle"):
        volume.circle.radius_m = draw(
            st.sampled_from([0.0, math.nan]) | st.floats(max_value=0.0) | st.floats(min_value=limits.MAX_RADIUS_M + 1)
        )
        return f"{path}.circle.radius_m"
    vertices = volume.polygon.vertices
    how = draw(st.sampled_from(["too few", "bowtie", "antimeridian"]))
    if how == "too few":
        del vertices[draw(st.integers(1, 2)) :]
        return f"{path}.polygon.vertices"
    if how == "bowtie" and len(vertices) >= 4:
        # Swapping two neighbours of a convex polygon makes edges v[n-1]-v[1] and v[0]-v[2] cross.
        first = type(vertices[0])()
        first.CopyFrom(vertices[0])
        vertices[0].CopyFrom(vertices[1])
        vertices[1].CopyFrom(first)
        return f"{path}.polygon.vertices"
    if how == "bowtie":  # a triangle cannot cross itself: fold it onto one edge instead
        vertices[2].CopyFrom(vertices[0])
        return f"{path}.polygon.vertices"
    # The closing edge, from the last vertex to the first, goes the long way round.
    vertices[-1].longitude = -179.5
    vertices[0].longitude = 179.5
    return f"{path}.polygon.vertices[0]"


def _break_altitudes(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    index = draw(st.integers(0, len(message.volumes) - 1))
    volume = message.volumes[index].volume
    path = f"volumes[{index}].volume"
    how = draw(st.sampled_from(["swap", "equal", "reference", "unit"]))
    if how == "swap":
        lower = type(volume.altitude_lower)()
        lower.CopyFrom(volume.altitude_lower)
        volume.altitude_lower.CopyFrom(volume.altitude_upper)
        volume.altitude_upper.CopyFrom(lower)
        return f"{path}.altitude_upper"
    if how == "equal":
        volume.altitude_upper.CopyFrom(volume.altitude_lower)
        return f"{path}.altitude_upper"
    if how == "reference":
        volume.altitude_lower.reference = draw(bad_enum_numbers(AltitudeReference))
        return f"{path}.altitude_lower.reference"
    volume.altitude_upper.unit = draw(bad_enum_numbers(AltitudeUnit))
    return f"{path}.altitude_upper.unit"


def _break_times(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    index = draw(st.integers(0, len(message.volumes) - 1))
    volume = message.volumes[index]
    how = draw(st.sampled_from(["end before start", "end at start", "bad stamp", "unset"]))
    if how == "end before start":
        volume.time_end.seconds = volume.time_start.seconds - draw(st.integers(1, 10**6))
        return f"volumes[{index}].time_end"
    if how == "end at start":
        volume.time_end.CopyFrom(volume.time_start)
        return f"volumes[{index}].time_end"
    if how == "bad stamp":
        break_timestamp(draw, volume.time_start)
        return f"volumes[{index}].time_start"
    volume.ClearField("time_end")
    return f"volumes[{index}].time_end"


def _break_header(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    field = draw(st.sampled_from(["notice_id", "owner", "version", "aircraft_count", "volumes", "remarks"]))
    if field in ("notice_id", "owner"):
        setattr(message, field, draw(bad_identifiers()))
    elif field == "version":
        message.version = 0
    elif field == "aircraft_count":
        message.aircraft_count = draw(st.sampled_from([0]) | st.integers(limits.MAX_AIRCRAFT_COUNT + 1, 2**32 - 1))
    elif field == "volumes":
        del message.volumes[:]
    else:
        message.remarks = draw(st.text("r", min_size=limits.MAX_TEXT + 1, max_size=limits.MAX_TEXT + 5))
    return field


def _break_enum(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    field, known = draw(
        st.sampled_from([("state", NoticeState), ("aircraft_category", AircraftCategory), ("category", NoticeCategory)])
    )
    setattr(message, field, draw(bad_enum_numbers(known)))
    return field


def _break_lists(draw: st.DrawFn, message: notice_pb2.FlightNotice) -> str:
    how = draw(st.sampled_from(["callsign", "squawk", "repeat", "frequency"]))
    if how == "callsign":
        message.callsigns.append(draw(st.sampled_from(["", "a1", "RCH 1", "X" * 17, "ÄB"])))
        return f"callsigns[{len(message.callsigns) - 1}]"
    if how == "squawk":
        message.transponder_codes.append(draw(st.from_regex(r"[0-9]{0,6}", fullmatch=True).filter(_not_octal4)))
        return f"transponder_codes[{len(message.transponder_codes) - 1}]"
    if how == "frequency":
        message.frequency_ids.append(draw(bad_identifiers()))
        return f"frequency_ids[{len(message.frequency_ids) - 1}]"
    message.callsigns.extend(["RCH1", "RCH1"])
    return _first_repeat("callsigns", list(message.callsigns))


def _not_octal4(code: str) -> bool:
    return len(code) != 4 or any(digit in "89" for digit in code)


def _first_repeat(field: str, values: list[str]) -> str:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            return f"{field}[{index}]"
        seen.add(value)
    raise AssertionError("no repeat")


NOTICE_BREAKERS: list[Breaker] = [
    _break_point,
    _break_outline,
    _break_altitudes,
    _break_times,
    _break_header,
    _break_enum,
    _break_lists,
]


@settings(max_examples=100, deadline=None)
@given(flight_notices(), st.sampled_from(NOTICE_BREAKERS), st.data())
def test_broken_notice_is_refused_at_the_field(notice: FlightNotice, breaker: Breaker, data: st.DataObject) -> None:
    """DCF-ERR-003 with the rules of chapters 3 and 4 and DCF-CMP-003/004: one field broken is refused naming it."""
    message = notice_bridge.flight_notice_to_proto(notice)
    path = breaker(data.draw, message)
    received = notice_pb2.FlightNotice.FromString(message.SerializeToString())
    assert refusal_paths(FlightNotice, notice_bridge.flight_notice_data(received)) == [path]


def _break_acknowledgement(draw: st.DrawFn, message: response_pb2.LogicalAcknowledgement) -> str:
    field = draw(st.sampled_from(["channel_id", "payload_sha256", "message_sequence", "stored_time", "notice_version"]))
    if field == "channel_id":
        message.channel_id = draw(bad_identifiers())
    elif field == "payload_sha256":
        message.payload_sha256 = draw(st.binary(max_size=40).filter(lambda digest: len(digest) != 32))
    elif field == "message_sequence":
        message.message_sequence = 0
    elif field == "stored_time":
        if draw(st.booleans()):
            message.ClearField("stored_time")
        else:
            break_timestamp(draw, message.stored_time)
    else:
        # A notice reference is both fields or neither.
        message.notice_version = 0 if message.notice_id else draw(st.integers(1, 2**32 - 1))
    return field


def _break_response(draw: st.DrawFn, message: response_pb2.OperationalResponse) -> str:
    how = draw(st.sampled_from(["kind", "kind of other fields", "reason", "notice_version"]))
    if how == "kind":
        message.kind = draw(bad_enum_numbers(ResponseKind))
        return "kind"
    if how == "notice_version":
        message.notice_version = 0
        return "notice_version"
    if how == "reason":
        message.kind = ResponseKind.UNABLE
        del message.counter_volumes[:]
        if not message.reasons:
            message.reasons.append(1)
        index = draw(st.integers(0, len(message.reasons) - 1))
        message.reasons[index] = draw(bad_enum_numbers(UnableReason))
        return f"reasons[{index}]"
    # Send the fields of one kind under another: UNABLE's reasons, or COUNTER's volumes.
    if message.kind == ResponseKind.UNABLE:
        message.kind = draw(st.sampled_from([ResponseKind.ACCEPT, ResponseKind.STANDBY, ResponseKind.ROGER]))
        return "reasons"
    if message.kind == ResponseKind.COUNTER:
        message.kind = ResponseKind.ACCEPT
        return "counter_volumes"
    message.kind = draw(st.sampled_from([ResponseKind.UNABLE, ResponseKind.COUNTER]))
    return "reasons" if message.kind == ResponseKind.UNABLE else "counter_volumes"


def _break_timeout(draw: st.DrawFn, message: response_pb2.ResponseTimeout) -> str:
    field = draw(st.sampled_from(["unanswered_message_id", "unanswered_kind", "due_time", "waited", "conference"]))
    if field == "conference":
        # A proposal's timeout names its conference revision; a notice's names none (DCF-TMR-018).
        if message.unanswered_kind == MessageKind.CONFERENCE_PROPOSAL:
            if draw(st.booleans()):
                message.conference_id = draw(bad_identifiers())
                return "conference_id"
            message.conference_revision = 0
            return "conference_revision"
        if draw(st.booleans()):
            message.conference_id = draw(identifiers())
            return "conference_id"
        message.conference_revision = draw(st.integers(1, 2**32 - 1))
        return "conference_revision"
    if field == "unanswered_message_id":
        message.unanswered_message_id = draw(bad_identifiers())
    elif field == "unanswered_kind":
        # Unknown, or a kind that requires no answer and so cannot time out.
        never_answered = sorted(set(MessageKind) - AWAITING_ANSWER)
        message.unanswered_kind = draw(bad_enum_numbers(MessageKind) | st.sampled_from(never_answered))
    elif field == "due_time":
        break_timestamp(draw, message.due_time)
    else:
        break_duration(draw, message.waited, limits.MAX_DURATION, zero_allowed=True)
    return field


def _break_envelope(draw: st.DrawFn, message: envelope_pb2.Envelope) -> str:
    how = draw(
        st.sampled_from(["recipient", "body", "created_time", "sequence", "mode", "protocol_version", "in_reply_to"])
    )
    if how == "recipient":
        message.recipient = message.sender
    elif how == "body":
        message.ClearField(message.WhichOneof("body"))
    elif how == "created_time":
        break_timestamp(draw, message.created_time)
    elif how == "sequence":
        message.sequence = 0
    elif how == "mode":
        message.mode = draw(bad_enum_numbers(Mode))
    elif how == "in_reply_to":
        # Replies name the answered message and other bodies none (DCF-ENV-011).
        message.in_reply_to = "" if message.in_reply_to else draw(identifiers())
    else:
        message.protocol_version.major = draw(st.integers(0, 2**32 - 1).filter(lambda major: major != 1))
        return "protocol_version.major"
    return how


def _break_signed(draw: st.DrawFn, message: envelope_pb2.SignedPayload) -> str:
    how = draw(st.sampled_from(["payload_type", "payload", "signature", "key_id"]))
    if how == "payload_type":
        message.payload_type = draw(st.text(max_size=40).filter(lambda name: name not in PAYLOAD_TYPES))
        return how
    if how == "payload":
        message.payload = b""
        return how
    signature = message.signatures.add(key_id="new-key", signature=bytes(64))
    index = len(message.signatures) - 1
    if how == "signature":
        signature.signature = draw(st.binary(max_size=80).filter(lambda raw: len(raw) != 64))
        return f"signatures[{index}].signature"
    signature.key_id = message.signatures[0].key_id if index else ""
    return f"signatures[{index}].key_id"


# (strategy of valid models, to protobuf, protobuf to data, breaker)
OTHER_CASES: list[tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], dict[str, Any]], Breaker]] = [
    (
        logical_acknowledgements(),
        response_bridge.logical_acknowledgement_to_proto,
        response_bridge.logical_acknowledgement_data,
        _break_acknowledgement,
    ),
    (
        operational_responses(),
        response_bridge.operational_response_to_proto,
        response_bridge.operational_response_data,
        _break_response,
    ),
    (
        response_timeouts(),
        response_bridge.response_timeout_to_proto,
        response_bridge.response_timeout_data,
        _break_timeout,
    ),
    (envelopes(), envelope_bridge.envelope_to_proto, envelope_bridge.envelope_data, _break_envelope),
    (
        signed_payloads(),
        envelope_bridge.signed_payload_to_proto,
        envelope_bridge.signed_payload_data,
        _break_signed,
    ),
]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(OTHER_CASES), st.data())
def test_broken_answer_or_envelope_is_refused_at_the_field(
    case: tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], dict[str, Any]], Breaker],
    data: st.DataObject,
) -> None:
    """DCF-ERR-003 with DCF-ACK-003/004/007, DCF-RSP-003 to DCF-RSP-010, DCF-RSP-036, DCF-TMR-009, DCF-TMR-018,
    DCF-ENV-004 to DCF-ENV-011 and DCF-SEC-010: one field broken is refused naming it."""
    valid, to_proto, read, breaker = case
    model = data.draw(valid)
    message = to_proto(model)
    path = breaker(data.draw, message)
    received = type(message).FromString(message.SerializeToString())
    assert refusal_paths(type(model), read(received)) == [path]


@settings(max_examples=60, deadline=None)
@given(envelopes(body_field="notice"), st.sampled_from(NOTICE_BREAKERS), st.data())
def test_broken_notice_inside_a_sealed_envelope_is_refused_at_its_full_path(
    envelope: Envelope, breaker: Breaker, data: st.DataObject
) -> None:
    """DCF-ENV-030: a broken body is named by its path from the Envelope."""
    message = envelope_bridge.envelope_to_proto(envelope)
    path = breaker(data.draw, message.notice)
    signed = envelope_pb2.SignedPayload(payload_type=ENVELOPE_TYPE, payload=message.SerializeToString())
    with pytest.raises(ValidationError) as caught:
        envelope_bridge.open_envelope(signed)
    assert [field for field, _ in field_violations(caught.value)] == [f"notice.{path}"]
