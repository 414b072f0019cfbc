"""The two levels of answer, never merged: the logical acknowledgement (stored) and the
operational response (ACCEPT / UNABLE / STANDBY / ROGER / COUNTER), and the timeout
sent when a required response does not come, since silence is never consent.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StrictBool, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.geometry import Volume4D
from deconflict.models.types import (
    Count,
    Identifier,
    NonNegativeDuration,
    NonNegativeMetres,
    OptionalIdentifier,
    ProtoEnum,
    Sequence,
    Sha256,
    ShortText,
    Text,
    Uint64,
    UtcTime,
    Version,
)


class MessageKind(ProtoEnum):
    NOTICE = 1
    AMENDMENT = 2
    CANCELLATION = 3
    RESPONSE = 4
    TIMEOUT = 5
    CONFERENCE_PROPOSAL = 6
    CONFERENCE_ANSWER = 7
    CONFERENCE_RECORD = 8
    INCIDENT_REPORT = 9
    SUSPENSION = 10
    RESUMPTION = 11
    CONFERENCE_CANCELLATION = 12


class ResponseKind(ProtoEnum):
    ACCEPT = 1
    UNABLE = 2
    STANDBY = 3
    ROGER = 4
    COUNTER = 5


class DialogueState(ProtoEnum):
    """Where the dialogue about one notice version (or one conference revision) stands.

    PENDING, STANDBY and TIMED_OUT are open; ANSWERED (a final response stored) and
    SUPERSEDED (a newer version stored, or the notice ended) are closed.
    """

    PENDING = 1
    STANDBY = 2
    ANSWERED = 3
    TIMED_OUT = 4
    SUPERSEDED = 5


class UnableReason(ProtoEnum):
    CONFLICT = 1
    INSUFFICIENT_LEAD_TIME = 2
    UNKNOWN_REFERENCE = 3
    AIRSPACE_UNAVAILABLE = 4
    CHANNEL_SUSPENDED = 5
    OTHER = 6


# The kinds of message that require an answer (DCF-RSP-001), so the only ones that can time out.
AWAITING_ANSWER = frozenset({MessageKind.NOTICE, MessageKind.AMENDMENT, MessageKind.CONFERENCE_PROPOSAL})
# The final response kinds, which close a dialogue (DCF-RSP-004); STANDBY keeps it open.
FINAL_RESPONSES = frozenset({ResponseKind.ACCEPT, ResponseKind.UNABLE, ResponseKind.ROGER, ResponseKind.COUNTER})

VolumeIndex = Annotated[int, Field(strict=True, ge=0, lt=limits.MAX_VOLUMES)]


def refuse_loose_notice_version(notice_id: str, notice_version: int) -> None:
    """A notice reference is both fields or neither: version 0 means "no notice"."""
    if notice_id and notice_version == 0:
        raise refuse("notice_version", "must be at least 1 when notice_id is set")
    if not notice_id and notice_version != 0:
        raise refuse("notice_version", "must be 0 when notice_id is empty")


class LogicalAcknowledgement(Message):
    channel_id: Identifier
    acknowledging_party: Identifier
    message_id: Identifier
    message_sender: Identifier
    message_sequence: Sequence
    payload_sha256: Sha256
    journal_position: Uint64
    stored_time: UtcTime
    notice_id: OptionalIdentifier = ""
    notice_version: Count = 0
    late: StrictBool = False
    response_due_time: UtcTime | None = None

    @model_validator(mode="after")
    def _notice_reference(self) -> Self:
        refuse_loose_notice_version(self.notice_id, self.notice_version)
        return self


class ConflictingNotice(Message):
    notice_id: Identifier
    version: Version
    owner: Identifier
    volume_index: VolumeIndex
    other_volume_index: VolumeIndex
    lateral_distance_m: NonNegativeMetres
    vertical_distance_m: NonNegativeMetres


class OperationalResponse(Message):
    notice_id: Identifier
    notice_version: Version
    kind: ResponseKind
    # Unique, so never longer than the enum.
    reasons: list[UnableReason] = Field(default=[], max_length=len(UnableReason))
    offending_field: ShortText = ""
    conflicts: list[ConflictingNotice] = Field(default=[], max_length=limits.MAX_LIST)
    counter_volumes: list[Volume4D] = Field(default=[], max_length=limits.MAX_VOLUMES)
    remarks: Text = ""

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        unable = self.kind == ResponseKind.UNABLE
        if unable and not self.reasons:
            raise refuse("reasons", "UNABLE needs at least one reason")
        if not unable:
            for name in ("reasons", "offending_field", "conflicts"):
                if getattr(self, name):
                    raise refuse(name, "only an UNABLE response carries {name}", name=name)
        refuse_repeats("reasons", self.reasons, "reason")
        conflict = UnableReason.CONFLICT in self.reasons
        # A conflict with a third party's notice is reported without an entry, in the remarks (DCF-CFL-019).
        if conflict and not self.conflicts and not self.remarks.strip():
            raise refuse(
                "conflicts",
                "reason CONFLICT needs a conflicting notice,"
                " or remarks saying that a notice on another channel is in the way",
            )
        if unable and not conflict and self.conflicts:
            raise refuse("conflicts", "only reason CONFLICT carries conflicting notices")
        if unable and UnableReason.OTHER in self.reasons and not self.remarks.strip():
            raise refuse("remarks", "must say why when a reason is OTHER")
        counter = self.kind == ResponseKind.COUNTER
        if counter and not self.counter_volumes:
            raise refuse("counter_volumes", "COUNTER needs at least one volume")
        if not counter and self.counter_volumes:
            raise refuse("counter_volumes", "only a COUNTER response carries counter_volumes")
        return self


class ResponseTimeout(Message):
    unanswered_message_id: Identifier
    unanswered_kind: MessageKind
    notice_id: OptionalIdentifier = ""
    notice_version: Count = 0
    due_time: UtcTime
    waited: NonNegativeDuration
    # The conference and revision of an unanswered proposal or counter; empty and 0 otherwise.
    conference_id: OptionalIdentifier = ""
    conference_revision: Count = 0

    @model_validator(mode="after")
    def _what_went_unanswered(self) -> Self:
        # Only these kinds wait for an answer: a notice or amendment names its notice version and no
        # conference (DCF-TMR-009), a proposal its conference revision and no notice (DCF-TMR-018).
        if self.unanswered_kind not in AWAITING_ANSWER:
            raise refuse(
                "unanswered_kind", "must be NOTICE, AMENDMENT or CONFERENCE_PROPOSAL: no other kind is answered"
            )
        if self.unanswered_kind == MessageKind.CONFERENCE_PROPOSAL:
            if self.notice_id:
                raise refuse("notice_id", "must be empty for a conference proposal")
            if self.notice_version:
                raise refuse("notice_version", "must be 0 for a conference proposal")
            if not self.conference_id:
                raise refuse("conference_id", "must name the conference of the unanswered proposal")
            if self.conference_revision == 0:
                raise refuse("conference_revision", "must be at least 1 for a conference proposal")
            return self
        kind = self.unanswered_kind.name
        if not self.notice_id:
            raise refuse("notice_id", "must name the notice of the unanswered {kind}", kind=kind)
        refuse_loose_notice_version(self.notice_id, self.notice_version)
        if self.conference_id:
            raise refuse("conference_id", "must be empty for a {kind}", kind=kind)
        if self.conference_revision:
            raise refuse("conference_revision", "must be 0 for a {kind}", kind=kind)
        return self
