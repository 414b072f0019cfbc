"""The October 2015 scenario as data: the parties, the agreement, the sorties, the incident and the conference.

It replays 30 September - 1 October 2015 over Syria as it would have gone had the channel of the
20 October 2015 memorandum of understanding on flight safety already existed: the Russian Ministry of
Defence notifies its sorties instead of giving one hour's verbal warning at an embassy, the US Department
of Defense answers for the coalition, and the second video conference is agreed on the channel.

Times are written in the 2015 calendar and shifted to today by Calendar, so that every notice lies in
the coming hours, ahead of the agreed lead time, while the story keeps its own clock. Places are public
place names with rounded coordinates; aircraft types, targets and mission purposes are left out, as the
protocol leaves them out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from deconflict.models.channel import IncidentReport, InvolvedAircraft
from deconflict.models.conference import (
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceProposal,
    DocumentRef,
    Participant,
    ParticipantRole,
    TimeSlot,
)
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, Circle, LatLng, Volume3D, Volume4D
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.security.signing import SigningKey

RU: Final = "ru-mod"  # the Russian Ministry of Defence
US: Final = "us-dod"  # the US Department of Defense, for the coalition
CHANNEL: Final = "ru-mod:us-dod"
CONTACTS: Final = {RU: "ru-mod/hq-line", US: "us-dod/hq-line"}
GUARD: Final = ("guard-121.5", "guard-243.0")

# The memorandum of 20 October 2015 as the channel's agreement: the guard frequencies, the 24-hour line
# between headquarters as each party's point of contact, separation minima, lead time, response timers
# and emergency-over-routine priority. The numbers are the demo's, not the memorandum's (it was not
# published): 10 NM, 2000 ft and 15 minutes of separation, an hour's lead time, ten minutes to answer.
AGREEMENT_TOML = """\
# The bilateral agreement of channel ru-mod:us-dod: the memorandum of understanding on flight safety
# of 20 October 2015 as data. Both nodes must hold these exact bytes' meaning: Hello compares hashes.
channel_id = "ru-mod:us-dod"
version = 1
parties = ["ru-mod", "us-dod"]
effective_time = 2015-10-20T00:00:00Z
minimum_lead_time = "PT1H"
clock_skew_tolerance = "PT30S"
heartbeat_interval = "PT1S"
missed_heartbeats_down = 5

[separation]
lateral_m = 18520.0
vertical_m = 610.0
time = "PT15M"

[[response_timers]]
kind = "NOTICE"
response_time = "PT10M"

[[response_timers]]
kind = "AMENDMENT"
response_time = "PT10M"

[[response_timers]]
kind = "CONFERENCE_PROPOSAL"
response_time = "PT1H"

[[frequencies]]
frequency_id = "guard-121.5"
khz = 121500
use = "GUARD"
description = "international air distress, VHF"

[[frequencies]]
frequency_id = "guard-243.0"
khz = 243000
use = "GUARD"
description = "military air distress, UHF"

[[contacts]]
contact_id = "ru-mod/hq-line"
party = "ru-mod"
role = "24-hour line between headquarters, Russian end"
address = "National Defence Management Centre, Moscow"

[[contacts]]
contact_id = "us-dod/hq-line"
party = "us-dod"
role = "24-hour line between headquarters, coalition end"
address = "Combined Air Operations Center"

