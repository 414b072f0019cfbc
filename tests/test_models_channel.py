"""Channel models: each rule accepts a valid message and refuses a broken one at the exact field path.

Inputs arrive two ways: as plain data (a dict, as from JSON) and as protobuf bytes
read through the bridge, the way a peer's message arrives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import channel as bridge
from deconflict.models.base import Message, field_violations
from deconflict.models.channel import (
    Agreement,
    Checklist,
    Heartbeat,
    Hello,
    IncidentReport,
    Resumption,
    Suspension,
    VersionRange,
)
from deconflict.models.notice import NoticeCategory
from deconflict.models.response import MessageKind
from deconflict.v1 import channel_pb2 as pb
from tests.strategies.channel import (
    US,
    example_agreement,
    example_checklist,
    example_heartbeat,
    example_hello,
    example_incident,
    example_incident_unknown_approach,
    example_resumption,
    example_suspension,
)
from tests.strategies.conference import HOUR, T0
from tests.strategies.mutations import DELETE, changed, refusal_paths

AG = (Agreement, example_agreement().model_dump())
HE = (Hello, example_hello().model_dump())
HB = (Heartbeat, example_heartbeat().model_dump())
CL = (Checklist, example_checklist().model_dump())
SU = (Suspension, example_suspension().model_dump())
RE = (Resumption, example_resumption().model_dump())
IN = (IncidentReport, example_incident().model_dump())


def _repeat(index: int) -> Callable[[list[Any]], list[Any]]:
    """Appends a copy of element `index` to a list."""
    return lambda items: [*items, items[index]]


def _aircraft(count: int) -> list[dict[str, Any]]:
    return [{"party": f"party-{i}", "aircraft_category": 1} for i in range(count)]


def _entries(count: int) -> list[dict[str, Any]]:
    return [{"notice_id": f"n-{i}", "owner": US, "version": 1, "state": 1} for i in range(count)]


# (message and its valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    # The agreement: DCF ids, two distinct parties, timers, minima, registries.
    pytest.param(AG, "channel_id", "", "channel_id", id="DCF-LIM-002-agreement-channel-id"),
    pytest.param(AG, "version", 0, "version", id="DCF-CHN-003-agreement-version-zero"),
    pytest.param(AG, "version", 2**32, "version", id="DCF-CHN-003-agreement-version-past-uint32"),
    pytest.param(AG, "parties", ["party-a"], "parties", id="DCF-CHN-004-one-party"),
    pytest.param(AG, "parties", ["party-a", "party-b", "party-c"], "parties", id="DCF-CHN-004-three-parties"),
    pytest.param(AG, "parties", ["party-a", "party-a"], "parties[1]", id="DCF-CHN-004-same-party-twice"),
    pytest.param(AG, "parties.0", "party a", "parties[0]", id="DCF-LIM-002-party-id-pattern"),
    pytest.param(AG, "effective_time", None, "effective_time", id="DCF-CHN-004-no-effective-time"),
    pytest.param(AG, "minimum_lead_time", -HOUR, "minimum_lead_time", id="DCF-CHN-004-lead-time-negative"),
    pytest.param(AG, "minimum_lead_time", DELETE, "minimum_lead_time", id="DCF-CHN-004-lead-time-missing"),
    pytest.param(AG, "response_timers", _repeat(0), "response_timers[2].kind", id="DCF-CHN-005-timer-kind-repeat"),
    pytest.param(AG, "response_timers.0.kind", 0, "response_timers[0].kind", id="DCF-CHN-005-timer-kind-unspecified"),
    pytest.param(
        AG,
        "response_timers.1.response_time",
        timedelta(0),
        "response_timers[1].response_time",
        id="DCF-CHN-005-timer-zero",
    ),
    pytest.param(AG, "separation", None, "separation", id="DCF-CHN-004-no-separation"),
    pytest.param(AG, "separation.lateral_m", -1.0, "separation.lateral_m", id="DCF-CHN-004-lateral-negative"),
    pytest.param(AG, "separation.vertical_m", math.nan, "separation.vertical_m", id="DCF-CHN-004-vertical-nan"),
    pytest.param(AG, "separation.vertical_m", math.inf, "separation.vertical_m", id="DCF-CHN-004-vertical-inf"),
    pytest.param(
        AG, "separation.time", -timedelta(seconds=1), "separation.time", id="DCF-CHN-004-separation-time-negative"
    ),
    pytest.param(AG, "separation.time", DELETE, "separation.time", id="DCF-CHN-004-separation-time-missing"),
    pytest.param(AG, "clock_skew_tolerance", timedelta(0), "clock_skew_tolerance", id="DCF-CHN-004-skew-zero"),
    pytest.param(
        AG, "clock_skew_tolerance", timedelta(hours=1, seconds=1), "clock_skew_tolerance", id="DCF-LIM-016-skew-over-1h"
    ),
    pytest.param(AG, "frequencies.0.khz", 121, "frequencies[0].khz", id="DCF-LIM-018-khz-given-in-mhz"),
    pytest.param(AG, "frequencies.0.khz", 1_999, "frequencies[0].khz", id="DCF-LIM-018-khz-below-hf"),
    pytest.param(AG, "frequencies.1.khz", 400_001, "frequencies[1].khz", id="DCF-LIM-018-khz-above-uhf"),
    pytest.param(AG, "frequencies.1.khz", 243_000.5, "frequencies[1].khz", id="DCF-LIM-018-khz-fraction"),
    pytest.param(AG, "frequencies.0.use", 0, "frequencies[0].use", id="DCF-CHN-007-frequency-use-unspecified"),
    pytest.param(
        AG, "frequencies.0.description", "x" * 257, "frequencies[0].description", id="DCF-CHN-007-frequency-text"
    ),
    pytest.param(AG, "frequencies", _repeat(1), "frequencies[2].frequency_id", id="DCF-CHN-007-frequency-repeat"),
    pytest.param(AG, "contacts.0.party", "party-c", "contacts[0].party", id="DCF-CHN-009-contact-outsider"),
    pytest.param(AG, "contacts.1.role", "", "contacts[1].role", id="DCF-CHN-009-contact-no-role"),
    pytest.param(AG, "contacts.1.contact_id", "", "contacts[1].contact_id", id="DCF-LIM-002-contact-id-empty"),
    pytest.param(AG, "contacts", _repeat(0), "contacts[2].contact_id", id="DCF-CHN-009-contact-repeat"),
    pytest.param(AG, "priority_rules.0.category", 0, "priority_rules[0].category", id="DCF-CHN-010-rule-no-category"),
    pytest.param(
        AG, "priority_rules.0.overrides", [], "priority_rules[0].overrides", id="DCF-CHN-010-rule-overrides-nothing"
    ),
    pytest.param(
        AG,
        "priority_rules.0.overrides",
        [NoticeCategory.ROUTINE, NoticeCategory.EMERGENCY],
        "priority_rules[0].overrides[1]",
        id="DCF-CHN-010-rule-overrides-itself",
    ),
    pytest.param(
        AG, "priority_rules.0.overrides", _repeat(0), "priority_rules[0].overrides[2]", id="DCF-CHN-010-rule-repeat"
    ),
    pytest.param(
        AG, "priority_rules.0.overrides", [1, 3, 4, 1, 3], "priority_rules[0].overrides", id="DCF-LIM-025-rule-5"
    ),
    pytest.param(AG, "priority_rules", _repeat(0), "priority_rules[1].category", id="DCF-CHN-010-rule-category-repeat"),
    pytest.param(AG, "keys.0.party", "party-c", "keys[0].party", id="DCF-CHN-011-key-outsider"),
    pytest.param(
        AG, "keys.0.ed25519_public_key", bytes(31), "keys[0].ed25519_public_key", id="DCF-CHN-011-key-31-bytes"
    ),
    pytest.param(AG, "keys.1.valid_until", T0, "keys[1].valid_until", id="DCF-CHN-011-key-ends-when-it-starts"),
    pytest.param(AG, "keys.0.valid_from", None, "keys[0].valid_from", id="DCF-CHN-011-key-no-start"),
    pytest.param(AG, "keys", _repeat(0), "keys[2].key_id", id="DCF-CHN-011-key-repeat"),
    pytest.param(AG, "heartbeat_interval", timedelta(0), "heartbeat_interval", id="DCF-CHN-004-heartbeat-zero"),
    pytest.param(AG, "missed_heartbeats_down", 0, "missed_heartbeats_down", id="DCF-CHN-004-missed-zero"),
    pytest.param(AG, "missed_heartbeats_down", 101, "missed_heartbeats_down", id="DCF-LIM-017-missed-101"),
    pytest.param(AG, "missed_heartbeats_down", True, "missed_heartbeats_down", id="DCF-CHN-004-missed-bool"),
    # Hello.
    pytest.param(HE, "supported_versions", DELETE, "supported_versions", id="DCF-HEL-002-hello-no-versions"),
    pytest.param(
        HE, "supported_versions.min_major", 0, "supported_versions.min_major", id="DCF-HEL-002-hello-major-zero"
    ),
    pytest.param(
        HE, "supported_versions.max_major", 0, "supported_versions.max_major", id="DCF-HEL-002-hello-max-zero"
    ),
    pytest.param(
        HE,
        "supported_versions",
        {"min_major": 3, "max_major": 2},
        "supported_versions.max_major",
        id="DCF-HEL-002-hello-range",
    ),
    pytest.param(HE, "agreement_hash", bytes(31), "agreement_hash", id="DCF-HEL-002-hello-hash-31"),
    pytest.param(HE, "agreement_hash", b"", "agreement_hash", id="DCF-HEL-002-hello-hash-empty"),
    pytest.param(HE, "agreement_version", 0, "agreement_version", id="DCF-HEL-002-hello-agreement-version"),
    pytest.param(HE, "sent_time", None, "sent_time", id="DCF-HEL-002-hello-no-time"),
    pytest.param(HE, "implementation", "x" * 257, "implementation", id="DCF-HEL-002-hello-implementation-long"),
    pytest.param(HE, "party", "", "party", id="DCF-HEL-002-hello-party"),
    # Heartbeat.
    pytest.param(HB, "last_sequence_sent", -1, "last_sequence_sent", id="DCF-HBT-004-heartbeat-sequence-negative"),
    pytest.param(
        HB, "last_sequence_sent", 2**64, "last_sequence_sent", id="DCF-HBT-004-heartbeat-sequence-past-uint64"
    ),
    pytest.param(HB, "sent_time", datetime(2025, 1, 1), "sent_time", id="DCF-HBT-002-heartbeat-naive-time"),
    pytest.param(HB, "channel_id", "x" * 129, "channel_id", id="DCF-LIM-002-heartbeat-channel-long"),
    # Checklist.
    pytest.param(CL, "entries", _repeat(0), "entries[2].notice_id", id="DCF-CHK-003-checklist-notice-repeat"),
    pytest.param(CL, "entries.0.version", 0, "entries[0].version", id="DCF-CHK-003-checklist-version-zero"),
    pytest.param(CL, "entries.0.state", 0, "entries[0].state", id="DCF-CHK-003-checklist-state-unspecified"),
    pytest.param(CL, "entries.1.owner", "", "entries[1].owner", id="DCF-CHK-003-checklist-owner"),
    pytest.param(
        CL, "entries", _entries(limits.MAX_CHECKLIST_ENTRIES + 1), "entries", id="DCF-LIM-019-checklist-too-long"
    ),
    pytest.param(CL, "as_of_time", DELETE, "as_of_time", id="DCF-CHK-003-checklist-no-time"),
    pytest.param(CL, "last_sequence_received", -1, "last_sequence_received", id="DCF-CHK-002-checklist-sequence"),
    # Suspension and resumption.
    pytest.param(SU, "suspension_id", "", "suspension_id", id="DCF-SUS-001-suspension-id"),
    pytest.param(SU, "effective_time", None, "effective_time", id="DCF-SUS-001-suspension-no-time"),
    pytest.param(SU, "reason", "", "reason", id="DCF-SUS-001-suspension-no-reason"),
    pytest.param(SU, "reason", "x" * 257, "reason", id="DCF-SUS-001-suspension-long-reason"),
    pytest.param(RE, "suspension_id", "a b", "suspension_id", id="DCF-SUS-008-resumption-id"),
    pytest.param(RE, "reason", "", "reason", id="DCF-SUS-008-resumption-no-reason"),
    pytest.param(RE, "effective_time", DELETE, "effective_time", id="DCF-SUS-008-resumption-no-time"),
    # Incident reports.
    pytest.param(IN, "incident_id", "", "incident_id", id="DCF-INC-002-incident-id"),
    pytest.param(IN, "occurred_time", None, "occurred_time", id="DCF-INC-002-incident-no-time"),
    pytest.param(IN, "position", None, "position", id="DCF-INC-002-incident-no-position"),
    pytest.param(IN, "position.latitude", 91.0, "position.latitude", id="DCF-GEO-002-incident-latitude"),
    pytest.param(IN, "altitude", DELETE, "altitude", id="DCF-INC-002-incident-no-altitude"),
    pytest.param(IN, "altitude.unit", 2, "altitude.unit", id="DCF-GEO-016-incident-flight-level-in-feet"),
    pytest.param(IN, "aircraft", [], "aircraft", id="DCF-INC-002-incident-no-aircraft"),
    pytest.param(
        IN, "aircraft", _aircraft(limits.MAX_INVOLVED_AIRCRAFT + 1), "aircraft", id="DCF-LIM-020-incident-17-aircraft"
    ),
    pytest.param(IN, "aircraft.0.callsign", "rch471", "aircraft[0].callsign", id="DCF-INC-003-callsign-lower-case"),
    pytest.param(IN, "aircraft.0.callsign", "RCH 471", "aircraft[0].callsign", id="DCF-INC-003-callsign-space"),
    pytest.param(IN, "aircraft.0.callsign", "A" * 17, "aircraft[0].callsign", id="DCF-INC-003-callsign-17"),
    pytest.param(
        IN, "aircraft.0.transponder_code", "7800", "aircraft[0].transponder_code", id="DCF-INC-003-squawk-not-octal"
    ),
    pytest.param(
        IN, "aircraft.0.transponder_code", "770", "aircraft[0].transponder_code", id="DCF-INC-003-squawk-3-digits"
    ),
    pytest.param(
        IN, "aircraft.0.aircraft_category", 0, "aircraft[0].aircraft_category", id="DCF-INC-003-aircraft-category"
    ),
    pytest.param(IN, "aircraft.1.notice_id", "n 2", "aircraft[1].notice_id", id="DCF-INC-003-aircraft-notice-id"),
    pytest.param(IN, "aircraft.1.party", "", "aircraft[1].party", id="DCF-INC-003-aircraft-party"),
    pytest.param(IN, "closest_lateral_m", -0.5, "closest_lateral_m", id="DCF-INC-002-closest-lateral-negative"),
    pytest.param(IN, "closest_vertical_m", math.inf, "closest_vertical_m", id="DCF-INC-002-closest-vertical-inf"),
    pytest.param(IN, "closest_vertical_m", -1.0, "closest_vertical_m", id="DCF-INC-008-closest-vertical-negative"),
    pytest.param(IN, "closest_lateral_m", math.nan, "closest_lateral_m", id="DCF-INC-008-closest-lateral-nan"),
    pytest.param(IN, "closest_lateral_m", "unknown", "closest_lateral_m", id="DCF-INC-008-closest-lateral-as-text"),
    pytest.param(IN, "narrative", "", "narrative", id="DCF-INC-002-incident-no-narrative"),
    pytest.param(IN, "narrative", "x" * 4001, "narrative", id="DCF-LIM-004-incident-narrative-long"),
]


@pytest.mark.parametrize(("valid", "field", "value", "path"), DATA_CASES)
def test_invalid_data_is_refused_at_its_path(
    valid: tuple[type[Message], dict[str, Any]], field: str, value: Any, path: str
) -> None:
    model, data = valid
    assert refusal_paths(model, changed(data, field, value)) == [path]


def _edit(path: str, value: Any) -> Callable[[Any], Any]:
    """Sets (or with DELETE, clears) the protobuf field at dotted `path`."""

    def edit(message: Any) -> Any:
        *parents, last = path.split(".")
        node = message
        for part in parents:
            node = node[int(part)] if part.isdigit() else getattr(node, part)
        if value is DELETE:
            node.ClearField(last)
        elif last.isdigit():
            node[int(last)] = value
        else:
            setattr(node, last, value)
        return message

    return edit


PROTO_OF: dict[type[Message], tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]], Callable[[], Message]]] = {
    Agreement: (bridge.agreement_to_proto, bridge.agreement_data, example_agreement),
    Hello: (bridge.hello_to_proto, bridge.hello_data, example_hello),
    Heartbeat: (bridge.heartbeat_to_proto, bridge.heartbeat_data, example_heartbeat),
    Checklist: (bridge.checklist_to_proto, bridge.checklist_data, example_checklist),
    Suspension: (bridge.suspension_to_proto, bridge.suspension_data, example_suspension),
    Resumption: (bridge.resumption_to_proto, bridge.resumption_data, example_resumption),
    IncidentReport: (bridge.incident_report_to_proto, bridge.incident_report_data, example_incident),
}

# (message, edit of its valid protobuf form, exact path of the refusal)
PROTO_CASES = [
    pytest.param(Agreement, _edit("parties.1", US), "parties[1]", id="DCF-CHN-004-pb-same-party-twice"),
    pytest.param(
        Agreement, _edit("clock_skew_tolerance.seconds", 3601), "clock_skew_tolerance", id="DCF-LIM-016-pb-skew-1h1s"
    ),
    pytest.param(
        Agreement, _edit("missed_heartbeats_down", 0), "missed_heartbeats_down", id="DCF-CHN-004-pb-missed-unset"
    ),
    pytest.param(Agreement, _edit("separation", DELETE), "separation", id="DCF-CHN-004-pb-separation-unset"),
    pytest.param(
        Agreement, _edit("separation.time", DELETE), "separation.time", id="DCF-CHN-004-pb-separation-time-unset"
    ),
    pytest.param(
        Agreement, _edit("separation.lateral_m", math.nan), "separation.lateral_m", id="DCF-CHN-004-pb-lateral-nan"
    ),
    pytest.param(Agreement, _edit("frequencies.0.khz", 121), "frequencies[0].khz", id="DCF-LIM-018-pb-khz-in-mhz"),
    pytest.param(
        Agreement, _edit("response_timers.0.kind", 42), "response_timers[0].kind", id="DCF-CMP-003-pb-timer-kind-42"
    ),
    pytest.param(
        Agreement,
        _edit("response_timers.1.response_time", DELETE),
        "response_timers[1].response_time",
        id="DCF-CHN-005-pb-timer",
    ),
    pytest.param(
        Agreement, _edit("keys.1.valid_until.seconds", 0), "keys[1].valid_until", id="DCF-CHN-011-pb-key-ends-1970"
    ),
    pytest.param(
        Agreement, _edit("contacts.1.party", "party-c"), "contacts[1].party", id="DCF-CHN-009-pb-contact-outsider"
    ),
    pytest.param(
        Agreement, _edit("heartbeat_interval", DELETE), "heartbeat_interval", id="DCF-CHN-004-pb-heartbeat-unset"
    ),
    pytest.param(
        Agreement, _edit("minimum_lead_time.seconds", -1), "minimum_lead_time", id="DCF-CHN-004-pb-lead-time-negative"
    ),
    pytest.param(
        Hello, _edit("supported_versions", DELETE), "supported_versions", id="DCF-HEL-002-pb-hello-no-versions"
    ),
    pytest.param(Hello, _edit("agreement_hash", b""), "agreement_hash", id="DCF-HEL-002-pb-hello-hash-unset"),
    pytest.param(
        Hello, _edit("supported_versions.max_major", 0), "supported_versions.max_major", id="DCF-HEL-002-pb-hello-max"
    ),
    pytest.param(Heartbeat, _edit("sent_time.nanos", 500), "sent_time", id="DCF-HBT-002-pb-heartbeat-nanoseconds"),
    pytest.param(Heartbeat, _edit("party", ""), "party", id="DCF-HBT-002-pb-heartbeat-party-unset"),
    pytest.param(Checklist, _edit("entries.0.state", 9), "entries[0].state", id="DCF-CMP-003-pb-checklist-state-9"),
    pytest.param(
        Checklist, _edit("entries.1.notice_id", "n-1"), "entries[1].notice_id", id="DCF-CHK-003-pb-checklist-repeat"
    ),
    pytest.param(Suspension, _edit("effective_time", DELETE), "effective_time", id="DCF-SUS-001-pb-suspension-no-time"),
    pytest.param(Resumption, _edit("reason", ""), "reason", id="DCF-SUS-008-pb-resumption-no-reason"),
    pytest.param(
        IncidentReport, _edit("position.latitude", math.nan), "position.latitude", id="DCF-GEO-002-pb-incident-lat-nan"
    ),
    pytest.param(
        IncidentReport, _edit("altitude.reference", 0), "altitude.reference", id="DCF-CMP-004-pb-incident-alt-ref"
    ),
    pytest.param(
        IncidentReport, _edit("closest_lateral_m", -math.inf), "closest_lateral_m", id="DCF-INC-002-pb-incident-inf"
    ),
    pytest.param(
        IncidentReport,
        _edit("aircraft.0.transponder_code", "77001"),
        "aircraft[0].transponder_code",
        id="DCF-INC-003-pb-incident-squawk-5",
    ),
    pytest.param(IncidentReport, _edit("narrative", ""), "narrative", id="DCF-INC-002-pb-incident-no-narrative"),
    pytest.param(
        IncidentReport, _edit("closest_vertical_m", -30.0), "closest_vertical_m", id="DCF-INC-008-pb-vertical-negative"
    ),
    pytest.param(
        IncidentReport, _edit("closest_lateral_m", math.nan), "closest_lateral_m", id="DCF-INC-008-pb-lateral-nan"
    ),
]


@pytest.mark.parametrize(("model", "edit", "path"), PROTO_CASES)
def test_invalid_protobuf_is_refused_at_its_path(model: type[Message], edit: Callable[[Any], Any], path: str) -> None:
    to_proto, read, example = PROTO_OF[model]
    message = edit(to_proto(example()))
    received = type(message).FromString(message.SerializeToString())
    assert refusal_paths(model, read(received)) == [path]


# Valid messages, boundaries and helpers.


@pytest.mark.parametrize(
    "example",
    [
        example_agreement,
        example_hello,
        example_heartbeat,
        example_checklist,
        example_suspension,
        example_resumption,
        example_incident,
        example_incident_unknown_approach,
    ],
)
def test_examples_are_valid_and_come_back_from_json(example: Callable[[], Message]) -> None:
    model = example()
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_guard_frequencies_and_band_edges_are_accepted() -> None:
    """DCF-LIM-018, DCF-CHN-008: 2 MHz to 400 MHz, both included, with the guard frequencies inside."""
    for khz in (121_500, 243_000, limits.MIN_FREQUENCY_KHZ, limits.MAX_FREQUENCY_KHZ):
        agreement = Agreement.model_validate(changed(AG[1], "frequencies.0.khz", khz))
        assert agreement.frequencies[0].khz == khz


def test_agreement_boundaries_are_accepted() -> None:
    """DCF-CHN-004, DCF-LIM-016, DCF-LIM-017, DCF-LIM-001: every value at the bounds is accepted."""
    data = changed(AG[1], "clock_skew_tolerance", timedelta(hours=1))
    data = changed(data, "missed_heartbeats_down", limits.MAX_MISSED_HEARTBEATS)
    data = changed(data, "minimum_lead_time", timedelta(0))
    data = changed(data, "separation", {"lateral_m": 0.0, "vertical_m": 0.0, "time": timedelta(0)})
    assert Agreement.model_validate(data).clock_skew_tolerance == timedelta(hours=1)


def test_response_time_of_a_message_kind() -> None:
    """DCF-TMR-001, DCF-TMR-003: the timer of the message's kind, or none when the agreement sets none."""
    agreement = example_agreement()
    assert agreement.response_time(MessageKind.NOTICE) == timedelta(minutes=15)
    assert agreement.response_time(MessageKind.CONFERENCE_PROPOSAL) == timedelta(days=2)
    assert agreement.response_time(MessageKind.INCIDENT_REPORT) is None


