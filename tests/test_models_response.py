"""Answer models: the logical acknowledgement, the operational response and the response timeout.

Each rule accepts a valid message and refuses a broken one at the exact field
path, from plain data and from protobuf bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage

from deconflict import limits
from deconflict.bridge import response as bridge
from deconflict.models.response import (
    DialogueState,
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
    ResponseTimeout,
    UnableReason,
)
from deconflict.v1 import response_pb2 as pb
from tests.strategies.mutations import DELETE, changed, refusal_paths
from tests.strategies.notice import (
    T0,
    THIRD_PARTY_REMARK,
    example_acknowledgement,
    example_conference_timeout,
    example_response,
    example_timeout,
    example_volumes,
)

ACCEPT = example_response(ResponseKind.ACCEPT).model_dump()
UNABLE = example_response(ResponseKind.UNABLE).model_dump()
COUNTER = example_response(ResponseKind.COUNTER).model_dump()
ACK = example_acknowledgement().model_dump()
TIMEOUT = example_timeout().model_dump()

OK = (OperationalResponse, ACCEPT)
UN = (OperationalResponse, UNABLE)
CO = (OperationalResponse, COUNTER)
LA = (LogicalAcknowledgement, ACK)
TO = (ResponseTimeout, TIMEOUT)

VOLUME = example_volumes()[0].model_dump()
# UNABLE for another reason than a conflict: no conflicts, and remarks that say why.
UNABLE_OTHER = (
    OperationalResponse,
    UNABLE | {"reasons": [UnableReason.OTHER], "conflicts": [], "remarks": "Crew duty limits."},
)
# UNABLE for a conflict only: the conflicts listed, no remarks.
UNABLE_CONFLICT = (
    OperationalResponse,
    UNABLE | {"reasons": [UnableReason.CONFLICT], "remarks": ""},
)
# UNABLE for a conflict with a third party's notice only: no entry, a remark instead (DCF-CFL-019).
UNABLE_THIRD_PARTY = (
    OperationalResponse,
    UNABLE | {"reasons": [UnableReason.CONFLICT], "conflicts": [], "remarks": THIRD_PARTY_REMARK},
)
NO_NOTICE = {"notice_id": "", "notice_version": 0}
CONFERENCE_TIMEOUT = example_conference_timeout().model_dump()
TO_PROPOSAL = (ResponseTimeout, CONFERENCE_TIMEOUT)
TO_NO_NOTICE = (ResponseTimeout, TIMEOUT | NO_NOTICE)


def _repeat(index: int) -> Callable[[list[Any]], list[Any]]:
    return lambda items: [*items, items[index]]


# (message, valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    # Every response names the notice version it answers, and its kind.
    pytest.param(OK, "notice_id", "", "notice_id", id="DCF-LIM-002-response-notice-id-empty"),
    pytest.param(OK, "notice_version", 0, "notice_version", id="DCF-RSP-036-response-version-0"),
    pytest.param(OK, "notice_version", DELETE, "notice_version", id="DCF-RSP-036-response-version-missing"),
    pytest.param(OK, "kind", 0, "kind", id="DCF-RSP-003-response-kind-unspecified"),
    pytest.param(OK, "kind", 6, "kind", id="DCF-RSP-003-response-kind-unknown"),
    pytest.param(OK, "kind", DELETE, "kind", id="DCF-RSP-003-response-kind-missing"),
    pytest.param(OK, "remarks", "r" * (limits.MAX_TEXT + 1), "remarks", id="DCF-LIM-004-response-remarks-too-long"),
    # UNABLE says why; only UNABLE carries reasons, an offending field and conflicts.
    pytest.param(UN, "reasons", [], "reasons", id="DCF-RSP-005-unable-without-reason"),
    pytest.param(UN, "reasons.0", 0, "reasons[0]", id="DCF-RSP-005-unable-reason-unspecified"),
    pytest.param(UN, "reasons.1", 42, "reasons[1]", id="DCF-RSP-005-unable-reason-unknown"),
    pytest.param(UN, "reasons", _repeat(0), "reasons[2]", id="DCF-RSP-005-unable-reason-repeated"),
    pytest.param(
        UN, "offending_field", "f" * (limits.MAX_SHORT_TEXT + 1), "offending_field", id="DCF-LIM-003-offending-long"
    ),
    pytest.param(OK, "reasons", [UnableReason.CONFLICT], "reasons", id="DCF-RSP-009-accept-with-reason"),
    pytest.param(OK, "offending_field", "volumes[0]", "offending_field", id="DCF-RSP-009-accept-with-offending-field"),
    pytest.param(OK, "conflicts", UNABLE["conflicts"], "conflicts", id="DCF-RSP-009-accept-with-conflicts"),
    pytest.param(CO, "reasons", [UnableReason.OTHER], "reasons", id="DCF-RSP-009-counter-with-reason"),
    # A CONFLICT reason names the conflicting notices, and only it does; OTHER says why in the remarks.
    pytest.param(UNABLE_CONFLICT, "conflicts", [], "conflicts", id="DCF-RSP-006-conflict-reason-without-conflicts"),
    pytest.param(UNABLE_THIRD_PARTY, "remarks", "", "conflicts", id="DCF-CFL-019-third-party-conflict-unsaid"),
    pytest.param(UNABLE_THIRD_PARTY, "remarks", " \t", "conflicts", id="DCF-CFL-019-third-party-conflict-blank"),
    pytest.param(UNABLE_THIRD_PARTY, "kind", ResponseKind.ROGER, "reasons", id="DCF-RSP-009-roger-with-conflict"),
    pytest.param(UN, "reasons", [UnableReason.OTHER], "conflicts", id="DCF-RSP-006-conflicts-without-conflict-reason"),
    pytest.param(UNABLE_OTHER, "remarks", "", "remarks", id="DCF-RSP-007-other-reason-without-remarks"),
    pytest.param(UNABLE_OTHER, "remarks", "  \n", "remarks", id="DCF-RSP-007-other-reason-blank-remarks"),
    # Conflicts: the notice in the way, which volumes, and by how much.
    pytest.param(UN, "conflicts.0.notice_id", "", "conflicts[0].notice_id", id="DCF-RSP-011-conflict-notice-id"),
    pytest.param(UN, "conflicts.0.version", 0, "conflicts[0].version", id="DCF-RSP-011-conflict-version-0"),
    pytest.param(UN, "conflicts.0.owner", "a b", "conflicts[0].owner", id="DCF-RSP-011-conflict-owner"),
    pytest.param(
        UN, "conflicts.0.volume_index", -1, "conflicts[0].volume_index", id="DCF-RSP-011-conflict-index-negative"
    ),
    pytest.param(
        UN,
        "conflicts.0.other_volume_index",
        limits.MAX_VOLUMES,
        "conflicts[0].other_volume_index",
        id="DCF-RSP-011-index-64",
    ),
    pytest.param(
        UN, "conflicts.0.lateral_distance_m", -1.0, "conflicts[0].lateral_distance_m", id="DCF-RSP-011-lateral-neg"
    ),
    pytest.param(
        UN,
        "conflicts.0.vertical_distance_m",
        math.nan,
        "conflicts[0].vertical_distance_m",
        id="DCF-RSP-011-vertical-nan",
    ),
    pytest.param(
        UN, "conflicts", lambda c: c * (limits.MAX_LIST + 1), "conflicts", id="DCF-LIM-011-conflicts-too-many"
    ),
    # COUNTER proposes volumes; nothing else does.
    pytest.param(CO, "counter_volumes", [], "counter_volumes", id="DCF-RSP-010-counter-without-volumes"),
    pytest.param(OK, "counter_volumes", [VOLUME], "counter_volumes", id="DCF-RSP-010-accept-with-volumes"),
    pytest.param(UN, "counter_volumes", [VOLUME], "counter_volumes", id="DCF-RSP-010-unable-with-volumes"),
    pytest.param(
        CO,
        "counter_volumes",
        [VOLUME] * (limits.MAX_VOLUMES + 1),
        "counter_volumes",
        id="DCF-LIM-007-counter-too-many-volumes",
    ),
    pytest.param(
        CO,
        "counter_volumes.0.volume.circle.center.latitude",
        -91.0,
        "counter_volumes[0].volume.circle.center.latitude",
        id="DCF-GEO-002-counter-volume-latitude",
    ),
    pytest.param(
        CO,
        "counter_volumes.0.time_end",
        T0,
        "counter_volumes[0].time_end",
        id="DCF-GEO-022-counter-volume-end-before-start",
    ),
    # Logical acknowledgement: what was stored, where, and when.
    pytest.param(LA, "channel_id", "", "channel_id", id="DCF-ACK-003-ack-channel-empty"),
    pytest.param(LA, "acknowledging_party", DELETE, "acknowledging_party", id="DCF-ACK-003-ack-party-missing"),
    pytest.param(LA, "message_id", "#1", "message_id", id="DCF-ACK-003-ack-message-id"),
    pytest.param(LA, "message_sender", "", "message_sender", id="DCF-ACK-003-ack-sender-empty"),
    pytest.param(LA, "message_sequence", 0, "message_sequence", id="DCF-ACK-003-ack-sequence-0"),
    pytest.param(LA, "message_sequence", 2**64, "message_sequence", id="DCF-ACK-003-ack-sequence-past-uint64"),
    pytest.param(LA, "payload_sha256", bytes(31), "payload_sha256", id="DCF-ACK-004-ack-sha-31"),
    pytest.param(LA, "payload_sha256", b"", "payload_sha256", id="DCF-ACK-004-ack-sha-empty"),
    pytest.param(LA, "journal_position", -1, "journal_position", id="DCF-ACK-005-ack-position-negative"),
    pytest.param(LA, "stored_time", None, "stored_time", id="DCF-ACK-006-ack-stored-unset"),
    pytest.param(LA, "stored_time", datetime(2025, 1, 1), "stored_time", id="DCF-GEN-008-ack-stored-naive"),
    pytest.param(LA, "notice_version", 0, "notice_version", id="DCF-ACK-007-ack-notice-version-0"),
    pytest.param(LA, "notice_id", "", "notice_version", id="DCF-ACK-007-ack-version-without-notice"),
    pytest.param(LA, "late", "yes", "late", id="DCF-CMP-014-ack-late-text"),
    pytest.param(LA, "late", "true", "late", id="DCF-CMP-014-ack-late-text-true"),
    pytest.param(LA, "late", 1, "late", id="DCF-CMP-014-ack-late-number"),
    pytest.param(LA, "response_due_time", "tomorrow", "response_due_time", id="DCF-ACK-009-ack-due-text"),
    # Response timeout: what went unanswered, when it was due, how long the sender waited.
    pytest.param(TO, "unanswered_message_id", "", "unanswered_message_id", id="DCF-TMR-009-timeout-message-id"),
    pytest.param(TO, "unanswered_kind", 0, "unanswered_kind", id="DCF-CMP-004-timeout-kind-unspecified"),
    pytest.param(TO, "unanswered_kind", 13, "unanswered_kind", id="DCF-CMP-003-timeout-kind-unknown"),
    pytest.param(
        TO,
        "unanswered_kind",
        MessageKind.CONFERENCE_CANCELLATION,
        "unanswered_kind",
        id="DCF-TMR-009-timeout-of-a-conference-cancellation",
    ),
    pytest.param(
        TO, "unanswered_kind", MessageKind.RESPONSE, "unanswered_kind", id="DCF-TMR-009-timeout-of-a-response"
    ),
    pytest.param(
        TO, "unanswered_kind", MessageKind.SUSPENSION, "unanswered_kind", id="DCF-TMR-009-timeout-of-a-suspension"
    ),
    pytest.param(TO_PROPOSAL, "notice_id", "notice-1", "notice_id", id="DCF-TMR-009-timeout-proposal-with-notice"),
    pytest.param(TO_PROPOSAL, "notice_version", 1, "notice_version", id="DCF-TMR-009-timeout-proposal-with-version"),
    # A proposal's timeout names the conference revision, a notice's none.
    pytest.param(TO_PROPOSAL, "conference_id", "", "conference_id", id="DCF-TMR-018-timeout-proposal-no-conference"),
    pytest.param(
        TO_PROPOSAL, "conference_id", DELETE, "conference_id", id="DCF-TMR-018-timeout-proposal-conference-missing"
    ),
    pytest.param(TO_PROPOSAL, "conference_id", "conf 1", "conference_id", id="DCF-LIM-002-timeout-conference-id-space"),
    pytest.param(
        TO_PROPOSAL, "conference_revision", 0, "conference_revision", id="DCF-TMR-018-timeout-proposal-revision-0"
    ),
    pytest.param(
        TO_PROPOSAL,
        "conference_revision",
        2**32,
        "conference_revision",
        id="DCF-TMR-018-timeout-proposal-revision-past-uint32",
    ),
    pytest.param(TO, "conference_id", "conf-1", "conference_id", id="DCF-TMR-018-timeout-notice-with-conference"),
    pytest.param(
        TO, "conference_revision", 2, "conference_revision", id="DCF-TMR-018-timeout-notice-with-conference-revision"
    ),
    pytest.param(
        (ResponseTimeout, TIMEOUT | {"unanswered_kind": MessageKind.AMENDMENT}),
        "conference_id",
        "conf-1",
        "conference_id",
        id="DCF-TMR-018-timeout-amendment-with-conference",
    ),
    pytest.param(
        TO_NO_NOTICE, "unanswered_kind", MessageKind.AMENDMENT, "notice_id", id="DCF-TMR-009-timeout-amendment-no-id"
    ),
    pytest.param(TO, "notice_version", 0, "notice_version", id="DCF-TMR-009-timeout-notice-version-0"),
    pytest.param(TO, "due_time", None, "due_time", id="DCF-TMR-009-timeout-due-unset"),
    pytest.param(TO, "waited", None, "waited", id="DCF-TMR-009-timeout-waited-unset"),
    pytest.param(TO, "waited", timedelta(seconds=-1), "waited", id="DCF-TMR-009-timeout-waited-negative"),
    pytest.param(
        TO, "waited", limits.MAX_DURATION + timedelta(seconds=1), "waited", id="DCF-LIM-024-timeout-waited-too-long"
    ),
]


@pytest.mark.parametrize(("message", "field", "value", "path"), DATA_CASES)
def test_refused_at_path(message: tuple[type[Any], dict[str, Any]], field: str, value: Any, path: str) -> None:
    """DCF-ERR-003: each broken input is refused naming exactly the field at fault, by its path."""
    model, data = message
    assert refusal_paths(model, changed(data, field, value)) == [path]


@pytest.mark.parametrize("kind", list(ResponseKind))
def test_each_kind_is_accepted_with_its_own_fields(kind: ResponseKind) -> None:
    """DCF-RSP-004: every kind, with the fields it carries, is accepted."""
    response = example_response(kind)
    assert OperationalResponse.model_validate(response.model_dump()) == response


def test_standby_and_roger_carry_only_remarks() -> None:
    """DCF-RSP-009, DCF-RSP-010: STANDBY and ROGER carry no reasons, conflicts or volumes."""
    for kind in (ResponseKind.STANDBY, ResponseKind.ROGER):
        response = OperationalResponse(notice_id="n-1", notice_version=4, kind=kind, remarks="Checking with ops.")
        assert (response.reasons, response.conflicts, response.counter_volumes) == ([], [], [])


def test_acknowledgement_of_a_message_without_notice() -> None:
    """DCF-ACK-007, DCF-ACK-009: no notice, no due time."""
    data = changed(changed(ACK, "notice_id", ""), "notice_version", 0) | {"response_due_time": None}
    ack = LogicalAcknowledgement.model_validate(data)
    assert (ack.notice_id, ack.notice_version, ack.response_due_time) == ("", 0, None)


def test_timeout_of_a_conference_proposal_names_no_notice_and_may_not_have_waited() -> None:
    """DCF-TMR-009, DCF-TMR-016, DCF-TMR-018: a proposal's timeout names no notice."""
    _, data = TO_PROPOSAL
    timeout = ResponseTimeout.model_validate(data | {"waited": timedelta(0)})
    assert (timeout.unanswered_kind, timeout.notice_id, timeout.notice_version) == (
        MessageKind.CONFERENCE_PROPOSAL,
        "",
        0,
    )
    assert timeout.waited == timedelta(0)


