"""Error details: the field at fault, a stale version, a sequence gap, a refusal inside a stream."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import errors as bridge
from deconflict.models.base import field_violations
from deconflict.models.errors import REASON_CODES, FieldViolation, MessageRefusal, SequenceGap, StaleVersion
from deconflict.v1 import errors_pb2 as pb
from tests.strategies.mutations import DELETE, changed, refusal_paths

VIOLATION = {"field": "notice.volumes[0].time_end", "description": "must be after time_start"}
STALE = {"notice_id": "notice-1", "quoted_version": 2, "current_version": 3}
GAP = {"expected": 5, "received": 7}
REFUSAL = {"message_id": "msg-4", "code": 3, "message": "bad input", "violations": [VIOLATION]}
STALE_REFUSAL = {
    "message_id": "msg-5",
    "code": 10,
    "message": "STALE_VERSION: notice-1 is at version 3, not 2",
    "reason": "STALE_VERSION",
    "stale_version": STALE,
}
GAP_REFUSAL = {
    "message_id": "msg-7",
    "code": 9,
    "message": "SEQUENCE_GAP: expected sequence 5, received 7",
    "reason": "SEQUENCE_GAP",
    "sequence_gap": GAP,
}
REASON_REFUSAL = {
    "message_id": "msg-6",
    "code": 7,
    "message": "NOT_OWNER: notice-1 is party-b's",
    "reason": "NOT_OWNER",
}

V = (FieldViolation, VIOLATION)
ST = (StaleVersion, STALE)
G = (SequenceGap, GAP)
R = (MessageRefusal, REFUSAL)
RS = (MessageRefusal, STALE_REFUSAL)
RG = (MessageRefusal, GAP_REFUSAL)
RR = (MessageRefusal, REASON_REFUSAL)

DATA_CASES = [
    pytest.param(V, "field", "f" * (limits.MAX_SHORT_TEXT + 1), "field", id="DCF-LIM-026-violation-field-too-long"),
    pytest.param(
        V, "description", "d" * (limits.MAX_TEXT + 1), "description", id="DCF-LIM-004-violation-description-too-long"
    ),
    pytest.param(V, "description", 3, "description", id="DCF-STR-008-violation-description-number"),
    pytest.param(ST, "notice_id", "", "notice_id", id="DCF-ERR-007-stale-notice-id-empty"),
    pytest.param(ST, "quoted_version", 0, "quoted_version", id="DCF-ERR-007-stale-quoted-0"),
    pytest.param(ST, "current_version", DELETE, "current_version", id="DCF-ERR-007-stale-current-missing"),
    pytest.param(ST, "quoted_version", 3, "quoted_version", id="DCF-ERR-017-stale-but-current"),
    pytest.param(G, "expected", 0, "expected", id="DCF-ERR-008-gap-expected-0"),
    pytest.param(G, "received", 5, "received", id="DCF-ERR-018-gap-received-expected"),
    pytest.param(G, "received", 4, "received", id="DCF-ERR-018-gap-received-behind"),
    pytest.param(R, "code", 0, "code", id="DCF-STR-008-refusal-code-ok"),
    pytest.param(R, "code", 17, "code", id="DCF-STR-008-refusal-code-17"),
    pytest.param(R, "code", -1, "code", id="DCF-STR-008-refusal-code-negative"),
    pytest.param(R, "message_id", "msg 4", "message_id", id="DCF-STR-008-refusal-message-id"),
    pytest.param(
        R, "violations", [VIOLATION] * (limits.MAX_LIST + 1), "violations", id="DCF-LIM-011-refusal-violations-many"
    ),
    pytest.param(R, "violations.0.field", 1, "violations[0].field", id="DCF-STR-008-refusal-violation-field-number"),
    # The reason: empty for INVALID_ARGUMENT, UPPER_SNAKE_CASE, and with the code the spec gives it.
    pytest.param(R, "reason", "NOT_OWNER", "reason", id="DCF-STR-012-invalid-argument-with-reason"),
    pytest.param(RR, "reason", "not_owner", "reason", id="DCF-STR-012-reason-lower-case"),
    pytest.param(RR, "reason", "NOT OWNER", "reason", id="DCF-STR-012-reason-space"),
    pytest.param(RR, "reason", "_NOT_OWNER", "reason", id="DCF-STR-012-reason-leading-underscore"),
    pytest.param(RR, "reason", "NOT_FOUND_", "reason", id="DCF-STR-012-reason-trailing-underscore"),
    pytest.param(RR, "reason", "A" * (limits.MAX_SHORT_TEXT + 1), "reason", id="DCF-LIM-026-reason-too-long"),
    pytest.param(RR, "reason", 7, "reason", id="DCF-STR-012-reason-number"),
    pytest.param(RR, "code", 9, "reason", id="DCF-STR-012-not-owner-as-failed-precondition"),
    pytest.param(RS, "code", 9, "reason", id="DCF-STR-012-stale-version-as-failed-precondition"),
    pytest.param(RG, "code", 10, "reason", id="DCF-STR-012-sequence-gap-as-aborted"),
    # The details: each with its code and its reason, and each reason with its detail.
    pytest.param(RR, "stale_version", STALE, "stale_version", id="DCF-STR-013-stale-version-under-permission-denied"),
    pytest.param(RR, "sequence_gap", GAP, "sequence_gap", id="DCF-STR-013-sequence-gap-under-permission-denied"),
    pytest.param(RS, "sequence_gap", GAP, "sequence_gap", id="DCF-STR-013-sequence-gap-under-aborted"),
    pytest.param(RG, "stale_version", STALE, "stale_version", id="DCF-STR-013-stale-version-under-failed-precondition"),
    pytest.param(RS, "stale_version", None, "stale_version", id="DCF-STR-013-stale-reason-without-detail"),
    pytest.param(RG, "sequence_gap", DELETE, "sequence_gap", id="DCF-STR-013-gap-reason-without-detail"),
    pytest.param(RS, "reason", "", "reason", id="DCF-STR-013-stale-detail-without-reason"),
    pytest.param(RG, "reason", "CLOCK_SKEW", "reason", id="DCF-STR-013-gap-detail-with-another-reason"),
    pytest.param(
        RS, "stale_version.quoted_version", 3, "stale_version.quoted_version", id="DCF-ERR-017-stale-detail-checked"
    ),
    pytest.param(RG, "sequence_gap.received", 5, "sequence_gap.received", id="DCF-ERR-018-gap-detail-checked"),
]


@pytest.mark.parametrize(("message", "field", "value", "path"), DATA_CASES)
def test_refused_at_path(message: tuple[type[Any], dict[str, Any]], field: str, value: Any, path: str) -> None:
    """DCF-ERR-003: each broken input is refused naming exactly the field at fault, by its path."""
    model, data = message
    assert refusal_paths(model, changed(data, field, value)) == [path]


def test_refusal_of_an_unreadable_message_has_no_id() -> None:
    """DCF-STR-008: the message id of a refusal is empty when unknown."""
    refusal = MessageRefusal.model_validate({"code": 3, "message": "undecodable"})
    assert (refusal.message_id, refusal.violations) == ("", [])


def test_refusals_with_a_reason_or_a_detail_are_accepted() -> None:
    """DCF-STR-011: a refusal carries the reason and details the unary RPC would carry."""
    stale = MessageRefusal.model_validate(STALE_REFUSAL)
    assert (stale.reason, stale.stale_version, stale.sequence_gap) == ("STALE_VERSION", StaleVersion(**STALE), None)
    gap = MessageRefusal.model_validate(GAP_REFUSAL)
    assert (gap.reason, gap.sequence_gap) == ("SEQUENCE_GAP", SequenceGap(**GAP))
    assert MessageRefusal.model_validate(REASON_REFUSAL).reason == "NOT_OWNER"
    # A reason a newer minor version adds is not refused for being unknown here.
    assert MessageRefusal.model_validate(REASON_REFUSAL | {"reason": "NEW_REASON_2"}).reason == "NEW_REASON_2"
    # No reason where the unary RPC gives none (NOT_FOUND).
    assert MessageRefusal.model_validate({"code": 5, "message": "unknown notice"}).reason == ""


def test_refusal_descriptions_say_what_is_wrong() -> None:
    """DCF-ERR-002, DCF-STR-012, DCF-STR-013: each refusal of a refusal says which rule it breaks."""
    with pytest.raises(ValidationError) as caught:
        MessageRefusal.model_validate(changed(REASON_REFUSAL, "code", 9))
    assert field_violations(caught.value, "refusal") == [("refusal.reason", "reason NOT_OWNER goes with code 7, not 9")]
    with pytest.raises(ValidationError) as caught:
        MessageRefusal.model_validate(changed(STALE_REFUSAL, "stale_version", None))
    assert field_violations(caught.value) == [("stale_version", "is required with reason STALE_VERSION")]


def _spec_reason_table() -> dict[str, str]:
    """reason -> code name, from the table of docs/spec/09-errors.md (DCF-ERR-006)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "spec" / "09-errors.md").read_text()
    return dict(re.findall(r"^\| `([A-Z_]+)` \| ([A-Z_]+) \|", text, re.MULTILINE))


