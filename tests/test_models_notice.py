"""Flight notice models: each rule accepts a valid message and refuses a broken one at the exact field path.

Inputs arrive two ways: as plain data (a dict, as from JSON) and as protobuf bytes
read through the bridge, the way a peer's message arrives. The geometry rules are
checked here inside a notice, so the paths are the ones a peer is told.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import notice as bridge
from deconflict.models import geometry
from deconflict.models.base import field_violations
from deconflict.models.geometry import Polygon
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeAmendment,
    NoticeCancellation,
    NoticeCategory,
    NoticeState,
)
from deconflict.v1 import notice_pb2 as pb
from tests.strategies.mutations import DELETE, changed, refusal_paths
from tests.strategies.notice import HOUR, T0, example_amendment, example_cancellation, example_notice

NOTICE = example_notice().model_dump()
AMENDMENT = example_amendment().model_dump()
CANCELLATION = example_cancellation().model_dump()

N = (FlightNotice, NOTICE)
A = (NoticeAmendment, AMENDMENT)
C = (NoticeCancellation, CANCELLATION)

POLYGON = "volumes.0.volume.polygon"
CIRCLE = "volumes.1.volume.circle"
VOLUME = "volumes.0.volume"
# The same fields as a refusal names them.
POLYGON_AT = "volumes[0].volume.polygon"
CIRCLE_AT = "volumes[1].volume.circle"
VOLUME_AT = "volumes[0].volume"


def _vertices(*corners: tuple[float, float]) -> list[dict[str, float]]:
    return [{"latitude": lat, "longitude": lng} for lat, lng in corners]


def _repeat(index: int) -> Callable[[list[Any]], list[Any]]:
    """Appends a copy of element `index` to a list."""
    return lambda items: [*items, items[index]]


def _altitude(value: float, reference: str, unit: str) -> dict[str, Any]:
    return {"value": value, "reference": reference, "unit": unit}


# (message, valid data, field to change, bad value, exact path of the refusal)
DATA_CASES = [
    # Identity and version.
    pytest.param(N, "notice_id", "", "notice_id", id="DCF-LIM-002-notice-id-empty"),
    pytest.param(N, "notice_id", "two words", "notice_id", id="DCF-LIM-002-notice-id-space"),
    pytest.param(N, "notice_id", "n" * (limits.MAX_IDENTIFIER + 1), "notice_id", id="DCF-LIM-002-notice-id-too-long"),
    pytest.param(N, "notice_id", DELETE, "notice_id", id="DCF-NTC-001-notice-id-missing"),
    pytest.param(N, "version", 0, "version", id="DCF-NTC-034-version-0"),
    pytest.param(N, "version", -1, "version", id="DCF-NTC-034-version-negative"),
    pytest.param(N, "version", 2**32, "version", id="DCF-NTC-034-version-past-uint32"),
    pytest.param(N, "version", "1", "version", id="DCF-NTC-034-version-as-text"),
    pytest.param(N, "owner", "", "owner", id="DCF-LIM-002-owner-empty"),
    # Enums: UNSPECIFIED and unknown numbers or names are refused.
    pytest.param(N, "state", 0, "state", id="DCF-CMP-004-state-unspecified"),
    pytest.param(N, "state", 99, "state", id="DCF-CMP-003-state-unknown-number"),
    pytest.param(N, "state", "PAUSED", "state", id="DCF-CMP-003-state-unknown-name"),
    pytest.param(N, "aircraft_category", 0, "aircraft_category", id="DCF-NTC-004-aircraft-category-unspecified"),
    pytest.param(N, "category", 7, "category", id="DCF-NTC-004-category-unknown"),
    # Volumes: one to MAX_VOLUMES.
    pytest.param(N, "volumes", [], "volumes", id="DCF-NTC-003-volumes-none"),
    pytest.param(
        N, "volumes", lambda v: v * (limits.MAX_VOLUMES // 2 + 1), "volumes", id="DCF-LIM-007-volumes-too-many"
    ),
    # Aircraft.
    pytest.param(N, "aircraft_count", 0, "aircraft_count", id="DCF-NTC-005-aircraft-count-0"),
    pytest.param(
        N, "aircraft_count", limits.MAX_AIRCRAFT_COUNT + 1, "aircraft_count", id="DCF-LIM-014-aircraft-count-big"
    ),
    pytest.param(N, "callsigns", [f"C{i}" for i in range(17)], "callsigns", id="DCF-LIM-021-callsigns-too-many"),
    pytest.param(N, "callsigns.0", "rch471", "callsigns[0]", id="DCF-NTC-006-callsign-lower-case"),
    pytest.param(N, "callsigns.1", "", "callsigns[1]", id="DCF-NTC-006-callsign-empty"),
    pytest.param(N, "callsigns.0", "A" * 17, "callsigns[0]", id="DCF-NTC-006-callsign-too-long"),
    pytest.param(N, "callsigns.0", "RCH-471", "callsigns[0]", id="DCF-NTC-006-callsign-dash"),
    pytest.param(N, "callsigns", _repeat(0), "callsigns[2]", id="DCF-NTC-008-callsign-repeated"),
    pytest.param(N, "transponder_codes.0", "7780", "transponder_codes[0]", id="DCF-NTC-006-squawk-not-octal"),
    pytest.param(N, "transponder_codes.1", "123", "transponder_codes[1]", id="DCF-NTC-006-squawk-3-digits"),
    pytest.param(N, "transponder_codes.0", "12345", "transponder_codes[0]", id="DCF-NTC-006-squawk-5-digits"),
    pytest.param(N, "transponder_codes", _repeat(1), "transponder_codes[2]", id="DCF-NTC-008-squawk-repeated"),
    pytest.param(
        N, "transponder_codes", [f"{i:04o}" for i in range(17)], "transponder_codes", id="DCF-LIM-021-squawks-many"
    ),
    # Frequencies and contact: references into the agreement.
    pytest.param(N, "frequency_ids", _repeat(0), "frequency_ids[2]", id="DCF-NTC-008-frequency-repeated"),
    pytest.param(N, "frequency_ids.1", "", "frequency_ids[1]", id="DCF-NTC-007-frequency-id-empty"),
    pytest.param(
        N, "frequency_ids", [f"f{i}" for i in range(17)], "frequency_ids", id="DCF-LIM-021-frequencies-too-many"
    ),
    pytest.param(N, "contact_id", "duty officer", "contact_id", id="DCF-NTC-007-contact-id-space"),
    pytest.param(N, "remarks", "r" * (limits.MAX_TEXT + 1), "remarks", id="DCF-LIM-004-remarks-too-long"),
    # Points.
    pytest.param(N, f"{CIRCLE}.center.latitude", 91.0, f"{CIRCLE_AT}.center.latitude", id="DCF-GEO-002-latitude-91"),
    pytest.param(
        N, f"{CIRCLE}.center.latitude", -90.5, f"{CIRCLE_AT}.center.latitude", id="DCF-GEO-002-latitude-minus-90.5"
    ),
    pytest.param(
        N, f"{CIRCLE}.center.latitude", math.nan, f"{CIRCLE_AT}.center.latitude", id="DCF-GEO-001-latitude-nan"
    ),
    pytest.param(
        N, f"{CIRCLE}.center.longitude", 181.0, f"{CIRCLE_AT}.center.longitude", id="DCF-GEO-003-longitude-181"
    ),
    pytest.param(
        N, f"{CIRCLE}.center.longitude", math.inf, f"{CIRCLE_AT}.center.longitude", id="DCF-GEO-001-longitude-inf"
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices.2.longitude",
        -math.inf,
        f"{POLYGON_AT}.vertices[2].longitude",
        id="DCF-GEO-001-vertex-inf",
    ),
    # Polygons: simple, with an area, not across the antimeridian, bounded.
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((45, 10), (46, 11)),
        f"{POLYGON_AT}.vertices",
        id="DCF-GEO-005-polygon-2-vertices",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((45, 10), (45, 11), (45, 11), (45, 10)),
        f"{POLYGON_AT}.vertices",
        id="DCF-GEO-005-polygon-2-distinct",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((45, 10), (46, 11), (45, 11), (46, 10)),
        f"{POLYGON_AT}.vertices",
        id="DCF-GEO-010-polygon-bowtie",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((45, 10), (45.5, 10.5), (46, 11)),
        f"{POLYGON_AT}.vertices",
        id="DCF-GEO-009-polygon-collinear",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        # On one line in decimal, not quite in binary floating point.
        _vertices((35.40, 35.90), (35.30, 36.30), (35.20, 36.70)),
        f"{POLYGON_AT}.vertices",
        id="DCF-GEO-009-polygon-collinear-decimal",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((10, 179), (10, -180), (11, 179)),
        f"{POLYGON_AT}.vertices[1]",
        id="DCF-GEO-007-polygon-antimeridian-written-west",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices((10, 179.5), (10, -179.5), (11, -179.5), (11, 179.5)),
        f"{POLYGON_AT}.vertices[1]",
        id="DCF-GEO-007-polygon-across-antimeridian",
    ),
    pytest.param(
        N,
        f"{POLYGON}.vertices",
        _vertices(*((45 + 0.001 * i, 10 + (i % 2) * 0.001 * i) for i in range(limits.MAX_VERTICES + 1))),
        f"{POLYGON_AT}.vertices",
        id="DCF-LIM-008-polygon-too-many-vertices",
    ),
    # Circles: a positive, bounded radius, clear of the poles and the antimeridian.
    pytest.param(N, f"{CIRCLE}.radius_m", 0.0, f"{CIRCLE_AT}.radius_m", id="DCF-GEO-012-radius-0"),
    pytest.param(N, f"{CIRCLE}.radius_m", -5.0, f"{CIRCLE_AT}.radius_m", id="DCF-GEO-012-radius-negative"),
    pytest.param(
        N, f"{CIRCLE}.radius_m", limits.MAX_RADIUS_M + 1, f"{CIRCLE_AT}.radius_m", id="DCF-LIM-009-radius-too-big"
    ),
    pytest.param(N, f"{CIRCLE}.radius_m", math.nan, f"{CIRCLE_AT}.radius_m", id="DCF-GEO-012-radius-nan"),
    pytest.param(
        N,
        f"{CIRCLE}.center",
        {"latitude": 89.9, "longitude": 0.0},
        f"{CIRCLE_AT}.radius_m",
        id="DCF-GEO-013-circle-at-pole",
    ),
    pytest.param(
        N,
        f"{CIRCLE}.center",
        {"latitude": 0.0, "longitude": 179.9},
        f"{CIRCLE_AT}.radius_m",
        id="DCF-GEO-014-circle-across-antimeridian",
    ),
    # Outline: exactly one of polygon and circle.
    pytest.param(
        N,
        f"{VOLUME}.circle",
        NOTICE["volumes"][1]["volume"]["circle"],
        f"{VOLUME_AT}.outline",
        id="DCF-GEO-019-two-shapes",
    ),
    pytest.param(N, f"{VOLUME}.polygon", DELETE, f"{VOLUME_AT}.outline", id="DCF-GEO-019-no-shape"),
    # Altitudes: ordered, one reference, flight levels only with STD, within bounds.
    pytest.param(
        N,
        f"{VOLUME}.altitude_lower",
        _altitude(250, "STD", "FLIGHT_LEVEL"),
        f"{VOLUME_AT}.altitude_upper",
        id="DCF-GEO-021-lower-above-upper",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_lower",
        _altitude(200, "STD", "FLIGHT_LEVEL"),
        f"{VOLUME_AT}.altitude_upper",
        id="DCF-GEO-021-altitudes-equal",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_upper",
        _altitude(20000, "W84", "METRES"),
        f"{VOLUME_AT}.altitude_upper.reference",
        id="DCF-GEO-020-altitudes-different-references",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_lower",
        _altitude(100, "MSL", "FLIGHT_LEVEL"),
        f"{VOLUME_AT}.altitude_lower.unit",
        id="DCF-GEO-016-flight-level-with-msl",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_upper",
        _altitude(200_000, "STD", "METRES"),
        f"{VOLUME_AT}.altitude_upper.unit",
        id="DCF-GEO-016-metres-with-std",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_upper.value",
        4000,
        f"{VOLUME_AT}.altitude_upper.value",
        id="DCF-LIM-010-altitude-too-high",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_upper.value",
        math.nan,
        f"{VOLUME_AT}.altitude_upper.value",
        id="DCF-GEO-015-altitude-nan",
    ),
    pytest.param(
        N,
        f"{VOLUME}.altitude_lower.reference",
        9,
        f"{VOLUME_AT}.altitude_lower.reference",
        id="DCF-GEO-015-reference-9",
    ),
    pytest.param(N, f"{VOLUME}.altitude_lower", None, f"{VOLUME_AT}.altitude_lower", id="DCF-GEO-020-altitude-unset"),
    # Times: end after start, time-zone aware, bounded length.
    pytest.param(N, "volumes.0.time_end", T0 - HOUR, "volumes[0].time_end", id="DCF-GEO-022-end-before-start"),
    pytest.param(N, "volumes.0.time_end", T0, "volumes[0].time_end", id="DCF-GEO-022-end-equals-start"),
    pytest.param(
        N,
        "volumes.0.time_end",
        T0 + limits.MAX_DURATION + HOUR,
        "volumes[0].time_end",
        id="DCF-LIM-024-volume-too-long",
    ),
    pytest.param(
        N, "volumes.0.time_start", datetime(2025, 10, 1, 9), "volumes[0].time_start", id="DCF-GEN-008-naive-time"
    ),
    pytest.param(N, "volumes.1.time_start", None, "volumes[1].time_start", id="DCF-GEO-022-start-unset"),
    pytest.param(N, "volumes.1.volume", None, "volumes[1].volume", id="DCF-GEO-022-volume-unset"),
    # Plain data names only fields of the schema: there is no field for anything but safety data (DCF-GEN-010).
    pytest.param(
        N, "volumes.0.volume.polygon.target", "x", f"{POLYGON_AT}.target", id="DCF-CMP-012-unknown-nested-field"
    ),
    pytest.param(N, "mission", "strike", "mission", id="DCF-CMP-012-unknown-field"),
    # Amendment: compare-and-swap on the version, and the new content is ACTIVE.
    pytest.param(A, "replaces_version", 0, "replaces_version", id="DCF-NTC-034-amend-replaces-0"),
    pytest.param(A, "replaces_version", 2**32, "replaces_version", id="DCF-NTC-034-amend-replaces-past-uint32"),
    pytest.param(A, "replaces_version", 2, "notice.version", id="DCF-NTC-018-amend-version-not-next"),
    pytest.param(A, "notice.version", 1, "notice.version", id="DCF-NTC-018-amend-same-version"),
    pytest.param(A, "notice.state", NoticeState.CANCELLED, "notice.state", id="DCF-NTC-018-amend-to-cancelled"),
    pytest.param(A, "notice.state", NoticeState.EXPIRED, "notice.state", id="DCF-NTC-018-amend-to-expired"),
    pytest.param(A, "notice", None, "notice", id="DCF-NTC-018-amend-without-notice"),
    pytest.param(A, "notice.callsigns.0", "x", "notice.callsigns[0]", id="DCF-ENV-030-amend-nested-error"),
    # Cancellation.
    pytest.param(C, "notice_id", "", "notice_id", id="DCF-LIM-002-cancel-notice-id-empty"),
    pytest.param(C, "version", 0, "version", id="DCF-NTC-034-cancel-version-0"),
    pytest.param(C, "version", DELETE, "version", id="DCF-NTC-034-cancel-version-missing"),
    pytest.param(C, "reason", "r" * (limits.MAX_SHORT_TEXT + 1), "reason", id="DCF-LIM-003-cancel-reason-too-long"),
]


@pytest.mark.parametrize(("message", "field", "value", "path"), DATA_CASES)
def test_refused_at_path(message: tuple[type[Any], dict[str, Any]], field: str, value: Any, path: str) -> None:
    """DCF-ERR-003: each broken input is refused naming exactly the field at fault, by its path."""
    model, data = message
    assert refusal_paths(model, changed(data, field, value)) == [path]


def test_valid_examples_are_accepted() -> None:
    """DCF-NTC-001 to DCF-NTC-009, DCF-NTC-018: a valid notice, amendment and cancellation pass."""
    notice = FlightNotice.model_validate(NOTICE)
    assert notice.state == NoticeState.ACTIVE
    assert NoticeAmendment.model_validate(AMENDMENT).notice.version == 2
    assert NoticeCancellation.model_validate(CANCELLATION).reason == "Mission complete"


def test_thin_corridor_is_not_taken_for_a_line() -> None:
    """DCF-GEO-009: a corridor about 1 m wide and 100 km long has an area, so it is a polygon."""
    corridor = Polygon.model_validate({"vertices": _vertices((35.0, 36.0), (35.00001, 36.5), (35.0, 37.0))})
    assert len(corridor.vertices) == 3


# Few distinct coordinates, some a hair apart: repeated, collinear, crossing and nearly flat rings are common.
_GRID = st.tuples(st.integers(min_value=-3, max_value=3), st.sampled_from([0.0, 0.0, 1e-12, -1e-9, 1e-7]))
_COORDINATE = _GRID.map(lambda step: 36.0 + 0.25 * step[0] + step[1])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_COORDINATE, _COORDINATE), min_size=3, max_size=9))
def test_quick_polygon_test_passes_only_what_every_check_passes(ring: list[tuple[float, float]]) -> None:
    """DCF-GEO-005, DCF-GEO-007, DCF-GEO-009, DCF-GEO-010: the cheap test that lets a plain polygon through
    passes no ring that the checks, taken in order, would refuse."""
    coordinates = tuple(value for point in ring for value in point)
    shape = geometry._lonlat_polygon(coordinates)
    if shape is not None and geometry._plainly_valid(shape):
        geometry._refuse_bad_ring(coordinates, shape)


def test_coordinates_follow_the_vertices() -> None:
    """The coordinates the conflict check reads are the vertices', however the polygon was made."""
    polygon = Polygon.model_validate({"vertices": _vertices((35.0, 36.0), (35.1, 36.5), (35.3, 36.2))})
    assert polygon.coordinates == (36.0, 35.0, 36.5, 35.1, 36.2, 35.3)
    turned = polygon.model_copy(update={"vertices": polygon.vertices[::-1]})
    assert turned.coordinates == (36.2, 35.3, 36.5, 35.1, 36.0, 35.0)
    assert pickle.loads(pickle.dumps(polygon)).coordinates == polygon.coordinates
    assert Polygon.model_construct(vertices=polygon.vertices) == polygon