def test_unable_for_another_reason_is_accepted() -> None:
    """DCF-RSP-006, DCF-RSP-007: UNABLE for OTHER with remarks and no conflicts."""
    _, data = UNABLE_OTHER
    assert OperationalResponse.model_validate(data).conflicts == []


def test_conflict_with_a_third_partys_notice_is_said_not_shown() -> None:
    """DCF-CFL-019, DCF-RSP-006: CONFLICT with no entry for a third party's notice, and a remark instead."""
    _, data = UNABLE_THIRD_PARTY
    response = OperationalResponse.model_validate(data)
    assert (response.reasons, response.conflicts, response.remarks) == (
        [UnableReason.CONFLICT],
        [],
        THIRD_PARTY_REMARK,
    )
    # With conflicts on the channel too: those are listed, the third party's only said.
    both = OperationalResponse.model_validate(data | {"conflicts": UNABLE["conflicts"]})
    assert len(both.conflicts) == 1


def test_timeout_of_a_conference_proposal_names_its_revision() -> None:
    """DCF-TMR-018, DCF-CNF-025: the timeout of a counter names its conference and revision, and no notice."""
    timeout = ResponseTimeout.model_validate(CONFERENCE_TIMEOUT)
    assert (timeout.conference_id, timeout.conference_revision) == ("conf-1", 2)
    assert (timeout.notice_id, timeout.notice_version) == ("", 0)
    message = pb.ResponseTimeout.FromString(bridge.response_timeout_to_proto(timeout).SerializeToString())
    assert (message.conference_id, message.conference_revision) == ("conf-1", 2)
    assert ResponseTimeout.model_validate(bridge.response_timeout_data(message)) == timeout


