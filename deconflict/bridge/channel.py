"""Channel models <-> deconflict.v1.channel_pb2, by hand.

`*_to_proto` builds the protobuf message from a valid model; `*_data` reads a
protobuf message into plain data for one `model_validate` at the top, so every
check and every field path in a refusal lives in the models.
"""

from __future__ import annotations

import hashlib
from typing import Any

from deconflict.bridge.convert import duration, timestamp
from deconflict.bridge.geometry import altitude_data, altitude_to_proto, lat_lng_data, lat_lng_to_proto
from deconflict.models import channel as m
from deconflict.v1 import channel_pb2 as pb
from deconflict.v1 import notice_pb2, response_pb2


def response_timer_to_proto(model: m.ResponseTimer) -> pb.ResponseTimer:
    return pb.ResponseTimer(
        kind=response_pb2.MessageKind.ValueType(model.kind), response_time=duration(model.response_time)
    )


def response_timer_data(message: pb.ResponseTimer) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "response_time": message.response_time if message.HasField("response_time") else None,
    }


def separation_minima_to_proto(model: m.SeparationMinima) -> pb.SeparationMinima:
    return pb.SeparationMinima(lateral_m=model.lateral_m, vertical_m=model.vertical_m, time=duration(model.time))


def separation_minima_data(message: pb.SeparationMinima) -> dict[str, Any]:
    return {
        "lateral_m": message.lateral_m,
        "vertical_m": message.vertical_m,
        "time": message.time if message.HasField("time") else None,
    }


def frequency_to_proto(model: m.Frequency) -> pb.Frequency:
    return pb.Frequency(
        frequency_id=model.frequency_id,
        khz=model.khz,
        use=pb.FrequencyUse.ValueType(model.use),
        description=model.description,
    )


def frequency_data(message: pb.Frequency) -> dict[str, Any]:
    return {
        "frequency_id": message.frequency_id,
        "khz": message.khz,
        "use": message.use,
        "description": message.description,
    }


def point_of_contact_to_proto(model: m.PointOfContact) -> pb.PointOfContact:
    return pb.PointOfContact(contact_id=model.contact_id, party=model.party, role=model.role, address=model.address)


def point_of_contact_data(message: pb.PointOfContact) -> dict[str, Any]:
    return {
        "contact_id": message.contact_id,
        "party": message.party,
        "role": message.role,
        "address": message.address,
    }


def priority_rule_to_proto(model: m.PriorityRule) -> pb.PriorityRule:
    return pb.PriorityRule(
        category=notice_pb2.NoticeCategory.ValueType(model.category),
        overrides=[notice_pb2.NoticeCategory.ValueType(c) for c in model.overrides],
    )


def priority_rule_data(message: pb.PriorityRule) -> dict[str, Any]:
    return {"category": message.category, "overrides": list(message.overrides)}


def party_key_to_proto(model: m.PartyKey) -> pb.PartyKey:
    out = pb.PartyKey(
        key_id=model.key_id,
        party=model.party,
        ed25519_public_key=model.ed25519_public_key,
        valid_from=timestamp(model.valid_from),
    )
    if model.valid_until is not None:
        out.valid_until.CopyFrom(timestamp(model.valid_until))
    return out


def party_key_data(message: pb.PartyKey) -> dict[str, Any]:
    return {
        "key_id": message.key_id,
        "party": message.party,
        "ed25519_public_key": message.ed25519_public_key,
        "valid_from": message.valid_from if message.HasField("valid_from") else None,
        "valid_until": message.valid_until if message.HasField("valid_until") else None,
    }


def version_range_to_proto(model: m.VersionRange) -> pb.VersionRange:
    return pb.VersionRange(min_major=model.min_major, max_major=model.max_major)


def version_range_data(message: pb.VersionRange) -> dict[str, Any]:
    return {"min_major": message.min_major, "max_major": message.max_major}