[[priority_rules]]
category = "EMERGENCY"
overrides = ["ROUTINE"]
"""

# Each node's signing key (DCF-SEC-006), from a fixed seed so that the agreement, and its hash, are the same for
# every run and for `deconflict demo --nodes`. Published with the demo: DEMO KEYS, never a real channel's.
DEMO_KEYS: Final = {party: SigningKey.published(f"{party}/demo-key", f"deconflict demo {party}") for party in (RU, US)}
AGREEMENT_TOML += "".join(key.party_key_toml(party) for party, key in DEMO_KEYS.items())

# The first Russian sortie of the replayed day, and how far ahead of now it is replayed at least: past the
# hour of lead time, so that no notice is late.
ANCHOR: Final = datetime(2015, 10, 1, 6, 0, tzinfo=UTC)
AHEAD: Final = timedelta(minutes=90)


def utc(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2015, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Calendar:
    """2015 -> today: every scenario time moves by the same shift, so intervals and order are kept."""

    shift: timedelta

    @classmethod
    def from_now(cls, now: datetime) -> Calendar:
        # A whole number of hours, so that the story's times keep their minutes (06:30 stays :30).
        start = (now + AHEAD).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return cls(start - ANCHOR)

    def at(self, moment: datetime) -> datetime:
        return moment + self.shift


def flight_level(level: int) -> Altitude:
    return Altitude(value=level, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL)


@dataclass(frozen=True, slots=True)
class Sortie:
    """One sortie as its owner notifies it: a circle, a band of flight levels and a time window."""

    key: str  # short and unique within its party: the last part of the notice id
    area: str
    latitude: float
    longitude: float
    radius_km: float
    lower_fl: int
    upper_fl: int
    start: datetime  # 2015
    minutes: int
    count: int
    aircraft: AircraftCategory = AircraftCategory.FIXED_WING

    def volume(self, calendar: Calendar, delay: timedelta = timedelta(0)) -> Volume4D:
        begin = calendar.at(self.start) + delay
        return Volume4D(
            volume=Volume3D(
                circle=Circle(
                    center=LatLng(latitude=self.latitude, longitude=self.longitude), radius_m=self.radius_km * 1000
                ),
                altitude_lower=flight_level(self.lower_fl),
                altitude_upper=flight_level(self.upper_fl),
            ),
            time_start=begin,
            time_end=begin + timedelta(minutes=self.minutes),
        )

    def notice(self, owner: str, notice_id: str, calendar: Calendar, delay: timedelta = timedelta(0)) -> FlightNotice:
        return FlightNotice(
            notice_id=notice_id,
            version=1,
            state=NoticeState.ACTIVE,
            owner=owner,
            volumes=[self.volume(calendar, delay)],
            aircraft_category=self.aircraft,
            aircraft_count=self.count,
            frequency_ids=list(GUARD),
            contact_id=CONTACTS[owner],
            category=NoticeCategory.ROUTINE,
            remarks=f"{self.area} area",
        )


# About twenty sorties a day in western Syria (the Russian ministry's count in the news of early October 2015), out of
# Latakia over the Latakia, Idlib, Hama and Homs areas, fixed wing, in pairs and fours.
RUSSIAN_SORTIES: Final = (
    Sortie("01", "Salma, Latakia", 35.68, 36.18, 12, 50, 150, utc(1, 6, 0), 60, 2),
    Sortie("02", "Jabal al-Turkman, Latakia", 35.78, 36.03, 12, 50, 150, utc(1, 6, 20), 60, 2),
    Sortie("03", "al-Ghab plain, Hama", 35.41, 36.39, 12, 100, 250, utc(1, 6, 40), 60, 4),
    Sortie("04", "Latamneh, Hama", 35.32, 36.62, 12, 100, 250, utc(1, 6, 0), 60, 2),
    Sortie("05", "Kafr Zita, Hama", 35.37, 36.60, 12, 100, 250, utc(1, 7, 0), 60, 2),
    Sortie("06", "Morek, Hama", 35.38, 36.68, 12, 100, 250, utc(1, 8, 0), 60, 2),
    Sortie("07", "Idlib", 35.93, 36.63, 12, 80, 200, utc(1, 7, 30), 60, 4),
    Sortie("08", "Jisr al-Shughur, Idlib", 35.81, 36.32, 12, 100, 250, utc(1, 6, 30), 60, 2),
    Sortie("09", "Maarat al-Numan, Idlib", 35.65, 36.68, 12, 100, 250, utc(1, 8, 30), 60, 2),
    Sortie("10", "Khan Shaykhun, Idlib", 35.44, 36.65, 12, 100, 250, utc(1, 9, 0), 60, 2),
    Sortie("11", "Saraqib, Idlib", 35.86, 36.80, 12, 100, 250, utc(1, 10, 30), 60, 2),
    Sortie("12", "Talbiseh, Homs", 34.84, 36.73, 12, 100, 250, utc(1, 6, 0), 60, 4),
    Sortie("13", "Rastan, Homs", 34.92, 36.73, 12, 100, 250, utc(1, 7, 0), 60, 2),
    Sortie("14", "Houla, Homs", 34.88, 36.52, 12, 100, 250, utc(1, 8, 0), 60, 2),
    Sortie("15", "Halfaya, Hama", 35.26, 36.60, 12, 100, 250, utc(1, 9, 30), 60, 2),
    Sortie("16", "Kafr Nabudah, Hama", 35.42, 36.55, 12, 100, 250, utc(1, 10, 0), 60, 2),
    Sortie("17", "Kinsabba, Latakia", 35.73, 36.12, 12, 50, 150, utc(1, 10, 0), 60, 2),
    Sortie("18", "al-Zafaraneh, Homs", 34.87, 36.80, 12, 100, 250, utc(1, 10, 30), 60, 2),
    Sortie("19", "Kafr Nubl, Idlib", 35.61, 36.56, 12, 100, 250, utc(1, 11, 0), 60, 2),
    Sortie("20", "Suran, Hama", 35.29, 36.73, 12, 100, 250, utc(1, 11, 30), 60, 2),
)

# The coalition's sorties of the same morning, notified first: its campaign over northern and eastern
# Syria had flown since 2014. One of them, an unmanned orbit over Idlib province, is where a Russian
# sortie comes too close.
COALITION_SORTIES: Final = (
    Sortie("c1", "Raqqa", 35.95, 39.01, 20, 200, 300, utc(1, 6, 0), 120, 4),
    Sortie("c2", "Deir ez-Zor", 35.33, 40.14, 20, 200, 300, utc(1, 7, 0), 120, 2),
    Sortie("c3", "Ayn al-Arab", 36.89, 38.35, 15, 150, 250, utc(1, 6, 30), 120, 2),
    Sortie("c4", "tanker track, Tabqa", 35.84, 38.55, 25, 250, 300, utc(1, 6, 0), 240, 1, AircraftCategory.TANKER),
    Sortie("c5", "Sarmada, Idlib", 36.18, 36.72, 15, 120, 180, utc(1, 7, 0), 120, 1, AircraftCategory.UNMANNED),
)

# How Russia moves a sortie the US operator is unable to accept: the same area, after the coalition's orbit.
MOVE: Final = timedelta(hours=2)

# The second video conference (after the first one of 1 October 2015), proposed by the US side.
CONFERENCE_TITLE: Final = "Second video conference on flight safety over Syria"
US_SLOTS: Final = (utc(2, 14), utc(3, 14))
RU_SLOT: Final = utc(3, 10)
DURATION: Final = timedelta(minutes=90)
DELEGATION: Final = (
    ParticipantRole.HEAD_OF_DELEGATION,
    ParticipantRole.AIR_OPERATIONS,
    ParticipantRole.FLIGHT_SAFETY,
    ParticipantRole.INTERPRETER,
)


@dataclass(frozen=True, slots=True)
class Document:
    """A draft one side handed over, as a short text whose SHA-256 the agenda carries."""

    document_id: str
    title: str
    author: str
    file_name: str
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")

    def ref(self, data: bytes) -> DocumentRef:
        """The reference to the document as handed over: `data` is the file's exact bytes."""
        return DocumentRef(
            document_id=self.document_id,
            title=self.title,
            author=self.author,
            sha256=hashlib.sha256(data).digest(),
        )


