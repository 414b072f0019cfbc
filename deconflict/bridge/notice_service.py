"""NoticeService request, response and record models <-> deconflict.v1.notice_service_pb2, by hand."""

from __future__ import annotations

from typing import Any

from deconflict.bridge.convert import timestamp
from deconflict.bridge.envelope import optional_signed_payload, signed_payload_to_proto
from deconflict.bridge.notice import flight_notice_data, flight_notice_to_proto
from deconflict.models import notice_service as m
from deconflict.v1 import envelope_pb2, notice_pb2, response_pb2
from deconflict.v1 import notice_service_pb2 as pb


def submit_notice_request_to_proto(model: m.SubmitNoticeRequest) -> pb.SubmitNoticeRequest:
    return pb.SubmitNoticeRequest(envelope=signed_payload_to_proto(model.envelope))


def submit_notice_request_data(message: pb.SubmitNoticeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def submit_notice_response_to_proto(model: m.SubmitNoticeResponse) -> pb.SubmitNoticeResponse:
    return pb.SubmitNoticeResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def submit_notice_response_data(message: pb.SubmitNoticeResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def amend_notice_request_to_proto(model: m.AmendNoticeRequest) -> pb.AmendNoticeRequest:
    return pb.AmendNoticeRequest(envelope=signed_payload_to_proto(model.envelope))


def amend_notice_request_data(message: pb.AmendNoticeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def amend_notice_response_to_proto(model: m.AmendNoticeResponse) -> pb.AmendNoticeResponse:
    return pb.AmendNoticeResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def amend_notice_response_data(message: pb.AmendNoticeResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def cancel_notice_request_to_proto(model: m.CancelNoticeRequest) -> pb.CancelNoticeRequest:
    return pb.CancelNoticeRequest(envelope=signed_payload_to_proto(model.envelope))


def cancel_notice_request_data(message: pb.CancelNoticeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def cancel_notice_response_to_proto(model: m.CancelNoticeResponse) -> pb.CancelNoticeResponse:
    return pb.CancelNoticeResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def cancel_notice_response_data(message: pb.CancelNoticeResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def respond_to_notice_request_to_proto(model: m.RespondToNoticeRequest) -> pb.RespondToNoticeRequest:
    return pb.RespondToNoticeRequest(envelope=signed_payload_to_proto(model.envelope))


def respond_to_notice_request_data(message: pb.RespondToNoticeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def respond_to_notice_response_to_proto(model: m.RespondToNoticeResponse) -> pb.RespondToNoticeResponse:
    return pb.RespondToNoticeResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def respond_to_notice_response_data(message: pb.RespondToNoticeResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def notice_record_to_proto(model: m.NoticeRecord) -> pb.NoticeRecord:
    out = pb.NoticeRecord(
        channel_id=model.channel_id,
        notice=flight_notice_to_proto(model.notice),
        late=model.late,
        received_time=timestamp(model.received_time),
        last_response=response_pb2.ResponseKind.ValueType(model.last_response or 0),
        dialogue_state=response_pb2.DialogueState.ValueType(model.dialogue_state),
        mode=envelope_pb2.Mode.ValueType(model.mode),
    )
    if model.response_due_time is not None:
        out.response_due_time.CopyFrom(timestamp(model.response_due_time))
    return out


def notice_record_data(message: pb.NoticeRecord) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "notice": flight_notice_data(message.notice) if message.HasField("notice") else None,
        "late": message.late,
        "received_time": message.received_time if message.HasField("received_time") else None,
        # UNSPECIFIED here means "no response yet", not a missing value.
        "last_response": message.last_response or None,
        "response_due_time": message.response_due_time if message.HasField("response_due_time") else None,
        "dialogue_state": message.dialogue_state,
        "mode": message.mode,
    }


def get_notice_request_to_proto(model: m.GetNoticeRequest) -> pb.GetNoticeRequest:
    return pb.GetNoticeRequest(channel_id=model.channel_id, notice_id=model.notice_id)


def get_notice_request_data(message: pb.GetNoticeRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "notice_id": message.notice_id}


def get_notice_response_to_proto(model: m.GetNoticeResponse) -> pb.GetNoticeResponse:
    return pb.GetNoticeResponse(record=notice_record_to_proto(model.record))


def get_notice_response_data(message: pb.GetNoticeResponse) -> dict[str, Any]:
    return {"record": notice_record_data(message.record) if message.HasField("record") else None}


def list_notices_request_to_proto(model: m.ListNoticesRequest) -> pb.ListNoticesRequest:
    return pb.ListNoticesRequest(
        channel_id=model.channel_id,
        owner=model.owner,
        states=[notice_pb2.NoticeState.ValueType(state) for state in model.states],
        page_size=model.page_size,
        page_token=model.page_token,
    )


def list_notices_request_data(message: pb.ListNoticesRequest) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "owner": message.owner,
        "states": list(message.states),
        "page_size": message.page_size,
        "page_token": message.page_token,
    }


def list_notices_response_to_proto(model: m.ListNoticesResponse) -> pb.ListNoticesResponse:
    return pb.ListNoticesResponse(
        records=[notice_record_to_proto(record) for record in model.records],
        next_page_token=model.next_page_token,
    )


def list_notices_response_data(message: pb.ListNoticesResponse) -> dict[str, Any]:
    return {
        "records": [notice_record_data(record) for record in message.records],
        "next_page_token": message.next_page_token,
    }
