"""Video conferences: the proposal and its agenda, the answers, the record afterwards,
and the cancellation that calls one off.

A counter is a new revision of the proposal sent by the other party, so the
dialogue is proposal (revision 1) -> counter (2) -> counter (3) ... until a slot
is accepted or the conference is declined. Either party may cancel a conference
that is still proposed, countered or scheduled.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.types import (
    Identifier,
    OptionalIdentifier,
    PositiveDuration,
    ProtoEnum,
    RequiredShortText,
    RequiredText,
    Sha256,
    UtcTime,
    Version,
)


class ParticipantRole(ProtoEnum):
    HEAD_OF_DELEGATION = 1
    AIR_OPERATIONS = 2
    FLIGHT_SAFETY = 3
    AIR_TRAFFIC_CONTROL = 4
    LEGAL = 5
    INTERPRETER = 6
    TECHNICAL = 7


class Classification(ProtoEnum):
    UNCLASSIFIED = 1
    RESTRICTED = 2
    CONFIDENTIAL = 3
    SECRET = 4


class AgendaItemKind(ProtoEnum):
    INCIDENT_REVIEW = 1
    PROPOSAL_REVIEW = 2
    PROCEDURE_CHANGE = 3
    NOTICE_REVIEW = 4
    OTHER = 5


class ConferenceState(ProtoEnum):
    PROPOSED = 1
    COUNTERED = 2
    SCHEDULED = 3
    DECLINED = 4
    RECORDED = 5
    # Withdrawn or called off by either party before it was held: terminal.
    CANCELLED = 6


def _at_most_a_day(value: timedelta) -> timedelta:
    if value > limits.MAX_CONFERENCE_DURATION:
        raise PydanticCustomError(
            "deconflict", "must not be longer than {limit}", {"limit": str(limits.MAX_CONFERENCE_DURATION)}
        )
    return value


ConferenceDuration = Annotated[PositiveDuration, AfterValidator(_at_most_a_day)]


class DocumentRef(Message):
    document_id: Identifier
    title: RequiredShortText
    author: Identifier
    sha256: Sha256


class Participant(Message):
    party: Identifier
    role: ParticipantRole


class AgendaItem(Message):
    item_id: Identifier
    kind: AgendaItemKind
    title: RequiredShortText
    notice_ids: list[Identifier] = Field(default_factory=list, max_length=limits.MAX_LIST)
    incident_ids: list[Identifier] = Field(default_factory=list, max_length=limits.MAX_LIST)
    documents: list[DocumentRef] = Field(default_factory=list, max_length=limits.MAX_LIST)
    presenter: Participant
    allotted: PositiveDuration

    @model_validator(mode="after")
    def _references(self) -> Self:
        refuse_repeats("notice_ids", self.notice_ids, "notice id")
        refuse_repeats("incident_ids", self.incident_ids, "incident id")
        refuse_repeats("documents", (d.document_id for d in self.documents), "document_id", key="document_id")
        # An item of these kinds is about something: the agenda must say what.
        if self.kind == AgendaItemKind.INCIDENT_REVIEW and not self.incident_ids:
            raise refuse("incident_ids", "an incident review names at least one incident")
        if self.kind == AgendaItemKind.PROPOSAL_REVIEW and not self.documents:
            raise refuse("documents", "a proposal review names at least one document")
        return self


class TimeSlot(Message):
    start_time: UtcTime


class ConferenceProposal(Message):
    conference_id: Identifier
    revision: Version
    title: RequiredShortText
    candidate_slots: list[TimeSlot] = Field(min_length=1, max_length=limits.MAX_CANDIDATE_SLOTS)
    duration: ConferenceDuration
    participants: list[Participant] = Field(min_length=1, max_length=limits.MAX_LIST)
    classification: Classification
    agenda: list[AgendaItem] = Field(default_factory=list, max_length=limits.MAX_AGENDA_ITEMS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        refuse_repeats("candidate_slots", (s.start_time for s in self.candidate_slots), "start time")
        refuse_repeats("participants", ((p.party, p.role) for p in self.participants), "party and role")
        refuse_repeats("agenda", (item.item_id for item in self.agenda), "item_id", key="item_id")
        allotted = sum((item.allotted for item in self.agenda), timedelta(0))
        if allotted > self.duration:
            raise refuse(
                "agenda",
                "the time allotted to the items ({allotted}) exceeds the conference duration ({duration})",
                allotted=str(allotted),
                duration=str(self.duration),
            )
        return self

    def has_slot(self, slot: TimeSlot) -> bool:
        """Whether `slot` is one of the candidate slots."""
        return any(candidate.start_time == slot.start_time for candidate in self.candidate_slots)


class SlotAcceptance(Message):
    slot: TimeSlot


class ConferenceDecline(Message):
    reason: RequiredShortText


class ConferenceAnswer(Message):
    conference_id: Identifier
    revision: Version
    accept: SlotAcceptance | None = None
    counter: ConferenceProposal | None = None
    decline: ConferenceDecline | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        if sum(part is not None for part in (self.accept, self.counter, self.decline)) != 1:
            raise refuse("answer", "exactly one of accept, counter and decline must be set")
        if self.counter is not None:
            if self.counter.conference_id != self.conference_id:
                raise refuse("counter.conference_id", "a counter keeps the conference_id it answers")
            if self.counter.revision != self.revision + 1:
                raise refuse(
                    "counter.revision",
                    "a counter to revision {revision} must be revision {expected}",
                    revision=self.revision,
                    expected=self.revision + 1,
                )
        return self


class ConferenceCancellation(Message):
    """Withdraws a proposal or calls off a scheduled conference: it ends (CANCELLED)."""

    conference_id: Identifier
    reason: RequiredShortText


class Decision(Message):
    decision_id: Identifier
    item_id: OptionalIdentifier = ""
    text: RequiredText


class ActionItem(Message):
    action_id: Identifier
    owner: Identifier
    owner_role: ParticipantRole
    description: RequiredText
    due_time: UtcTime
    item_id: OptionalIdentifier = ""


class ConferenceRecord(Message):
    conference_id: Identifier
    start_time: UtcTime
    end_time: UtcTime
    attendees: list[Participant] = Field(default_factory=list, max_length=limits.MAX_LIST)
    decisions: list[Decision] = Field(default_factory=list, max_length=limits.MAX_LIST)
    action_items: list[ActionItem] = Field(default_factory=list, max_length=limits.MAX_LIST)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_time <= self.start_time:
            raise refuse("end_time", "must be after start_time")
        refuse_repeats("decisions", (d.decision_id for d in self.decisions), "decision_id", key="decision_id")
        refuse_repeats("action_items", (a.action_id for a in self.action_items), "action_id", key="action_id")
        return self
