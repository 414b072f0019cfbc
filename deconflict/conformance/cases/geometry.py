"""Chapter 03: geometry. What a receiver refuses, and what an accepted geometry means to the conflict check.

The refusals are checked with the field path from the envelope (DCF-ENV-030). The meaning of a geometry is checked
through the party's automatic answer to a notice placed near one of its own: which side of the minimum the answer
says the two are on, and the distances it reports.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.cases.codec import deliver, expect_refusal
from deconflict.conformance.session import ORIGIN, Session, flight_level
from deconflict.models.geometry import (
    Altitude,
    AltitudeReference,
    AltitudeUnit,
    Circle,
    LatLng,
    Polygon,
    Volume3D,
    Volume4D,
)
from deconflict.models.notice import FlightNotice, NoticeCategory
from deconflict.models.response import MessageKind, ResponseTimeout
from deconflict.v1 import envelope_pb2, geometry_pb2, notice_pb2, response_pb2

# -- helpers, also used by the conflict cases

METRES_PER_DEGREE = 111_195.0  # on the sphere of radius 6371008.8 m (DCF-CFL-006)
UNABLE = response_pb2.RESPONSE_KIND_UNABLE
ROGER = response_pb2.RESPONSE_KIND_ROGER


def start_time(hours: float = 3.0) -> datetime:
    """A whole minute some hours ahead: the cases' notices start there, clear of the lead time."""
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours)


def point(north_km: float, east_km: float, origin: LatLng = ORIGIN) -> tuple[float, float]:
    """(latitude, longitude) `north_km` north and `east_km` east of `origin`, on the sphere."""
    latitude = origin.latitude + north_km * 1000.0 / METRES_PER_DEGREE
    scale = METRES_PER_DEGREE * math.cos(math.radians(latitude))
    return latitude, origin.longitude + east_km * 1000.0 / scale


def polygon(*corners: tuple[float, float]) -> Polygon:
    """A polygon of (latitude, longitude) vertices."""
    return Polygon(vertices=[LatLng(latitude=a, longitude=b) for a, b in corners])


def box(south_km: float, west_km: float, north_km: float, east_km: float, origin: LatLng = ORIGIN) -> Polygon:
    """A box between two parallels and two meridians, in km from `origin`; its longitudes are placed at its north
    edge, where the meridians are closest, so that the box is at least the distances given from its neighbours."""
    north = origin.latitude + north_km * 1000.0 / METRES_PER_DEGREE
    south = origin.latitude + south_km * 1000.0 / METRES_PER_DEGREE
    scale = METRES_PER_DEGREE * math.cos(math.radians(max(abs(north), abs(south))))
    west = origin.longitude + west_km * 1000.0 / scale
    east = origin.longitude + east_km * 1000.0 / scale
    return polygon((south, west), (south, east), (north, east), (north, west))


def circle(latitude: float, longitude: float, radius_m: float) -> Circle:
    return Circle(center=LatLng(latitude=latitude, longitude=longitude), radius_m=radius_m)


def altitude(
    value: float, reference: AltitudeReference = AltitudeReference.MSL, unit: AltitudeUnit = AltitudeUnit.METRES
) -> Altitude:
    return Altitude(value=value, reference=reference, unit=unit)


def volume(
    outline: Polygon | Circle,
    lower: Altitude | None = None,
    upper: Altitude | None = None,
    start: datetime | None = None,
    minutes: float = 60.0,
) -> Volume4D:
    """A volume of `outline`, FL100 to FL200 unless told, for an hour from `start` (three hours ahead)."""
    begin = start or start_time()
    shape = {"polygon": outline} if isinstance(outline, Polygon) else {"circle": outline}
    return Volume4D(
        volume=Volume3D(altitude_lower=lower or flight_level(100), altitude_upper=upper or flight_level(200), **shape),
        time_start=begin,
        time_end=begin + timedelta(minutes=minutes),
    )


