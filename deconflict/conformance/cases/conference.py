"""Chapter 07: video conferences, proposed, answered, recorded and cancelled, and the agenda they carry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from deconflict import limits
from deconflict.bridge.conference import conference_proposal_to_proto, time_slot_to_proto
from deconflict.conformance.case import case, expect
from deconflict.conformance.cases.channel import expect_invalid, expect_refused, incident
from deconflict.conformance.session import Session
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
    Decision,
    DocumentRef,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import conference_pb2, conference_service_pb2, envelope_pb2, response_pb2

# -- helpers

PROPOSED = conference_pb2.CONFERENCE_STATE_PROPOSED
COUNTERED = conference_pb2.CONFERENCE_STATE_COUNTERED
SCHEDULED = conference_pb2.CONFERENCE_STATE_SCHEDULED
DECLINED = conference_pb2.CONFERENCE_STATE_DECLINED
RECORDED = conference_pb2.CONFERENCE_STATE_RECORDED
CANCELLED = conference_pb2.CONFERENCE_STATE_CANCELLED
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def _state(value: int) -> str:
    return conference_pb2.ConferenceState.Name(value)  # type: ignore[arg-type]


def _first_slot() -> datetime:
    """Two days ahead, on the hour: far from every timer, and equal whoever builds it in the case."""
    return (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def _proposal(
    s: Session,
    conference_id: str = "",
    *,
    revision: int = 1,
    slots: int = 2,
    agenda: list[AgendaItem] | None = None,
    first: datetime | None = None,
) -> ConferenceProposal:
    """A valid proposal of a one-hour conference, both heads of delegation attending, `slots` hours apart."""
    start = first or _first_slot()
    return ConferenceProposal(
        conference_id=conference_id or f"conference-{uuid.uuid4().hex[:12]}",
        revision=revision,
        title="Monthly review of the channel",
        candidate_slots=[TimeSlot(start_time=start + timedelta(hours=hour)) for hour in range(slots)],
        duration=timedelta(hours=1),
        participants=[
            Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION),
            Participant(party=s.target.party, role=ParticipantRole.HEAD_OF_DELEGATION),
        ],
        classification=Classification.RESTRICTED,
        agenda=agenda or [],
    )


def _item(s: Session, item_id: str = "item-1", **changes: Any) -> AgendaItem:
    fields: dict[str, Any] = {
        "item_id": item_id,
        "kind": AgendaItemKind.PROCEDURE_CHANGE,
        "title": "Hand-over between guard frequencies",
        "presenter": Participant(party=s.party, role=ParticipantRole.AIR_OPERATIONS),
        "allotted": timedelta(minutes=10),
    }
    fields.update(changes)
    return AgendaItem.model_validate(fields)


def _document(s: Session, document_id: str = "draft-1") -> DocumentRef:
    return DocumentRef(
        document_id=document_id, title="Draft on coordinating flights", author=s.party, sha256=b"\x11" * 32
    )


async def _propose(s: Session, proposal: ConferenceProposal) -> str:
    """The suite proposes; the message id that carried the proposal."""
    delivered = await s.send("conference_proposal", proposal)
    return delivered.acknowledgement.message_id


async def _party_proposes(s: Session, proposal: ConferenceProposal) -> str:
    """The party proposes, as its operator would; the message id that carried the proposal."""
    sent = await s.originate("conference_proposal", proposal)
    return sent.message_id


async def _answer(s: Session, answer: ConferenceAnswer, in_reply_to: str) -> str:
    delivered = await s.send("conference_answer", answer, in_reply_to=in_reply_to)
    return delivered.acknowledgement.message_id


def _accept(conference_id: str, revision: int, start: datetime) -> ConferenceAnswer:
    return ConferenceAnswer(
        conference_id=conference_id, revision=revision, accept=SlotAcceptance(slot=TimeSlot(start_time=start))
    )


def _decline(conference_id: str, revision: int) -> ConferenceAnswer:
    return ConferenceAnswer(
        conference_id=conference_id, revision=revision, decline=ConferenceDecline(reason="No slot suits us")
    )


def _record(s: Session, conference_id: str, **changes: Any) -> ConferenceRecord:
    start = _first_slot()
    fields: dict[str, Any] = {
        "conference_id": conference_id,
        "start_time": start,
        "end_time": start + timedelta(hours=1),
        "attendees": [Participant(party=s.party, role=ParticipantRole.HEAD_OF_DELEGATION)],
        "decisions": [Decision(decision_id="decision-1", text="Guard frequencies are monitored at all times.")],
        "action_items": [
            ActionItem(
                action_id="action-1",
                owner=s.target.party,
                owner_role=ParticipantRole.AIR_OPERATIONS,
                description="Circulate the updated frequency list.",
                due_time=start + timedelta(days=7),
            )
        ],
    }
    fields.update(changes)
    return ConferenceRecord.model_validate(fields)


def _cancellation(conference_id: str) -> ConferenceCancellation:
    return ConferenceCancellation(conference_id=conference_id, reason="The delegation cannot travel")


async def _status(s: Session, conference_id: str) -> conference_service_pb2.ConferenceStatus:
    return (await s.peer.get_conference(s.channel_id, conference_id)).status


async def _expect_state(s: Session, conference_id: str, state: int) -> conference_service_pb2.ConferenceStatus:
    status = await _status(s, conference_id)
    expect(status.state == state, f"conference {conference_id} {_state(state)}", _state(status.state))
    return status


async def _scheduled(s: Session) -> tuple[str, datetime]:
    """A conference the party proposed and the suite accepted: its id and the slot's start."""
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    start = proposal.candidate_slots[0].start_time
    await _answer(s, _accept(proposal.conference_id, 1, start), carried)
    return proposal.conference_id, start