def test_optional_fields_may_be_left_out() -> None:
    """DCF-NTC-006, DCF-NTC-007: callsigns, codes, frequencies and contact are optional."""
    minimal = {
        key: NOTICE[key]
        for key in ("notice_id", "version", "state", "owner", "volumes", "aircraft_category", "aircraft_count")
    }
    notice = FlightNotice.model_validate({**minimal, "category": "EMERGENCY"})
    assert notice.callsigns == []
    assert notice.contact_id == ""
    assert notice.category == NoticeCategory.EMERGENCY


def test_enum_accepts_member_number_and_both_names() -> None:
    """DCF-NTC-004, DCF-CMP-013: a known category is accepted in every spelling plain data may use."""
    for value in (AircraftCategory.UNMANNED, 3, "UNMANNED", "AIRCRAFT_CATEGORY_UNMANNED"):
        assert FlightNotice.model_validate({**NOTICE, "aircraft_category": value}).aircraft_category == 3


def test_refusal_says_what_is_wrong() -> None:
    """DCF-ERR-002, DCF-NTC-008: the description says which element is repeated."""
    with pytest.raises(ValidationError) as caught:
        FlightNotice.model_validate(changed(NOTICE, "callsigns", _repeat(1)))
    assert field_violations(caught.value) == [("callsigns[2]", "repeats the callsign of callsigns[1]")]


