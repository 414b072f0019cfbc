"""Conference models: each rule accepts a valid message and refuses a broken one at the exact field path.

Inputs arrive two ways: as plain data (a dict, as from JSON) and as protobuf bytes
read through the bridge, the way a peer's message arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import conference as bridge
from deconflict.models.base import Message, field_violations
from deconflict.models.conference import (
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceProposal,
    ConferenceRecord,
    ConferenceState,
    ParticipantRole,
)
from deconflict.v1 import conference_pb2 as pb
from tests.strategies.conference import (
    HOUR,
    T0,
    example_acceptance,
    example_conference_cancellation,
    example_counter,
    example_decline,
    example_proposal,
    example_record,
)
from tests.strategies.mutations import DELETE, changed, refusal_paths

PROPOSAL = example_proposal().model_dump()
ACCEPTANCE = example_acceptance().model_dump()
COUNTER = example_counter().model_dump()
DECLINE = example_decline().model_dump()
RECORD = example_record().model_dump()
CANCELLATION = example_conference_cancellation().model_dump()

# The valid data of each table row, with the model that must refuse the broken copy.
P = (ConferenceProposal, PROPOSAL)
A = (ConferenceAnswer, ACCEPTANCE)
C = (ConferenceAnswer, COUNTER)
D = (ConferenceAnswer, DECLINE)
R = (ConferenceRecord, RECORD)
X = (ConferenceCancellation, CANCELLATION)


def _many(count: int, make: Callable[[int], Any]) -> list[Any]:
    return [make(index) for index in range(count)]


def _repeat(index: int) -> Callable[[list[Any]], list[Any]]:
    """Appends a copy of element `index` to a list."""
    return lambda items: [*items, items[index]]


def _participant(index: int) -> dict[str, Any]:
    return {"party": f"party-{index}", "role": ParticipantRole.LEGAL}


def _item(index: int) -> dict[str, Any]:
    return changed(PROPOSAL["agenda"][0], "item_id", f"item-{index}") | {"allotted": timedelta(seconds=1)}


# (message, valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    # Documents are referred to by id, title, author and a 32-byte SHA-256.
    pytest.param(
        P, "agenda.1.documents.0.sha256", bytes(31), "agenda[1].documents[0].sha256", id="DCF-CNF-011-doc-sha-31"
    ),
    pytest.param(
        P, "agenda.1.documents.0.sha256", bytes(33), "agenda[1].documents[0].sha256", id="DCF-CNF-011-doc-sha-33"
    ),
    pytest.param(P, "agenda.1.documents.0.title", "", "agenda[1].documents[0].title", id="DCF-CNF-011-doc-title-empty"),
    pytest.param(
        P, "agenda.1.documents.0.author", "two words", "agenda[1].documents[0].author", id="DCF-CNF-011-doc-author"
    ),
    pytest.param(
        P, "agenda.1.documents.0.document_id", "", "agenda[1].documents[0].document_id", id="DCF-CNF-011-doc-id"
    ),
    # Participants are named by party and role.
    pytest.param(P, "participants.0.role", 0, "participants[0].role", id="DCF-CNF-006-role-unspecified"),
    pytest.param(P, "participants.1.party", "", "participants[1].party", id="DCF-CNF-006-party-empty"),
    pytest.param(P, "participants.1.role", DELETE, "participants[1].role", id="DCF-CNF-006-role-missing"),
    # Agenda items.
    pytest.param(P, "agenda.0.item_id", "-leading-dash", "agenda[0].item_id", id="DCF-CNF-008-item-id-pattern"),
    pytest.param(P, "agenda.0.kind", DELETE, "agenda[0].kind", id="DCF-CNF-008-item-kind-missing"),
    pytest.param(P, "agenda.0.kind", 9, "agenda[0].kind", id="DCF-CMP-003-item-kind-unknown"),
    pytest.param(P, "agenda.0.title", "", "agenda[0].title", id="DCF-CNF-008-item-title-empty"),
    pytest.param(P, "agenda.0.title", "x" * 257, "agenda[0].title", id="DCF-LIM-003-item-title-long"),
    pytest.param(
        P, "agenda.0.notice_ids", _many(65, lambda i: f"n-{i}"), "agenda[0].notice_ids", id="DCF-LIM-011-notice-ids-65"
    ),
    pytest.param(P, "agenda.0.notice_ids", _repeat(0), "agenda[0].notice_ids[2]", id="DCF-CNF-009-notice-ids-repeat"),
    pytest.param(P, "agenda.0.notice_ids.1", "a b", "agenda[0].notice_ids[1]", id="DCF-CNF-009-notice-id-pattern"),
    pytest.param(P, "agenda.0.incident_ids", _repeat(0), "agenda[0].incident_ids[1]", id="DCF-CNF-009-incident-repeat"),
    pytest.param(
        P, "agenda.0.incident_ids", [], "agenda[0].incident_ids", id="DCF-CNF-010-incident-review-no-incident"
    ),
    pytest.param(P, "agenda.1.documents", [], "agenda[1].documents", id="DCF-CNF-010-proposal-review-no-document"),
    pytest.param(
        P,
        "agenda.1.documents",
        _many(65, lambda i: {"document_id": f"d-{i}", "title": "t", "author": "a", "sha256": bytes(32)}),
        "agenda[1].documents",
        id="DCF-LIM-011-documents-65",
    ),
    pytest.param(
        P, "agenda.1.documents", _repeat(0), "agenda[1].documents[1].document_id", id="DCF-CNF-009-doc-repeat"
    ),
    pytest.param(P, "agenda.0.presenter", DELETE, "agenda[0].presenter", id="DCF-CNF-008-presenter-missing"),
    pytest.param(P, "agenda.0.presenter", None, "agenda[0].presenter", id="DCF-CNF-008-presenter-null"),
    pytest.param(P, "agenda.0.allotted", timedelta(0), "agenda[0].allotted", id="DCF-CNF-008-allotted-zero"),
    pytest.param(P, "agenda.1.allotted", -HOUR, "agenda[1].allotted", id="DCF-CNF-008-allotted-negative"),
    # Time slots and the proposal.
    pytest.param(P, "candidate_slots.0.start_time", None, "candidate_slots[0].start_time", id="DCF-CNF-005-slot-unset"),
    pytest.param(
        P,
        "candidate_slots.1.start_time",
        datetime(2025, 1, 1),
        "candidate_slots[1].start_time",
        id="DCF-GEO-024-slot-naive",
    ),
    pytest.param(P, "conference_id", "", "conference_id", id="DCF-LIM-002-conference-id-empty"),
    pytest.param(P, "conference_id", "x" * 129, "conference_id", id="DCF-LIM-002-conference-id-long"),
    pytest.param(P, "revision", 0, "revision", id="DCF-CNF-001-revision-zero"),
    pytest.param(P, "revision", "1", "revision", id="DCF-CNF-001-revision-string"),
    pytest.param(P, "title", "", "title", id="DCF-CNF-004-title-empty"),
    pytest.param(P, "candidate_slots", [], "candidate_slots", id="DCF-CNF-005-no-slot"),
    pytest.param(
        P,
        "candidate_slots",
        _many(limits.MAX_CANDIDATE_SLOTS + 1, lambda i: {"start_time": T0 + i * HOUR}),
        "candidate_slots",
        id="DCF-LIM-012-slots-17",
    ),
    pytest.param(P, "candidate_slots", _repeat(0), "candidate_slots[2]", id="DCF-CNF-005-slot-repeat"),
    pytest.param(P, "duration", timedelta(0), "duration", id="DCF-CNF-004-duration-zero"),
    pytest.param(P, "duration", timedelta(hours=24, microseconds=1), "duration", id="DCF-LIM-015-duration-over-24h"),
    pytest.param(P, "duration", DELETE, "duration", id="DCF-CNF-004-duration-missing"),
    pytest.param(P, "participants", [], "participants", id="DCF-CNF-006-no-participant"),
    pytest.param(P, "participants", _many(65, _participant), "participants", id="DCF-LIM-011-participants-65"),
    pytest.param(P, "participants", _repeat(1), "participants[2]", id="DCF-CNF-006-participant-repeat"),
    pytest.param(P, "classification", 0, "classification", id="DCF-CNF-004-classification-unspecified"),
    pytest.param(P, "classification", "TOP_SECRET", "classification", id="DCF-CMP-003-classification-unknown"),
    pytest.param(P, "agenda", _many(limits.MAX_AGENDA_ITEMS + 1, _item), "agenda", id="DCF-LIM-013-agenda-65"),
    pytest.param(P, "agenda.1.item_id", "item-1", "agenda[1].item_id", id="DCF-CNF-007-item-id-repeat"),
    pytest.param(P, "duration", HOUR, "agenda", id="DCF-CNF-007-agenda-longer-than-conference"),
    # Plain data carries only schema fields (protobuf's unknown fields are ignored: DCF-CMP-001).
    pytest.param(P, "organiser", "party-a", "organiser", id="DCF-CMP-012-unknown-field"),
    pytest.param(P, "agenda.0.target", "x", "agenda[0].target", id="DCF-CMP-012-unknown-nested-field"),
    # Answers.
    pytest.param(A, "accept", None, "answer", id="DCF-CNF-012-answer-none"),
    pytest.param(A, "decline", {"reason": "no"}, "answer", id="DCF-CNF-012-answer-two"),
    pytest.param(A, "accept.slot", DELETE, "accept.slot", id="DCF-CNF-017-accept-no-slot"),
    pytest.param(A, "revision", 0, "revision", id="DCF-CNF-012-answer-revision-zero"),
    pytest.param(A, "conference_id", "", "conference_id", id="DCF-CNF-012-answer-conference-id"),
    pytest.param(
        C, "counter.conference_id", "conf-2", "counter.conference_id", id="DCF-CNF-018-counter-other-conference"
    ),
    pytest.param(C, "counter.revision", 1, "counter.revision", id="DCF-CNF-018-counter-same-revision"),
    pytest.param(C, "counter.revision", 3, "counter.revision", id="DCF-CNF-018-counter-skips-revision"),
    pytest.param(C, "counter.duration", HOUR, "counter.agenda", id="DCF-CNF-018-counter-checked-too"),
    pytest.param(D, "decline.reason", "", "decline.reason", id="DCF-CNF-020-decline-no-reason"),
    pytest.param(D, "decline.reason", "x" * 257, "decline.reason", id="DCF-LIM-003-decline-long-reason"),
    # Records, decisions and action items.
    pytest.param(R, "conference_id", "a b", "conference_id", id="DCF-CNF-023-record-conference-id"),
    pytest.param(R, "end_time", T0, "end_time", id="DCF-CNF-023-record-ends-at-start"),
    pytest.param(R, "end_time", T0 - HOUR, "end_time", id="DCF-CNF-023-record-ends-before-start"),
    pytest.param(R, "start_time", DELETE, "start_time", id="DCF-CNF-023-record-no-start"),
    pytest.param(R, "attendees", _many(65, _participant), "attendees", id="DCF-LIM-011-attendees-65"),
    pytest.param(R, "decisions.0.decision_id", "", "decisions[0].decision_id", id="DCF-CNF-023-decision-id-empty"),
    pytest.param(R, "decisions.0.item_id", "a b", "decisions[0].item_id", id="DCF-LIM-002-decision-item-id"),
    pytest.param(R, "decisions.0.text", "", "decisions[0].text", id="DCF-CNF-023-decision-text-empty"),
    pytest.param(R, "decisions.0.text", "x" * 4001, "decisions[0].text", id="DCF-LIM-004-decision-text-long"),
    pytest.param(R, "decisions", _repeat(0), "decisions[1].decision_id", id="DCF-CNF-023-decision-repeat"),
    pytest.param(R, "action_items.0.action_id", "", "action_items[0].action_id", id="DCF-CNF-023-action-id-empty"),
    pytest.param(R, "action_items.0.owner", "", "action_items[0].owner", id="DCF-CNF-023-action-owner-empty"),
    pytest.param(
        R, "action_items.0.owner_role", 99, "action_items[0].owner_role", id="DCF-CMP-003-action-role-unknown"
    ),
    pytest.param(R, "action_items.0.description", "", "action_items[0].description", id="DCF-CNF-023-action-no-text"),
    pytest.param(R, "action_items.0.due_time", None, "action_items[0].due_time", id="DCF-CNF-023-action-no-due-time"),
    pytest.param(R, "action_items", _repeat(0), "action_items[1].action_id", id="DCF-CNF-023-action-repeat"),
    # Cancellations: which conference, and why.
    pytest.param(X, "conference_id", "", "conference_id", id="DCF-CNF-037-cancel-conference-id-empty"),
    pytest.param(X, "conference_id", "conf 1", "conference_id", id="DCF-CNF-037-cancel-conference-id-space"),
    pytest.param(X, "conference_id", DELETE, "conference_id", id="DCF-CNF-037-cancel-conference-id-missing"),
    pytest.param(X, "reason", "", "reason", id="DCF-CNF-037-cancel-no-reason"),
    pytest.param(X, "reason", DELETE, "reason", id="DCF-CNF-037-cancel-reason-missing"),
    pytest.param(X, "reason", "x" * 257, "reason", id="DCF-LIM-003-cancel-reason-too-long"),
    pytest.param(X, "revision", 2, "revision", id="DCF-CMP-012-cancel-unknown-field"),
]


@pytest.mark.parametrize(("valid", "field", "value", "path"), DATA_CASES)
def test_invalid_data_is_refused_at_its_path(
    valid: tuple[type[Message], dict[str, Any]], field: str, value: Any, path: str
) -> None:
    model, data = valid
    assert refusal_paths(model, changed(data, field, value)) == [path]


def _proposal_pb() -> pb.ConferenceProposal:
    return bridge.conference_proposal_to_proto(example_proposal())


def _counter_pb() -> pb.ConferenceAnswer:
    return bridge.conference_answer_to_proto(example_counter())


def _record_pb() -> pb.ConferenceRecord:
    return bridge.conference_record_to_proto(example_record())


def _cancellation_pb() -> pb.ConferenceCancellation:
    return bridge.conference_cancellation_to_proto(example_conference_cancellation())


def _set(message: ProtoMessage, path: str, value: Any) -> ProtoMessage:
    *parents, last = path.split(".")
    node: Any = message
    for part in parents:
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    setattr(node, last, value)
    return message


def _clear(message: ProtoMessage, path: str) -> ProtoMessage:
    *parents, last = path.split(".")
    node: Any = message
    for part in parents:
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    node.ClearField(last)
    return message


def _extend(path: str, count: int = 1) -> Callable[[Any], Any]:
    def edit(message: Any) -> Any:
        items = getattr(message, path)
        for _ in range(count):
            items.add().CopyFrom(items[0])
        return message

    return edit


# (valid protobuf message, edit, data reader, model, exact path of the refusal)
PROTO_CASES = [
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "revision", 0),
        "conference_proposal",
        "revision",
        id="DCF-CNF-001-pb-revision-unset",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "classification", 99),
        "conference_proposal",
        "classification",
        id="DCF-CMP-003-pb-classification-unknown-number",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "candidate_slots.0.start_time.nanos", 1),
        "conference_proposal",
        "candidate_slots[0].start_time",
        id="DCF-GEO-024-pb-slot-nanoseconds",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "candidate_slots.1.start_time.seconds", 2**40),
        "conference_proposal",
        "candidate_slots[1].start_time",
        id="DCF-GEO-024-pb-slot-past-year-9999",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _clear(m, "candidate_slots.1.start_time"),
        "conference_proposal",
        "candidate_slots[1].start_time",
        id="DCF-CNF-005-pb-slot-unset",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "duration.seconds", -5),
        "conference_proposal",
        "duration",
        id="DCF-GEO-025-pb-duration-neg",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(_set(m, "duration.seconds", 5), "duration.nanos", -1000),
        "conference_proposal",
        "duration",
        id="DCF-GEO-025-pb-duration-mixed-signs",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _clear(m, "duration"),
        "conference_proposal",
        "duration",
        id="DCF-CNF-004-pb-duration-unset",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _clear(m, "agenda.0.presenter"),
        "conference_proposal",
        "agenda[0].presenter",
        id="DCF-CNF-008-pb-presenter-unset",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _clear(m, "agenda.1.allotted"),
        "conference_proposal",
        "agenda[1].allotted",
        id="DCF-CNF-008-pb-allotted-unset",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "agenda.1.documents.0.sha256", bytes(16)),
        "conference_proposal",
        "agenda[1].documents[0].sha256",
        id="DCF-CNF-011-pb-document-sha-16",
    ),
    pytest.param(
        _proposal_pb,
        _extend("candidate_slots"),
        "conference_proposal",
        "candidate_slots[2]",
        id="DCF-CNF-005-pb-slot-repeat",
    ),
    pytest.param(
        _proposal_pb,
        _extend("candidate_slots", limits.MAX_CANDIDATE_SLOTS),
        "conference_proposal",
        "candidate_slots",
        id="DCF-LIM-012-pb-slots-too-many",
    ),
    pytest.param(
        _proposal_pb,
        lambda m: _set(m, "participants.0.party", "é"),
        "conference_proposal",
        "participants[0].party",
        id="DCF-CNF-006-pb-party-not-ascii",
    ),
    pytest.param(
        _counter_pb,
        lambda m: _clear(m, "counter"),
        "conference_answer",
        "answer",
        id="DCF-CNF-012-pb-answer-oneof-unset",
    ),
    pytest.param(
        _counter_pb,
        lambda m: _set(m, "counter.revision", 7),
        "conference_answer",
        "counter.revision",
        id="DCF-CNF-018-pb-counter-revision",
    ),
    pytest.param(
        _counter_pb,
        lambda m: _set(m, "counter.agenda.0.kind", 0),
        "conference_answer",
        "counter.agenda[0].kind",
        id="DCF-CMP-004-pb-counter-item-kind-unspecified",
    ),
    pytest.param(
        _record_pb, lambda m: _clear(m, "end_time"), "conference_record", "end_time", id="DCF-CNF-023-pb-record-no-end"
    ),
    pytest.param(
        _record_pb,
        lambda m: _set(m, "action_items.0.owner_role", 0),
        "conference_record",
        "action_items[0].owner_role",
        id="DCF-CMP-004-pb-action-role-unspecified",
    ),
    pytest.param(
        _record_pb,
        lambda m: _clear(m, "action_items.0.due_time"),
        "conference_record",
        "action_items[0].due_time",
        id="DCF-CNF-023-pb-action-no-due-time",
    ),
    pytest.param(
        _cancellation_pb,
        lambda m: _set(m, "reason", ""),
        "conference_cancellation",
        "reason",
        id="DCF-CNF-037-pb-cancel-no-reason",
    ),
    pytest.param(
        _cancellation_pb,
        lambda m: _set(m, "conference_id", "é"),
        "conference_cancellation",
        "conference_id",
        id="DCF-CNF-037-pb-cancel-conference-id",
    ),
]

READERS: dict[str, tuple[Callable[[Any], dict[str, Any]], type[Message]]] = {
    "conference_proposal": (bridge.conference_proposal_data, ConferenceProposal),
    "conference_answer": (bridge.conference_answer_data, ConferenceAnswer),
    "conference_record": (bridge.conference_record_data, ConferenceRecord),
    "conference_cancellation": (bridge.conference_cancellation_data, ConferenceCancellation),
}


@pytest.mark.parametrize(("valid", "edit", "kind", "path"), PROTO_CASES)
def test_invalid_protobuf_is_refused_at_its_path(
    valid: Callable[[], ProtoMessage], edit: Callable[[Any], Any], kind: str, path: str
) -> None:
    message = edit(valid())
    received = type(message).FromString(message.SerializeToString())
    read, model = READERS[kind]
    assert refusal_paths(model, read(received)) == [path]


# Valid messages, including each rule's boundary.


@pytest.mark.parametrize(
    "example",
    [
        example_proposal,
        example_acceptance,
        example_counter,
        example_decline,
        example_record,
        example_conference_cancellation,
    ],
)
def test_examples_are_valid_and_come_back_from_json(example: Callable[[], Message]) -> None:
    model = example()
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_enums_accept_member_number_short_and_protobuf_name() -> None:
    """DCF-CMP-013: plain data names an enum value by number, short name or protobuf name (or member)."""
    for value in (Classification.SECRET, 4, "SECRET", "CLASSIFICATION_SECRET"):
        data = changed(PROPOSAL, "classification", value)
        assert ConferenceProposal.model_validate(data).classification is Classification.SECRET


def test_proposal_boundaries_are_accepted() -> None:
    """DCF-CNF-007, DCF-LIM-015, DCF-LIM-012, DCF-LIM-011, DCF-LIM-001: every value at the bounds is accepted."""
    data = changed(PROPOSAL, "duration", HOUR + HOUR / 2)
    assert ConferenceProposal.model_validate(data).duration == timedelta(minutes=90)
    data = changed(PROPOSAL, "duration", limits.MAX_CONFERENCE_DURATION)
    data = changed(data, "candidate_slots", [{"start_time": T0 + i * HOUR} for i in range(16)])
    data = changed(data, "participants", [_participant(i) for i in range(64)])
    assert len(ConferenceProposal.model_validate(data).participants) == limits.MAX_LIST


def test_same_party_may_attend_in_two_roles() -> None:
    """DCF-CNF-006: only a repeated (party, role) pair is refused."""
    data = changed(PROPOSAL, "participants.1", {"party": "party-a", "role": ParticipantRole.LEGAL})
    assert len(ConferenceProposal.model_validate(data).participants) == 2


def test_other_item_kinds_need_no_reference() -> None:
    """DCF-CNF-010 and DCF-CNF-032: only incident and proposal reviews must name what they review."""
    data = changed(PROPOSAL, "agenda.0.kind", AgendaItemKind.PROCEDURE_CHANGE)
    data = changed(data, "agenda.0.incident_ids", [])
    assert ConferenceProposal.model_validate(data).agenda[0].incident_ids == []


def test_times_in_other_zones_are_held_in_utc() -> None:
    """DCF-GEO-024: times are held in UTC, to the microsecond."""
    plus_three = timezone(timedelta(hours=3))
    data = changed(RECORD, "start_time", datetime(2025, 10, 1, 12, 0, tzinfo=plus_three))
    assert ConferenceRecord.model_validate(data).start_time == T0
    assert ConferenceRecord.model_validate(data).start_time.tzinfo is UTC


def test_refusals_say_what_is_wrong() -> None:
    """DCF-ERR-002, DCF-ERR-003: each refusal names the field by its protobuf path and says what is wrong."""
    with pytest.raises(ValidationError) as refused:
        ConferenceProposal.model_validate(changed(PROPOSAL, "duration", HOUR))
    assert field_violations(refused.value) == [
        ("agenda", "the time allotted to the items (1:30:00) exceeds the conference duration (1:00:00)")
    ]
    with pytest.raises(ValidationError) as refused:
        ConferenceAnswer.model_validate(changed(COUNTER, "counter.revision", 3))
    assert field_violations(refused.value, "conference_answer") == [
        ("conference_answer.counter.revision", "a counter to revision 1 must be revision 2")
    ]
    with pytest.raises(ValidationError) as refused:
        ConferenceProposal.model_validate(changed(PROPOSAL, "candidate_slots.0.start_time", None))
    assert field_violations(refused.value) == [("candidate_slots[0].start_time", "is required")]
    with pytest.raises(ValidationError) as refused:
        ConferenceProposal.model_validate(changed(PROPOSAL, "participants", _repeat(0)))
    assert field_violations(refused.value) == [("participants[2]", "repeats the party and role of participants[0]")]


def test_has_slot_matches_candidate_start_times() -> None:
    """DCF-CNF-017: an accepted slot is a candidate when its start time is one of the candidates'."""
    proposal = example_proposal()
    assert proposal.has_slot(example_acceptance().accept.slot)
    assert not proposal.has_slot(type(proposal.candidate_slots[0])(start_time=T0 + HOUR))