# -- 7.1 proposal


@case("conference.proposal_creates_a_proposed_conference", "DCF-CNF-003", "DCF-CNF-028", "DCF-CNF-039")
async def proposal_creates(s: Session) -> None:
    """A stored proposal is a PROPOSED conference, the suite its proposer, the proposal its latest revision."""
    await s.hello()
    proposal = _proposal(s, agenda=[_item(s)])
    await _propose(s, proposal)
    status = await _expect_state(s, proposal.conference_id, PROPOSED)
    expect(status.channel_id == s.channel_id, f"channel_id {s.channel_id}", status.channel_id)
    expect(status.proposer == s.party, f"proposer {s.party}", status.proposer)
    expect(status.proposal == conference_proposal_to_proto(proposal), "the proposal as sent", status.proposal)
    expect(not status.HasField("scheduled_slot"), "no scheduled_slot while PROPOSED", status.scheduled_slot)
    expect(not status.HasField("record"), "no record while PROPOSED", status.record)


@case("conference.proposal_revision_must_be_1", "DCF-CNF-001")
async def revision_one(s: Session) -> None:
    """A proposal of revision 2 is refused naming conference_proposal.revision, and creates nothing."""
    await s.hello()
    proposal = _proposal(s, revision=2)
    await expect_invalid(s.send("conference_proposal", proposal), "conference_proposal.revision")
    refused = await s.refusal(_status(s, proposal.conference_id))
    expect(refused.code == NOT_FOUND, "no conference (NOT_FOUND)", refused.code.name)


@case("conference.existing_id_refused", "DCF-CNF-002")
async def existing_id(s: Session) -> None:
    """A proposal reusing a conference id of either party is refused with ALREADY_EXISTS, CONFERENCE_EXISTS."""
    await s.hello()
    ours = _proposal(s)
    await _propose(s, ours)
    again = s.send("conference_proposal", _proposal(s, ours.conference_id))
    await expect_refused(again, grpc.StatusCode.ALREADY_EXISTS, "CONFERENCE_EXISTS")
    theirs = _proposal(s)
    await _party_proposes(s, theirs)
    taken = s.send("conference_proposal", _proposal(s, theirs.conference_id))
    await expect_refused(taken, grpc.StatusCode.ALREADY_EXISTS, "CONFERENCE_EXISTS")
    status = await _status(s, theirs.conference_id)
    expect(status.proposer == s.target.party, f"proposer still {s.target.party}", status.proposer)


