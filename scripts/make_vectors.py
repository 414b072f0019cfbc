"""Write the golden test vectors of deconflict.v1 into vectors/v1/.

    python scripts/make_vectors.py              # (re)write vectors/v1/
    python scripts/make_vectors.py --check      # exit 1 when vectors/v1/ differs from a fresh run
    python scripts/make_vectors.py --out DIR    # write somewhere else

Everything is fixed: times, ids, keys (Ed25519 signatures are deterministic), so
two runs write identical bytes. The valid vectors are built as validated models
and encoded through the bridge; the invalid ones are valid messages broken in
exactly one field at the protobuf level (or bytes that do not decode at all).
Before anything is written, every vector is checked against the reference
implementation: a valid one decodes, validates and re-encodes to the same bytes,
and an invalid one is refused at exactly the field path the manifest gives.

The scenario is western Syria, 1 to 10 October 2015: the Russian Ministry of
Defence ("ru-mod") and the US Department of Defense ("us-dod") on the channel
"ru-mod:us-dod". See vectors/README.md for the layout and the manifest schema.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import math
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from pydantic import ValidationError

from deconflict import dsse, limits
from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.bridge.envelope import envelope_to_proto
from deconflict.bridge.registry import UndecodableBytesError, binding, binding_for, bindings
from deconflict.models.base import Message, field_violations
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
from deconflict.models.channel_service import (
    CosignRequest,
    CosignResponse,
    ExchangeChecklistRequest,
    ExchangeChecklistResponse,
    ExchangeRequest,
    ExchangeResponse,
    GetAgreementRequest,
    GetAgreementResponse,
    GetCheckpointRequest,
    GetCheckpointResponse,
    GetConsistencyProofRequest,
    GetConsistencyProofResponse,
    GetInclusionProofRequest,
    GetInclusionProofResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    HelloRequest,
    HelloResponse,
    NotifyTimeoutRequest,
    NotifyTimeoutResponse,
    ReportIncidentRequest,
    ReportIncidentResponse,
    ResumeRequest,
    ResumeResponse,
    SuspendRequest,
    SuspendResponse,
    WatchRequest,
    WatchResponse,
)
from deconflict.models.conference import (
    ActionItem,
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceDecline,
    ConferenceProposal,
    ConferenceRecord,
    ConferenceState,
    Decision,
    DocumentRef,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.models.conference_service import (
    AnswerConferenceRequest,
    AnswerConferenceResponse,
    CancelConferenceRequest,
    CancelConferenceResponse,
    ConferenceStatus,
    GetConferenceRequest,
    GetConferenceResponse,
    ListConferencesRequest,
    ListConferencesResponse,
    ProposeConferenceRequest,
    ProposeConferenceResponse,
    RecordConferenceRequest,
    RecordConferenceResponse,
)
from deconflict.models.envelope import (
    ACKNOWLEDGEMENT_TYPE,
    ENVELOPE_TYPE,
    Envelope,
    Mode,
    ProtocolVersion,
    Signature,
    SignedPayload,
)
from deconflict.models.errors import FieldViolation, MessageRefusal, SequenceGap, StaleVersion
from deconflict.models.geometry import (
    Altitude,
    AltitudeReference,
    AltitudeUnit,
    Circle,
    LatLng,
    Polygon,
    Volume3D,
    Volume4D,
)
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeAmendment,
    NoticeCancellation,
    NoticeCategory,
    NoticeState,
)
from deconflict.models.notice_service import (
    AmendNoticeRequest,
    AmendNoticeResponse,
    CancelNoticeRequest,
    CancelNoticeResponse,
    GetNoticeRequest,
    GetNoticeResponse,
    ListNoticesRequest,
    ListNoticesResponse,
    NoticeRecord,
    RespondToNoticeRequest,
    RespondToNoticeResponse,
    SubmitNoticeRequest,
    SubmitNoticeResponse,
)
from deconflict.models.response import (
    ConflictingNotice,
    DialogueState,
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
    UnableReason,
)
from deconflict.transparency.checkpoint import Checkpoint, journal_origin, key_name, sign_checkpoint
from deconflict.transparency.cosignature import cosign
from deconflict.transparency.merkle import MerkleTree
from deconflict.v1 import channel_pb2, conference_pb2, envelope_pb2, geometry_pb2, notice_pb2, response_pb2

_T = TypeVar("_T")

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUT: Final = ROOT / "vectors" / "v1"
MANIFEST: Final = "manifest.json"
FORMAT_VERSION: Final = 1
PACKAGE: Final = "deconflict.v1"

# ---------------------------------------------------------------------------
# The scenario: parties, channel, keys, agreement.
# ---------------------------------------------------------------------------

RU: Final = "ru-mod"
US: Final = "us-dod"
CHANNEL: Final = "ru-mod:us-dod"
GUARD_VHF: Final = "guard-121.5"
GUARD_UHF: Final = "guard-243.0"
RU_DUTY: Final = "ru-mod/duty"
US_DUTY: Final = "us-dod/duty"

# Test-only signing keys: the seeds are public (vectors/README.md), so anyone can
# check the signatures, and nobody may ever use these keys for anything else.
KEY_SEEDS: Final = {
    RU: hashlib.sha256(b"deconflict test vectors: ru-mod signing key 1 (public test key, never use)").digest(),
    US: hashlib.sha256(b"deconflict test vectors: us-dod signing key 1 (public test key, never use)").digest(),
}


def _key(party: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(KEY_SEEDS[party])


KEY_IDS: Final = {RU: "ru-mod/key-2015-10", US: "us-dod/key-2015-10"}

# Message ids are UUIDs (DCF-ENV-004), derived from the sender and sequence so they never change.
_MESSAGE_NAMESPACE: Final = uuid.UUID("6f1c2a52-3b7e-5d2a-9c41-0e5d1f7a8b93")


def message_id(sender: str, sequence: int) -> str:
    return str(uuid.uuid5(_MESSAGE_NAMESPACE, f"{CHANNEL}/{sender}/{sequence}"))


def utc(day: int, hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    """A moment of October 2015, in UTC."""
    return datetime(2015, 10, day, hour, minute, second, microsecond, tzinfo=UTC)


def point(latitude: float, longitude: float) -> LatLng:
    return LatLng(latitude=latitude, longitude=longitude)


def fl(level: int) -> Altitude:
    """A flight level: hundreds of feet on the standard pressure setting."""
    return Altitude(value=level, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL)


def polygon(*vertices: tuple[float, float]) -> Polygon:
    return Polygon(vertices=[point(lat, lng) for lat, lng in vertices])


def volume(outline: Polygon | Circle, lower: Altitude, upper: Altitude, start: datetime, end: datetime) -> Volume4D:
    shape = (
        Volume3D(polygon=outline, altitude_lower=lower, altitude_upper=upper)
        if isinstance(outline, Polygon)
        else Volume3D(circle=outline, altitude_lower=lower, altitude_upper=upper)
    )
    return Volume4D(volume=shape, time_start=start, time_end=end)


def document_sha256(document_id: str) -> bytes:
    # The documents travel out of band (DCF-CNF-033); the vectors carry the digest
    # of a placeholder text, since the drafts themselves are not public.
    return hashlib.sha256(f"deconflict test vector placeholder for document {document_id}".encode()).digest()


LATAKIA: Final = point(35.401, 35.948)  # Hmeimim air base, south-east of Latakia

# Out of Latakia towards Hama along a corridor, then a working area around Hama.
CORRIDOR_LATAKIA_HAMA: Final = polygon((35.35, 35.95), (35.45, 35.95), (35.20, 36.70), (35.10, 36.70))
AREA_HAMA: Final = Circle(center=point(35.13, 36.75), radius_m=30_000)
# North of Homs: Talbiseh and Rastan.
AREA_HOMS_NORTH: Final = polygon((34.80, 36.65), (34.95, 36.65), (34.95, 36.85), (34.80, 36.85))
# Around Idlib.
AREA_IDLIB: Final = polygon((35.85, 36.50), (36.00, 36.52), (36.02, 36.70), (35.92, 36.80), (35.82, 36.68))
# Coalition surveillance orbits.
ORBIT_HAMA_NORTH_WEST: Final = Circle(center=point(35.30, 36.50), radius_m=15_000)
ORBIT_IDLIB: Final = Circle(center=point(35.85, 36.55), radius_m=20_000)
# Search and rescue off the coast of Latakia.
AREA_SAR_COAST: Final = Circle(center=point(35.60, 35.60), radius_m=25_000)


def build_agreement() -> Agreement:
    return Agreement(
        channel_id=CHANNEL,
        version=1,
        parties=[RU, US],
        effective_time=utc(1, 0),
        minimum_lead_time=timedelta(hours=3),
        response_timers=[
            ResponseTimer(kind=MessageKind.NOTICE, response_time=timedelta(minutes=30)),
            ResponseTimer(kind=MessageKind.AMENDMENT, response_time=timedelta(minutes=30)),
            ResponseTimer(kind=MessageKind.CONFERENCE_PROPOSAL, response_time=timedelta(hours=24)),
        ],
        # 5 NM, 1000 ft, 15 minutes.
        separation=SeparationMinima(lateral_m=9_260.0, vertical_m=304.8, time=timedelta(minutes=15)),
        clock_skew_tolerance=timedelta(seconds=30),
        frequencies=[
            Frequency(
                frequency_id=GUARD_VHF,
                khz=121_500,
                use=FrequencyUse.GUARD,
                description="VHF guard: international aeronautical emergency frequency, 121.5 MHz",
            ),
            Frequency(
                frequency_id=GUARD_UHF,
                khz=243_000,
                use=FrequencyUse.GUARD,
                description="UHF guard: military aeronautical emergency frequency, 243.0 MHz",
            ),
        ],
        contacts=[
            PointOfContact(
                contact_id=RU_DUTY,
                party=RU,
                role="Duty officer, air operations, 24 hours",
                address="Ministry of Defence line agreed at the video conference of 1 October 2015",
            ),
            PointOfContact(
                contact_id=US_DUTY,
                party=US,
                role="Duty officer, air operations, 24 hours",
                address="Department of Defense line agreed at the video conference of 1 October 2015",
            ),
        ],
        priority_rules=[
            PriorityRule(
                category=NoticeCategory.EMERGENCY, overrides=[NoticeCategory.ROUTINE, NoticeCategory.HUMANITARIAN]
            ),
            PriorityRule(category=NoticeCategory.MEDEVAC, overrides=[NoticeCategory.ROUTINE]),
        ],
        keys=[
            PartyKey(
                key_id=KEY_IDS[party],
                party=party,
                ed25519_public_key=_key(party).public_key().public_bytes_raw(),
                valid_from=utc(1, 0),
                valid_until=datetime(2016, 4, 1, tzinfo=UTC),
            )
            for party in (RU, US)
        ],
        heartbeat_interval=timedelta(seconds=15),
        missed_heartbeats_down=4,
    )


# ---------------------------------------------------------------------------
# Notices and answers.
# ---------------------------------------------------------------------------

RU1: Final = "ru-mod/2015-10-01/0001"
RU2: Final = "ru-mod/2015-10-02/0001"
RU3: Final = "ru-mod/2015-10-03/0001"
RU_SAR: Final = "ru-mod/2015-10-06/0001"
US1: Final = "us-dod/2015-10-01/0001"
US2: Final = "us-dod/2015-10-03/0001"
INCIDENT: Final = "us-dod/incident/2015-10-03/01"
SUSPENSION: Final = "us-dod/suspension/2015-10-04/01"
VC2: Final = "ru-mod/vc-2"
VC3: Final = "ru-mod/vc-3"
VC4: Final = "us-dod/vc-4"


def notice_ru1(version: int = 1) -> FlightNotice:
    """Four Russian jets from Latakia to a working area around Hama, 1 October 2015."""
    ceiling = 200 if version == 1 else 150
    area_ceiling = 250 if version == 1 else 150
    remarks = (
        "Departure and recovery at Latakia (Hmeimim)."
        if version == 1
        else "Amended after UNABLE: ceilings lowered to FL150, clear of the surveillance orbit at FL180-FL220."
    )
    return FlightNotice(
        notice_id=RU1,
        version=version,
        state=NoticeState.ACTIVE,
        owner=RU,
        volumes=[
            volume(CORRIDOR_LATAKIA_HAMA, fl(100), fl(ceiling), utc(1, 5, 40), utc(1, 6, 10)),
            volume(AREA_HAMA, fl(50), fl(area_ceiling), utc(1, 6), utc(1, 8)),
        ],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=4,
        frequency_ids=[GUARD_VHF, GUARD_UHF],
        contact_id=RU_DUTY,
        category=NoticeCategory.ROUTINE,
        remarks=remarks,
    )


def notice_ru2() -> FlightNotice:
    return FlightNotice(
        notice_id=RU2,
        version=1,
        state=NoticeState.ACTIVE,
        owner=RU,
        volumes=[volume(AREA_HOMS_NORTH, fl(80), fl(180), utc(2, 6), utc(2, 8))],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=6,
        frequency_ids=[GUARD_VHF, GUARD_UHF],
        contact_id=RU_DUTY,
        category=NoticeCategory.ROUTINE,
        remarks="North of Homs (Talbiseh, Rastan).",
    )


def notice_ru3() -> FlightNotice:
    return FlightNotice(
        notice_id=RU3,
        version=1,
        state=NoticeState.ACTIVE,
        owner=RU,
        volumes=[volume(AREA_IDLIB, fl(100), fl(220), utc(3, 10), utc(3, 12))],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=4,
        frequency_ids=[GUARD_VHF, GUARD_UHF],
        contact_id=RU_DUTY,
        category=NoticeCategory.ROUTINE,
    )


def notice_ru_sar() -> FlightNotice:
    """A search and rescue off Latakia: MSL 0 to FL050, squawking 7700."""
    return FlightNotice(
        notice_id=RU_SAR,
        version=1,
        state=NoticeState.ACTIVE,
        owner=RU,
        volumes=[
            volume(
                AREA_SAR_COAST,
                Altitude(value=0, reference=AltitudeReference.MSL, unit=AltitudeUnit.FEET),
                fl(50),
                utc(6, 9, 10),
                utc(6, 11),
            )
        ],
        aircraft_category=AircraftCategory.ROTARY_WING,
        aircraft_count=2,
        transponder_codes=["7700"],
        frequency_ids=[GUARD_VHF, GUARD_UHF],
        contact_id=RU_DUTY,
        category=NoticeCategory.EMERGENCY,
        remarks="Search and rescue for a crew reported in the sea west of Latakia.",
    )


def notice_at_the_bounds() -> FlightNotice:
    """A notice at every upper bound of chapter 12: a receiver accepts every value within the bounds."""
    ring = [
        (35.25 + 0.2 * math.sin(2 * math.pi * index / 256), 36.35 + 0.4 * math.cos(2 * math.pi * index / 256))
        for index in range(256)
    ]
    first = volume(polygon(*ring), fl(100), fl(200), utc(2, 0), utc(2, 1))
    later = [
        volume(
            AREA_HAMA,
            fl(50),
            fl(250),
            utc(2, 1) + index * timedelta(minutes=10),
            utc(2, 1, 10) + index * timedelta(minutes=10),
        )
        for index in range(63)
    ]
    sentence = "Departure and recovery at Latakia (Hmeimim). "
    remarks = sentence * (limits.MAX_TEXT // len(sentence))
    prefix = "ru-mod/2015-10-02/"
    return FlightNotice(
        notice_id=prefix + "9" * (limits.MAX_IDENTIFIER - len(prefix)),
        version=1,
        state=NoticeState.ACTIVE,
        owner=RU,
        volumes=[first, *later],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=1000,
        callsigns=[f"RFF{index:013d}" for index in range(16)],
        transponder_codes=[f"{0o2000 + index:04o}" for index in range(16)],
        frequency_ids=[GUARD_VHF, GUARD_UHF, *(f"ru-mod/frequency-{index:02d}" for index in range(14))],
        contact_id=RU_DUTY,
        category=NoticeCategory.ROUTINE,
        remarks=remarks + "." * (limits.MAX_TEXT - len(remarks)),
    )


def notice_us1() -> FlightNotice:
    """A coalition unmanned surveillance orbit north-west of Hama."""
    return FlightNotice(
        notice_id=US1,
        version=1,
        state=NoticeState.ACTIVE,
        owner=US,
        volumes=[volume(ORBIT_HAMA_NORTH_WEST, fl(180), fl(220), utc(1, 4), utc(1, 7, 30))],
        aircraft_category=AircraftCategory.UNMANNED,
        aircraft_count=1,
        callsigns=["HAWK31"],
        transponder_codes=["4215"],
        frequency_ids=[GUARD_VHF, GUARD_UHF],
        contact_id=US_DUTY,
        category=NoticeCategory.ROUTINE,
    )


def notice_us2() -> FlightNotice:
    return FlightNotice(
        notice_id=US2,
        version=1,
        state=NoticeState.ACTIVE,
        owner=US,
        volumes=[volume(ORBIT_IDLIB, fl(160), fl(200), utc(3, 8), utc(3, 12, 15))],
        aircraft_category=AircraftCategory.UNMANNED,
        aircraft_count=1,
        callsigns=["HAWK32"],
        transponder_codes=["4216"],
        frequency_ids=[GUARD_VHF],
        contact_id=US_DUTY,
        category=NoticeCategory.ROUTINE,
    )


def response(kind: ResponseKind, notice_id: str, version: int, **fields: Any) -> OperationalResponse:
    return OperationalResponse(notice_id=notice_id, notice_version=version, kind=kind, **fields)


def conflict_ru1_us1(volume_index: int) -> ConflictingNotice:
    return ConflictingNotice(
        notice_id=US1,
        version=1,
        owner=US,
        volume_index=volume_index,
        other_volume_index=0,
        lateral_distance_m=0.0,
        vertical_distance_m=0.0,
    )


RESPONSE_STANDBY: Final = response(
    ResponseKind.STANDBY, RU1, 1, remarks="Under review by the duty officer; final answer within 30 minutes."
)
RESPONSE_UNABLE: Final = response(
    ResponseKind.UNABLE,
    RU1,
    1,
    reasons=[UnableReason.CONFLICT],
    offending_field="volumes[1]",
    conflicts=[conflict_ru1_us1(0), conflict_ru1_us1(1)],
    remarks="Coalition surveillance orbit north-west of Hama at FL180-FL220 until 07:30Z.",
)
RESPONSE_ACCEPT: Final = response(ResponseKind.ACCEPT, RU1, 2)
RESPONSE_ROGER: Final = response(ResponseKind.ROGER, US1, 1)
RESPONSE_COUNTER: Final = response(
    ResponseKind.COUNTER,
    RU3,
    1,
    counter_volumes=[volume(AREA_IDLIB, fl(100), fl(220), utc(3, 12, 30), utc(3, 14, 30))],
    remarks="Surveillance orbit over Idlib until 12:15Z (us-dod/2015-10-03/0001): the same area from 12:30Z.",
)


# ---------------------------------------------------------------------------
# The second video conference: Russia's proposals and the American comments.
# ---------------------------------------------------------------------------

DOC_US_DRAFT: Final = DocumentRef(
    document_id="us-dod/doc/2015-10-01-draft",
    title="US draft on coordination of flight safety, handed over on 1 October 2015",
    author=US,
    sha256=document_sha256("us-dod/doc/2015-10-01-draft"),
)
DOC_RU_PROPOSALS: Final = DocumentRef(
    document_id="ru-mod/doc/2015-10-04-proposals",
    title="Proposals of the Russian Ministry of Defence on coordination of air operations",
    author=RU,
    sha256=document_sha256("ru-mod/doc/2015-10-04-proposals"),
)
DOC_US_COMMENTS: Final = DocumentRef(
    document_id="us-dod/doc/2015-10-05-comments",
    title="American comments on the Russian proposals",
    author=US,
    sha256=document_sha256("us-dod/doc/2015-10-05-comments"),
)

PARTICIPANTS: Final = [
    Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
    Participant(party=RU, role=ParticipantRole.AIR_OPERATIONS),
    Participant(party=RU, role=ParticipantRole.INTERPRETER),
    Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    Participant(party=US, role=ParticipantRole.FLIGHT_SAFETY),
    Participant(party=US, role=ParticipantRole.INTERPRETER),
]

ITEM_RU_PROPOSALS: Final = AgendaItem(
    item_id="ru-1",
    kind=AgendaItemKind.PROPOSAL_REVIEW,
    title="Russian proposals on coordination of air operations",
    documents=[DOC_RU_PROPOSALS],
    presenter=Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
    allotted=timedelta(minutes=40),
)
ITEM_US_DRAFT: Final = AgendaItem(
    item_id="ru-2",
    kind=AgendaItemKind.PROPOSAL_REVIEW,
    title="Russian comments on the US draft of 1 October 2015",
    documents=[DOC_US_DRAFT],
    presenter=Participant(party=RU, role=ParticipantRole.AIR_OPERATIONS),
    allotted=timedelta(minutes=30),
)
ITEM_INCIDENT: Final = AgendaItem(
    item_id="ru-3",
    kind=AgendaItemKind.INCIDENT_REVIEW,
    title="Encounter near Idlib on 3 October 2015",
    notice_ids=[US2],
    incident_ids=[INCIDENT],
    presenter=Participant(party=US, role=ParticipantRole.FLIGHT_SAFETY),
    allotted=timedelta(minutes=15),
)
ITEM_US_COMMENTS: Final = AgendaItem(
    item_id="us-1",
    kind=AgendaItemKind.PROPOSAL_REVIEW,
    title="American comments on the Russian proposals",
    documents=[DOC_RU_PROPOSALS, DOC_US_COMMENTS],
    presenter=Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    allotted=timedelta(minutes=30),
)
ITEM_GUARD: Final = AgendaItem(
    item_id="us-2",
    kind=AgendaItemKind.PROCEDURE_CHANGE,
    title="Monitoring of the guard frequencies 121.5 MHz and 243.0 MHz",
    presenter=Participant(party=US, role=ParticipantRole.FLIGHT_SAFETY),
    allotted=timedelta(minutes=15),
)

PROPOSAL_VC2_R1: Final = ConferenceProposal(
    conference_id=VC2,
    revision=1,
    title="Second video conference on flight safety over Syria",
    candidate_slots=[TimeSlot(start_time=utc(7, 12)), TimeSlot(start_time=utc(8, 12))],
    duration=timedelta(hours=2),
    participants=PARTICIPANTS,
    classification=Classification.RESTRICTED,
    agenda=[ITEM_RU_PROPOSALS, ITEM_US_DRAFT, ITEM_INCIDENT],
)
# The American counter: other slots, and its comments on Russia's proposals on the agenda.
PROPOSAL_VC2_R2: Final = ConferenceProposal(
    conference_id=VC2,
    revision=2,
    title="Second video conference on flight safety over Syria",
    candidate_slots=[TimeSlot(start_time=utc(7, 14)), TimeSlot(start_time=utc(8, 14))],
    duration=timedelta(hours=2),
    participants=PARTICIPANTS,
    classification=Classification.RESTRICTED,
    agenda=[ITEM_RU_PROPOSALS, ITEM_US_COMMENTS, ITEM_INCIDENT, ITEM_GUARD],
)
PROPOSAL_VC3_R1: Final = ConferenceProposal(
    conference_id=VC3,
    revision=1,
    title="Third video conference: memorandum on flight safety",
    candidate_slots=[TimeSlot(start_time=utc(9, 12))],
    duration=timedelta(hours=1),
    participants=[
        Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
        Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    ],
    classification=Classification.RESTRICTED,
    agenda=[
        AgendaItem(
            item_id="ru-1",
            kind=AgendaItemKind.PROCEDURE_CHANGE,
            title="Draft memorandum on flight safety",
            presenter=Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
            allotted=timedelta(minutes=45),
        )
    ],
)

ANSWER_COUNTER: Final = ConferenceAnswer(conference_id=VC2, revision=1, counter=PROPOSAL_VC2_R2)
ANSWER_ACCEPT: Final = ConferenceAnswer(
    conference_id=VC2, revision=2, accept=SlotAcceptance(slot=TimeSlot(start_time=utc(7, 14)))
)
# us-dod proposes a fourth conference, ru-mod accepts, and us-dod calls it off.
PROPOSAL_VC4_R1: Final = ConferenceProposal(
    conference_id=VC4,
    revision=1,
    title="Expert-level review of the draft memorandum on flight safety",
    candidate_slots=[TimeSlot(start_time=utc(10, 12))],
    duration=timedelta(hours=1, minutes=30),
    participants=[
        Participant(party=RU, role=ParticipantRole.AIR_OPERATIONS),
        Participant(party=RU, role=ParticipantRole.LEGAL),
        Participant(party=US, role=ParticipantRole.AIR_OPERATIONS),
        Participant(party=US, role=ParticipantRole.LEGAL),
    ],
    classification=Classification.RESTRICTED,
    agenda=[
        AgendaItem(
            item_id="us-1",
            kind=AgendaItemKind.PROPOSAL_REVIEW,
            title="American comments on the Russian proposals",
            documents=[DOC_US_COMMENTS],
            presenter=Participant(party=US, role=ParticipantRole.LEGAL),
            allotted=timedelta(hours=1),
        )
    ],
)
ANSWER_ACCEPT_VC4: Final = ConferenceAnswer(
    conference_id=VC4, revision=1, accept=SlotAcceptance(slot=TimeSlot(start_time=utc(10, 12)))
)
CANCELLATION_VC4: Final = ConferenceCancellation(
    conference_id=VC4, reason="Called off: the comments will be exchanged in writing first."
)
ANSWER_DECLINE: Final = ConferenceAnswer(
    conference_id=VC3,
    revision=1,
    decline=ConferenceDecline(reason="The draft memorandum is not ready; new dates will be proposed."),
)

RECORD_VC2: Final = ConferenceRecord(
    conference_id=VC2,
    start_time=utc(7, 14),
    end_time=utc(7, 15, 50),
    attendees=PARTICIPANTS,
    decisions=[
        Decision(
            decision_id="d-1",
            item_id="us-2",
            text="Aircrews of both parties monitor 121.5 MHz and 243.0 MHz while flying in western Syria.",
        ),
        Decision(
            decision_id="d-2",
            item_id="us-1",
            text="The American comments on the Russian proposals were handed over; "
            "both parties continue work on a memorandum on flight safety.",
        ),
        Decision(
            decision_id="d-3",
            item_id="ru-3",
            text="The encounter near Idlib on 3 October 2015 is closed: no notice had been filed for that area.",
        ),
    ],
    action_items=[
        ActionItem(
            action_id="a-1",
            owner=RU,
            owner_role=ParticipantRole.HEAD_OF_DELEGATION,
            description="Answer the American comments in writing.",
            due_time=utc(10, 12),
            item_id="us-1",
        ),
        ActionItem(
            action_id="a-2",
            owner=US,
            owner_role=ParticipantRole.AIR_OPERATIONS,
            description="Circulate a revised draft memorandum on flight safety.",
            due_time=utc(12, 12),
            item_id="ru-1",
        ),
    ],
)


# ---------------------------------------------------------------------------
# Incident, suspension, resumption.
# ---------------------------------------------------------------------------

INCIDENT_REPORT: Final = IncidentReport(
    incident_id=INCIDENT,
    occurred_time=utc(3, 11, 20),
    position=point(35.80, 36.55),
    altitude=fl(200),
    aircraft=[
        InvolvedAircraft(
            party=US,
            aircraft_category=AircraftCategory.UNMANNED,
            callsign="HAWK32",
            transponder_code="4216",
            notice_id=US2,
        ),
        InvolvedAircraft(party=RU, aircraft_category=AircraftCategory.FIXED_WING),
    ],
    closest_lateral_m=9_000.0,
    closest_vertical_m=150.0,
    narrative=(
        "An unmanned surveillance aircraft flying under notice us-dod/2015-10-03/0001 observed a fixed-wing "
        "aircraft cross its orbit from south to north, about 9 km away and 500 ft above, with no notice filed "
        "for that area and time. No evasive action was needed."
    ),
)
SUSPENSION_MODEL: Final = Suspension(
    suspension_id=SUSPENSION,
    effective_time=utc(4, 0),
    reason="Notices held until incident us-dod/incident/2015-10-03/01 is reviewed by the duty officers.",
)
RESUMPTION_MODEL: Final = Resumption(
    suspension_id=SUSPENSION,
    effective_time=utc(5, 6),
    reason="Incident reviewed by the duty officers; it stays on the agenda of the next video conference.",
)


# ---------------------------------------------------------------------------
# Envelopes, signatures and acknowledgements.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One envelope as sent: the model, its sealed and signed bytes, and its place in the journals."""

    envelope: Envelope
    signed: SignedPayload
    journal_position: int

    @property
    def payload(self) -> bytes:
        return self.signed.payload