def notice_of(
    s: Session, *volumes: Volume4D, owner: str | None = None, category: NoticeCategory = NoticeCategory.ROUTINE
) -> FlightNotice:
    """A notice of the suite (or of `owner`) made of `volumes`."""
    return s.notice(owner=owner, category=category).model_copy(update={"volumes": list(volumes)})


def party_notice(s: Session, notice: FlightNotice) -> FlightNotice:
    """`notice` as the party's own, under an id of the party."""
    return notice.model_copy(update={"owner": s.target.party, "notice_id": f"{s.target.party}/{uuid.uuid4()}"})


async def answer(s: Session, theirs: FlightNotice | None, mine: FlightNotice) -> response_pb2.OperationalResponse:
    """The party files `theirs` (unless None), the suite files `mine`: the party's automatic answer to it."""
    if theirs is not None:
        await s.originate("notice", party_notice(s, theirs))
    delivered = await s.file(mine)
    reply = await s.answer_to(delivered.acknowledgement.message_id)
    if reply is None:
        raise CaseFailedError("the party's operational response to the suite's notice", "none within 5 s")
    return reply.response


def kind_name(kind: int) -> str:
    return response_pb2.ResponseKind.Name(kind)  # type: ignore[arg-type]


def expect_kind(response: response_pb2.OperationalResponse, kind: int, why: str) -> None:
    expect(response.kind == kind, f"{kind_name(kind)}: {why}", f"{kind_name(response.kind)} {list(response.conflicts)}")


def expect_near(value: float, wanted: float, tolerance: float, what: str) -> None:
    expect(abs(value - wanted) <= tolerance, f"{what} {wanted:g} (within {tolerance:g})", f"{value:g}")


async def refused_at(
    s: Session, notice: FlightNotice, spoil: Callable[[notice_pb2.FlightNotice], None], *paths: str
) -> str:
    """'' when the suite's notice, spoiled by `spoil`, is refused with INVALID_ARGUMENT naming one of `paths`;
    else what happened."""
    envelope = s.proto("notice", notice)
    spoil(envelope.notice)
    wrong = ""
    for path in paths:
        wrong = await expect_refusal(deliver(s, envelope), "INVALID_ARGUMENT", path)
        if not wrong:
            return ""
    return f"{wrong}, not INVALID_ARGUMENT naming {' or '.join(paths)}"


async def all_refused(s: Session, checks: Sequence[tuple[str, Callable[[notice_pb2.FlightNotice], None], str]]) -> None:
    """Each (what, spoil, path) refused naming the path; then nothing of them stored."""
    await s.hello()
    wrong = []
    for what, spoil, path in checks:
        got = await refused_at(s, s.notice(), spoil, *path.split("|"))
        if got:
            wrong.append(f"{what}: {got}")
    expect(not wrong, "each refused with INVALID_ARGUMENT naming the field", "; ".join(wrong))
    stored = [o for o in await s.observed() if o.received]
    expect(not stored, "nothing stored of the refused notices", f"{len(stored)} stored messages")


async def accepted(s: Session, notice: FlightNotice | notice_pb2.FlightNotice, what: str) -> None:
    """The suite's notice is stored."""
    envelope = s.proto("notice", s.notice())
    envelope.notice.CopyFrom(notice if isinstance(notice, notice_pb2.FlightNotice) else _proto(s, notice))
    try:
        await deliver(s, envelope)
    except RefusedError as error:
        raise CaseFailedError(f"{what} stored", f"{error.code.name} {error.violations or error.message}") from None


def _proto(s: Session, notice: FlightNotice) -> notice_pb2.FlightNotice:
    return s.proto("notice", notice).notice


def _vertex(index: int, field: str, value: float) -> Callable[[notice_pb2.FlightNotice], None]:
    def spoil(notice: notice_pb2.FlightNotice) -> None:
        setattr(notice.volumes[0].volume.polygon.vertices[index], field, value)

    return spoil


def _vertices(*corners: tuple[float, float]) -> Callable[[notice_pb2.FlightNotice], None]:
    def spoil(notice: notice_pb2.FlightNotice) -> None:
        outline = notice.volumes[0].volume.polygon
        outline.ClearField("vertices")
        for latitude, longitude in corners:
            outline.vertices.add(latitude=latitude, longitude=longitude)

    return spoil


