"""The envelope and the signed payload: header rules, exactly one body, and sealing / opening signed bytes.

Each rule accepts a valid message and refuses a broken one at the exact field
path, from plain data and from protobuf bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import envelope as bridge
from deconflict.bridge.notice import notice_amendment_to_proto
from deconflict.models import envelope as envelope_models
from deconflict.models import notice_service
from deconflict.models.base import field_violations
from deconflict.models.channel import IncidentReport, InvolvedAircraft, Resumption, Suspension
from deconflict.models.envelope import (
    ACKNOWLEDGEMENT_TYPE,
    BODY_KINDS,
    ENVELOPE_TYPE,
    PAYLOAD_TYPES,
    AcknowledgementResponse,
    Envelope,
    EnvelopeHeader,
    EnvelopeRequest,
    Mode,
    SignedPayload,
)
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng
from deconflict.models.notice import AircraftCategory
from deconflict.models.response import MessageKind, ResponseKind
from deconflict.v1 import envelope_pb2 as pb
from tests.strategies.conference import (
    example_acceptance,
    example_conference_cancellation,
    example_proposal,
    example_record,
)
from tests.strategies.mutations import DELETE, changed, refusal_paths
from tests.strategies.notice import (
    HOUR,
    T0,
    example_acknowledgement,
    example_amendment,
    example_cancellation,
    example_envelope,
    example_notice,
    example_response,
    example_timeout,
)

ENVELOPE = example_envelope().model_dump()
SIGNATURE = {"key_id": "party-a/key-1", "signature": bytes(range(64))}
SIGNED = {"payload_type": ENVELOPE_TYPE, "payload": b"\x0a\x05msg-1", "signatures": [SIGNATURE]}

E = (Envelope, ENVELOPE)
S = (SignedPayload, SIGNED)
RESPONSE = (Envelope, example_envelope(response=example_response()).model_dump())
TIMEOUT = (Envelope, example_envelope(timeout=example_timeout()).model_dump())
SUSPENSION = (
    Envelope,
    example_envelope(suspension=Suspension(suspension_id="sus-1", effective_time=T0, reason="Review")).model_dump(),
)
CANCELLATION = (Envelope, example_envelope(conference_cancellation=example_conference_cancellation()).model_dump())

# (message, valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    # Header: ids, parties, sequence, time, version, mode.
    pytest.param(E, "message_id", "", "message_id", id="DCF-ENV-004-message-id-empty"),
    pytest.param(
        E, "message_id", "m" * (limits.MAX_IDENTIFIER + 1), "message_id", id="DCF-LIM-002-message-id-too-long"
    ),
    pytest.param(E, "channel_id", DELETE, "channel_id", id="DCF-ENV-005-channel-id-missing"),
    pytest.param(E, "sender", "party a", "sender", id="DCF-ENV-005-sender-space"),
    pytest.param(E, "recipient", "", "recipient", id="DCF-ENV-005-recipient-empty"),
    pytest.param(E, "recipient", "party-a", "recipient", id="DCF-ENV-005-recipient-is-sender"),
    pytest.param(E, "sequence", 0, "sequence", id="DCF-ENV-007-sequence-0"),
    pytest.param(E, "sequence", -3, "sequence", id="DCF-ENV-007-sequence-negative"),
    pytest.param(E, "sequence", 2**64, "sequence", id="DCF-ENV-007-sequence-past-uint64"),
    pytest.param(E, "in_reply_to", "msg 0", "in_reply_to", id="DCF-ENV-011-in-reply-to-space"),
    pytest.param(E, "created_time", None, "created_time", id="DCF-ENV-007-created-unset"),
    pytest.param(E, "created_time", "2025-10-01T09:00:00", "created_time", id="DCF-GEN-008-created-without-zone"),
    pytest.param(E, "protocol_version", None, "protocol_version", id="DCF-ENV-007-version-unset"),
    pytest.param(E, "protocol_version.major", 0, "protocol_version.major", id="DCF-ENV-007-version-major-0"),
    pytest.param(E, "protocol_version.major", 2, "protocol_version.major", id="DCF-ENV-007-version-major-2"),
    pytest.param(E, "protocol_version.minor", -1, "protocol_version.minor", id="version-minor-negative"),
    pytest.param(E, "mode", 0, "mode", id="DCF-ENV-008-mode-unspecified"),
    pytest.param(E, "mode", 3, "mode", id="DCF-ENV-008-mode-unknown"),
    pytest.param(E, "mode", "LIVE", "mode", id="DCF-ENV-008-mode-unknown-name"),
    # Body: exactly one, and the body's own rules with their full path.
    pytest.param(E, "notice", None, "body", id="DCF-ENV-001-no-body"),
    pytest.param(E, "cancellation", example_cancellation(), "body", id="DCF-ENV-001-two-bodies"),
    pytest.param(E, "notice.version", 0, "notice.version", id="DCF-ENV-030-body-notice-version-0"),
    pytest.param(
        E,
        "notice.volumes.1.volume.circle.center.latitude",
        math.nan,
        "notice.volumes[1].volume.circle.center.latitude",
        id="DCF-ENV-030-body-latitude-nan",
    ),
    pytest.param(E, "signature", b"", "signature", id="DCF-CMP-012-envelope-unknown-field"),
    # A conference cancellation answers no message, and its own rules are named from the envelope.
    pytest.param(CANCELLATION, "in_reply_to", "msg-0", "in_reply_to", id="DCF-ENV-011-cancellation-in-reply-to"),
    pytest.param(
        CANCELLATION,
        "conference_cancellation.reason",
        "",
        "conference_cancellation.reason",
        id="DCF-CNF-037-envelope-cancellation-no-reason",
    ),
    pytest.param(CANCELLATION, "notice", example_notice(), "body", id="DCF-ENV-001-cancellation-and-notice"),
    # in_reply_to names the answered message for a response, timeout or conference answer, and only then.
    pytest.param(E, "in_reply_to", "msg-0", "in_reply_to", id="DCF-ENV-011-notice-in-reply-to"),
    pytest.param(RESPONSE, "in_reply_to", "", "in_reply_to", id="DCF-ENV-011-response-not-in-reply"),
    pytest.param(TIMEOUT, "in_reply_to", "", "in_reply_to", id="DCF-ENV-011-timeout-not-in-reply"),
    pytest.param(
        TIMEOUT, "in_reply_to", "msg-7", "timeout.unanswered_message_id", id="DCF-TMR-009-timeout-in-reply-to-another"
    ),
    # A suspension or resumption concerns the channel itself: never an exercise.
    pytest.param(SUSPENSION, "mode", Mode.EXERCISE, "mode", id="DCF-ENV-009-suspension-in-exercise"),
    # Signed payload: a known type, bounded bytes, at most 8 Ed25519 signatures of distinct keys.
    pytest.param(S, "payload_type", "deconflict.v1.FlightNotice", "payload_type", id="DCF-ENV-017-payload-type-other"),
    pytest.param(S, "payload_type", "", "payload_type", id="DCF-ENV-017-payload-type-empty"),
    pytest.param(S, "payload", b"", "payload", id="DCF-LIM-006-payload-empty"),
    pytest.param(S, "payload", bytes(limits.MAX_MESSAGE_BYTES + 1), "payload", id="DCF-LIM-006-payload-too-big"),
    pytest.param(S, "signatures", [SIGNATURE] * 9, "signatures", id="DCF-LIM-023-signatures-too-many"),
    pytest.param(
        S, "signatures.0.signature", bytes(63), "signatures[0].signature", id="DCF-SEC-010-signature-63-bytes"
    ),
    pytest.param(
        S, "signatures.0.signature", bytes(65), "signatures[0].signature", id="DCF-SEC-010-signature-65-bytes"
    ),
    pytest.param(S, "signatures.0.key_id", "", "signatures[0].key_id", id="DCF-LIM-002-signature-key-id-empty"),
    pytest.param(
        S, "signatures", [SIGNATURE, SIGNATURE], "signatures[1].key_id", id="DCF-SEC-010-signature-key-repeated"
    ),
]


@pytest.mark.parametrize(("message", "field", "value", "path"), DATA_CASES)
def test_refused_at_path(message: tuple[type[Any], dict[str, Any]], field: str, value: Any, path: str) -> None:
    """DCF-ERR-003: each broken input is refused naming exactly the field at fault, by its path."""
    model, data = message
    assert refusal_paths(model, changed(data, field, value)) == [path]


def test_valid_examples_are_accepted() -> None:
    """DCF-ENV-001, DCF-SEC-010: a valid envelope and signed payload pass."""
    envelope = Envelope.model_validate(ENVELOPE)
    assert envelope.mode == Mode.EXERCISE
    assert SignedPayload.model_validate(SIGNED).signatures[0].key_id == "party-a/key-1"
    assert SignedPayload.model_validate(SIGNED | {"signatures": []}).signatures == []


def test_body_refusal_names_the_oneof() -> None:
    """DCF-ERR-003: a oneof with more or less than one field set is named by its oneof name."""
    with pytest.raises(ValidationError) as caught:
        Envelope.model_validate(changed(ENVELOPE, "timeout", example_timeout()))
    assert field_violations(caught.value) == [("body", "exactly one body must be set, found 2: notice, timeout")]


def _incident() -> IncidentReport:
    return IncidentReport(
        incident_id="inc-1",
        occurred_time=T0 - HOUR,
        position=LatLng(latitude=45.2, longitude=10.4),
        altitude=Altitude(value=150, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
        aircraft=[InvolvedAircraft(party="party-a", aircraft_category=AircraftCategory.TANKER)],
        narrative="Unsafe approach, 1 NM laterally.",
    )


BODIES: dict[str, Callable[[], Any]] = {
    "notice": example_notice,
    "amendment": example_amendment,
    "cancellation": example_cancellation,
    "response": lambda: example_response(ResponseKind.COUNTER),
    "timeout": example_timeout,
    "conference_proposal": example_proposal,
    "conference_answer": example_acceptance,
    "conference_record": example_record,
    "incident_report": _incident,
    "suspension": lambda: Suspension(suspension_id="sus-1", effective_time=T0, reason="Incident review"),
    "resumption": lambda: Resumption(suspension_id="sus-1", effective_time=T0 + HOUR, reason="Review done"),
    "conference_cancellation": example_conference_cancellation,
}


@pytest.mark.parametrize("field", list(BODY_KINDS))
def test_every_body_kind_seals_and_opens(field: str) -> None:
    """DCF-ENV-001, DCF-ENV-002: every body seals, opens and tells its kind."""
    envelope = example_envelope(**{field: BODIES[field]()})
    assert envelope.kind == BODY_KINDS[field]
    assert envelope.body_field == field
    assert envelope.body == getattr(envelope, field)
    opened = bridge.open_envelope(bridge.signed_payload_to_proto(bridge.seal_envelope(envelope)))
    assert opened == envelope


def test_kinds_follow_the_schema_order() -> None:
    """DCF-ENV-002: each body field has its own message kind."""
    assert [int(kind) for kind in BODY_KINDS.values()] == list(range(1, len(MessageKind) + 1))
    assert set(PAYLOAD_TYPES) == {ENVELOPE_TYPE, ACKNOWLEDGEMENT_TYPE}
    # The body fields are those of the schema's oneof, in schema order.
    assert list(BODY_KINDS) == [field.name for field in pb.Envelope.DESCRIPTOR.oneofs_by_name["body"].fields]
    assert BODY_KINDS["conference_cancellation"] == MessageKind.CONFERENCE_CANCELLATION


def test_write_shapes_live_in_the_envelope_module() -> None:
    """DCF-ENV-016, DCF-ACK-002: the shared write request and answer are public, in one place, with no alias."""
    assert EnvelopeRequest.__module__ == AcknowledgementResponse.__module__ == envelope_models.__name__
    assert issubclass(notice_service.SubmitNoticeRequest, EnvelopeRequest)
    assert issubclass(notice_service.SubmitNoticeResponse, AcknowledgementResponse)
    assert not hasattr(notice_service, "_EnvelopeRequest")
    assert not hasattr(notice_service, "_AcknowledgementResponse")


def test_a_conference_cancellation_travels_in_an_envelope() -> None:
    """DCF-ENV-002, DCF-CNF-037: the cancellation is a body of its own kind, with no in_reply_to."""
    envelope = Envelope.model_validate(CANCELLATION[1])
    assert (envelope.kind, envelope.body_field, envelope.in_reply_to) == (
        MessageKind.CONFERENCE_CANCELLATION,
        "conference_cancellation",
        "",
    )
    header = EnvelopeHeader.model_validate(bridge.envelope_header_data(bridge.envelope_to_proto(envelope)))
    assert header.kind == MessageKind.CONFERENCE_CANCELLATION


# Sealing and opening signed bytes.


def test_seal_signs_nothing_yet_and_carries_the_exact_bytes() -> None:
    """DCF-SEC-009: the payload is the exact bytes to sign and send."""
    envelope = example_envelope()
    sealed = bridge.seal_envelope(envelope)
    assert sealed.payload_type == ENVELOPE_TYPE
    assert sealed.signatures == []
    assert sealed.payload == bridge.envelope_to_proto(envelope).SerializeToString(deterministic=True)


def test_acknowledgement_seals_and_opens() -> None:
    """DCF-ACK-002: an acknowledgement travels as a SignedPayload of its own type."""
    ack = example_acknowledgement()
    sealed = bridge.seal_acknowledgement(ack)
    assert sealed.payload_type == ACKNOWLEDGEMENT_TYPE
    assert bridge.open_acknowledgement(bridge.signed_payload_to_proto(sealed)) == ack


def test_signed_payload_round_trips_through_protobuf() -> None:
    """DCF-ENV-001: a signed payload survives the wire unchanged."""
    signed = SignedPayload.model_validate(SIGNED)
    wire = bridge.signed_payload_to_proto(signed).SerializeToString()
    assert SignedPayload.model_validate(bridge.signed_payload_data(pb.SignedPayload.FromString(wire))) == signed


def _signed(payload_type: str = ENVELOPE_TYPE, payload: bytes | None = None) -> pb.SignedPayload:
    if payload is None:
        payload = bridge.seal_envelope(example_envelope()).payload
    return pb.SignedPayload(payload_type=payload_type, payload=payload)


# (signed bytes, the opener, the refused field, whether it is UndecodablePayload)
OPEN_CASES = [
    pytest.param(
        _signed(ACKNOWLEDGEMENT_TYPE), bridge.open_envelope, "envelope.payload_type", False, id="DCF-ENV-017-ack-as-env"
    ),
    pytest.param(
        _signed("deconflict.v1.Nothing"), bridge.open_envelope, "envelope.payload_type", False, id="DCF-ENV-017-type"
    ),
    pytest.param(
        _signed(ENVELOPE_TYPE), bridge.open_acknowledgement, "acknowledgement.payload_type", False, id="DCF-ACK-002-env"
    ),
    pytest.param(_signed(payload=b""), bridge.open_envelope, "envelope.payload", False, id="DCF-ENV-016-empty"),
    pytest.param(
        _signed(payload=bytes(limits.MAX_MESSAGE_BYTES + 1)),
        bridge.open_envelope,
        "envelope.payload",
        False,
        id="DCF-ENV-016-big",
    ),
    pytest.param(
        _signed(payload=b"\xff\xff\xff"), bridge.open_envelope, "envelope.payload", True, id="DCF-ENV-019-garbage"
    ),
    pytest.param(
        _signed(payload=b"\x0a\x10short"), bridge.open_envelope, "envelope.payload", True, id="DCF-ENV-019-truncated"
    ),
    pytest.param(
        _signed(ACKNOWLEDGEMENT_TYPE, b"\x0a\xff"),
        bridge.open_acknowledgement,
        "acknowledgement.payload",
        True,
        id="DCF-ERR-004-ack-garbage",
    ),
]


@pytest.mark.parametrize(("signed", "opener", "field", "undecodable"), OPEN_CASES)
def test_open_refuses_what_it_cannot_read(
    signed: pb.SignedPayload, opener: Callable[[pb.SignedPayload], Any], field: str, undecodable: bool
) -> None:
    """DCF-ENV-016, DCF-ENV-017, DCF-ENV-019: wrong type, size or bytes are refused naming the request field."""
    with pytest.raises(bridge.PayloadError) as caught:
        opener(signed)
    assert caught.value.field == field
    assert isinstance(caught.value, bridge.UndecodablePayload) is undecodable
    assert caught.value.description


def test_undecodable_payload_is_a_plain_value_error() -> None:
    """DCF-ERR-004: an undecodable payload is an ordinary error a server maps to INVALID_ARGUMENT."""
    assert issubclass(bridge.UndecodablePayload, ValueError)
    assert not issubclass(bridge.UndecodablePayload, ValidationError)


def test_open_names_the_request_field_it_was_given() -> None:
    """DCF-ERR-003: paths of the request's own fields start at the request."""
    with pytest.raises(bridge.UndecodablePayload) as caught:
        bridge.open_envelope(_signed(payload=b"\xff"), field="request.envelope")
    assert caught.value.field == "request.envelope.payload"


