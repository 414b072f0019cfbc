"""Error details carried in a refusal: the field at fault, a stale version, a sequence gap."""

from __future__ import annotations

import re
from typing import Annotated, Final, Self

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from deconflict import limits
from deconflict.models.base import Message, refuse
from deconflict.models.types import Identifier, OptionalIdentifier, Sequence, ShortText, Text, Version

# A google.rpc.Code other than OK (0): CANCELLED (1) to UNAUTHENTICATED (16). A refusal is never OK.
RefusalCode = Annotated[int, Field(strict=True, ge=1, le=16)]

# The google.rpc.Code numbers a refusal's details depend on.
INVALID_ARGUMENT: Final = 3
FAILED_PRECONDITION: Final = 9
ABORTED: Final = 10

# The reasons of docs/spec/09-errors.md (DCF-ERR-006), each with the google.rpc.Code it goes with.
REASON_CODES: Final[dict[str, int]] = {
    "HELLO_REQUIRED": FAILED_PRECONDITION,
    "VERSION_MISMATCH": FAILED_PRECONDITION,
    "AGREEMENT_MISMATCH": FAILED_PRECONDITION,
    "CLOCK_SKEW": FAILED_PRECONDITION,
    "SEQUENCE_GAP": FAILED_PRECONDITION,
    "CHANNEL_SUSPENDED": FAILED_PRECONDITION,
    "ALREADY_SUSPENDED": FAILED_PRECONDITION,
    "NOT_SUSPENDED": FAILED_PRECONDITION,
    "SUSPENSION_MISMATCH": FAILED_PRECONDITION,
    "NOTICE_ENDED": FAILED_PRECONDITION,
    "VERSION_NOT_CURRENT": FAILED_PRECONDITION,
    "DIALOGUE_CLOSED": FAILED_PRECONDITION,
    "TIMEOUT_EXISTS": FAILED_PRECONDITION,
    "CONFERENCE_NOT_OPEN": FAILED_PRECONDITION,
    "REVISION_NOT_LATEST": FAILED_PRECONDITION,
    "SLOT_NOT_CANDIDATE": FAILED_PRECONDITION,
    "CONFERENCE_NOT_SCHEDULED": FAILED_PRECONDITION,
    "CONFERENCE_ENDED": FAILED_PRECONDITION,
    "STALE_VERSION": ABORTED,
    "MESSAGE_ID_REUSED": 6,
    "SEQUENCE_REPLAYED": 6,
    "NOTICE_EXISTS": 6,
    "CONFERENCE_EXISTS": 6,
    "INCIDENT_EXISTS": 6,
    "NOT_PEER": 7,
    "NOT_OWNER": 7,
    "OWN_NOTICE": 7,
    "OWN_REVISION": 7,
    "BAD_SIGNATURE": 16,
    "STORAGE_UNAVAILABLE": 14,
}

_REASON = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")


def _reason_form(value: str) -> str:
    # google.rpc.ErrorInfo.reason: UPPER_SNAKE_CASE. A reason a newer minor version adds is accepted.
    if value and not _REASON.fullmatch(value):
        raise PydanticCustomError("deconflict", "a reason is UPPER_SNAKE_CASE, as STALE_VERSION")
    return value


Reason = Annotated[ShortText, AfterValidator(_reason_form)]
"""The machine-readable reason of a refusal, as google.rpc.ErrorInfo.reason; empty when there is none."""


class FieldViolation(Message):
    field: ShortText
    description: Text


class StaleVersion(Message):
    notice_id: Identifier
    quoted_version: Version
    current_version: Version

    @model_validator(mode="after")
    def _differs(self) -> Self:
        if self.quoted_version == self.current_version:
            raise refuse("quoted_version", "a stale version differs from the current version")
        return self


class SequenceGap(Message):
    expected: Sequence
    received: Sequence

    @model_validator(mode="after")
    def _skips_ahead(self) -> Self:
        if self.received <= self.expected:
            raise refuse("received", "a gap is a sequence past the one expected")
        return self


class MessageRefusal(Message):
    # Empty when the refused message could not be read far enough to know its id.
    message_id: OptionalIdentifier = ""
    code: RefusalCode
    message: Text = ""
    violations: list[FieldViolation] = Field(default=[], max_length=limits.MAX_LIST)
    # What the unary RPC's google.rpc.ErrorInfo and details would carry (DCF-STR-011 to DCF-STR-013).
    reason: Reason = ""
    stale_version: StaleVersion | None = None
    sequence_gap: SequenceGap | None = None

    @model_validator(mode="after")
    def _details_of_the_code(self) -> Self:
        if self.reason and self.code == INVALID_ARGUMENT:
            raise refuse("reason", "must be empty for INVALID_ARGUMENT: the violations say what is wrong")
        expected = REASON_CODES.get(self.reason)
        if expected is not None and expected != self.code:
            raise refuse(
                "reason",
                "reason {reason} goes with code {expected}, not {code}",
                reason=self.reason,
                expected=expected,
                code=self.code,
            )
        if self.stale_version is not None and self.code != ABORTED:
            raise refuse("stale_version", "only an ABORTED ({code}) refusal carries stale_version", code=ABORTED)
        if self.sequence_gap is not None and self.code != FAILED_PRECONDITION:
            raise refuse(
                "sequence_gap",
                "only a FAILED_PRECONDITION ({code}) refusal carries sequence_gap",
                code=FAILED_PRECONDITION,
            )
        _refuse_loose_detail(self.reason, "STALE_VERSION", self.stale_version, "stale_version")
        _refuse_loose_detail(self.reason, "SEQUENCE_GAP", self.sequence_gap, "sequence_gap")
        return self


def _refuse_loose_detail(reason: str, detail_reason: str, detail: Message | None, field: str) -> None:
    """A detail comes with its reason, and the reason with its detail."""
    if detail is not None and reason != detail_reason:
        raise refuse("reason", "must be {expected} when {detail} is set", expected=detail_reason, detail=field)
    if detail is None and reason == detail_reason:
        raise refuse(field, "is required with reason {reason}", reason=reason)
