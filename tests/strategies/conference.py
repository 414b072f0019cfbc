"""Strategies for valid conference messages: proposals with their agenda, answers and records.

Times are UTC with microsecond precision; every list that the protocol wants
unique is drawn unique, and the agenda never takes longer than the conference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from deconflict import limits
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
from deconflict.models.conference_service import ConferenceStatus
from tests.strategies.geometry import durations, utc_times

MICROSECOND = timedelta(microseconds=1)


def identifiers() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,23}", fullmatch=True)


def texts(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any Unicode text that UTF-8 can carry (no lone surrogates)."""
    return st.text(st.characters(exclude_categories=("Cs",)), min_size=min_size, max_size=max_size)


def sha256s() -> st.SearchStrategy[bytes]:
    return st.binary(min_size=32, max_size=32)


def participants() -> st.SearchStrategy[Participant]:
    return st.builds(Participant, party=identifiers(), role=st.sampled_from(ParticipantRole))


def document_refs() -> st.SearchStrategy[DocumentRef]:
    return st.builds(DocumentRef, document_id=identifiers(), title=texts(), author=identifiers(), sha256=sha256s())


def _unique_ids(min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(identifiers(), min_size=min_size, max_size=max_size, unique=True)


@st.composite
def agenda_items(
    draw: st.DrawFn, item_id: str | None = None, max_allotted: timedelta = timedelta(hours=1)
) -> AgendaItem:
    kind = draw(st.sampled_from(AgendaItemKind))
    incident_ids = draw(_unique_ids(1 if kind == AgendaItemKind.INCIDENT_REVIEW else 0))
    documents = draw(
        st.lists(
            document_refs(),
            min_size=1 if kind == AgendaItemKind.PROPOSAL_REVIEW else 0,
            max_size=3,
            unique_by=lambda d: d.document_id,
        )
    )
    return AgendaItem(
        item_id=draw(identifiers()) if item_id is None else item_id,
        kind=kind,
        title=draw(texts()),
        notice_ids=draw(_unique_ids()),
        incident_ids=incident_ids,
        documents=documents,
        presenter=draw(participants()),
        allotted=draw(durations(MICROSECOND, max_allotted)),
    )


@st.composite
def conference_proposals(
    draw: st.DrawFn, conference_id: str | None = None, revision: int | None = None
) -> ConferenceProposal:
    duration = draw(durations(timedelta(minutes=1), limits.MAX_CONFERENCE_DURATION))
    item_ids = draw(_unique_ids(0, 4))
    # Each item gets at most an equal share, so the agenda fits the conference.
    share = duration // max(len(item_ids), 1)
    return ConferenceProposal(
        conference_id=draw(identifiers()) if conference_id is None else conference_id,
        revision=draw(st.integers(1, 2**32 - 1)) if revision is None else revision,
        title=draw(texts()),
        candidate_slots=[
            TimeSlot(start_time=t)
            for t in draw(st.lists(utc_times(), min_size=1, max_size=limits.MAX_CANDIDATE_SLOTS, unique=True))
        ],
        duration=duration,
        participants=draw(st.lists(participants(), min_size=1, max_size=4, unique_by=lambda p: (p.party, p.role))),
        classification=draw(st.sampled_from(Classification)),
        agenda=[draw(agenda_items(item_id, share)) for item_id in item_ids],
    )


@st.composite
def accepting_answers(draw: st.DrawFn) -> ConferenceAnswer:
    return ConferenceAnswer(
        conference_id=draw(identifiers()),
        revision=draw(st.integers(1, 2**32 - 1)),
        accept=SlotAcceptance(slot=TimeSlot(start_time=draw(utc_times()))),
    )


@st.composite
def countering_answers(draw: st.DrawFn) -> ConferenceAnswer:
    conference_id = draw(identifiers())
    revision = draw(st.integers(1, 2**32 - 2))
    return ConferenceAnswer(
        conference_id=conference_id,
        revision=revision,
        counter=draw(conference_proposals(conference_id, revision + 1)),
    )


@st.composite
def declining_answers(draw: st.DrawFn) -> ConferenceAnswer:
    return ConferenceAnswer(
        conference_id=draw(identifiers()),
        revision=draw(st.integers(1, 2**32 - 1)),
        decline=ConferenceDecline(reason=draw(texts())),
    )


def conference_answers() -> st.SearchStrategy[ConferenceAnswer]:
    return st.one_of(accepting_answers(), countering_answers(), declining_answers())


def _optional_ids() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), identifiers())


def decisions() -> st.SearchStrategy[Decision]:
    return st.builds(Decision, decision_id=identifiers(), item_id=_optional_ids(), text=texts(max_size=200))


def action_items() -> st.SearchStrategy[ActionItem]:
    return st.builds(
        ActionItem,
        action_id=identifiers(),
        owner=identifiers(),
        owner_role=st.sampled_from(ParticipantRole),
        description=texts(max_size=200),
        due_time=utc_times(),
        item_id=_optional_ids(),
    )