def _circle(latitude: float, longitude: float, radius_m: float) -> Callable[[notice_pb2.FlightNotice], None]:
    def spoil(notice: notice_pb2.FlightNotice) -> None:
        shape = notice.volumes[0].volume
        shape.circle.center.latitude, shape.circle.center.longitude = latitude, longitude
        shape.circle.radius_m = radius_m

    return spoil


def _spoil(change: Callable[[Any], None], *where: str) -> Callable[[notice_pb2.FlightNotice], None]:
    """Apply `change` to the message at `where` (attribute names from volumes[0])."""

    def spoil(notice: notice_pb2.FlightNotice) -> None:
        target: Any = notice.volumes[0]
        for name in where:
            target = getattr(target, name)
        change(target)

    return spoil


def _proto_altitude(value: float, reference: geometry_pb2.AltitudeReference.ValueType) -> geometry_pb2.Altitude:
    return geometry_pb2.Altitude(value=value, reference=reference, unit=geometry_pb2.ALTITUDE_UNIT_METRES)


_VERTICES = "notice.volumes[0].volume.polygon.vertices"
_VOLUME = "notice.volumes[0].volume"
_CIRCLE = "notice.volumes[0].volume.circle"


# -- 3.1 points


@case("geometry.coordinate_bounds", "DCF-GEO-001", "DCF-GEO-002", "DCF-GEO-003", "DCF-ENV-030")
async def coordinate_bounds(s: Session) -> None:
    """Latitudes past +-90, longitudes past +-180, NaN and infinities are refused naming the coordinate."""
    await all_refused(
        s,
        [
            ("latitude 90.000001", _vertex(2, "latitude", 90.000001), f"{_VERTICES}[2].latitude"),
            ("latitude -90.5", _vertex(0, "latitude", -90.5), f"{_VERTICES}[0].latitude"),
            ("longitude 180.000001", _vertex(1, "longitude", 180.000001), f"{_VERTICES}[1].longitude"),
            ("longitude -181", _vertex(3, "longitude", -181.0), f"{_VERTICES}[3].longitude"),
            ("latitude NaN", _vertex(1, "latitude", math.nan), f"{_VERTICES}[1].latitude"),
            ("longitude -infinity", _vertex(2, "longitude", -math.inf), f"{_VERTICES}[2].longitude"),
        ],
    )


@case("geometry.coordinate_bounds_inclusive", "DCF-GEO-002", "DCF-GEO-003")
async def coordinate_bounds_inclusive(s: Session) -> None:
    """Vertices at latitude 90 and -90 and at longitude 180 and -180 are accepted (the bounds are inclusive)."""
    await s.hello()
    north_east = polygon((90.0, 180.0), (89.5, 180.0), (89.5, 179.5))
    south_west = polygon((-90.0, -180.0), (-89.5, -179.5), (-89.5, -180.0))
    await accepted(s, notice_of(s, volume(north_east), volume(south_west)), "a notice touching both poles at 180")


@case("geometry.same_meridian_at_180", "DCF-GEO-003", "DCF-GEO-007", "DCF-CFL-006")
async def same_meridian(s: Session) -> None:
    """An area split at the antimeridian is accepted as two polygons, and 180 and -180 are the same meridian: a
    polygon ending at 180 and another starting at -180 touch (lateral distance 0), so they conflict."""
    await s.hello()
    east = polygon((10.0, 179.9), (10.0, 180.0), (10.1, 180.0), (10.1, 179.9))
    west = polygon((10.0, -180.0), (10.0, -179.9), (10.1, -179.9), (10.1, -180.0))
    # The suite's own notice in two volumes, one on each side: accepted.
    await accepted(s, notice_of(s, volume(east), volume(west)), "an area split at 180 degrees")
    response = await answer(s, notice_of(s, volume(east)), notice_of(s, volume(west)))
    expect_kind(response, UNABLE, "the two halves touch along the meridian 180 = -180")
    expect_near(response.conflicts[0].lateral_distance_m, 0.0, 1.0, "lateral_distance_m")


