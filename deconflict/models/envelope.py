"""The envelope every party-to-party message travels in, and the signed bytes that carry it.

An Envelope is never sent bare: it is serialized into a SignedPayload, and the
signature covers those exact bytes (protobuf serialization is not canonical).
Every service's writes share two shapes: an EnvelopeRequest carries the sender's
signed envelope, an AcknowledgementResponse the receiver's signed acknowledgement.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self, TypeAlias

from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.channel import IncidentReport, Resumption, Suspension
from deconflict.models.conference import (
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceProposal,
    ConferenceRecord,
)
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCancellation
from deconflict.models.response import MessageKind, OperationalResponse, ResponseTimeout
from deconflict.models.types import Count, Identifier, OptionalIdentifier, ProtoEnum, Sequence, UtcTime, Version

ENVELOPE_TYPE: Final = "deconflict.v1.Envelope"
ACKNOWLEDGEMENT_TYPE: Final = "deconflict.v1.LogicalAcknowledgement"
PayloadType = Literal["deconflict.v1.Envelope", "deconflict.v1.LogicalAcknowledgement"]
PAYLOAD_TYPES: Final = (ENVELOPE_TYPE, ACKNOWLEDGEMENT_TYPE)
# The major version this package speaks: deconflict.v1.
PROTOCOL_MAJOR: Final = 1

ED25519_SIGNATURE_BYTES = 64


class Mode(ProtoEnum):
    OPERATIONAL = 1
    EXERCISE = 2


class ProtocolVersion(Message):
    major: Version
    minor: Count

    @model_validator(mode="after")
    def _this_major(self) -> Self:
        # A new major version is a new protobuf package (DCF-CMP-008); a higher minor is accepted (DCF-CMP-009).
        if self.major != PROTOCOL_MAJOR:
            raise refuse("major", "must be {major}: this is deconflict.v{major}", major=PROTOCOL_MAJOR)
        return self


Body: TypeAlias = (
    FlightNotice
    | NoticeAmendment
    | NoticeCancellation
    | OperationalResponse
    | ResponseTimeout
    | ConferenceProposal
    | ConferenceAnswer
    | ConferenceRecord
    | IncidentReport
    | Suspension
    | Resumption
    | ConferenceCancellation
)

BodyField = Literal[
    "notice",
    "amendment",
    "cancellation",
    "response",
    "timeout",
    "conference_proposal",
    "conference_answer",
    "conference_record",
    "incident_report",
    "suspension",
    "resumption",
    "conference_cancellation",
]

# The fields of the `body` oneof, in schema order, and the kind each one is (DCF-ENV-002).
BODY_KINDS: Final[dict[BodyField, MessageKind]] = {
    "notice": MessageKind.NOTICE,
    "amendment": MessageKind.AMENDMENT,
    "cancellation": MessageKind.CANCELLATION,
    "response": MessageKind.RESPONSE,
    "timeout": MessageKind.TIMEOUT,
    "conference_proposal": MessageKind.CONFERENCE_PROPOSAL,
    "conference_answer": MessageKind.CONFERENCE_ANSWER,
    "conference_record": MessageKind.CONFERENCE_RECORD,
    "incident_report": MessageKind.INCIDENT_REPORT,
    "suspension": MessageKind.SUSPENSION,
    "resumption": MessageKind.RESUMPTION,
    "conference_cancellation": MessageKind.CONFERENCE_CANCELLATION,
}

# Bodies that answer an earlier message, which in_reply_to names (DCF-ENV-011).
REPLY_BODIES: Final[frozenset[str]] = frozenset({"response", "timeout", "conference_answer"})
# Bodies that concern the channel itself, always sent in earnest (DCF-ENV-009).
OPERATIONAL_BODIES: Final[frozenset[str]] = frozenset({"suspension", "resumption"})


class _Header(Message):
    message_id: Identifier
    channel_id: Identifier
    sender: Identifier
    recipient: Identifier
    sequence: Sequence
    in_reply_to: OptionalIdentifier = ""
    created_time: UtcTime
    protocol_version: ProtocolVersion
    mode: Mode

    def _check_header(self, body_field: str) -> None:
        if self.recipient == self.sender:
            raise refuse("recipient", "must be another party than the sender")
        if body_field in REPLY_BODIES and not self.in_reply_to:
            raise refuse("in_reply_to", "must name the message a {body} answers", body=body_field)
        if body_field not in REPLY_BODIES and self.in_reply_to:
            raise refuse("in_reply_to", "must be empty: a {body} answers no message", body=body_field)
        if body_field in OPERATIONAL_BODIES and self.mode != Mode.OPERATIONAL:
            raise refuse("mode", "must be OPERATIONAL: a {body} concerns the channel itself", body=body_field)


class EnvelopeHeader(_Header):
    """An envelope's header and the name of its body, checked without the body itself.

    A receiver checks the header (DCF-ENV-015 step 4) before the channel, the
    sequence and the body (steps 5 to 11): this is the model of that first check.
    """

    # The name of the field set in the `body` oneof; None when none is.
    body: BodyField | None = None

    @model_validator(mode="after")
    def _header_rules(self) -> Self:
        if self.body is None:
            raise refuse("body", "exactly one body must be set, found none")
        self._check_header(self.body)
        return self

    @property
    def kind(self) -> MessageKind:
        """The kind of the body; response timers are set per kind."""
        assert self.body is not None  # the validator refuses a header without one
        return BODY_KINDS[self.body]


class Envelope(_Header):
    # oneof body
    notice: FlightNotice | None = None
    amendment: NoticeAmendment | None = None
    cancellation: NoticeCancellation | None = None
    response: OperationalResponse | None = None
    timeout: ResponseTimeout | None = None
    conference_proposal: ConferenceProposal | None = None
    conference_answer: ConferenceAnswer | None = None
    conference_record: ConferenceRecord | None = None
    incident_report: IncidentReport | None = None
    suspension: Suspension | None = None
    resumption: Resumption | None = None
    conference_cancellation: ConferenceCancellation | None = None

    @model_validator(mode="after")
    def _one_body_and_header_rules(self) -> Self:
        fields = self.__dict__  # one read, not one through pydantic's __getattr__ hook per body field
        present = [name for name in BODY_KINDS if fields[name] is not None]
        if len(present) != 1:
            raise refuse(
                "body",
                "exactly one body must be set, found {count}{names}",
                count=len(present),
                names=f": {', '.join(present)}" if present else "",
            )
        self._check_header(present[0])
        if self.timeout is not None and self.timeout.unanswered_message_id != self.in_reply_to:
            raise refuse("timeout.unanswered_message_id", "must equal the envelope's in_reply_to")
        return self

    @property
    def body_field(self) -> BodyField:
        """The name of the body field that is set, e.g. "notice"."""
        return next(name for name in BODY_KINDS if getattr(self, name) is not None)

    @property
    def filed_notice(self) -> FlightNotice | None:
        """The notice this envelope files: a new notice, or the new version of an amendment."""
        if self.notice is not None:
            return self.notice
        return self.amendment.notice if self.amendment is not None else None

    @property
    def body(self) -> Body:
        body: Body = getattr(self, self.body_field)
        return body

    @property
    def kind(self) -> MessageKind:
        """The kind of the body; response timers are set per kind."""
        return BODY_KINDS[self.body_field]


Ed25519Signature = Annotated[bytes, Field(min_length=ED25519_SIGNATURE_BYTES, max_length=ED25519_SIGNATURE_BYTES)]


class Signature(Message):
    key_id: Identifier
    signature: Ed25519Signature


class SignedPayload(Message):
    payload_type: PayloadType
    payload: bytes = Field(min_length=1, max_length=limits.MAX_MESSAGE_BYTES)
    signatures: list[Signature] = Field(default=[], max_length=limits.MAX_SIGNATURES)

    @model_validator(mode="after")
    def _one_signature_per_key(self) -> Self:
        refuse_repeats("signatures", (signature.key_id for signature in self.signatures), "key_id", key="key_id")
        return self


def _refuse_other_type(field: str, signed: SignedPayload, expected: str) -> None:
    if signed.payload_type != expected:
        raise refuse(f"{field}.payload_type", "must be {expected} here", expected=expected)


class EnvelopeRequest(Message):
    """A write: the sender's signed envelope (the request of every write RPC, and of Exchange and Watch)."""

    envelope: SignedPayload

    @model_validator(mode="after")
    def _carries_an_envelope(self) -> Self:
        _refuse_other_type("envelope", self.envelope, ENVELOPE_TYPE)
        return self


class AcknowledgementResponse(Message):
    """The answer to a write: the receiver's signed logical acknowledgement."""

    acknowledgement: SignedPayload

    @model_validator(mode="after")
    def _carries_an_acknowledgement(self) -> Self:
        _refuse_other_type("acknowledgement", self.acknowledgement, ACKNOWLEDGEMENT_TYPE)
        return self