def test_first_start_and_last_end_span_every_volume() -> None:
    """DCF-GEO-023, DCF-NTC-015: the notice spans the union of its volumes."""
    notice = example_notice()
    assert notice.first_start == T0
    assert notice.last_end == T0 + 3 * HOUR


def test_json_round_trip() -> None:
    notice = example_notice()
    assert FlightNotice.model_validate_json(notice.model_dump_json()) == notice


# Inputs as a peer sends them: a valid protobuf message broken in one place, serialized and read back.


def _notice_pb() -> pb.FlightNotice:
    return bridge.flight_notice_to_proto(example_notice())


def _amendment_pb() -> pb.NoticeAmendment:
    return bridge.notice_amendment_to_proto(example_amendment())


def _cancellation_pb() -> pb.NoticeCancellation:
    return bridge.notice_cancellation_to_proto(example_cancellation())


def _version_unset(message: pb.FlightNotice | pb.NoticeCancellation) -> None:
    message.version = 0


def _replaces_unset(message: pb.NoticeAmendment) -> None:
    message.replaces_version = 0


def _set_latitude(message: pb.FlightNotice) -> None:
    message.volumes[1].volume.circle.center.latitude = 95.0


def _set_nan_longitude(message: pb.FlightNotice) -> None:
    message.volumes[0].volume.polygon.vertices[3].longitude = math.nan


