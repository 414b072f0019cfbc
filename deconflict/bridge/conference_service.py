"""ConferenceService request, response and status models <-> deconflict.v1.conference_service_pb2, by hand."""

from __future__ import annotations

from typing import Any

from deconflict.bridge.conference import (
    conference_proposal_data,
    conference_proposal_to_proto,
    conference_record_data,
    conference_record_to_proto,
    time_slot_data,
    time_slot_to_proto,
)
from deconflict.bridge.envelope import optional_signed_payload, signed_payload_to_proto
from deconflict.models import conference_service as m
from deconflict.v1 import conference_pb2
from deconflict.v1 import conference_service_pb2 as pb


def propose_conference_request_to_proto(model: m.ProposeConferenceRequest) -> pb.ProposeConferenceRequest:
    return pb.ProposeConferenceRequest(envelope=signed_payload_to_proto(model.envelope))


def propose_conference_request_data(message: pb.ProposeConferenceRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def propose_conference_response_to_proto(model: m.ProposeConferenceResponse) -> pb.ProposeConferenceResponse:
    return pb.ProposeConferenceResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def propose_conference_response_data(message: pb.ProposeConferenceResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def answer_conference_request_to_proto(model: m.AnswerConferenceRequest) -> pb.AnswerConferenceRequest:
    return pb.AnswerConferenceRequest(envelope=signed_payload_to_proto(model.envelope))


def answer_conference_request_data(message: pb.AnswerConferenceRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def answer_conference_response_to_proto(model: m.AnswerConferenceResponse) -> pb.AnswerConferenceResponse:
    return pb.AnswerConferenceResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def answer_conference_response_data(message: pb.AnswerConferenceResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def record_conference_request_to_proto(model: m.RecordConferenceRequest) -> pb.RecordConferenceRequest:
    return pb.RecordConferenceRequest(envelope=signed_payload_to_proto(model.envelope))


def record_conference_request_data(message: pb.RecordConferenceRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def record_conference_response_to_proto(model: m.RecordConferenceResponse) -> pb.RecordConferenceResponse:
    return pb.RecordConferenceResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def record_conference_response_data(message: pb.RecordConferenceResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def cancel_conference_request_to_proto(model: m.CancelConferenceRequest) -> pb.CancelConferenceRequest:
    return pb.CancelConferenceRequest(envelope=signed_payload_to_proto(model.envelope))


def cancel_conference_request_data(message: pb.CancelConferenceRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def cancel_conference_response_to_proto(model: m.CancelConferenceResponse) -> pb.CancelConferenceResponse:
    return pb.CancelConferenceResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def cancel_conference_response_data(message: pb.CancelConferenceResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def conference_status_to_proto(model: m.ConferenceStatus) -> pb.ConferenceStatus:
    out = pb.ConferenceStatus(
        channel_id=model.channel_id,
        state=conference_pb2.ConferenceState.ValueType(model.state),
        proposer=model.proposer,
        proposal=conference_proposal_to_proto(model.proposal),
    )
    if model.scheduled_slot is not None:
        out.scheduled_slot.CopyFrom(time_slot_to_proto(model.scheduled_slot))
    if model.record is not None:
        out.record.CopyFrom(conference_record_to_proto(model.record))
    return out


def conference_status_data(message: pb.ConferenceStatus) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "state": message.state,
        "proposer": message.proposer,
        "proposal": conference_proposal_data(message.proposal) if message.HasField("proposal") else None,
        "scheduled_slot": time_slot_data(message.scheduled_slot) if message.HasField("scheduled_slot") else None,
        "record": conference_record_data(message.record) if message.HasField("record") else None,
    }


def get_conference_request_to_proto(model: m.GetConferenceRequest) -> pb.GetConferenceRequest:
    return pb.GetConferenceRequest(channel_id=model.channel_id, conference_id=model.conference_id)


def get_conference_request_data(message: pb.GetConferenceRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "conference_id": message.conference_id}


def get_conference_response_to_proto(model: m.GetConferenceResponse) -> pb.GetConferenceResponse:
    return pb.GetConferenceResponse(status=conference_status_to_proto(model.status))


def get_conference_response_data(message: pb.GetConferenceResponse) -> dict[str, Any]:
    return {"status": conference_status_data(message.status) if message.HasField("status") else None}


def list_conferences_request_to_proto(model: m.ListConferencesRequest) -> pb.ListConferencesRequest:
    return pb.ListConferencesRequest(
        channel_id=model.channel_id, page_size=model.page_size, page_token=model.page_token
    )


def list_conferences_request_data(message: pb.ListConferencesRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "page_size": message.page_size, "page_token": message.page_token}


def list_conferences_response_to_proto(model: m.ListConferencesResponse) -> pb.ListConferencesResponse:
    return pb.ListConferencesResponse(
        conferences=[conference_status_to_proto(s) for s in model.conferences],
        next_page_token=model.next_page_token,
    )


def list_conferences_response_data(message: pb.ListConferencesResponse) -> dict[str, Any]:
    return {
        "conferences": [conference_status_data(s) for s in message.conferences],
        "next_page_token": message.next_page_token,
    }