def test_peer_of_a_party() -> None:
    agreement = example_agreement()
    assert agreement.peer_of("party-a") == "party-b"
    assert agreement.peer_of("party-b") == "party-a"
    with pytest.raises(ValueError, match="party-c"):
        agreement.peer_of("party-c")


def test_version_ranges_overlap_at_their_highest_common_major() -> None:
    """DCF-HEL-005, DCF-HEL-007: the selected major is the highest in both ranges; none when they do not overlap."""
    assert VersionRange(min_major=1, max_major=3).overlap(VersionRange(min_major=2, max_major=5)) == 3
    assert VersionRange(min_major=1, max_major=1).overlap(VersionRange(min_major=1, max_major=1)) == 1
    assert VersionRange(min_major=1, max_major=1).overlap(VersionRange(min_major=2, max_major=2)) is None


def test_agreement_hash_is_sha256_of_the_stored_bytes() -> None:
    """DCF-CHN-001, DCF-CHN-003: the hash is SHA-256 of the bytes held; a new version is a new hash."""
    stored = bridge.agreement_bytes(example_agreement())
    assert bridge.agreement_hash(stored) == example_hello().agreement_hash
    parsed = Agreement.model_validate(bridge.agreement_data(pb.Agreement.FromString(stored)))
    assert parsed == example_agreement()
    changed_agreement = example_agreement().model_copy(update={"version": 4})
    assert bridge.agreement_hash(bridge.agreement_bytes(changed_agreement)) != example_hello().agreement_hash


