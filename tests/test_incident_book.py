"""The incident book: reports stored once per channel, and their review on the next conference's agenda.

The node is the US DoD's, on its channel with the Russian MoD; reports go both
ways and are stored as the ledger stores them, `check` then `apply`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from deconflict import limits
from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.models.channel import Agreement, IncidentReport, InvolvedAircraft, SeparationMinima, Suspension
from deconflict.models.conference import (
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceProposal,
    ConferenceRecord,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.models.envelope import Envelope, Mode, ProtocolVersion
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng
from deconflict.models.notice import AircraftCategory
from deconflict.node.conferences import ConferenceBook
from deconflict.node.config import ChannelAgreement
from deconflict.node.incidents import INCIDENT_REVIEW_TIME, FiledIncident, IncidentBook, with_incidents
from deconflict.node.ledger import ChannelState, Ledger
from deconflict.rpc.refusal import Refusal

US = "us-dod"
RU = "ru-mod"
CHANNEL = "us-ru-syria"
SKEW = timedelta(seconds=30)
T0 = datetime(2015, 10, 5, 12, 0, tzinfo=UTC)
SLOT = TimeSlot(start_time=datetime(2015, 10, 7, 14, 0, tzinfo=UTC))
DELEGATIONS = [
    Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
]


def channel_state(channel_id: str = CHANNEL, peer: str = RU) -> ChannelState:
    model = Agreement(
        channel_id=channel_id,
        version=1,
        parties=[US, peer],
        effective_time=datetime(2015, 10, 1, tzinfo=UTC),
        minimum_lead_time=timedelta(hours=1),
        separation=SeparationMinima(lateral_m=9260.0, vertical_m=300.0, time=timedelta(minutes=10)),
        clock_skew_tolerance=SKEW,
        heartbeat_interval=timedelta(seconds=30),
        missed_heartbeats_down=3,
    )
    data = agreement_bytes(model)
    held = ChannelAgreement(model=model, data=data, sha256=agreement_hash(data))
    return ChannelState(agreement=held, party=US, peer=peer, peer_address="")


_sequences: dict[tuple[str, str], int] = {}


def envelope(state: ChannelState, sender: str, body: str, value: Any, in_reply_to: str = "") -> Envelope:
    key = (state.channel_id, sender)
    _sequences[key] = _sequences.get(key, 0) + 1
    return Envelope.model_validate(
        {
            "message_id": f"{state.channel_id}/{sender}/{_sequences[key]}",
            "channel_id": state.channel_id,
            "sender": sender,
            "recipient": state.agreement.model.peer_of(sender),
            "sequence": _sequences[key],
            "in_reply_to": in_reply_to,
            "created_time": T0,
            "protocol_version": ProtocolVersion(major=1, minor=0),
            "mode": Mode.OPERATIONAL,
            body: value,
        }
    )


def incident(incident_id: str = "inc-1", occurred: datetime = T0 - timedelta(hours=3), **changes: Any):
    return IncidentReport.model_validate(
        {
            "incident_id": incident_id,
            "occurred_time": occurred,
            "position": LatLng(latitude=35.4, longitude=36.9),
            "altitude": Altitude(value=180, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
            "aircraft": [
                InvolvedAircraft(party=US, aircraft_category=AircraftCategory.UNMANNED, notice_id="us-n-4"),
                InvolvedAircraft(party=RU, aircraft_category=AircraftCategory.FIXED_WING, notice_id="ru-n-9"),
                InvolvedAircraft(party=RU, aircraft_category=AircraftCategory.FIXED_WING, notice_id="ru-n-9"),
            ],
            "narrative": "Two fighters passed within a mile of a UAV.",
        }
        | changes
    )


def report(book: IncidentBook, state: ChannelState, sender: str, value: IncidentReport, now: datetime = T0):
    sent = envelope(state, sender, "incident_report", value)
    book.check(state, sent, now)
    book.apply(state, sent, now)
    return sent


def refuse(book: IncidentBook, state: ChannelState, sender: str, value: IncidentReport, now: datetime = T0):
    before = book.incidents(state.channel_id)
    with pytest.raises(Refusal) as refused:
        book.check(state, envelope(state, sender, "incident_report", value), now)
    assert book.incidents(state.channel_id) == before  # DCF-ERR-012
    return refused.value


def proposal(conference_id: str, duration: timedelta = timedelta(hours=1), agenda: tuple[AgendaItem, ...] = ()):
    return ConferenceProposal(
        conference_id=conference_id,
        revision=1,
        title="Air safety over Syria",
        candidate_slots=[SLOT],
        duration=duration,
        participants=DELEGATIONS,
        classification=Classification.UNCLASSIFIED,
        agenda=list(agenda),
    )


def conference(book: ConferenceBook, state: ChannelState, conference_id: str, end: str = "record") -> None:
    """Conference `conference_id` proposed by the US, accepted by Russia, then recorded (or cancelled)."""
    delegations = [Participant(party=p, role=ParticipantRole.HEAD_OF_DELEGATION) for p in (US, state.peer)]
    value: Any = proposal(conference_id).model_copy(update={"participants": delegations})
    messages: list[Envelope] = [envelope(state, US, "conference_proposal", value)]
    accept = ConferenceAnswer(conference_id=conference_id, revision=1, accept=SlotAcceptance(slot=SLOT))
    messages.append(envelope(state, state.peer, "conference_answer", accept, in_reply_to=messages[0].message_id))
    if end == "record":
        held = SLOT.start_time
        value = ConferenceRecord(conference_id=conference_id, start_time=held, end_time=held + timedelta(hours=1))
        messages.append(envelope(state, state.peer, "conference_record", value))
    else:
        value = ConferenceCancellation(conference_id=conference_id, reason="Called off")
        messages.append(envelope(state, US, "conference_cancellation", value))
    for message in messages:
        book.check(state, message, T0)
        book.apply(state, message, T0)


def ids(filed: list[FiledIncident]) -> list[str]:
    return [f.incident_id for f in filed]


# -- storing reports


@pytest.mark.parametrize("sender", [US, RU])
def test_inc_001_a_report_is_stored_with_its_reporter(sender):
    """DCF-INC-001: a report, sent or received, is stored with the party that sent it."""
    book, state = IncidentBook(), channel_state()
    sent = report(book, state, sender, incident())
    filed = book.incident(CHANNEL, "inc-1")
    assert filed is not None
    assert (filed.report, filed.reporter, filed.message_id, filed.stored_time) == (
        incident(),
        sender,
        sent.message_id,
        T0,
    )


def test_inc_001_reports_flow_while_the_channel_is_suspended():
    """DCF-INC-001, DCF-SUS-006: the ledger takes a report on a suspended channel."""
    ledger = Ledger(US, [channel_state()])
    state = ledger.channels[CHANNEL]
    suspension = Suspension(suspension_id="s-1", effective_time=T0, reason="Strikes under way")
    for body, value in (("suspension", suspension), ("incident_report", incident())):
        message = envelope(state, RU, body, value)
        ledger.apply(state, message, ledger.check(state, message, T0), T0)
    assert state.suspended
    assert ids(ledger.incidents.incidents(CHANNEL)) == ["inc-1"]


@pytest.mark.parametrize("sender", [US, RU])
def test_inc_005_the_same_report_again_is_one_incident(sender):
    """DCF-INC-005: equal content in a new message is accepted without a second incident."""
    book, state = IncidentBook(), channel_state()
    first = report(book, state, US, incident())
    report(book, state, sender, incident(), T0 + timedelta(hours=1))
    [filed] = book.incidents(CHANNEL)
    assert (filed.reporter, filed.message_id, filed.stored_time) == (US, first.message_id, T0)


@pytest.mark.parametrize("sender", [US, RU])
def test_inc_005_a_known_incident_id_with_other_content(sender):
    """DCF-INC-005: a known incident id with other content: ALREADY_EXISTS, INCIDENT_EXISTS."""
    book, state = IncidentBook(), channel_state()
    report(book, state, US, incident())
    refusal = refuse(book, state, sender, incident(narrative="Two fighters passed within two miles of a UAV."))
    assert refusal.code == grpc.StatusCode.ALREADY_EXISTS
    assert refusal.reason == "INCIDENT_EXISTS"


def test_inc_005_incident_ids_are_unique_per_channel():
    """DCF-INC-005: the same incident id on another channel is another incident."""
    book = IncidentBook()
    syria, other = channel_state(), channel_state("us-tr", "tr-mod")
    report(book, syria, RU, incident())
    report(book, other, "tr-mod", incident(narrative="Another encounter, elsewhere."))
    assert [f.reporter for f in (*book.incidents(CHANNEL), *book.incidents("us-tr"))] == [RU, "tr-mod"]


@pytest.mark.parametrize("sender", [US, RU])
def test_inc_004_an_occurred_time_in_the_future(sender):
    """DCF-INC-004: later than the clock plus the clock-skew tolerance: INVALID_ARGUMENT occurred_time."""
    book, state = IncidentBook(), channel_state()
    refusal = refuse(book, state, sender, incident(occurred=T0 + SKEW + timedelta(microseconds=1)))
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [path for path, _ in refusal.violations] == ["incident_report.occurred_time"]
    report(book, state, sender, incident(occurred=T0 + SKEW))  # within the tolerance: a clock a little ahead
    assert ids(book.incidents(CHANNEL)) == ["inc-1"]


# -- the next conference's agenda


def test_cnf_030_every_incident_when_no_conference_was_recorded():
    """DCF-CNF-030: with no conference recorded, every report of the channel, oldest first."""
    book, conferences, state = IncidentBook(), ConferenceBook(), channel_state()
    for number, sender in enumerate((RU, US, RU), start=1):
        report(book, state, sender, incident(f"inc-{number}"))
    conference(conferences, state, "vtc-cancelled", end="cancel")  # not held: it reviewed nothing
    assert ids(book.since_last_conference(CHANNEL, conferences)) == ["inc-1", "inc-2", "inc-3"]


def test_cnf_030_only_the_incidents_since_the_last_record():
    """DCF-CNF-030: the reports stored after the channel's latest conference record, none before it."""
    book, conferences, state = IncidentBook(), ConferenceBook(), channel_state()
    other = channel_state("us-tr", "tr-mod")
    report(book, state, RU, incident("inc-1"))
    conference(conferences, state, "vtc-1")
    report(book, state, US, incident("inc-2"))
    conference(conferences, state, "vtc-2")
    report(book, state, RU, incident("inc-3"))
    report(book, state, US, incident("inc-4"))
    conference(conferences, other, "vtc-3")  # another channel's record says nothing about this one
    assert ids(book.since_last_conference(CHANNEL, conferences)) == ["inc-3", "inc-4"]
    assert ids(book.since_last_conference("us-tr", conferences)) == []