# Envelopes that decode but break a rule: the refusal names the field inside the envelope.


def _wire(envelope: pb.Envelope) -> pb.SignedPayload:
    return _signed(payload=envelope.SerializeToString())


def _envelope_pb() -> pb.Envelope:
    return bridge.envelope_to_proto(example_envelope())


def _broken(breaks: Callable[[pb.Envelope], None]) -> pb.Envelope:
    message = _envelope_pb()
    breaks(message)
    return message


def _created_nanos(message: pb.Envelope) -> None:
    message.created_time.nanos = 5


def _no_body(message: pb.Envelope) -> None:
    message.ClearField("notice")


def _same_parties(message: pb.Envelope) -> None:
    message.recipient = message.sender


def _latitude_95(message: pb.Envelope) -> None:
    message.notice.volumes[0].volume.polygon.vertices[0].latitude = 95.0


def _mode_99(message: pb.Envelope) -> None:
    message.mode = 99


def _unset_version(message: pb.Envelope) -> None:
    message.ClearField("protocol_version")


def _sequence_0(message: pb.Envelope) -> None:
    message.sequence = 0


def _amendment_body_stale(message: pb.Envelope) -> None:
    message.amendment.CopyFrom(notice_amendment_to_proto(example_amendment()))
    message.amendment.replaces_version = 5


