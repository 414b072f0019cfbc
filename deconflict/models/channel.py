"""The channel itself: the bilateral agreement, hello, heartbeats, the checklist,
suspension and resumption, and incident reports.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from deconflict import limits
from deconflict.models.base import Message, refuse, refuse_repeats
from deconflict.models.geometry import Altitude, LatLng
from deconflict.models.notice import AircraftCategory, NoticeCategory, NoticeState
from deconflict.models.response import MessageKind
from deconflict.models.types import (
    Identifier,
    NonNegativeDuration,
    NonNegativeMetres,
    OptionalCallsign,
    OptionalIdentifier,
    OptionalTransponderCode,
    PositiveDuration,
    ProtoEnum,
    RequiredShortText,
    RequiredText,
    Sha256,
    ShortText,
    Uint64,
    UtcTime,
    Version,
)

ED25519_PUBLIC_KEY_BYTES = 32


class FrequencyUse(ProtoEnum):
    GUARD = 1
    PRIMARY = 2
    SECONDARY = 3


class Liveness(ProtoEnum):
    """What a node knows of its peer: UNKNOWN until first heard from after starting."""

    UNKNOWN = 1
    NORMAL = 2
    DOWN = 3


def _at_most(limit: timedelta) -> AfterValidator:
    def check(value: timedelta) -> timedelta:
        if value > limit:
            raise PydanticCustomError("deconflict", "must not be longer than {limit}", {"limit": str(limit)})
        return value

    return AfterValidator(check)


# HF to UHF: the guard frequencies 121500 and 243000 fall inside.
Kilohertz = Annotated[int, Field(strict=True, ge=limits.MIN_FREQUENCY_KHZ, le=limits.MAX_FREQUENCY_KHZ)]
ClockSkewTolerance = Annotated[PositiveDuration, _at_most(limits.MAX_CLOCK_SKEW_TOLERANCE)]
Ed25519PublicKey = Annotated[bytes, Field(min_length=ED25519_PUBLIC_KEY_BYTES, max_length=ED25519_PUBLIC_KEY_BYTES)]


class ResponseTimer(Message):
    kind: MessageKind
    response_time: PositiveDuration


class SeparationMinima(Message):
    lateral_m: NonNegativeMetres
    vertical_m: NonNegativeMetres
    time: NonNegativeDuration


class Frequency(Message):
    frequency_id: Identifier
    khz: Kilohertz
    use: FrequencyUse
    description: ShortText = ""


class PointOfContact(Message):
    contact_id: Identifier
    # One of the agreement's parties, checked by the Agreement.
    party: Identifier
    role: RequiredShortText
    address: ShortText = ""


class PriorityRule(Message):
    category: NoticeCategory
    overrides: list[NoticeCategory] = Field(min_length=1, max_length=len(NoticeCategory))

    @model_validator(mode="after")
    def _overrides_others(self) -> Self:
        refuse_repeats("overrides", self.overrides, "category")
        for index, category in enumerate(self.overrides):
            if category == self.category:
                raise refuse(f"overrides.{index}", "a category does not override itself")
        return self


class PartyKey(Message):
    key_id: Identifier
    # One of the agreement's parties, checked by the Agreement.
    party: Identifier
    ed25519_public_key: Ed25519PublicKey
    valid_from: UtcTime
    valid_until: UtcTime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise refuse("valid_until", "must be after valid_from")
        return self


class VersionRange(Message):
    min_major: Version
    max_major: Version

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_major < self.min_major:
            raise refuse("max_major", "must not be below min_major")
        return self

    def overlap(self, other: VersionRange) -> int | None:
        """The highest major version both ranges include, or None when they do not overlap."""
        highest = min(self.max_major, other.max_major)
        return highest if highest >= max(self.min_major, other.min_major) else None


def _refuse_outsiders(field: str, parties_named: list[str], parties: list[str]) -> None:
    for index, party in enumerate(parties_named):
        if party not in parties:
            raise refuse(f"{field}.{index}.party", "must be one of the agreement's parties")


class Agreement(Message):
    channel_id: Identifier
    version: Version
    parties: list[Identifier] = Field(min_length=2, max_length=2)
    effective_time: UtcTime
    minimum_lead_time: NonNegativeDuration
    response_timers: list[ResponseTimer] = Field(default_factory=list, max_length=len(MessageKind))
    separation: SeparationMinima
    clock_skew_tolerance: ClockSkewTolerance
    frequencies: list[Frequency] = Field(default_factory=list, max_length=limits.MAX_LIST)
    contacts: list[PointOfContact] = Field(default_factory=list, max_length=limits.MAX_LIST)
    priority_rules: list[PriorityRule] = Field(default_factory=list, max_length=len(NoticeCategory))
    keys: list[PartyKey] = Field(default_factory=list, max_length=limits.MAX_LIST)
    heartbeat_interval: PositiveDuration
    missed_heartbeats_down: int = Field(strict=True, ge=1, le=limits.MAX_MISSED_HEARTBEATS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.parties[0] == self.parties[1]:
            raise refuse("parties.1", "an agreement is between two distinct parties")
        refuse_repeats("response_timers", (t.kind for t in self.response_timers), "kind", key="kind")
        refuse_repeats("frequencies", (f.frequency_id for f in self.frequencies), "frequency_id", key="frequency_id")
        refuse_repeats("contacts", (c.contact_id for c in self.contacts), "contact_id", key="contact_id")
        refuse_repeats("priority_rules", (r.category for r in self.priority_rules), "category", key="category")
        refuse_repeats("keys", (k.key_id for k in self.keys), "key_id", key="key_id")
        _refuse_outsiders("contacts", [c.party for c in self.contacts], self.parties)
        _refuse_outsiders("keys", [k.party for k in self.keys], self.parties)
        return self

    def response_time(self, kind: MessageKind) -> timedelta | None:
        """How long the peer has to answer a message of `kind`; None when the agreement sets no timer."""
        for timer in self.response_timers:
            if timer.kind == kind:
                return timer.response_time
        return None

    def peer_of(self, party: str) -> str:
        """The other party of the agreement."""
        if party not in self.parties:
            raise ValueError(f"{party!r} is not a party to channel {self.channel_id!r}")
        return self.parties[1] if self.parties[0] == party else self.parties[0]


class Hello(Message):
    channel_id: Identifier
    party: Identifier
    supported_versions: VersionRange
    agreement_hash: Sha256
    agreement_version: Version
    sent_time: UtcTime
    implementation: ShortText = ""


class Heartbeat(Message):
    channel_id: Identifier
    party: Identifier
    sent_time: UtcTime
    last_sequence_sent: Uint64 = 0


class ChecklistEntry(Message):
    notice_id: Identifier
    owner: Identifier
    version: Version
    state: NoticeState


class Checklist(Message):
    channel_id: Identifier
    party: Identifier
    as_of_time: UtcTime
    entries: list[ChecklistEntry] = Field(default_factory=list, max_length=limits.MAX_CHECKLIST_ENTRIES)
    last_sequence_sent: Uint64 = 0
    last_sequence_received: Uint64 = 0

    @model_validator(mode="after")
    def _one_entry_per_notice(self) -> Self:
        refuse_repeats("entries", (e.notice_id for e in self.entries), "notice_id", key="notice_id")
        return self


class Suspension(Message):
    suspension_id: Identifier
    effective_time: UtcTime
    reason: RequiredShortText


class Resumption(Message):
    # The suspension it ends.
    suspension_id: Identifier
    effective_time: UtcTime
    reason: RequiredShortText


class InvolvedAircraft(Message):
    party: Identifier
    aircraft_category: AircraftCategory
    callsign: OptionalCallsign = ""
    transponder_code: OptionalTransponderCode = ""
    notice_id: OptionalIdentifier = ""


class IncidentReport(Message):
    incident_id: Identifier
    occurred_time: UtcTime
    position: LatLng
    altitude: Altitude
    aircraft: list[InvolvedAircraft] = Field(min_length=1, max_length=limits.MAX_INVOLVED_AIRCRAFT)
    # Closest approach observed; None when unknown (unset on the wire), never a guessed 0.
    closest_lateral_m: NonNegativeMetres | None = None
    closest_vertical_m: NonNegativeMetres | None = None
    narrative: RequiredText