US_DRAFT: Final = Document(
    document_id="us-dod/draft-2015-10-01",
    title="Draft on coordinating flights over Syria, handed over on 1 Oct 2015",
    author=US,
    file_name="us-dod-draft-2015-10-01.txt",
    text=(
        "US Department of Defense - draft for discussion, handed over at the video conference of 1 October 2015\n"
        "\n"
        "Safety of flights over Syria:\n"
        "1. Professional airmanship by the aircrews of both sides.\n"
        "2. Agreed communication frequencies: 121.5 MHz and 243.0 MHz.\n"
        "3. A communication line on the ground between the two sides.\n"
        "4. The cooperation is limited to technical questions concerning our pilots.\n"
        "5. No zones of cooperation, no sharing of intelligence or target information.\n"
    ),
)

RU_PROPOSALS: Final = Document(
    document_id="ru-mod/proposals-2015-10-01",
    title="Proposals of the Russian Ministry of Defence, 1 Oct 2015",
    author=RU,
    file_name="ru-mod-proposals-2015-10-01.txt",
    text=(
        "Russian Ministry of Defence - proposals presented at the video conference of 1 October 2015\n"
        "\n"
        "1. The general staff supports the American document in principle.\n"
        "2. Cooperation should not be limited to technical questions concerning the pilots.\n"
        "3. A working group of the two ministries, meeting by secure video conference.\n"
        "4. Mutual help to aircrews in distress.\n"
    ),
)