# -- 3.2 polygons


@case("geometry.polygon_is_the_area_its_ring_encloses", "DCF-GEO-004", "DCF-CFL-006")
async def enclosed_area(s: Session) -> None:
    """A U-shaped polygon is its area, not its hull: a box in the notch, 15 km from every arm, is clear under
    either winding; a box 5 km from an arm's inner side is not."""
    await s.hello()
    # The U: 60 km wide, 50 km tall, a notch 40 km wide and 40 km deep opening north.
    u_ring = [
        point(0, 0),
        point(0, 60),
        point(50, 60),
        point(50, 50),
        point(10, 50),
        point(10, 10),
        point(50, 10),
        point(50, 0),
    ]
    for ring in (u_ring, list(reversed(u_ring))):
        await s.reset()
        await s.hello()
        theirs = notice_of(s, volume(polygon(*ring)))
        clear = await answer(s, theirs, notice_of(s, volume(box(25, 25, 35, 35))))
        expect_kind(clear, ROGER, "the box lies in the notch, 15 km from each arm")
        near = await answer(s, None, notice_of(s, volume(box(25, 15, 35, 20))))
        expect_kind(near, UNABLE, "the box lies 5 km from the inner side of the west arm")
        expect_near(near.conflicts[0].lateral_distance_m, 5000.0, 50.0, "lateral_distance_m")


@case("geometry.edges_are_straight_in_longitude_and_latitude", "DCF-GEO-004", "DCF-CFL-006")
async def straight_edges(s: Session) -> None:
    """An edge along the parallel 60N from 0 to 40E stays on the parallel (no great-circle bulge): a box 15 km north
    of it at 20E is clear, a box 5 km north is 5 km away."""
    await s.hello()
    big = polygon((55.0, 0.0), (60.0, 0.0), (60.0, 40.0), (55.0, 40.0))
    on_parallel = LatLng(latitude=60.0, longitude=20.0)
    clear = await answer(s, notice_of(s, volume(big)), notice_of(s, volume(box(15, -5, 25, 5, on_parallel))))
    expect_kind(clear, ROGER, "the box is 15 km north of the edge (a great circle would put it inside)")
    near = await answer(s, None, notice_of(s, volume(box(5, -5, 15, 5, on_parallel))))
    expect_kind(near, UNABLE, "the box is 5 km north of the edge")
    expect_near(near.conflicts[0].lateral_distance_m, 5000.0, 50.0, "lateral_distance_m")


@case("geometry.repeated_vertices_accepted", "DCF-GEO-006")
async def repeated_vertices(s: Session) -> None:
    """A closed ring and a repeated vertex are accepted and change nothing: stored as sent, answered with the same
    lateral distance as the open ring."""
    await s.hello()
    theirs = notice_of(s, volume(box(0, 0, 10, 10)))
    mine = box(0, 15, 10, 25)
    corners = [(v.latitude, v.longitude) for v in mine.vertices]
    repeated = polygon(corners[0], corners[1], corners[1], corners[2], corners[3], corners[0])
    open_ring = await answer(s, theirs, notice_of(s, volume(mine)))
    expect_kind(open_ring, UNABLE, "the boxes are 5 km apart")
    sent = notice_of(s, volume(repeated))
    closed = await answer(s, None, sent)
    expect_kind(closed, UNABLE, "the same box, its ring closed and a vertex repeated")
    expect_near(
        closed.conflicts[0].lateral_distance_m,
        open_ring.conflicts[0].lateral_distance_m,
        1.0,
        "lateral_distance_m of the open ring's",
    )
    stored = (await s.peer.get_notice(s.channel_id, sent.notice_id)).record.notice
    expect(stored == _proto(s, sent), "the notice read back with the vertices as sent", stored.volumes[0])