def agreement_to_proto(model: m.Agreement) -> pb.Agreement:
    return pb.Agreement(
        channel_id=model.channel_id,
        version=model.version,
        parties=model.parties,
        effective_time=timestamp(model.effective_time),
        minimum_lead_time=duration(model.minimum_lead_time),
        response_timers=[response_timer_to_proto(t) for t in model.response_timers],
        separation=separation_minima_to_proto(model.separation),
        clock_skew_tolerance=duration(model.clock_skew_tolerance),
        frequencies=[frequency_to_proto(f) for f in model.frequencies],
        contacts=[point_of_contact_to_proto(c) for c in model.contacts],
        priority_rules=[priority_rule_to_proto(r) for r in model.priority_rules],
        keys=[party_key_to_proto(k) for k in model.keys],
        heartbeat_interval=duration(model.heartbeat_interval),
        missed_heartbeats_down=model.missed_heartbeats_down,
    )


def agreement_data(message: pb.Agreement) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "version": message.version,
        "parties": list(message.parties),
        "effective_time": message.effective_time if message.HasField("effective_time") else None,
        "minimum_lead_time": message.minimum_lead_time if message.HasField("minimum_lead_time") else None,
        "response_timers": [response_timer_data(t) for t in message.response_timers],
        "separation": separation_minima_data(message.separation) if message.HasField("separation") else None,
        "clock_skew_tolerance": message.clock_skew_tolerance if message.HasField("clock_skew_tolerance") else None,
        "frequencies": [frequency_data(f) for f in message.frequencies],
        "contacts": [point_of_contact_data(c) for c in message.contacts],
        "priority_rules": [priority_rule_data(r) for r in message.priority_rules],
        "keys": [party_key_data(k) for k in message.keys],
        "heartbeat_interval": message.heartbeat_interval if message.HasField("heartbeat_interval") else None,
        "missed_heartbeats_down": message.missed_heartbeats_down,
    }


def agreement_bytes(model: m.Agreement) -> bytes:
    """The agreement serialized once, to be stored and hashed as these exact bytes.

    Protobuf serialization is not canonical: both parties keep and compare the bytes
    they signed, never a re-serialization. Deterministic output only makes two
    serializations by this implementation agree.
    """
    return agreement_to_proto(model).SerializeToString(deterministic=True)


def agreement_hash(agreement: bytes) -> bytes:
    """SHA-256 of the agreement bytes: what Hello carries and GetAgreement returns."""
    return hashlib.sha256(agreement).digest()


def hello_to_proto(model: m.Hello) -> pb.Hello:
    return pb.Hello(
        channel_id=model.channel_id,
        party=model.party,
        supported_versions=version_range_to_proto(model.supported_versions),
        agreement_hash=model.agreement_hash,
        agreement_version=model.agreement_version,
        sent_time=timestamp(model.sent_time),
        implementation=model.implementation,
    )


def hello_data(message: pb.Hello) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "party": message.party,
        "supported_versions": (
            version_range_data(message.supported_versions) if message.HasField("supported_versions") else None
        ),
        "agreement_hash": message.agreement_hash,
        "agreement_version": message.agreement_version,
        "sent_time": message.sent_time if message.HasField("sent_time") else None,
        "implementation": message.implementation,
    }


def heartbeat_to_proto(model: m.Heartbeat) -> pb.Heartbeat:
    return pb.Heartbeat(
        channel_id=model.channel_id,
        party=model.party,
        sent_time=timestamp(model.sent_time),
        last_sequence_sent=model.last_sequence_sent,
    )


def heartbeat_data(message: pb.Heartbeat) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "party": message.party,
        "sent_time": message.sent_time if message.HasField("sent_time") else None,
        "last_sequence_sent": message.last_sequence_sent,
    }


def checklist_entry_to_proto(model: m.ChecklistEntry) -> pb.ChecklistEntry:
    return pb.ChecklistEntry(
        notice_id=model.notice_id,
        owner=model.owner,
        version=model.version,
        state=notice_pb2.NoticeState.ValueType(model.state),
    )


