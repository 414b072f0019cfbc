"""Error details: the field at fault, a stale version, a sequence gap, a refusal inside a stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deconflict import limits
from deconflict.bridge import errors as bridge
from deconflict.models.errors import FieldViolation, MessageRefusal, SequenceGap, StaleVersion
from deconflict.v1 import errors_pb2 as pb
from tests.strategies.conference import DELETE, changed, refusal_paths

VIOLATION = {"field": "notice.volumes[0].time_end", "description": "must be after time_start"}
STALE = {"notice_id": "notice-1", "quoted_version": 2, "current_version": 3}
GAP = {"expected": 5, "received": 7}
REFUSAL = {"message_id": "msg-4", "code": 3, "message": "bad input", "violations": [VIOLATION]}

V = (FieldViolation, VIOLATION)
ST = (StaleVersion, STALE)
G = (SequenceGap, GAP)
R = (MessageRefusal, REFUSAL)

DATA_CASES = [
    # requirement: a field path is at most a short text, a description text
    pytest.param(V, "field", "f" * (limits.MAX_SHORT_TEXT + 1), "field", id="violation-field-too-long"),
    pytest.param(
        V, "description", "d" * (limits.MAX_TEXT + 1), "description", id="DCF-LIM-004-violation-description-too-long"
    ),
    pytest.param(V, "description", 3, "description", id="violation-description-number"),
    pytest.param(ST, "notice_id", "", "notice_id", id="DCF-ERR-007-stale-notice-id-empty"),
    pytest.param(ST, "quoted_version", 0, "quoted_version", id="DCF-ERR-007-stale-quoted-0"),
    pytest.param(ST, "current_version", DELETE, "current_version", id="DCF-ERR-007-stale-current-missing"),
    # requirement: a stale version differs from the current one
    pytest.param(ST, "quoted_version", 3, "quoted_version", id="stale-but-current"),
    pytest.param(G, "expected", 0, "expected", id="DCF-ERR-008-gap-expected-0"),
    # requirement: a gap is a received sequence past the expected one
    pytest.param(G, "received", 5, "received", id="gap-received-expected"),
    pytest.param(G, "received", 4, "received", id="gap-received-behind"),
    pytest.param(R, "code", 0, "code", id="DCF-STR-008-refusal-code-ok"),
    pytest.param(R, "code", 17, "code", id="DCF-STR-008-refusal-code-17"),
    pytest.param(R, "code", -1, "code", id="DCF-STR-008-refusal-code-negative"),
    pytest.param(R, "message_id", "msg 4", "message_id", id="DCF-STR-008-refusal-message-id"),
    pytest.param(
        R, "violations", [VIOLATION] * (limits.MAX_LIST + 1), "violations", id="DCF-LIM-011-refusal-violations-many"
    ),
    pytest.param(R, "violations.0.field", 1, "violations[0].field", id="DCF-STR-008-refusal-violation-field-number"),
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
]


@pytest.mark.parametrize(("model", "to_proto", "read", "message_type"), ROUND_TRIPS)
def test_protobuf_round_trip(model: Any, to_proto: Any, read: Any, message_type: Any) -> None:
    """DCF-ERR-007, DCF-ERR-008, DCF-STR-008: error details survive the wire unchanged."""
    wire = to_proto(model).SerializeToString()
    assert type(model).model_validate(read(message_type.FromString(wire))) == model


def test_refused_from_protobuf_bytes() -> None:
    """DCF-ERR-008: a gap detail whose received sequence is not past the expected one is refused."""
    message = bridge.sequence_gap_to_proto(SequenceGap(**GAP))
    message.received = 0
    received = pb.SequenceGap.FromString(message.SerializeToString())
    assert refusal_paths(SequenceGap, bridge.sequence_gap_data(received)) == ["received"]