def test_cnf_030_a_clock_stepped_back_does_not_hide_an_incident():
    """DCF-CNF-030: "since" is the order in which messages were stored, not the clock."""
    book, conferences, state = IncidentBook(), ConferenceBook(), channel_state()
    conference(conferences, state, "vtc-1")  # stored at T0
    report(book, state, RU, incident(occurred=T0 - timedelta(days=1)), now=T0 - timedelta(minutes=5))
    assert ids(book.since_last_conference(CHANNEL, conferences)) == ["inc-1"]


def filed(incident_id: str, reporter: str = RU, **changes: Any) -> FiledIncident:
    return FiledIncident(
        channel_id=CHANNEL,
        report=incident(incident_id, **changes),
        reporter=reporter,
        message_id=f"m-{incident_id}",
        stored_time=T0,
        stored_order=0,
    )


def test_cnf_030_one_incident_review_per_incident():
    """DCF-CNF-030: an INCIDENT_REVIEW item per incident, presented by the reporter's flight safety."""
    result = with_incidents(proposal("vtc-1"), [filed("inc-1", RU), filed("inc-2", US)])
    assert result.added == ("inc-1", "inc-2")
    assert result.complete
    first, second = result.proposal.agenda
    assert first.item_id == "incident-inc-1"
    assert first.kind == AgendaItemKind.INCIDENT_REVIEW
    assert first.incident_ids == ["inc-1"]
    assert first.notice_ids == ["us-n-4", "ru-n-9"]  # the notices of the aircraft involved, once each
    assert first.presenter == Participant(party=RU, role=ParticipantRole.FLIGHT_SAFETY)
    assert first.allotted == INCIDENT_REVIEW_TIME == timedelta(minutes=10)
    assert second.presenter.party == US