def checklist_entry_data(message: pb.ChecklistEntry) -> dict[str, Any]:
    return {"notice_id": message.notice_id, "owner": message.owner, "version": message.version, "state": message.state}


def checklist_to_proto(model: m.Checklist) -> pb.Checklist:
    return pb.Checklist(
        channel_id=model.channel_id,
        party=model.party,
        as_of_time=timestamp(model.as_of_time),
        entries=[checklist_entry_to_proto(e) for e in model.entries],
        last_sequence_sent=model.last_sequence_sent,
        last_sequence_received=model.last_sequence_received,
    )


def checklist_data(message: pb.Checklist) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "party": message.party,
        "as_of_time": message.as_of_time if message.HasField("as_of_time") else None,
        "entries": [checklist_entry_data(e) for e in message.entries],
        "last_sequence_sent": message.last_sequence_sent,
        "last_sequence_received": message.last_sequence_received,
    }


def suspension_to_proto(model: m.Suspension) -> pb.Suspension:
    return pb.Suspension(
        suspension_id=model.suspension_id, effective_time=timestamp(model.effective_time), reason=model.reason
    )


def suspension_data(message: pb.Suspension) -> dict[str, Any]:
    return {
        "suspension_id": message.suspension_id,
        "effective_time": message.effective_time if message.HasField("effective_time") else None,
        "reason": message.reason,
    }


def resumption_to_proto(model: m.Resumption) -> pb.Resumption:
    return pb.Resumption(
        suspension_id=model.suspension_id, effective_time=timestamp(model.effective_time), reason=model.reason
    )


def resumption_data(message: pb.Resumption) -> dict[str, Any]:
    return {
        "suspension_id": message.suspension_id,
        "effective_time": message.effective_time if message.HasField("effective_time") else None,
        "reason": message.reason,
    }


def involved_aircraft_to_proto(model: m.InvolvedAircraft) -> pb.InvolvedAircraft:
    return pb.InvolvedAircraft(
        party=model.party,
        aircraft_category=notice_pb2.AircraftCategory.ValueType(model.aircraft_category),
        callsign=model.callsign,
        transponder_code=model.transponder_code,
        notice_id=model.notice_id,
    )


def involved_aircraft_data(message: pb.InvolvedAircraft) -> dict[str, Any]:
    return {
        "party": message.party,
        "aircraft_category": message.aircraft_category,
        "callsign": message.callsign,
        "transponder_code": message.transponder_code,
        "notice_id": message.notice_id,
    }


def incident_report_to_proto(model: m.IncidentReport) -> pb.IncidentReport:
    out = pb.IncidentReport(
        incident_id=model.incident_id,
        occurred_time=timestamp(model.occurred_time),
        position=lat_lng_to_proto(model.position),
        altitude=altitude_to_proto(model.altitude),
        aircraft=[involved_aircraft_to_proto(a) for a in model.aircraft],
        narrative=model.narrative,
    )
    # proto3 optional: an unknown closest approach stays unset, a measured 0 is sent as set.
    if model.closest_lateral_m is not None:
        out.closest_lateral_m = model.closest_lateral_m
    if model.closest_vertical_m is not None:
        out.closest_vertical_m = model.closest_vertical_m
    return out


def incident_report_data(message: pb.IncidentReport) -> dict[str, Any]:
    return {
        "incident_id": message.incident_id,
        "occurred_time": message.occurred_time if message.HasField("occurred_time") else None,
        "position": lat_lng_data(message.position) if message.HasField("position") else None,
        "altitude": altitude_data(message.altitude) if message.HasField("altitude") else None,
        "aircraft": [involved_aircraft_data(a) for a in message.aircraft],
        "closest_lateral_m": message.closest_lateral_m if message.HasField("closest_lateral_m") else None,
        "closest_vertical_m": message.closest_vertical_m if message.HasField("closest_vertical_m") else None,
        "narrative": message.narrative,
    }
