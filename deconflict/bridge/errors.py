"""Error detail models <-> deconflict.v1.errors_pb2, by hand (see deconflict.bridge.geometry)."""

from __future__ import annotations

from typing import Any

from deconflict.models import errors as m
from deconflict.v1 import errors_pb2 as pb


def field_violation_to_proto(model: m.FieldViolation) -> pb.FieldViolation:
    return pb.FieldViolation(field=model.field, description=model.description)


def field_violation_data(message: pb.FieldViolation) -> dict[str, Any]:
    return {"field": message.field, "description": message.description}


def stale_version_to_proto(model: m.StaleVersion) -> pb.StaleVersion:
    return pb.StaleVersion(
        notice_id=model.notice_id, quoted_version=model.quoted_version, current_version=model.current_version
    )


def stale_version_data(message: pb.StaleVersion) -> dict[str, Any]:
    return {
        "notice_id": message.notice_id,
        "quoted_version": message.quoted_version,
        "current_version": message.current_version,
    }


def sequence_gap_to_proto(model: m.SequenceGap) -> pb.SequenceGap:
    return pb.SequenceGap(expected=model.expected, received=model.received)


def sequence_gap_data(message: pb.SequenceGap) -> dict[str, Any]:
    return {"expected": message.expected, "received": message.received}


def message_refusal_to_proto(model: m.MessageRefusal) -> pb.MessageRefusal:
    out = pb.MessageRefusal(
        message_id=model.message_id,
        code=model.code,
        message=model.message,
        violations=[field_violation_to_proto(violation) for violation in model.violations],
        reason=model.reason,
    )
    if model.stale_version is not None:
        out.stale_version.CopyFrom(stale_version_to_proto(model.stale_version))
    if model.sequence_gap is not None:
        out.sequence_gap.CopyFrom(sequence_gap_to_proto(model.sequence_gap))
    return out


def message_refusal_data(message: pb.MessageRefusal) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "code": message.code,
        "message": message.message,
        "violations": [field_violation_data(violation) for violation in message.violations],
        "reason": message.reason,
        "stale_version": stale_version_data(message.stale_version) if message.HasField("stale_version") else None,
        "sequence_gap": sequence_gap_data(message.sequence_gap) if message.HasField("sequence_gap") else None,
    }