def peer(party: str) -> str:
    return US if party == RU else RU


def sign(party: str, payload_type: str, payload: bytes) -> SignedPayload:
    signature = dsse.sign(_key(party), payload_type, payload)
    return SignedPayload(
        payload_type=payload_type,
        payload=payload,
        signatures=[Signature(key_id=KEY_IDS[party], signature=signature)],
    )


def seal(envelope: Envelope) -> SignedPayload:
    payload = envelope_to_proto(envelope).SerializeToString(deterministic=True)
    return sign(envelope.sender, ENVELOPE_TYPE, payload)


# (sender, sequence, created, body field, body, in_reply_to): the channel's history, in order.
_History = list[tuple[str, int, datetime, str, Message, str]]


def history() -> _History:
    sent_id = message_id
    return [
        (US, 1, utc(1, 1), "notice", notice_us1(), ""),
        (RU, 1, utc(1, 1, 10), "response", RESPONSE_ROGER, sent_id(US, 1)),
        (RU, 2, utc(1, 2, 30), "notice", notice_ru1(), ""),
        (US, 2, utc(1, 2, 35), "response", RESPONSE_STANDBY, sent_id(RU, 2)),
        (US, 3, utc(1, 2, 52), "response", RESPONSE_UNABLE, sent_id(RU, 2)),
        (RU, 3, utc(1, 3, 5), "amendment", NoticeAmendment(replaces_version=1, notice=notice_ru1(version=2)), ""),
        (US, 4, utc(1, 3, 12), "response", RESPONSE_ACCEPT, sent_id(RU, 3)),
        # Filed two hours before it starts, under the three-hour lead time: late.
        (RU, 4, utc(2, 4), "notice", notice_ru2(), ""),
        (US, 5, utc(3, 5), "notice", notice_us2(), ""),
        (
            US,
            6,
            utc(3, 5, 30, 2),
            "timeout",
            ResponseTimeout(
                unanswered_message_id=sent_id(US, 5),
                unanswered_kind=MessageKind.NOTICE,
                notice_id=US2,
                notice_version=1,
                due_time=utc(3, 5, 30, 0, 400_000),
                waited=timedelta(minutes=30, seconds=1, milliseconds=600),
            ),
            sent_id(US, 5),
        ),
        (RU, 5, utc(3, 6), "notice", notice_ru3(), ""),
        (US, 7, utc(3, 6, 20), "response", RESPONSE_COUNTER, sent_id(RU, 5)),
        (
            RU,
            6,
            utc(3, 7, 40),
            "cancellation",
            NoticeCancellation(notice_id=RU3, version=1, reason="Sortie withdrawn after the counter-proposal."),
            "",
        ),
        (US, 8, utc(3, 12, 30), "incident_report", INCIDENT_REPORT, ""),
        (US, 9, utc(3, 20), "suspension", SUSPENSION_MODEL, ""),
        (US, 10, utc(5, 6), "resumption", RESUMPTION_MODEL, ""),
        (RU, 7, utc(5, 9), "conference_proposal", PROPOSAL_VC2_R1, ""),
        (US, 11, utc(5, 15), "conference_answer", ANSWER_COUNTER, sent_id(RU, 7)),
        (RU, 8, utc(6, 9, 5), "notice", notice_ru_sar(), ""),
        # No answer to the counter within 24 hours: a timeout; the acceptance comes an hour later.
        (
            US,
            12,
            utc(6, 15, 0, 3),
            "timeout",
            ResponseTimeout(
                unanswered_message_id=sent_id(US, 11),
                unanswered_kind=MessageKind.CONFERENCE_PROPOSAL,
                conference_id=VC2,
                conference_revision=2,
                due_time=utc(6, 15, 0, 0, 400_000),
                waited=timedelta(hours=24, seconds=2, milliseconds=600),
            ),
            sent_id(US, 11),
        ),
        (RU, 9, utc(6, 16), "conference_answer", ANSWER_ACCEPT, sent_id(US, 11)),
        (RU, 10, utc(7, 16, 30), "conference_record", RECORD_VC2, ""),
        (RU, 11, utc(8, 9), "conference_proposal", PROPOSAL_VC3_R1, ""),
        (US, 13, utc(8, 11), "conference_answer", ANSWER_DECLINE, sent_id(RU, 11)),
        (US, 14, utc(8, 12), "conference_proposal", PROPOSAL_VC4_R1, ""),
        (RU, 12, utc(8, 13), "conference_answer", ANSWER_ACCEPT_VC4, sent_id(US, 14)),
        (US, 15, utc(9, 18), "conference_cancellation", CANCELLATION_VC4, ""),
    ]


def build_history() -> dict[tuple[str, int], Sent]:
    """Every envelope of the scenario, sealed and signed, by (sender, sequence)."""
    out: dict[tuple[str, int], Sent] = {}
    for position, (sender, sequence, created, body, content, in_reply_to) in enumerate(history()):
        envelope = Envelope.model_validate(
            {
                "message_id": message_id(sender, sequence),
                "channel_id": CHANNEL,
                "sender": sender,
                "recipient": peer(sender),
                "sequence": sequence,
                "in_reply_to": in_reply_to,
                "created_time": created,
                "protocol_version": ProtocolVersion(major=1, minor=0),
                "mode": Mode.OPERATIONAL,
                body: content,
            }
        )
        out[(sender, sequence)] = Sent(envelope=envelope, signed=seal(envelope), journal_position=position)
    return out


