"""The conference book: every transition of the table of section 7.4, allowed and forbidden, in both directions.

The node here is the US DoD's, on its channel with the Russian MoD. A message is
stored as the ledger stores it, `check` then `apply`; a refused one must leave every
status as it was (DCF-ERR-012). The last test follows the second US-Russian video
conference of October 2015 through the ledger itself, with the incident reports.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.models.channel import (
    Agreement,
    IncidentReport,
    InvolvedAircraft,
    ResponseTimer,
    SeparationMinima,
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
from deconflict.models.envelope import Envelope, Mode, ProtocolVersion
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng
from deconflict.models.notice import AircraftCategory
from deconflict.models.response import MessageKind, ResponseTimeout
from deconflict.node.conferences import ConferenceBook
from deconflict.node.config import ChannelAgreement
from deconflict.node.incidents import with_incidents
from deconflict.node.ledger import ChannelState, Ledger
from deconflict.rpc.refusal import Refusal

US = "us-dod"
RU = "ru-mod"
CHANNEL = "us-ru-syria"
ANSWER_TIME = timedelta(days=2)
T0 = datetime(2015, 10, 2, 12, 0, tzinfo=UTC)
SLOT_1 = TimeSlot(start_time=datetime(2015, 10, 7, 14, 0, tzinfo=UTC))
SLOT_2 = TimeSlot(start_time=datetime(2015, 10, 8, 14, 0, tzinfo=UTC))
SLOT_3 = TimeSlot(start_time=datetime(2015, 10, 10, 10, 0, tzinfo=UTC))
DELEGATIONS = [
    Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
]
TURKISH_CHANNEL = [
    Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
    Participant(party="tr-mod", role=ParticipantRole.HEAD_OF_DELEGATION),
]
PROCEDURES = AgendaItem(
    item_id="procedures",
    kind=AgendaItemKind.PROCEDURE_CHANGE,
    title="Communication procedures",
    presenter=Participant(party=US, role=ParticipantRole.AIR_OPERATIONS),
    allotted=timedelta(minutes=20),
)


def agreement(channel_id: str = CHANNEL, parties: tuple[str, str] = (US, RU), timer: bool = True) -> Agreement:
    timers = [ResponseTimer(kind=MessageKind.CONFERENCE_PROPOSAL, response_time=ANSWER_TIME)] if timer else []
    return Agreement(
        channel_id=channel_id,
        version=1,
        parties=list(parties),
        effective_time=datetime(2015, 10, 1, tzinfo=UTC),
        minimum_lead_time=timedelta(hours=1),
        response_timers=timers,
        separation=SeparationMinima(lateral_m=9260.0, vertical_m=300.0, time=timedelta(minutes=10)),
        clock_skew_tolerance=timedelta(seconds=30),
        heartbeat_interval=timedelta(seconds=30),
        missed_heartbeats_down=3,
    )


def channel_state(model: Agreement, party: str = US) -> ChannelState:
    data = agreement_bytes(model)
    held = ChannelAgreement(model=model, data=data, sha256=agreement_hash(data))
    return ChannelState(agreement=held, party=party, peer=model.peer_of(party), peer_address="")


class Channel:
    """The node's side of one channel: numbers both parties' envelopes and stores them in the book."""

    def __init__(self, book: ConferenceBook | None = None, model: Agreement | None = None) -> None:
        self.state = channel_state(model or agreement())
        self.book = book or ConferenceBook()
        self.sequences = dict.fromkeys(self.state.agreement.model.parties, 0)
        self.now = T0

    def envelope(self, sender: str, body: str, value: Any, *, in_reply_to: str = "", mode: Mode = Mode.OPERATIONAL):
        self.sequences[sender] += 1
        return Envelope.model_validate(
            {
                "message_id": f"{self.state.channel_id}/{sender}/{self.sequences[sender]}",
                "channel_id": self.state.channel_id,
                "sender": sender,
                "recipient": self.state.agreement.model.peer_of(sender),
                "sequence": self.sequences[sender],
                "in_reply_to": in_reply_to,
                "created_time": self.now,
                "protocol_version": ProtocolVersion(major=1, minor=0),
                "mode": mode,
                body: value,
            }
        )

    def store(self, envelope: Envelope) -> Envelope:
        self.now += timedelta(minutes=5)
        self.book.check(self.state, envelope, self.now)
        self.book.apply(self.state, envelope, self.now)
        return envelope

    def refuse(self, envelope: Envelope) -> Refusal:
        before = self.book.statuses(self.state.channel_id)
        with pytest.raises(Refusal) as refused:
            self.book.check(self.state, envelope, self.now)
        assert self.book.statuses(self.state.channel_id) == before  # DCF-ERR-012
        return refused.value

    # -- the conference messages

    def propose(self, sender: str = US, **changes: Any) -> Envelope:
        return self.store(self.envelope(sender, "conference_proposal", proposal(**changes)))

    def answer(self, sender: str, answering: Envelope, *, revision: int | None = None, **answer: Any) -> Envelope:
        latest = revision_of(answering)
        value = ConferenceAnswer(
            conference_id=latest.conference_id, revision=latest.revision if revision is None else revision, **answer
        )
        return self.envelope(sender, "conference_answer", value, in_reply_to=answering.message_id)

    def counter(self, sender: str, answering: Envelope, **changes: Any) -> Envelope:
        latest = revision_of(answering)
        counter = proposal(conference_id=latest.conference_id, revision=latest.revision + 1, **changes)
        return self.answer(sender, answering, counter=counter)

    def record(self, sender: str = US, conference_id: str = "vtc-1", **changes: Any) -> Envelope:
        value = ConferenceRecord.model_validate(
            {
                "conference_id": conference_id,
                "start_time": SLOT_1.start_time,
                "end_time": SLOT_1.start_time + timedelta(hours=1),
                "attendees": DELEGATIONS,
            }
            | changes
        )
        return self.envelope(sender, "conference_record", value)

    def cancel(self, sender: str = US, conference_id: str = "vtc-1", **header: Any) -> Envelope:
        value = ConferenceCancellation(conference_id=conference_id, reason="The delegations meet in person instead")
        return self.envelope(sender, "conference_cancellation", value, **header)

    def state_of(self, conference_id: str = "vtc-1") -> ConferenceState:
        status = self.book.status(self.state.channel_id, conference_id)
        assert status is not None
        return status.state


def proposal(
    conference_id: str = "vtc-1",
    revision: int = 1,
    slots: tuple[TimeSlot, ...] = (SLOT_1, SLOT_2),
    participants: list[Participant] = DELEGATIONS,
    agenda: tuple[AgendaItem, ...] = (PROCEDURES,),
    duration: timedelta = timedelta(hours=1),
) -> ConferenceProposal:
    return ConferenceProposal(
        conference_id=conference_id,
        revision=revision,
        title="Air safety over Syria",
        candidate_slots=list(slots),
        duration=duration,
        participants=participants,
        classification=Classification.UNCLASSIFIED,
        agenda=list(agenda),
    )


def revision_of(envelope: Envelope) -> ConferenceProposal:
    """The revision an envelope carried: a proposal, or the counter of an answer."""
    if envelope.conference_proposal is not None:
        return envelope.conference_proposal
    assert envelope.conference_answer is not None
    assert envelope.conference_answer.counter is not None
    return envelope.conference_answer.counter


def conference_in(state: ConferenceState, proposer: str = US) -> tuple[Channel, Envelope]:
    """A channel with conference vtc-1 in `state`, first proposed by `proposer`; and its latest revision."""
    channel = Channel()
    other = channel.state.agreement.model.peer_of(proposer)
    latest = channel.propose(proposer)
    if state == ConferenceState.COUNTERED:
        latest = channel.store(channel.counter(other, latest, slots=(SLOT_3,)))
    elif state in (ConferenceState.SCHEDULED, ConferenceState.RECORDED):
        channel.store(channel.answer(other, latest, accept=SlotAcceptance(slot=SLOT_1)))
    elif state == ConferenceState.DECLINED:
        channel.store(channel.answer(other, latest, decline=ConferenceDecline(reason="No delegation available")))
    elif state == ConferenceState.CANCELLED:
        channel.store(channel.cancel(proposer))
    if state == ConferenceState.RECORDED:
        channel.store(channel.record(other))
    assert channel.state_of() == state
    return channel, latest


def awaiting(channel: Channel, latest: Envelope) -> str:
    """The party that owes the answer to the latest revision: the other one than its sender."""
    return channel.state.agreement.model.peer_of(latest.sender)


def assert_refused(refusal: Refusal, code: grpc.StatusCode, reason: str = "", field: str = "") -> None:
    assert refusal.code == code, refusal.message
    assert refusal.reason == reason
    if field:
        assert [path for path, _ in refusal.violations] == [field]


OPEN = [ConferenceState.PROPOSED, ConferenceState.COUNTERED]
ENDED = [ConferenceState.DECLINED, ConferenceState.RECORDED, ConferenceState.CANCELLED]
PARTIES = [US, RU]


# -- allowed transitions


@pytest.mark.parametrize("sender", PARTIES)
def test_cnf_003_a_proposal_creates_the_conference_proposed(sender):
    """DCF-CNF-003: revision 1 stored, by this node or its peer, is PROPOSED with the sender as proposer."""
    channel = Channel()
    sent = channel.propose(sender)
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.PROPOSED
    assert status.proposer == sender
    assert status.proposal == sent.conference_proposal
    assert status.scheduled_slot is None
    assert status.record is None
    conference = channel.book.conference(CHANNEL, "vtc-1")
    assert conference is not None
    assert conference.message_id == sent.message_id
    assert conference.awaiting == channel.state.agreement.model.peer_of(sender)
    assert conference.due_time == channel.now + ANSWER_TIME  # DCF-CNF-024


@pytest.mark.parametrize("proposer", PARTIES)
@pytest.mark.parametrize("state", OPEN)
def test_cnf_017_accepting_a_candidate_slot_schedules(state, proposer):
    """DCF-CNF-017: accepting a candidate slot of the latest revision makes the conference SCHEDULED."""
    channel, latest = conference_in(state, proposer)
    slot = revision_of(latest).candidate_slots[-1]
    channel.store(channel.answer(awaiting(channel, latest), latest, accept=SlotAcceptance(slot=slot)))
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.SCHEDULED
    assert status.scheduled_slot == slot
    assert channel.book.open_answers(channel.now + 10 * ANSWER_TIME) == []  # no answer due any more


@pytest.mark.parametrize("proposer", PARTIES)
@pytest.mark.parametrize("state", OPEN)
def test_cnf_019_a_counter_with_the_next_revision_counters(state, proposer):
    """DCF-CNF-019: a counter (revision + 1) is the latest revision; its sender is the proposer now."""
    channel, latest = conference_in(state, proposer)
    sender = awaiting(channel, latest)
    sent = channel.store(channel.counter(sender, latest, slots=(SLOT_2,)))
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.COUNTERED
    assert status.proposer == sender
    assert status.proposal == revision_of(sent)
    assert status.proposal.revision == revision_of(latest).revision + 1
    conference = channel.book.conference(CHANNEL, "vtc-1")
    assert conference is not None
    assert conference.message_id == sent.message_id
    assert conference.awaiting == latest.sender  # the other party now answers
    assert conference.due_time == channel.now + ANSWER_TIME  # a new revision, a new timer (DCF-CNF-024)


@pytest.mark.parametrize("proposer", PARTIES)
@pytest.mark.parametrize("state", OPEN)
def test_cnf_020_a_decline_ends_the_conference(state, proposer):
    """DCF-CNF-020: a stored decline makes the conference DECLINED."""
    channel, latest = conference_in(state, proposer)
    decline = ConferenceDecline(reason="No delegation available")
    channel.store(channel.answer(awaiting(channel, latest), latest, decline=decline))
    assert channel.state_of() == ConferenceState.DECLINED
    assert channel.book.open_answers(channel.now + 10 * ANSWER_TIME) == []


@pytest.mark.parametrize("canceller", PARTIES)
@pytest.mark.parametrize("state", OPEN)
def test_cnf_038_either_party_cancels_an_open_conference(state, canceller):
    """DCF-CNF-038, DCF-CNF-039: cancelled while open, with no slot and no answer due any more."""
    channel, _ = conference_in(state)
    channel.store(channel.cancel(canceller))
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.CANCELLED
    assert status.scheduled_slot is None
    assert status.record is None
    assert channel.book.open_answers(channel.now + 10 * ANSWER_TIME) == []


@pytest.mark.parametrize("canceller", PARTIES)
def test_cnf_039_a_cancelled_scheduled_conference_keeps_its_slot(canceller):
    """DCF-CNF-038, DCF-CNF-039: either party calls off a SCHEDULED conference; the slot is kept."""
    channel, _ = conference_in(ConferenceState.SCHEDULED)
    channel.store(channel.cancel(canceller))
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.CANCELLED
    assert status.scheduled_slot == SLOT_1
    assert status.record is None


@pytest.mark.parametrize("recorder", PARTIES)
def test_cnf_022_either_party_records_a_scheduled_conference(recorder):
    """DCF-CNF-022: the record of a SCHEDULED conference makes it RECORDED, with the record."""
    channel, _ = conference_in(ConferenceState.SCHEDULED)
    sent = channel.store(
        channel.record(
            recorder,
            decisions=[Decision(decision_id="d-1", item_id="procedures", text="Both use 121.5 MHz as guard.")],
            action_items=[
                ActionItem(
                    action_id="a-1",
                    owner=RU,
                    owner_role=ParticipantRole.AIR_OPERATIONS,
                    description="Send the comments on the draft.",
                    due_time=SLOT_3.start_time,
                    item_id="procedures",
                )
            ],
        )
    )
    status = channel.book.status(CHANNEL, "vtc-1")
    assert status is not None
    assert status.state == ConferenceState.RECORDED
    assert status.record == sent.conference_record
    assert status.scheduled_slot == SLOT_1


# -- forbidden transitions: proposals


def test_cnf_001_a_new_proposal_is_revision_1():
    """DCF-CNF-001: a proposal of another revision is refused naming conference_proposal.revision."""
    channel = Channel()
    refusal = channel.refuse(channel.envelope(RU, "conference_proposal", proposal(revision=2)))
    assert_refused(refusal, grpc.StatusCode.INVALID_ARGUMENT, field="conference_proposal.revision")
    assert channel.book.status(CHANNEL, "vtc-1") is None


@pytest.mark.parametrize("sender", PARTIES)
@pytest.mark.parametrize("state", list(ConferenceState))
def test_cnf_002_an_existing_conference_id_is_never_proposed_again(state, sender):
    """DCF-CNF-002: in any state, a proposal for an existing conference id is ALREADY_EXISTS, CONFERENCE_EXISTS."""
    channel, _ = conference_in(state)
    refusal = channel.refuse(channel.envelope(sender, "conference_proposal", proposal(slots=(SLOT_3,))))
    assert_refused(refusal, grpc.StatusCode.ALREADY_EXISTS, "CONFERENCE_EXISTS")


def test_cnf_002_conference_ids_are_unique_per_channel():
    """DCF-CNF-002: the same conference id on another channel is another conference."""
    book = ConferenceBook()
    syria = Channel(book)
    other = Channel(book, agreement("us-tr", (US, "tr-mod")))
    syria.propose(US)
    other.propose("tr-mod", participants=TURKISH_CHANNEL)
    assert [s.proposer for s in book.statuses(CHANNEL)] == [US]
    assert [s.proposer for s in book.statuses("us-tr")] == ["tr-mod"]


def test_cnf_006_participants_and_presenters_are_parties_of_the_channel():
    """DCF-CNF-006: every participant (and presenter) not a party of the channel is named."""
    channel = Channel()
    outsider = Participant(party="tr-mod", role=ParticipantRole.LEGAL)
    item = PROCEDURES.model_copy(update={"presenter": outsider})
    value = proposal(participants=[*DELEGATIONS, outsider], agenda=(item,))
    refusal = channel.refuse(channel.envelope(US, "conference_proposal", value))
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [path for path, _ in refusal.violations] == [
        "conference_proposal.participants[2].party",
        "conference_proposal.agenda[0].presenter.party",
    ]


def test_cnf_018_a_counter_names_parties_of_the_channel():
    """DCF-CNF-018, DCF-CNF-006: a counter is valid as a proposal, its participants parties of the channel."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    outsider = [Participant(party="tr-mod", role=ParticipantRole.LEGAL)]
    refusal = channel.refuse(channel.counter(RU, latest, participants=outsider))
    assert_refused(refusal, grpc.StatusCode.INVALID_ARGUMENT, field="conference_answer.counter.participants[0].party")