def test_unidentified_aircraft_may_have_no_callsign_nor_code() -> None:
    """DCF-INC-003: the callsign and transponder code of an involved aircraft may be empty."""
    report = IncidentReport.model_validate(example_incident().model_dump())
    assert report.aircraft[1].callsign == ""
    assert report.aircraft[1].transponder_code == ""


def test_a_full_checklist_is_accepted() -> None:
    """DCF-LIM-019, DCF-LIM-001: a checklist of exactly the maximum number of entries is accepted."""
    data = changed(CL[1], "entries", _entries(limits.MAX_CHECKLIST_ENTRIES))
    assert len(Checklist.model_validate(data).entries) == limits.MAX_CHECKLIST_ENTRIES


def test_refusals_say_what_is_wrong() -> None:
    """DCF-ERR-002, DCF-ERR-003: each refusal names the field by its protobuf path and says what is wrong."""
    with pytest.raises(ValidationError) as refused:
        Agreement.model_validate(changed(AG[1], "contacts.0.party", "party-c"))
    assert field_violations(refused.value, "agreement") == [
        ("agreement.contacts[0].party", "must be one of the agreement's parties")
    ]
    with pytest.raises(ValidationError) as refused:
        IncidentReport.model_validate(changed(IN[1], "aircraft.0.transponder_code", "7800"))
    assert field_violations(refused.value) == [
        ("aircraft[0].transponder_code", "an SSR Mode A code is empty or exactly 4 octal digits (0-7)")
    ]
    with pytest.raises(ValidationError) as refused:
        Agreement.model_validate(changed(AG[1], "response_timers", _repeat(1)))
    assert field_violations(refused.value) == [("response_timers[2].kind", "repeats the kind of response_timers[1]")]


