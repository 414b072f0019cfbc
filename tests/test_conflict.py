"""Conflict detection (docs/spec/06-conflict.md): known answers on each axis, who is checked against whom,
priority rules, the index's upkeep, and properties: the R-tree index answers exactly as a scan of every
indexed volume with the same test, its search boxes never miss a close point, and the lateral distance
agrees with a dense great-circle reference well inside DCF-CFL-007's 0.5 %.

Distances with known answers are built on meridians, which are great circles: the distance between two
points on one meridian is the radius times their difference of latitude, exactly. Every index answer in
these tests is also compared with ConflictIndex.scan().
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.conflict import Conflict, ConflictIndex, IndexedNotice
from deconflict.conflict.outline import CircleOutline, PolygonOutline, lateral_distance, search_boxes
from deconflict.conflict.sphere import EARTH_RADIUS_M, Frame, great_circle_m, unit_vector, unit_vectors
from deconflict.models.channel import PriorityRule, SeparationMinima
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
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.models.response import ConflictingNotice

LATAKIA = (35.52, 35.79)
HAMA = (35.13, 36.75)
HOMS = (34.73, 36.71)
IDLIB = (35.93, 36.63)

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NM = 1852.0
FOOT = 0.3048
# 5 NM, 1000 ft, 10 minutes.
SEPARATION = SeparationMinima(lateral_m=5 * NM, vertical_m=1000 * FOOT, time=timedelta(minutes=10))
ZERO = SeparationMinima(lateral_m=0.0, vertical_m=0.0, time=timedelta(0))
CHANNEL = "channel-ab"
MSL, STD, AGL, W84 = AltitudeReference.MSL, AltitudeReference.STD, AltitudeReference.AGL, AltitudeReference.W84
ROUTINE, EMERGENCY = NoticeCategory.ROUTINE, NoticeCategory.EMERGENCY
EMERGENCY_FIRST = [PriorityRule(category=EMERGENCY, overrides=[ROUTINE])]


# -- building notices


def degrees(metres: float) -> float:
    """Degrees of latitude (of a great circle) for a distance on the sphere."""
    return math.degrees(metres / EARTH_RADIUS_M)


def altitude(value: float, reference: AltitudeReference = MSL) -> Altitude:
    unit = AltitudeUnit.FLIGHT_LEVEL if reference == STD else AltitudeUnit.METRES
    return Altitude(value=value, reference=reference, unit=unit)


def volume(
    *,
    polygon: Sequence[tuple[float, float]] | None = None,
    circle: tuple[float, float, float] | None = None,
    band: tuple[float, float] = (1000.0, 2000.0),
    reference: AltitudeReference = MSL,
    upper_reference: AltitudeReference | None = None,
    start: datetime = T0,
    end: datetime = T0 + HOUR,
) -> Volume4D:
    """A volume from (latitude, longitude) vertices or a (latitude, longitude, radius_m) circle."""
    shape = Volume3D(
        polygon=None if polygon is None else Polygon(vertices=[LatLng(latitude=a, longitude=o) for a, o in polygon]),
        circle=None
        if circle is None
        else Circle(center=LatLng(latitude=circle[0], longitude=circle[1]), radius_m=circle[2]),
        altitude_lower=altitude(band[0], reference),
        altitude_upper=altitude(band[1], upper_reference or reference),
    )
    return Volume4D(volume=shape, time_start=start, time_end=end)


def notice(
    *volumes: Volume4D,
    owner: str = "party-b",
    notice_id: str = "notice-1",
    version: int = 1,
    category: NoticeCategory = ROUTINE,
    state: NoticeState = NoticeState.ACTIVE,
) -> FlightNotice:
    return FlightNotice(
        notice_id=notice_id,
        version=version,
        state=state,
        owner=owner,
        volumes=list(volumes),
        aircraft_category=AircraftCategory.ROTARY_WING,
        aircraft_count=2,
        category=category,
    )


def checked(*volumes: Volume4D, owner: str = "party-a", category: NoticeCategory = ROUTINE) -> FlightNotice:
    """The incoming notice, by default from another party than the stored ones."""
    return notice(*volumes, owner=owner, notice_id="incoming", category=category)


def diamond(latitude: float, longitude: float, half_m: float = 3000.0) -> list[tuple[float, float]]:
    """Four vertices half_m north, east, south and west of a centre: its tips are its extreme points."""
    across = degrees(half_m) / math.cos(math.radians(latitude))
    return [
        (latitude + degrees(half_m), longitude),
        (latitude, longitude + across),
        (latitude - degrees(half_m), longitude),
        (latitude, longitude - across),
    ]


def diamond_north_of(tip_latitude: float, longitude: float, gap_m: float, half_m: float = 3000.0) -> list:
    """A diamond whose south tip is gap_m due north of (tip_latitude, longitude), on that meridian."""
    return diamond(tip_latitude + degrees(gap_m) + degrees(half_m), longitude, half_m)


def conflicts(
    stored: Sequence[FlightNotice],
    incoming: FlightNotice,
    separation: SeparationMinima = SEPARATION,
    rules: Sequence[PriorityRule] = (),
    *,
    exercise: bool = False,
    stored_exercise: bool = False,
) -> list[Conflict]:
    """What the index answers, after checking that a scan of every volume answers the same."""
    index = ConflictIndex()
    for other in stored:
        index.put(other, channel_id=CHANNEL, exercise=stored_exercise)
    found = index.conflicts(incoming, separation, rules, exercise=exercise)
    assert found == index.scan(incoming, separation, rules, exercise=exercise)
    return found


def one(found: list[Conflict]) -> Conflict:
    assert len(found) == 1, found
    return found[0]


# -- DCF-CFL-001, 002, 006, 007: laterally


HAMA_DIAMOND = diamond(*HAMA)
HAMA_TIP = HAMA[0] + degrees(3000.0)  # the latitude of its north tip


@pytest.mark.parametrize("share", [0.98, 1.02])
def test_polygons_inside_and_outside_the_lateral_minimum(share):
    """DCF-CFL-002, DCF-CFL-007: at 98 % of the minimum a conflict, at 102 % clear, outside the band where
    conforming methods may differ."""
    gap = share * SEPARATION.lateral_m
    stored = notice(volume(polygon=diamond_north_of(HAMA_TIP, HAMA[1], gap)))
    found = conflicts([stored], checked(volume(polygon=HAMA_DIAMOND)))
    if share > 1.0:
        assert found == []
    else:
        assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-3)
        assert one(found).vertical_distance_m == 0.0


@pytest.mark.parametrize("share", [0.98, 1.02])
def test_circle_against_polygon(share):
    """DCF-CFL-006: a circle due north of a polygon's tip, as the stored or as the incoming volume."""
    radius, gap = 4000.0, share * SEPARATION.lateral_m
    centre = (HAMA_TIP + degrees(gap + radius), HAMA[1])
    for stored, incoming in [
        (volume(circle=(*centre, radius)), volume(polygon=HAMA_DIAMOND)),
        (volume(polygon=HAMA_DIAMOND), volume(circle=(*centre, radius))),
    ]:
        found = conflicts([notice(stored)], checked(incoming))
        if share > 1.0:
            assert found == []
        else:
            assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-3)


