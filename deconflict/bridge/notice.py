"""Notice models <-> deconflict.v1.notice_pb2, by hand.

`*_to_proto` builds the protobuf message from a valid model; `*_data` reads one
into plain data (enums as raw numbers, unset messages as None) for the model to
validate, so every check and every field path lives in the models.
"""

from __future__ import annotations

from typing import Any

from deconflict.bridge.geometry import volume4d_data, volume4d_to_proto
from deconflict.models import notice as m
from deconflict.v1 import notice_pb2 as pb


def flight_notice_to_proto(model: m.FlightNotice) -> pb.FlightNotice:
    return pb.FlightNotice(
        notice_id=model.notice_id,
        version=model.version,
        state=pb.NoticeState.ValueType(model.state),
        owner=model.owner,
        volumes=[volume4d_to_proto(volume) for volume in model.volumes],
        aircraft_category=pb.AircraftCategory.ValueType(model.aircraft_category),
        aircraft_count=model.aircraft_count,
        callsigns=model.callsigns,
        transponder_codes=model.transponder_codes,
        frequency_ids=model.frequency_ids,
        contact_id=model.contact_id,
        category=pb.NoticeCategory.ValueType(model.category),
        remarks=model.remarks,
    )


def flight_notice_data(message: pb.FlightNotice) -> dict[str, Any]:
    return {
        "notice_id": message.notice_id,
        "version": message.version,
        "state": message.state,
        "owner": message.owner,
        "volumes": [volume4d_data(volume) for volume in message.volumes],
        "aircraft_category": message.aircraft_category,
        "aircraft_count": message.aircraft_count,
        "callsigns": list(message.callsigns),
        "transponder_codes": list(message.transponder_codes),
        "frequency_ids": list(message.frequency_ids),
        "contact_id": message.contact_id,
        "category": message.category,
        "remarks": message.remarks,
    }


def notice_amendment_to_proto(model: m.NoticeAmendment) -> pb.NoticeAmendment:
    return pb.NoticeAmendment(replaces_version=model.replaces_version, notice=flight_notice_to_proto(model.notice))


def notice_amendment_data(message: pb.NoticeAmendment) -> dict[str, Any]:
    return {
        "replaces_version": message.replaces_version,
        "notice": flight_notice_data(message.notice) if message.HasField("notice") else None,
    }


def notice_cancellation_to_proto(model: m.NoticeCancellation) -> pb.NoticeCancellation:
    return pb.NoticeCancellation(notice_id=model.notice_id, version=model.version, reason=model.reason)


def notice_cancellation_data(message: pb.NoticeCancellation) -> dict[str, Any]:
    return {"notice_id": message.notice_id, "version": message.version, "reason": message.reason}
