"""Conference messages through the wire: model -> protobuf -> bytes -> protobuf -> model is the identity
for valid messages, and a valid message broken in one field is always refused at that field's path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deconflict import limits
from deconflict.bridge import conference as bridge
from deconflict.models.base import Message
from deconflict.models.conference import (
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceProposal,
    ConferenceRecord,
    ParticipantRole,
)
from deconflict.v1 import conference_pb2 as pb
from tests.strategies.conference import (
    accepting_answers,
    conference_answers,
    conference_cancellations,
    conference_proposals,
    conference_records,
    countering_answers,
    declining_answers,
    identifiers,
)
from tests.strategies.mutations import (
    bad_enum_numbers,
    bad_identifiers,
    bad_short_texts,
    break_duration,
    break_timestamp,
    pick_index,
    refusal_paths,
    repeat_element,
)

FAST = settings(max_examples=75, deadline=None)


def _through_bytes(message: Any) -> Any:
    return type(message).FromString(message.SerializeToString())


def _roundtrip(model: Message, to_proto: Callable[[Any], Any], read: Callable[[Any], dict[str, Any]]) -> Message:
    return type(model).model_validate(read(_through_bytes(to_proto(model))))


# Identity for valid messages.


@FAST
@given(conference_proposals())
def test_proposal_roundtrip(proposal: ConferenceProposal) -> None:
    assert _roundtrip(proposal, bridge.conference_proposal_to_proto, bridge.conference_proposal_data) == proposal


@FAST
@given(st.one_of(accepting_answers(), countering_answers(), declining_answers()))
def test_answer_roundtrip_in_its_three_forms(answer: ConferenceAnswer) -> None:
    assert _roundtrip(answer, bridge.conference_answer_to_proto, bridge.conference_answer_data) == answer


@FAST
@given(conference_records())
def test_record_roundtrip(record: ConferenceRecord) -> None:
    assert _roundtrip(record, bridge.conference_record_to_proto, bridge.conference_record_data) == record


@FAST
@given(conference_cancellations())
def test_cancellation_roundtrip(cancellation: ConferenceCancellation) -> None:
    """DCF-CNF-037: a valid cancellation survives the wire unchanged."""
    to_proto, read = bridge.conference_cancellation_to_proto, bridge.conference_cancellation_data
    assert _roundtrip(cancellation, to_proto, read) == cancellation


@FAST
@given(st.one_of(conference_proposals(), conference_answers(), conference_records(), conference_cancellations()))
def test_json_roundtrip(model: Message) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


# One field broken: each breaker edits a valid protobuf message and returns the path it broke.

Breaker = Callable[[st.DrawFn, Any], str]


def _proposal_breakers() -> dict[str, Breaker]:
    def conference_id(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        m.conference_id = draw(bad_identifiers())
        return "conference_id"

    def revision(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        m.revision = 0
        return "revision"

    def title(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        m.title = draw(bad_short_texts())
        return "title"

    def slot_time(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        index = pick_index(draw, m.candidate_slots)
        if draw(st.booleans()):
            m.candidate_slots[index].ClearField("start_time")
        else:
            break_timestamp(draw, m.candidate_slots[index].start_time)
        return f"candidate_slots[{index}].start_time"

    def slot_repeat(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        return repeat_element(draw, m.candidate_slots, "candidate_slots", limits.MAX_CANDIDATE_SLOTS)

    def no_slot(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        del m.candidate_slots[:]
        return "candidate_slots"

    def duration(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        break_duration(draw, m.duration, limits.MAX_CONFERENCE_DURATION)
        return "duration"

    def participant(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        index = pick_index(draw, m.participants)
        if draw(st.booleans()):
            m.participants[index].role = draw(bad_enum_numbers(ParticipantRole))
            return f"participants[{index}].role"
        m.participants[index].party = draw(bad_identifiers())
        return f"participants[{index}].party"

    def participant_repeat(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        return repeat_element(draw, m.participants, "participants", limits.MAX_LIST)

    def classification(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        m.classification = draw(bad_enum_numbers(Classification))
        return "classification"

    def item(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        index = pick_index(draw, m.agenda)
        target = m.agenda[index]
        how = draw(st.sampled_from(["kind", "allotted", "presenter", "title", "item_id", "no incident", "no document"]))
        if how == "kind":
            target.kind = draw(bad_enum_numbers(AgendaItemKind))
        elif how == "allotted":
            break_duration(draw, target.allotted, limits.MAX_DURATION)
        elif how == "presenter":
            target.ClearField("presenter")
        elif how == "title":
            target.title = draw(bad_short_texts())
        elif how == "item_id":
            target.item_id = draw(bad_identifiers())
        elif how == "no incident":
            target.kind = pb.AGENDA_ITEM_KIND_INCIDENT_REVIEW
            del target.incident_ids[:]
            return f"agenda[{index}].incident_ids"
        else:
            target.kind = pb.AGENDA_ITEM_KIND_PROPOSAL_REVIEW
            del target.documents[:]
            return f"agenda[{index}].documents"
        return f"agenda[{index}].{how}"

    def item_references(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        index = pick_index(draw, m.agenda)
        target = m.agenda[index]
        how = draw(st.sampled_from(["notice_ids", "incident_ids", "documents"]))
        items = getattr(target, how)
        position = pick_index(draw, items)
        if how == "documents":
            target.documents[position].sha256 = draw(st.binary(max_size=64).filter(lambda b: len(b) != 32))
            return f"agenda[{index}].documents[{position}].sha256"
        items.append(items[position])
        return f"agenda[{index}].{how}[{len(items) - 1}]"

    def item_id_repeat(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        assume(len(m.agenda) >= 2)
        m.agenda[-1].item_id = m.agenda[0].item_id
        return f"agenda[{len(m.agenda) - 1}].item_id"

    def agenda_too_long(draw: st.DrawFn, m: pb.ConferenceProposal) -> str:
        index = pick_index(draw, m.agenda)
        m.agenda[index].allotted.CopyFrom(m.duration)
        m.agenda[index].allotted.nanos += 1000
        return "agenda"

    return {
        "conference_id": conference_id,
        "revision": revision,
        "title": title,
        "slot_time": slot_time,
        "slot_repeat": slot_repeat,
        "no_slot": no_slot,
        "duration": duration,
        "participant": participant,
        "participant_repeat": participant_repeat,
        "classification": classification,
        "item": item,
        "item_references": item_references,
        "item_id_repeat": item_id_repeat,
        "agenda_too_long": agenda_too_long,
    }


PROPOSAL_BREAKERS = _proposal_breakers()


@st.composite
def broken_proposals(draw: st.DrawFn) -> tuple[pb.ConferenceProposal, str]:
    message = bridge.conference_proposal_to_proto(draw(conference_proposals()))
    path = PROPOSAL_BREAKERS[draw(st.sampled_from(sorted(PROPOSAL_BREAKERS)))](draw, message)
    return message, path


@FAST
@given(broken_proposals())
def test_broken_proposal_is_refused(broken: tuple[pb.ConferenceProposal, str]) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003; DCF-LIM-002, DCF-CMP-003, DCF-CMP-004, DCF-GEO-024, DCF-GEO-025; and
    DCF-CNF-004 to DCF-CNF-011.
    """
    message, path = broken
    assert refusal_paths(ConferenceProposal, bridge.conference_proposal_data(_through_bytes(message))) == [path]