@pytest.mark.parametrize("share", [0.98, 1.02])
def test_circle_against_circle(share):
    """DCF-CFL-006: the distance between the centres less both radii."""
    first, second, gap = 2500.0, 6000.0, share * SEPARATION.lateral_m
    there = (HOMS[0] + degrees(first + gap + second), HOMS[1])
    found = conflicts([notice(volume(circle=(*there, second)))], checked(volume(circle=(*HOMS, first))))
    if share > 1.0:
        assert found == []
    else:
        assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-6)


def _west_pointing_diamond(latitude: float, tip_longitude: float, half_m: float = 4000.0) -> list:
    across = degrees(half_m) / math.cos(math.radians(latitude))
    return [
        (latitude, tip_longitude),
        (latitude - degrees(half_m), tip_longitude + across),
        (latitude, tip_longitude + 2 * across),
        (latitude + degrees(half_m), tip_longitude + across),
    ]


@pytest.mark.parametrize(
    ("latitude", "south", "north"),
    [
        (35.2, 34.9, 35.5),
        (80.0, 79.7, 80.3),
        (35.2, 31.2, 39.2),  # reaches 440 km from its centre, past where its own frame is used
        (42.0, 27.0, 43.0),  # the closest points 1000 km from the middle: the frame moves to them
    ],
)
@pytest.mark.parametrize("share", [0.98, 1.02])
def test_vertex_against_a_meridian_edge(latitude, south, north, share):
    """DCF-CFL-006: a vertex east of a polygon's meridian edge, at the cross-track distance from that
    great circle: sin(distance / R) = cos(latitude) sin(difference of longitude)."""
    gap = share * SEPARATION.lateral_m
    east_edge = 36.2
    rectangle = [(south, 36.0), (south, east_edge), (north, east_edge), (north, 36.0)]
    offset = math.degrees(math.asin(math.sin(gap / EARTH_RADIUS_M) / math.cos(math.radians(latitude))))
    stored = notice(volume(polygon=_west_pointing_diamond(latitude, east_edge + offset)))
    found = conflicts([stored], checked(volume(polygon=rectangle)))
    if share > 1.0:
        assert found == []
    else:
        assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-3)