# -- forbidden transitions: answers


@pytest.mark.parametrize("kind", ["accept", "counter", "decline"])
@pytest.mark.parametrize("body", ["conference_answer", "conference_record", "conference_cancellation"])
def test_cnf_013_a_message_about_an_unknown_conference_is_not_found(body, kind):
    """DCF-CNF-013, DCF-CNF-022, DCF-CNF-038: answer, record or cancellation of an unknown id: NOT_FOUND."""
    channel = Channel()
    known = channel.propose(US, conference_id="vtc-0")
    if body == "conference_answer":
        answers = {
            "accept": {"accept": SlotAcceptance(slot=SLOT_1)},
            "counter": {"counter": proposal(revision=2)},
            "decline": {"decline": ConferenceDecline(reason="No")},
        }
        envelope = channel.envelope(
            RU,
            body,
            ConferenceAnswer(conference_id="vtc-1", revision=1, **answers[kind]),
            in_reply_to=known.message_id,
        )
    else:
        envelope = channel.record(RU) if body == "conference_record" else channel.cancel(RU)
    assert_refused(channel.refuse(envelope), grpc.StatusCode.NOT_FOUND)
    assert channel.book.status(CHANNEL, "vtc-1") is None


@pytest.mark.parametrize("state", OPEN)
def test_cnf_017_accepting_a_slot_that_is_not_a_candidate(state):
    """DCF-CNF-017: a slot that is not a candidate of the latest revision: SLOT_NOT_CANDIDATE."""
    channel, latest = conference_in(state)
    # SLOT_2 is a candidate of revision 1, not of the counter: only the latest revision's slots count.
    stray = SLOT_2 if state == ConferenceState.COUNTERED else SLOT_3
    refusal = channel.refuse(channel.answer(awaiting(channel, latest), latest, accept=SlotAcceptance(slot=stray)))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "SLOT_NOT_CANDIDATE")