def test_cnf_030_an_incident_already_on_the_agenda_is_not_added_again():
    """DCF-CNF-030: an incident any item names already (or given twice) gets no second item."""
    own = AgendaItem(
        item_id="close-call",
        kind=AgendaItemKind.INCIDENT_REVIEW,
        title="The close call of 5 October",
        incident_ids=["inc-1"],
        presenter=DELEGATIONS[0],
        allotted=timedelta(minutes=20),
    )
    start = proposal("vtc-1", agenda=(own,))
    result = with_incidents(start, [filed("inc-1"), filed("inc-2"), filed("inc-2")])
    assert result.added == ("inc-2",)
    assert [item.item_id for item in result.proposal.agenda] == ["close-call", "incident-inc-2"]
    assert with_incidents(result.proposal, [filed("inc-1"), filed("inc-2")]).proposal == result.proposal
    assert start.agenda == [own]  # the proposal given is not changed


def test_cnf_007_incident_reviews_never_exceed_the_duration():
    """DCF-CNF-007: items are added until the next would not fit the duration; the rest are reported."""
    result = with_incidents(proposal("vtc-1", duration=timedelta(minutes=25)), [filed(f"inc-{n}") for n in range(4)])
    assert result.added == ("inc-0", "inc-1")
    assert result.left_out == ("inc-2", "inc-3")
    assert not result.complete
    assert sum((item.allotted for item in result.proposal.agenda), timedelta(0)) <= timedelta(minutes=25)