def test_overlapping_polygons_conflict_whatever_the_minimum():
    """DCF-CFL-002: overlapping areas are close whatever the lateral minimum, 0 included."""
    homs_area = diamond(*HOMS, half_m=8000.0)
    nearby = diamond(HOMS[0] + 0.03, HOMS[1] + 0.04, half_m=6000.0)
    for separation in (ZERO, SEPARATION):
        found = one(conflicts([notice(volume(polygon=nearby))], checked(volume(polygon=homs_area)), separation))
        assert (found.lateral_distance_m, found.vertical_distance_m) == (0.0, 0.0)


def test_a_polygon_inside_another_overlaps_it():
    """DCF-CFL-006."""
    inner = diamond(*IDLIB, half_m=1000.0)
    outer = diamond(*IDLIB, half_m=20_000.0)
    assert one(conflicts([notice(volume(polygon=inner))], checked(volume(polygon=outer)), ZERO)).lateral_distance_m == 0
    assert one(conflicts([notice(volume(polygon=outer))], checked(volume(polygon=inner)), ZERO)).lateral_distance_m == 0


def test_polygons_that_only_touch_are_clear_with_a_zero_minimum():
    """DCF-CFL-002: a shared edge is distance 0 and no shared area: clear with a zero minimum, a conflict
    at distance 0 with any other."""
    west = [(35.0, 36.5), (35.0, 36.6), (35.2, 36.6), (35.2, 36.5)]
    east = [(35.0, 36.6), (35.0, 36.7), (35.2, 36.7), (35.2, 36.6)]  # shares the meridian 36.6
    assert conflicts([notice(volume(polygon=east))], checked(volume(polygon=west)), ZERO) == []
    lateral_only = SeparationMinima(lateral_m=100.0, vertical_m=0.0, time=timedelta(0))
    assert (
        one(conflicts([notice(volume(polygon=east))], checked(volume(polygon=west)), lateral_only)).lateral_distance_m
        == 0
    )


def test_circles_overlapping_and_apart_with_a_zero_minimum():
    """DCF-CFL-002: two 5 km circles 9.9 km apart overlap; 10.1 km apart they are clear."""
    first = volume(circle=(*HAMA, 5000.0))
    touching_soon = (HAMA[0] + degrees(9900.0), HAMA[1])
    assert (
        one(conflicts([notice(volume(circle=(*touching_soon, 5000.0)))], checked(first), ZERO)).lateral_distance_m == 0
    )
    apart = (HAMA[0] + degrees(10_100.0), HAMA[1])
    assert conflicts([notice(volume(circle=(*apart, 5000.0)))], checked(first), ZERO) == []


# -- DCF-CFL-003: in time


@pytest.mark.parametrize(
    ("minimum", "gap", "expected"),
    [
        (timedelta(0), timedelta(0), False),  # touching windows, zero minimum
        (timedelta(minutes=10), timedelta(0), True),  # touching windows, a minimum
        (timedelta(minutes=10), timedelta(minutes=10), False),  # exactly at the minimum
        (timedelta(minutes=10), timedelta(minutes=10) - timedelta(microseconds=1), True),  # just inside
        (timedelta(0), -timedelta(microseconds=1), True),  # overlapping by a microsecond
    ],
)
def test_time_windows(minimum, gap, expected):
    """DCF-CFL-003: windows touching, at the minimum (clear) and a microsecond inside it."""
    separation = SeparationMinima(lateral_m=5 * NM, vertical_m=0.0, time=minimum)
    earlier = volume(polygon=HAMA_DIAMOND, start=T0, end=T0 + HOUR)
    later = volume(polygon=HAMA_DIAMOND, start=T0 + HOUR + gap, end=T0 + 2 * HOUR)
    assert bool(conflicts([notice(later)], checked(earlier), separation)) is expected
    assert bool(conflicts([notice(earlier)], checked(later), separation)) is expected


# -- DCF-CFL-004, 005: vertically


@pytest.mark.parametrize(
    ("minimum", "other_band", "expected"),
    [
        (0.0, (2000.0, 3000.0), None),  # touching bands, zero minimum
        (300.0, (2000.0, 3000.0), 0.0),  # touching bands, a minimum
        (300.0, (2300.0, 3000.0), None),  # exactly at the minimum
        (300.0, (2299.0, 3000.0), 299.0),  # just inside
        (300.0, (500.0, 700.0), None),  # 300 m below: at the minimum
        (300.0, (500.0, 701.0), 299.0),
        (0.0, (1999.0, 3000.0), 0.0),  # overlapping bands always conflict
    ],
)
def test_altitude_bands(minimum, other_band, expected):
    """DCF-CFL-004: against 1000 to 2000 m, bands touching, at the minimum (clear) and just inside it."""
    separation = SeparationMinima(lateral_m=5 * NM, vertical_m=minimum, time=timedelta(0))
    found = conflicts(
        [notice(volume(polygon=HAMA_DIAMOND, band=other_band))], checked(volume(polygon=HAMA_DIAMOND)), separation
    )
    if expected is None:
        assert found == []
    else:
        assert one(found).vertical_distance_m == pytest.approx(expected)