STORE_DELAY: Final = timedelta(milliseconds=400)


def acknowledgement(sent: Sent, agreement: Agreement) -> LogicalAcknowledgement:
    """The acknowledgement the recipient returns once it stored `sent` (DCF-ACK-003 to DCF-ACK-009)."""
    envelope = sent.envelope
    stored = envelope.created_time + STORE_DELAY
    notice_id, notice_version = "", 0
    body = envelope.body
    if isinstance(body, FlightNotice):
        notice_id, notice_version = body.notice_id, body.version
    elif isinstance(body, NoticeAmendment):
        notice_id, notice_version = body.notice.notice_id, body.notice.version
    elif isinstance(body, NoticeCancellation):
        notice_id, notice_version = body.notice_id, body.version
    elif isinstance(body, OperationalResponse | ResponseTimeout):
        notice_id, notice_version = body.notice_id, body.notice_version
    kind = envelope.kind
    if isinstance(body, ConferenceAnswer) and body.counter is not None:
        kind = MessageKind.CONFERENCE_PROPOSAL  # a counter is answered like a proposal (DCF-TMR-001)
    timer = agreement.response_time(kind)
    late = False
    if isinstance(body, FlightNotice | NoticeAmendment):
        notice = body if isinstance(body, FlightNotice) else body.notice
        lead = notice.first_start - stored
        late = notice.category != NoticeCategory.EMERGENCY and lead < agreement.minimum_lead_time
    return LogicalAcknowledgement(
        channel_id=envelope.channel_id,
        acknowledging_party=envelope.recipient,
        message_id=envelope.message_id,
        message_sender=envelope.sender,
        message_sequence=envelope.sequence,
        payload_sha256=hashlib.sha256(sent.payload).digest(),
        journal_position=sent.journal_position,
        stored_time=stored,
        notice_id=notice_id,
        notice_version=notice_version,
        late=late,
        response_due_time=None if timer is None else stored + timer,
    )


def signed_acknowledgement(sent: Sent, agreement: Agreement) -> SignedPayload:
    ack = acknowledgement(sent, agreement)
    payload = binding_for(LogicalAcknowledgement).encode(ack)
    return sign(ack.acknowledging_party, ACKNOWLEDGEMENT_TYPE, payload)


# ---------------------------------------------------------------------------
# Vectors.
# ---------------------------------------------------------------------------


class VectorError(RuntimeError):
    """A vector that does not behave as the manifest will say: the generator stops."""


@dataclass(frozen=True)
class Vector:
    name: str
    message_type: str
    binpb: bytes
    json_text: str | None
    description: str
    requirements: tuple[str, ...]
    # None for a valid vector; else (field path, "decode" or "validate").
    refusal: tuple[str, str] | None = None

    @property
    def folder(self) -> str:
        return "valid" if self.refusal is None else "invalid"

    def files(self) -> dict[str, str]:
        out = {"binpb": f"{self.folder}/{self.name}.binpb"}
        if self.json_text is not None:
            out["json"] = f"{self.folder}/{self.name}.json"
        return out

    def manifest_entry(self) -> dict[str, Any]:
        expected: Any = "valid"
        if self.refusal is not None:
            expected = {"code": "INVALID_ARGUMENT", "field": self.refusal[0], "kind": self.refusal[1]}
        return {
            "name": self.name,
            "message_type": self.message_type,
            "files": self.files(),
            "expected": expected,
            "description": self.description,
            "requirements": list(self.requirements),
        }


def to_json(message: ProtoMessage) -> str:
    """The canonical proto3 JSON of a message: camelCase names, sorted keys, indent 2, a final newline."""
    text = json_format.MessageToJson(message, preserving_proto_field_name=False, sort_keys=True, indent=2)
    return text + "\n"


def _json_if_faithful(message: ProtoMessage, data: bytes) -> str | None:
    """The JSON of `message` when json_format can write it and reads it back to the same bytes."""
    try:
        text = to_json(message)
        back = json_format.Parse(text, type(message)())
    except (json_format.Error, ValueError, TypeError):
        return None
    return text if back.SerializeToString(deterministic=True) == data else None


@dataclass
class Vectors:
    """The vectors being built, checked one by one as they are added."""

    items: list[Vector] = field(default_factory=list)

    def _add(self, vector: Vector) -> None:
        if any(existing.name == vector.name for existing in self.items):
            raise VectorError(f"two vectors are named {vector.name!r}")
        self.items.append(vector)

    def valid(self, name: str, model: Message, description: str, *requirements: str) -> None:
        bound = binding_for(type(model))
        message = bound.to_proto(model)
        data = message.SerializeToString(deterministic=True)
        if bound.encode(model) != data:
            raise VectorError(f"{name}: Binding.encode differs from the deterministic serialization")
        back = bound.decode(data)
        if back != model:
            raise VectorError(f"{name}: decoding the bytes does not give the model back")
        if bound.encode(back) != data:
            raise VectorError(f"{name}: re-encoding the decoded model gives other bytes")
        text = to_json(message)
        parsed = json_format.Parse(text, bound.proto())
        if parsed != message or parsed.SerializeToString(deterministic=True) != data:
            raise VectorError(f"{name}: the proto3 JSON does not parse back to the same message")
        self._add(Vector(name, bound.full_name, data, text, description, tuple(sorted(set(requirements)))))

    def invalid(self, name: str, message: ProtoMessage, path: str, description: str, *requirements: str) -> None:
        """A message refused by validation at exactly `path`."""
        full_name = message.DESCRIPTOR.full_name
        data = message.SerializeToString(deterministic=True)
        bound = binding(full_name)
        try:
            parsed = bound.parse(data)
        except UndecodableBytesError as error:
            raise VectorError(f"{name}: meant to fail validation, but the bytes do not decode: {error}") from None
        try:
            bound.from_proto(parsed)
        except ValidationError as error:
            paths = [found for found, _ in field_violations(error)]
        else:
            raise VectorError(f"{name}: accepted, but expected a refusal at {path!r}")
        if paths != [path]:
            raise VectorError(f"{name}: refused at {paths}, expected exactly [{path!r}]")
        text = _json_if_faithful(message, data)
        self._add(
            Vector(name, full_name, data, text, description, tuple(sorted(set(requirements))), (path, "validate"))
        )

    def undecodable(self, name: str, full_name: str, data: bytes, description: str, *requirements: str) -> None:
        """Bytes that are not a protobuf encoding of `full_name` at all: refused as a whole (path "")."""
        try:
            binding(full_name).parse(data)
        except UndecodableBytesError:
            pass
        else:
            raise VectorError(f"{name}: the bytes decode as {full_name}")
        self._add(Vector(name, full_name, data, None, description, tuple(sorted(set(requirements))), ("", "decode")))


# The requirements each valid message exercises: the rules its content obeys.
_ENVELOPE_HEADER = ("DCF-ENV-001", "DCF-ENV-002", "DCF-ENV-004", "DCF-ENV-005", "DCF-ENV-007", "DCF-ENV-008")
_SIGNED = ("DCF-ENV-001", "DCF-SEC-006", "DCF-SEC-007", "DCF-SEC-009", "DCF-LIM-006", "DCF-LIM-023")