def test_new_enum_values_match_the_schema() -> None:
    """DCF-ENV-002, DCF-RSP-034: MessageKind and DialogueState have the schema's names and numbers."""
    assert pb.MessageKind.Name(MessageKind.CONFERENCE_CANCELLATION) == "MESSAGE_KIND_CONFERENCE_CANCELLATION"
    assert {f"DIALOGUE_STATE_{state.name}": int(state) for state in DialogueState} == {
        name: number for name, number in pb.DialogueState.items() if number
    }


# Inputs as a peer sends them: a valid protobuf message broken in one place, serialized and read back.


def _ack_pb() -> pb.LogicalAcknowledgement:
    return bridge.logical_acknowledgement_to_proto(example_acknowledgement())


def _unable_pb() -> pb.OperationalResponse:
    return bridge.operational_response_to_proto(example_response(ResponseKind.UNABLE))


def _timeout_pb() -> pb.ResponseTimeout:
    return bridge.response_timeout_to_proto(example_timeout())


def _conference_timeout_pb() -> pb.ResponseTimeout:
    return bridge.response_timeout_to_proto(example_conference_timeout())


def _third_party_unsaid(message: pb.OperationalResponse) -> None:
    del message.conflicts[:]
    del message.reasons[1:]
    message.remarks = ""