def test_msl_and_flight_levels_compare_in_metres():
    """DCF-CFL-004: MSL and STD are comparable (DCF-GEO-018), by their values in metres."""
    # 1000 to 2000 m MSL against FL70 to FL90 (2133.6 m to 2743.2 m): 133.6 m apart.
    stored = notice(volume(polygon=HAMA_DIAMOND, band=(70.0, 90.0), reference=STD))
    assert one(conflicts([stored], checked(volume(polygon=HAMA_DIAMOND)))).vertical_distance_m == pytest.approx(133.6)
    clear = notice(volume(polygon=HAMA_DIAMOND, band=(100.0, 120.0), reference=STD))  # 1048 m above
    assert conflicts([clear], checked(volume(polygon=HAMA_DIAMOND))) == []
    # "MSL 0 to FL100" against a band above it.
    mixed = checked(volume(polygon=HAMA_DIAMOND, band=(0.0, 100.0), reference=MSL, upper_reference=STD))
    assert one(conflicts([notice(volume(polygon=HAMA_DIAMOND, band=(3200.0, 4000.0)))], mixed)).vertical_distance_m == (
        pytest.approx(3200.0 - 3048.0)
    )


@pytest.mark.parametrize("reference", [AGL, W84])
def test_incomparable_altitudes_are_treated_as_overlapping(reference):
    """DCF-CFL-005: AGL or W84 against MSL overlap vertically, however far apart the numbers."""
    far_above = notice(volume(polygon=HAMA_DIAMOND, band=(8000.0, 9000.0), reference=reference))
    found = one(conflicts([far_above], checked(volume(polygon=HAMA_DIAMOND))))
    assert found.vertical_distance_m == 0.0
    # Comparable with itself: the same bands are then far apart.
    assert conflicts([far_above], checked(volume(polygon=HAMA_DIAMOND, reference=reference))) == []


def test_all_three_axes_must_be_close():
    """DCF-CFL-001: clear on any one axis is clear."""
    near = dict(polygon=HAMA_DIAMOND)
    assert conflicts([notice(volume(**near))], checked(volume(**near)))
    assert not conflicts([notice(volume(**near, band=(5000.0, 6000.0)))], checked(volume(**near)))
    assert not conflicts([notice(volume(**near, start=T0 + 2 * HOUR, end=T0 + 3 * HOUR))], checked(volume(**near)))
    assert not conflicts([notice(volume(polygon=diamond(*LATAKIA)))], checked(volume(**near)))


# -- DCF-CFL-008, 009: which notices are checked


def test_the_same_owner_never_conflicts():
    """DCF-CFL-008: only notices whose owner differs from the incoming notice's are checked."""
    stored = notice(volume(polygon=HAMA_DIAMOND), owner="party-a")
    assert conflicts([stored], checked(volume(polygon=HAMA_DIAMOND), owner="party-a")) == []
    assert conflicts([stored], checked(volume(polygon=HAMA_DIAMOND), owner="party-c"))


@pytest.mark.parametrize(
    ("incoming_exercise", "stored_exercise"), [(False, False), (False, True), (True, False), (True, True)]
)
def test_exercise_only_meets_exercise(incoming_exercise, stored_exercise):
    """DCF-CFL-009: an exercise never hides or invents a real conflict."""
    found = conflicts(
        [notice(volume(polygon=HAMA_DIAMOND))],
        checked(volume(polygon=HAMA_DIAMOND)),
        exercise=incoming_exercise,
        stored_exercise=stored_exercise,
    )
    assert bool(found) is (incoming_exercise == stored_exercise)


# -- DCF-CFL-014, 015: priority


def test_an_emergency_over_a_routine_notice_is_not_a_conflict():
    """DCF-CFL-014: the agreement lets an emergency be filed over a routine notice."""
    stored = notice(volume(polygon=HAMA_DIAMOND), category=ROUTINE)
    assert conflicts([stored], checked(volume(polygon=HAMA_DIAMOND), category=EMERGENCY), rules=EMERGENCY_FIRST) == []
    # Without the rule in the agreement, it is one.
    assert conflicts([stored], checked(volume(polygon=HAMA_DIAMOND), category=EMERGENCY))


def test_a_routine_notice_over_an_emergency_is_a_conflict():
    """DCF-CFL-015: priority applies in one direction only."""
    stored = notice(volume(polygon=HAMA_DIAMOND), category=EMERGENCY)
    assert conflicts([stored], checked(volume(polygon=HAMA_DIAMOND), category=ROUTINE), rules=EMERGENCY_FIRST)
    # And a category the rule does not name is not exempt either.
    medevac = notice(volume(polygon=HAMA_DIAMOND), category=NoticeCategory.MEDEVAC)
    assert conflicts([medevac], checked(volume(polygon=HAMA_DIAMOND), category=EMERGENCY), rules=EMERGENCY_FIRST)