PROTO_CASES = [
    pytest.param(_created_nanos, "created_time", id="DCF-GEO-024-pb-created-nanos"),
    pytest.param(_no_body, "body", id="DCF-ENV-019-pb-no-body"),
    pytest.param(_same_parties, "recipient", id="DCF-ENV-005-pb-recipient-is-sender"),
    pytest.param(
        _latitude_95, "notice.volumes[0].volume.polygon.vertices[0].latitude", id="DCF-ENV-030-pb-latitude-95"
    ),
    pytest.param(_mode_99, "mode", id="DCF-ENV-008-pb-mode-99"),
    pytest.param(_unset_version, "protocol_version", id="DCF-ENV-007-pb-version-unset"),
    pytest.param(_sequence_0, "sequence", id="DCF-ENV-007-pb-sequence-0"),
    pytest.param(_amendment_body_stale, "amendment.notice.version", id="DCF-NTC-018-pb-amendment-version"),
]


@pytest.mark.parametrize(("breaks", "path"), PROTO_CASES)
def test_open_refuses_invalid_content_at_path(breaks: Callable[[pb.Envelope], None], path: str) -> None:
    """DCF-ENV-019, DCF-ENV-030: a decoded envelope is refused naming the field from the Envelope."""
    with pytest.raises(ValidationError) as caught:
        bridge.open_envelope(_wire(_broken(breaks)))
    assert [field for field, _ in field_violations(caught.value)] == [path]


