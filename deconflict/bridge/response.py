"""Answer models <-> deconflict.v1.response_pb2, by hand (see deconflict.bridge.geometry)."""

from __future__ import annotations

from typing import Any

from deconflict.bridge.convert import duration, timestamp
from deconflict.bridge.geometry import volume4d_data, volume4d_to_proto
from deconflict.models import response as m
from deconflict.v1 import response_pb2 as pb


def logical_acknowledgement_to_proto(model: m.LogicalAcknowledgement) -> pb.LogicalAcknowledgement:
    out = pb.LogicalAcknowledgement(
        channel_id=model.channel_id,
        acknowledging_party=model.acknowledging_party,
        message_id=model.message_id,
        message_sender=model.message_sender,
        message_sequence=model.message_sequence,
        payload_sha256=model.payload_sha256,
        journal_position=model.journal_position,
        stored_time=timestamp(model.stored_time),
        notice_id=model.notice_id,
        notice_version=model.notice_version,
        late=model.late,
    )
    if model.response_due_time is not None:
        out.response_due_time.CopyFrom(timestamp(model.response_due_time))
    return out


def logical_acknowledgement_data(message: pb.LogicalAcknowledgement) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "acknowledging_party": message.acknowledging_party,
        "message_id": message.message_id,
        "message_sender": message.message_sender,
        "message_sequence": message.message_sequence,
        "payload_sha256": message.payload_sha256,
        "journal_position": message.journal_position,
        "stored_time": message.stored_time if message.HasField("stored_time") else None,
        "notice_id": message.notice_id,
        "notice_version": message.notice_version,
        "late": message.late,
        "response_due_time": message.response_due_time if message.HasField("response_due_time") else None,
    }


def conflicting_notice_to_proto(model: m.ConflictingNotice) -> pb.ConflictingNotice:
    return pb.ConflictingNotice(
        notice_id=model.notice_id,
        version=model.version,
        owner=model.owner,
        volume_index=model.volume_index,
        other_volume_index=model.other_volume_index,
        lateral_distance_m=model.lateral_distance_m,
        vertical_distance_m=model.vertical_distance_m,
    )


def conflicting_notice_data(message: pb.ConflictingNotice) -> dict[str, Any]:
    return {
        "notice_id": message.notice_id,
        "version": message.version,
        "owner": message.owner,
        "volume_index": message.volume_index,
        "other_volume_index": message.other_volume_index,
        "lateral_distance_m": message.lateral_distance_m,
        "vertical_distance_m": message.vertical_distance_m,
    }


def operational_response_to_proto(model: m.OperationalResponse) -> pb.OperationalResponse:
    return pb.OperationalResponse(
        notice_id=model.notice_id,
        notice_version=model.notice_version,
        kind=pb.ResponseKind.ValueType(model.kind),
        reasons=[pb.UnableReason.ValueType(reason) for reason in model.reasons],
        offending_field=model.offending_field,
        conflicts=[conflicting_notice_to_proto(conflict) for conflict in model.conflicts],
        counter_volumes=[volume4d_to_proto(volume) for volume in model.counter_volumes],
        remarks=model.remarks,
    )


def operational_response_data(message: pb.OperationalResponse) -> dict[str, Any]:
    return {
        "notice_id": message.notice_id,
        "notice_version": message.notice_version,
        "kind": message.kind,
        "reasons": list(message.reasons),
        "offending_field": message.offending_field,
        "conflicts": [conflicting_notice_data(conflict) for conflict in message.conflicts],
        "counter_volumes": [volume4d_data(volume) for volume in message.counter_volumes],
        "remarks": message.remarks,
    }


def response_timeout_to_proto(model: m.ResponseTimeout) -> pb.ResponseTimeout:
    return pb.ResponseTimeout(
        unanswered_message_id=model.unanswered_message_id,
        unanswered_kind=pb.MessageKind.ValueType(model.unanswered_kind),
        notice_id=model.notice_id,
        notice_version=model.notice_version,
        due_time=timestamp(model.due_time),
        waited=duration(model.waited),
        conference_id=model.conference_id,
        conference_revision=model.conference_revision,
    )


def response_timeout_data(message: pb.ResponseTimeout) -> dict[str, Any]:
    return {
        "unanswered_message_id": message.unanswered_message_id,
        "unanswered_kind": message.unanswered_kind,
        "notice_id": message.notice_id,
        "notice_version": message.notice_version,
        "due_time": message.due_time if message.HasField("due_time") else None,
        "waited": message.waited if message.HasField("waited") else None,
        "conference_id": message.conference_id,
        "conference_revision": message.conference_revision,
    }
