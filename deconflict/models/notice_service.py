"""Requests, responses and records of the NoticeService.

A write carries the sender's signed envelope and is answered with the receiver's
signed logical acknowledgement (deconflict.models.envelope.EnvelopeRequest and
AcknowledgementResponse), each checking that the signed payload is of the type
its field expects.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, StrictBool, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.envelope import AcknowledgementResponse, EnvelopeRequest, Mode
from deconflict.models.notice import FlightNotice, NoticeState
from deconflict.models.response import FINAL_RESPONSES, DialogueState, ResponseKind
from deconflict.models.types import Identifier, OptionalIdentifier, PageSize, PageToken, UtcTime

# The dialogue states in which a response is due, so response_due_time may be set (DCF-RSP-026).
_WAITING = frozenset({DialogueState.PENDING, DialogueState.STANDBY})


class SubmitNoticeRequest(EnvelopeRequest):
    pass


class SubmitNoticeResponse(AcknowledgementResponse):
    pass


class AmendNoticeRequest(EnvelopeRequest):
    pass


class AmendNoticeResponse(AcknowledgementResponse):
    pass


class CancelNoticeRequest(EnvelopeRequest):
    pass


class CancelNoticeResponse(AcknowledgementResponse):
    pass


class RespondToNoticeRequest(EnvelopeRequest):
    pass


class RespondToNoticeResponse(AcknowledgementResponse):
    pass


class NoticeRecord(Message):
    channel_id: Identifier
    notice: FlightNotice
    late: StrictBool = False
    received_time: UtcTime
    # None while no response to the current version has come (UNSPECIFIED on the wire).
    last_response: ResponseKind | None = None
    response_due_time: UtcTime | None = None
    # The dialogue about the current version (DCF-RSP-034), and the mode the notice was filed in (DCF-NTC-036).
    dialogue_state: DialogueState
    mode: Mode

    @model_validator(mode="after")
    def _dialogue_consistent(self) -> Self:
        # DCF-RSP-035: the dialogue state agrees with the last response, the due time and the notice's state.
        state = self.dialogue_state
        last = self.last_response
        if state == DialogueState.PENDING and last is not None:
            raise refuse("last_response", "must be unset while the dialogue is PENDING")
        if state == DialogueState.STANDBY and last != ResponseKind.STANDBY:
            raise refuse("last_response", "must be STANDBY while the dialogue is STANDBY")
        if state == DialogueState.ANSWERED and last not in FINAL_RESPONSES:
            raise refuse("last_response", "must be a final response (ACCEPT, UNABLE, ROGER, COUNTER) once ANSWERED")
        if state in (DialogueState.TIMED_OUT, DialogueState.SUPERSEDED) and last not in (None, ResponseKind.STANDBY):
            raise refuse("last_response", "must be unset or STANDBY: a final response would make it ANSWERED")
        if self.response_due_time is not None and state not in _WAITING:
            raise refuse("response_due_time", "is set only while the dialogue is PENDING or STANDBY")
        ended = self.notice.state != NoticeState.ACTIVE
        if ended and state not in (DialogueState.ANSWERED, DialogueState.SUPERSEDED):
            raise refuse(
                "dialogue_state", "must be ANSWERED or SUPERSEDED: the notice is {state}", state=self.notice.state.name
            )
        if not ended and state == DialogueState.SUPERSEDED:
            raise refuse("dialogue_state", "the current version of an ACTIVE notice is never SUPERSEDED")
        return self


class GetNoticeRequest(Message):
    channel_id: Identifier
    notice_id: Identifier


class GetNoticeResponse(Message):
    record: NoticeRecord


class ListNoticesRequest(Message):
    channel_id: Identifier
    owner: OptionalIdentifier = ""
    # Unique, so never longer than the enum.
    states: list[NoticeState] = Field(default=[], max_length=len(NoticeState))
    page_size: PageSize = 0
    page_token: PageToken = ""

    @model_validator(mode="after")
    def _no_repeated_state(self) -> Self:
        refuse_repeats("states", self.states, "state")
        return self

    @property
    def effective_page_size(self) -> int:
        """The page size asked for, with 0 meaning the default."""
        return self.page_size or limits.DEFAULT_PAGE_SIZE


class ListNoticesResponse(Message):
    records: list[NoticeRecord] = Field(default=[], max_length=limits.MAX_PAGE_SIZE)
    next_page_token: PageToken = ""