def test_unknown_protobuf_fields_are_ignored() -> None:
    """DCF-CMP-001: a field a receiver does not know (here number 99, a varint) does not make it refuse."""
    wire = bridge.conference_proposal_to_proto(example_proposal()).SerializeToString() + b"\x98\x06\x01"
    received = pb.ConferenceProposal.FromString(wire)
    assert ConferenceProposal.model_validate(bridge.conference_proposal_data(received)) == example_proposal()


def test_cancellation_round_trips_through_protobuf() -> None:
    """DCF-CNF-037: a cancellation survives the wire unchanged."""
    wire = bridge.conference_cancellation_to_proto(example_conference_cancellation()).SerializeToString()
    received = pb.ConferenceCancellation.FromString(wire)
    assert ConferenceCancellation.model_validate(bridge.conference_cancellation_data(received)) == (
        example_conference_cancellation()
    )


def test_conference_states_match_the_schema() -> None:
    """DCF-CNF-027, DCF-CNF-038: CANCELLED is a conference state, with the schema's name and number."""
    assert {f"CONFERENCE_STATE_{state.name}": int(state) for state in ConferenceState} == {
        name: number for name, number in pb.ConferenceState.items() if number
    }
    assert ConferenceState.CANCELLED == pb.CONFERENCE_STATE_CANCELLED