def add_valid(vectors: Vectors) -> None:
    agreement = build_agreement()
    sent = build_history()
    ack = {key: acknowledgement(item, agreement) for key, item in sent.items()}
    signed_ack = {key: signed_acknowledgement(item, agreement) for key, item in sent.items()}
    agreement_data = agreement_bytes(agreement)
    agreement_digest = agreement_hash(agreement_data)

    add = vectors.valid

    # Geometry.
    add("LatLng", LATAKIA, "Hmeimim air base, south-east of Latakia", "DCF-GEO-001", "DCF-GEO-002", "DCF-GEO-003")
    add(
        "Polygon",
        CORRIDOR_LATAKIA_HAMA,
        "a four-vertex corridor from Latakia towards Hama, open ring",
        "DCF-GEO-004",
        "DCF-GEO-005",
        "DCF-GEO-008",
        "DCF-LIM-008",
    )
    add("Circle", AREA_HAMA, "a 30 km working area around Hama", "DCF-GEO-011", "DCF-GEO-012", "DCF-LIM-009")
    add(
        "Circle-largest",
        Circle(center=point(35.13, 36.75), radius_m=500_000),
        "a circle of 500 km around Hama: the largest radius",
        "DCF-GEO-012",
        "DCF-LIM-009",
        "DCF-LIM-001",
    )
    add(
        "LatLng-limits",
        point(-90.0, 180.0),
        "latitude -90 and longitude 180: both bounds are inclusive",
        "DCF-GEO-002",
        "DCF-GEO-003",
    )
    add(
        "Polygon-closed-ring",
        polygon((35.35, 35.95), (35.45, 35.95), (35.20, 36.70), (35.10, 36.70), (35.35, 35.95)),
        "the corridor with its first vertex repeated at the end: accepted, the same area",
        "DCF-GEO-006",
    )
    add(
        "Polygon-repeated-vertex",
        polygon((35.35, 35.95), (35.45, 35.95), (35.45, 35.95), (35.20, 36.70), (35.10, 36.70)),
        "the corridor with a vertex repeated: accepted, the same area",
        "DCF-GEO-006",
    )
    add(
        "Altitude-lowest",
        Altitude(value=-1000, reference=AltitudeReference.MSL, unit=AltitudeUnit.METRES),
        "-1000 m above mean sea level: the lowest altitude",
        "DCF-LIM-010",
        "DCF-LIM-001",
    )
    add(
        "Altitude-highest",
        Altitude(value=100_000, reference=AltitudeReference.W84, unit=AltitudeUnit.METRES),
        "100 km above the WGS84 ellipsoid: the highest altitude",
        "DCF-LIM-010",
        "DCF-LIM-001",
    )
    add("Altitude-flight-level", fl(250), "FL250: STD reference in flight levels", "DCF-GEO-015", "DCF-GEO-016")
    add(
        "Altitude-msl-feet",
        Altitude(value=0, reference=AltitudeReference.MSL, unit=AltitudeUnit.FEET),
        "0 ft above mean sea level",
        "DCF-GEO-015",
        "DCF-GEO-017",
    )
    add(
        "Altitude-agl-metres",
        Altitude(value=150, reference=AltitudeReference.AGL, unit=AltitudeUnit.METRES),
        "150 m above ground level",
        "DCF-GEO-015",
        "DCF-GEO-017",
        "DCF-LIM-010",
    )
    add(
        "Volume3D-polygon",
        Volume3D(polygon=CORRIDOR_LATAKIA_HAMA, altitude_lower=fl(100), altitude_upper=fl(200)),
        "the Latakia-Hama corridor from FL100 to FL200",
        "DCF-GEO-019",
        "DCF-GEO-020",
        "DCF-GEO-021",
    )
    add(
        "Volume3D-circle",
        Volume3D(circle=AREA_HAMA, altitude_lower=fl(50), altitude_upper=fl(250)),
        "the Hama working area from FL050 to FL250",
        "DCF-GEO-019",
        "DCF-GEO-020",
        "DCF-GEO-021",
    )
    add(
        "Volume3D-msl-to-flight-level",
        notice_ru_sar().volumes[0].volume,
        "a circle off Latakia from MSL 0 ft to FL050: MSL and STD limits are comparable",
        "DCF-GEO-017",
        "DCF-GEO-018",
        "DCF-GEO-020",
        "DCF-GEO-021",
    )
    add(
        "Volume4D",
        notice_ru1().volumes[0],
        "the Latakia-Hama corridor, FL100-FL200, 1 Oct 2015 05:40Z to 06:10Z",
        "DCF-GEO-022",
        "DCF-GEO-023",
        "DCF-GEO-024",
        "DCF-LIM-024",
    )

    # Notices.
    notice_rules = (
        "DCF-NTC-001",
        "DCF-NTC-002",
        "DCF-NTC-003",
        "DCF-NTC-004",
        "DCF-NTC-005",
        "DCF-NTC-007",
        "DCF-NTC-009",
        "DCF-NTC-010",
        "DCF-LIM-007",
        "DCF-LIM-014",
    )
    add(
        "FlightNotice",
        notice_ru1(),
        "ru-mod: four jets from Latakia to Hama, a polygon and a circle, 1 Oct 2015",
        *notice_rules,
    )
    add(
        "FlightNotice-surveillance",
        notice_us1(),
        "us-dod: an unmanned surveillance orbit north-west of Hama, with callsign and transponder code",
        *notice_rules,
        "DCF-NTC-006",
        "DCF-NTC-008",
        "DCF-LIM-021",
    )
    add(
        "FlightNotice-emergency",
        notice_ru_sar(),
        "ru-mod: emergency search and rescue off Latakia, squawking 7700, MSL 0 ft to FL050",
        *notice_rules,
        "DCF-NTC-006",
        "DCF-NTC-017",
        "DCF-GEO-018",
    )
    add(
        "FlightNotice-at-the-bounds",
        notice_at_the_bounds(),
        "every upper bound at once: 64 volumes, 256 vertices, 16 callsigns, codes and frequencies, "
        "1000 aircraft, a 128-character id, 4000 characters of remarks",
        "DCF-LIM-001",
        "DCF-LIM-002",
        "DCF-LIM-004",
        "DCF-LIM-007",
        "DCF-LIM-008",
        "DCF-LIM-014",
        "DCF-LIM-021",
    )
    add(
        "NoticeAmendment",
        NoticeAmendment(replaces_version=1, notice=notice_ru1(version=2)),
        "ru-mod amends its Hama notice to version 2 after an UNABLE: ceilings lowered to FL150",
        "DCF-NTC-018",
        "DCF-NTC-023",
    )
    add(
        "NoticeCancellation",
        NoticeCancellation(notice_id=RU3, version=1, reason="Sortie withdrawn after the counter-proposal."),
        "ru-mod cancels its Idlib notice at version 1",
        "DCF-NTC-025",
    )

    # Acknowledgements and answers.
    ack_rules = ("DCF-ACK-001", "DCF-ACK-003", "DCF-ACK-004", "DCF-ACK-005", "DCF-ACK-006", "DCF-ACK-007")
    add(
        "LogicalAcknowledgement",
        ack[(RU, 2)],
        "us-dod stored the Hama notice: journal position, payload digest, response due in 30 minutes",
        *ack_rules,
        "DCF-ACK-008",
        "DCF-ACK-009",
        "DCF-TMR-001",
        "DCF-JNL-005",
    )
    add(
        "LogicalAcknowledgement-late",
        ack[(RU, 4)],
        "us-dod stored the Homs notice, filed two hours ahead with a three-hour lead time: late is true",
        *ack_rules,
        "DCF-ACK-008",
        "DCF-NTC-015",
        "DCF-NTC-016",
    )
    add(
        "LogicalAcknowledgement-incident-report",
        ack[(US, 8)],
        "ru-mod stored an incident report: no notice, no response due",
        *ack_rules,
        "DCF-ACK-009",
        "DCF-RSP-001",
    )
    add(
        "ConflictingNotice",
        conflict_ru1_us1(1),
        "the Hama area (volume 1) overlaps the us-dod surveillance orbit (volume 0)",
        "DCF-RSP-011",
        "DCF-CFL-016",
    )
    response_rules = ("DCF-RSP-002", "DCF-RSP-003", "DCF-RSP-004")
    add(
        "OperationalResponse-accept",
        RESPONSE_ACCEPT,
        "us-dod will comply with version 2 of the Hama notice",
        *response_rules,
        "DCF-RSP-009",
        "DCF-RSP-019",
        "DCF-RSP-036",
    )
    add(
        "OperationalResponse-unable",
        RESPONSE_UNABLE,
        "us-dod cannot comply with version 1: two volumes conflict with its surveillance orbit",
        *response_rules,
        "DCF-RSP-005",
        "DCF-RSP-006",
        "DCF-RSP-008",
        "DCF-RSP-011",
        "DCF-RSP-027",
    )
    add(
        "OperationalResponse-unable-third-party",
        response(
            ResponseKind.UNABLE,
            US2,
            1,
            reasons=[UnableReason.CONFLICT],
            remarks="A notice on another channel is in the way of this orbit; no details can be given.",
        ),
        "ru-mod, late, cannot comply: the conflict is with a third party's notice, which it may not name",
        *response_rules,
        "DCF-RSP-005",
        "DCF-RSP-006",
        "DCF-RSP-021",
        "DCF-CFL-019",
    )
    add(
        "OperationalResponse-standby",
        RESPONSE_STANDBY,
        "us-dod: decision pending, the dialogue stays open",
        *response_rules,
        "DCF-RSP-009",
        "DCF-RSP-018",
    )
    add(
        "OperationalResponse-roger",
        RESPONSE_ROGER,
        "ru-mod notes the us-dod surveillance orbit, with no commitment",
        *response_rules,
        "DCF-RSP-009",
        "DCF-RSP-019",
    )
    add(
        "OperationalResponse-counter",
        RESPONSE_COUNTER,
        "us-dod proposes the Idlib area two and a half hours later, after its surveillance orbit",
        *response_rules,
        "DCF-RSP-010",
        "DCF-RSP-032",
    )
    add(
        "ResponseTimeout",
        required(sent[(US, 6)].envelope.timeout),
        "us-dod had no answer to its Idlib surveillance notice within 30 minutes",
        "DCF-TMR-004",
        "DCF-TMR-009",
        "DCF-TMR-016",
    )
    add(
        "ResponseTimeout-conference",
        required(sent[(US, 12)].envelope.timeout),
        "us-dod had no answer to its counter (revision 2) within 24 hours",
        "DCF-TMR-004",
        "DCF-TMR-009",
        "DCF-CNF-025",
        "DCF-TMR-018",
    )

    # Envelope and signed bytes.
    add("ProtocolVersion", ProtocolVersion(major=1, minor=0), "deconflict.v1, minor 0", "DCF-ENV-007")
    envelope_cases = [
        ("notice", (RU, 2), "ru-mod files its Hama notice (sequence 2)", ("DCF-NTC-010", "DCF-ENV-003")),
        ("amendment", (RU, 3), "ru-mod amends the Hama notice to version 2", ("DCF-NTC-018",)),
        ("cancellation", (RU, 6), "ru-mod cancels its Idlib notice", ("DCF-NTC-025",)),
        ("response", (US, 3), "us-dod answers UNABLE, in reply to the notice's envelope", ("DCF-ENV-011",)),
        ("timeout", (US, 6), "us-dod reports that its notice went unanswered", ("DCF-ENV-011", "DCF-TMR-009")),
        ("conference-proposal", (RU, 7), "ru-mod proposes the second video conference", ("DCF-CNF-001",)),
        ("conference-answer", (US, 11), "us-dod counters with revision 2", ("DCF-ENV-011", "DCF-CNF-018")),
        ("conference-record", (RU, 10), "ru-mod files the record of the second video conference", ("DCF-CNF-023",)),
        ("incident-report", (US, 8), "us-dod reports the encounter near Idlib", ("DCF-INC-001", "DCF-INC-002")),
        ("suspension", (US, 9), "us-dod suspends the channel, always in MODE_OPERATIONAL", ("DCF-ENV-009",)),
        ("resumption", (US, 10), "us-dod resumes the channel, always in MODE_OPERATIONAL", ("DCF-ENV-009",)),
        ("conference-cancellation", (US, 15), "us-dod calls off the fourth video conference", ("DCF-CNF-037",)),
    ]
    for variant, key, description, extra in envelope_cases:
        add(f"Envelope-{variant}", sent[key].envelope, description, *_ENVELOPE_HEADER, *extra)
    add(
        "Signature",
        sent[(RU, 2)].signed.signatures[0],
        "ru-mod's Ed25519 signature of its Hama notice envelope (DSSE PAE)",
        "DCF-SEC-006",
        "DCF-SEC-007",
    )
    add(
        "SignedPayload-envelope",
        sent[(RU, 2)].signed,
        "the Hama notice envelope sealed into signed bytes, signed with ru-mod's test key",
        *_SIGNED,
    )
    add(
        "SignedPayload-acknowledgement",
        signed_ack[(RU, 2)],
        "us-dod's acknowledgement of the Hama notice, signed with us-dod's test key",
        *_SIGNED,
        "DCF-ACK-002",
        "DCF-SEC-011",
    )

    # Error details.
    add(
        "FieldViolation",
        FieldViolation(
            field="notice.volumes[0].volume.polygon.vertices[2].latitude",
            description="input should be less than or equal to 90",
        ),
        "a latitude past 90, named by its path from the envelope",
        "DCF-ERR-002",
        "DCF-ERR-003",
    )
    add(
        "StaleVersion",
        StaleVersion(notice_id=RU1, quoted_version=1, current_version=2),
        "an amendment quoted version 1 of a notice now at version 2",
        "DCF-ERR-007",
        "DCF-NTC-022",
    )
    add(
        "SequenceGap",
        SequenceGap(expected=6, received=7),
        "sequence 7 arrived while 6 was expected",
        "DCF-ERR-008",
        "DCF-ENV-028",
    )
    refusal = MessageRefusal(
        message_id=message_id(RU, 13),
        code=3,
        message="INVALID_ARGUMENT: notice.volumes[0].volume.polygon.vertices[2].latitude is past 90",
        violations=[
            FieldViolation(
                field="notice.volumes[0].volume.polygon.vertices[2].latitude",
                description="input should be less than or equal to 90",
            )
        ],
    )
    add(
        "MessageRefusal-invalid-argument",
        refusal,
        "a refusal on an Exchange stream: INVALID_ARGUMENT (3) with one field violation",
        "DCF-STR-008",
        "DCF-STR-011",
        "DCF-STR-012",
        "DCF-STR-013",
    )
    add(
        "MessageRefusal-stale-version",
        MessageRefusal(
            message_id=message_id(RU, 14),
            code=10,
            message="ABORTED: STALE_VERSION: ru-mod/2015-10-01/0001 is at version 2, not 1",
            reason="STALE_VERSION",
            stale_version=StaleVersion(notice_id=RU1, quoted_version=1, current_version=2),
        ),
        "a refusal on a stream: ABORTED (10), reason STALE_VERSION, with the current version",
        "DCF-STR-008",
        "DCF-STR-011",
        "DCF-ERR-006",
        "DCF-ERR-007",
        "DCF-STR-012",
        "DCF-STR-013",
    )
    add(
        "MessageRefusal-sequence-gap",
        MessageRefusal(
            message_id=message_id(RU, 15),
            code=9,
            message="FAILED_PRECONDITION: SEQUENCE_GAP: expected sequence 14, received 15",
            reason="SEQUENCE_GAP",
            sequence_gap=SequenceGap(expected=14, received=15),
        ),
        "a refusal on a stream: FAILED_PRECONDITION (9), reason SEQUENCE_GAP, with the expected sequence",
        "DCF-STR-008",
        "DCF-STR-011",
        "DCF-ERR-006",
        "DCF-ERR-008",
        "DCF-STR-012",
        "DCF-STR-013",
    )

    # Conferences.
    add("DocumentRef", DOC_RU_PROPOSALS, "Russia's proposals, referred to by SHA-256", "DCF-CNF-011", "DCF-CNF-033")
    add(
        "Participant",
        Participant(party=US, role=ParticipantRole.FLIGHT_SAFETY),
        "us-dod's flight safety officer, named by role",
        "DCF-CNF-006",
        "DCF-GEN-011",
    )
    add(
        "AgendaItem-proposal-review",
        ITEM_US_COMMENTS,
        "us-dod presents its comments on Russia's proposals (two documents)",
        "DCF-CNF-008",
        "DCF-CNF-009",
        "DCF-CNF-010",
        "DCF-CNF-033",
        "DCF-CNF-035",
    )
    add(
        "AgendaItem-incident-review",
        ITEM_INCIDENT,
        "review of the encounter near Idlib of 3 October 2015",
        "DCF-CNF-008",
        "DCF-CNF-009",
        "DCF-CNF-010",
        "DCF-CNF-030",
    )
    add(
        "AgendaItem-procedure-change",
        ITEM_GUARD,
        "monitoring of the guard frequencies 121.5 MHz and 243.0 MHz",
        "DCF-CNF-008",
    )
    add("TimeSlot", TimeSlot(start_time=utc(7, 14)), "7 Oct 2015 14:00Z", "DCF-CNF-005")
    add(
        "ConferenceProposal",
        PROPOSAL_VC2_R1,
        "ru-mod proposes the second video conference: its proposals, the US draft and the incident",
        "DCF-CNF-001",
        "DCF-CNF-004",
        "DCF-CNF-005",
        "DCF-CNF-006",
        "DCF-CNF-007",
        "DCF-CNF-030",
        "DCF-CNF-033",
    )
    add("SlotAcceptance", SlotAcceptance(slot=TimeSlot(start_time=utc(7, 14))), "the 7 Oct 14:00Z slot", "DCF-CNF-017")
    add("ConferenceDecline", required(ANSWER_DECLINE.decline), "a decline with its reason", "DCF-CNF-020")
    add(
        "ConferenceAnswer-accept",
        ANSWER_ACCEPT,
        "ru-mod accepts the 7 Oct 14:00Z slot of revision 2",
        "DCF-CNF-012",
        "DCF-CNF-017",
    )
    add(
        "ConferenceAnswer-counter",
        ANSWER_COUNTER,
        "us-dod counters revision 1 with revision 2: other slots and its comments on Russia's proposals",
        "DCF-CNF-012",
        "DCF-CNF-018",
        "DCF-CNF-019",
        "DCF-CNF-035",
        "DCF-CNF-036",
    )
    add(
        "ConferenceAnswer-decline",
        ANSWER_DECLINE,
        "us-dod declines the third video conference",
        "DCF-CNF-012",
        "DCF-CNF-020",
    )
    add(
        "ConferenceCancellation",
        CANCELLATION_VC4,
        "us-dod calls off the fourth video conference, which was scheduled",
        "DCF-CNF-037",
        "DCF-CNF-038",
        "DCF-CNF-040",
    )
    add("Decision", RECORD_VC2.decisions[0], "both parties monitor the guard frequencies", "DCF-CNF-023", "DCF-CNF-026")
    add(
        "ActionItem",
        RECORD_VC2.action_items[0],
        "ru-mod answers the American comments by 10 Oct 2015",
        "DCF-CNF-023",
        "DCF-CNF-026",
    )
    add(
        "ConferenceRecord",
        RECORD_VC2,
        "the record of the second video conference: decisions and action items",
        "DCF-CNF-022",
        "DCF-CNF-023",
        "DCF-CNF-035",
    )

    # The channel.
    add("ResponseTimer", agreement.response_timers[0], "30 minutes to answer a notice", "DCF-CHN-005", "DCF-TMR-001")
    add("SeparationMinima", agreement.separation, "5 NM, 1000 ft, 15 minutes", "DCF-CHN-004", "DCF-CFL-001")
    add(
        "Frequency-guard-121-5",
        agreement.frequencies[0],
        "VHF guard, 121.5 MHz",
        "DCF-CHN-007",
        "DCF-CHN-008",
        "DCF-LIM-018",
    )
    add(
        "Frequency-guard-243-0",
        agreement.frequencies[1],
        "UHF guard, 243.0 MHz",
        "DCF-CHN-007",
        "DCF-CHN-008",
        "DCF-LIM-018",
    )
    add("PointOfContact", agreement.contacts[0], "ru-mod's 24-hour duty officer", "DCF-CHN-009", "DCF-GEN-011")
    add(
        "PriorityRule",
        agreement.priority_rules[0],
        "an emergency may be filed over routine and humanitarian notices",
        "DCF-CHN-010",
        "DCF-CFL-014",
    )
    add("PartyKey", agreement.keys[0], "ru-mod's Ed25519 test key, valid to 1 Apr 2016", "DCF-CHN-011", "DCF-SEC-013")
    add("VersionRange", VersionRange(min_major=1, max_major=1), "major version 1 only", "DCF-HEL-002")
    add(
        "Agreement",
        agreement,
        "the ru-mod:us-dod agreement: lead time, timers, minima, guard frequencies, contacts, priorities, keys",
        "DCF-CHN-001",
        "DCF-CHN-003",
        "DCF-CHN-004",
        "DCF-CHN-005",
        "DCF-CHN-006",
        "DCF-CHN-007",
        "DCF-CHN-008",
        "DCF-CHN-009",
        "DCF-CHN-010",
        "DCF-CHN-011",
        "DCF-GEN-002",
    )
    hello_ru = Hello(
        channel_id=CHANNEL,
        party=RU,
        supported_versions=VersionRange(min_major=1, max_major=1),
        agreement_hash=agreement_digest,
        agreement_version=1,
        sent_time=utc(1, 0, 5),
        implementation="deconflict 0.1.0 (Python reference)",
    )
    hello_us = hello_ru.model_copy(update={"party": US, "sent_time": utc(1, 0, 5, 0, 200_000)})
    add("Hello", hello_ru, "ru-mod opens the channel with the SHA-256 of the agreement bytes", "DCF-HEL-002")
    heartbeat_ru = Heartbeat(channel_id=CHANNEL, party=RU, sent_time=utc(3, 6, 30), last_sequence_sent=5)
    heartbeat_us = Heartbeat(channel_id=CHANNEL, party=US, sent_time=utc(3, 6, 30, 0, 150_000), last_sequence_sent=7)
    add("Heartbeat", heartbeat_ru, "ru-mod's heartbeat: highest sequence sent is 5", "DCF-HBT-002", "DCF-HBT-004")
    entries = [
        ChecklistEntry(notice_id=RU3, owner=RU, version=1, state=NoticeState.ACTIVE),
        ChecklistEntry(notice_id=US2, owner=US, version=1, state=NoticeState.ACTIVE),
    ]
    add("ChecklistEntry", entries[0], "ru-mod's Idlib notice, version 1, active", "DCF-CHK-002", "DCF-CHK-003")
    checklist_ru = Checklist(
        channel_id=CHANNEL,
        party=RU,
        as_of_time=utc(3, 6, 30),
        entries=entries,
        last_sequence_sent=5,
        last_sequence_received=7,
    )
    checklist_us = checklist_ru.model_copy(
        update={"party": US, "as_of_time": utc(3, 6, 30, 1), "last_sequence_sent": 7, "last_sequence_received": 5}
    )
    add(
        "Checklist",
        checklist_ru,
        "ru-mod's checklist after a break: the active notices of both parties",
        "DCF-CHK-002",
        "DCF-CHK-003",
    )
    add(
        "Suspension",
        SUSPENSION_MODEL,
        "us-dod suspends notices pending review of the incident",
        "DCF-SUS-001",
        "DCF-SUS-002",
    )
    add("Resumption", RESUMPTION_MODEL, "us-dod ends the suspension", "DCF-SUS-008", "DCF-SUS-010")
    add(
        "InvolvedAircraft",
        INCIDENT_REPORT.aircraft[0],
        "the us-dod unmanned aircraft and the notice it flew under",
        "DCF-INC-003",
    )
    add(
        "IncidentReport",
        INCIDENT_REPORT,
        "an unsafe encounter near Idlib on 3 Oct 2015: where, when, altitude, aircraft, what happened",
        "DCF-INC-002",
        "DCF-INC-003",
        "DCF-INC-008",
    )
    add(
        "IncidentReport-distance-unknown",
        IncidentReport(
            incident_id="ru-mod/incident/2015-10-06/01",
            occurred_time=utc(6, 10, 5),
            position=point(35.62, 35.55),
            altitude=Altitude(value=300, reference=AltitudeReference.MSL, unit=AltitudeUnit.METRES),
            aircraft=[
                InvolvedAircraft(
                    party=RU,
                    aircraft_category=AircraftCategory.ROTARY_WING,
                    transponder_code="7700",
                    notice_id=RU_SAR,
                ),
                InvolvedAircraft(party=US, aircraft_category=AircraftCategory.UNMANNED),
            ],
            narrative=(
                "During the search and rescue under notice ru-mod/2015-10-06/0001, the crew of a rescue helicopter "
                "saw an unmanned aircraft pass overhead. The closest distances were not measured."
            ),
        ),
        "ru-mod reports an encounter during the search and rescue; closest distances unknown, so unset",
        "DCF-INC-002",
        "DCF-INC-003",
        "DCF-INC-008",
    )

    # NoticeService.
    def request(name: str, model: Message, description: str, *rules: str) -> None:
        add(name, model, description, "DCF-ENV-003", *rules)

    def answered(name: str, model: Message, description: str, *rules: str) -> None:
        add(name, model, description, "DCF-ACK-002", *rules)

    request(
        "SubmitNoticeRequest",
        SubmitNoticeRequest(envelope=sent[(RU, 2)].signed),
        "SubmitNotice: ru-mod's Hama notice, signed",
        "DCF-NTC-010",
        "DCF-ENV-001",
    )
    answered(
        "SubmitNoticeResponse",
        SubmitNoticeResponse(acknowledgement=signed_ack[(RU, 2)]),
        "us-dod's signed acknowledgement of the Hama notice",
        "DCF-NTC-014",
    )
    request(
        "AmendNoticeRequest",
        AmendNoticeRequest(envelope=sent[(RU, 3)].signed),
        "AmendNotice: version 2 of the Hama notice",
        "DCF-NTC-018",
    )
    answered(
        "AmendNoticeResponse",
        AmendNoticeResponse(acknowledgement=signed_ack[(RU, 3)]),
        "us-dod's signed acknowledgement of the amendment",
        "DCF-NTC-023",
    )
    request(
        "CancelNoticeRequest",
        CancelNoticeRequest(envelope=sent[(RU, 6)].signed),
        "CancelNotice: the Idlib notice",
        "DCF-NTC-025",
    )
    answered(
        "CancelNoticeResponse",
        CancelNoticeResponse(acknowledgement=signed_ack[(RU, 6)]),
        "us-dod's signed acknowledgement of the cancellation",
        "DCF-NTC-025",
    )
    request(
        "RespondToNoticeRequest",
        RespondToNoticeRequest(envelope=sent[(US, 3)].signed),
        "RespondToNotice: us-dod's UNABLE with two conflicts",
        "DCF-RSP-002",
    )
    answered(
        "RespondToNoticeResponse",
        RespondToNoticeResponse(acknowledgement=signed_ack[(US, 3)]),
        "ru-mod's signed acknowledgement of the UNABLE",
        "DCF-ACK-011",
    )
    record_ru1 = NoticeRecord(
        channel_id=CHANNEL,
        notice=notice_ru1(version=2),
        late=False,
        received_time=sent[(RU, 3)].envelope.created_time + STORE_DELAY,
        last_response=ResponseKind.ACCEPT,
        dialogue_state=DialogueState.ANSWERED,
        mode=Mode.OPERATIONAL,
    )
    record_ru2 = NoticeRecord(
        channel_id=CHANNEL,
        notice=notice_ru2(),
        late=True,
        received_time=sent[(RU, 4)].envelope.created_time + STORE_DELAY,
        response_due_time=ack[(RU, 4)].response_due_time,
        dialogue_state=DialogueState.PENDING,
        mode=Mode.OPERATIONAL,
    )
    record_us2 = NoticeRecord(
        channel_id=CHANNEL,
        notice=notice_us2(),
        received_time=sent[(US, 5)].envelope.created_time + STORE_DELAY,
        dialogue_state=DialogueState.TIMED_OUT,
        mode=Mode.OPERATIONAL,
    )
    add(
        "NoticeRecord",
        record_ru1,
        "us-dod's record of the Hama notice: version 2, accepted",
        "DCF-NTC-029",
        "DCF-RSP-026",
        "DCF-RSP-034",
        "DCF-RSP-035",
        "DCF-NTC-036",
    )
    add(
        "NoticeRecord-pending",
        record_ru2,
        "us-dod's record of the late Homs notice: no response yet, response due",
        "DCF-NTC-016",
        "DCF-NTC-029",
        "DCF-RSP-026",
        "DCF-RSP-034",
        "DCF-RSP-035",
        "DCF-NTC-036",
    )
    add(
        "NoticeRecord-timed-out",
        record_us2,
        "us-dod's record of its own Idlib orbit: no answer came in time, which is never consent",
        "DCF-NTC-029",
        "DCF-RSP-025",
        "DCF-RSP-026",
        "DCF-RSP-034",
        "DCF-RSP-035",
        "DCF-NTC-036",
    )
    add(
        "GetNoticeRequest",
        GetNoticeRequest(channel_id=CHANNEL, notice_id=RU1),
        "read the Hama notice",
        "DCF-NTC-029",
        "DCF-NTC-030",
    )
    add("GetNoticeResponse", GetNoticeResponse(record=record_ru1), "the Hama notice as us-dod holds it", "DCF-NTC-029")
    add(
        "ListNoticesRequest",
        ListNoticesRequest(
            channel_id=CHANNEL, owner=RU, states=[NoticeState.ACTIVE, NoticeState.CANCELLED], page_size=50
        ),
        "ru-mod's active and cancelled notices, 50 a page",
        "DCF-NTC-031",
        "DCF-NTC-032",
        "DCF-LIM-022",
        "DCF-NTC-035",
        "DCF-LIM-026",
    )
    add(
        "ListNoticesResponse",
        ListNoticesResponse(records=[record_ru1, record_ru2]),
        "two records, oldest first, last page",
        "DCF-NTC-031",
        "DCF-NTC-032",
    )

    # ConferenceService.
    request(
        "ProposeConferenceRequest",
        ProposeConferenceRequest(envelope=sent[(RU, 7)].signed),
        "ProposeConference: the second video conference, revision 1",
        "DCF-CNF-001",
    )
    answered(
        "ProposeConferenceResponse",
        ProposeConferenceResponse(acknowledgement=signed_ack[(RU, 7)]),
        "us-dod's signed acknowledgement: an answer is due within 24 hours",
        "DCF-CNF-024",
    )
    request(
        "AnswerConferenceRequest",
        AnswerConferenceRequest(envelope=sent[(US, 11)].signed),
        "AnswerConference: us-dod's counter, revision 2",
        "DCF-CNF-018",
    )
    answered(
        "AnswerConferenceResponse",
        AnswerConferenceResponse(acknowledgement=signed_ack[(US, 11)]),
        "ru-mod's signed acknowledgement of the counter",
        "DCF-CNF-024",
    )
    request(
        "RecordConferenceRequest",
        RecordConferenceRequest(envelope=sent[(RU, 10)].signed),
        "RecordConference: the record of the second video conference",
        "DCF-CNF-022",
    )
    answered(
        "RecordConferenceResponse",
        RecordConferenceResponse(acknowledgement=signed_ack[(RU, 10)]),
        "us-dod's signed acknowledgement of the record",
        "DCF-CNF-022",
    )
    request(
        "CancelConferenceRequest",
        CancelConferenceRequest(envelope=sent[(US, 15)].signed),
        "CancelConference: us-dod calls off the fourth video conference",
        "DCF-ENV-003",
        "DCF-CNF-037",
    )
    answered(
        "CancelConferenceResponse",
        CancelConferenceResponse(acknowledgement=signed_ack[(US, 15)]),
        "ru-mod's signed acknowledgement of the cancellation",
        "DCF-ACK-002",
        "DCF-CNF-040",
    )
    status_proposed = ConferenceStatus(
        channel_id=CHANNEL, state=ConferenceState.PROPOSED, proposer=RU, proposal=PROPOSAL_VC2_R1
    )
    status_recorded = ConferenceStatus(
        channel_id=CHANNEL,
        state=ConferenceState.RECORDED,
        proposer=US,
        proposal=PROPOSAL_VC2_R2,
        scheduled_slot=TimeSlot(start_time=utc(7, 14)),
        record=RECORD_VC2,
    )
    status_declined = ConferenceStatus(
        channel_id=CHANNEL, state=ConferenceState.DECLINED, proposer=RU, proposal=PROPOSAL_VC3_R1
    )
    status_cancelled = ConferenceStatus(
        channel_id=CHANNEL,
        state=ConferenceState.CANCELLED,
        proposer=US,
        proposal=PROPOSAL_VC4_R1,
        scheduled_slot=TimeSlot(start_time=utc(10, 12)),
    )
    add(
        "ConferenceStatus-proposed",
        status_proposed,
        "the second video conference once proposed",
        "DCF-CNF-003",
        "DCF-CNF-028",
        "DCF-CNF-039",
    )
    add(
        "ConferenceStatus-recorded",
        status_recorded,
        "the second video conference once held: revision 2 by us-dod, slot and record",
        "DCF-CNF-019",
        "DCF-CNF-022",
        "DCF-CNF-028",
        "DCF-CNF-039",
    )
    add(
        "ConferenceStatus-declined",
        status_declined,
        "the third video conference, declined",
        "DCF-CNF-020",
        "DCF-CNF-028",
        "DCF-CNF-039",
    )
    add(
        "ConferenceStatus-cancelled",
        status_cancelled,
        "the fourth video conference, scheduled and then called off: it keeps its slot",
        "DCF-CNF-028",
        "DCF-CNF-038",
        "DCF-CNF-039",
    )
    add(
        "GetConferenceRequest",
        GetConferenceRequest(channel_id=CHANNEL, conference_id=VC2),
        "read the second video conference",
        "DCF-CNF-028",
    )
    add(
        "GetConferenceResponse",
        GetConferenceResponse(status=status_recorded),
        "the second video conference as held",
        "DCF-CNF-028",
    )
    add(
        "ListConferencesRequest",
        ListConferencesRequest(channel_id=CHANNEL, page_size=50),
        "list the channel's conferences, 50 a page",
        "DCF-CNF-029",
        "DCF-CNF-041",
        "DCF-LIM-027",
    )
    add(
        "ListConferencesResponse",
        ListConferencesResponse(conferences=[status_recorded, status_declined, status_cancelled]),
        "three conferences, oldest first, last page",
        "DCF-CNF-029",
        "DCF-CNF-041",
        "DCF-LIM-027",
    )

    # ChannelService.
    add("HelloRequest", HelloRequest(hello=hello_ru), "ru-mod says Hello", "DCF-HEL-002", "DCF-HEL-009")
    add(
        "HelloResponse",
        HelloResponse(hello=hello_us, selected_major=1),
        "us-dod answers with its own Hello and selects major version 1",
        "DCF-HEL-007",
    )
    add(
        "HeartbeatRequest", HeartbeatRequest(heartbeat=heartbeat_ru), "ru-mod's heartbeat", "DCF-HBT-001", "DCF-HBT-002"
    )
    add(
        "HeartbeatResponse",
        HeartbeatResponse(heartbeat=heartbeat_us),
        "us-dod's own heartbeat in answer: highest sequence sent is 7",
        "DCF-HBT-003",
        "DCF-HBT-004",
    )
    add(
        "GetAgreementRequest",
        GetAgreementRequest(channel_id=CHANNEL),
        "ask for the agreement's exact bytes",
        "DCF-CHN-002",
    )
    add(
        "GetAgreementResponse",
        GetAgreementResponse(agreement=agreement_data, agreement_hash=agreement_digest),
        "the agreement's exact bytes (the Agreement vector) and their SHA-256",
        "DCF-CHN-001",
        "DCF-CHN-002",
    )
    add(
        "ExchangeChecklistRequest",
        ExchangeChecklistRequest(checklist=checklist_ru),
        "ru-mod's checklist after a break",
        "DCF-CHK-001",
        "DCF-CHK-002",
    )
    add(
        "ExchangeChecklistResponse",
        ExchangeChecklistResponse(checklist=checklist_us),
        "us-dod's checklist in answer",
        "DCF-CHK-002",
    )
    request(
        "SuspendRequest",
        SuspendRequest(envelope=sent[(US, 9)].signed),
        "Suspend: us-dod suspends the channel",
        "DCF-SUS-001",
    )
    answered(
        "SuspendResponse",
        SuspendResponse(acknowledgement=signed_ack[(US, 9)]),
        "ru-mod's signed acknowledgement of the suspension",
        "DCF-SUS-002",
    )
    request(
        "ResumeRequest",
        ResumeRequest(envelope=sent[(US, 10)].signed),
        "Resume: us-dod resumes the channel",
        "DCF-SUS-008",
    )
    answered(
        "ResumeResponse",
        ResumeResponse(acknowledgement=signed_ack[(US, 10)]),
        "ru-mod's signed acknowledgement of the resumption",
        "DCF-SUS-010",
    )
    request(
        "NotifyTimeoutRequest",
        NotifyTimeoutRequest(envelope=sent[(US, 6)].signed),
        "NotifyTimeout: us-dod's notice went unanswered; silence is never consent",
        "DCF-TMR-004",
        "DCF-TMR-017",
    )
    answered(
        "NotifyTimeoutResponse",
        NotifyTimeoutResponse(acknowledgement=signed_ack[(US, 6)]),
        "ru-mod's signed acknowledgement of the timeout",
        "DCF-TMR-014",
        "DCF-TMR-017",
    )
    request(
        "ReportIncidentRequest",
        ReportIncidentRequest(envelope=sent[(US, 8)].signed),
        "ReportIncident: the encounter near Idlib",
        "DCF-INC-001",
    )
    answered(
        "ReportIncidentResponse",
        ReportIncidentResponse(acknowledgement=signed_ack[(US, 8)]),
        "ru-mod's signed acknowledgement of the incident report",
        "DCF-INC-006",
    )
    add(
        "WatchRequest",
        WatchRequest(channel_id=CHANNEL, from_sequence=5),
        "ru-mod watches us-dod's envelopes from sequence 5",
        "DCF-STR-002",
    )
    add(
        "WatchResponse",
        WatchResponse(envelope=sent[(US, 5)].signed),
        "us-dod's envelope of sequence 5, exactly as sent",
        "DCF-STR-002",
        "DCF-STR-005",
    )
    add(
        "ExchangeRequest",
        ExchangeRequest(envelope=sent[(RU, 5)].signed),
        "ru-mod's Idlib notice on an Exchange stream",
        "DCF-STR-007",
    )
    add(
        "ExchangeResponse-acknowledgement",
        ExchangeResponse(acknowledgement=signed_ack[(RU, 5)]),
        "us-dod's signed acknowledgement on the stream",
        "DCF-STR-007",
        "DCF-STR-008",
    )
    add(
        "ExchangeResponse-refusal",
        ExchangeResponse(refusal=refusal),
        "a refusal on the stream, which goes on",
        "DCF-STR-008",
        "DCF-STR-009",
    )

    # The journal: ru-mod's journal of the channel, of the envelopes it sent, as us-dod witnesses it.
    journal = MerkleTree.of_entries(
        proto_of(item.signed).SerializeToString() for key, item in sorted(sent.items()) if key[0] == RU
    )
    checkpoint = sign_checkpoint(
        Checkpoint(journal_origin(CHANNEL, RU), journal.size, journal.root(), int(utc(20, 12).timestamp())),
        RU,
        KEY_IDS[RU],
        _key(RU),
    )
    note = checkpoint.encode().encode()
    cosignature = cosign(checkpoint, key_name(US, KEY_IDS[US]), _key(US), int(utc(20, 12).timestamp()) + 1)
    add(
        "GetCheckpointRequest",
        GetCheckpointRequest(channel_id=CHANNEL),
        "us-dod asks for ru-mod's checkpoint",
        "DCF-JNL-015",
    )
    add(
        "GetCheckpointResponse",
        GetCheckpointResponse(checkpoint=note),
        f"ru-mod's checkpoint of its journal of {journal.size} entries, signed with its key",
        "DCF-JNL-006",
        "DCF-JNL-015",
    )
    add(
        "GetConsistencyProofRequest",
        GetConsistencyProofRequest(channel_id=CHANNEL, first_size=2, second_size=journal.size),
        "the proof that ru-mod's journal of 2 entries is the start of its journal now",
        "DCF-JNL-008",
        "DCF-JNL-015",
    )
    add(
        "GetConsistencyProofResponse",
        GetConsistencyProofResponse(proof=journal.consistency_proof(2, journal.size)),
        "RFC 9162 PROOF(2, D[n]) of ru-mod's journal",
        "DCF-JNL-008",
        "DCF-JNL-015",
    )
    add(
        "GetInclusionProofRequest",
        GetInclusionProofRequest(channel_id=CHANNEL, index=1, tree_size=journal.size),
        "the proof of ru-mod's entry 1, an acknowledgement's journal_position",
        "DCF-JNL-008",
        "DCF-JNL-012",
        "DCF-JNL-015",
    )
    add(
        "GetInclusionProofResponse",
        GetInclusionProofResponse(proof=journal.inclusion_proof(1, journal.size)),
        "RFC 9162 PATH(1, D[n]) of ru-mod's journal",
        "DCF-JNL-008",
        "DCF-JNL-015",
    )
    add(
        "CosignRequest",
        CosignRequest(channel_id=CHANNEL, checkpoint=note, cosignatures=[cosignature.line().encode()]),
        "us-dod returns its cosignature of ru-mod's checkpoint",
        "DCF-JNL-009",
        "DCF-JNL-015",
    )
    add(
        "CosignResponse",
        CosignResponse(cosigned_size=journal.size),
        "ru-mod keeps us-dod's cosignature of that checkpoint",
        "DCF-JNL-015",
    )


