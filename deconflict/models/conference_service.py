"""Requests, responses and the conference status of the ConferenceService.

Writes carry the sender's signed envelope and are answered with the receiver's
signed logical acknowledgement, as NoticeService writes are.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse
from deconflict.models.conference import ConferenceProposal, ConferenceRecord, ConferenceState, TimeSlot
from deconflict.models.envelope import AcknowledgementResponse, EnvelopeRequest
from deconflict.models.types import Identifier, PageSize, PageToken

# The states in which a slot has been agreed, so scheduled_slot is set.
_SCHEDULED_STATES = frozenset({ConferenceState.SCHEDULED, ConferenceState.RECORDED})
# The states in which no slot was ever agreed, so scheduled_slot is unset. A CANCELLED
# conference keeps the slot it had when it was called off, or none when it was still open.
_UNSCHEDULED_STATES = frozenset({ConferenceState.PROPOSED, ConferenceState.COUNTERED, ConferenceState.DECLINED})


class ProposeConferenceRequest(EnvelopeRequest):
    pass


class ProposeConferenceResponse(AcknowledgementResponse):
    pass


class AnswerConferenceRequest(EnvelopeRequest):
    pass


class AnswerConferenceResponse(AcknowledgementResponse):
    pass


class RecordConferenceRequest(EnvelopeRequest):
    pass


class RecordConferenceResponse(AcknowledgementResponse):
    pass


class CancelConferenceRequest(EnvelopeRequest):
    pass


class CancelConferenceResponse(AcknowledgementResponse):
    pass


class ConferenceStatus(Message):
    channel_id: Identifier
    state: ConferenceState
    # The party that sent the latest revision.
    proposer: Identifier
    proposal: ConferenceProposal
    scheduled_slot: TimeSlot | None = None
    record: ConferenceRecord | None = None

    @model_validator(mode="after")
    def _consistent_with_state(self) -> Self:
        # PROPOSED is revision 1; every counter adds one, so COUNTERED is 2 or more.
        if self.state == ConferenceState.PROPOSED and self.proposal.revision != 1:
            raise refuse("proposal.revision", "a conference still PROPOSED is at revision 1")
        if self.state == ConferenceState.COUNTERED and self.proposal.revision < 2:
            raise refuse("proposal.revision", "a COUNTERED conference is at revision 2 or later")
        if self.scheduled_slot is None and self.state in _SCHEDULED_STATES:
            raise refuse("scheduled_slot", "is required when the conference is {state}", state=self.state.name)
        if self.scheduled_slot is not None and self.state in _UNSCHEDULED_STATES:
            raise refuse(
                "scheduled_slot", "must be unset: no slot was agreed for a {state} conference", state=self.state.name
            )
        if self.scheduled_slot is not None and not self.proposal.has_slot(self.scheduled_slot):
            raise refuse("scheduled_slot", "must be one of the proposal's candidate slots")
        if (self.record is not None) != (self.state == ConferenceState.RECORDED):
            raise refuse("record", "is set exactly when the conference is RECORDED")
        if self.record is not None and self.record.conference_id != self.proposal.conference_id:
            raise refuse("record.conference_id", "must be the proposal's conference_id")
        return self


class GetConferenceRequest(Message):
    channel_id: Identifier
    conference_id: Identifier


class GetConferenceResponse(Message):
    status: ConferenceStatus


class ListConferencesRequest(Message):
    channel_id: Identifier
    page_size: PageSize = 0
    page_token: PageToken = ""

    @property
    def effective_page_size(self) -> int:
        """The page size asked for, with 0 meaning the default."""
        return self.page_size or limits.DEFAULT_PAGE_SIZE


class ListConferencesResponse(Message):
    # Oldest first.
    conferences: list[ConferenceStatus] = Field(default_factory=list, max_length=limits.MAX_PAGE_SIZE)
    next_page_token: PageToken = ""
