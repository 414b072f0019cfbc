"""Strategies for valid channel messages: the agreement, hello, heartbeat, checklist,
suspension, resumption and incident report; and one fixed example of each.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from deconflict import limits
from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.models.channel import (
    Agreement,
    Checklist,
    ChecklistEntry,
    Frequency,
    FrequencyUse,
    Heartbeat,
    Hello,
    IncidentReport,
    InvolvedAircraft,
    PartyKey,
    PointOfContact,
    PriorityRule,
    ResponseTimer,
    Resumption,
    SeparationMinima,
    Suspension,
    VersionRange,
)
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng
from deconflict.models.notice import AircraftCategory, NoticeCategory, NoticeState
from deconflict.models.response import MessageKind
from tests.strategies.conference import HOUR, MICROSECOND, T0, identifiers, sha256s, texts
from tests.strategies.geometry import altitudes, durations, lat_lngs, utc_times

UINT32 = 2**32 - 1
UINT64 = 2**64 - 1


def _metres() -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


def _uint64s() -> st.SearchStrategy[int]:
    return st.integers(0, UINT64)


def response_timers() -> st.SearchStrategy[ResponseTimer]:
    return st.builds(ResponseTimer, kind=st.sampled_from(MessageKind), response_time=durations())


def separation_minima() -> st.SearchStrategy[SeparationMinima]:
    return st.builds(
        SeparationMinima, lateral_m=_metres(), vertical_m=_metres(), time=durations(timedelta(0), timedelta(hours=6))
    )


def frequencies() -> st.SearchStrategy[Frequency]:
    return st.builds(
        Frequency,
        frequency_id=identifiers(),
        khz=st.integers(limits.MIN_FREQUENCY_KHZ, limits.MAX_FREQUENCY_KHZ),
        use=st.sampled_from(FrequencyUse),
        description=texts(0),
    )


@st.composite
def priority_rules(draw: st.DrawFn, category: NoticeCategory | None = None) -> PriorityRule:
    chosen = draw(st.sampled_from(NoticeCategory)) if category is None else category
    others = [c for c in NoticeCategory if c != chosen]
    return PriorityRule(category=chosen, overrides=draw(st.lists(st.sampled_from(others), min_size=1, unique=True)))


@st.composite
def party_keys(draw: st.DrawFn, parties: list[str]) -> PartyKey:
    valid_from = draw(utc_times())
    valid_until = draw(st.one_of(st.none(), durations(MICROSECOND).map(lambda span: valid_from + span)))
    return PartyKey(
        key_id=draw(identifiers()),
        party=draw(st.sampled_from(parties)),
        ed25519_public_key=draw(st.binary(min_size=32, max_size=32)),
        valid_from=valid_from,
        valid_until=valid_until,
    )


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    parties = draw(st.lists(identifiers(), min_size=2, max_size=2, unique=True))
    contacts = st.builds(
        PointOfContact, contact_id=identifiers(), party=st.sampled_from(parties), role=texts(), address=texts(0)
    )
    categories = draw(st.lists(st.sampled_from(NoticeCategory), max_size=len(NoticeCategory), unique=True))
    return Agreement(
        channel_id=draw(identifiers()),
        version=draw(st.integers(1, UINT32)),
        parties=parties,
        effective_time=draw(utc_times()),
        minimum_lead_time=draw(durations(timedelta(0), timedelta(days=7))),
        response_timers=draw(st.lists(response_timers(), max_size=4, unique_by=lambda t: t.kind)),
        separation=draw(separation_minima()),
        clock_skew_tolerance=draw(durations(MICROSECOND, limits.MAX_CLOCK_SKEW_TOLERANCE)),
        frequencies=draw(st.lists(frequencies(), max_size=4, unique_by=lambda f: f.frequency_id)),
        contacts=draw(st.lists(contacts, max_size=4, unique_by=lambda c: c.contact_id)),
        priority_rules=[draw(priority_rules(category)) for category in categories],
        keys=draw(st.lists(party_keys(parties), max_size=4, unique_by=lambda k: k.key_id)),
        heartbeat_interval=draw(durations(MICROSECOND, timedelta(minutes=10))),
        missed_heartbeats_down=draw(st.integers(1, limits.MAX_MISSED_HEARTBEATS)),
    )


@st.composite
def version_ranges(draw: st.DrawFn) -> VersionRange:
    low = draw(st.integers(1, UINT32))
    return VersionRange(min_major=low, max_major=draw(st.integers(low, UINT32)))


def hellos() -> st.SearchStrategy[Hello]:
    return st.builds(
        Hello,
        channel_id=identifiers(),
        party=identifiers(),
        supported_versions=version_ranges(),
        agreement_hash=sha256s(),
        agreement_version=st.integers(1, UINT32),
        sent_time=utc_times(),
        implementation=texts(0),
    )


def heartbeats() -> st.SearchStrategy[Heartbeat]:
    return st.builds(
        Heartbeat, channel_id=identifiers(), party=identifiers(), sent_time=utc_times(), last_sequence_sent=_uint64s()
    )


def checklist_entries() -> st.SearchStrategy[ChecklistEntry]:
    return st.builds(
        ChecklistEntry,
        notice_id=identifiers(),
        owner=identifiers(),
        version=st.integers(1, UINT32),
        state=st.sampled_from(NoticeState),
    )


def checklists() -> st.SearchStrategy[Checklist]:
    return st.builds(
        Checklist,
        channel_id=identifiers(),
        party=identifiers(),
        as_of_time=utc_times(),
        entries=st.lists(checklist_entries(), max_size=8, unique_by=lambda e: e.notice_id),
        last_sequence_sent=_uint64s(),
        last_sequence_received=_uint64s(),
    )


def suspensions() -> st.SearchStrategy[Suspension]:
    return st.builds(Suspension, suspension_id=identifiers(), effective_time=utc_times(), reason=texts())


def resumptions() -> st.SearchStrategy[Resumption]:
    return st.builds(Resumption, suspension_id=identifiers(), effective_time=utc_times(), reason=texts())


def involved_aircraft() -> st.SearchStrategy[InvolvedAircraft]:
    return st.builds(
        InvolvedAircraft,
        party=identifiers(),
        aircraft_category=st.sampled_from(AircraftCategory),
        callsign=st.from_regex(rf"[A-Z0-9]{{0,{limits.MAX_CALLSIGN}}}", fullmatch=True),
        transponder_code=st.one_of(st.just(""), st.from_regex(r"[0-7]{4}", fullmatch=True)),
        notice_id=st.one_of(st.just(""), identifiers()),
    )


def incident_reports() -> st.SearchStrategy[IncidentReport]:
    return st.builds(
        IncidentReport,
        incident_id=identifiers(),
        occurred_time=utc_times(),
        position=lat_lngs(),
        altitude=altitudes(),
        aircraft=st.lists(involved_aircraft(), min_size=1, max_size=limits.MAX_INVOLVED_AIRCRAFT),
        # Unset when unknown (DCF-INC-008).
        closest_lateral_m=st.none() | _metres(),
        closest_vertical_m=st.none() | _metres(),
        narrative=texts(max_size=400),
    )


# Fixed examples: one valid message of each kind, for the tables of invalid inputs.

US, THEM = "party-a", "party-b"


def example_agreement() -> Agreement:
    return Agreement(
        channel_id="chan-1",
        version=3,
        parties=[US, THEM],
        effective_time=T0,
        minimum_lead_time=HOUR,
        response_timers=[
            ResponseTimer(kind=MessageKind.NOTICE, response_time=timedelta(minutes=15)),
            ResponseTimer(kind=MessageKind.CONFERENCE_PROPOSAL, response_time=timedelta(days=2)),
        ],
        separation=SeparationMinima(lateral_m=9260.0, vertical_m=300.0, time=timedelta(minutes=10)),
        clock_skew_tolerance=timedelta(seconds=30),
        frequencies=[
            Frequency(frequency_id="guard-vhf", khz=121_500, use=FrequencyUse.GUARD, description="121.5 MHz"),
            Frequency(frequency_id="guard-uhf", khz=243_000, use=FrequencyUse.GUARD, description="243.0 MHz"),
        ],
        contacts=[
            PointOfContact(contact_id="poc-a", party=US, role="24-hour line", address="+1 555 0100"),
            PointOfContact(contact_id="poc-b", party=THEM, role="24-hour line", address="+7 495 000 0000"),
        ],
        priority_rules=[
            PriorityRule(
                category=NoticeCategory.EMERGENCY, overrides=[NoticeCategory.ROUTINE, NoticeCategory.HUMANITARIAN]
            )
        ],
        keys=[
            PartyKey(key_id="key-a", party=US, ed25519_public_key=bytes(range(32)), valid_from=T0),
            PartyKey(
                key_id="key-b",
                party=THEM,
                ed25519_public_key=bytes(range(32, 64)),
                valid_from=T0,
                valid_until=T0 + timedelta(days=365),
            ),
        ],
        heartbeat_interval=timedelta(seconds=30),
        missed_heartbeats_down=3,
    )


def example_hello() -> Hello:
    return Hello(
        channel_id="chan-1",
        party=US,
        supported_versions=VersionRange(min_major=1, max_major=2),
        agreement_hash=agreement_hash(agreement_bytes(example_agreement())),
        agreement_version=3,
        sent_time=T0,
        implementation="deconflict 0.1.0",
    )


def example_heartbeat() -> Heartbeat:
    return Heartbeat(channel_id="chan-1", party=US, sent_time=T0, last_sequence_sent=41)


def example_checklist() -> Checklist:
    return Checklist(
        channel_id="chan-1",
        party=US,
        as_of_time=T0,
        entries=[
            ChecklistEntry(notice_id="n-1", owner=US, version=2, state=NoticeState.ACTIVE),
            ChecklistEntry(notice_id="n-2", owner=THEM, version=1, state=NoticeState.CANCELLED),
        ],
        last_sequence_sent=41,
        last_sequence_received=17,
    )


def example_suspension() -> Suspension:
    return Suspension(suspension_id="susp-1", effective_time=T0, reason="Channel review")


def example_resumption() -> Resumption:
    return Resumption(suspension_id="susp-1", effective_time=T0 + HOUR, reason="Review complete")


def example_incident() -> IncidentReport:
    return IncidentReport(
        incident_id="inc-1",
        occurred_time=T0,
        position=LatLng(latitude=35.1, longitude=38.5),
        altitude=Altitude(value=250, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
        aircraft=[
            InvolvedAircraft(
                party=US, aircraft_category=AircraftCategory.TANKER, callsign="RCH471", transponder_code="7700"
            ),
            InvolvedAircraft(party=THEM, aircraft_category=AircraftCategory.FIXED_WING, notice_id="n-2"),
        ],
        closest_lateral_m=150.0,
        closest_vertical_m=30.0,
        narrative="Unannounced crossing 150 m ahead of the tanker.",
    )


def example_incident_unknown_approach() -> IncidentReport:
    """An encounter whose closest approach nobody measured: both distances unset, not 0."""
    return example_incident().model_copy(
        update={
            "closest_lateral_m": None,
            "closest_vertical_m": None,
            "narrative": "Aircraft sighted crossing at night; distance not measured.",
        }
    )