def _clear(field: str) -> Callable[[Any], None]:
    return lambda message: message.ClearField(field)


def _set(field: str, value: Any) -> Callable[[Any], None]:
    return lambda message: setattr(message, field, value)


def _ack_sha_33(message: pb.LogicalAcknowledgement) -> None:
    message.payload_sha256 = bytes(33)


def _ack_due_nanos(message: pb.LogicalAcknowledgement) -> None:
    message.response_due_time.nanos = 1


def _unable_reason_99(message: pb.OperationalResponse) -> None:
    message.reasons.append(99)


def _unable_reason_0(message: pb.OperationalResponse) -> None:
    message.reasons[0] = 0


def _conflict_distance_inf(message: pb.OperationalResponse) -> None:
    message.conflicts[0].lateral_distance_m = math.inf


def _timeout_mixed_signs(message: pb.ResponseTimeout) -> None:
    message.waited.seconds = 5
    message.waited.nanos = -1000


def _timeout_negative(message: pb.ResponseTimeout) -> None:
    message.waited.seconds = -60
    message.waited.nanos = 0


PROTO_CASES = [
    pytest.param(_ack_pb, _clear("stored_time"), "stored_time", id="DCF-ACK-006-pb-ack-stored-unset"),
    pytest.param(_ack_pb, _ack_sha_33, "payload_sha256", id="DCF-ACK-004-pb-ack-sha-33"),
    pytest.param(_ack_pb, _ack_due_nanos, "response_due_time", id="DCF-GEO-024-pb-ack-due-nanos"),
    pytest.param(_ack_pb, _set("message_sequence", 0), "message_sequence", id="DCF-ACK-003-pb-ack-sequence-0"),
    pytest.param(_ack_pb, _set("notice_version", 0), "notice_version", id="DCF-ACK-007-pb-ack-notice-version-0"),
    pytest.param(_unable_pb, _unable_reason_99, "reasons[2]", id="DCF-CMP-003-pb-unable-reason-99"),
    pytest.param(_unable_pb, _unable_reason_0, "reasons[0]", id="DCF-RSP-005-pb-unable-reason-0"),
    pytest.param(_unable_pb, _set("kind", 77), "kind", id="DCF-RSP-003-pb-response-kind-77"),
    pytest.param(
        _unable_pb, _conflict_distance_inf, "conflicts[0].lateral_distance_m", id="DCF-RSP-011-pb-distance-inf"
    ),
    pytest.param(_unable_pb, _set("kind", 1), "reasons", id="DCF-RSP-009-pb-accept-with-reasons"),
    pytest.param(_timeout_pb, _clear("waited"), "waited", id="DCF-TMR-009-pb-timeout-waited-unset"),
    pytest.param(_timeout_pb, _timeout_mixed_signs, "waited", id="DCF-GEO-025-pb-timeout-mixed-signs"),
    pytest.param(_timeout_pb, _timeout_negative, "waited", id="DCF-TMR-009-pb-timeout-negative"),
    pytest.param(_timeout_pb, _set("unanswered_kind", 0), "unanswered_kind", id="DCF-CMP-004-pb-timeout-kind-0"),
    pytest.param(_timeout_pb, _clear("due_time"), "due_time", id="DCF-TMR-009-pb-timeout-due-unset"),
    pytest.param(
        _timeout_pb, _set("conference_id", "conf-1"), "conference_id", id="DCF-TMR-018-pb-notice-timeout-with-conf"
    ),
    pytest.param(
        _conference_timeout_pb,
        _set("conference_revision", 0),
        "conference_revision",
        id="DCF-TMR-018-pb-proposal-timeout-revision-unset",
    ),
    pytest.param(
        _conference_timeout_pb, _set("conference_id", ""), "conference_id", id="DCF-TMR-018-pb-proposal-timeout-no-id"
    ),
    pytest.param(_unable_pb, _set("notice_version", 0), "notice_version", id="DCF-RSP-036-pb-version-unset"),
    pytest.param(_unable_pb, _third_party_unsaid, "conflicts", id="DCF-CFL-019-pb-third-party-unsaid"),
]