@case("geometry.antimeridian_edges_refused", "DCF-GEO-007")
async def antimeridian_edges(s: Session) -> None:
    """An edge whose ends differ by more than 180 degrees of longitude is refused naming the vertex it ends at,
    179 to -180 included."""
    await all_refused(
        s,
        [
            (
                "a box across 180",
                _vertices((10, 179.5), (10, -179.5), (11, -179.5), (11, 179.5)),
                f"{_VERTICES}[1]|{_VERTICES}[3]",
            ),
            (
                "179 to -180",
                _vertices((10, 179.0), (10, -180.0), (11, -180.0), (11, 179.0)),
                f"{_VERTICES}[1]|{_VERTICES}[3]",
            ),
            (
                "the closing edge",
                _vertices((10, -179.5), (11, -179.5), (11, 179.5), (10.5, 179.0)),
                f"{_VERTICES}[2]|{_VERTICES}[0]",
            ),
        ],
    )


@case("geometry.degenerate_polygons_refused", "DCF-GEO-005", "DCF-GEO-009", "DCF-GEO-010")
async def degenerate_polygons(s: Session) -> None:
    """Too few distinct vertices, vertices on one line, crossing edges and a vertex on another edge: refused
    naming vertices."""
    a, b, c, d = point(0, 0), point(0, 10), point(10, 10), point(10, 0)
    await all_refused(
        s,
        [
            ("two distinct vertices", _vertices(a, b, a), f"{_VERTICES}"),
            ("two vertices", _vertices(a, b), f"{_VERTICES}"),
            ("vertices on one line", _vertices(a, point(0, 5), b, point(0, 7)), f"{_VERTICES}"),
            ("a bow tie", _vertices(a, b, d, c), f"{_VERTICES}"),
            ("a vertex on another edge", _vertices(a, b, c, point(0, 5)), f"{_VERTICES}"),
            ("a spike folding back", _vertices(a, b, c, point(10, 20)), f"{_VERTICES}"),
        ],
    )


@case("geometry.self_intersection_has_a_reason", "DCF-GEO-010", "DCF-ERR-002")
async def self_intersection_reason(s: Session) -> None:
    """A polygon whose edges cross is refused naming vertices, with a description saying what is wrong."""
    await s.hello()
    a, b, c, d = point(0, 0), point(0, 10), point(10, 10), point(10, 0)
    envelope = s.proto("notice", s.notice())
    _vertices(a, b, d, c)(envelope.notice)
    refused = await s.refusal(deliver(s, envelope))
    named = [(path, text) for path, text in refused.violations if path == _VERTICES]
    expect(
        bool(named) and all(text.strip() for _, text in named),
        f"a violation of {_VERTICES} with a description",
        refused.violations,
    )


# -- 3.3 circles


@case("geometry.circle_limits", "DCF-GEO-011", "DCF-GEO-012", "DCF-GEO-013", "DCF-GEO-014")
async def circle_limits(s: Session) -> None:
    """Circles with no centre, a radius not above 0, NaN or past 500 km, or reaching a pole or past the
    antimeridian are refused naming radius_m (or center)."""
    reach = METRES_PER_DEGREE

    def no_center(notice: notice_pb2.FlightNotice) -> None:
        _circle(10, 10, 1000)(notice)
        notice.volumes[0].volume.circle.ClearField("center")

    await all_refused(
        s,
        [
            ("no centre", no_center, f"{_CIRCLE}.center"),
            ("radius 0", _circle(10, 10, 0.0), f"{_CIRCLE}.radius_m"),
            ("radius -1", _circle(10, 10, -1.0), f"{_CIRCLE}.radius_m"),
            ("radius NaN", _circle(10, 10, math.nan), f"{_CIRCLE}.radius_m"),
            ("radius +infinity", _circle(10, 10, math.inf), f"{_CIRCLE}.radius_m"),
            ("radius 500.001 km", _circle(10, 10, 500_001.0), f"{_CIRCLE}.radius_m"),
            ("reaching the north pole", _circle(86.0, 10, 4.0 * reach), f"{_CIRCLE}.radius_m"),
            ("past the south pole", _circle(-87.0, 10, 4.0 * reach), f"{_CIRCLE}.radius_m"),
            ("across 180 from the east", _circle(0.0, 179.5, 0.6 * reach), f"{_CIRCLE}.radius_m"),
            ("across 180 from the west", _circle(0.0, -179.5, 0.6 * reach), f"{_CIRCLE}.radius_m"),
            ("across 180 at 60N", _circle(60.0, 179.0, 0.6 * reach), f"{_CIRCLE}.radius_m"),
        ],
    )