ANSWERS = {
    "accept": lambda latest: {"accept": SlotAcceptance(slot=revision_of(latest).candidate_slots[0])},
    "counter": lambda latest: {
        "counter": proposal(revision=revision_of(latest).revision + 1, slots=(SLOT_3, SLOT_2)),
    },
    "decline": lambda latest: {"decline": ConferenceDecline(reason="No delegation available")},
}


@pytest.mark.parametrize("kind", list(ANSWERS))
@pytest.mark.parametrize("proposer", PARTIES)
@pytest.mark.parametrize("state", OPEN)
def test_cnf_016_a_party_never_answers_its_own_revision(state, proposer, kind):
    """DCF-CNF-016: any answer by the latest revision's proposer: PERMISSION_DENIED, OWN_REVISION."""
    channel, latest = conference_in(state, proposer)
    refusal = channel.refuse(channel.answer(latest.sender, latest, **ANSWERS[kind](latest)))
    assert_refused(refusal, grpc.StatusCode.PERMISSION_DENIED, "OWN_REVISION")


@pytest.mark.parametrize("kind", list(ANSWERS))
def test_cnf_015_an_answer_to_an_older_revision(kind):
    """DCF-CNF-015: an answer to revision 1 after the counter (revision 2): REVISION_NOT_LATEST."""
    channel, first = conference_in(ConferenceState.PROPOSED)
    counter = channel.store(channel.counter(RU, first, slots=(SLOT_3,)))
    answer = ANSWERS[kind](first)
    if kind == "counter":
        answer = {"counter": proposal(revision=2, slots=(SLOT_2,))}
    # The older revision answered by its addressee, as if the counter had not come.
    refusal = channel.refuse(channel.answer(RU, first, **answer))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "REVISION_NOT_LATEST")
    assert revision_of(counter).revision == 2