# -- DCF-CFL-016, 018: reporting


def test_each_pair_is_reported_with_its_indices_in_order():
    """DCF-CFL-016, DCF-CFL-018: one entry per pair of volumes, by owner, notice id, volume_index and
    other_volume_index."""
    stored = [
        notice(volume(polygon=diamond(*HOMS)), volume(polygon=diamond(*LATAKIA)), volume(polygon=HAMA_DIAMOND),
               owner="party-c", notice_id="c-7", version=3),
        notice(volume(polygon=HAMA_DIAMOND), owner="party-b", notice_id="b-2", version=5),
        notice(volume(polygon=diamond(*HOMS)), owner="party-b", notice_id="b-1", version=1),
    ]  # fmt: skip
    incoming = checked(volume(polygon=HAMA_DIAMOND), volume(polygon=diamond(*HOMS)))
    found = conflicts(stored, incoming)
    assert [(c.owner, c.notice_id, c.version, c.volume_index, c.other_volume_index) for c in found] == [
        ("party-b", "b-1", 1, 1, 0),
        ("party-b", "b-2", 5, 0, 0),
        ("party-c", "c-7", 3, 0, 2),
        ("party-c", "c-7", 3, 1, 0),
    ]
    assert {c.channel_id for c in found} == {CHANNEL}
    assert found[0].to_model() == ConflictingNotice(
        notice_id="b-1", version=1, owner="party-b", volume_index=1, other_volume_index=0,
        lateral_distance_m=0.0, vertical_distance_m=0.0,
    )  # fmt: skip


# -- the index's upkeep


def test_put_replaces_a_notices_volumes():
    index = ConflictIndex()
    index.put(notice(volume(polygon=HAMA_DIAMOND), volume(polygon=diamond(*IDLIB))), channel_id=CHANNEL)
    assert len(index) == 2
    index.put(notice(volume(polygon=diamond(*HOMS)), version=2), channel_id="channel-ac")
    assert len(index) == 1
    assert index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION) == []
    found = one(index.conflicts(checked(volume(polygon=diamond(*HOMS))), SEPARATION))
    assert (found.version, found.channel_id) == (2, "channel-ac")
    # Replacing an operational notice by an exercise one moves it to the exercise side.
    index.put(notice(volume(polygon=diamond(*HOMS)), version=3), channel_id=CHANNEL, exercise=True)
    assert index.conflicts(checked(volume(polygon=diamond(*HOMS))), SEPARATION) == []
    assert one(index.conflicts(checked(volume(polygon=diamond(*HOMS))), SEPARATION, exercise=True)).version == 3


def test_remove_and_a_notice_no_longer_active():
    index = ConflictIndex()
    index.put(notice(volume(polygon=HAMA_DIAMOND)), channel_id=CHANNEL)
    index.put(notice(volume(polygon=HAMA_DIAMOND), notice_id="notice-2"), channel_id=CHANNEL)
    index.remove("party-b", "notice-1")
    index.remove("party-b", "notice-1")  # absent: nothing happens
    index.remove("party-z", "notice-2")  # another owner's id: nothing happens
    assert len(index) == 1
    assert one(index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION)).notice_id == "notice-2"
    index.put(
        notice(volume(polygon=HAMA_DIAMOND), notice_id="notice-2", state=NoticeState.CANCELLED), channel_id=CHANNEL
    )
    assert len(index) == 0
    assert index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION) == []


def test_put_many_loads_an_empty_index_in_bulk_and_then_adds():
    places = [HAMA, HOMS, IDLIB, HAMA]
    notices = [notice(volume(polygon=diamond(*place)), notice_id=f"n-{i}") for i, place in enumerate(places)]
    entries = [IndexedNotice.from_notice(n, channel_id=CHANNEL, exercise=n.notice_id == "n-3") for n in notices]
    index = ConflictIndex()
    index.put_many(entries)
    index.put_many(entries[:1])  # no longer empty: one at a time
    assert len(index) == 4
    assert [c.notice_id for c in index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION)] == ["n-0"]
    assert [c.notice_id for c in index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION, exercise=True)] == [
        "n-3"
    ]
    index.remove("party-b", "n-0")
    assert index.conflicts(checked(volume(polygon=HAMA_DIAMOND)), SEPARATION) == []


# -- near the poles and the antimeridian


@pytest.mark.parametrize("share", [0.98, 1.02])
def test_near_a_pole_on_one_meridian(share):
    gap = share * SEPARATION.lateral_m
    south = diamond(86.0, 20.0)
    north = diamond_north_of(86.0 + degrees(3000.0), 20.0, gap)
    found = conflicts([notice(volume(polygon=north))], checked(volume(polygon=south)))
    if share > 1.0:
        assert found == []
    else:
        assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-3)


