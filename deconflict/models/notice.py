"""Flight notices: where and when one party's aircraft fly, and how a notice is amended or ended.

Safety data only: by design there is no field for targets, weapons or mission purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.geometry import Volume4D
from deconflict.models.types import (
    Callsign,
    Identifier,
    OptionalIdentifier,
    ProtoEnum,
    ShortText,
    Text,
    TransponderCode,
    Version,
)


class NoticeState(ProtoEnum):
    ACTIVE = 1
    CANCELLED = 2
    EXPIRED = 3


class AircraftCategory(ProtoEnum):
    FIXED_WING = 1
    ROTARY_WING = 2
    UNMANNED = 3
    TRANSPORT = 4
    TANKER = 5
    SURVEILLANCE = 6


class NoticeCategory(ProtoEnum):
    ROUTINE = 1
    EMERGENCY = 2
    MEDEVAC = 3
    HUMANITARIAN = 4


AircraftCount = Annotated[int, Field(strict=True, ge=1, le=limits.MAX_AIRCRAFT_COUNT)]


class FlightNotice(Message):
    notice_id: Identifier
    version: Version
    state: NoticeState
    owner: Identifier
    volumes: list[Volume4D] = Field(min_length=1, max_length=limits.MAX_VOLUMES)
    aircraft_category: AircraftCategory
    aircraft_count: AircraftCount
    callsigns: list[Callsign] = Field(default=[], max_length=limits.MAX_NOTICE_CALLSIGNS)
    transponder_codes: list[TransponderCode] = Field(default=[], max_length=limits.MAX_NOTICE_TRANSPONDER_CODES)
    frequency_ids: list[Identifier] = Field(default=[], max_length=limits.MAX_NOTICE_FREQUENCIES)
    contact_id: OptionalIdentifier = ""
    category: NoticeCategory
    remarks: Text = ""

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        refuse_repeats("callsigns", self.callsigns, "callsign")
        refuse_repeats("transponder_codes", self.transponder_codes, "transponder code")
        refuse_repeats("frequency_ids", self.frequency_ids, "frequency id")
        return self

    @property
    def first_start(self) -> datetime:
        """When the earliest volume starts."""
        return min(volume.time_start for volume in self.volumes)

    @property
    def last_end(self) -> datetime:
        """When the latest volume ends: after it the notice has expired."""
        return max(volume.time_end for volume in self.volumes)


class NoticeAmendment(Message):
    replaces_version: Version
    notice: FlightNotice

    @model_validator(mode="after")
    def _next_active_version(self) -> Self:
        # Compare-and-swap: the new content is exactly one version past the one it replaces.
        if self.notice.version != self.replaces_version + 1:
            raise refuse(
                "notice.version",
                "must be replaces_version + 1 ({expected})",
                expected=self.replaces_version + 1,
            )
        if self.notice.state != NoticeState.ACTIVE:
            raise refuse("notice.state", "an amended notice must be ACTIVE: cancel a notice to end it")
        return self


class NoticeCancellation(Message):
    notice_id: Identifier
    version: Version
    reason: ShortText = ""