CODE_NAMES = {
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}


def test_reason_codes_are_those_of_the_specification() -> None:
    """DCF-ERR-006, DCF-STR-012: the model knows exactly the reasons of the spec's table, each with its code."""
    table = _spec_reason_table()
    assert len(table) >= 30
    assert {reason: CODE_NAMES[code] for reason, code in table.items()} == REASON_CODES


ROUND_TRIPS: list[tuple[Any, Callable[[Any], Any], Callable[[Any], dict[str, Any]], Any]] = [
    (FieldViolation(**VIOLATION), bridge.field_violation_to_proto, bridge.field_violation_data, pb.FieldViolation),
    (StaleVersion(**STALE), bridge.stale_version_to_proto, bridge.stale_version_data, pb.StaleVersion),
    (SequenceGap(**GAP), bridge.sequence_gap_to_proto, bridge.sequence_gap_data, pb.SequenceGap),
    (
        MessageRefusal.model_validate(REFUSAL),
        bridge.message_refusal_to_proto,
        bridge.message_refusal_data,
        pb.MessageRefusal,
    ),
    *(
        (
            MessageRefusal.model_validate(data),
            bridge.message_refusal_to_proto,
            bridge.message_refusal_data,
            pb.MessageRefusal,
        )
        for data in (STALE_REFUSAL, GAP_REFUSAL, REASON_REFUSAL)
    ),
]