@pytest.mark.parametrize("share", [0.98, 1.02])
def test_across_a_pole(share):
    """Two triangles pointing at the North Pole from opposite meridians: their tips are 0.4 degree apart."""
    apart = EARTH_RADIUS_M * math.radians(0.4)
    near_side = [(89.8, 0.0), (89.0, -5.0), (89.0, 5.0)]
    far_side = [(89.8, 180.0), (89.0, 175.0), (89.0, 180.0)]
    separation = SeparationMinima(lateral_m=apart / share, vertical_m=0.0, time=timedelta(0))
    found = conflicts([notice(volume(polygon=far_side))], checked(volume(polygon=near_side)), separation)
    if share > 1.0:
        assert found == []
    else:
        assert one(found).lateral_distance_m == pytest.approx(apart, rel=1e-3)


@pytest.mark.parametrize("share", [0.98, 1.02])
@pytest.mark.parametrize("across", [False, True])
def test_near_the_antimeridian(share, across):
    """Two diamonds on the equator (a great circle) pointing at each other by 179.9 E, on one side of the
    antimeridian or on either side of it."""
    gap = share * SEPARATION.lateral_m
    west_tip = 179.8 if not across else 180.0 - degrees(gap) / 2
    east_tip = west_tip + degrees(gap)
    half = degrees(3000.0)
    west = [(0.0, west_tip), (-half, west_tip - half), (0.0, west_tip - 2 * half), (half, west_tip - half)]
    east = [(0.0, east_tip), (half, east_tip + half), (0.0, east_tip + 2 * half), (-half, east_tip + half)]
    if across:
        east = [(lat, lon - 360.0) for lat, lon in east]
        assert all(-180.0 < lon < -179.0 for _, lon in east)
    assert all(-180.0 <= lon <= 180.0 for _, lon in west + east)
    for stored, incoming in [(east, west), (west, east)]:
        found = conflicts([notice(volume(polygon=stored))], checked(volume(polygon=incoming)))
        if share > 1.0:
            assert found == []
        else:
            assert one(found).lateral_distance_m == pytest.approx(gap, rel=1e-3)


def test_a_circle_near_the_antimeridian_finds_a_polygon_across_it():
    circle = volume(circle=(-17.0, 179.95, 2000.0))
    across = [(-17.05, -179.99), (-16.95, -179.99), (-17.0, -179.9)]
    found = one(conflicts([notice(volume(polygon=across))], checked(circle)))
    expected = great_circle_m(unit_vector(-17.0, 179.95), unit_vector(-17.0, -179.99)) - 2000.0
    assert found.lateral_distance_m == pytest.approx(expected, rel=2e-3)


# -- properties


ANCHORS = {"syria": (35.3, 36.7), "pole": (89.45, 0.0), "antimeridian": (-16.5, 180.0)}
PARTIES = ("party-a", "party-b", "party-c")


@st.composite
def nearby_volumes(draw: st.DrawFn, region: str) -> Volume4D:
    """Volumes a few km to tens of km across, close enough together to conflict often."""
    latitude, longitude = ANCHORS[region]
    if region == "pole":
        latitude += draw(st.floats(-0.15, 0.1))
        longitude = draw(st.floats(-120.0, 120.0))
    elif region == "antimeridian":
        latitude += draw(st.floats(-0.2, 0.2))
        # Wholly on one side or the other: a shape never crosses the antimeridian (DCF-GEO-007).
        longitude = draw(st.sampled_from([1.0, -1.0])) * draw(st.floats(179.65, 179.8))
    else:
        latitude += draw(st.floats(-0.3, 0.3))
        longitude += draw(st.floats(-0.3, 0.3))
    size_m = draw(st.floats(300.0, 15_000.0))
    lower = draw(st.floats(0.0, 3000.0))
    thickness = draw(st.floats(50.0, 1500.0))
    reference = draw(st.sampled_from([MSL, MSL, STD, AGL, W84]))
    if reference == STD:
        band = (round(lower / 30.48), round(lower / 30.48) + max(1, round(thickness / 30.48)))
    else:
        band = (lower, lower + thickness)
    start = T0 + timedelta(minutes=draw(st.integers(0, 180)))
    end = start + timedelta(minutes=draw(st.integers(1, 120)))
    timing = dict(band=band, reference=reference, start=start, end=end)
    if draw(st.booleans()):
        return volume(circle=(latitude, longitude, size_m), **timing)
    count = draw(st.integers(3, 8))
    turn = draw(st.floats(0.0, 2 * math.pi))
    vertices = []
    for index in range(count):
        jitter = draw(st.floats(-0.3, 0.3))
        reach = degrees(size_m) * draw(st.floats(0.5, 1.0))
        bearing = turn + (index + jitter) * 2 * math.pi / count
        vertices.append(
            (
                latitude + reach * math.sin(bearing),
                longitude + reach * math.cos(bearing) / math.cos(math.radians(latitude)),
            )
        )
    return volume(polygon=vertices, **timing)


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[tuple[str, FlightNotice | tuple[str, str], bool]], FlightNotice, bool]:
    region = draw(st.sampled_from(list(ANCHORS)))
    steps: list[tuple[str, FlightNotice | tuple[str, str], bool]] = []
    for _ in range(draw(st.integers(1, 12))):
        owner, notice_id = draw(st.sampled_from(PARTIES)), f"n-{draw(st.integers(0, 5))}"
        if draw(st.integers(0, 9)) == 0:
            steps.append(("remove", (owner, notice_id), False))
            continue
        volumes = draw(st.lists(nearby_volumes(region), min_size=1, max_size=3))
        category = draw(st.sampled_from(list(NoticeCategory)))
        state = draw(st.sampled_from([NoticeState.ACTIVE] * 5 + [NoticeState.CANCELLED]))
        stored = notice(*volumes, owner=owner, notice_id=notice_id, category=category, state=state)
        steps.append(("put", stored, draw(st.booleans())))
    volumes = draw(st.lists(nearby_volumes(region), min_size=1, max_size=3))
    incoming = checked(
        *volumes, owner=draw(st.sampled_from(PARTIES)), category=draw(st.sampled_from(list(NoticeCategory)))
    )
    return steps, incoming, draw(st.booleans())