def _set_state_99(message: pb.FlightNotice) -> None:
    message.state = 99


def _set_nanos(message: pb.FlightNotice) -> None:
    message.volumes[0].time_start.nanos = 5


def _set_year_10000(message: pb.FlightNotice) -> None:
    message.volumes[1].time_end.seconds = 253402300800


def _clear_volume(message: pb.FlightNotice) -> None:
    message.volumes[0].ClearField("volume")


def _clear_time_end(message: pb.FlightNotice) -> None:
    message.volumes[1].ClearField("time_end")


def _clear_outline(message: pb.FlightNotice) -> None:
    message.volumes[1].volume.ClearField("circle")


def _clear_upper(message: pb.FlightNotice) -> None:
    message.volumes[0].volume.ClearField("altitude_upper")


def _unit_unspecified(message: pb.FlightNotice) -> None:
    message.volumes[1].volume.altitude_lower.unit = 0


def _two_vertices(message: pb.FlightNotice) -> None:
    del message.volumes[0].volume.polygon.vertices[2:]


def _callsign_with_space(message: pb.FlightNotice) -> None:
    message.callsigns.append("RCH 9")


def _count_0(message: pb.FlightNotice) -> None:
    message.aircraft_count = 0


def _amend_clear_notice(message: pb.NoticeAmendment) -> None:
    message.ClearField("notice")