def test_unknown_fields_from_a_newer_minor_version_are_tolerated() -> None:
    """DCF-CMP-001, DCF-CMP-009: unknown fields are accepted."""
    message = _envelope_pb()
    # Field 15, varint 7: not in this schema.
    wire = message.SerializeToString() + b"\x78\x07"
    assert bridge.open_envelope(_signed(payload=wire)) == example_envelope()


# The header on its own: a receiver checks it before the channel, the sequence and the body.


def test_header_is_checked_without_the_body() -> None:
    """DCF-ENV-015: the header is checked (step 4) before the body (step 11)."""
    message = _envelope_pb()
    message.notice.volumes[0].volume.polygon.vertices[0].latitude = 95.0
    payload = bridge.checked_payload(_wire(message), ENVELOPE_TYPE, "envelope")
    decoded = bridge.decode_envelope(payload)
    header = EnvelopeHeader.model_validate(bridge.envelope_header_data(decoded))
    assert (header.body, header.kind, header.sequence) == ("notice", MessageKind.NOTICE, 1)
    with pytest.raises(ValidationError):
        Envelope.model_validate(bridge.envelope_data(decoded))


HEADER_CASES = [
    pytest.param(_no_body, "body", id="DCF-ENV-019-header-no-body"),
    pytest.param(_same_parties, "recipient", id="DCF-ENV-005-header-recipient-is-sender"),
    pytest.param(_created_nanos, "created_time", id="DCF-GEO-024-header-created-nanos"),
    pytest.param(_mode_99, "mode", id="DCF-ENV-008-header-mode-99"),
    pytest.param(_unset_version, "protocol_version", id="DCF-ENV-007-header-version-unset"),
]