@st.composite
def broken_answers(draw: st.DrawFn) -> tuple[pb.ConferenceAnswer, str]:
    message = bridge.conference_answer_to_proto(draw(conference_answers()))
    answer = message.WhichOneof("answer")
    how = draw(st.sampled_from(["conference_id", "revision", "no answer", "inside"]))
    if how == "conference_id":
        message.conference_id = draw(bad_identifiers())
        return message, "conference_id"
    if how == "revision":
        message.revision = 0
        if answer == "counter":
            message.counter.revision = 1
        return message, "revision"
    if how == "no answer":
        message.ClearField(answer)
        return message, "answer"
    if answer == "accept":
        if draw(st.booleans()):
            message.accept.ClearField("slot")
            return message, "accept.slot"
        break_timestamp(draw, message.accept.slot.start_time)
        return message, "accept.slot.start_time"
    if answer == "decline":
        message.decline.reason = draw(bad_short_texts())
        return message, "decline.reason"
    which = draw(st.sampled_from(["conference_id", "revision", "proposal"]))
    if which == "conference_id":
        message.counter.conference_id = draw(identifiers().filter(lambda c: c != message.conference_id))
    elif which == "revision":
        message.counter.revision = draw(st.integers(1, 2**32 - 1).filter(lambda r: r != message.revision + 1))
    else:
        breaker = PROPOSAL_BREAKERS[draw(st.sampled_from(sorted(set(PROPOSAL_BREAKERS) - {"revision"})))]
        which = breaker(draw, message.counter)
    return message, f"counter.{which}"