@case("geometry.circle_near_the_antimeridian_accepted", "DCF-GEO-012", "DCF-GEO-014")
async def circle_near_antimeridian(s: Session) -> None:
    """Circles close to but clear of 180 degrees, and the largest radius of 500 km, are accepted."""
    await s.hello()
    circles = [
        circle(0.0, 179.5, 0.4 * METRES_PER_DEGREE),
        circle(0.0, -179.5, 0.4 * METRES_PER_DEGREE),
        circle(60.0, 178.0, 0.4 * METRES_PER_DEGREE),
        circle(35.0, 36.0, 500_000.0),
    ]
    await accepted(s, notice_of(s, *(volume(c) for c in circles)), "the circles")


# -- 3.4 altitudes


def _altitude(
    field: str, value: float | int, limit: str = "altitude_lower"
) -> Callable[[notice_pb2.FlightNotice], None]:
    return _spoil(lambda a: setattr(a, field, value), "volume", limit)


@case("geometry.altitude_datum_and_unit_required", "DCF-GEO-015", "DCF-GEO-016", "DCF-CMP-003", "DCF-CMP-004")
async def altitude_fields(s: Session) -> None:
    """An altitude with no or an unknown reference or unit, a value not finite, flight levels off STD or STD in
    another unit is refused naming that field."""
    lower = f"{_VOLUME}.altitude_lower"

    def std_metres(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].volume.altitude_lower.unit = geometry_pb2.ALTITUDE_UNIT_METRES  # with STD

    def fl_agl(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].volume.altitude_lower.reference = geometry_pb2.ALTITUDE_REFERENCE_AGL  # in flight levels

    await all_refused(
        s,
        [
            ("reference unspecified", _altitude("reference", 0), f"{lower}.reference"),
            ("reference 99", _altitude("reference", 99), f"{lower}.reference"),
            ("unit unspecified", _altitude("unit", 0), f"{lower}.unit"),
            ("unit 99", _altitude("unit", 99, "altitude_upper"), f"{_VOLUME}.altitude_upper.unit"),
            ("value NaN", _altitude("value", math.nan), f"{lower}.value"),
            ("value infinity", _altitude("value", math.inf, "altitude_upper"), f"{_VOLUME}.altitude_upper.value"),
            ("STD in metres", std_metres, f"{lower}.unit"),
            ("flight levels above ground", fl_agl, f"{lower}.unit"),
        ],
    )


@case("geometry.altitudes_compare_in_metres", "DCF-GEO-017", "DCF-CFL-004", "DCF-CFL-016")
async def altitudes_in_metres(s: Session) -> None:
    """Feet are 0.3048 m and flight levels 30.48 m: FL200 against 20500 ft MSL is 152.4 m apart, against 6346 m MSL
    250 m, and 2000 ft W84 against 700 m W84 90.4 m; each pair under the 300 m minimum, with that distance."""
    await s.hello()
    feet, metres = AltitudeUnit.FEET, AltitudeUnit.METRES
    msl, w84 = AltitudeReference.MSL, AltitudeReference.W84
    pairs = [
        ((flight_level(100), flight_level(200)), (altitude(20_500, msl, feet), altitude(30_000, msl, feet)), 152.4),
        ((flight_level(100), flight_level(200)), (altitude(6_346, msl, metres), altitude(8_000, msl, metres)), 250.0),
        ((altitude(1_000, w84, feet), altitude(2_000, w84, feet)), (altitude(700, w84), altitude(1_000, w84)), 90.4),
    ]
    for number, ((low, high), (other_low, other_high), gap) in enumerate(pairs):
        place = box(number * 100, 0, number * 100 + 10, 10)
        theirs = notice_of(s, volume(place, low, high))
        response = await answer(s, theirs, notice_of(s, volume(place, other_low, other_high)))
        expect_kind(response, UNABLE, f"the bands are {gap} m apart")
        expect_near(response.conflicts[0].vertical_distance_m, gap, 0.01, "vertical_distance_m")


