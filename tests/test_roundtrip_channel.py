"""Channel messages through the wire: model -> protobuf -> bytes -> protobuf -> model is the identity
for valid messages, and a valid message broken in one field is always refused at that field's path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict import limits
from deconflict.bridge import channel as bridge
from deconflict.models.base import Message
from deconflict.models.channel import (
    Agreement,
    Checklist,
    FrequencyUse,
    Heartbeat,
    Hello,
    IncidentReport,
    Resumption,
    Suspension,
)
from deconflict.models.geometry import AltitudeReference
from deconflict.models.notice import AircraftCategory, NoticeCategory, NoticeState
from deconflict.models.response import MessageKind
from deconflict.v1 import channel_pb2 as pb
from tests.strategies.channel import (
    agreements,
    checklists,
    heartbeats,
    hellos,
    incident_reports,
    resumptions,
    suspensions,
)
from tests.strategies.conference import identifiers
from tests.strategies.mutations import (
    bad_enum_numbers,
    bad_identifiers,
    bad_short_texts,
    break_duration,
    break_timestamp,
    pick_index,
    refusal_paths,
    repeat_element,
)

FAST = settings(max_examples=60, deadline=None)

# Each top-level message: its strategy, model -> protobuf, protobuf -> data.
WIRE: dict[type[Message], tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], dict[str, Any]]]] = {
    Agreement: (agreements(), bridge.agreement_to_proto, bridge.agreement_data),
    Hello: (hellos(), bridge.hello_to_proto, bridge.hello_data),
    Heartbeat: (heartbeats(), bridge.heartbeat_to_proto, bridge.heartbeat_data),
    Checklist: (checklists(), bridge.checklist_to_proto, bridge.checklist_data),
    Suspension: (suspensions(), bridge.suspension_to_proto, bridge.suspension_data),
    Resumption: (resumptions(), bridge.resumption_to_proto, bridge.resumption_data),
    IncidentReport: (incident_reports(), bridge.incident_report_to_proto, bridge.incident_report_data),
}


def _through_bytes(message: Any) -> Any:
    return type(message).FromString(message.SerializeToString())


@st.composite
def _any_message(draw: st.DrawFn) -> Message:
    strategy, _, _ = WIRE[draw(st.sampled_from(list(WIRE)))]
    model: Message = draw(strategy)
    return model


# Identity for valid messages.


@FAST
@given(agreements())
def test_agreement_roundtrip_and_hash(agreement: Agreement) -> None:
    """DCF-CHN-001: the agreement comes back from its bytes unchanged, and its hash is that of the bytes."""
    stored = bridge.agreement_bytes(agreement)
    back = Agreement.model_validate(bridge.agreement_data(pb.Agreement.FromString(stored)))
    assert back == agreement
    # This implementation serializes deterministically: the same agreement, the same hash.
    assert bridge.agreement_hash(bridge.agreement_bytes(back)) == bridge.agreement_hash(stored)


@FAST
@given(_any_message())
def test_channel_message_roundtrip(model: Message) -> None:
    _, to_proto, read = WIRE[type(model)]
    assert type(model).model_validate(read(_through_bytes(to_proto(model)))) == model


@FAST
@given(incident_reports())
def test_incident_closest_approach_keeps_unknown_apart_from_zero(report: IncidentReport) -> None:
    """DCF-INC-008: an unknown distance stays unset on the wire, a known one (0 included) stays set."""
    message = bridge.incident_report_to_proto(report)
    assert message.HasField("closest_lateral_m") is (report.closest_lateral_m is not None)
    assert message.HasField("closest_vertical_m") is (report.closest_vertical_m is not None)
    back = IncidentReport.model_validate(bridge.incident_report_data(_through_bytes(message)))
    assert (back.closest_lateral_m, back.closest_vertical_m) == (report.closest_lateral_m, report.closest_vertical_m)


@FAST
@given(_any_message())
def test_json_roundtrip(model: Message) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


# One field broken: each breaker edits a valid protobuf message and returns the path it broke.


def _bad_metres() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
        st.sampled_from([math.nan, math.inf, -math.inf]),
    )


def _time(draw: st.DrawFn, message: Any, field: str) -> str:
    if draw(st.booleans()):
        message.ClearField(field)
    else:
        break_timestamp(draw, getattr(message, field))
    return field


def _outsider(draw: st.DrawFn, parties: Any) -> str:
    outsider: str = draw(identifiers().filter(lambda party: party not in parties))
    return outsider


def _break_agreement(draw: st.DrawFn, m: pb.Agreement) -> str:
    how = draw(
        st.sampled_from(
            [
                "channel_id",
                "version",
                "parties",
                "effective_time",
                "minimum_lead_time",
                "response_timers",
                "separation",
                "clock_skew_tolerance",
                "frequencies",
                "contacts",
                "priority_rules",
                "keys",
                "heartbeat_interval",
                "missed_heartbeats_down",
            ]
        )
    )
    if how == "channel_id":
        m.channel_id = draw(bad_identifiers())
    elif how == "version":
        m.version = 0
    elif how == "parties":
        change = draw(st.sampled_from(["same", "one", "three"]))
        if change == "same":
            m.parties[1] = m.parties[0]
            return "parties[1]"
        if change == "one":
            del m.parties[1]
        else:
            m.parties.append(draw(identifiers()))
    elif how == "effective_time":
        return _time(draw, m, how)
    elif how == "minimum_lead_time":
        break_duration(draw, m.minimum_lead_time, limits.MAX_DURATION, zero_allowed=True)
    elif how == "response_timers":
        index = pick_index(draw, m.response_timers)
        change = draw(st.sampled_from(["kind", "response_time", "repeat"]))
        if change == "kind":
            m.response_timers[index].kind = draw(bad_enum_numbers(MessageKind))
        elif change == "response_time":
            break_duration(draw, m.response_timers[index].response_time, limits.MAX_DURATION)
        else:
            return repeat_element(draw, m.response_timers, how, len(MessageKind), "kind")
        return f"response_timers[{index}].{change}"
    elif how == "separation":
        change = draw(st.sampled_from(["unset", "lateral_m", "vertical_m", "time"]))
        if change == "unset":
            m.ClearField("separation")
            return "separation"
        if change == "time":
            break_duration(draw, m.separation.time, limits.MAX_DURATION, zero_allowed=True)
        else:
            setattr(m.separation, change, draw(_bad_metres()))
        return f"separation.{change}"
    elif how == "clock_skew_tolerance":
        break_duration(draw, m.clock_skew_tolerance, limits.MAX_CLOCK_SKEW_TOLERANCE)
    elif how == "frequencies":
        index = pick_index(draw, m.frequencies)
        change = draw(st.sampled_from(["frequency_id", "khz", "use", "description", "repeat"]))
        target = m.frequencies[index]
        if change == "frequency_id":
            target.frequency_id = draw(bad_identifiers())
        elif change == "khz":
            target.khz = draw(
                st.one_of(
                    st.integers(0, limits.MIN_FREQUENCY_KHZ - 1), st.integers(limits.MAX_FREQUENCY_KHZ + 1)
                ).filter(lambda khz: khz < 2**32)
            )
        elif change == "use":
            target.use = draw(bad_enum_numbers(FrequencyUse))
        elif change == "description":
            target.description = draw(bad_short_texts(required=False))
        else:
            return repeat_element(draw, m.frequencies, how, limits.MAX_LIST, "frequency_id")
        return f"frequencies[{index}].{change}"
    elif how == "contacts":
        index = pick_index(draw, m.contacts)
        change = draw(st.sampled_from(["party", "role", "repeat"]))
        if change == "party":
            m.contacts[index].party = _outsider(draw, m.parties)
        elif change == "role":
            m.contacts[index].role = draw(bad_short_texts())
        else:
            return repeat_element(draw, m.contacts, how, limits.MAX_LIST, "contact_id")
        return f"contacts[{index}].{change}"
    elif how == "priority_rules":
        index = pick_index(draw, m.priority_rules)
        rule = m.priority_rules[index]
        change = draw(st.sampled_from(["category", "no overrides", "itself", "repeat"]))
        if change == "category":
            rule.category = draw(bad_enum_numbers(NoticeCategory))
            return f"priority_rules[{index}].category"
        if change == "no overrides":
            del rule.overrides[:]
            return f"priority_rules[{index}].overrides"
        if change == "itself":
            rule.overrides.append(rule.category)
            return f"priority_rules[{index}].overrides[{len(rule.overrides) - 1}]"
        return repeat_element(draw, m.priority_rules, how, len(NoticeCategory), "category")
    elif how == "keys":
        index = pick_index(draw, m.keys)
        key = m.keys[index]
        change = draw(st.sampled_from(["party", "ed25519_public_key", "valid_from", "valid_until", "repeat"]))
        if change == "party":
            key.party = _outsider(draw, m.parties)
        elif change == "ed25519_public_key":
            key.ed25519_public_key = draw(st.binary(max_size=64).filter(lambda raw: len(raw) != 32))
        elif change == "valid_from":
            key.ClearField("valid_from")
        elif change == "valid_until":
            key.valid_until.CopyFrom(key.valid_from)
            key.valid_until.seconds -= draw(st.integers(0, 10**6))
        else:
            return repeat_element(draw, m.keys, how, limits.MAX_LIST, "key_id")
        return f"keys[{index}].{change}"
    elif how == "heartbeat_interval":
        break_duration(draw, m.heartbeat_interval, limits.MAX_DURATION)
    else:
        m.missed_heartbeats_down = draw(st.sampled_from([0, limits.MAX_MISSED_HEARTBEATS + 1, 2**32 - 1]))
    return how


def _break_hello(draw: st.DrawFn, m: pb.Hello) -> str:
    how = draw(st.sampled_from(["channel_id", "party", "versions", "hash", "agreement_version", "time", "impl"]))
    if how in ("channel_id", "party"):
        setattr(m, how, draw(bad_identifiers()))
        return how
    if how == "versions":
        change = draw(st.sampled_from(["unset", "min_major", "max_major"]))
        if change == "unset":
            m.ClearField("supported_versions")
            return "supported_versions"
        if change == "min_major":
            m.supported_versions.min_major = 0
        else:
            m.supported_versions.max_major = draw(st.integers(0, m.supported_versions.min_major - 1))
        return f"supported_versions.{change}"
    if how == "hash":
        m.agreement_hash = draw(st.binary(max_size=64).filter(lambda raw: len(raw) != 32))
        return "agreement_hash"
    if how == "agreement_version":
        m.agreement_version = 0
        return how
    if how == "time":
        return _time(draw, m, "sent_time")
    m.implementation = draw(bad_short_texts(required=False))
    return "implementation"


def _break_heartbeat(draw: st.DrawFn, m: pb.Heartbeat) -> str:
    how = draw(st.sampled_from(["channel_id", "party", "sent_time"]))
    if how == "sent_time":
        return _time(draw, m, how)
    setattr(m, how, draw(bad_identifiers()))
    return how


def _break_checklist(draw: st.DrawFn, m: pb.Checklist) -> str:
    how = draw(st.sampled_from(["channel_id", "party", "as_of_time", "entry", "repeat"]))
    if how == "as_of_time":
        return _time(draw, m, how)
    if how == "repeat":
        return repeat_element(draw, m.entries, "entries", limits.MAX_CHECKLIST_ENTRIES, "notice_id")
    if how == "entry":
        index = pick_index(draw, m.entries)
        change = draw(st.sampled_from(["notice_id", "owner", "version", "state"]))
        if change == "version":
            m.entries[index].version = 0
        elif change == "state":
            m.entries[index].state = draw(bad_enum_numbers(NoticeState))
        else:
            setattr(m.entries[index], change, draw(bad_identifiers()))
        return f"entries[{index}].{change}"
    setattr(m, how, draw(bad_identifiers()))
    return how


def _break_suspension_or_resumption(draw: st.DrawFn, m: pb.Suspension | pb.Resumption) -> str:
    how = draw(st.sampled_from(["suspension_id", "effective_time", "reason"]))
    if how == "effective_time":
        return _time(draw, m, how)
    setattr(m, how, draw(bad_identifiers() if how == "suspension_id" else bad_short_texts()))
    return how


def _break_incident(draw: st.DrawFn, m: pb.IncidentReport) -> str:
    how = draw(
        st.sampled_from(["incident_id", "occurred_time", "position", "altitude", "aircraft", "closest", "narrative"])
    )
    if how == "incident_id":
        m.incident_id = draw(bad_identifiers())
    elif how == "occurred_time":
        return _time(draw, m, how)
    elif how == "position":
        change = draw(st.sampled_from(["unset", "latitude", "longitude"]))
        if change == "unset":
            m.ClearField("position")
            return how
        limit = 90.0 if change == "latitude" else 180.0
        bad = st.one_of(st.floats(min_value=limit, exclude_min=True), st.floats(max_value=-limit, exclude_max=True))
        setattr(m.position, change, draw(bad))
        return f"position.{change}"
    elif how == "altitude":
        change = draw(st.sampled_from(["unset", "reference", "value"]))
        if change == "unset":
            m.ClearField("altitude")
            return how
        if change == "reference":
            m.altitude.reference = draw(bad_enum_numbers(AltitudeReference))
        else:
            m.altitude.value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return f"altitude.{change}"
    elif how == "aircraft":
        change = draw(st.sampled_from(["none", "too many", "party", "category", "callsign", "code", "notice_id"]))
        if change == "none":
            del m.aircraft[:]
            return how
        if change == "too many":
            while len(m.aircraft) <= limits.MAX_INVOLVED_AIRCRAFT:
                m.aircraft.add().CopyFrom(m.aircraft[0])
            return how
        index = pick_index(draw, m.aircraft)
        target = m.aircraft[index]
        if change == "party":
            target.party = draw(bad_identifiers())
        elif change == "category":
            target.aircraft_category = draw(bad_enum_numbers(AircraftCategory))
            return f"aircraft[{index}].aircraft_category"
        elif change == "callsign":
            target.callsign = draw(
                st.one_of(
                    st.text("ABC123", min_size=limits.MAX_CALLSIGN + 1, max_size=limits.MAX_CALLSIGN + 4),
                    st.from_regex(r"[A-Z0-9]{0,8}[a-z #\-][A-Z0-9]{0,7}", fullmatch=True),
                )
            )
        elif change == "code":
            target.transponder_code = draw(st.from_regex(r"[0-7]{1,3}|[0-7]{5,8}|[0-7]{3}[89A]", fullmatch=True))
            return f"aircraft[{index}].transponder_code"
        else:
            target.notice_id = draw(bad_identifiers().filter(bool))
        return f"aircraft[{index}].{change}"
    elif how == "closest":
        field = draw(st.sampled_from(["closest_lateral_m", "closest_vertical_m"]))
        setattr(m, field, draw(_bad_metres()))
        return field
    else:
        m.narrative = draw(st.sampled_from(["", "x" * (limits.MAX_TEXT + 1)]))
    return how


BREAKERS: dict[type[Message], Callable[[st.DrawFn, Any], str]] = {
    Agreement: _break_agreement,
    Hello: _break_hello,
    Heartbeat: _break_heartbeat,
    Checklist: _break_checklist,
    Suspension: _break_suspension_or_resumption,
    Resumption: _break_suspension_or_resumption,
    IncidentReport: _break_incident,
}


@st.composite
def broken_messages(draw: st.DrawFn) -> tuple[type[Message], Any, str]:
    model_type = draw(st.sampled_from(list(WIRE)))
    strategy, to_proto, _ = WIRE[model_type]
    message = to_proto(draw(strategy))
    return model_type, message, BREAKERS[model_type](draw, message)


@settings(max_examples=150, deadline=None)
@given(broken_messages())
def test_broken_channel_message_is_refused(broken: tuple[type[Message], Any, str]) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003; DCF-LIM-002, DCF-CMP-003, DCF-CMP-004, DCF-GEO-024, DCF-GEO-025; and
    DCF-CHN-004 to DCF-CHN-011, DCF-HEL-002, DCF-HBT-002, DCF-CHK-003, DCF-SUS-001, DCF-SUS-008, DCF-INC-002,
    DCF-INC-003, DCF-INC-008.
    """
    model_type, message, path = broken
    _, _, read = WIRE[model_type]
    assert refusal_paths(model_type, read(_through_bytes(message))) == [path]


@FAST
@given(agreements(), st.data())
def test_broken_agreement_is_refused(agreement: Agreement, data: st.DataObject) -> None:
    """One field broken, as drawn, is refused naming exactly that field.

    DCF-ERR-003; DCF-LIM-002, DCF-CMP-003, DCF-CMP-004, DCF-GEO-024, DCF-GEO-025; and
    DCF-CHN-004 to DCF-CHN-011.
    """
    message = bridge.agreement_to_proto(agreement)
    path = _break_agreement(data.draw, message)
    assert refusal_paths(Agreement, bridge.agreement_data(_through_bytes(message))) == [path]
