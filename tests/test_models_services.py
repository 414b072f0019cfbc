"""ConferenceService and ChannelService requests, responses and the conference status:
valid messages cross the wire unchanged; broken ones are refused at the exact field path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from deconflict import limits
from deconflict.bridge import channel_service as channel_bridge
from deconflict.bridge import conference_service as conference_bridge
from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.models import channel_service as cs
from deconflict.models import conference_service as fs
from deconflict.models.base import Message
from deconflict.models.conference import ConferenceState, TimeSlot
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE, ENVELOPE_TYPE, Signature, SignedPayload
from deconflict.models.errors import FieldViolation, MessageRefusal, StaleVersion
from tests.strategies.channel import example_agreement, example_checklist, example_heartbeat, example_hello
from tests.strategies.conference import T0, example_proposal, example_record
from tests.strategies.mutations import DELETE, changed, refusal_paths

SIGNED_ENVELOPE = SignedPayload(
    payload_type=ENVELOPE_TYPE, payload=b"\x0a\x05msg-1", signatures=[Signature(key_id="key-a", signature=bytes(64))]
)
SIGNED_ACK = SignedPayload(
    payload_type=ACKNOWLEDGEMENT_TYPE,
    payload=b"\x0a\x05msg-1",
    signatures=[Signature(key_id="key-b", signature=bytes(64))],
)
AGREEMENT = agreement_bytes(example_agreement())


def proposed() -> fs.ConferenceStatus:
    return fs.ConferenceStatus(
        channel_id="chan-1", state=ConferenceState.PROPOSED, proposer="party-a", proposal=example_proposal()
    )


def countered() -> fs.ConferenceStatus:
    return proposed().model_copy(
        update={"state": ConferenceState.COUNTERED, "proposer": "party-b", "proposal": example_proposal(revision=2)}
    )


def scheduled() -> fs.ConferenceStatus:
    return proposed().model_copy(update={"state": ConferenceState.SCHEDULED, "scheduled_slot": TimeSlot(start_time=T0)})


def recorded() -> fs.ConferenceStatus:
    return scheduled().model_copy(update={"state": ConferenceState.RECORDED, "record": example_record()})


def cancelled_while_open() -> fs.ConferenceStatus:
    return countered().model_copy(update={"state": ConferenceState.CANCELLED})


def cancelled_once_scheduled() -> fs.ConferenceStatus:
    return scheduled().model_copy(update={"state": ConferenceState.CANCELLED})


def declined() -> fs.ConferenceStatus:
    return countered().model_copy(update={"state": ConferenceState.DECLINED})


# Each valid example, with its bridge both ways.
EXAMPLES: list[tuple[Message, Callable[[Any], Any], Callable[[Any], dict[str, Any]]]] = [
    (
        fs.ProposeConferenceRequest(envelope=SIGNED_ENVELOPE),
        conference_bridge.propose_conference_request_to_proto,
        conference_bridge.propose_conference_request_data,
    ),
    (
        fs.ProposeConferenceResponse(acknowledgement=SIGNED_ACK),
        conference_bridge.propose_conference_response_to_proto,
        conference_bridge.propose_conference_response_data,
    ),
    (
        fs.AnswerConferenceRequest(envelope=SIGNED_ENVELOPE),
        conference_bridge.answer_conference_request_to_proto,
        conference_bridge.answer_conference_request_data,
    ),
    (
        fs.AnswerConferenceResponse(acknowledgement=SIGNED_ACK),
        conference_bridge.answer_conference_response_to_proto,
        conference_bridge.answer_conference_response_data,
    ),
    (
        fs.RecordConferenceRequest(envelope=SIGNED_ENVELOPE),
        conference_bridge.record_conference_request_to_proto,
        conference_bridge.record_conference_request_data,
    ),
    (
        fs.RecordConferenceResponse(acknowledgement=SIGNED_ACK),
        conference_bridge.record_conference_response_to_proto,
        conference_bridge.record_conference_response_data,
    ),
    (
        fs.CancelConferenceRequest(envelope=SIGNED_ENVELOPE),
        conference_bridge.cancel_conference_request_to_proto,
        conference_bridge.cancel_conference_request_data,
    ),
    (
        fs.CancelConferenceResponse(acknowledgement=SIGNED_ACK),
        conference_bridge.cancel_conference_response_to_proto,
        conference_bridge.cancel_conference_response_data,
    ),
    (
        fs.GetConferenceResponse(status=cancelled_once_scheduled()),
        conference_bridge.get_conference_response_to_proto,
        conference_bridge.get_conference_response_data,
    ),
    (
        fs.ListConferencesRequest(channel_id="chan-1", page_size=limits.MAX_PAGE_SIZE, page_token="after:conf-7"),
        conference_bridge.list_conferences_request_to_proto,
        conference_bridge.list_conferences_request_data,
    ),
    (
        fs.ListConferencesResponse(
            conferences=[cancelled_while_open(), cancelled_once_scheduled(), declined()], next_page_token="after:conf-9"
        ),
        conference_bridge.list_conferences_response_to_proto,
        conference_bridge.list_conferences_response_data,
    ),
    (
        fs.GetConferenceRequest(channel_id="chan-1", conference_id="conf-1"),
        conference_bridge.get_conference_request_to_proto,
        conference_bridge.get_conference_request_data,
    ),
    (
        fs.GetConferenceResponse(status=recorded()),
        conference_bridge.get_conference_response_to_proto,
        conference_bridge.get_conference_response_data,
    ),
    (
        fs.ListConferencesRequest(channel_id="chan-1"),
        conference_bridge.list_conferences_request_to_proto,
        conference_bridge.list_conferences_request_data,
    ),
    (
        fs.ListConferencesResponse(conferences=[proposed(), countered(), scheduled(), recorded()]),
        conference_bridge.list_conferences_response_to_proto,
        conference_bridge.list_conferences_response_data,
    ),
    (
        cs.HelloRequest(hello=example_hello()),
        channel_bridge.hello_request_to_proto,
        channel_bridge.hello_request_data,
    ),
    (
        cs.HelloResponse(hello=example_hello(), selected_major=2),
        channel_bridge.hello_response_to_proto,
        channel_bridge.hello_response_data,
    ),
    (
        cs.HeartbeatRequest(heartbeat=example_heartbeat()),
        channel_bridge.heartbeat_request_to_proto,
        channel_bridge.heartbeat_request_data,
    ),
    (
        cs.HeartbeatResponse(heartbeat=example_heartbeat()),
        channel_bridge.heartbeat_response_to_proto,
        channel_bridge.heartbeat_response_data,
    ),
    (
        cs.GetAgreementRequest(channel_id="chan-1"),
        channel_bridge.get_agreement_request_to_proto,
        channel_bridge.get_agreement_request_data,
    ),
    (
        cs.GetAgreementResponse(agreement=AGREEMENT, agreement_hash=agreement_hash(AGREEMENT)),
        channel_bridge.get_agreement_response_to_proto,
        channel_bridge.get_agreement_response_data,
    ),
    (
        cs.ExchangeChecklistRequest(checklist=example_checklist()),
        channel_bridge.exchange_checklist_request_to_proto,
        channel_bridge.exchange_checklist_request_data,
    ),
    (
        cs.ExchangeChecklistResponse(checklist=example_checklist()),
        channel_bridge.exchange_checklist_response_to_proto,
        channel_bridge.exchange_checklist_response_data,
    ),
    (
        cs.SuspendRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.suspend_request_to_proto,
        channel_bridge.suspend_request_data,
    ),
    (
        cs.SuspendResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.suspend_response_to_proto,
        channel_bridge.suspend_response_data,
    ),
    (
        cs.ResumeRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.resume_request_to_proto,
        channel_bridge.resume_request_data,
    ),
    (
        cs.ResumeResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.resume_response_to_proto,
        channel_bridge.resume_response_data,
    ),
    (
        cs.ReportIncidentRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.report_incident_request_to_proto,
        channel_bridge.report_incident_request_data,
    ),
    (
        cs.ReportIncidentResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.report_incident_response_to_proto,
        channel_bridge.report_incident_response_data,
    ),
    (
        cs.NotifyTimeoutRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.notify_timeout_request_to_proto,
        channel_bridge.notify_timeout_request_data,
    ),
    (
        cs.NotifyTimeoutResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.notify_timeout_response_to_proto,
        channel_bridge.notify_timeout_response_data,
    ),
    (
        cs.ExchangeResponse(
            refusal=MessageRefusal(
                message_id="msg-2",
                code=10,
                message="STALE_VERSION: notice-1 is at version 3, not 2",
                reason="STALE_VERSION",
                stale_version=StaleVersion(notice_id="notice-1", quoted_version=2, current_version=3),
            )
        ),
        channel_bridge.exchange_response_to_proto,
        channel_bridge.exchange_response_data,
    ),
    (
        cs.WatchRequest(channel_id="chan-1", from_sequence=42),
        channel_bridge.watch_request_to_proto,
        channel_bridge.watch_request_data,
    ),
    (
        cs.WatchResponse(envelope=SIGNED_ENVELOPE),
        channel_bridge.watch_response_to_proto,
        channel_bridge.watch_response_data,
    ),
    (
        cs.ExchangeRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.exchange_request_to_proto,
        channel_bridge.exchange_request_data,
    ),
    (
        cs.ExchangeResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.exchange_response_to_proto,
        channel_bridge.exchange_response_data,
    ),
    (
        cs.ExchangeResponse(
            refusal=MessageRefusal(
                message_id="msg-1",
                code=3,
                message="invalid notice",
                violations=[FieldViolation(field="notice.volumes", description="is required")],
            )
        ),
        channel_bridge.exchange_response_to_proto,
        channel_bridge.exchange_response_data,
    ),
]


@pytest.mark.parametrize(("model", "to_proto", "read"), EXAMPLES, ids=lambda value: type(value).__name__)
def test_service_message_roundtrip(
    model: Message, to_proto: Callable[[Any], Any], read: Callable[[Any], dict[str, Any]]
) -> None:
    message = to_proto(model)
    received = type(message).FromString(message.SerializeToString())
    assert type(model).model_validate(read(received)) == model
    assert type(model).model_validate_json(model.model_dump_json()) == model


STATUS = recorded().model_dump()
PROPOSED = proposed().model_dump()
COUNTERED = countered().model_dump()
SCHEDULED = scheduled().model_dump()
CANCELLED_OPEN = cancelled_while_open().model_dump()
CANCELLED_SCHEDULED = cancelled_once_scheduled().model_dump()
DECLINED = declined().model_dump()
LIST_CONFERENCES = {"channel_id": "chan-1", "page_size": 20, "page_token": "after:conf-3"}
HELLO_RESPONSE = cs.HelloResponse(hello=example_hello(), selected_major=2).model_dump()
AGREEMENT_RESPONSE = {"agreement": AGREEMENT, "agreement_hash": agreement_hash(AGREEMENT)}
ENVELOPE = {"envelope": SIGNED_ENVELOPE.model_dump()}
ACK = {"acknowledgement": SIGNED_ACK.model_dump()}
REFUSAL = {"refusal": {"message_id": "msg-1", "code": 3}}

# (model, valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    pytest.param(fs.ConferenceStatus, STATUS, "state", 0, "state", id="DCF-CMP-004-status-state-unspecified"),
    pytest.param(fs.ConferenceStatus, STATUS, "proposer", "", "proposer", id="DCF-CNF-028-status-no-proposer"),
    pytest.param(fs.ConferenceStatus, STATUS, "proposal", DELETE, "proposal", id="DCF-CNF-028-status-no-proposal"),
    pytest.param(
        fs.ConferenceStatus, STATUS, "proposal.revision", 0, "proposal.revision", id="DCF-CNF-001-status-revision-zero"
    ),
    pytest.param(
        fs.ConferenceStatus, PROPOSED, "proposal.revision", 2, "proposal.revision", id="DCF-CNF-003-proposed-rev-2"
    ),
    pytest.param(
        fs.ConferenceStatus, COUNTERED, "proposal.revision", 1, "proposal.revision", id="DCF-CNF-019-countered-rev-1"
    ),
    pytest.param(
        fs.ConferenceStatus, SCHEDULED, "scheduled_slot", None, "scheduled_slot", id="DCF-CNF-017-scheduled-no-slot"
    ),
    pytest.param(
        fs.ConferenceStatus,
        PROPOSED,
        "scheduled_slot",
        {"start_time": T0},
        "scheduled_slot",
        id="DCF-CNF-017-proposed-with-slot",
    ),
    pytest.param(
        fs.ConferenceStatus,
        SCHEDULED,
        "scheduled_slot.start_time",
        T0.replace(hour=10),
        "scheduled_slot",
        id="DCF-CNF-017-slot-not-a-candidate",
    ),
    pytest.param(fs.ConferenceStatus, STATUS, "record", None, "record", id="DCF-CNF-022-recorded-no-record"),
    pytest.param(
        fs.ConferenceStatus, SCHEDULED, "record", STATUS["record"], "record", id="DCF-CNF-022-scheduled-with-record"
    ),
    pytest.param(
        fs.ConferenceStatus,
        STATUS,
        "record.conference_id",
        "conf-2",
        "record.conference_id",
        id="DCF-CNF-022-record-other-conf",
    ),
    pytest.param(
        fs.ConferenceStatus, STATUS, "record.end_time", T0, "record.end_time", id="DCF-CNF-028-status-record-checked"
    ),
    # A cancelled conference keeps the slot it had, or has none; it never has a record.
    pytest.param(
        fs.ConferenceStatus,
        CANCELLED_OPEN,
        "record",
        STATUS["record"],
        "record",
        id="DCF-CNF-039-cancelled-with-record",
    ),
    pytest.param(
        fs.ConferenceStatus,
        CANCELLED_SCHEDULED,
        "scheduled_slot.start_time",
        T0.replace(hour=10),
        "scheduled_slot",
        id="DCF-CNF-039-cancelled-slot-not-a-candidate",
    ),
    pytest.param(
        fs.ConferenceStatus,
        DECLINED,
        "scheduled_slot",
        {"start_time": T0},
        "scheduled_slot",
        id="DCF-CNF-039-declined-with-slot",
    ),
    pytest.param(
        fs.ConferenceStatus,
        COUNTERED,
        "scheduled_slot",
        {"start_time": T0},
        "scheduled_slot",
        id="DCF-CNF-039-countered",
    ),
    pytest.param(
        fs.ConferenceStatus, STATUS, "scheduled_slot", None, "scheduled_slot", id="DCF-CNF-039-recorded-no-slot"
    ),
    pytest.param(fs.ConferenceStatus, CANCELLED_OPEN, "state", 7, "state", id="DCF-CMP-003-status-state-unknown"),
    # ListConferences pages.
    pytest.param(
        fs.ListConferencesRequest,
        LIST_CONFERENCES,
        "page_size",
        limits.MAX_PAGE_SIZE + 1,
        "page_size",
        id="DCF-LIM-027-conferences-page-size-1001",
    ),
    pytest.param(
        fs.ListConferencesRequest, LIST_CONFERENCES, "page_size", -1, "page_size", id="DCF-LIM-027-page-size-negative"
    ),
    pytest.param(
        fs.ListConferencesRequest, LIST_CONFERENCES, "page_size", "20", "page_size", id="DCF-LIM-027-page-size-text"
    ),
    pytest.param(
        fs.ListConferencesRequest,
        LIST_CONFERENCES,
        "page_token",
        "t" * (limits.MAX_SHORT_TEXT + 1),
        "page_token",
        id="DCF-LIM-026-conferences-token-too-long",
    ),
    pytest.param(
        fs.ListConferencesRequest, LIST_CONFERENCES, "channel_id", "", "channel_id", id="DCF-CNF-029-list-no-channel"
    ),
    pytest.param(
        fs.ListConferencesResponse,
        {"conferences": [PROPOSED], "next_page_token": ""},
        "next_page_token",
        "t" * (limits.MAX_SHORT_TEXT + 1),
        "next_page_token",
        id="DCF-LIM-026-conferences-next-token-too-long",
    ),
    pytest.param(
        fs.ListConferencesResponse,
        {"conferences": [PROPOSED]},
        "conferences",
        lambda items: items * (limits.MAX_PAGE_SIZE + 1),
        "conferences",
        id="DCF-LIM-027-conferences-page-too-long",
    ),
    pytest.param(
        fs.CancelConferenceRequest, ENVELOPE, "envelope", DELETE, "envelope", id="DCF-ENV-016-cancel-no-envelope"
    ),
    pytest.param(
        fs.CancelConferenceRequest,
        ENVELOPE,
        "envelope.payload_type",
        ACKNOWLEDGEMENT_TYPE,
        "envelope.payload_type",
        id="DCF-ENV-017-cancel-carries-an-ack",
    ),
    pytest.param(
        fs.CancelConferenceResponse,
        ACK,
        "acknowledgement.payload_type",
        ENVELOPE_TYPE,
        "acknowledgement.payload_type",
        id="DCF-ACK-002-cancel-answered-with-envelope",
    ),
    pytest.param(cs.NotifyTimeoutRequest, ENVELOPE, "envelope", None, "envelope", id="DCF-TMR-017-notify-no-envelope"),
    pytest.param(
        cs.NotifyTimeoutRequest,
        ENVELOPE,
        "envelope.payload_type",
        ACKNOWLEDGEMENT_TYPE,
        "envelope.payload_type",
        id="DCF-TMR-017-notify-carries-an-ack",
    ),
    pytest.param(
        cs.NotifyTimeoutResponse, ACK, "acknowledgement", DELETE, "acknowledgement", id="DCF-ACK-002-notify-no-ack"
    ),
    pytest.param(
        cs.ExchangeResponse,
        {"refusal": {"message_id": "msg-2", "code": 10, "reason": "STALE_VERSION"}},
        "refusal.code",
        10,
        "refusal.stale_version",
        id="DCF-STR-013-exchange-stale-without-detail",
    ),
    pytest.param(
        fs.GetConferenceRequest,
        {"channel_id": "chan-1", "conference_id": "conf-1"},
        "conference_id",
        "",
        "conference_id",
        id="DCF-CNF-028-get-conference-id",
    ),
    pytest.param(
        fs.GetConferenceResponse, {"status": STATUS}, "status", DELETE, "status", id="DCF-CNF-028-get-no-status"
    ),
    pytest.param(
        fs.ListConferencesResponse,
        {"conferences": [PROPOSED, STATUS]},
        "conferences.1.state",
        ConferenceState.SCHEDULED,
        "conferences[1].record",
        id="DCF-CNF-029-list-status-checked",
    ),
    pytest.param(
        fs.ProposeConferenceRequest, ENVELOPE, "envelope", DELETE, "envelope", id="DCF-ENV-017-propose-no-envelope"
    ),
    pytest.param(
        fs.AnswerConferenceRequest,
        ENVELOPE,
        "envelope.payload_type",
        ACKNOWLEDGEMENT_TYPE,
        "envelope.payload_type",
        id="DCF-ENV-017-answer-carries-an-ack",
    ),
    pytest.param(
        fs.RecordConferenceResponse,
        ACK,
        "acknowledgement.payload_type",
        ENVELOPE_TYPE,
        "acknowledgement.payload_type",
        id="DCF-ACK-002-record-answered-with-envelope",
    ),
    pytest.param(
        fs.RecordConferenceRequest, ENVELOPE, "envelope.payload", b"", "envelope.payload", id="DCF-ENV-017-no-payload"
    ),
    pytest.param(cs.HelloRequest, {"hello": None}, "hello", DELETE, "hello", id="DCF-HEL-002-hello-request-empty"),
    pytest.param(
        cs.HelloResponse,
        HELLO_RESPONSE,
        "selected_major",
        3,
        "selected_major",
        id="DCF-HEL-007-selected-major-unsupported",
    ),
    pytest.param(
        cs.HelloResponse, HELLO_RESPONSE, "selected_major", 0, "selected_major", id="DCF-HEL-007-selected-major-zero"
    ),
    pytest.param(
        cs.HelloResponse,
        HELLO_RESPONSE,
        "hello.agreement_hash",
        b"",
        "hello.agreement_hash",
        id="DCF-HEL-007-hello-in-response",
    ),
    pytest.param(
        cs.GetAgreementResponse,
        AGREEMENT_RESPONSE,
        "agreement_hash",
        hashlib.sha256(b"another agreement").digest(),
        "agreement_hash",
        id="DCF-CHN-002-agreement-hash-mismatch",
    ),
    pytest.param(
        cs.GetAgreementResponse,
        AGREEMENT_RESPONSE,
        "agreement",
        AGREEMENT + b"\x00",
        "agreement_hash",
        id="DCF-CHN-002-agreement-bytes-changed",
    ),
    pytest.param(
        cs.GetAgreementResponse,
        AGREEMENT_RESPONSE,
        "agreement_hash",
        bytes(31),
        "agreement_hash",
        id="DCF-CHN-002-hash-31-bytes",
    ),
    pytest.param(
        cs.GetAgreementResponse, AGREEMENT_RESPONSE, "agreement", b"", "agreement", id="DCF-CHN-002-agreement-empty"
    ),
    pytest.param(
        cs.ExchangeChecklistRequest,
        {"checklist": example_checklist().model_dump()},
        "checklist.entries.1.notice_id",
        "n-1",
        "checklist.entries[1].notice_id",
        id="DCF-CHK-003-checklist-in-request",
    ),
    pytest.param(
        cs.HeartbeatRequest,
        {"heartbeat": example_heartbeat().model_dump()},
        "heartbeat",
        None,
        "heartbeat",
        id="DCF-HBT-002-hb",
    ),
    pytest.param(
        cs.WatchRequest,
        {"channel_id": "chan-1"},
        "from_sequence",
        -1,
        "from_sequence",
        id="DCF-STR-002-watch-from-negative",
    ),
    pytest.param(
        cs.WatchRequest, {"channel_id": "chan-1"}, "channel_id", "", "channel_id", id="DCF-STR-002-watch-no-channel"
    ),
    pytest.param(
        cs.WatchResponse,
        ENVELOPE,
        "envelope.payload_type",
        ACKNOWLEDGEMENT_TYPE,
        "envelope.payload_type",
        id="DCF-STR-002-watch-streams-envelopes",
    ),
    pytest.param(
        cs.SuspendRequest,
        ENVELOPE,
        "envelope.payload_type",
        "Envelope",
        "envelope.payload_type",
        id="DCF-ENV-017-unknown-type",
    ),
    pytest.param(cs.ExchangeResponse, ACK, "acknowledgement", None, "result", id="DCF-STR-008-exchange-no-result"),
    pytest.param(
        cs.ExchangeResponse, ACK, "refusal", REFUSAL["refusal"], "result", id="DCF-STR-008-exchange-two-results"
    ),
    pytest.param(
        cs.ExchangeResponse,
        ACK,
        "acknowledgement.payload_type",
        ENVELOPE_TYPE,
        "acknowledgement.payload_type",
        id="DCF-ACK-002-exchange-ack-is-envelope",
    ),
    pytest.param(
        cs.ExchangeResponse, REFUSAL, "refusal.code", 99, "refusal.code", id="DCF-STR-008-exchange-refusal-code"
    ),
]


@pytest.mark.parametrize(("model", "valid", "field", "value", "path"), DATA_CASES)
def test_invalid_data_is_refused_at_its_path(
    model: type[Message], valid: dict[str, Any], field: str, value: Any, path: str
) -> None:
    assert refusal_paths(model, changed(valid, field, value)) == [path]


def _wire(model: Message, to_proto: Callable[[Any], Any], edit: Callable[[Any], Any]) -> Any:
    message = to_proto(model)
    edit(message)
    return type(message).FromString(message.SerializeToString())


def test_protobuf_agreement_with_another_hash_is_refused() -> None:
    """DCF-CHN-002: agreement_hash is the SHA-256 of the agreement bytes returned."""
    response = cs.GetAgreementResponse(agreement=AGREEMENT, agreement_hash=agreement_hash(AGREEMENT))

    def edit(message: Any) -> None:
        message.agreement = AGREEMENT[:-1]

    received = _wire(response, channel_bridge.get_agreement_response_to_proto, edit)
    data = channel_bridge.get_agreement_response_data(received)
    assert refusal_paths(cs.GetAgreementResponse, data) == ["agreement_hash"]


def test_protobuf_exchange_response_without_result_is_refused() -> None:
    """DCF-STR-008, DCF-ERR-003: exactly one of acknowledgement and refusal; the unset oneof is named `result`."""
    received = _wire(
        cs.ExchangeResponse(acknowledgement=SIGNED_ACK),
        channel_bridge.exchange_response_to_proto,
        lambda message: message.ClearField("acknowledgement"),
    )
    assert refusal_paths(cs.ExchangeResponse, channel_bridge.exchange_response_data(received)) == ["result"]


def test_protobuf_hello_response_without_selected_major_is_refused() -> None:
    """DCF-HEL-007: a successful HelloResponse carries the selected major version."""

    def edit(message: Any) -> None:
        message.selected_major = 0

    received = _wire(
        cs.HelloResponse(hello=example_hello(), selected_major=1), channel_bridge.hello_response_to_proto, edit
    )
    assert refusal_paths(cs.HelloResponse, channel_bridge.hello_response_data(received)) == ["selected_major"]


def test_protobuf_status_with_unknown_state_is_refused() -> None:
    """DCF-CMP-003: an unknown enum value is refused, naming the field."""

    def edit(message: Any) -> None:
        message.status.state = 9

    received = _wire(
        fs.GetConferenceResponse(status=recorded()), conference_bridge.get_conference_response_to_proto, edit
    )
    assert refusal_paths(fs.GetConferenceResponse, conference_bridge.get_conference_response_data(received)) == [
        "status.state"
    ]


def test_protobuf_watch_response_without_envelope_is_refused() -> None:
    """DCF-STR-002: each WatchResponse carries an envelope."""
    received = _wire(
        cs.WatchResponse(envelope=SIGNED_ENVELOPE),
        channel_bridge.watch_response_to_proto,
        lambda message: message.ClearField("envelope"),
    )
    assert refusal_paths(cs.WatchResponse, channel_bridge.watch_response_data(received)) == ["envelope"]


def test_protobuf_signed_envelope_with_short_signature_is_refused() -> None:
    """DCF-SEC-010: each signature is 64 bytes, refused naming the element at fault."""

    def edit(message: Any) -> None:
        message.envelope.signatures[0].signature = bytes(63)

    received = _wire(
        fs.ProposeConferenceRequest(envelope=SIGNED_ENVELOPE),
        conference_bridge.propose_conference_request_to_proto,
        edit,
    )
    data = conference_bridge.propose_conference_request_data(received)
    assert refusal_paths(fs.ProposeConferenceRequest, data) == ["envelope.signatures[0].signature"]


def test_every_conference_state_has_a_valid_status() -> None:
    """DCF-CNF-027, DCF-CNF-038, DCF-CNF-039: each state, with the slot and record that go with it, is accepted."""
    statuses = [proposed(), countered(), scheduled(), declined(), recorded(), cancelled_while_open()]
    assert {status.state for status in statuses} == set(ConferenceState)
    assert cancelled_while_open().scheduled_slot is None
    assert cancelled_once_scheduled().scheduled_slot == TimeSlot(start_time=T0)
    for status in [*statuses, cancelled_once_scheduled()]:
        assert fs.ConferenceStatus.model_validate(status.model_dump()) == status


def test_list_conferences_defaults_to_100_per_page() -> None:
    """DCF-LIM-027, DCF-CNF-041: page size 0 means 100; a token from a previous page is carried as it is."""
    request = fs.ListConferencesRequest(channel_id="chan-1")
    assert (request.page_size, request.page_token, request.effective_page_size) == (0, "", limits.DEFAULT_PAGE_SIZE)
    assert fs.ListConferencesRequest.model_validate(LIST_CONFERENCES).effective_page_size == 20
    full = fs.ListConferencesResponse(conferences=[proposed()] * limits.MAX_PAGE_SIZE)
    assert (len(full.conferences), full.next_page_token) == (limits.MAX_PAGE_SIZE, "")


def test_protobuf_list_conferences_request_with_a_page_too_large_is_refused() -> None:
    """DCF-CNF-041, DCF-LIM-027: a page size over the maximum is refused naming page_size."""

    def edit(message: Any) -> None:
        message.page_size = 5000

    received = _wire(
        fs.ListConferencesRequest(channel_id="chan-1"), conference_bridge.list_conferences_request_to_proto, edit
    )
    data = conference_bridge.list_conferences_request_data(received)
    assert refusal_paths(fs.ListConferencesRequest, data) == ["page_size"]


def test_protobuf_cancelled_status_keeps_or_lacks_its_slot() -> None:
    """DCF-CNF-039: a cancelled conference's slot is read back as it was sent, set or unset."""
    for status in (cancelled_while_open(), cancelled_once_scheduled()):
        message = conference_bridge.conference_status_to_proto(status)
        assert message.HasField("scheduled_slot") is (status.scheduled_slot is not None)
        assert fs.ConferenceStatus.model_validate(conference_bridge.conference_status_data(message)) == status


def test_protobuf_notify_timeout_without_envelope_is_refused() -> None:
    """DCF-TMR-017, DCF-ENV-016: NotifyTimeout carries an envelope."""
    received = _wire(
        cs.NotifyTimeoutRequest(envelope=SIGNED_ENVELOPE),
        channel_bridge.notify_timeout_request_to_proto,
        lambda message: message.ClearField("envelope"),
    )
    assert refusal_paths(cs.NotifyTimeoutRequest, channel_bridge.notify_timeout_request_data(received)) == ["envelope"]