def _amend_wrong_version(message: pb.NoticeAmendment) -> None:
    message.notice.version = 7


PROTO_CASES = [
    pytest.param(
        _notice_pb, _set_latitude, "volumes[1].volume.circle.center.latitude", id="DCF-GEO-002-pb-latitude-95"
    ),
    pytest.param(
        _notice_pb, _set_nan_longitude, "volumes[0].volume.polygon.vertices[3].longitude", id="DCF-GEO-001-pb-nan"
    ),
    pytest.param(_notice_pb, _set_state_99, "state", id="DCF-CMP-003-pb-enum-99"),
    pytest.param(_notice_pb, _set_nanos, "volumes[0].time_start", id="DCF-GEO-024-pb-nanos-5"),
    pytest.param(_notice_pb, _set_year_10000, "volumes[1].time_end", id="DCF-GEO-024-pb-year-10000"),
    pytest.param(_notice_pb, _clear_volume, "volumes[0].volume", id="DCF-GEO-022-pb-volume-unset"),
    pytest.param(_notice_pb, _clear_time_end, "volumes[1].time_end", id="DCF-GEO-022-pb-time-end-unset"),
    pytest.param(_notice_pb, _clear_outline, "volumes[1].volume.outline", id="DCF-GEO-019-pb-outline-unset"),
    pytest.param(_notice_pb, _clear_upper, "volumes[0].volume.altitude_upper", id="DCF-GEO-020-pb-upper-unset"),
    pytest.param(_notice_pb, _unit_unspecified, "volumes[1].volume.altitude_lower.unit", id="DCF-GEO-015-pb-unit-0"),
    pytest.param(_notice_pb, _two_vertices, "volumes[0].volume.polygon.vertices", id="DCF-GEO-005-pb-2-vertices"),
    pytest.param(_notice_pb, _callsign_with_space, "callsigns[2]", id="DCF-NTC-006-pb-callsign-space"),
    pytest.param(_notice_pb, _count_0, "aircraft_count", id="DCF-NTC-005-pb-count-0"),
    pytest.param(_amendment_pb, _amend_clear_notice, "notice", id="DCF-NTC-018-pb-amend-notice-unset"),
    pytest.param(_amendment_pb, _amend_wrong_version, "notice.version", id="DCF-NTC-018-pb-amend-version"),
    pytest.param(_notice_pb, _version_unset, "version", id="DCF-NTC-034-pb-notice-version-unset"),
    pytest.param(_amendment_pb, _replaces_unset, "replaces_version", id="DCF-NTC-034-pb-replaces-unset"),
    pytest.param(_cancellation_pb, _version_unset, "version", id="DCF-NTC-034-pb-cancel-version-unset"),
]

