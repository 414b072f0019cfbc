"""NoticeService requests, responses and records: the signed payload of the right type, ids, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deconflict import limits
from deconflict.bridge import notice_service as bridge
from deconflict.bridge.envelope import seal_acknowledgement, seal_envelope
from deconflict.models.envelope import Mode
from deconflict.models.notice import NoticeState
from deconflict.models.notice_service import (
    AmendNoticeRequest,
    AmendNoticeResponse,
    CancelNoticeRequest,
    CancelNoticeResponse,
    GetNoticeRequest,
    GetNoticeResponse,
    ListNoticesRequest,
    ListNoticesResponse,
    NoticeRecord,
    RespondToNoticeRequest,
    RespondToNoticeResponse,
    SubmitNoticeRequest,
    SubmitNoticeResponse,
)
from deconflict.models.response import DialogueState, ResponseKind
from deconflict.v1 import notice_service_pb2 as pb
from deconflict.v1 import response_pb2
from tests.strategies.mutations import DELETE, changed, refusal_paths
from tests.strategies.notice import HOUR, T0, example_acknowledgement, example_envelope, example_notice

SEALED_ENVELOPE = seal_envelope(example_envelope())
SEALED_ACK = seal_acknowledgement(example_acknowledgement())

SUBMIT = {"envelope": SEALED_ENVELOPE.model_dump()}
SUBMITTED = {"acknowledgement": SEALED_ACK.model_dump()}
RECORD = NoticeRecord(
    channel_id="channel-ab",
    notice=example_notice(),
    late=True,
    received_time=T0 - 2 * HOUR,
    last_response=ResponseKind.STANDBY,
    response_due_time=T0 - HOUR,
    dialogue_state=DialogueState.STANDBY,
    mode=Mode.EXERCISE,
).model_dump()
# The same notice in the other states of its dialogue (DCF-RSP-034, DCF-RSP-035).
PENDING = RECORD | {"last_response": None, "dialogue_state": DialogueState.PENDING}
ANSWERED = RECORD | {
    "last_response": ResponseKind.UNABLE,
    "response_due_time": None,
    "dialogue_state": DialogueState.ANSWERED,
}
TIMED_OUT = RECORD | {"response_due_time": None, "dialogue_state": DialogueState.TIMED_OUT}
CANCELLED = example_notice(state=NoticeState.CANCELLED).model_dump()
SUPERSEDED = TIMED_OUT | {"dialogue_state": DialogueState.SUPERSEDED, "notice": CANCELLED}
GET = {"channel_id": "channel-ab", "notice_id": "notice-1"}
LIST = {"channel_id": "channel-ab", "owner": "party-a", "states": ["ACTIVE", "EXPIRED"], "page_size": 50}
LISTED = {"records": [RECORD], "next_page_token": "after:notice-1"}

DATA_CASES = [
    # Writes carry an envelope, answers an acknowledgement: each signed payload of its own type.
    pytest.param(SubmitNoticeRequest, SUBMIT, "envelope", None, "envelope", id="DCF-ENV-016-submit-envelope-unset"),
    pytest.param(
        SubmitNoticeRequest,
        SUBMIT,
        "envelope.payload_type",
        "deconflict.v1.LogicalAcknowledgement",
        "envelope.payload_type",
        id="DCF-ENV-017-submit-carries-ack",
    ),
    pytest.param(
        AmendNoticeRequest, SUBMIT, "envelope.payload", b"", "envelope.payload", id="DCF-ENV-016-amend-payload-empty"
    ),
    pytest.param(
        CancelNoticeRequest,
        SUBMIT,
        "envelope.signatures",
        [{"key_id": "k", "signature": bytes(10)}],
        "envelope.signatures[0].signature",
        id="DCF-SEC-010-cancel-signature-short",
    ),
    pytest.param(
        SubmitNoticeResponse,
        SUBMITTED,
        "acknowledgement.payload_type",
        "deconflict.v1.Envelope",
        "acknowledgement.payload_type",
        id="DCF-ACK-002-submit-answered-with-envelope",
    ),
    pytest.param(
        RespondToNoticeResponse,
        SUBMITTED,
        "acknowledgement",
        DELETE,
        "acknowledgement",
        id="DCF-ACK-002-respond-ack-missing",
    ),
    # Reads.
    pytest.param(GetNoticeRequest, GET, "notice_id", "", "notice_id", id="DCF-NTC-030-get-notice-id-empty"),
    pytest.param(GetNoticeRequest, GET, "channel_id", DELETE, "channel_id", id="DCF-NTC-030-get-channel-missing"),
    pytest.param(GetNoticeResponse, {"record": RECORD}, "record", None, "record", id="DCF-NTC-029-get-record-unset"),
    pytest.param(NoticeRecord, RECORD, "received_time", None, "received_time", id="DCF-NTC-029-record-received-unset"),
    pytest.param(NoticeRecord, RECORD, "last_response", 9, "last_response", id="DCF-CMP-003-record-response-unknown"),
    pytest.param(NoticeRecord, RECORD, "notice.version", 0, "notice.version", id="DCF-NTC-029-record-notice-version-0"),
    # The record's mode and dialogue state: required and known.
    pytest.param(NoticeRecord, RECORD, "mode", DELETE, "mode", id="DCF-NTC-036-record-mode-missing"),
    pytest.param(NoticeRecord, RECORD, "mode", 0, "mode", id="DCF-NTC-036-record-mode-unspecified"),
    pytest.param(NoticeRecord, RECORD, "mode", "LIVE", "mode", id="DCF-NTC-036-record-mode-unknown"),
    pytest.param(NoticeRecord, RECORD, "dialogue_state", DELETE, "dialogue_state", id="DCF-RSP-034-state-missing"),
    pytest.param(NoticeRecord, RECORD, "dialogue_state", 0, "dialogue_state", id="DCF-RSP-034-state-unspecified"),
    pytest.param(NoticeRecord, RECORD, "dialogue_state", 6, "dialogue_state", id="DCF-RSP-034-state-unknown"),
    # The dialogue state agrees with the last response, the due time and the notice.
    pytest.param(
        NoticeRecord, PENDING, "last_response", ResponseKind.STANDBY, "last_response", id="DCF-RSP-035-pending-answered"
    ),
    pytest.param(NoticeRecord, RECORD, "last_response", None, "last_response", id="DCF-RSP-035-standby-no-standby"),
    pytest.param(
        NoticeRecord, RECORD, "last_response", ResponseKind.ACCEPT, "last_response", id="DCF-RSP-035-standby-accepted"
    ),
    pytest.param(
        NoticeRecord,
        ANSWERED,
        "last_response",
        ResponseKind.STANDBY,
        "last_response",
        id="DCF-RSP-035-answered-by-standby",
    ),
    pytest.param(NoticeRecord, ANSWERED, "last_response", None, "last_response", id="DCF-RSP-035-answered-silence"),
    pytest.param(
        NoticeRecord, TIMED_OUT, "last_response", ResponseKind.ROGER, "last_response", id="DCF-RSP-035-timed-out-roger"
    ),
    pytest.param(
        NoticeRecord, ANSWERED, "response_due_time", T0, "response_due_time", id="DCF-RSP-035-answered-still-due"
    ),
    pytest.param(
        NoticeRecord, TIMED_OUT, "response_due_time", T0, "response_due_time", id="DCF-RSP-035-timed-out-still-due"
    ),
    pytest.param(NoticeRecord, SUPERSEDED, "notice", RECORD["notice"], "dialogue_state", id="DCF-RSP-035-active-ended"),
    pytest.param(NoticeRecord, RECORD, "notice", CANCELLED, "dialogue_state", id="DCF-RSP-035-cancelled-still-open"),
    pytest.param(
        NoticeRecord,
        PENDING,
        "notice.state",
        NoticeState.EXPIRED,
        "dialogue_state",
        id="DCF-RSP-035-expired-still-pending",
    ),
    pytest.param(
        ListNoticesRequest, LIST, "page_size", limits.MAX_PAGE_SIZE + 1, "page_size", id="DCF-LIM-022-page-size-1001"
    ),
    pytest.param(ListNoticesRequest, LIST, "page_size", -1, "page_size", id="DCF-LIM-022-page-size-negative"),
    pytest.param(
        ListNoticesRequest, LIST, "states", ["ACTIVE", "ACTIVE"], "states[1]", id="DCF-NTC-035-states-repeated"
    ),
    pytest.param(
        ListNoticesRequest,
        LIST,
        "states",
        ["ACTIVE", "EXPIRED", "NOTICE_STATE_ACTIVE"],
        "states[2]",
        id="DCF-NTC-035-states-repeated-in-another-spelling",
    ),
    pytest.param(ListNoticesRequest, LIST, "states.0", 0, "states[0]", id="DCF-NTC-031-states-unspecified"),
    pytest.param(ListNoticesRequest, LIST, "owner", "party a", "owner", id="DCF-LIM-002-list-owner-space"),
    pytest.param(
        ListNoticesRequest,
        LIST,
        "page_token",
        "t" * (limits.MAX_SHORT_TEXT + 1),
        "page_token",
        id="DCF-LIM-026-token-too-long",
    ),
    pytest.param(
        ListNoticesResponse,
        LISTED,
        "next_page_token",
        "t" * (limits.MAX_SHORT_TEXT + 1),
        "next_page_token",
        id="DCF-LIM-026-next-token-too-long",
    ),
    pytest.param(
        ListNoticesResponse, LISTED, "records.0.channel_id", "", "records[0].channel_id", id="DCF-NTC-029-listed-chan"
    ),
]


@pytest.mark.parametrize(("model", "data", "field", "value", "path"), DATA_CASES)
def test_refused_at_path(model: type[Any], data: dict[str, Any], field: str, value: Any, path: str) -> None:
    """DCF-ERR-003: each broken input is refused naming exactly the field at fault, by its path."""
    assert refusal_paths(model, changed(data, field, value)) == [path]


def test_list_request_defaults_to_everything_and_100_per_page() -> None:
    """DCF-LIM-022, DCF-NTC-031: no filter lists all, page size 0 means 100."""
    request = ListNoticesRequest(channel_id="channel-ab")
    assert (request.owner, request.states, request.effective_page_size) == ("", [], limits.DEFAULT_PAGE_SIZE)
    assert ListNoticesRequest.model_validate(LIST).states == [NoticeState.ACTIVE, NoticeState.EXPIRED]


ROUND_TRIPS: list[tuple[Any, Callable[[Any], Any], Callable[[Any], dict[str, Any]], Any]] = [
    (SubmitNoticeRequest, bridge.submit_notice_request_to_proto, bridge.submit_notice_request_data, SUBMIT),
    (SubmitNoticeResponse, bridge.submit_notice_response_to_proto, bridge.submit_notice_response_data, SUBMITTED),
    (AmendNoticeRequest, bridge.amend_notice_request_to_proto, bridge.amend_notice_request_data, SUBMIT),
    (AmendNoticeResponse, bridge.amend_notice_response_to_proto, bridge.amend_notice_response_data, SUBMITTED),
    (CancelNoticeRequest, bridge.cancel_notice_request_to_proto, bridge.cancel_notice_request_data, SUBMIT),
    (CancelNoticeResponse, bridge.cancel_notice_response_to_proto, bridge.cancel_notice_response_data, SUBMITTED),
    (
        RespondToNoticeRequest,
        bridge.respond_to_notice_request_to_proto,
        bridge.respond_to_notice_request_data,
        SUBMIT,
    ),
    (
        RespondToNoticeResponse,
        bridge.respond_to_notice_response_to_proto,
        bridge.respond_to_notice_response_data,
        SUBMITTED,
    ),
    (NoticeRecord, bridge.notice_record_to_proto, bridge.notice_record_data, RECORD),
    (
        NoticeRecord,
        bridge.notice_record_to_proto,
        bridge.notice_record_data,
        PENDING | {"response_due_time": None},
    ),
    *(
        (NoticeRecord, bridge.notice_record_to_proto, bridge.notice_record_data, record)
        for record in (PENDING, ANSWERED, TIMED_OUT, SUPERSEDED, RECORD | {"mode": Mode.OPERATIONAL})
    ),
    (GetNoticeRequest, bridge.get_notice_request_to_proto, bridge.get_notice_request_data, GET),
    (GetNoticeResponse, bridge.get_notice_response_to_proto, bridge.get_notice_response_data, {"record": RECORD}),
    (ListNoticesRequest, bridge.list_notices_request_to_proto, bridge.list_notices_request_data, LIST),
    (ListNoticesResponse, bridge.list_notices_response_to_proto, bridge.list_notices_response_data, LISTED),
]


@pytest.mark.parametrize(("model", "to_proto", "read", "data"), ROUND_TRIPS)
def test_protobuf_round_trip(model: type[Any], to_proto: Any, read: Any, data: dict[str, Any]) -> None:
    """DCF-GEN-006: each request, response and record survives the wire unchanged."""
    value = model.model_validate(data)
    message = to_proto(value)
    received = type(message).FromString(message.SerializeToString())
    assert model.model_validate(read(received)) == value


def test_no_response_yet_is_unspecified_on_the_wire() -> None:
    """DCF-NTC-029, DCF-CMP-004: no response yet is RESPONSE_KIND_UNSPECIFIED."""
    record = NoticeRecord.model_validate(PENDING)
    assert bridge.notice_record_to_proto(record).last_response == 0


def test_record_carries_its_dialogue_state_and_mode_on_the_wire() -> None:
    """DCF-RSP-034, DCF-NTC-036: the dialogue state and the mode travel as their protobuf enum values."""
    message = bridge.notice_record_to_proto(NoticeRecord.model_validate(RECORD))
    assert (message.dialogue_state, message.mode) == (2, 2)
    assert response_pb2.DialogueState.Name(message.dialogue_state) == "DIALOGUE_STATE_STANDBY"


def test_every_dialogue_state_has_a_valid_record() -> None:
    """DCF-RSP-034, DCF-RSP-035: each state, with what goes with it, is accepted."""
    records = [NoticeRecord.model_validate(data) for data in (PENDING, RECORD, ANSWERED, TIMED_OUT, SUPERSEDED)]
    assert [record.dialogue_state for record in records] == list(DialogueState)
    # A notice answered, then cancelled, keeps its answer: ANSWERED is a closed dialogue too.
    assert NoticeRecord.model_validate(ANSWERED | {"notice": CANCELLED}).dialogue_state == DialogueState.ANSWERED
    # A STANDBY after the timeout leaves the dialogue TIMED_OUT (DCF-RSP-022).
    assert NoticeRecord.model_validate(TIMED_OUT).last_response == ResponseKind.STANDBY


def _record_pb(**fields: int) -> pb.GetNoticeResponse:
    """A GetNoticeResponse whose record has the given enum fields set as numbers."""
    message = pb.GetNoticeResponse(record=bridge.notice_record_to_proto(NoticeRecord.model_validate(RECORD)))
    for name, value in fields.items():
        setattr(message.record, name, value)
    return message


PROTO_CASES = [
    pytest.param(
        pb.ListNoticesRequest(channel_id="c", page_size=5000), "page_size", id="DCF-NTC-032-pb-page-size-5000"
    ),
    pytest.param(pb.ListNoticesRequest(channel_id="c", states=[1, 4]), "states[1]", id="DCF-NTC-031-pb-state-4"),
    pytest.param(pb.ListNoticesRequest(page_size=10), "channel_id", id="DCF-LIM-002-pb-channel-empty"),
    pytest.param(pb.GetNoticeRequest(channel_id="c"), "notice_id", id="DCF-NTC-030-pb-notice-id-empty"),
    pytest.param(pb.SubmitNoticeRequest(), "envelope", id="DCF-ENV-016-pb-envelope-unset"),
    pytest.param(pb.GetNoticeResponse(), "record", id="DCF-NTC-029-pb-record-unset"),
    pytest.param(
        pb.ListNoticesRequest(channel_id="c", states=[1, 3, 1]), "states[2]", id="DCF-NTC-035-pb-state-repeated"
    ),
    pytest.param(_record_pb(dialogue_state=0), "record.dialogue_state", id="DCF-RSP-034-pb-state-unspecified"),
    pytest.param(_record_pb(dialogue_state=9), "record.dialogue_state", id="DCF-CMP-003-pb-state-unknown"),
    pytest.param(_record_pb(mode=0), "record.mode", id="DCF-NTC-036-pb-mode-unset"),
    pytest.param(_record_pb(dialogue_state=3), "record.last_response", id="DCF-RSP-035-pb-answered-by-standby"),
]

_READERS: dict[type[Any], tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    pb.ListNoticesRequest: (ListNoticesRequest, bridge.list_notices_request_data),
    pb.GetNoticeRequest: (GetNoticeRequest, bridge.get_notice_request_data),
    pb.SubmitNoticeRequest: (SubmitNoticeRequest, bridge.submit_notice_request_data),
    pb.GetNoticeResponse: (GetNoticeResponse, bridge.get_notice_response_data),
}


@pytest.mark.parametrize(("message", "path"), PROTO_CASES)
def test_refused_from_protobuf_bytes(message: Any, path: str) -> None:
    """DCF-ERR-003, DCF-NTC-030, DCF-NTC-032: a broken request is refused naming the field."""
    received = type(message).FromString(message.SerializeToString())
    model, read = _READERS[type(received)]
    assert refusal_paths(model, read(received)) == [path]