@case("conference.proposal_fields_checked", "DCF-CNF-004")
async def proposal_fields(s: Session) -> None:
    """An empty title, a zero or over-long duration, an UNSPECIFIED classification: each refused, named."""
    await s.hello()

    def no_title(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.title = ""

    def no_duration(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.duration.Clear()
        e.conference_proposal.ClearField("agenda")

    def two_days(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.duration.FromTimedelta(limits.MAX_CONFERENCE_DURATION + timedelta(days=1))

    def unspecified(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.classification = conference_pb2.CLASSIFICATION_UNSPECIFIED

    for spoil, path in (
        (no_title, "conference_proposal.title"),
        (no_duration, "conference_proposal.duration"),
        (two_days, "conference_proposal.duration"),
        (unspecified, "conference_proposal.classification"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_proposal", _proposal(s), spoil)), path)


@case("conference.candidate_slots_checked", "DCF-CNF-005")
async def candidate_slots(s: Session) -> None:
    """No candidate slot, a slot without start_time, or two slots at the same time: refused, naming them."""
    await s.hello()

    def none(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.ClearField("candidate_slots")

    def no_start(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.candidate_slots[1].ClearField("start_time")

    def repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.candidate_slots[1].CopyFrom(e.conference_proposal.candidate_slots[0])

    for spoil, path in (
        (none, "conference_proposal.candidate_slots"),
        (no_start, "conference_proposal.candidate_slots[1].start_time"),
        (repeated, "conference_proposal.candidate_slots[1]"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_proposal", _proposal(s), spoil)), path)


@case("conference.participants_checked", "DCF-CNF-006")
async def participants(s: Session) -> None:
    """No participant, one from outside the channel, an UNSPECIFIED role, a repeated pair: refused, named."""
    await s.hello()

    def none(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.ClearField("participants")

    def outsider(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.participants[1].party = "somebody-else"

    def unspecified(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.participants[0].role = conference_pb2.PARTICIPANT_ROLE_UNSPECIFIED

    def repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.participants[1].CopyFrom(e.conference_proposal.participants[0])

    for spoil, path in (
        (none, "conference_proposal.participants"),
        (outsider, "conference_proposal.participants[1].party"),
        (unspecified, "conference_proposal.participants[0].role"),
        (repeated, "conference_proposal.participants[1]"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_proposal", _proposal(s), spoil)), path)


@case("conference.agenda_checked", "DCF-CNF-007", "DCF-CNF-008")
async def agenda(s: Session) -> None:
    """A repeated item_id, items longer than the conference, and each bad field of an item: refused, named."""
    await s.hello()

    def repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[1].item_id = e.conference_proposal.agenda[0].item_id

    def too_long(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[1].allotted.FromTimedelta(timedelta(minutes=55))

    def no_id(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].item_id = ""

    def unspecified(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].kind = conference_pb2.AGENDA_ITEM_KIND_UNSPECIFIED

    def no_title(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].title = ""

    def no_presenter(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].ClearField("presenter")

    def outside_presenter(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].presenter.party = "somebody-else"

    def no_time(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].allotted.Clear()

    two = [_item(s, "item-1"), _item(s, "item-2")]
    for spoil, path in (
        (repeated, "conference_proposal.agenda[1].item_id"),
        (too_long, "conference_proposal.agenda"),
        (no_id, "conference_proposal.agenda[0].item_id"),
        (unspecified, "conference_proposal.agenda[0].kind"),
        (no_title, "conference_proposal.agenda[0].title"),
        (no_presenter, "conference_proposal.agenda[0].presenter"),
        (outside_presenter, "conference_proposal.agenda[0].presenter.party"),
        (no_time, "conference_proposal.agenda[0].allotted"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_proposal", _proposal(s, agenda=two), spoil)), path)


@case("conference.agenda_references_checked", "DCF-CNF-009", "DCF-CNF-010", "DCF-CNF-011")
async def agenda_references(s: Session) -> None:
    """Repeated or empty notice, incident and document ids, reviews naming nothing, a bad DocumentRef: refused."""
    await s.hello()
    review = _item(s, kind=AgendaItemKind.PROPOSAL_REVIEW, documents=[_document(s, "draft-1"), _document(s, "draft-2")])
    incidents = _item(
        s,
        kind=AgendaItemKind.INCIDENT_REVIEW,
        incident_ids=["incident-1", "incident-2"],
        notice_ids=["notice-1", "notice-2"],
    )

    def notice_repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].notice_ids[1] = "notice-1"

    def notice_empty(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].notice_ids[0] = ""

    def incident_repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].incident_ids[1] = "incident-1"

    def no_incident(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].ClearField("incident_ids")

    def document_repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].documents[1].document_id = "draft-1"

    def no_document(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].ClearField("documents")

    def short_hash(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].documents[0].sha256 = b"\x11" * 31

    def no_document_title(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].documents[0].title = ""

    def no_author(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].documents[0].author = ""

    def no_document_id(e: envelope_pb2.Envelope) -> None:
        e.conference_proposal.agenda[0].documents[0].document_id = ""

    item = "conference_proposal.agenda[0]"
    for spoil, about, path in (
        (notice_repeated, incidents, f"{item}.notice_ids[1]"),
        (notice_empty, incidents, f"{item}.notice_ids[0]"),
        (incident_repeated, incidents, f"{item}.incident_ids[1]"),
        (no_incident, incidents, f"{item}.incident_ids"),
        (document_repeated, review, f"{item}.documents[1].document_id"),
        (no_document, review, f"{item}.documents"),
        (short_hash, review, f"{item}.documents[0].sha256"),
        (no_document_title, review, f"{item}.documents[0].title"),
        (no_author, review, f"{item}.documents[0].author"),
        (no_document_id, review, f"{item}.documents[0].document_id"),
    ):
        proposal = _proposal(s, agenda=[about])
        await expect_invalid(s.deliver(s.spoiled("conference_proposal", proposal, spoil)), path)


@case("conference.unknown_references_accepted", "DCF-CNF-032")
async def unknown_references(s: Session) -> None:
    """A proposal and a counter naming notices, incidents and documents the party never saw are stored."""
    await s.hello()
    strange = _item(
        s,
        kind=AgendaItemKind.INCIDENT_REVIEW,
        notice_ids=["never-filed"],
        incident_ids=["never-reported"],
        documents=[_document(s, "never-sent")],
    )
    await _propose(s, _proposal(s, agenda=[strange]))
    theirs = _proposal(s)
    carried = await _party_proposes(s, theirs)
    counter = _proposal(s, theirs.conference_id, revision=2, agenda=[strange])
    await _answer(s, ConferenceAnswer(conference_id=theirs.conference_id, revision=1, counter=counter), carried)
    await _expect_state(s, theirs.conference_id, COUNTERED)


# -- 7.2 answer


@case("conference.accept_schedules_the_slot", "DCF-CNF-017", "DCF-CNF-028", "DCF-CNF-039")
async def accept(s: Session) -> None:
    """Accepting a candidate slot of the party's proposal makes it SCHEDULED with that scheduled_slot."""
    await s.hello()
    proposal = _proposal(s, slots=3)
    carried = await _party_proposes(s, proposal)
    chosen = proposal.candidate_slots[2]
    await _answer(s, _accept(proposal.conference_id, 1, chosen.start_time), carried)
    status = await _expect_state(s, proposal.conference_id, SCHEDULED)
    expect(status.scheduled_slot == time_slot_to_proto(chosen), f"scheduled_slot {chosen}", status.scheduled_slot)
    expect(status.proposer == s.target.party, f"proposer {s.target.party}", status.proposer)
    expect(not status.HasField("record"), "no record while SCHEDULED", status.record)


@case("conference.accept_needs_a_candidate_slot", "DCF-CNF-017")
async def accept_other_slot(s: Session) -> None:
    """An accept with no slot is refused naming its slot; one of a slot not proposed, with SLOT_NOT_CANDIDATE."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    start = proposal.candidate_slots[0].start_time

    def no_slot(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.accept.ClearField("slot")

    answer = _accept(proposal.conference_id, 1, start)
    broken = s.spoiled("conference_answer", answer, no_slot, in_reply_to=carried)
    await expect_invalid(s.deliver(broken), "conference_answer.accept.slot")
    elsewhere = _accept(proposal.conference_id, 1, start + timedelta(minutes=30))
    refused = s.send("conference_answer", elsewhere, in_reply_to=carried)
    await expect_refused(refused, FAILED_PRECONDITION, "SLOT_NOT_CANDIDATE")
    await _expect_state(s, proposal.conference_id, PROPOSED)


@case("conference.counter_hands_the_answer_back", "DCF-CNF-018", "DCF-CNF-019", "DCF-CNF-039")
async def counter(s: Session) -> None:
    """A counter (revision 2) makes the conference COUNTERED, the suite its proposer; the party then answers it."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    revised = _proposal(s, proposal.conference_id, revision=2, first=_first_slot() + timedelta(days=1))
    answered = ConferenceAnswer(conference_id=proposal.conference_id, revision=1, counter=revised)
    countered = await _answer(s, answered, carried)
    status = await _expect_state(s, proposal.conference_id, COUNTERED)
    expect(status.proposer == s.party, f"proposer {s.party}", status.proposer)
    expect(status.proposal == conference_proposal_to_proto(revised), "the counter as latest revision", status.proposal)
    expect(not status.HasField("scheduled_slot"), "no scheduled_slot while COUNTERED", status.scheduled_slot)
    start = revised.candidate_slots[1].start_time
    await s.originate("conference_answer", _accept(proposal.conference_id, 2, start), in_reply_to=countered)
    status = await _expect_state(s, proposal.conference_id, SCHEDULED)
    expect(status.scheduled_slot.start_time.ToDatetime(UTC) == start, f"the slot at {start}", status.scheduled_slot)


@case("conference.counter_keeps_id_and_next_revision", "DCF-CNF-018")
async def counter_checked(s: Session) -> None:
    """A counter naming another conference, skipping a revision, or invalid as a proposal is refused, named."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    good = ConferenceAnswer(
        conference_id=proposal.conference_id, revision=1, counter=_proposal(s, proposal.conference_id, revision=2)
    )

    def other_id(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.counter.conference_id = "another-conference"

    def skipped(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.counter.revision = 3

    def no_title(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.counter.title = ""

    def outsider(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.counter.participants[0].party = "somebody-else"

    for spoil, path in (
        (other_id, "conference_answer.counter.conference_id"),
        (skipped, "conference_answer.counter.revision"),
        (no_title, "conference_answer.counter.title"),
        (outsider, "conference_answer.counter.participants[0].party"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_answer", good, spoil, in_reply_to=carried)), path)
    await _expect_state(s, proposal.conference_id, PROPOSED)


@case("conference.answer_names_one_choice", "DCF-CNF-012")
async def answer_oneof(s: Session) -> None:
    """An answer with none of accept, counter and decline is refused naming conference_answer.answer."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)

    def nothing(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.ClearField("decline")

    def revision_zero(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.revision = 0

    def no_id(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.conference_id = ""

    for spoil, path in (
        (nothing, "conference_answer.answer"),
        (revision_zero, "conference_answer.revision"),
        (no_id, "conference_answer.conference_id"),
    ):
        broken = s.spoiled("conference_answer", _decline(proposal.conference_id, 1), spoil, in_reply_to=carried)
        await expect_invalid(s.deliver(broken), path)


@case("conference.decline_is_terminal", "DCF-CNF-020", "DCF-CNF-014", "DCF-CNF-022", "DCF-CNF-027", "DCF-CNF-038")
async def decline(s: Session) -> None:
    """A decline needs a reason; once DECLINED, answers, records and cancellations are refused and nothing moves."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)

    def no_reason(e: envelope_pb2.Envelope) -> None:
        e.conference_answer.decline.reason = ""

    broken = s.spoiled("conference_answer", _decline(proposal.conference_id, 1), no_reason, in_reply_to=carried)
    await expect_invalid(s.deliver(broken), "conference_answer.decline.reason")
    await _answer(s, _decline(proposal.conference_id, 1), carried)
    await _expect_state(s, proposal.conference_id, DECLINED)
    start = proposal.candidate_slots[0].start_time
    accept_late = s.send("conference_answer", _accept(proposal.conference_id, 1, start), in_reply_to=carried)
    await expect_refused(accept_late, FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
    await expect_refused(
        s.send("conference_record", _record(s, proposal.conference_id)), FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED"
    )
    await expect_refused(
        s.send("conference_cancellation", _cancellation(proposal.conference_id)),
        FAILED_PRECONDITION,
        "CONFERENCE_ENDED",
    )
    status = await _expect_state(s, proposal.conference_id, DECLINED)
    expect(not status.HasField("scheduled_slot"), "no scheduled_slot when DECLINED", status.scheduled_slot)


@case("conference.answer_to_unknown_conference", "DCF-CNF-013", "DCF-CNF-022", "DCF-CNF-038")
async def unknown(s: Session) -> None:
    """An answer, a record or a cancellation for a conference id the channel never saw is refused NOT_FOUND."""
    await s.hello()
    start = _first_slot()
    await expect_refused(
        s.send("conference_answer", _accept("never-proposed", 1, start), in_reply_to=str(uuid.uuid4())), NOT_FOUND
    )
    await expect_refused(s.send("conference_record", _record(s, "never-proposed")), NOT_FOUND)
    await expect_refused(s.send("conference_cancellation", _cancellation("never-proposed")), NOT_FOUND)


@case("conference.answer_to_an_older_revision_refused", "DCF-CNF-015")
async def older_revision(s: Session) -> None:
    """Once the party has countered, an answer to revision 1 is refused with REVISION_NOT_LATEST."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _propose(s, proposal)
    counter = ConferenceAnswer(
        conference_id=proposal.conference_id, revision=1, counter=_proposal(s, proposal.conference_id, revision=2)
    )
    await s.originate("conference_answer", counter, in_reply_to=carried)
    stale = s.send("conference_answer", _decline(proposal.conference_id, 1), in_reply_to=carried)
    await expect_refused(stale, FAILED_PRECONDITION, "REVISION_NOT_LATEST")
    await _expect_state(s, proposal.conference_id, COUNTERED)


@case("conference.own_revision_not_answered", "DCF-CNF-016")
async def own_revision(s: Session) -> None:
    """The suite answering its own proposal is refused with PERMISSION_DENIED, OWN_REVISION."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _propose(s, proposal)
    own = s.send(
        "conference_answer",
        _accept(proposal.conference_id, 1, proposal.candidate_slots[0].start_time),
        in_reply_to=carried,
    )
    await expect_refused(own, grpc.StatusCode.PERMISSION_DENIED, "OWN_REVISION")
    await _expect_state(s, proposal.conference_id, PROPOSED)


@case("conference.answer_checks_in_order", "DCF-CNF-021")
async def answer_order(s: Session) -> None:
    """An answer breaking several rules gets the first: open state, then revision, then authorship, then slot."""
    await s.hello()
    # Scheduled, answered by its proposer at a wrong revision and slot: the state answers.
    conference_id, start = await _scheduled(s)
    wrong = _accept(conference_id, 2, start + timedelta(minutes=7))
    closed = s.send("conference_answer", wrong, in_reply_to=str(uuid.uuid4()))
    await expect_refused(closed, FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
    # Open, answered by its proposer at a wrong revision: the revision answers before authorship.
    proposal = _proposal(s)
    ours = await _propose(s, proposal)
    other = proposal.candidate_slots[0].start_time + timedelta(minutes=7)
    await expect_refused(
        s.send("conference_answer", _accept(proposal.conference_id, 2, other), in_reply_to=ours),
        FAILED_PRECONDITION,
        "REVISION_NOT_LATEST",
    )
    # The right revision, by its proposer, at a slot not proposed: authorship answers before the slot.
    await expect_refused(
        s.send("conference_answer", _accept(proposal.conference_id, 1, other), in_reply_to=ours),
        grpc.StatusCode.PERMISSION_DENIED,
        "OWN_REVISION",
    )


# -- 7.3 record


@case("conference.record_only_a_scheduled_conference", "DCF-CNF-022", "DCF-CNF-027", "DCF-CNF-039")
async def record(s: Session) -> None:
    """A record is refused before the conference is SCHEDULED; it makes it RECORDED, and only once."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    early = s.send("conference_record", _record(s, proposal.conference_id))
    await expect_refused(early, FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED")
    start = proposal.candidate_slots[1].start_time
    await _answer(s, _accept(proposal.conference_id, 1, start), carried)
    kept = _record(s, proposal.conference_id)
    await s.send("conference_record", kept)
    status = await _expect_state(s, proposal.conference_id, RECORDED)
    expect(
        status.HasField("record") and status.record.conference_id == proposal.conference_id, "the record", status.record
    )
    expect(status.scheduled_slot.start_time.ToDatetime(UTC) == start, "the scheduled slot kept", status.scheduled_slot)
    second = s.send("conference_record", _record(s, proposal.conference_id, decisions=[]))
    await expect_refused(second, FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED")
    status = await _expect_state(s, proposal.conference_id, RECORDED)
    expect(len(status.record.decisions) == 1, "the first record kept", status.record)
    for late in (
        s.send("conference_answer", _decline(proposal.conference_id, 1), in_reply_to=carried),
        s.send("conference_cancellation", _cancellation(proposal.conference_id)),
    ):
        refused = await s.refusal(late)
        expect(refused.code == FAILED_PRECONDITION, "FAILED_PRECONDITION for a RECORDED conference", refused.code.name)
    await _expect_state(s, proposal.conference_id, RECORDED)


@case("conference.either_party_records", "DCF-CNF-022")
async def party_records(s: Session) -> None:
    """The party may file the record of a conference the suite proposed and the party scheduled."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _propose(s, proposal)
    await s.originate(
        "conference_answer",
        _accept(proposal.conference_id, 1, proposal.candidate_slots[0].start_time),
        in_reply_to=carried,
    )
    await _expect_state(s, proposal.conference_id, SCHEDULED)
    await s.originate("conference_record", _record(s, proposal.conference_id))
    await _expect_state(s, proposal.conference_id, RECORDED)


@case("conference.record_fields_checked", "DCF-CNF-023", "DCF-CNF-026")
async def record_fields(s: Session) -> None:
    """A record ending before it starts, repeating ids, with empty texts, outside owners or unknown items: refused."""
    await s.hello()
    conference_id, _ = await _scheduled(s)

    def ends_first(e: envelope_pb2.Envelope) -> None:
        e.conference_record.end_time.CopyFrom(e.conference_record.start_time)

    def decision_repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_record.decisions.add().CopyFrom(e.conference_record.decisions[0])

    def action_repeated(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items.add().CopyFrom(e.conference_record.action_items[0])

    def no_text(e: envelope_pb2.Envelope) -> None:
        e.conference_record.decisions[0].text = ""

    def outside_owner(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items[0].owner = "somebody-else"

    def no_role(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items[0].owner_role = conference_pb2.PARTICIPANT_ROLE_UNSPECIFIED

    def no_description(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items[0].description = ""

    def no_due(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items[0].ClearField("due_time")

    def unknown_item(e: envelope_pb2.Envelope) -> None:
        e.conference_record.decisions[0].item_id = "no-such-item"

    def unknown_action_item(e: envelope_pb2.Envelope) -> None:
        e.conference_record.action_items[0].item_id = "no-such-item"

    def no_start(e: envelope_pb2.Envelope) -> None:
        e.conference_record.ClearField("start_time")

    record = "conference_record"
    for spoil, path in (
        (ends_first, f"{record}.end_time"),
        (no_start, f"{record}.start_time"),
        (decision_repeated, f"{record}.decisions[1].decision_id"),
        (action_repeated, f"{record}.action_items[1].action_id"),
        (no_text, f"{record}.decisions[0].text"),
        (outside_owner, f"{record}.action_items[0].owner"),
        (no_role, f"{record}.action_items[0].owner_role"),
        (no_description, f"{record}.action_items[0].description"),
        (no_due, f"{record}.action_items[0].due_time"),
        (unknown_item, f"{record}.decisions[0].item_id"),
        (unknown_action_item, f"{record}.action_items[0].item_id"),
    ):
        await expect_invalid(s.deliver(s.spoiled("conference_record", _record(s, conference_id), spoil)), path)
    await _expect_state(s, conference_id, SCHEDULED)


@case("conference.acknowledgement_gives_the_answer_deadline", "DCF-CNF-024")
async def due_time(s: Session) -> None:
    """The acknowledgement of a proposal and of a counter sets response_due_time from the agreed timer."""
    await s.hello()
    wait = s.agreement.model.response_time(response_pb2.MESSAGE_KIND_CONFERENCE_PROPOSAL)  # type: ignore[arg-type]
    expect(wait is not None, "a CONFERENCE_PROPOSAL timer in the conformance agreement", wait)
    assert wait is not None
    proposal = _proposal(s)
    delivered = await s.send("conference_proposal", proposal)
    ack = delivered.acknowledgement
    expect(
        ack.response_due_time == ack.stored_time + wait,
        f"response_due_time stored_time + {wait}",
        ack.response_due_time,
    )
    theirs = _proposal(s)
    carried = await _party_proposes(s, theirs)
    counter = ConferenceAnswer(
        conference_id=theirs.conference_id, revision=1, counter=_proposal(s, theirs.conference_id, revision=2)
    )
    ack = (await s.send("conference_answer", counter, in_reply_to=carried)).acknowledgement
    expect(
        ack.response_due_time == ack.stored_time + wait,
        f"response_due_time stored_time + {wait} for a counter",
        ack.response_due_time,
    )
    ack = (await s.send("conference_cancellation", _cancellation(theirs.conference_id))).acknowledgement
    expect(ack.response_due_time is None, "no response_due_time for a cancellation", ack.response_due_time)


@case("conference.timeout_when_a_proposal_is_unanswered", "DCF-CNF-025", timeout=30)
async def unanswered(s: Session) -> None:
    """The party's proposal left unanswered: it sends a ResponseTimeout naming it, alerts, and stays open."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)

    def is_timeout(envelope: envelope_pb2.Envelope) -> bool:
        return envelope.WhichOneof("body") == "timeout" and envelope.in_reply_to == carried

    wait = s.agreement.model.response_time(response_pb2.MESSAGE_KIND_CONFERENCE_PROPOSAL)  # type: ignore[arg-type]
    await asyncio.sleep(wait.total_seconds() if wait else 3.0)
    sent = await s.sent(is_timeout, within=6.0)
    expect(sent is not None, "a ResponseTimeout in reply to the proposal", "none within 6 s of the due time")
    assert sent is not None
    timeout = sent.timeout
    expect(
        timeout.unanswered_kind == response_pb2.MESSAGE_KIND_CONFERENCE_PROPOSAL,
        "MESSAGE_KIND_CONFERENCE_PROPOSAL",
        response_pb2.MessageKind.Name(timeout.unanswered_kind),
    )
    expect(timeout.unanswered_message_id == carried, f"unanswered_message_id {carried}", timeout.unanswered_message_id)
    expect(
        (timeout.conference_id, timeout.conference_revision) == (proposal.conference_id, 1),
        f"conference {proposal.conference_id} revision 1",
        f"{timeout.conference_id} revision {timeout.conference_revision}",
    )
    alerts = [a for a in await s.alerts() if a.kind == operator_pb.ALERT_KIND_RESPONSE_TIMEOUT]
    expect(bool(alerts), "an operator alert for the unanswered proposal", "no RESPONSE_TIMEOUT alert")
    await _expect_state(s, proposal.conference_id, PROPOSED)
    await _answer(s, _accept(proposal.conference_id, 1, proposal.candidate_slots[0].start_time), carried)
    await _expect_state(s, proposal.conference_id, SCHEDULED)


# -- 7.5 reading


@case("conference.get_conference_refusals", "DCF-CNF-028")
async def get_refusals(s: Session) -> None:
    """GetConference with an empty id is INVALID_ARGUMENT naming it; an unknown conference or channel NOT_FOUND."""
    await s.hello()
    await expect_invalid(s.peer.get_conference(s.channel_id, ""), "conference_id")
    await expect_refused(s.peer.get_conference(s.channel_id, "never-proposed"), NOT_FOUND)
    await expect_refused(s.peer.get_conference("no-such-channel", "never-proposed"), NOT_FOUND)


@case("conference.list_oldest_first_page_by_page", "DCF-CNF-029", "DCF-CNF-041")
async def listing(s: Session) -> None:
    """ListConferences gives every conference oldest first, pages of page_size, and refuses bad paging."""
    await s.hello()
    first, second, third = _proposal(s), _proposal(s), _proposal(s)
    await _propose(s, first)
    await _party_proposes(s, second)
    await _propose(s, third)
    expected = [first.conference_id, second.conference_id, third.conference_id]
    everything = await s.peer.list_conferences(s.channel_id)
    listed = [c.proposal.conference_id for c in everything.conferences]
    expect(listed == expected, f"{expected}, oldest first", listed)
    expect(everything.next_page_token == "", "no next_page_token on the last page", everything.next_page_token)
    page = await s.peer.list_conferences(s.channel_id, page_size=2)
    paged = [c.proposal.conference_id for c in page.conferences]
    expect(
        paged == expected[:2] and page.next_page_token != "",
        "the first two and a next_page_token",
        f"{paged}, token {page.next_page_token!r}",
    )
    rest = await s.peer.list_conferences(s.channel_id, page_size=2, page_token=page.next_page_token)
    paged = [c.proposal.conference_id for c in rest.conferences]
    expect(paged == expected[2:] and rest.next_page_token == "", "the third, and no token", paged)
    await expect_invalid(s.peer.list_conferences(s.channel_id, page_size=limits.MAX_PAGE_SIZE + 1), "page_size")
    await expect_invalid(s.peer.list_conferences(s.channel_id, page_token="not a token!"), "page_token")
    await expect_refused(s.peer.list_conferences("no-such-channel"), NOT_FOUND)


# -- 7.6 agenda


@case("conference.incidents_since_the_last_record_on_the_agenda", "DCF-CNF-030", "DCF-INC-005")
async def incidents_on_agenda(s: Session) -> None:
    """The party's proposals review every incident stored since the channel's last conference record, once each."""
    await s.hello()
    earlier = incident(s)
    await s.send("incident_report", earlier)
    # The same report in a new message is one incident, not two.
    await s.send("incident_report", earlier)
    sent = await s.originate("conference_proposal", _proposal(s))
    reviewed = _reviewed(sent.conference_proposal)
    expect(reviewed == [earlier.incident_id], f"one INCIDENT_REVIEW of {earlier.incident_id}", reviewed)
    # Held and recorded: a later incident is on the next agenda, the earlier one no more.
    proposal = sent.conference_proposal
    start = proposal.candidate_slots[0].start_time.ToDatetime(UTC)
    await _answer(s, _accept(proposal.conference_id, 1, start), sent.message_id)
    await s.send("conference_record", _record(s, proposal.conference_id))
    later = incident(s)
    await s.send("incident_report", later)
    reviewed = _reviewed((await s.originate("conference_proposal", _proposal(s))).conference_proposal)
    expect(reviewed == [later.incident_id], f"only {later.incident_id} reviewed", reviewed)


def _reviewed(proposal: conference_pb2.ConferenceProposal) -> list[str]:
    return [
        incident_id
        for item in proposal.agenda
        if item.kind == conference_pb2.AGENDA_ITEM_KIND_INCIDENT_REVIEW
        for incident_id in item.incident_ids
    ]


# -- 7.7 cancellation


@case("conference.cancel_open_and_scheduled", "DCF-CNF-038", "DCF-CNF-039", "DCF-CNF-027", "DCF-CNF-014")
async def cancel(s: Session) -> None:
    """Either party cancels an open or a scheduled conference: CANCELLED, slot kept if scheduled, then final."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    await s.send("conference_cancellation", _cancellation(proposal.conference_id))
    status = await _expect_state(s, proposal.conference_id, CANCELLED)
    expect(not status.HasField("scheduled_slot"), "no scheduled_slot when cancelled while open", status.scheduled_slot)
    expect(not status.HasField("record"), "no record when cancelled", status.record)
    late = s.send(
        "conference_answer",
        _accept(proposal.conference_id, 1, proposal.candidate_slots[0].start_time),
        in_reply_to=carried,
    )
    await expect_refused(late, FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
    again = s.send("conference_cancellation", _cancellation(proposal.conference_id))
    await expect_refused(again, FAILED_PRECONDITION, "CONFERENCE_ENDED")
    await expect_refused(
        s.send("conference_record", _record(s, proposal.conference_id)), FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED"
    )
    await _expect_state(s, proposal.conference_id, CANCELLED)

    conference_id, start = await _scheduled(s)
    await s.originate("conference_cancellation", _cancellation(conference_id))
    status = await _expect_state(s, conference_id, CANCELLED)
    expect(
        status.HasField("scheduled_slot") and status.scheduled_slot.start_time.ToDatetime(UTC) == start,
        f"the scheduled slot at {start} kept",
        status.scheduled_slot,
    )
    expect(not status.HasField("record"), "no record when cancelled", status.record)


@case("conference.cancelled_proposal_gets_no_timeout", "DCF-CNF-038", timeout=30)
async def cancelled_no_timeout(s: Session) -> None:
    """A proposal of the party that the suite cancels before its deadline never times out."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _party_proposes(s, proposal)
    await s.send("conference_cancellation", _cancellation(proposal.conference_id))
    wait = s.agreement.model.response_time(response_pb2.MESSAGE_KIND_CONFERENCE_PROPOSAL)  # type: ignore[arg-type]
    await asyncio.sleep((wait.total_seconds() if wait else 3.0) + 1.0)

    def is_timeout(envelope: envelope_pb2.Envelope) -> bool:
        return envelope.WhichOneof("body") == "timeout" and envelope.in_reply_to == carried

    sent = await s.sent(is_timeout, within=0.0)
    expect(sent is None, "no ResponseTimeout for a cancelled proposal", sent)


@case("conference.cancellation_fields_checked", "DCF-CNF-037")
async def cancellation_fields(s: Session) -> None:
    """A cancellation without reason or conference id, or replying to a message, is refused naming the field."""
    await s.hello()
    proposal = _proposal(s)
    carried = await _propose(s, proposal)

    def no_reason(e: envelope_pb2.Envelope) -> None:
        e.conference_cancellation.reason = ""

    def no_id(e: envelope_pb2.Envelope) -> None:
        e.conference_cancellation.conference_id = ""

    def replying(e: envelope_pb2.Envelope) -> None:
        e.in_reply_to = carried

    for spoil, path in (
        (no_reason, "conference_cancellation.reason"),
        (no_id, "conference_cancellation.conference_id"),
        (replying, "in_reply_to"),
    ):
        broken = s.spoiled("conference_cancellation", _cancellation(proposal.conference_id), spoil)
        await expect_invalid(s.deliver(broken), path)
    await _expect_state(s, proposal.conference_id, PROPOSED)


# -- 7.7 and 8.6: what the party's operators are told


async def _alerted(s: Session, kind: int, subject: str, *, within: float = 5.0) -> bool:
    """Whether the party raises an alert of `kind` about `subject` within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if any(a.kind == kind and a.subject_id == subject for a in await s.alerts()):
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.1)


@case("conference.cancellation_alerts_the_operator", "DCF-CNF-040")
async def cancellation_alerts(s: Session) -> None:
    """A cancellation the party stores, received or sent, raises an operator alert naming the conference, and
    nobody answers it."""
    await s.hello()
    proposal = _proposal(s)
    await _party_proposes(s, proposal)
    delivered = await s.send("conference_cancellation", _cancellation(proposal.conference_id))
    kind = operator_pb.ALERT_KIND_CONFERENCE_CANCELLED
    expect(await _alerted(s, kind, proposal.conference_id), f"an alert about {proposal.conference_id}", "none")
    conference_id, _ = await _scheduled(s)
    await s.originate("conference_cancellation", _cancellation(conference_id))
    expect(await _alerted(s, kind, conference_id), f"an alert about {conference_id}, which it cancelled", "none")
    answer = await s.answer_to(delivered.acknowledgement.message_id, within=0.5)
    expect(answer is None, "no operational response to a cancellation (DCF-RSP-001)", answer)


@case("conference.incident_report_alerts_the_operator", "DCF-INC-006")
async def incident_alerts(s: Session) -> None:
    """An incident report the party receives raises an operator alert naming the incident; it is not answered."""
    await s.hello()
    report = incident(s)
    delivered = await s.send("incident_report", report)
    kind = operator_pb.ALERT_KIND_INCIDENT_REPORTED
    expect(await _alerted(s, kind, report.incident_id), f"an alert about {report.incident_id}", "none")
    answer = await s.answer_to(delivered.acknowledgement.message_id, within=1.0)
    expect(answer is None, "no operational response to an incident report", answer)
