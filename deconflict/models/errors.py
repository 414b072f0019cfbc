"""Error details carried in a refusal: the field at fault, a stale version, a sequence gap."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse
from deconflict.models.types import Identifier, OptionalIdentifier, Sequence, ShortText, Text, Version

# A google.rpc.Code other than OK (0): CANCELLED (1) to UNAUTHENTICATED (16). A refusal is never OK.
RefusalCode = Annotated[int, Field(strict=True, ge=1, le=16)]


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
