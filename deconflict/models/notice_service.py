"""Requests, responses and records of the NoticeService.

A write carries the sender's signed envelope and is answered with the receiver's
signed logical acknowledgement; each model checks that the signed payload is of
the type its field expects.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StrictBool, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE, ENVELOPE_TYPE, SignedPayload
from deconflict.models.notice import FlightNotice, NoticeState
from deconflict.models.response import ResponseKind
from deconflict.models.types import Identifier, OptionalIdentifier, ShortText, UtcTime

PageSize = Annotated[int, Field(strict=True, ge=0, le=limits.MAX_PAGE_SIZE)]
PageToken = ShortText


def _refuse_other_type(field: str, signed: SignedPayload, expected: str) -> None:
    if signed.payload_type != expected:
        raise refuse(f"{field}.payload_type", "must be {expected} here", expected=expected)


class EnvelopeRequest(Message):
    """A write: the sender's signed envelope (shared by every service's write requests)."""

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


# Earlier private names, still imported by the other services' models.
_EnvelopeRequest = EnvelopeRequest
_AcknowledgementResponse = AcknowledgementResponse


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
