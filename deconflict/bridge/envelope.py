"""Envelope and signed-payload models <-> deconflict.v1.envelope_pb2, by hand.

`seal_*` serializes a message into the exact bytes that will be signed and sent;
`open_*` turns received signed bytes back into a validated model. Signing and
verifying happen between the two, elsewhere: `open_*` does not look at signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from deconflict import limits
from deconflict.bridge.channel import (
    incident_report_data,
    incident_report_to_proto,
    resumption_data,
    resumption_to_proto,
    suspension_data,
    suspension_to_proto,
)
from deconflict.bridge.conference import (
    conference_answer_data,
    conference_answer_to_proto,
    conference_cancellation_data,
    conference_cancellation_to_proto,
    conference_proposal_data,
    conference_proposal_to_proto,
    conference_record_data,
    conference_record_to_proto,
)
from deconflict.bridge.convert import timestamp
from deconflict.bridge.notice import (
    flight_notice_data,
    flight_notice_to_proto,
    notice_amendment_data,
    notice_amendment_to_proto,
    notice_cancellation_data,
    notice_cancellation_to_proto,
)
from deconflict.bridge.response import (
    logical_acknowledgement_data,
    logical_acknowledgement_to_proto,
    operational_response_data,
    operational_response_to_proto,
    response_timeout_data,
    response_timeout_to_proto,
)
from deconflict.models import envelope as m
from deconflict.models.response import LogicalAcknowledgement
from deconflict.v1 import envelope_pb2 as pb
from deconflict.v1 import response_pb2


class PayloadError(ValueError):
    """Signed bytes that cannot be opened as the message expected, naming the field at fault.

    Free of pydantic so that a server can turn it into INVALID_ARGUMENT with one
    field violation.
    """

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


class UndecodablePayload(PayloadError):  # noqa: N818 (the name other modules catch)
    """The payload bytes are not a protobuf message of the payload type."""


# Body field -> (model to protobuf, protobuf to data), for the `body` oneof.
_BODIES: dict[str, tuple[Callable[[Any], ProtoMessage], Callable[[Any], dict[str, Any]]]] = {
    "notice": (flight_notice_to_proto, flight_notice_data),
    "amendment": (notice_amendment_to_proto, notice_amendment_data),
    "cancellation": (notice_cancellation_to_proto, notice_cancellation_data),
    "response": (operational_response_to_proto, operational_response_data),
    "timeout": (response_timeout_to_proto, response_timeout_data),
    "conference_proposal": (conference_proposal_to_proto, conference_proposal_data),
    "conference_answer": (conference_answer_to_proto, conference_answer_data),
    "conference_record": (conference_record_to_proto, conference_record_data),
    "incident_report": (incident_report_to_proto, incident_report_data),
    "suspension": (suspension_to_proto, suspension_data),
    "resumption": (resumption_to_proto, resumption_data),
    "conference_cancellation": (conference_cancellation_to_proto, conference_cancellation_data),
}


def protocol_version_to_proto(model: m.ProtocolVersion) -> pb.ProtocolVersion:
    return pb.ProtocolVersion(major=model.major, minor=model.minor)


def protocol_version_data(message: pb.ProtocolVersion) -> dict[str, Any]:
    return {"major": message.major, "minor": message.minor}


def envelope_to_proto(model: m.Envelope) -> pb.Envelope:
    out = pb.Envelope(
        message_id=model.message_id,
        channel_id=model.channel_id,
        sender=model.sender,
        recipient=model.recipient,
        sequence=model.sequence,
        in_reply_to=model.in_reply_to,
        created_time=timestamp(model.created_time),
        protocol_version=protocol_version_to_proto(model.protocol_version),
        mode=pb.Mode.ValueType(model.mode),
    )
    name = model.body_field
    to_proto, _ = _BODIES[name]
    getattr(out, name).CopyFrom(to_proto(model.body))
    return out


def _header_data(message: pb.Envelope) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "channel_id": message.channel_id,
        "sender": message.sender,
        "recipient": message.recipient,
        "sequence": message.sequence,
        "in_reply_to": message.in_reply_to,
        "created_time": message.created_time if message.HasField("created_time") else None,
        "protocol_version": (
            protocol_version_data(message.protocol_version) if message.HasField("protocol_version") else None
        ),
        "mode": message.mode,
    }


def envelope_header_data(message: pb.Envelope) -> dict[str, Any]:
    """The header and the name of the body, for EnvelopeHeader: the body itself is not read."""
    return {**_header_data(message), "body": message.WhichOneof("body")}


def envelope_data(message: pb.Envelope) -> dict[str, Any]:
    data = _header_data(message)
    name = message.WhichOneof("body")
    if name is not None:
        _, body_data = _BODIES[name]
        data[name] = body_data(getattr(message, name))
    return data


def signature_to_proto(model: m.Signature) -> pb.Signature:
    return pb.Signature(key_id=model.key_id, signature=model.signature)


def signature_data(message: pb.Signature) -> dict[str, Any]:
    return {"key_id": message.key_id, "signature": message.signature}


def signed_payload_to_proto(model: m.SignedPayload) -> pb.SignedPayload:
    return pb.SignedPayload(
        payload_type=model.payload_type,
        payload=model.payload,
        signatures=[signature_to_proto(signature) for signature in model.signatures],
    )


def signed_payload_data(message: pb.SignedPayload) -> dict[str, Any]:
    return {
        "payload_type": message.payload_type,
        "payload": message.payload,
        "signatures": [signature_data(signature) for signature in message.signatures],
    }


def optional_signed_payload(message: ProtoMessage, field: str) -> dict[str, Any] | None:
    """The data of the SignedPayload in `field` of a request or response, None when it is unset.

    Shared by the service bridges: an unset envelope or acknowledgement is a
    required field left out, which the model refuses naming `field`.
    """
    if not message.HasField(field):
        return None
    signed: pb.SignedPayload = getattr(message, field)
    return signed_payload_data(signed)


def seal_envelope(model: m.Envelope) -> m.SignedPayload:
    """The envelope as the exact bytes to sign and send, not yet signed."""
    payload = envelope_to_proto(model).SerializeToString(deterministic=True)
    return m.SignedPayload(payload_type=m.ENVELOPE_TYPE, payload=payload)


def seal_acknowledgement(model: LogicalAcknowledgement) -> m.SignedPayload:
    """The acknowledgement as the exact bytes to sign and send, not yet signed."""
    payload = logical_acknowledgement_to_proto(model).SerializeToString(deterministic=True)
    return m.SignedPayload(payload_type=m.ACKNOWLEDGEMENT_TYPE, payload=payload)


def checked_payload(signed: pb.SignedPayload, payload_type: str, field: str) -> bytes:
    """The payload bytes, once their type and size are what the caller expects (DCF-ENV-016, DCF-ENV-017).

    Nothing is parsed: the caller verifies the signatures over these bytes next.
    """
    if signed.payload_type != payload_type:
        shown = signed.payload_type[:64]
        raise PayloadError(f"{field}.payload_type", f"must be {payload_type!r}, not {shown!r}")
    if not signed.payload:
        raise PayloadError(f"{field}.payload", "must not be empty")
    if len(signed.payload) > limits.MAX_MESSAGE_BYTES:
        raise PayloadError(f"{field}.payload", f"must not be longer than {limits.MAX_MESSAGE_BYTES} bytes")
    return signed.payload


def decode_envelope(payload: bytes, field: str = "envelope") -> pb.Envelope:
    """Parse verified payload bytes as an Envelope (DCF-ENV-019); nothing is validated yet."""
    try:
        return pb.Envelope.FromString(payload)
    except DecodeError as error:
        raise UndecodablePayload(f"{field}.payload", f"is not a serialized {m.ENVELOPE_TYPE}: {error}") from None


def decode_acknowledgement(payload: bytes, field: str = "acknowledgement") -> response_pb2.LogicalAcknowledgement:
    """Parse verified payload bytes as a LogicalAcknowledgement; nothing is validated yet."""
    try:
        return response_pb2.LogicalAcknowledgement.FromString(payload)
    except DecodeError as error:
        raise UndecodablePayload(f"{field}.payload", f"is not a serialized {m.ACKNOWLEDGEMENT_TYPE}: {error}") from None


def open_envelope(signed: pb.SignedPayload, field: str = "envelope") -> m.Envelope:
    """Check, parse and validate the envelope in `signed`, whose signatures the caller has verified.

    Raises PayloadError (UndecodablePayload for bytes that do not parse) naming
    `field`.payload_type or `field`.payload, and pydantic's ValidationError with
    paths from the Envelope (DCF-ERR-003). A receiver that must check the header
    before the body (DCF-ENV-015) uses checked_payload, decode_envelope,
    envelope_header_data and envelope_data one after the other instead.
    """
    message = decode_envelope(checked_payload(signed, m.ENVELOPE_TYPE, field), field)
    return m.Envelope.model_validate(envelope_data(message))


def open_acknowledgement(signed: pb.SignedPayload, field: str = "acknowledgement") -> LogicalAcknowledgement:
    """Check, parse and validate the acknowledgement in `signed`; raises as open_envelope does."""
    message = decode_acknowledgement(checked_payload(signed, m.ACKNOWLEDGEMENT_TYPE, field), field)
    return LogicalAcknowledgement.model_validate(logical_acknowledgement_data(message))