_READERS: dict[type[ProtoMessage], tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    pb.LogicalAcknowledgement: (LogicalAcknowledgement, bridge.logical_acknowledgement_data),
    pb.OperationalResponse: (OperationalResponse, bridge.operational_response_data),
    pb.ResponseTimeout: (ResponseTimeout, bridge.response_timeout_data),
}


@pytest.mark.parametrize(("make", "breaks", "path"), PROTO_CASES)
def test_refused_from_protobuf_bytes(
    make: Callable[[], ProtoMessage], breaks: Callable[[Any], None], path: str
) -> None:
    """DCF-ERR-003, DCF-CMP-003: a peer's broken bytes are refused at the field's path."""
    message = make()
    breaks(message)
    received = type(message).FromString(message.SerializeToString())
    model, read = _READERS[type(received)]
    assert refusal_paths(model, read(received)) == [path]


def test_unset_response_due_time_stays_unset_on_the_wire() -> None:
    """DCF-ACK-009: an unset due time stays unset on the wire."""
    ack = example_acknowledgement().model_copy(update={"response_due_time": None})
    message = bridge.logical_acknowledgement_to_proto(ack)
    assert not message.HasField("response_due_time")
    received = pb.LogicalAcknowledgement.FromString(message.SerializeToString())
    assert LogicalAcknowledgement.model_validate(bridge.logical_acknowledgement_data(received)) == ack


def test_zero_wait_is_sent_as_a_set_duration() -> None:
    """DCF-TMR-009: a zero wait is a set, non-negative duration."""
    timeout = example_timeout().model_copy(update={"waited": timedelta(0)})
    message = pb.ResponseTimeout.FromString(bridge.response_timeout_to_proto(timeout).SerializeToString())
    assert message.HasField("waited")
    assert ResponseTimeout.model_validate(bridge.response_timeout_data(message)) == timeout