@pytest.mark.parametrize(("breaks", "path"), HEADER_CASES)
def test_header_refused_at_path(breaks: Callable[[pb.Envelope], None], path: str) -> None:
    """DCF-ENV-019: a header that breaks DCF-ENV-004 to DCF-ENV-008, or has no body, names the field."""
    data = bridge.envelope_header_data(pb.Envelope.FromString(_broken(breaks).SerializeToString()))
    assert refusal_paths(EnvelopeHeader, data) == [path]


def test_header_applies_the_body_dependent_header_rules() -> None:
    """DCF-ENV-009, DCF-ENV-011: mode and in_reply_to follow the body."""
    suspension = Suspension(suspension_id="sus-1", effective_time=T0, reason="Review")
    message = bridge.envelope_to_proto(example_envelope(suspension=suspension))
    message.mode = pb.MODE_EXERCISE
    assert refusal_paths(EnvelopeHeader, bridge.envelope_header_data(message)) == ["mode"]
    message = bridge.envelope_to_proto(example_envelope(response=example_response()))
    message.in_reply_to = ""
    assert refusal_paths(EnvelopeHeader, bridge.envelope_header_data(message)) == ["in_reply_to"]


def test_invalid_utf8_in_a_string_is_undecodable() -> None:
    """DCF-LIM-005: a string field that is not UTF-8 makes the payload undecodable."""
    # Field 1 (message_id), length 3: "a", an invalid byte, "b".
    with pytest.raises(bridge.UndecodablePayload) as caught:
        bridge.open_envelope(_signed(payload=b"\x0a\x03a\xffb"))
    assert caught.value.field == "envelope.payload"


def test_a_higher_minor_version_is_accepted() -> None:
    """DCF-CMP-009: a receiver refuses no message for its protocol_version.minor."""
    envelope = Envelope.model_validate(changed(ENVELOPE, "protocol_version.minor", 2**32 - 1))
    assert envelope.protocol_version.minor == 2**32 - 1


def test_payload_and_signatures_at_their_bounds_are_accepted() -> None:
    """DCF-LIM-001, DCF-LIM-006, DCF-LIM-023: values at the bounds are accepted."""
    signatures = [{"key_id": f"key-{index}", "signature": bytes(64)} for index in range(limits.MAX_SIGNATURES)]
    signed = SignedPayload.model_validate(
        {"payload_type": ENVELOPE_TYPE, "payload": bytes(limits.MAX_MESSAGE_BYTES), "signatures": signatures}
    )
    assert len(signed.signatures) == limits.MAX_SIGNATURES