@st.composite
def conference_records(draw: st.DrawFn) -> ConferenceRecord:
    start = draw(utc_times())
    return ConferenceRecord(
        conference_id=draw(identifiers()),
        start_time=start,
        end_time=start + draw(durations(MICROSECOND, limits.MAX_CONFERENCE_DURATION)),
        attendees=draw(st.lists(participants(), max_size=4)),
        decisions=draw(st.lists(decisions(), max_size=4, unique_by=lambda d: d.decision_id)),
        action_items=draw(st.lists(action_items(), max_size=4, unique_by=lambda a: a.action_id)),
    )


def conference_cancellations() -> st.SearchStrategy[ConferenceCancellation]:
    return st.builds(ConferenceCancellation, conference_id=identifiers(), reason=texts())


@st.composite
def conference_statuses(draw: st.DrawFn, state: ConferenceState | None = None) -> ConferenceStatus:
    """Statuses whose revision, slot and record agree with their state (DCF-CNF-039)."""
    chosen = draw(st.sampled_from(list(ConferenceState))) if state is None else state
    if chosen == ConferenceState.PROPOSED:
        revision = 1
    elif chosen == ConferenceState.COUNTERED:
        revision = draw(st.integers(2, 2**32 - 1))
    else:
        revision = draw(st.integers(1, 2**32 - 1))
    proposal = draw(conference_proposals(revision=revision))
    slot = draw(st.sampled_from(proposal.candidate_slots))
    if chosen == ConferenceState.CANCELLED:
        # Called off once scheduled (the slot stays), or while still open (no slot).
        slot = draw(st.sampled_from([slot, None]))
    elif chosen not in (ConferenceState.SCHEDULED, ConferenceState.RECORDED):
        slot = None
    record = None
    if chosen == ConferenceState.RECORDED:
        record = draw(conference_records()).model_copy(update={"conference_id": proposal.conference_id})
    return ConferenceStatus(
        channel_id=draw(identifiers()),
        state=chosen,
        proposer=draw(identifiers()),
        proposal=proposal,
        scheduled_slot=slot,
        record=record,
    )


# Fixed examples: one valid message of each kind, for the tables of invalid inputs.

T0 = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
OURS = Participant(party="party-a", role=ParticipantRole.HEAD_OF_DELEGATION)
THEIRS = Participant(party="party-b", role=ParticipantRole.FLIGHT_SAFETY)


def example_proposal(conference_id: str = "conf-1", revision: int = 1) -> ConferenceProposal:
    return ConferenceProposal(
        conference_id=conference_id,
        revision=revision,
        title="Quarterly review",
        candidate_slots=[TimeSlot(start_time=T0), TimeSlot(start_time=T0 + timedelta(days=1))],
        duration=2 * HOUR,
        participants=[OURS, THEIRS],
        classification=Classification.UNCLASSIFIED,
        agenda=[
            AgendaItem(
                item_id="item-1",
                kind=AgendaItemKind.INCIDENT_REVIEW,
                title="Close approach of 3 May",
                incident_ids=["inc-1"],
                notice_ids=["n-1", "n-2"],
                presenter=OURS,
                allotted=HOUR / 2,
            ),
            AgendaItem(
                item_id="item-2",
                kind=AgendaItemKind.PROPOSAL_REVIEW,
                title="Coordination proposal of 1 Oct 2015",
                documents=[DocumentRef(document_id="doc-1", title="Draft", author="party-b", sha256=bytes(32))],
                presenter=THEIRS,
                allotted=HOUR,
            ),
        ],
    )


def example_acceptance() -> ConferenceAnswer:
    return ConferenceAnswer(conference_id="conf-1", revision=1, accept=SlotAcceptance(slot=TimeSlot(start_time=T0)))


def example_counter() -> ConferenceAnswer:
    return ConferenceAnswer(conference_id="conf-1", revision=1, counter=example_proposal(revision=2))


def example_decline() -> ConferenceAnswer:
    return ConferenceAnswer(conference_id="conf-1", revision=1, decline=ConferenceDecline(reason="No slot suits"))


def example_record() -> ConferenceRecord:
    return ConferenceRecord(
        conference_id="conf-1",
        start_time=T0,
        end_time=T0 + HOUR,
        attendees=[OURS, THEIRS],
        decisions=[Decision(decision_id="dec-1", item_id="item-1", text="Both sides use 243.0 MHz as guard.")],
        action_items=[
            ActionItem(
                action_id="act-1",
                owner="party-b",
                owner_role=ParticipantRole.FLIGHT_SAFETY,
                description="Send the radar track of 3 May.",
                due_time=T0 + timedelta(days=14),
                item_id="item-1",
            )
        ],
    )


def example_conference_cancellation() -> ConferenceCancellation:
    return ConferenceCancellation(conference_id="conf-1", reason="The incident review moves to the next meeting")