separations = st.builds(
    SeparationMinima,
    lateral_m=st.sampled_from([0.0, 500.0, 5 * NM, 20_000.0, 60_000.0]),
    vertical_m=st.sampled_from([0.0, 150.0, 1000 * FOOT]),
    time=st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta(minutes=30)]),
)


@st.composite
def valid_priority_rules(draw: st.DrawFn) -> list[PriorityRule]:
    rules = []
    for category in draw(st.lists(st.sampled_from(list(NoticeCategory)), max_size=2, unique=True)):
        others = [c for c in NoticeCategory if c != category]
        rules.append(
            PriorityRule(
                category=category,
                overrides=draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True)),
            )
        )
    return rules


@settings(max_examples=120, deadline=None)
@given(scene=scenes(), separation=separations, rules=valid_priority_rules())
def test_the_index_answers_as_a_scan_of_every_volume(scene, separation, rules):
    """DCF-CFL-011: the tree never misses a conflict the scan finds, nor reports one it does not, after any
    sequence of puts, replacements and removals."""
    steps, incoming, exercise = scene
    index = ConflictIndex()
    expected: dict[tuple[str, str], int] = {}
    for action, subject, stored_exercise in steps:
        if action == "remove":
            assert isinstance(subject, tuple)
            index.remove(*subject)
            expected.pop(subject, None)
        else:
            assert isinstance(subject, FlightNotice)
            index.put(subject, channel_id=CHANNEL, exercise=stored_exercise)
            expected.pop((subject.owner, subject.notice_id), None)
            if subject.state == NoticeState.ACTIVE:
                expected[(subject.owner, subject.notice_id)] = len(subject.volumes)
    assert len(index) == sum(expected.values())
    found = index.conflicts(incoming, separation, rules, exercise=exercise)
    assert found == index.scan(incoming, separation, rules, exercise=exercise)
    for conflict in found:
        assert conflict.owner != incoming.owner
        assert (
            0.0 <= conflict.lateral_distance_m < max(separation.lateral_m, 1e-9) or conflict.lateral_distance_m == 0.0
        )


def _destination(latitude: float, longitude: float, bearing: float, distance_m: float) -> tuple[float, float]:
    phi, lam, delta = math.radians(latitude), math.radians(longitude), distance_m / EARTH_RADIUS_M
    end_phi = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(bearing))
    end_lam = lam + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(end_phi)
    )
    return math.degrees(end_phi), (math.degrees(end_lam) + 540.0) % 360.0 - 180.0


@settings(max_examples=300, deadline=None)
@given(
    latitude=st.floats(-89.9, 89.9),
    longitude=st.floats(-180.0, 180.0),
    extent=st.tuples(st.floats(0.0, 2.0), st.floats(0.0, 2.0)),
    inside=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
    lateral=st.floats(0.0, 200_000.0),
    bearing=st.floats(0.0, 2 * math.pi),
    share=st.floats(0.0, 1.0),
)
def test_search_boxes_hold_every_point_closer_than_the_minimum(
    latitude, longitude, extent, inside, lateral, bearing, share
):
    west, south = longitude, latitude
    east, north = min(180.0, west + extent[0]), min(90.0, south + extent[1])
    point_latitude = south + inside[1] * (north - south)
    point_longitude = west + inside[0] * (east - west)
    near = _destination(point_latitude, point_longitude, bearing, share * lateral)
    boxes = search_boxes((west, south, east, north), lateral)
    assert any(w <= near[1] <= e and s <= near[0] <= n for w, s, e, n in boxes) or abs(near[0]) == 90.0