@pytest.mark.parametrize(("model", "to_proto", "read", "message_type"), ROUND_TRIPS)
def test_protobuf_round_trip(model: Any, to_proto: Any, read: Any, message_type: Any) -> None:
    """DCF-ERR-007, DCF-ERR-008, DCF-STR-008, DCF-STR-011: error details survive the wire unchanged."""
    wire = to_proto(model).SerializeToString()
    assert type(model).model_validate(read(message_type.FromString(wire))) == model


def test_refused_from_protobuf_bytes() -> None:
    """DCF-ERR-008: a gap detail whose received sequence is not past the expected one is refused."""
    message = bridge.sequence_gap_to_proto(SequenceGap(**GAP))
    message.received = 0
    received = pb.SequenceGap.FromString(message.SerializeToString())
    assert refusal_paths(SequenceGap, bridge.sequence_gap_data(received)) == ["received"]


def test_unset_details_stay_unset_on_the_wire() -> None:
    """DCF-STR-013: a refusal without a detail sends none; one with a detail sends it set."""
    plain = bridge.message_refusal_to_proto(MessageRefusal.model_validate(REFUSAL))
    assert not plain.HasField("stale_version")
    assert not plain.HasField("sequence_gap")
    stale = bridge.message_refusal_to_proto(MessageRefusal.model_validate(STALE_REFUSAL))
    assert stale.HasField("stale_version")
    assert (stale.reason, stale.stale_version.current_version) == ("STALE_VERSION", 3)


def _refusal_pb(data: dict[str, Any]) -> pb.MessageRefusal:
    return bridge.message_refusal_to_proto(MessageRefusal.model_validate(data))


def _edited(message: pb.MessageRefusal, edit: Callable[[pb.MessageRefusal], None]) -> pb.MessageRefusal:
    edit(message)
    return pb.MessageRefusal.FromString(message.SerializeToString())


PROTO_CASES = [
    pytest.param(
        _refusal_pb(STALE_REFUSAL),
        lambda m: m.ClearField("stale_version"),
        "stale_version",
        id="DCF-STR-013-pb-no-detail",
    ),
    pytest.param(
        _refusal_pb(GAP_REFUSAL),
        lambda m: m.stale_version.CopyFrom(bridge.stale_version_to_proto(StaleVersion(**STALE))),
        "stale_version",
        id="DCF-STR-013-pb-stale-under-failed-precondition",
    ),
    pytest.param(
        _refusal_pb(REFUSAL), lambda m: setattr(m, "reason", "NOT_OWNER"), "reason", id="DCF-STR-012-pb-reason"
    ),
    pytest.param(
        _refusal_pb(GAP_REFUSAL),
        lambda m: setattr(m.sequence_gap, "received", 5),
        "sequence_gap.received",
        id="DCF-ERR-018-pb",
    ),
]


@pytest.mark.parametrize(("message", "edit", "path"), PROTO_CASES)
def test_refusal_refused_from_protobuf_bytes(
    message: pb.MessageRefusal, edit: Callable[[pb.MessageRefusal], None], path: str
) -> None:
    """DCF-ERR-003, DCF-STR-012, DCF-STR-013: a broken refusal from the wire is refused naming the field."""
    copy = pb.MessageRefusal()
    copy.CopyFrom(message)
    assert refusal_paths(MessageRefusal, bridge.message_refusal_data(_edited(copy, edit))) == [path]