def test_cnf_007_incident_reviews_never_exceed_the_agenda_limit():
    """DCF-CNF-007, DCF-LIM-013: no more than the agenda limit of items, whatever the duration."""
    many = [filed(f"inc-{n}") for n in range(limits.MAX_AGENDA_ITEMS + 2)]
    result = with_incidents(proposal("vtc-1", duration=timedelta(hours=24)), many)
    assert len(result.proposal.agenda) == limits.MAX_AGENDA_ITEMS
    assert result.left_out == (f"inc-{limits.MAX_AGENDA_ITEMS}", f"inc-{limits.MAX_AGENDA_ITEMS + 1}")


def test_cnf_008_an_incident_item_id_is_an_identifier_unique_on_the_agenda():
    """DCF-CNF-007, DCF-CNF-008: a taken or too long "incident-<id>" is replaced by a numbered item id."""
    taken = AgendaItem(
        item_id="incident-inc-1",
        kind=AgendaItemKind.OTHER,
        title="Named like an incident review",
        presenter=DELEGATIONS[0],
        allotted=timedelta(minutes=5),
    )
    long_id = "x" * limits.MAX_IDENTIFIER
    result = with_incidents(proposal("vtc-1", agenda=(taken,)), [filed("inc-1"), filed(long_id)])
    assert [item.item_id for item in result.proposal.agenda] == ["incident-inc-1", "incident-1", "incident-2"]
    assert result.proposal.agenda[2].incident_ids == [long_id]