def test_cnf_015_an_answer_to_a_revision_not_yet_sent():
    """DCF-CNF-015: only the latest revision is answered, not one ahead of it."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    refusal = channel.refuse(channel.answer(RU, latest, revision=2, accept=SlotAcceptance(slot=SLOT_1)))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "REVISION_NOT_LATEST")


@pytest.mark.parametrize("kind", list(ANSWERS))
@pytest.mark.parametrize("state", [ConferenceState.SCHEDULED, *ENDED])
def test_cnf_014_an_answer_to_a_conference_that_is_not_open(state, kind):
    """DCF-CNF-014: any answer once SCHEDULED, DECLINED, RECORDED or CANCELLED: CONFERENCE_NOT_OPEN."""
    channel, latest = conference_in(state)
    refusal = channel.refuse(channel.answer(RU, latest, **ANSWERS[kind](latest)))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
    assert channel.state_of() == state


def test_cnf_021_the_answer_checks_come_in_order():
    """DCF-CNF-021: existence, open state, revision, authorship, slot; the first failure answers."""
    channel, first = conference_in(ConferenceState.PROPOSED)
    counter = channel.store(channel.counter(RU, first, slots=(SLOT_3,)))
    stray = SlotAcceptance(slot=SLOT_1)
    # Its own old revision, with a slot that is no candidate of the latest: the revision answers.
    stale = channel.refuse(channel.answer(US, first, accept=stray))
    assert_refused(stale, grpc.StatusCode.FAILED_PRECONDITION, "REVISION_NOT_LATEST")
    # Its own latest revision with a stray slot: authorship answers before the slot.
    own = channel.refuse(channel.answer(RU, counter, accept=stray))
    assert_refused(own, grpc.StatusCode.PERMISSION_DENIED, "OWN_REVISION")
    # Once scheduled, the open state answers before the revision.
    channel.store(channel.answer(US, counter, accept=SlotAcceptance(slot=SLOT_3)))
    closed = channel.refuse(channel.answer(US, first, accept=stray))
    assert_refused(closed, grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")


def test_env_011_an_answer_replies_to_the_message_of_the_answered_revision():
    """DCF-ENV-011: in_reply_to names the envelope that carried the answered revision."""
    channel, first = conference_in(ConferenceState.PROPOSED)
    counter = channel.store(channel.counter(RU, first, slots=(SLOT_3,)))
    envelope = channel.answer(US, counter, accept=SlotAcceptance(slot=SLOT_3))
    misdirected = envelope.model_copy(update={"in_reply_to": first.message_id})
    assert_refused(channel.refuse(misdirected), grpc.StatusCode.INVALID_ARGUMENT, field="in_reply_to")


@pytest.mark.parametrize("body", ["conference_answer", "conference_record", "conference_cancellation"])
def test_env_009_a_message_about_a_conference_carries_its_mode(body):
    """DCF-ENV-009: an answer, record or cancellation in another mode than the proposal: INVALID_ARGUMENT mode."""
    channel, latest = conference_in(
        ConferenceState.SCHEDULED if body == "conference_record" else ConferenceState.PROPOSED
    )
    if body == "conference_answer":
        envelope = channel.answer(RU, latest, accept=SlotAcceptance(slot=SLOT_1))
    elif body == "conference_record":
        envelope = channel.record(RU)
    else:
        envelope = channel.cancel(RU)
    exercise = envelope.model_copy(update={"mode": Mode.EXERCISE})
    assert_refused(channel.refuse(exercise), grpc.StatusCode.INVALID_ARGUMENT, field="mode")


# -- forbidden transitions: records and cancellations


@pytest.mark.parametrize("state", [*OPEN, *ENDED])
def test_cnf_022_only_a_scheduled_conference_is_recorded(state):
    """DCF-CNF-022: a record of a PROPOSED, COUNTERED, DECLINED, RECORDED or CANCELLED conference is refused."""
    channel, _ = conference_in(state)
    refusal = channel.refuse(channel.record(US))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED")


def test_cnf_026_an_action_item_owner_is_a_party_of_the_channel():
    """DCF-CNF-026: an ActionItem.owner that is not a party of the channel is named."""
    channel, _ = conference_in(ConferenceState.SCHEDULED)
    action = ActionItem(
        action_id="a-1",
        owner="tr-mod",
        owner_role=ParticipantRole.LEGAL,
        description="Comment on the draft.",
        due_time=SLOT_3.start_time,
    )
    refusal = channel.refuse(channel.record(RU, action_items=[action]))
    assert_refused(refusal, grpc.StatusCode.INVALID_ARGUMENT, field="conference_record.action_items[0].owner")


def test_cnf_026_decisions_name_items_of_the_scheduled_revision():
    """DCF-CNF-026: a decision's item_id names an agenda item of the revision that was scheduled."""
    channel, first = conference_in(ConferenceState.PROPOSED)
    # The counter drops the procedures item: what revision 1 had on its agenda is no longer discussed.
    counter = channel.store(channel.counter(RU, first, slots=(SLOT_3,), agenda=()))
    channel.store(channel.answer(US, counter, accept=SlotAcceptance(slot=SLOT_3)))
    decision = Decision(decision_id="d-1", item_id="procedures", text="Agreed.")
    refusal = channel.refuse(channel.record(RU, decisions=[decision]))
    assert_refused(refusal, grpc.StatusCode.INVALID_ARGUMENT, field="conference_record.decisions[0].item_id")
    unattached = Decision(decision_id="d-1", text="Agreed without an agenda item.")
    channel.store(channel.record(RU, decisions=[unattached]))
    assert channel.state_of() == ConferenceState.RECORDED