_READERS: dict[type[ProtoMessage], tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    pb.FlightNotice: (FlightNotice, bridge.flight_notice_data),
    pb.NoticeAmendment: (NoticeAmendment, bridge.notice_amendment_data),
    pb.NoticeCancellation: (NoticeCancellation, bridge.notice_cancellation_data),
}


@pytest.mark.parametrize(("make", "breaks", "path"), PROTO_CASES)
def test_refused_from_protobuf_bytes(
    make: Callable[[], ProtoMessage], breaks: Callable[[Any], None], path: str
) -> None:
    """DCF-ERR-003, DCF-CMP-003: a peer's broken bytes are refused at the field's path."""
    message = make()
    breaks(message)
    received = type(message).FromString(message.SerializeToString())
    model, read = _READERS[type(received)]
    assert refusal_paths(model, read(received)) == [path]


def test_protobuf_round_trip_keeps_every_field() -> None:
    """DCF-GEN-005: model -> protobuf bytes -> model keeps every field."""
    for model, to_proto, read, message_type in (
        (example_notice(), bridge.flight_notice_to_proto, bridge.flight_notice_data, pb.FlightNotice),
        (example_amendment(), bridge.notice_amendment_to_proto, bridge.notice_amendment_data, pb.NoticeAmendment),
        (
            example_cancellation(),
            bridge.notice_cancellation_to_proto,
            bridge.notice_cancellation_data,
            pb.NoticeCancellation,
        ),
    ):
        wire = to_proto(model).SerializeToString()
        assert type(model).model_validate(read(message_type.FromString(wire))) == model