# ---------------------------------------------------------------------------
# Invalid vectors.
# ---------------------------------------------------------------------------


def required(value: _T | None) -> _T:
    if value is None:
        raise VectorError("the scenario left a field unset that a vector needs")
    return value


def proto_of(model: Message) -> Any:
    """A fresh protobuf message of a valid model, to break."""
    return binding_for(type(model)).to_proto(model)


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) != 1 or len(old) != len(new):
        raise VectorError(f"cannot patch {old!r} in place")
    return data.replace(old, new)


def add_invalid(vectors: Vectors) -> None:
    agreement = build_agreement()
    sent = build_history()
    bad = vectors.invalid
    nan, inf = math.nan, math.inf

    def notice() -> notice_pb2.FlightNotice:
        message: notice_pb2.FlightNotice = proto_of(notice_ru1())
        return message

    def envelope(key: tuple[str, int] = (RU, 2)) -> envelope_pb2.Envelope:
        message: envelope_pb2.Envelope = proto_of(sent[key].envelope)
        return message

    # -- Bytes that do not decode (path "").
    decode = vectors.undecodable
    notice_bytes = binding_for(FlightNotice).encode(notice_ru1())
    decode(
        "flight-notice-truncated-varint",
        "deconflict.v1.FlightNotice",
        notice_bytes + b"\x38\x80",
        "a valid notice followed by aircraft_count (field 7) whose varint stops after a continuation byte",
        "DCF-ERR-004",
        "DCF-ENV-016",
    )
    envelope_bytes = sent[(RU, 2)].payload
    decode(
        "envelope-truncated",
        "deconflict.v1.Envelope",
        envelope_bytes[:-7],
        "a valid envelope cut 7 bytes short: the body's length runs past the end",
        "DCF-ENV-019",
        "DCF-ERR-004",
    )
    decode(
        "hello-wire-type-7",
        "deconflict.v1.Hello",
        b"\x0f" + binding_for(Hello).encode(_hello(agreement)),
        "a tag with wire type 7, which does not exist, before a valid Hello",
        "DCF-ERR-004",
    )
    decode(
        "signed-payload-end-group-without-start",
        "deconflict.v1.SignedPayload",
        binding_for(SignedPayload).encode(sent[(RU, 2)].signed) + b"\x0c",
        "a valid signed payload followed by an END_GROUP tag (wire type 4) with no group open",
        "DCF-ERR-004",
        "DCF-ENV-016",
    )
    decode(
        "submit-notice-request-http-text",
        "deconflict.v1.SubmitNoticeRequest",
        b"GET / HTTP/1.1\r\nHost: ru-mod\r\n\r\n",
        "plain text, not protobuf: 'G' reads as field 8 with wire type 7",
        "DCF-ENV-016",
        "DCF-ERR-004",
    )
    decode(
        "heartbeat-overlong-varint",
        "deconflict.v1.Heartbeat",
        b"\x20" + b"\xff" * 10 + b"\x01",
        "last_sequence_sent as a varint of 11 bytes: more than the 10 a 64-bit value may take",
        "DCF-ERR-004",
    )
    decode(
        "checklist-field-number-zero",
        "deconflict.v1.Checklist",
        b"\x00\x01",
        "a tag for field number 0, which no message may use",
        "DCF-ERR-004",
    )
    decode(
        "volume4d-garbage-submessage",
        "deconflict.v1.Volume4D",
        b"\x0a\x02\xff\xff",
        "volume (field 1) whose two bytes are not a Volume3D",
        "DCF-ERR-004",
    )
    hello_bytes = binding_for(Hello).encode(_hello(agreement))
    decode(
        "hello-invalid-utf8-party",
        "deconflict.v1.Hello",
        _replace_once(hello_bytes, b"\x12\x06ru-mod", b"\x12\x06ru\xc0\xafod"),
        "party holds an overlong UTF-8 encoding of '/' (C0 AF): not valid UTF-8",
        "DCF-LIM-005",
        "DCF-ERR-004",
    )
    decode(
        "envelope-invalid-utf8-channel-id",
        "deconflict.v1.Envelope",
        _replace_once(envelope_bytes, b"\x12\x0dru-mod:us-dod", b"\x12\x0dru-mod:us-do\xff"),
        "channel_id ends with the byte FF, never valid in UTF-8",
        "DCF-LIM-005",
        "DCF-ENV-019",
    )
    remarks = b"Departure and recovery at Latakia (Hmeimim)."
    decode(
        "flight-notice-invalid-utf8-remarks",
        "deconflict.v1.FlightNotice",
        _replace_once(notice_bytes, remarks, remarks[:-1] + b"\xed"),
        "remarks end with a truncated three-byte UTF-8 sequence",
        "DCF-LIM-005",
        "DCF-ERR-004",
    )

    # -- Coordinates.
    message = notice()
    message.volumes[0].volume.polygon.vertices[2].latitude = nan
    bad(
        "flight-notice-latitude-nan",
        message,
        "volumes[0].volume.polygon.vertices[2].latitude",
        "a polygon vertex with a NaN latitude",
        "DCF-GEO-001",
    )
    message = notice()
    message.volumes[0].volume.polygon.vertices[1].longitude = inf
    bad(
        "flight-notice-longitude-infinity",
        message,
        "volumes[0].volume.polygon.vertices[1].longitude",
        "a polygon vertex with an infinite longitude",
        "DCF-GEO-001",
    )
    message = notice()
    message.volumes[1].volume.circle.center.latitude = -inf
    bad(
        "flight-notice-circle-center-latitude-minus-infinity",
        message,
        "volumes[1].volume.circle.center.latitude",
        "a circle centre at latitude minus infinity",
        "DCF-GEO-001",
    )
    message_env = envelope()
    message_env.notice.volumes[0].volume.polygon.vertices[2].latitude = 95.0
    bad(
        "envelope-notice-latitude-past-90",
        message_env,
        "notice.volumes[0].volume.polygon.vertices[2].latitude",
        "a vertex at latitude 95, named by its path from the envelope",
        "DCF-GEO-002",
        "DCF-ENV-030",
        "DCF-ERR-003",
    )
    message = notice()
    message.volumes[0].volume.polygon.vertices[0].longitude = 180.5
    bad(
        "flight-notice-longitude-past-180",
        message,
        "volumes[0].volume.polygon.vertices[0].longitude",
        "a vertex at longitude 180.5",
        "DCF-GEO-003",
    )
    message_incident = _incident_envelope(sent)
    message_incident.incident_report.position.longitude = -181.0
    bad(
        "envelope-incident-longitude-minus-181",
        message_incident,
        "incident_report.position.longitude",
        "an incident position at longitude -181",
        "DCF-GEO-003",
        "DCF-INC-002",
    )

    # -- Polygons.
    def polygon_notice(*vertices: tuple[float, float]) -> notice_pb2.FlightNotice:
        message = notice()
        outline = message.volumes[0].volume.polygon
        del outline.vertices[:]
        for lat, lng in vertices:
            outline.vertices.add(latitude=lat, longitude=lng)
        return message

    bad(
        "polygon-two-distinct-vertices",
        polygon_notice((35.35, 35.95), (35.20, 36.70), (35.35, 35.95)),
        "volumes[0].volume.polygon.vertices",
        "three vertices of which only two are distinct",
        "DCF-GEO-005",
    )
    bad(
        "polygon-self-intersecting",
        polygon_notice((35.10, 35.95), (35.45, 36.70), (35.45, 35.95), (35.10, 36.70)),
        "volumes[0].volume.polygon.vertices",
        "a bow tie: the edges 0-1 and 2-3 cross",
        "DCF-GEO-010",
    )
    bad(
        "polygon-zero-area",
        polygon_notice((35.5, 35.75), (35.25, 36.25), (35.0, 36.75)),
        "volumes[0].volume.polygon.vertices",
        "three distinct vertices on one line (exact in binary floating point)",
        "DCF-GEO-009",
    )
    bad(
        "polygon-crossing-antimeridian",
        polygon_notice((10.0, 179.5), (10.0, -179.5), (11.0, -179.5), (11.0, 179.5)),
        "volumes[0].volume.polygon.vertices[1]",
        "a box straddling 180 degrees: the edge from vertex 0 to vertex 1 crosses the antimeridian",
        "DCF-GEO-007",
    )
    message = notice()
    vertices = message.volumes[0].volume.polygon.vertices
    del vertices[:]
    for index in range(257):
        angle = 2 * math.pi * index / 257
        vertices.add(latitude=35.3 + 0.2 * math.sin(angle), longitude=36.3 + 0.3 * math.cos(angle))
    bad(
        "polygon-257-vertices",
        message,
        "volumes[0].volume.polygon.vertices",
        "a polygon of 257 vertices, one more than the bound",
        "DCF-LIM-008",
        "DCF-LIM-001",
    )

    # -- Circles.
    def circle_notice(latitude: float, longitude: float, radius: float) -> notice_pb2.FlightNotice:
        message = notice()
        circle = message.volumes[1].volume.circle
        circle.center.latitude, circle.center.longitude, circle.radius_m = latitude, longitude, radius
        return message

    bad(
        "circle-at-pole",
        circle_notice(89.95, 0.0, 10_000.0),
        "volumes[1].volume.circle.radius_m",
        "a 10 km circle 5.6 km from the North Pole: it reaches the pole",
        "DCF-GEO-013",
    )
    bad(
        "circle-across-antimeridian",
        circle_notice(-17.0, 179.9, 50_000.0),
        "volumes[1].volume.circle.radius_m",
        "a 50 km circle centred 0.1 degree west of 180: it crosses the antimeridian",
        "DCF-GEO-014",
    )
    bad(
        "circle-radius-zero",
        circle_notice(35.13, 36.75, 0.0),
        "volumes[1].volume.circle.radius_m",
        "a circle of radius 0",
        "DCF-GEO-012",
    )
    bad(
        "circle-radius-too-large",
        circle_notice(35.13, 36.75, 500_001.0),
        "volumes[1].volume.circle.radius_m",
        "a radius of 500001 m, one metre past the bound",
        "DCF-GEO-012",
        "DCF-LIM-009",
    )
    bad(
        "circle-radius-nan",
        circle_notice(35.13, 36.75, nan),
        "volumes[1].volume.circle.radius_m",
        "a radius that is NaN",
        "DCF-GEO-012",
    )
    message = notice()
    message.volumes[1].volume.circle.ClearField("center")
    bad("circle-missing-center", message, "volumes[1].volume.circle.center", "a circle without a centre", "DCF-GEO-011")

    # -- Altitudes and volumes.
    message = notice()
    shape = message.volumes[0].volume
    shape.altitude_lower.value, shape.altitude_upper.value = 250, 100
    bad(
        "volume-lower-above-upper",
        message,
        "volumes[0].volume.altitude_upper",
        "lower limit FL250, upper limit FL100",
        "DCF-GEO-021",
    )
    message = notice()
    message.volumes[0].volume.altitude_upper.value = 100
    bad(
        "volume-lower-equals-upper",
        message,
        "volumes[0].volume.altitude_upper",
        "lower and upper limits both FL100: no thickness",
        "DCF-GEO-021",
    )
    message = notice()
    message.volumes[0].volume.ClearField("polygon")
    bad(
        "volume-no-outline",
        message,
        "volumes[0].volume.outline",
        "a volume with neither polygon nor circle: the oneof is named",
        "DCF-GEO-019",
        "DCF-ERR-003",
    )
    message = notice()
    message.volumes[0].volume.ClearField("altitude_lower")
    bad(
        "volume-missing-altitude-lower",
        message,
        "volumes[0].volume.altitude_lower",
        "a volume without a lower limit",
        "DCF-GEO-020",
    )
    message = notice()
    message.volumes[0].volume.altitude_lower.reference = geometry_pb2.AltitudeReference.ValueType(0)
    bad(
        "altitude-reference-unspecified",
        message,
        "volumes[0].volume.altitude_lower.reference",
        "ALTITUDE_REFERENCE_UNSPECIFIED: a bare number is not an altitude",
        "DCF-GEO-015",
        "DCF-CMP-004",
    )
    message = notice()
    message.volumes[0].volume.altitude_upper.unit = geometry_pb2.AltitudeUnit.ValueType(99)
    bad(
        "altitude-unit-unknown",
        message,
        "volumes[0].volume.altitude_upper.unit",
        "altitude unit 99, which the schema does not define",
        "DCF-GEO-015",
        "DCF-CMP-003",
    )
    message = notice()
    message.volumes[0].volume.altitude_lower.reference = geometry_pb2.ALTITUDE_REFERENCE_MSL
    bad(
        "altitude-flight-level-with-msl",
        message,
        "volumes[0].volume.altitude_lower.unit",
        "a flight level measured from mean sea level",
        "DCF-GEO-016",
    )
    message = notice()
    lower = message.volumes[1].volume.altitude_lower
    lower.reference, lower.unit, lower.value = (
        geometry_pb2.ALTITUDE_REFERENCE_MSL,
        geometry_pb2.ALTITUDE_UNIT_FEET,
        -3282,
    )
    message.volumes[1].volume.altitude_upper.value = 50
    bad(
        "altitude-below-minus-1000-m",
        message,
        "volumes[1].volume.altitude_lower.value",
        "-3282 ft MSL, about -1000.35 m: below the altitude bound",
        "DCF-LIM-010",
    )
    message = notice()
    message.volumes[0].volume.altitude_upper.value = 3300
    bad(
        "altitude-above-100-km",
        message,
        "volumes[0].volume.altitude_upper.value",
        "FL3300, about 100.6 km: past the altitude bound",
        "DCF-LIM-010",
    )
    message = notice()
    lower, upper = message.volumes[0].volume.altitude_lower, message.volumes[0].volume.altitude_upper
    lower.reference, lower.unit, lower.value = geometry_pb2.ALTITUDE_REFERENCE_AGL, geometry_pb2.ALTITUDE_UNIT_FEET, 0
    upper.reference, upper.unit, upper.value = (
        geometry_pb2.ALTITUDE_REFERENCE_MSL,
        geometry_pb2.ALTITUDE_UNIT_FEET,
        5000,
    )
    bad(
        "volume-incomparable-references",
        message,
        "volumes[0].volume.altitude_upper.reference",
        "AGL lower limit and MSL upper limit: not comparable without terrain data",
        "DCF-GEO-018",
        "DCF-GEO-020",
    )

    # -- Times.
    message = notice()
    message.volumes[0].time_end.CopyFrom(message.volumes[0].time_start)
    message.volumes[0].time_end.seconds -= 600
    bad(
        "volume-end-before-start",
        message,
        "volumes[0].time_end",
        "a volume that ends ten minutes before it starts",
        "DCF-GEO-022",
    )
    message = notice()
    message.volumes[1].ClearField("time_start")
    bad("volume-missing-time-start", message, "volumes[1].time_start", "a volume without a start time", "DCF-GEO-022")
    message = notice()
    message.volumes[0].time_start.nanos = 1
    bad(
        "timestamp-finer-than-microsecond",
        message,
        "volumes[0].time_start",
        "a start time of 05:40:00.000000001Z: one nanosecond",
        "DCF-GEO-024",
    )
    message = notice()
    message.volumes[0].time_end.seconds = 253_402_300_800
    bad(
        "timestamp-past-year-9999",
        message,
        "volumes[0].time_end",
        "an end time in the year 10000, outside the Timestamp range (no JSON: json_format cannot write it)",
        "DCF-GEO-024",
    )
    message = notice()
    message.volumes[0].time_end.seconds = message.volumes[0].time_start.seconds + 367 * 86_400
    bad("volume-longer-than-366-days", message, "volumes[0].time_end", "a volume lasting 367 days", "DCF-LIM-024")
    timeout_envelope = envelope((US, 6))
    timeout_envelope.timeout.waited.nanos = 600_000_001
    bad(
        "duration-finer-than-microsecond",
        timeout_envelope,
        "timeout.waited",
        "a waited duration with a nanosecond part",
        "DCF-GEO-025",
        "DCF-TMR-009",
    )
    timeout_envelope = envelope((US, 6))
    timeout_envelope.timeout.waited.nanos = -600_000_000
    bad(
        "duration-mixed-signs",
        timeout_envelope,
        "timeout.waited",
        "a Duration of +1801 s and -0.6 s: seconds and nanos of different signs",
        "DCF-GEO-025",
    )

    # -- Notices.
    message = notice()
    message.state = notice_pb2.NoticeState.ValueType(0)
    bad("flight-notice-state-unspecified", message, "state", "NOTICE_STATE_UNSPECIFIED", "DCF-CMP-004", "DCF-NTC-028")
    message = notice()
    message.aircraft_category = notice_pb2.AircraftCategory.ValueType(99)
    bad(
        "flight-notice-aircraft-category-unknown",
        message,
        "aircraft_category",
        "aircraft category 99",
        "DCF-NTC-004",
        "DCF-CMP-003",
    )
    message = notice()
    message.category = notice_pb2.NoticeCategory.ValueType(99)
    bad(
        "flight-notice-category-unknown",
        message,
        "category",
        "notice category 99: a receiver never guesses a priority",
        "DCF-NTC-004",
        "DCF-CMP-003",
    )
    message = notice()
    message.category = notice_pb2.NoticeCategory.ValueType(0)
    bad(
        "flight-notice-category-unspecified",
        message,
        "category",
        "NOTICE_CATEGORY_UNSPECIFIED",
        "DCF-NTC-004",
        "DCF-CMP-004",
    )
    message = notice()
    del message.volumes[:]
    bad("flight-notice-no-volumes", message, "volumes", "a notice without volumes", "DCF-NTC-003")
    message = notice()
    for _ in range(63):
        message.volumes.add().CopyFrom(message.volumes[1])
    bad(
        "flight-notice-65-volumes",
        message,
        "volumes",
        "65 volumes, one more than the bound",
        "DCF-NTC-003",
        "DCF-LIM-007",
        "DCF-LIM-001",
    )
    message = notice()
    message.aircraft_count = 0
    bad("flight-notice-aircraft-count-zero", message, "aircraft_count", "no aircraft", "DCF-NTC-005")
    message = notice()
    message.aircraft_count = 1001
    bad(
        "flight-notice-aircraft-count-1001",
        message,
        "aircraft_count",
        "1001 aircraft, one more than the bound",
        "DCF-NTC-005",
        "DCF-LIM-014",
    )
    message = notice()
    remarks_text = "Departure and recovery at Latakia. " * 114
    message.remarks = remarks_text + "x" * (4001 - len(remarks_text))
    bad(
        "flight-notice-remarks-4001-characters",
        message,
        "remarks",
        "remarks of 4001 characters, one more than the bound",
        "DCF-NTC-009",
        "DCF-LIM-004",
        "DCF-LIM-001",
    )
    message = notice()
    message.notice_id = "ru-mod/" + "0" * 122
    bad(
        "flight-notice-id-129-characters",
        message,
        "notice_id",
        "a notice id of 129 characters, one more than the bound",
        "DCF-NTC-001",
        "DCF-LIM-002",
    )
    message = notice()
    message.owner = "ru mod"
    bad("flight-notice-owner-with-space", message, "owner", "an owner id with a space", "DCF-LIM-002")
    message = notice()
    message.callsigns.extend(f"RFF{index:02d}" for index in range(17))
    bad(
        "flight-notice-17-callsigns",
        message,
        "callsigns",
        "17 callsigns, one more than the bound",
        "DCF-LIM-021",
        "DCF-LIM-001",
    )
    message = notice()
    message.callsigns.extend(["RFF01", "rff02"])
    bad("flight-notice-lower-case-callsign", message, "callsigns[1]", "a callsign in lower case", "DCF-NTC-006")
    message = notice()
    message.transponder_codes.append("7780")
    bad(
        "flight-notice-transponder-code-not-octal",
        message,
        "transponder_codes[0]",
        "transponder code 7780: 8 is not an octal digit",
        "DCF-NTC-006",
    )
    message = notice()
    message.frequency_ids.append(GUARD_VHF)
    bad(
        "flight-notice-repeated-frequency",
        message,
        "frequency_ids[2]",
        "the 121.5 MHz guard frequency named twice",
        "DCF-NTC-008",
    )
    amendment_envelope = envelope((RU, 3))
    amendment_envelope.amendment.notice.version = 3
    bad(
        "envelope-amendment-version-skips",
        amendment_envelope,
        "amendment.notice.version",
        "an amendment of version 1 whose new content is version 3",
        "DCF-NTC-018",
    )
    amendment_envelope = envelope((RU, 3))
    amendment_envelope.amendment.notice.state = notice_pb2.NOTICE_STATE_CANCELLED
    bad(
        "envelope-amendment-not-active",
        amendment_envelope,
        "amendment.notice.state",
        "an amendment whose new content is CANCELLED",
        "DCF-NTC-018",
    )
    cancellation_envelope = envelope((RU, 6))
    cancellation_envelope.cancellation.version = 0
    bad(
        "envelope-cancellation-version-zero",
        cancellation_envelope,
        "cancellation.version",
        "a cancellation of version 0: unset, or no version at all",
        "DCF-NTC-034",
    )
    amendment: notice_pb2.NoticeAmendment = proto_of(NoticeAmendment(replaces_version=1, notice=notice_ru1(2)))
    amendment.ClearField("notice")
    bad("notice-amendment-missing-notice", amendment, "notice", "an amendment without content", "DCF-NTC-018")

    # -- Responses and timeouts.
    def answer(model: OperationalResponse) -> response_pb2.OperationalResponse:
        message: response_pb2.OperationalResponse = proto_of(model)
        return message

    message_response = answer(RESPONSE_UNABLE)
    del message_response.reasons[:]
    bad("response-unable-without-reasons", message_response, "reasons", "UNABLE with no reason", "DCF-RSP-005")
    message_response = answer(RESPONSE_COUNTER)
    del message_response.counter_volumes[:]
    bad(
        "response-counter-without-volumes",
        message_response,
        "counter_volumes",
        "COUNTER with no alternative volume",
        "DCF-RSP-010",
    )
    message_response = answer(RESPONSE_UNABLE)
    message_response.reasons.append(response_pb2.UnableReason.ValueType(99))
    bad(
        "response-reason-unknown",
        message_response,
        "reasons[1]",
        "UNABLE whose second reason is 99",
        "DCF-RSP-005",
        "DCF-CMP-003",
    )
    message_response = answer(RESPONSE_ACCEPT)
    message_response.notice_version = 0
    bad(
        "response-notice-version-zero",
        message_response,
        "notice_version",
        "a response to version 0, which no notice has",
        "DCF-RSP-036",
    )
    message_response = answer(RESPONSE_ACCEPT)
    message_response.kind = response_pb2.ResponseKind.ValueType(0)
    bad(
        "response-kind-unspecified",
        message_response,
        "kind",
        "RESPONSE_KIND_UNSPECIFIED: silence is never consent",
        "DCF-RSP-003",
        "DCF-CMP-004",
    )
    message_response = answer(RESPONSE_UNABLE)
    message_response.kind = response_pb2.RESPONSE_KIND_ACCEPT
    del message_response.reasons[:]
    message_response.offending_field = ""
    bad(
        "response-accept-with-conflicts",
        message_response,
        "conflicts",
        "ACCEPT carrying conflicting notices",
        "DCF-RSP-009",
    )
    message_response = answer(RESPONSE_UNABLE)
    message_response.reasons[0] = response_pb2.UNABLE_REASON_OTHER
    del message_response.conflicts[:]
    message_response.remarks = "   "
    bad(
        "response-unable-other-without-remarks",
        message_response,
        "remarks",
        "UNABLE for reason OTHER with blank remarks",
        "DCF-RSP-007",
    )
    message_response = answer(RESPONSE_UNABLE)
    message_response.conflicts[1].volume_index = 64
    bad(
        "response-conflict-volume-index-64",
        message_response,
        "conflicts[1].volume_index",
        "a conflict at volume index 64: no notice has that many volumes",
        "DCF-RSP-011",
    )
    timeout_envelope = envelope((US, 6))
    timeout_envelope.timeout.unanswered_kind = response_pb2.MESSAGE_KIND_CANCELLATION
    bad(
        "envelope-timeout-kind-cancellation",
        timeout_envelope,
        "timeout.unanswered_kind",
        "a timeout for a cancellation, which needs no answer",
        "DCF-TMR-009",
    )
    timeout_envelope = envelope((US, 6))
    timeout_envelope.timeout.unanswered_message_id = message_id(US, 4)
    bad(
        "envelope-timeout-other-message",
        timeout_envelope,
        "timeout.unanswered_message_id",
        "a timeout whose unanswered message is not the envelope's in_reply_to",
        "DCF-TMR-009",
    )

    # -- Envelopes and signed payloads.
    message_env = envelope()
    message_env.ClearField("notice")
    bad("envelope-no-body", message_env, "body", "an envelope with no body: the oneof is named", "DCF-ENV-019")
    message_env = envelope()
    message_env.recipient = RU
    bad("envelope-recipient-is-sender", message_env, "recipient", "ru-mod sends to ru-mod", "DCF-ENV-005")
    message_env = envelope()
    message_env.mode = envelope_pb2.Mode.ValueType(0)
    bad("envelope-mode-unspecified", message_env, "mode", "MODE_UNSPECIFIED", "DCF-ENV-008", "DCF-CMP-004")
    message_env = envelope()
    message_env.mode = envelope_pb2.Mode.ValueType(99)
    bad("envelope-mode-unknown", message_env, "mode", "mode 99", "DCF-ENV-008", "DCF-CMP-003")
    message_env = envelope((US, 9))
    message_env.mode = envelope_pb2.MODE_EXERCISE
    bad("envelope-suspension-exercise", message_env, "mode", "a suspension sent as an exercise", "DCF-ENV-009")
    message_env = envelope()
    message_env.protocol_version.major = 2
    bad(
        "envelope-protocol-major-2",
        message_env,
        "protocol_version.major",
        "protocol major version 2 on deconflict.v1",
        "DCF-ENV-007",
    )
    message_env = envelope()
    message_env.ClearField("created_time")
    bad("envelope-missing-created-time", message_env, "created_time", "no creation time", "DCF-ENV-007")
    message_env = envelope()
    message_env.sequence = 0
    bad("envelope-sequence-zero", message_env, "sequence", "sequence 0: sequences start at 1", "DCF-ENV-007")
    message_env = envelope((US, 3))
    message_env.in_reply_to = ""
    bad(
        "envelope-response-without-in-reply-to",
        message_env,
        "in_reply_to",
        "a response that does not say which message it answers",
        "DCF-ENV-011",
    )
    signed: envelope_pb2.SignedPayload = proto_of(sent[(RU, 2)].signed)
    signed.payload_type = "deconflict.v1.FlightNotice"
    bad(
        "signed-payload-wrong-type",
        signed,
        "payload_type",
        "a payload type other than Envelope or LogicalAcknowledgement",
        "DCF-ENV-017",
    )
    signed = proto_of(sent[(RU, 2)].signed)
    signed.payload = b""
    bad("signed-payload-empty", signed, "payload", "an empty payload", "DCF-ENV-016", "DCF-LIM-006")
    signed = proto_of(sent[(RU, 2)].signed)
    signed.signatures[0].signature = signed.signatures[0].signature[:63]
    bad(
        "signed-payload-signature-63-bytes",
        signed,
        "signatures[0].signature",
        "an Ed25519 signature of 63 bytes",
        "DCF-SEC-010",
    )
    signed = proto_of(sent[(RU, 2)].signed)
    signed.signatures.add().CopyFrom(signed.signatures[0])
    bad(
        "signed-payload-repeated-key",
        signed,
        "signatures[1].key_id",
        "two signatures with the same key id",
        "DCF-SEC-010",
    )
    signed = proto_of(sent[(RU, 2)].signed)
    for index in range(8):
        signed.signatures.add(key_id=f"ru-mod/key-{index}", signature=bytes(64))
    bad(
        "signed-payload-9-signatures",
        signed,
        "signatures",
        "nine signatures, one more than the bound",
        "DCF-LIM-023",
        "DCF-SEC-010",
    )
    submit: Any = proto_of(SubmitNoticeRequest(envelope=sent[(RU, 2)].signed))
    submit.ClearField("envelope")
    bad("submit-notice-request-missing-envelope", submit, "envelope", "no envelope", "DCF-ENV-016")
    submit = proto_of(SubmitNoticeRequest(envelope=sent[(RU, 2)].signed))
    submit.envelope.payload_type = ACKNOWLEDGEMENT_TYPE
    bad(
        "submit-notice-request-acknowledgement-type",
        submit,
        "envelope.payload_type",
        "a write carrying an acknowledgement instead of an envelope",
        "DCF-ENV-017",
    )
    submit_response: Any = proto_of(SubmitNoticeResponse(acknowledgement=_signed_ack(sent, agreement)))
    submit_response.acknowledgement.payload_type = ENVELOPE_TYPE
    bad(
        "submit-notice-response-envelope-type",
        submit_response,
        "acknowledgement.payload_type",
        "an answer carrying an envelope instead of an acknowledgement",
        "DCF-ACK-002",
    )
    exchange_response: Any = proto_of(ExchangeResponse(acknowledgement=_signed_ack(sent, agreement)))
    exchange_response.ClearField("acknowledgement")
    bad(
        "exchange-response-no-result",
        exchange_response,
        "result",
        "neither acknowledgement nor refusal: the oneof is named",
        "DCF-STR-008",
    )

    # -- Hashes and keys.
    hello_request: Any = proto_of(HelloRequest(hello=_hello(agreement)))
    hello_request.hello.agreement_hash = hello_request.hello.agreement_hash[:31]
    bad(
        "hello-agreement-hash-31-bytes",
        hello_request,
        "hello.agreement_hash",
        "an agreement hash of 31 bytes",
        "DCF-HEL-002",
    )
    hello_request = proto_of(HelloRequest(hello=_hello(agreement)))
    hello_request.hello.supported_versions.min_major = 2
    bad(
        "hello-version-range-reversed",
        hello_request,
        "hello.supported_versions.max_major",
        "supported versions from 2 to 1",
        "DCF-HEL-002",
    )
    ack_message: Any = proto_of(acknowledgement(sent[(RU, 2)], agreement))
    ack_message.payload_sha256 = b""
    bad(
        "acknowledgement-payload-sha256-empty",
        ack_message,
        "payload_sha256",
        "an acknowledgement without the digest of what was stored",
        "DCF-ACK-004",
    )
    get_agreement: Any = proto_of(
        GetAgreementResponse(
            agreement=agreement_bytes(agreement), agreement_hash=agreement_hash(agreement_bytes(agreement))
        )
    )
    get_agreement.agreement_hash = hashlib.sha256(get_agreement.agreement + b"\n").digest()
    bad(
        "get-agreement-response-hash-mismatch",
        get_agreement,
        "agreement_hash",
        "a hash that is not the SHA-256 of the agreement bytes",
        "DCF-CHN-002",
    )
    proposal: conference_pb2.ConferenceProposal = proto_of(PROPOSAL_VC2_R1)
    proposal.agenda[0].documents[0].sha256 += b"\x00"
    bad(
        "document-sha256-33-bytes",
        proposal,
        "agenda[0].documents[0].sha256",
        "a document digest of 33 bytes",
        "DCF-CNF-011",
    )

    # -- Agreement.
    def agreement_proto() -> channel_pb2.Agreement:
        message: channel_pb2.Agreement = proto_of(agreement)
        return message

    message_agreement = agreement_proto()
    message_agreement.parties.append("tr-mod")
    bad(
        "agreement-three-parties",
        message_agreement,
        "parties",
        "an agreement between three parties",
        "DCF-CHN-004",
        "DCF-GEN-002",
    )
    message_agreement = agreement_proto()
    message_agreement.parties[1] = RU
    bad(
        "agreement-same-party-twice",
        message_agreement,
        "parties[1]",
        "an agreement of ru-mod with itself",
        "DCF-CHN-004",
    )
    message_agreement = agreement_proto()
    message_agreement.keys[0].ed25519_public_key = message_agreement.keys[0].ed25519_public_key[:31]
    bad(
        "agreement-key-31-bytes",
        message_agreement,
        "keys[0].ed25519_public_key",
        "an Ed25519 public key of 31 bytes",
        "DCF-CHN-011",
    )
    message_agreement = agreement_proto()
    message_agreement.frequencies[0].khz = 121
    bad(
        "agreement-frequency-in-mhz",
        message_agreement,
        "frequencies[0].khz",
        "121.5 MHz written as 121 instead of 121500 kHz",
        "DCF-CHN-007",
        "DCF-LIM-018",
    )
    message_agreement = agreement_proto()
    message_agreement.frequencies[1].use = channel_pb2.FrequencyUse.ValueType(0)
    bad(
        "agreement-frequency-use-unspecified",
        message_agreement,
        "frequencies[1].use",
        "a frequency whose use is FREQUENCY_USE_UNSPECIFIED",
        "DCF-CHN-007",
        "DCF-CMP-004",
    )
    message_agreement = agreement_proto()
    message_agreement.contacts[1].party = "tr-mod"
    bad(
        "agreement-contact-outside-parties",
        message_agreement,
        "contacts[1].party",
        "a point of contact of a party outside the agreement",
        "DCF-CHN-009",
    )
    message_agreement = agreement_proto()
    message_agreement.clock_skew_tolerance.seconds = 7200
    bad(
        "agreement-clock-skew-2-hours",
        message_agreement,
        "clock_skew_tolerance",
        "a clock-skew tolerance of two hours",
        "DCF-CHN-004",
        "DCF-LIM-016",
    )
    message_agreement = agreement_proto()
    message_agreement.response_timers[0].kind = response_pb2.MessageKind.ValueType(99)
    bad(
        "agreement-timer-kind-unknown",
        message_agreement,
        "response_timers[0].kind",
        "a response timer for message kind 99",
        "DCF-CHN-005",
        "DCF-CMP-003",
    )
    message_agreement = agreement_proto()
    message_agreement.minimum_lead_time.seconds = -3600
    bad(
        "agreement-lead-time-negative",
        message_agreement,
        "minimum_lead_time",
        "a minimum lead time of minus one hour",
        "DCF-CHN-004",
    )
    message_agreement = agreement_proto()
    message_agreement.separation.lateral_m = nan
    bad(
        "agreement-separation-nan",
        message_agreement,
        "separation.lateral_m",
        "a lateral separation that is NaN",
        "DCF-CHN-004",
    )
    message_agreement = agreement_proto()
    message_agreement.priority_rules[1].overrides.append(notice_pb2.NOTICE_CATEGORY_MEDEVAC)
    bad(
        "agreement-priority-overrides-itself",
        message_agreement,
        "priority_rules[1].overrides[1]",
        "MEDEVAC overriding MEDEVAC",
        "DCF-CHN-010",
    )

    # -- Conferences.
    answer_message: conference_pb2.ConferenceAnswer = proto_of(ANSWER_COUNTER)
    answer_message.counter.revision = 3
    bad(
        "conference-answer-counter-wrong-revision",
        answer_message,
        "counter.revision",
        "a counter to revision 1 that calls itself revision 3",
        "DCF-CNF-018",
    )
    answer_message = proto_of(ANSWER_COUNTER)
    answer_message.counter.conference_id = VC3
    bad(
        "conference-answer-counter-other-conference",
        answer_message,
        "counter.conference_id",
        "a counter that names another conference",
        "DCF-CNF-018",
    )
    answer_message = proto_of(ANSWER_ACCEPT)
    answer_message.ClearField("accept")
    bad(
        "conference-answer-no-answer",
        answer_message,
        "answer",
        "neither accept, counter nor decline: the oneof is named",
        "DCF-CNF-012",
    )
    answer_message = proto_of(ANSWER_DECLINE)
    answer_message.decline.reason = ""
    bad(
        "conference-answer-decline-without-reason",
        answer_message,
        "decline.reason",
        "a decline with an empty reason",
        "DCF-CNF-020",
    )

    def proposal_proto() -> conference_pb2.ConferenceProposal:
        message: conference_pb2.ConferenceProposal = proto_of(PROPOSAL_VC2_R1)
        return message

    proposal = proposal_proto()
    for hour in range(15):
        proposal.candidate_slots.add().start_time.CopyFrom(proposal.candidate_slots[1].start_time)
        proposal.candidate_slots[-1].start_time.seconds += 3600 * (hour + 1)
    bad(
        "conference-proposal-17-slots",
        proposal,
        "candidate_slots",
        "17 candidate slots, one more than the bound",
        "DCF-CNF-005",
        "DCF-LIM-012",
    )
    proposal = proposal_proto()
    proposal.candidate_slots[1].CopyFrom(proposal.candidate_slots[0])
    bad(
        "conference-proposal-repeated-slot",
        proposal,
        "candidate_slots[1]",
        "the same slot proposed twice",
        "DCF-CNF-005",
    )
    proposal = proposal_proto()
    proposal.classification = conference_pb2.Classification.ValueType(0)
    bad(
        "conference-proposal-classification-unspecified",
        proposal,
        "classification",
        "CLASSIFICATION_UNSPECIFIED",
        "DCF-CNF-004",
        "DCF-CMP-004",
    )
    proposal = proposal_proto()
    proposal.participants[0].role = conference_pb2.ParticipantRole.ValueType(99)
    bad(
        "conference-proposal-role-unknown",
        proposal,
        "participants[0].role",
        "participant role 99",
        "DCF-CNF-006",
        "DCF-CMP-003",
    )
    proposal = proposal_proto()
    proposal.duration.seconds = 25 * 3600
    bad(
        "conference-proposal-duration-25-hours",
        proposal,
        "duration",
        "a conference of 25 hours",
        "DCF-CNF-004",
        "DCF-LIM-015",
    )
    proposal = proposal_proto()
    proposal.agenda[0].allotted.seconds = 90 * 60
    bad(
        "conference-proposal-agenda-over-duration",
        proposal,
        "agenda",
        "items allotted 2 h 15 min in a conference of 2 h",
        "DCF-CNF-007",
    )
    proposal = proposal_proto()
    del proposal.agenda[1].documents[:]
    bad(
        "conference-proposal-review-without-document",
        proposal,
        "agenda[1].documents",
        "a proposal review that names no document",
        "DCF-CNF-010",
    )
    proposal = proposal_proto()
    proposal.agenda[2].item_id = "ru-1"
    bad(
        "conference-proposal-repeated-item-id",
        proposal,
        "agenda[2].item_id",
        "two agenda items with the id ru-1",
        "DCF-CNF-007",
    )
    proposal = proposal_proto()
    title = "Second video conference on flight safety over Syria; " * 4
    proposal.title = title + "x" * (257 - len(title))
    bad(
        "conference-proposal-title-257-characters",
        proposal,
        "title",
        "a title of 257 characters, one more than the bound",
        "DCF-CNF-004",
        "DCF-LIM-003",
    )
    proposal = proposal_proto()
    del proposal.participants[:]
    for index in range(65):
        proposal.participants.add(party=f"ru-mod/delegate-{index}", role=conference_pb2.PARTICIPANT_ROLE_TECHNICAL)
    bad(
        "conference-proposal-65-participants",
        proposal,
        "participants",
        "65 participants, one more than the bound",
        "DCF-CNF-006",
        "DCF-LIM-011",
    )
    record: conference_pb2.ConferenceRecord = proto_of(RECORD_VC2)
    record.end_time.seconds = record.start_time.seconds - 60
    bad("conference-record-end-before-start", record, "end_time", "a record that ends before it starts", "DCF-CNF-023")

    # -- The rest of the channel.
    checklist: Any = proto_of(
        ExchangeChecklistRequest(
            checklist=Checklist(
                channel_id=CHANNEL,
                party=RU,
                as_of_time=utc(3, 6, 30),
                entries=[
                    ChecklistEntry(notice_id=RU3, owner=RU, version=1, state=NoticeState.ACTIVE),
                    ChecklistEntry(notice_id=US2, owner=US, version=1, state=NoticeState.ACTIVE),
                ],
            )
        )
    )
    checklist.checklist.entries[0].state = notice_pb2.NoticeState.ValueType(0)
    bad(
        "checklist-state-unspecified",
        checklist,
        "checklist.entries[0].state",
        "a checklist entry whose state is NOTICE_STATE_UNSPECIFIED",
        "DCF-CHK-003",
        "DCF-CMP-004",
    )
    checklist.checklist.entries[0].state = notice_pb2.NOTICE_STATE_ACTIVE
    checklist.checklist.entries[1].notice_id = RU3
    bad(
        "checklist-repeated-notice",
        checklist,
        "checklist.entries[1].notice_id",
        "the same notice listed twice",
        "DCF-CHK-003",
    )
    heartbeat: Any = proto_of(
        HeartbeatRequest(heartbeat=Heartbeat(channel_id=CHANNEL, party=RU, sent_time=utc(3, 6, 30)))
    )
    heartbeat.heartbeat.ClearField("sent_time")
    bad("heartbeat-missing-sent-time", heartbeat, "heartbeat.sent_time", "a heartbeat without time", "DCF-HBT-002")
    incident_envelope = _incident_envelope(sent)
    del incident_envelope.incident_report.aircraft[:]
    bad(
        "envelope-incident-no-aircraft",
        incident_envelope,
        "incident_report.aircraft",
        "an incident with no aircraft",
        "DCF-INC-002",
    )
    incident_envelope = _incident_envelope(sent)
    incident_envelope.incident_report.closest_lateral_m = -9000.0
    bad(
        "envelope-incident-negative-distance",
        incident_envelope,
        "incident_report.closest_lateral_m",
        "a closest lateral distance of -9000 m",
        "DCF-INC-002",
        "DCF-INC-008",
    )
    incident_envelope = _incident_envelope(sent)
    incident_envelope.incident_report.narrative = ""
    bad(
        "envelope-incident-empty-narrative",
        incident_envelope,
        "incident_report.narrative",
        "an incident that does not say what happened",
        "DCF-INC-002",
    )
    incident_envelope = _incident_envelope(sent)
    incident_envelope.incident_report.aircraft[1].transponder_code = "77000"
    bad(
        "envelope-incident-transponder-code-5-digits",
        incident_envelope,
        "incident_report.aircraft[1].transponder_code",
        "an SSR code of five digits",
        "DCF-INC-003",
    )
    suspension_envelope = envelope((US, 9))
    suspension_envelope.suspension.reason = ""
    bad(
        "envelope-suspension-without-reason",
        suspension_envelope,
        "suspension.reason",
        "a suspension that does not say why",
        "DCF-SUS-001",
    )
    resumption_envelope = envelope((US, 10))
    resumption_envelope.resumption.ClearField("effective_time")
    bad(
        "envelope-resumption-missing-effective-time",
        resumption_envelope,
        "resumption.effective_time",
        "a resumption without an effective time",
        "DCF-SUS-008",
    )
    list_request: Any = proto_of(ListNoticesRequest(channel_id=CHANNEL, states=[NoticeState.ACTIVE]))
    list_request.states.append(notice_pb2.NoticeState.ValueType(99))
    bad("list-notices-state-unknown", list_request, "states[1]", "a state filter of 99", "DCF-NTC-031", "DCF-CMP-003")
    list_request = proto_of(ListNoticesRequest(channel_id=CHANNEL, states=[NoticeState.ACTIVE]))
    list_request.states.append(notice_pb2.NOTICE_STATE_ACTIVE)
    bad(
        "list-notices-repeated-state",
        list_request,
        "states[1]",
        "the state filter ACTIVE given twice",
        "DCF-NTC-035",
        "DCF-LIM-025",
    )
    list_request = proto_of(ListNoticesRequest(channel_id=CHANNEL))
    list_request.page_size = 1001
    bad(
        "list-notices-page-size-1001",
        list_request,
        "page_size",
        "a page of 1001 records, one more than the bound",
        "DCF-NTC-032",
        "DCF-LIM-022",
    )
    get_request: Any = proto_of(GetNoticeRequest(channel_id=CHANNEL, notice_id=RU1))
    get_request.notice_id = ""
    bad("get-notice-empty-id", get_request, "notice_id", "a read without notice id", "DCF-NTC-030")
    refusal_message: Any = proto_of(MessageRefusal(code=3))
    refusal_message.code = 17
    bad("message-refusal-code-17", refusal_message, "code", "google.rpc.Code 17 does not exist", "DCF-STR-008")
    stale: Any = proto_of(StaleVersion(notice_id=RU1, quoted_version=1, current_version=2))
    stale.current_version = 1
    bad("stale-version-not-stale", stale, "quoted_version", "a stale version equal to the current one", "DCF-ERR-017")
    gap: Any = proto_of(SequenceGap(expected=6, received=7))
    gap.received = 5
    bad("sequence-gap-behind", gap, "received", "a gap whose received sequence is behind", "DCF-ERR-018")

    # -- Details of refusals, dialogues, conference timeouts and cancellations.
    refusal_message = proto_of(MessageRefusal(code=3, violations=[FieldViolation(field="sequence", description="x")]))
    refusal_message.reason = "SEQUENCE_GAP"
    bad(
        "message-refusal-reason-with-invalid-argument",
        refusal_message,
        "reason",
        "INVALID_ARGUMENT with a reason: its violations say what is wrong",
        "DCF-STR-012",
    )
    refusal_message = proto_of(MessageRefusal(code=10, reason="STALE_VERSION", stale_version=_stale()))
    refusal_message.ClearField("stale_version")
    bad(
        "message-refusal-stale-version-without-detail",
        refusal_message,
        "stale_version",
        "ABORTED for a stale version without the current version",
        "DCF-STR-013",
        "DCF-ERR-007",
    )
    refusal_message = proto_of(MessageRefusal(code=10, reason="STALE_VERSION", stale_version=_stale()))
    refusal_message.code = 9
    bad(
        "message-refusal-reason-of-another-code",
        refusal_message,
        "reason",
        "reason STALE_VERSION with code FAILED_PRECONDITION (9) instead of ABORTED (10)",
        "DCF-STR-012",
        "DCF-ERR-006",
    )
    record_message: Any = proto_of(_record_ru1())
    record_message.ClearField("last_response")
    bad(
        "notice-record-answered-without-response",
        record_message,
        "last_response",
        "a dialogue ANSWERED with no response on record: silence is never consent",
        "DCF-RSP-025",
        "DCF-RSP-035",
    )
    record_message = proto_of(_record_ru1())
    record_message.dialogue_state = response_pb2.DialogueState.ValueType(0)
    bad(
        "notice-record-dialogue-unspecified",
        record_message,
        "dialogue_state",
        "DIALOGUE_STATE_UNSPECIFIED",
        "DCF-RSP-034",
        "DCF-CMP-004",
    )
    record_message = proto_of(_record_ru1())
    record_message.response_due_time.CopyFrom(record_message.received_time)
    bad(
        "notice-record-due-after-answer",
        record_message,
        "response_due_time",
        "a response due on a dialogue already answered",
        "DCF-RSP-035",
    )
    timeout_envelope = envelope((US, 12))
    timeout_envelope.timeout.conference_revision = 0
    bad(
        "envelope-conference-timeout-without-revision",
        timeout_envelope,
        "timeout.conference_revision",
        "a timeout for a conference proposal that does not say which revision",
        "DCF-TMR-018",
    )
    timeout_envelope = envelope((US, 6))
    timeout_envelope.timeout.conference_id = VC2
    bad(
        "envelope-notice-timeout-naming-a-conference",
        timeout_envelope,
        "timeout.conference_id",
        "a timeout for a notice that also names a conference",
        "DCF-TMR-018",
    )
    cancellation_envelope = envelope((US, 15))
    cancellation_envelope.conference_cancellation.reason = ""
    bad(
        "envelope-conference-cancellation-without-reason",
        cancellation_envelope,
        "conference_cancellation.reason",
        "a conference called off without a reason",
        "DCF-CNF-037",
    )
    status_message: Any = proto_of(
        ConferenceStatus(channel_id=CHANNEL, state=ConferenceState.PROPOSED, proposer=RU, proposal=PROPOSAL_VC2_R1)
    )
    status_message.scheduled_slot.CopyFrom(status_message.proposal.candidate_slots[0])
    bad(
        "conference-status-proposed-with-slot",
        status_message,
        "scheduled_slot",
        "a conference still PROPOSED with a scheduled slot",
        "DCF-CNF-039",
    )
    list_conferences: Any = proto_of(ListConferencesRequest(channel_id=CHANNEL))
    list_conferences.page_size = 1001
    bad(
        "list-conferences-page-size-1001",
        list_conferences,
        "page_size",
        "a page of 1001 conferences, one more than the bound",
        "DCF-CNF-041",
        "DCF-LIM-027",
    )


