"""The sender's side of an answer to one of its messages: what an acknowledgement must say (DCF-ENV-034), which
refusals are definitive, and how the node keeps one (DCF-ENV-013).

A definitive refusal (DCF-ERR-014) of one of this node's messages withdraws it: the
node journals the refusal as the peer's answer to that message (direction ACK_IN,
kind "refusal", the MessageRefusal in a SignedPayload of its own type), takes back
what the message changed, and gives its sequence number to the next message; the
messages behind it are sealed again, one number lower, and journaled before they
are first sent (DCF-ENV-033). A restarted node replays all of it and never sends
the withdrawn message again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

import grpc
import msgspec

from deconflict.bridge.errors import message_refusal_to_proto
from deconflict.journal.base import Direction, Record
from deconflict.models.envelope import Envelope
from deconflict.models.response import LogicalAcknowledgement
from deconflict.node.ledger import ChannelState, subject_of
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.rpc.refusal import Refusal, refusal_from_message_refusal, to_message_refusal
from deconflict.v1 import envelope_pb2, errors_pb2

REFUSAL_KIND: Final = "refusal"  # Record.kind of a refusal record
REFUSAL_TYPE: Final = "deconflict.v1.MessageRefusal"  # its SignedPayload.payload_type

# Sent again later, the same bytes (DCF-ERR-014); a fault of the peer (INTERNAL, UNKNOWN: DCF-ERR-011) is not a
# refusal by the rules either, and is retried the same way.
RETRYABLE: Final = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)
# Recovered from by the sender: say Hello, deliver the missing sequences first, re-originate (DCF-ERR-014).
RECOVERABLE: Final = frozenset({"HELLO_REQUIRED", "SEQUENCE_GAP", "CLOCK_SKEW"})


def definitive(refusal: Refusal) -> bool:
    """Whether a refusal of one of this node's messages is definitive: every refusal but the retryable and the
    recoverable ones (DCF-ERR-014)."""
    if refusal.code in RETRYABLE:
        return False
    return not (refusal.code == grpc.StatusCode.FAILED_PRECONDITION and refusal.reason in RECOVERABLE)


def acknowledgement_mismatch(
    channel: ChannelState, record: Record, payload: bytes, acknowledgement: LogicalAcknowledgement
) -> str | None:
    """What an acknowledgement says that is not the message sent (DCF-ENV-034): a sentence for the operator, or
    None when it is the acknowledgement of exactly that message."""
    expected: dict[str, object] = {
        "message_id": record.message_id,
        "message_sender": record.sender,
        "message_sequence": record.sequence,
        "channel_id": channel.channel_id,
        "payload_sha256": hashlib.sha256(payload).digest(),
    }
    for name, value in expected.items():
        got = getattr(acknowledgement, name)
        if got != value:
            shown = (got.hex(), value.hex()) if isinstance(got, bytes) and isinstance(value, bytes) else (got, value)
            return (
                f"the acknowledgement {channel.peer} gave for {record.kind} {record.message_id} has {name} "
                f"{shown[0]}, not {shown[1]}: the message stays unacknowledged and is sent again (DCF-ENV-034)"
            )
    return None


class _About(msgspec.Struct, array_like=True, frozen=True):
    """What a refusal record's `meta` keeps of the refused message, for the alert."""

    body: str  # the envelope's body field: "notice", "response", ...
    subject: str  # the notice, conference or incident id it concerns; "" for a suspension or resumption


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(_About)


def refusal_record(channel: ChannelState, envelope: Envelope, refusal: Refusal, now: datetime) -> Record:
    """The journal record of the peer's definitive refusal of `envelope`, one of this node's messages."""
    refused = message_refusal_to_proto(to_message_refusal(refusal, envelope.message_id))
    signed = envelope_pb2.SignedPayload(payload_type=REFUSAL_TYPE, payload=refused.SerializeToString())
    return Record(
        channel_id=channel.channel_id,
        direction=Direction.ACK_IN,
        message_id=envelope.message_id,
        sender=channel.peer,
        sequence=envelope.sequence,
        kind=REFUSAL_KIND,
        payload=signed.SerializeToString(),
        stored_time=now,
        meta=_ENCODER.encode(_About(envelope.body_field, subject_of(channel, envelope)[2])),
    )


def is_refusal(record: Record) -> bool:
    return record.direction == Direction.ACK_IN and record.kind == REFUSAL_KIND


def refusal_alert(record: Record) -> operator_pb.Alert:
    """The operator alert that names a withdrawn message and its refusal (DCF-ENV-035), from its record."""
    signed = envelope_pb2.SignedPayload.FromString(record.payload)
    refusal = refusal_from_message_refusal(errors_pb2.MessageRefusal.FromString(signed.payload))
    about = _DECODER.decode(record.meta)
    fields = "; ".join(f"{path}: {why}" for path, why in refusal.violations)
    said = " ".join(part for part in (refusal.reason, refusal.message, f"({fields})" if fields else "") if part)
    text = (
        f"{record.sender} refused {about.body} {record.message_id} (sequence {record.sequence}) with "
        f"{refusal.code.name}: {said}. The message is withdrawn and its sequence number goes to the next one "
        "(DCF-ENV-013)."
    )
    return operator_pb.Alert(kind=operator_pb.ALERT_KIND_REFUSED, text=text, subject_id=about.subject)