@case("geometry.msl_and_flight_levels_compare", "DCF-GEO-018", "DCF-GEO-020", "DCF-CFL-004", "DCF-CFL-005")
async def comparable_references(s: Session) -> None:
    """MSL and STD compare by metres (a volume may go from MSL to a flight level; FL200 is clear of 8000 m MSL);
    AGL or W84 against MSL or STD do not, and are treated as overlapping whatever their values."""
    await s.hello()
    place = box(0, 0, 10, 10)
    mixed = volume(place, altitude(0.0), flight_level(100))
    await accepted(s, notice_of(s, mixed), "a volume from 0 m MSL to FL100")
    theirs = notice_of(s, volume(box(100, 0, 110, 10), flight_level(100), flight_level(200)))
    clear = await answer(s, theirs, notice_of(s, volume(box(100, 0, 110, 10), altitude(8_000.0), altitude(9_000.0))))
    expect_kind(clear, ROGER, "8000 m MSL is 1904 m above FL200")
    for number, reference in enumerate((AltitudeReference.AGL, AltitudeReference.W84), start=2):
        spot = box(number * 100, 0, number * 100 + 10, 10)
        far = volume(spot, altitude(20_000.0, reference), altitude(21_000.0, reference))
        response = await answer(s, notice_of(s, volume(spot)), notice_of(s, far))
        expect_kind(response, UNABLE, f"{reference.name} cannot be compared with flight levels")
        expect_near(response.conflicts[0].vertical_distance_m, 0.0, 0.0, "vertical_distance_m")


# -- 3.5 volumes


@case("geometry.volume_rules", "DCF-GEO-019", "DCF-GEO-020", "DCF-GEO-021", "DCF-GEO-022")
async def volume_rules(s: Session) -> None:
    """A volume with no outline, a missing or incomparable limit, an upper limit not above the lower, no volume or
    time, or an end not after its start is refused naming that field."""

    def clear(*where: str) -> Callable[[notice_pb2.FlightNotice], None]:
        *path, name = where
        return _spoil(lambda target: target.ClearField(name), *path)

    def equal(notice: notice_pb2.FlightNotice) -> None:
        shape = notice.volumes[0].volume
        shape.altitude_upper.CopyFrom(shape.altitude_lower)

    def below(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].volume.altitude_upper.value = 50

    def incomparable(notice: notice_pb2.FlightNotice) -> None:
        shape = notice.volumes[0].volume
        shape.altitude_lower.CopyFrom(_proto_altitude(100.0, geometry_pb2.ALTITUDE_REFERENCE_AGL))
        shape.altitude_upper.CopyFrom(_proto_altitude(5000.0, geometry_pb2.ALTITUDE_REFERENCE_MSL))

    def same_time(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].time_end.CopyFrom(notice.volumes[0].time_start)

    def reversed_time(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].time_end.seconds = notice.volumes[0].time_start.seconds - 60

    volume_path = "notice.volumes[0]"
    await all_refused(
        s,
        [
            ("no outline", clear("volume", "polygon"), f"{_VOLUME}.outline"),
            ("no lower limit", clear("volume", "altitude_lower"), f"{_VOLUME}.altitude_lower"),
            ("no upper limit", clear("volume", "altitude_upper"), f"{_VOLUME}.altitude_upper"),
            ("upper equal to lower", equal, f"{_VOLUME}.altitude_upper"),
            ("upper below lower", below, f"{_VOLUME}.altitude_upper"),
            ("AGL to MSL", incomparable, f"{_VOLUME}.altitude_upper.reference"),
            ("no volume", clear("volume"), f"{volume_path}.volume"),
            ("no time_start", clear("time_start"), f"{volume_path}.time_start"),
            ("no time_end", clear("time_end"), f"{volume_path}.time_end"),
            ("time_end equal to time_start", same_time, f"{volume_path}.time_end"),
            ("time_end before time_start", reversed_time, f"{volume_path}.time_end"),
        ],
    )


