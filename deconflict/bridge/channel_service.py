"""ChannelService request and response models <-> deconflict.v1.channel_service_pb2, by hand."""

from __future__ import annotations

from typing import Any

from deconflict.bridge.channel import (
    checklist_data,
    checklist_to_proto,
    heartbeat_data,
    heartbeat_to_proto,
    hello_data,
    hello_to_proto,
)
from deconflict.bridge.envelope import optional_signed_payload, signed_payload_data, signed_payload_to_proto
from deconflict.bridge.errors import message_refusal_data, message_refusal_to_proto
from deconflict.models import channel_service as m
from deconflict.v1 import channel_service_pb2 as pb


def hello_request_to_proto(model: m.HelloRequest) -> pb.HelloRequest:
    return pb.HelloRequest(hello=hello_to_proto(model.hello))


def hello_request_data(message: pb.HelloRequest) -> dict[str, Any]:
    return {"hello": hello_data(message.hello) if message.HasField("hello") else None}


def hello_response_to_proto(model: m.HelloResponse) -> pb.HelloResponse:
    return pb.HelloResponse(hello=hello_to_proto(model.hello), selected_major=model.selected_major)


def hello_response_data(message: pb.HelloResponse) -> dict[str, Any]:
    return {
        "hello": hello_data(message.hello) if message.HasField("hello") else None,
        "selected_major": message.selected_major,
    }


def heartbeat_request_to_proto(model: m.HeartbeatRequest) -> pb.HeartbeatRequest:
    return pb.HeartbeatRequest(heartbeat=heartbeat_to_proto(model.heartbeat))


def heartbeat_request_data(message: pb.HeartbeatRequest) -> dict[str, Any]:
    return {"heartbeat": heartbeat_data(message.heartbeat) if message.HasField("heartbeat") else None}


def heartbeat_response_to_proto(model: m.HeartbeatResponse) -> pb.HeartbeatResponse:
    return pb.HeartbeatResponse(heartbeat=heartbeat_to_proto(model.heartbeat))


def heartbeat_response_data(message: pb.HeartbeatResponse) -> dict[str, Any]:
    return {"heartbeat": heartbeat_data(message.heartbeat) if message.HasField("heartbeat") else None}


def get_agreement_request_to_proto(model: m.GetAgreementRequest) -> pb.GetAgreementRequest:
    return pb.GetAgreementRequest(channel_id=model.channel_id)


def get_agreement_request_data(message: pb.GetAgreementRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id}


def get_agreement_response_to_proto(model: m.GetAgreementResponse) -> pb.GetAgreementResponse:
    return pb.GetAgreementResponse(agreement=model.agreement, agreement_hash=model.agreement_hash)


def get_agreement_response_data(message: pb.GetAgreementResponse) -> dict[str, Any]:
    return {"agreement": message.agreement, "agreement_hash": message.agreement_hash}


def exchange_checklist_request_to_proto(model: m.ExchangeChecklistRequest) -> pb.ExchangeChecklistRequest:
    return pb.ExchangeChecklistRequest(checklist=checklist_to_proto(model.checklist))


def exchange_checklist_request_data(message: pb.ExchangeChecklistRequest) -> dict[str, Any]:
    return {"checklist": checklist_data(message.checklist) if message.HasField("checklist") else None}


def exchange_checklist_response_to_proto(model: m.ExchangeChecklistResponse) -> pb.ExchangeChecklistResponse:
    return pb.ExchangeChecklistResponse(checklist=checklist_to_proto(model.checklist))


def exchange_checklist_response_data(message: pb.ExchangeChecklistResponse) -> dict[str, Any]:
    return {"checklist": checklist_data(message.checklist) if message.HasField("checklist") else None}


def suspend_request_to_proto(model: m.SuspendRequest) -> pb.SuspendRequest:
    return pb.SuspendRequest(envelope=signed_payload_to_proto(model.envelope))