def test_volume_lasting_exactly_the_limit_is_accepted() -> None:
    """DCF-LIM-001, DCF-LIM-024: a value at the bound is accepted."""
    data = changed(NOTICE, "volumes.0.time_end", T0 + limits.MAX_DURATION)
    assert FlightNotice.model_validate(data).volumes[0].time_end - T0 == timedelta(days=366)


def test_lists_and_counts_at_their_bounds_are_accepted() -> None:
    """DCF-LIM-001, DCF-LIM-007, DCF-LIM-014, DCF-LIM-021: values at the bounds are accepted."""
    data = NOTICE | {
        "volumes": NOTICE["volumes"] * (limits.MAX_VOLUMES // 2),
        "aircraft_count": limits.MAX_AIRCRAFT_COUNT,
        "callsigns": [f"C{index:0{limits.MAX_CALLSIGN - 1}d}" for index in range(limits.MAX_NOTICE_CALLSIGNS)],
        "transponder_codes": [f"{index:04o}" for index in range(limits.MAX_NOTICE_TRANSPONDER_CODES)],
        "frequency_ids": [f"f{index}" for index in range(limits.MAX_NOTICE_FREQUENCIES)],
        "remarks": "r" * limits.MAX_TEXT,
    }
    notice = FlightNotice.model_validate(data)
    assert len(notice.volumes) == limits.MAX_VOLUMES
    assert len(notice.callsigns[0]) == limits.MAX_CALLSIGN