@case("geometry.volumes_of_a_notice_are_a_union", "DCF-GEO-023", "DCF-CFL-016")
async def union_of_volumes(s: Session) -> None:
    """Two overlapping volumes of one notice are accepted; a notice clear of the first and overlapping the second
    conflicts with that pair only (volume_index 1)."""
    await s.hello()
    start = start_time()
    place = box(0, 0, 10, 10)
    mine = notice_of(s, volume(place, start=start), volume(place, start=start + timedelta(minutes=30), minutes=90))
    # Theirs starts 30 minutes after the first volume ends: clear of it in time, inside the second.
    theirs = notice_of(s, volume(place, start=start + timedelta(minutes=90)))
    response = await answer(s, theirs, mine)
    expect_kind(response, UNABLE, "the second volume overlaps the party's notice")
    pairs = [(c.volume_index, c.other_volume_index) for c in response.conflicts]
    expect(pairs == [(1, 0)], "one conflict: volume_index 1, other_volume_index 0", pairs)


# -- 3.6 times and durations


@case("geometry.timestamps_whole_microseconds", "DCF-GEO-024")
async def timestamps(s: Session) -> None:
    """A time finer than a microsecond, nanos out of range, or before year 1 is refused naming the field."""

    def nanos(value: int, field: str = "time_start") -> Callable[[notice_pb2.FlightNotice], None]:
        return _spoil(lambda t: setattr(t, "nanos", value), field)

    def before_year_one(notice: notice_pb2.FlightNotice) -> None:
        notice.volumes[0].time_start.seconds = -62135596801

    await all_refused(
        s,
        [
            ("500 ns", nanos(500), "notice.volumes[0].time_start"),
            ("999999999 ns", nanos(999_999_999, "time_end"), "notice.volumes[0].time_end"),
            ("nanos 10^9", nanos(1_000_000_000), "notice.volumes[0].time_start"),
            ("nanos -1", nanos(-1), "notice.volumes[0].time_start"),
            ("before year 1", before_year_one, "notice.volumes[0].time_start"),
        ],
    )
    envelope = s.proto("notice", s.notice())
    envelope.created_time.nanos += 1
    got = await expect_refusal(deliver(s, envelope), "INVALID_ARGUMENT", "created_time")
    expect(not got, "a created_time 1 ns past a microsecond refused naming created_time", got)


@case("geometry.durations_whole_microseconds", "DCF-GEO-025", "DCF-TMR-009")
async def durations(s: Session) -> None:
    """A ResponseTimeout whose `waited` is finer than a microsecond or has mixed signs is refused naming it."""
    await s.reset(operator=True)
    await s.hello()
    delivered = await s.file(s.notice())
    message_id = delivered.acknowledgement.message_id
    wrong = []
    for what, seconds, nanos in (
        ("1 ns past a microsecond", 3, 1_001),
        ("mixed signs", 3, -5_000),
        ("seconds past the type's range", 315_576_000_001, 0),
    ):
        envelope = _timeout(s, delivered.acknowledgement.notice_id, message_id)
        envelope.timeout.waited.seconds, envelope.timeout.waited.nanos = seconds, nanos
        got = await expect_refusal(deliver(s, envelope), "INVALID_ARGUMENT", "timeout.waited")
        if got:
            wrong.append(f"{what}: {got}")
    expect(not wrong, "each refused with INVALID_ARGUMENT naming timeout.waited", "; ".join(wrong))


def _timeout(s: Session, notice_id: str, message_id: str) -> envelope_pb2.Envelope:
    now = datetime.now(UTC).replace(microsecond=0)
    body = ResponseTimeout(
        unanswered_message_id=message_id,
        unanswered_kind=MessageKind.NOTICE,
        notice_id=notice_id,
        notice_version=1,
        due_time=now,
        waited=timedelta(seconds=3),
    )
    return s.proto("timeout", body, in_reply_to=message_id)
