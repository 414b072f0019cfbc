"""Service messages through the wire: notice records, conference statuses, list pages, refusals on a stream,
and the write requests of CancelConference and NotifyTimeout with the envelopes they carry.

model -> protobuf -> bytes -> protobuf -> model is the identity for valid messages (and so is JSON), and a
valid message broken in one field is always refused at that field's path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict import limits
from deconflict.bridge import channel_service as channel_bridge
from deconflict.bridge import conference_service as conference_bridge
from deconflict.bridge import envelope as envelope_bridge
from deconflict.bridge import errors as errors_bridge
from deconflict.bridge import notice_service as notice_bridge
from deconflict.models.base import Message
from deconflict.models.channel_service import ExchangeResponse, NotifyTimeoutRequest
from deconflict.models.conference import ConferenceState
from deconflict.models.conference_service import (
    CancelConferenceRequest,
    ConferenceStatus,
    ListConferencesRequest,
    ListConferencesResponse,
)
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.errors import MessageRefusal
from deconflict.models.notice import NoticeState
from deconflict.models.notice_service import ListNoticesRequest, NoticeRecord
from deconflict.models.response import DialogueState, MessageKind, ResponseKind
from deconflict.v1 import channel_service_pb2, conference_service_pb2, errors_pb2, notice_service_pb2
from tests.strategies.conference import conference_cancellations, conference_statuses, identifiers, texts
from tests.strategies.errors import message_refusals, sequence_gaps, stale_versions
from tests.strategies.mutations import bad_enum_numbers, bad_short_texts, refusal_paths
from tests.strategies.notice import example_envelope, notice_records, response_timeouts

FAST = settings(max_examples=60, deadline=None)


def _through_bytes(message: Any) -> Any:
    return type(message).FromString(message.SerializeToString())


def _page_tokens() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), texts(1, limits.MAX_SHORT_TEXT))


def list_conferences_requests() -> st.SearchStrategy[ListConferencesRequest]:
    return st.builds(
        ListConferencesRequest,
        channel_id=identifiers(),
        page_size=st.integers(0, limits.MAX_PAGE_SIZE),
        page_token=_page_tokens(),
    )


def list_conferences_responses() -> st.SearchStrategy[ListConferencesResponse]:
    return st.builds(
        ListConferencesResponse,
        conferences=st.lists(conference_statuses(), max_size=3),
        next_page_token=_page_tokens(),
    )


def list_notices_requests() -> st.SearchStrategy[ListNoticesRequest]:
    return st.builds(
        ListNoticesRequest,
        channel_id=identifiers(),
        owner=st.one_of(st.just(""), identifiers()),
        states=st.lists(st.sampled_from(list(NoticeState)), unique=True),
        page_size=st.integers(0, limits.MAX_PAGE_SIZE),
        page_token=_page_tokens(),
    )


def exchange_refusals() -> st.SearchStrategy[ExchangeResponse]:
    return st.builds(ExchangeResponse, refusal=message_refusals())


# Each message: its strategy, model -> protobuf, protobuf -> data.
WIRE: dict[type[Message], tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], dict[str, Any]]]] = {
    NoticeRecord: (notice_records(), notice_bridge.notice_record_to_proto, notice_bridge.notice_record_data),
    ListNoticesRequest: (
        list_notices_requests(),
        notice_bridge.list_notices_request_to_proto,
        notice_bridge.list_notices_request_data,
    ),
    ConferenceStatus: (
        conference_statuses(),
        conference_bridge.conference_status_to_proto,
        conference_bridge.conference_status_data,
    ),
    ListConferencesRequest: (
        list_conferences_requests(),
        conference_bridge.list_conferences_request_to_proto,
        conference_bridge.list_conferences_request_data,
    ),
    ListConferencesResponse: (
        list_conferences_responses(),
        conference_bridge.list_conferences_response_to_proto,
        conference_bridge.list_conferences_response_data,
    ),
    MessageRefusal: (message_refusals(), errors_bridge.message_refusal_to_proto, errors_bridge.message_refusal_data),
    ExchangeResponse: (
        exchange_refusals(),
        channel_bridge.exchange_response_to_proto,
        channel_bridge.exchange_response_data,
    ),
}


@st.composite
def _any_message(draw: st.DrawFn) -> Message:
    strategy, _, _ = WIRE[draw(st.sampled_from(list(WIRE)))]
    model: Message = draw(strategy)
    return model


@FAST
@given(_any_message())
def test_service_message_roundtrip(model: Message) -> None:
    """DCF-GEN-006; DCF-RSP-034, DCF-NTC-036, DCF-CNF-039, DCF-CNF-041, DCF-STR-011: the wire keeps every field."""
    _, to_proto, read = WIRE[type(model)]
    assert type(model).model_validate(read(_through_bytes(to_proto(model)))) == model


@FAST
@given(_any_message())
def test_service_message_json_roundtrip(model: Message) -> None:
    """DCF-CMP-013: plain data written with enum short names reads back the same."""
    assert type(model).model_validate_json(model.model_dump_json()) == model


# The new write requests carry the bodies they take, sealed.


@FAST
@given(conference_cancellations())
def test_cancel_conference_request_carries_a_sealed_cancellation(cancellation: Any) -> None:
    """DCF-ENV-003, DCF-CNF-037: CancelConference carries an envelope whose body is a conference cancellation."""
    envelope = example_envelope(conference_cancellation=cancellation)
    request = CancelConferenceRequest(envelope=envelope_bridge.seal_envelope(envelope))
    received = _through_bytes(conference_bridge.cancel_conference_request_to_proto(request))
    back = CancelConferenceRequest.model_validate(conference_bridge.cancel_conference_request_data(received))
    assert back == request
    opened: Envelope = envelope_bridge.open_envelope(received.envelope)
    assert (opened.body_field, opened.kind, opened.body) == (
        "conference_cancellation",
        MessageKind.CONFERENCE_CANCELLATION,
        cancellation,
    )


@FAST
@given(response_timeouts())
def test_notify_timeout_request_carries_a_sealed_timeout(timeout: Any) -> None:
    """DCF-TMR-017, DCF-TMR-018: NotifyTimeout carries the timeout of a notice, amendment or proposal."""
    envelope = example_envelope(timeout=timeout)
    request = NotifyTimeoutRequest(envelope=envelope_bridge.seal_envelope(envelope))
    received = _through_bytes(channel_bridge.notify_timeout_request_to_proto(request))
    assert NotifyTimeoutRequest.model_validate(channel_bridge.notify_timeout_request_data(received)) == request
    opened = envelope_bridge.open_envelope(received.envelope)
    assert (opened.body, opened.in_reply_to) == (timeout, timeout.unanswered_message_id)


# One field broken, as a peer might send it.


def _break_record(draw: st.DrawFn, message: notice_service_pb2.NoticeRecord) -> str:
    how = draw(st.sampled_from(["dialogue_state", "mode", "last_response", "response_due_time"]))
    state = message.dialogue_state
    if how == "dialogue_state":
        message.dialogue_state = draw(bad_enum_numbers(DialogueState))
        return how
    if how == "mode":
        message.mode = draw(bad_enum_numbers(Mode))
        return how
    if how == "last_response":
        # A response kind the dialogue state cannot have (DCF-RSP-035).
        if state == DialogueState.PENDING:
            message.last_response = draw(st.sampled_from(list(ResponseKind)))
        elif state == DialogueState.ANSWERED:
            message.last_response = draw(st.sampled_from([0, ResponseKind.STANDBY]))
        elif state == DialogueState.STANDBY:
            message.last_response = draw(st.sampled_from([0, ResponseKind.ACCEPT, ResponseKind.COUNTER]))
        else:
            message.last_response = draw(
                st.sampled_from([ResponseKind.ACCEPT, ResponseKind.UNABLE, ResponseKind.ROGER])
            )
        return how
    if state in (DialogueState.PENDING, DialogueState.STANDBY):
        # Nothing else to break here: an open dialogue may or may not be due.
        message.dialogue_state = 0
        return "dialogue_state"
    message.response_due_time.seconds = draw(st.integers(0, 2**33))
    return how


def _break_status(draw: st.DrawFn, message: conference_service_pb2.ConferenceStatus) -> str:
    how = draw(st.sampled_from(["state", "slot", "record"]))
    if how == "state":
        message.state = draw(bad_enum_numbers(ConferenceState))
        return "state"
    if how == "record":
        if message.state == ConferenceState.RECORDED:
            message.ClearField("record")
        else:
            # Only a RECORDED conference has a record; a cancelled one never has (DCF-CNF-039).
            message.record.conference_id = message.proposal.conference_id
            message.record.start_time.seconds = 0
            message.record.end_time.seconds = 60
        return "record"
    if message.state in (ConferenceState.SCHEDULED, ConferenceState.RECORDED):
        message.ClearField("scheduled_slot")
    elif message.state == ConferenceState.CANCELLED:
        # Kept or not, a slot is one of the candidates (drawn before the year 2100).
        message.scheduled_slot.start_time.seconds = 2**34
        message.scheduled_slot.start_time.nanos = 0
    else:
        message.scheduled_slot.CopyFrom(message.proposal.candidate_slots[0])
    return "scheduled_slot"


def _break_list_conferences(draw: st.DrawFn, message: conference_service_pb2.ListConferencesRequest) -> str:
    if draw(st.booleans()):
        message.page_size = draw(st.integers(limits.MAX_PAGE_SIZE + 1, 2**32 - 1))
        return "page_size"
    message.page_token = draw(bad_short_texts(required=False))
    return "page_token"


def _break_refusal(draw: st.DrawFn, message: errors_pb2.MessageRefusal) -> str:
    if message.code == 3:
        message.reason = draw(st.sampled_from(["STALE_VERSION", "NOT_OWNER", "ANYTHING"]))
        return "reason"
    if message.HasField("stale_version"):
        if draw(st.booleans()):
            message.ClearField("stale_version")
            return "stale_version"
        message.code = 9
        return "reason"
    if message.HasField("sequence_gap"):
        if draw(st.booleans()):
            message.sequence_gap.CopyFrom(errors_bridge.sequence_gap_to_proto(draw(sequence_gaps())))
            message.sequence_gap.received = message.sequence_gap.expected
            return "sequence_gap.received"
        message.stale_version.CopyFrom(errors_bridge.stale_version_to_proto(draw(stale_versions())))
        return "stale_version"
    message.reason = draw(st.sampled_from(["lower_case", "WITH SPACE", "TRAILING_", "9LEADING"]))
    return "reason"


BREAKERS: dict[type[Message], tuple[Callable[[Any], Any], Callable[[st.DrawFn, Any], str]]] = {
    NoticeRecord: (notice_service_pb2.NoticeRecord, _break_record),
    ConferenceStatus: (conference_service_pb2.ConferenceStatus, _break_status),
    ListConferencesRequest: (conference_service_pb2.ListConferencesRequest, _break_list_conferences),
    MessageRefusal: (errors_pb2.MessageRefusal, _break_refusal),
}


@st.composite
def broken_messages(draw: st.DrawFn) -> tuple[type[Message], Any, str]:
    model_type = draw(st.sampled_from(list(BREAKERS)))
    strategy, to_proto, _ = WIRE[model_type]
    message = to_proto(draw(strategy))
    _, breaker = BREAKERS[model_type]
    return model_type, message, breaker(draw, message)


@settings(max_examples=150, deadline=None)
@given(broken_messages())
def test_broken_service_message_is_refused(broken: tuple[type[Message], Any, str]) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003, DCF-CMP-003, DCF-CMP-004; DCF-RSP-034, DCF-RSP-035, DCF-NTC-036; DCF-CNF-039, DCF-CNF-041,
    DCF-LIM-026, DCF-LIM-027; DCF-STR-012, DCF-STR-013, DCF-ERR-018.
    """
    model_type, message, path = broken
    _, _, read = WIRE[model_type]
    assert refusal_paths(model_type, read(_through_bytes(message))) == [path]


def test_exchange_response_messages_are_the_generated_ones() -> None:
    """DCF-STR-008: the refusal travels in the ExchangeResponse of the schema."""
    assert channel_service_pb2.ExchangeResponse.DESCRIPTOR.fields_by_name["refusal"].message_type.full_name == (
        "deconflict.v1.MessageRefusal"
    )