def participants() -> list[Participant]:
    return [Participant(party=party, role=role) for party in (US, RU) for role in DELEGATION]


def us_proposal(conference_id: str, calendar: Calendar, documents: dict[str, DocumentRef]) -> ConferenceProposal:
    """The US proposal: both drafts on the agenda for review; the node adds the incidents reported since."""
    return ConferenceProposal(
        conference_id=conference_id,
        revision=1,
        title=CONFERENCE_TITLE,
        candidate_slots=[TimeSlot(start_time=calendar.at(slot)) for slot in US_SLOTS],
        duration=DURATION,
        participants=participants(),
        classification=Classification.RESTRICTED,
        agenda=[
            AgendaItem(
                item_id="us-draft",
                kind=AgendaItemKind.PROPOSAL_REVIEW,
                title="The US draft on coordinating flights: Russia's comments",
                documents=[documents[US_DRAFT.document_id]],
                presenter=Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
                allotted=timedelta(minutes=30),
            ),
            AgendaItem(
                item_id="ru-proposals",
                kind=AgendaItemKind.PROPOSAL_REVIEW,
                title="Russia's proposals: the Pentagon's comments",
                documents=[documents[RU_PROPOSALS.document_id]],
                presenter=Participant(party=US, role=ParticipantRole.AIR_OPERATIONS),
                allotted=timedelta(minutes=30),
            ),
        ],
    )


def ru_counter(proposal: ConferenceProposal, calendar: Calendar) -> ConferenceProposal:
    """Russia's counter: the same agenda, another slot."""
    return proposal.model_copy(
        update={"revision": proposal.revision + 1, "candidate_slots": [TimeSlot(start_time=calendar.at(RU_SLOT))]}
    )


def incident(incident_id: str, calendar: Calendar) -> IncidentReport:
    """An unsafe encounter of the first day of strikes, reported by the US side."""
    return IncidentReport(
        incident_id=incident_id,
        occurred_time=calendar.at(utc(30, 10, 40, month=9)),
        position=LatLng(latitude=36.05, longitude=36.70),
        altitude=flight_level(150),
        aircraft=[
            InvolvedAircraft(party=US, aircraft_category=AircraftCategory.UNMANNED),
            InvolvedAircraft(party=RU, aircraft_category=AircraftCategory.FIXED_WING),
        ],
        closest_lateral_m=5000.0,
        closest_vertical_m=300.0,
        narrative=(
            "A pair of Russian fixed-wing aircraft passed within about 5 km of a coalition unmanned aircraft over "
            "Idlib province, unannounced; no call was heard on 121.5 or 243.0 MHz."
        ),
    )