def _stale() -> StaleVersion:
    return StaleVersion(notice_id=RU1, quoted_version=1, current_version=2)


def _record_ru1() -> NoticeRecord:
    return NoticeRecord(
        channel_id=CHANNEL,
        notice=notice_ru1(version=2),
        received_time=utc(1, 3, 5, 0, 400_000),
        last_response=ResponseKind.ACCEPT,
        dialogue_state=DialogueState.ANSWERED,
        mode=Mode.OPERATIONAL,
    )


def _hello(agreement: Agreement) -> Hello:
    return Hello(
        channel_id=CHANNEL,
        party=RU,
        supported_versions=VersionRange(min_major=1, max_major=1),
        agreement_hash=agreement_hash(agreement_bytes(agreement)),
        agreement_version=1,
        sent_time=utc(1, 0, 5),
        implementation="deconflict 0.1.0 (Python reference)",
    )


def _incident_envelope(sent: dict[tuple[str, int], Sent]) -> envelope_pb2.Envelope:
    message: envelope_pb2.Envelope = proto_of(sent[(US, 8)].envelope)
    return message


def _signed_ack(sent: dict[tuple[str, int], Sent], agreement: Agreement) -> SignedPayload:
    return signed_acknowledgement(sent[(RU, 2)], agreement)


