"""Strategies for valid conference messages: proposals with their agenda, answers and records.

Times are UTC with microsecond precision; every list that the protocol wants
unique is drawn unique, and the agenda never takes longer than the conference.
"""

from __future__ import annotations

import copy
import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import assume
from hypothesis import strategies as st
from pydantic import ValidationError

from deconflict import limits
from deconflict.models.base import Message, field_violations
from deconflict.models.conference import (
    ActionItem,
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
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
from tests.strategies.geometry import durations, utc_times

MICROSECOND = timedelta(microseconds=1)
DELETE = object()
"""As the value given to `changed`: remove the field, as if the sender left it out."""


def changed(data: Any, path: str, value: Any) -> Any:
    """A deep copy of `data` (model_dump output) with the field at dotted `path` replaced.

    `value` may be DELETE, or a function of the old value (e.g. to repeat a list element).
    """
    out = copy.deepcopy(data)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node = out
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value(node[last]) if callable(value) else value
    return out


def refusal_paths(model: type[Message], data: Any) -> list[str]:
    """The field paths of every violation when `data` is validated as `model` (it must be refused)."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        return [path for path, _ in field_violations(error)]
    raise AssertionError(f"{model.__name__} accepted {data!r}")


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


# Breaking a valid protobuf message in one place, as a hostile or buggy peer might.


def bad_identifiers() -> st.SearchStrategy[str]:
    """Strings that are not identifiers: empty, too long, or with a character ids do not allow."""
    return st.one_of(
        st.just(""),
        st.text("abc", min_size=limits.MAX_IDENTIFIER + 1, max_size=limits.MAX_IDENTIFIER + 8),
        st.builds(lambda head, bad: head + bad, identifiers(), st.sampled_from([" ", "\n", "é", "#", "\x00"])),
        st.sampled_from(["-leading", ".leading", "_leading"]),
    )


def bad_short_texts(required: bool = True) -> st.SearchStrategy[str]:
    too_long = st.text("xy", min_size=limits.MAX_SHORT_TEXT + 1, max_size=limits.MAX_SHORT_TEXT + 8)
    return st.one_of(st.just(""), too_long) if required else too_long


def break_timestamp(draw: st.DrawFn, stamp: Timestamp) -> None:
    """Out of the protobuf Timestamp range, or finer than a microsecond."""
    how = draw(st.sampled_from(["too late", "too early", "nanoseconds", "nanos out of range"]))
    if how == "too late":
        stamp.seconds = draw(st.integers(253402300800, 2**62))
    elif how == "too early":
        stamp.seconds = draw(st.integers(-(2**62), -62135596801))
    elif how == "nanoseconds":
        stamp.nanos = draw(st.integers(0, 999_999)) * 1000 + draw(st.integers(1, 999))
    else:
        stamp.nanos = draw(st.one_of(st.integers(-(2**31), -1), st.integers(1_000_000_000, 2**31 - 1)))


def break_duration(draw: st.DrawFn, span: Duration, longest: timedelta, zero_allowed: bool = False) -> None:
    """Negative (or zero when it must be positive), longer than `longest`, or not a valid Duration."""
    how = draw(st.sampled_from(["too short", "too long", "nanoseconds", "mixed signs"]))
    span.nanos = 0
    if how == "too short":
        span.seconds = draw(st.integers(-(10**9), -1 if zero_allowed else 0))
    elif how == "too long":
        span.seconds = draw(st.integers(int(longest.total_seconds()) + 1, 315_576_000_000))
    elif how == "nanoseconds":
        span.seconds = draw(st.integers(1, 60))
        span.nanos = draw(st.integers(1, 999))
    else:
        span.seconds = draw(st.integers(1, 10**6))
        span.nanos = -1000 * draw(st.integers(1, 999_999))


def bad_enum_numbers(known: type[enum.IntEnum]) -> st.SearchStrategy[int]:
    """0 (UNSPECIFIED) or a number the schema does not define (proto3 enums are open)."""
    return st.one_of(st.just(0), st.integers(max(known) + 1, 2**31 - 1), st.integers(-(2**31), -1))


def pick_index(draw: st.DrawFn, items: Any) -> int:
    """An index into a non-empty repeated field (the example is skipped when it is empty)."""
    assume(len(items) > 0)
    return draw(st.integers(0, len(items) - 1))


def repeat_element(draw: st.DrawFn, items: Any, name: str, limit: int, key: str = "") -> str:
    """Appends a copy of an element of repeated message field `name`; the path of the refusal.

    The copy repeats an element (refused at the copy, or its `key` field), or makes
    the list one too long (refused at the list).
    """
    original = items[pick_index(draw, items)]
    items.add().CopyFrom(original)
    if len(items) > limit:
        return name
    return f"{name}[{len(items) - 1}]" + (f".{key}" if key else "")