def test_unknown_closest_approach_is_unset_not_zero() -> None:
    """DCF-INC-008: an unknown distance is None in the model and unset on the wire, never 0."""
    report = example_incident_unknown_approach()
    assert (report.closest_lateral_m, report.closest_vertical_m) == (None, None)
    message = bridge.incident_report_to_proto(report)
    assert not message.HasField("closest_lateral_m")
    assert not message.HasField("closest_vertical_m")
    received = pb.IncidentReport.FromString(message.SerializeToString())
    assert IncidentReport.model_validate(bridge.incident_report_data(received)) == report
    # Left out of plain data, they are unknown too.
    data = {key: value for key, value in IN[1].items() if not key.startswith("closest_")}
    assert IncidentReport.model_validate(data).closest_lateral_m is None


def test_a_measured_zero_is_kept_apart_from_unknown() -> None:
    """DCF-INC-008: 0 is a distance observed (the aircraft met on that axis), sent as a set field."""
    report = example_incident().model_copy(update={"closest_vertical_m": 0.0, "closest_lateral_m": None})
    message = bridge.incident_report_to_proto(report)
    assert message.HasField("closest_vertical_m")
    assert not message.HasField("closest_lateral_m")
    back = IncidentReport.model_validate(
        bridge.incident_report_data(pb.IncidentReport.FromString(message.SerializeToString()))
    )
    assert (back.closest_lateral_m, back.closest_vertical_m) == (None, 0.0)


def test_an_unknown_approach_from_protobuf_reads_as_none() -> None:
    """DCF-INC-008: a peer that leaves the fields unset says it does not know the distance."""
    message = bridge.incident_report_to_proto(example_incident())
    message.ClearField("closest_lateral_m")
    received = pb.IncidentReport.FromString(message.SerializeToString())
    report = IncidentReport.model_validate(bridge.incident_report_data(received))
    assert (report.closest_lateral_m, report.closest_vertical_m) == (None, 30.0)