# ---------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------


def build_vectors() -> list[Vector]:
    """Every vector, checked against the reference implementation."""
    vectors = Vectors()
    add_valid(vectors)
    add_invalid(vectors)
    covered = {vector.message_type for vector in vectors.items if vector.refusal is None}
    missing = sorted(found.full_name for found in bindings() if found.full_name not in covered)
    if missing:
        raise VectorError(f"no valid vector for {', '.join(missing)}: add one to add_valid")
    return vectors.items


def manifest(vectors: Sequence[Vector]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "package": PACKAGE,
        "vectors": [vector.manifest_entry() for vector in vectors],
    }


def render(vectors: Sequence[Vector]) -> dict[str, bytes]:
    """Every file to write, by path relative to the output folder."""
    files: dict[str, bytes] = {}
    for vector in vectors:
        paths = vector.files()
        files[paths["binpb"]] = vector.binpb
        if vector.json_text is not None:
            files[paths["json"]] = vector.json_text.encode("utf-8")
    text = json.dumps(manifest(vectors), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    files[MANIFEST] = text.encode("utf-8")
    return files


def write(out: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `out`, removing vector files a previous run left that are no longer made."""
    for folder in ("valid", "invalid"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in sorted((out / folder).iterdir()):
            if stale.is_file() and stale.suffix in (".binpb", ".json") and f"{folder}/{stale.name}" not in files:
                stale.unlink()
    for relative, data in files.items():
        path = out / relative
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two vector folders, or exist in only one."""

    def listing(root: Path) -> set[str]:
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.is_dir() else set()

    left, right = listing(expected), listing(actual)
    found = [f"only in {expected}: {name}" for name in sorted(left - right)]
    found += [f"only in {actual}: {name}" for name in sorted(right - left)]
    found += [
        f"differs: {name}"
        for name in sorted(left & right)
        if not filecmp.cmp(expected / name, actual / name, shallow=False)
    ]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder to write (default: vectors/v1)")
    parser.add_argument("--check", action="store_true", help="compare the folder with a fresh run; write nothing")
    options = parser.parse_args(argv)
    vectors = build_vectors()
    files = render(vectors)
    if options.check:
        with tempfile.TemporaryDirectory() as scratch:
            write(Path(scratch), files)
            found = differences(options.out, Path(scratch))
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("vectors are out of date: run scripts/make_vectors.py", file=sys.stderr)
        return 1 if found else 0
    write(options.out, files)
    valid = sum(vector.refusal is None for vector in vectors)
    print(f"wrote {valid} valid and {len(vectors) - valid} invalid vectors ({len(files)} files) to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