@pytest.mark.parametrize("state", ENDED)
def test_cnf_038_an_ended_conference_is_not_cancelled(state):
    """DCF-CNF-038: cancelling a DECLINED, RECORDED or CANCELLED conference: CONFERENCE_ENDED."""
    channel, _ = conference_in(state)
    refusal = channel.refuse(channel.cancel(RU))
    assert_refused(refusal, grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_ENDED")


@pytest.mark.parametrize("state", ENDED)
def test_cnf_027_nothing_leaves_a_terminal_state(state):
    """DCF-CNF-027: even applied without its check (a journal holding it), no message moves an ended conference."""
    channel, latest = conference_in(state)
    before = channel.book.status(CHANNEL, "vtc-1")
    for envelope in (
        channel.answer(RU, latest, accept=SlotAcceptance(slot=SLOT_1)),
        channel.answer(RU, latest, **ANSWERS["counter"](latest)),
        channel.record(RU),
        channel.cancel(RU),
    ):
        channel.book.apply(channel.state, envelope, channel.now)
    assert channel.book.status(CHANNEL, "vtc-1") == before


# -- reading and timers


def test_cnf_029_statuses_are_listed_oldest_first_per_channel():
    """DCF-CNF-028, DCF-CNF-029: status by id, None when unknown; statuses of one channel, oldest first."""
    book = ConferenceBook()
    syria = Channel(book)
    other = Channel(book, agreement("us-tr", (US, "tr-mod")))
    for conference_id in ("vtc-b", "vtc-a", "vtc-c"):
        syria.propose(RU if conference_id == "vtc-a" else US, conference_id=conference_id)
    other.propose(US, conference_id="vtc-z", participants=TURKISH_CHANNEL)
    assert [s.proposal.conference_id for s in book.statuses(CHANNEL)] == ["vtc-b", "vtc-a", "vtc-c"]
    assert all(s.channel_id == CHANNEL for s in book.statuses(CHANNEL))
    assert book.status(CHANNEL, "vtc-z") is None
    assert book.statuses("nowhere") == []


def test_cnf_025_an_overdue_answer_is_listed_for_the_timer():
    """DCF-CNF-024, DCF-CNF-025: the answer is due at storage plus the agreed time, then listed as overdue."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    due = channel.now + ANSWER_TIME
    assert channel.book.open_answers(due - timedelta(microseconds=1)) == []
    [overdue] = channel.book.open_answers(due)
    assert (overdue.channel_id, overdue.conference_id, overdue.revision) == (CHANNEL, "vtc-1", 1)
    assert (overdue.awaiting, overdue.message_id, overdue.due_time) == (RU, latest.message_id, due)
    # A counter is a new revision awaiting the other party, with a new deadline.
    counter = channel.store(channel.counter(RU, latest, slots=(SLOT_3,)))
    [overdue] = channel.book.open_answers(channel.now + ANSWER_TIME)
    assert (overdue.revision, overdue.awaiting, overdue.message_id) == (2, US, counter.message_id)


def test_tmr_003_no_timer_agreed_means_no_deadline():
    """DCF-TMR-003: without a MESSAGE_KIND_CONFERENCE_PROPOSAL timer the answer has no due time."""
    channel = Channel(model=agreement(timer=False))
    sent = channel.propose(US)
    assert channel.book.response_due_time(channel.state, sent, channel.now) is None
    assert channel.book.open_answers(channel.now + timedelta(days=365)) == []


def test_cnf_024_the_acknowledgement_deadline_of_proposals_and_counters():
    """DCF-CNF-024: proposals and counters get a response_due_time; other conference messages none."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    due = channel.book.response_due_time
    assert due(channel.state, latest, T0) == T0 + ANSWER_TIME
    assert due(channel.state, channel.counter(RU, latest), T0) == T0 + ANSWER_TIME
    assert due(channel.state, channel.answer(RU, latest, accept=SlotAcceptance(slot=SLOT_1)), T0) is None
    assert due(channel.state, channel.cancel(RU), T0) is None


def timeout(channel: Channel, sender: str, unanswered: Envelope, revision: int | None = None) -> Envelope:
    value = ResponseTimeout(
        unanswered_message_id=unanswered.message_id,
        unanswered_kind=MessageKind.CONFERENCE_PROPOSAL,
        due_time=channel.now,
        waited=ANSWER_TIME,
        conference_id=revision_of(unanswered).conference_id,
        conference_revision=revision_of(unanswered).revision if revision is None else revision,
    )
    return channel.envelope(sender, "timeout", value, in_reply_to=unanswered.message_id)


def test_tmr_012_one_timeout_per_revision_and_the_conference_stays_open():
    """DCF-CNF-025, DCF-TMR-007, DCF-TMR-012: a stored timeout leaves the conference open; a second is refused."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    channel.now += ANSWER_TIME
    channel.store(timeout(channel, US, latest))
    assert channel.state_of() == ConferenceState.PROPOSED
    assert channel.book.open_answers(channel.now) == []
    again = channel.refuse(timeout(channel, US, latest))
    assert_refused(again, grpc.StatusCode.FAILED_PRECONDITION, "TIMEOUT_EXISTS")
    # The late answer is processed as any other (DCF-CNF-025).
    channel.store(channel.answer(RU, latest, accept=SlotAcceptance(slot=SLOT_2)))
    assert channel.state_of() == ConferenceState.SCHEDULED


def test_tmr_019_a_timeout_for_a_revision_that_awaits_nothing():
    """DCF-TMR-019: a timeout for a superseded revision or an ended conference: DIALOGUE_CLOSED."""
    channel, first = conference_in(ConferenceState.PROPOSED)
    counter = channel.store(channel.counter(RU, first, slots=(SLOT_3,)))
    superseded = channel.refuse(timeout(channel, US, first))
    assert_refused(superseded, grpc.StatusCode.FAILED_PRECONDITION, "DIALOGUE_CLOSED")
    channel.store(channel.cancel(US))
    cancelled = channel.refuse(timeout(channel, RU, counter))
    assert_refused(cancelled, grpc.StatusCode.FAILED_PRECONDITION, "DIALOGUE_CLOSED")


def test_tmr_011_a_timeout_names_a_revision_its_sender_sent():
    """DCF-TMR-011: from the party that owes the answer, NOT_FOUND; naming another revision, INVALID_ARGUMENT."""
    channel, latest = conference_in(ConferenceState.PROPOSED)
    wrong_sender = channel.refuse(timeout(channel, RU, latest))
    assert_refused(wrong_sender, grpc.StatusCode.NOT_FOUND)
    wrong_revision = channel.refuse(timeout(channel, US, latest, revision=2))
    assert_refused(wrong_revision, grpc.StatusCode.INVALID_ARGUMENT, field="timeout.conference_revision")


# -- October 2015: the second US-Russian video conference on air safety over Syria


DRAFT = b"Memorandum of understanding on flight safety over Syria: draft of 1 October 2015"
COMMENTS = b"Proposals of the Russian side on the draft memorandum"


def _document(document_id: str, title: str, author: str, text: bytes) -> DocumentRef:
    # The document travels out of band; the agenda carries its SHA-256 (DCF-CNF-033).
    return DocumentRef(document_id=document_id, title=title, author=author, sha256=hashlib.sha256(text).digest())


def _incident(incident_id: str, occurred: datetime, narrative: str) -> IncidentReport:
    return IncidentReport(
        incident_id=incident_id,
        occurred_time=occurred,
        position=LatLng(latitude=35.5, longitude=36.8),
        altitude=Altitude(value=200, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
        aircraft=[
            InvolvedAircraft(party=US, aircraft_category=AircraftCategory.UNMANNED),
            InvolvedAircraft(party=RU, aircraft_category=AircraftCategory.FIXED_WING, notice_id="ru-n-17"),
        ],
        closest_lateral_m=900.0,
        narrative=narrative,
    )


def test_october_2015_second_video_conference():
    """DCF-CNF-003, -019, -017, -022, -030, -033: proposal with the drafts, counter, acceptance, record,
    and the incident reviews of the agendas, all through the node's ledger in the order they happened."""
    ledger = Ledger(US, [channel_state(agreement())])
    state = ledger.channels[CHANNEL]
    channel = Channel(ledger.conferences, agreement())  # numbers the envelopes; the ledger stores them

    def send(sender: str, body: str, value: Any, at: datetime, in_reply_to: str = "") -> Envelope:
        channel.now = at
        envelope = channel.envelope(sender, body, value, in_reply_to=in_reply_to)
        facts = ledger.check(state, envelope, at)
        ledger.apply(state, envelope, facts, at)
        return envelope

    # An encounter before the conference is proposed: its review belongs on the agenda.
    before = _incident("inc-2015-10-03", datetime(2015, 10, 3, 7, 40, tzinfo=UTC), "Fighter passed close to a UAV.")
    send(US, "incident_report", before, datetime(2015, 10, 3, 9, 0, tzinfo=UTC))
    assert [i.incident_id for i in ledger.incidents.since_last_conference(CHANNEL, ledger.conferences)] == [
        "inc-2015-10-03"
    ]

    draft = _document("us-draft-2015-10-01", "Coordination proposal, draft of 1 Oct 2015", US, DRAFT)
    comments = _document("ru-proposals-2015-10-05", "Russian proposals on the draft", RU, COMMENTS)
    drafts = AgendaItem(
        item_id="us-draft",
        kind=AgendaItemKind.PROPOSAL_REVIEW,
        title="The US coordination proposal",
        documents=[draft],
        presenter=Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
        allotted=timedelta(minutes=30),
    )
    answers = AgendaItem(
        item_id="ru-proposals",
        kind=AgendaItemKind.PROPOSAL_REVIEW,
        title="The Russian proposals on it",
        documents=[comments, draft],
        presenter=Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
        allotted=timedelta(minutes=30),
    )
    second = proposal(conference_id="vtc-2015-2", agenda=(drafts, answers), duration=timedelta(minutes=90))
    agenda = with_incidents(second, ledger.incidents.since_last_conference(CHANNEL, ledger.conferences))
    assert agenda.added == ("inc-2015-10-03",)
    assert agenda.complete
    proposed = send(US, "conference_proposal", agenda.proposal, datetime(2015, 10, 3, 12, 0, tzinfo=UTC))
    assert ledger.conferences.status(CHANNEL, "vtc-2015-2").state == ConferenceState.PROPOSED
    review = agenda.proposal.agenda[-1]
    assert (review.item_id, review.incident_ids, review.presenter.party) == (
        "incident-inc-2015-10-03",
        ["inc-2015-10-03"],
        US,
    )

    # An encounter after the proposal: Russia puts it on the agenda of its counter, keeps the rest of the
    # agenda (DCF-CNF-036) and offers another day.
    between = _incident("inc-2015-10-06", datetime(2015, 10, 6, 16, 5, tzinfo=UTC), "Radar lock on a UAV.")
    send(RU, "incident_report", between, datetime(2015, 10, 6, 17, 0, tzinfo=UTC))
    pending = ledger.incidents.since_last_conference(CHANNEL, ledger.conferences)
    assert [i.incident_id for i in pending] == ["inc-2015-10-03", "inc-2015-10-06"]
    revised = agenda.proposal.model_copy(update={"revision": 2, "candidate_slots": [SLOT_3]})
    countered = with_incidents(revised, pending)
    assert countered.added == ("inc-2015-10-06",)  # the first one is on the agenda already
    assert countered.proposal.agenda[-1].presenter == Participant(party=RU, role=ParticipantRole.FLIGHT_SAFETY)
    counter = send(
        RU,
        "conference_answer",
        ConferenceAnswer(conference_id="vtc-2015-2", revision=1, counter=countered.proposal),
        datetime(2015, 10, 6, 18, 0, tzinfo=UTC),
        in_reply_to=proposed.message_id,
    )
    status = ledger.conferences.status(CHANNEL, "vtc-2015-2")
    assert (status.state, status.proposer, status.proposal.revision) == (ConferenceState.COUNTERED, RU, 2)

    send(
        US,
        "conference_answer",
        ConferenceAnswer(conference_id="vtc-2015-2", revision=2, accept=SlotAcceptance(slot=SLOT_3)),
        datetime(2015, 10, 7, 9, 0, tzinfo=UTC),
        in_reply_to=counter.message_id,
    )
    status = ledger.conferences.status(CHANNEL, "vtc-2015-2")
    assert (status.state, status.scheduled_slot) == (ConferenceState.SCHEDULED, SLOT_3)

    record = ConferenceRecord(
        conference_id="vtc-2015-2",
        start_time=SLOT_3.start_time,
        end_time=SLOT_3.start_time + timedelta(minutes=80),
        attendees=DELEGATIONS,
        decisions=[
            Decision(decision_id="d-1", item_id="ru-proposals", text="The proposals go into the next draft."),
            Decision(decision_id="d-2", item_id=review.item_id, text="Minimum separation from UAVs to be defined."),
        ],
        action_items=[
            ActionItem(
                action_id="a-1",
                owner=US,
                owner_role=ParticipantRole.LEGAL,
                description="Send the revised draft with the Russian proposals.",
                due_time=datetime(2015, 10, 13, tzinfo=UTC),
                item_id="us-draft",
            )
        ],
    )
    send(RU, "conference_record", record, datetime(2015, 10, 10, 12, 0, tzinfo=UTC))
    status = ledger.conferences.status(CHANNEL, "vtc-2015-2")
    assert (status.state, status.record) == (ConferenceState.RECORDED, record)

    # After the record, the encounters it reviewed are off the default agenda; one reported since is on it.
    after = _incident("inc-2015-10-10", datetime(2015, 10, 10, 15, 0, tzinfo=UTC), "Unannounced crossing.")
    send(US, "incident_report", after, datetime(2015, 10, 10, 16, 0, tzinfo=UTC))
    pending = ledger.incidents.since_last_conference(CHANNEL, ledger.conferences)
    assert [i.incident_id for i in pending] == ["inc-2015-10-10"]
    third = with_incidents(proposal(conference_id="vtc-2015-3", agenda=()), pending)
    assert [item.incident_ids for item in third.proposal.agenda] == [["inc-2015-10-10"]]
    assert "inc-2015-10-03" not in {i for item in third.proposal.agenda for i in item.incident_ids}