@FAST
@given(broken_answers())
def test_broken_answer_is_refused(broken: tuple[pb.ConferenceAnswer, str]) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003; DCF-LIM-002, DCF-CMP-003, DCF-CMP-004, DCF-GEO-024, DCF-GEO-025; and
    DCF-CNF-012, DCF-CNF-017, DCF-CNF-018, DCF-CNF-020.
    """
    message, path = broken
    assert refusal_paths(ConferenceAnswer, bridge.conference_answer_data(_through_bytes(message))) == [path]


@st.composite
def broken_records(draw: st.DrawFn) -> tuple[pb.ConferenceRecord, str]:
    message = bridge.conference_record_to_proto(draw(conference_records()))
    how = draw(
        st.sampled_from(["conference_id", "start", "end", "ends early", "attendee", "decision", "action", "repeat"])
    )
    if how == "conference_id":
        message.conference_id = draw(bad_identifiers())
        return message, "conference_id"
    if how in ("start", "end"):
        field = "start_time" if how == "start" else "end_time"
        if draw(st.booleans()):
            message.ClearField(field)
        else:
            break_timestamp(draw, getattr(message, field))
        return message, field
    if how == "ends early":
        message.end_time.CopyFrom(message.start_time)
        message.end_time.seconds -= draw(st.integers(0, 10**6))
        return message, "end_time"
    if how == "attendee":
        index = pick_index(draw, message.attendees)
        message.attendees[index].role = draw(bad_enum_numbers(ParticipantRole))
        return message, f"attendees[{index}].role"
    if how == "decision":
        index = pick_index(draw, message.decisions)
        field = draw(st.sampled_from(["decision_id", "item_id", "text"]))
        if field == "text":
            message.decisions[index].text = draw(st.sampled_from(["", "x" * (limits.MAX_TEXT + 1)]))
        else:
            setattr(message.decisions[index], field, draw(bad_identifiers().filter(bool)))
        return message, f"decisions[{index}].{field}"
    if how == "action":
        index = pick_index(draw, message.action_items)
        target = message.action_items[index]
        field = draw(st.sampled_from(["action_id", "owner", "owner_role", "description", "due_time"]))
        if field == "owner_role":
            target.owner_role = draw(bad_enum_numbers(ParticipantRole))
        elif field == "description":
            target.description = ""
        elif field == "due_time":
            break_timestamp(draw, target.due_time)
        else:
            setattr(target, field, draw(bad_identifiers()))
        return message, f"action_items[{index}].{field}"
    if draw(st.booleans()):
        return message, repeat_element(draw, message.decisions, "decisions", limits.MAX_LIST, "decision_id")
    return message, repeat_element(draw, message.action_items, "action_items", limits.MAX_LIST, "action_id")


@FAST
@given(broken_records())
def test_broken_record_is_refused(broken: tuple[pb.ConferenceRecord, str]) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003; DCF-LIM-002, DCF-CMP-003, DCF-CMP-004, DCF-GEO-024, DCF-GEO-025; and
    DCF-CNF-023.
    """
    message, path = broken
    assert refusal_paths(ConferenceRecord, bridge.conference_record_data(_through_bytes(message))) == [path]


@st.composite
def broken_cancellations(draw: st.DrawFn) -> tuple[pb.ConferenceCancellation, str]:
    message = bridge.conference_cancellation_to_proto(draw(conference_cancellations()))
    if draw(st.booleans()):
        message.conference_id = draw(bad_identifiers())
        return message, "conference_id"
    message.reason = draw(bad_short_texts())
    return message, "reason"


@FAST
@given(broken_cancellations())
def test_broken_cancellation_is_refused(broken: tuple[pb.ConferenceCancellation, str]) -> None:
    """DCF-CNF-037, DCF-ERR-003: one field broken is refused naming exactly that field."""
    message, path = broken
    read = bridge.conference_cancellation_data
    assert refusal_paths(ConferenceCancellation, read(_through_bytes(message))) == [path]