def suspend_request_data(message: pb.SuspendRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def suspend_response_to_proto(model: m.SuspendResponse) -> pb.SuspendResponse:
    return pb.SuspendResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def suspend_response_data(message: pb.SuspendResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def resume_request_to_proto(model: m.ResumeRequest) -> pb.ResumeRequest:
    return pb.ResumeRequest(envelope=signed_payload_to_proto(model.envelope))


def resume_request_data(message: pb.ResumeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def resume_response_to_proto(model: m.ResumeResponse) -> pb.ResumeResponse:
    return pb.ResumeResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def resume_response_data(message: pb.ResumeResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def report_incident_request_to_proto(model: m.ReportIncidentRequest) -> pb.ReportIncidentRequest:
    return pb.ReportIncidentRequest(envelope=signed_payload_to_proto(model.envelope))


def report_incident_request_data(message: pb.ReportIncidentRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def report_incident_response_to_proto(model: m.ReportIncidentResponse) -> pb.ReportIncidentResponse:
    return pb.ReportIncidentResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def report_incident_response_data(message: pb.ReportIncidentResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def notify_timeout_request_to_proto(model: m.NotifyTimeoutRequest) -> pb.NotifyTimeoutRequest:
    return pb.NotifyTimeoutRequest(envelope=signed_payload_to_proto(model.envelope))


def notify_timeout_request_data(message: pb.NotifyTimeoutRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def notify_timeout_response_to_proto(model: m.NotifyTimeoutResponse) -> pb.NotifyTimeoutResponse:
    return pb.NotifyTimeoutResponse(acknowledgement=signed_payload_to_proto(model.acknowledgement))


def notify_timeout_response_data(message: pb.NotifyTimeoutResponse) -> dict[str, Any]:
    return {"acknowledgement": optional_signed_payload(message, "acknowledgement")}


def watch_request_to_proto(model: m.WatchRequest) -> pb.WatchRequest:
    return pb.WatchRequest(channel_id=model.channel_id, from_sequence=model.from_sequence)


def watch_request_data(message: pb.WatchRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "from_sequence": message.from_sequence}


def watch_response_to_proto(model: m.WatchResponse) -> pb.WatchResponse:
    return pb.WatchResponse(envelope=signed_payload_to_proto(model.envelope))


def watch_response_data(message: pb.WatchResponse) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def exchange_request_to_proto(model: m.ExchangeRequest) -> pb.ExchangeRequest:
    return pb.ExchangeRequest(envelope=signed_payload_to_proto(model.envelope))


def exchange_request_data(message: pb.ExchangeRequest) -> dict[str, Any]:
    return {"envelope": optional_signed_payload(message, "envelope")}


def exchange_response_to_proto(model: m.ExchangeResponse) -> pb.ExchangeResponse:
    out = pb.ExchangeResponse()
    if model.acknowledgement is not None:
        out.acknowledgement.CopyFrom(signed_payload_to_proto(model.acknowledgement))
    if model.refusal is not None:
        out.refusal.CopyFrom(message_refusal_to_proto(model.refusal))
    return out


def exchange_response_data(message: pb.ExchangeResponse) -> dict[str, Any]:
    result = message.WhichOneof("result")
    return {
        "acknowledgement": signed_payload_data(message.acknowledgement) if result == "acknowledgement" else None,
        "refusal": message_refusal_data(message.refusal) if result == "refusal" else None,
    }


def get_checkpoint_request_to_proto(model: m.GetCheckpointRequest) -> pb.GetCheckpointRequest:
    return pb.GetCheckpointRequest(channel_id=model.channel_id)


def get_checkpoint_request_data(message: pb.GetCheckpointRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id}


def get_checkpoint_response_to_proto(model: m.GetCheckpointResponse) -> pb.GetCheckpointResponse:
    return pb.GetCheckpointResponse(checkpoint=model.checkpoint)


def get_checkpoint_response_data(message: pb.GetCheckpointResponse) -> dict[str, Any]:
    return {"checkpoint": message.checkpoint}


def get_consistency_proof_request_to_proto(model: m.GetConsistencyProofRequest) -> pb.GetConsistencyProofRequest:
    return pb.GetConsistencyProofRequest(
        channel_id=model.channel_id, first_size=model.first_size, second_size=model.second_size
    )


def get_consistency_proof_request_data(message: pb.GetConsistencyProofRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "first_size": message.first_size, "second_size": message.second_size}


def get_consistency_proof_response_to_proto(model: m.GetConsistencyProofResponse) -> pb.GetConsistencyProofResponse:
    return pb.GetConsistencyProofResponse(proof=model.proof)


def get_consistency_proof_response_data(message: pb.GetConsistencyProofResponse) -> dict[str, Any]:
    return {"proof": list(message.proof)}


def get_inclusion_proof_request_to_proto(model: m.GetInclusionProofRequest) -> pb.GetInclusionProofRequest:
    return pb.GetInclusionProofRequest(channel_id=model.channel_id, index=model.index, tree_size=model.tree_size)


def get_inclusion_proof_request_data(message: pb.GetInclusionProofRequest) -> dict[str, Any]:
    return {"channel_id": message.channel_id, "index": message.index, "tree_size": message.tree_size}


def get_inclusion_proof_response_to_proto(model: m.GetInclusionProofResponse) -> pb.GetInclusionProofResponse:
    return pb.GetInclusionProofResponse(proof=model.proof)


def get_inclusion_proof_response_data(message: pb.GetInclusionProofResponse) -> dict[str, Any]:
    return {"proof": list(message.proof)}


def cosign_request_to_proto(model: m.CosignRequest) -> pb.CosignRequest:
    return pb.CosignRequest(channel_id=model.channel_id, checkpoint=model.checkpoint, cosignatures=model.cosignatures)


def cosign_request_data(message: pb.CosignRequest) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "checkpoint": message.checkpoint,
        "cosignatures": list(message.cosignatures),
    }


def cosign_response_to_proto(model: m.CosignResponse) -> pb.CosignResponse:
    return pb.CosignResponse(cosigned_size=model.cosigned_size)


def cosign_response_data(message: pb.CosignResponse) -> dict[str, Any]:
    return {"cosigned_size": message.cosigned_size}