@settings(max_examples=200, deadline=None)
@given(
    centre=st.tuples(st.floats(-89.0, 89.0), st.floats(-180.0, 180.0)),
    points=st.lists(st.tuples(st.floats(0.0, 2 * math.pi), st.floats(0.0, 300_000.0)), min_size=2, max_size=2),
)
def test_the_frame_keeps_distances_from_its_centre_and_never_shrinks_others(centre, points):
    frame = Frame(unit_vector(*centre))
    ends = [_destination(*centre, bearing, distance) for bearing, distance in points]
    vectors = unit_vectors(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))
    planar = frame.project(vectors)
    for (_, distance), (x, y) in zip(points, planar, strict=True):
        assert math.hypot(x, y) == pytest.approx(distance, abs=1e-3)
    sphere = great_circle_m(tuple(vectors[0]), tuple(vectors[1]))
    flat = math.hypot(*(planar[0] - planar[1]))
    rho = max(distance for _, distance in points) / EARTH_RADIUS_M
    assert sphere - 1e-3 <= flat <= sphere * (rho / math.sin(rho) if rho else 1.0) + 1e-3


def _dense_reference_m(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> float:
    """The least great-circle distance between points about every half metre along both outlines (edges
    straight in longitude and latitude), near the closest pair of a coarse pass every 200 m."""

    def along(ring: list[tuple[float, float]], step_m: float) -> np.ndarray:
        latitudes, longitudes = [], []
        for (lat1, lng1), (lat2, lng2) in zip(ring, ring[1:] + ring[:1], strict=True):
            across = (lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
            count = max(1, math.ceil(math.hypot(lat2 - lat1, across) * 111_195.0 / step_m))
            fraction = np.arange(count) / count
            latitudes.append(lat1 + fraction * (lat2 - lat1))
            longitudes.append(lng1 + fraction * (lng2 - lng1))
        return np.column_stack((np.concatenate(latitudes), np.concatenate(longitudes)))

    def closest(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        dots = unit_vectors(a[:, 0], a[:, 1]) @ unit_vectors(b[:, 0], b[:, 1]).T
        i, j = np.unravel_index(np.argmax(dots), dots.shape)
        return EARTH_RADIUS_M * math.acos(min(1.0, dots[i, j])), a[i], b[j]

    def near(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
        scale = math.cos(math.radians(centre[0]))
        metres = np.hypot(points[:, 0] - centre[0], (points[:, 1] - centre[1]) * scale) * 111_195.0
        return points[metres < 1500.0]

    coarse, near_first, near_second = closest(along(first, 200.0), along(second, 200.0))
    fine = closest(near(along(first, 0.5), near_first), near(along(second, 0.5), near_second))[0]
    return min(coarse, fine)


@pytest.mark.parametrize("latitude", [0.0, 35.0, 70.0, 84.0])
def test_lateral_distance_agrees_with_a_dense_reference(latitude):
    """DCF-CFL-007: random polygons 10 to 50 km apart, within 0.05 % of a dense great-circle reference
    (a tenth of the band conforming methods may differ by)."""
    rng = np.random.default_rng(int(latitude))
    for _ in range(2):
        rings = []
        for centre_latitude in (latitude, latitude + rng.uniform(0.6, 0.8)):
            angles = (np.arange(8) + rng.uniform(-0.3, 0.3, 8)) * math.pi / 4
            reach = rng.uniform(0.1, 0.25, 8)
            scale = math.cos(math.radians(centre_latitude))
            ring = [
                (centre_latitude + r * math.sin(a), 20.0 + r * math.cos(a) / scale)
                for a, r in zip(angles, reach, strict=True)
            ]
            rings.append(ring)
        first, second = (PolygonOutline([v[1] for v in ring], [v[0] for v in ring]) for ring in rings)
        assert not first.lonlat.intersects(second.lonlat)
        distance = lateral_distance(first, second, math.inf)
        assert distance is not None
        assert distance == pytest.approx(_dense_reference_m(*rings), rel=5e-4)


def test_a_circle_is_never_polygonised():
    """The distance from a circle is the distance from its centre less its radius, whatever the radius."""
    square = PolygonOutline([36.0, 36.1, 36.1, 36.0], [35.0, 35.0, 35.1, 35.1])
    centre = (35.05 + 0.5, 36.05)
    to_centre = lateral_distance(CircleOutline(*centre, 1.0), square, math.inf)
    assert to_centre is not None
    for radius in (1000.0, 20_000.0, 49_000.0):
        assert lateral_distance(CircleOutline(*centre, radius), square, math.inf) == pytest.approx(
            to_centre + 1.0 - radius, abs=1e-6
        )
