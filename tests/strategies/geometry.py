"""Strategies for valid geometry: points, convex polygons, circles, altitudes, 3D / 4D volumes.

Shapes stay between latitudes -60 and 60 and longitudes -170 and 170, so none
reaches a pole or the antimeridian. Times are in UTC with microsecond precision,
the precision of the protocol's timestamps.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import assume
from hypothesis import strategies as st

from deconflict import limits
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

MAX_CENTRE_LATITUDE = 60.0
MAX_CENTRE_LONGITUDE = 170.0
EARLIEST = datetime(2000, 1, 1)
LATEST = datetime(2100, 1, 1)

_FEET = 0.3048


def utc_times(min_value: datetime = EARLIEST, max_value: datetime = LATEST) -> st.SearchStrategy[datetime]:
    """Aware UTC datetimes with microsecond precision (bounds are naive, meaning UTC)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(UTC))


def durations(
    min_value: timedelta = timedelta(seconds=1), max_value: timedelta = timedelta(days=30)
) -> st.SearchStrategy[timedelta]:
    """Durations with microsecond precision."""
    return st.timedeltas(min_value=min_value, max_value=max_value)


def _latitudes(limit: float = 90.0) -> st.SearchStrategy[float]:
    return st.floats(min_value=-limit, max_value=limit, allow_nan=False, allow_infinity=False)


def _longitudes(limit: float = 180.0) -> st.SearchStrategy[float]:
    return st.floats(min_value=-limit, max_value=limit, allow_nan=False, allow_infinity=False)


def lat_lngs(max_latitude: float = 90.0, max_longitude: float = 180.0) -> st.SearchStrategy[LatLng]:
    """Any valid point (by default anywhere on Earth, poles and antimeridian included)."""
    return st.builds(LatLng, latitude=_latitudes(max_latitude), longitude=_longitudes(max_longitude))


def centres() -> st.SearchStrategy[LatLng]:
    """Points far enough from the poles and the antimeridian to hold a shape around them."""
    return lat_lngs(MAX_CENTRE_LATITUDE, MAX_CENTRE_LONGITUDE)


@st.composite
def polygons(draw: st.DrawFn, max_vertices: int = 12) -> Polygon:
    """Convex polygons: vertices on a circle around a centre, one in each equal sector.

    Each vertex keeps away from its sector's edges, so no two are close to one line
    and the polygon is simple with a clear area.
    """
    centre = draw(centres())
    radius = draw(st.floats(min_value=0.01, max_value=2.0))
    count = draw(st.integers(min_value=3, max_value=max_vertices))
    sector = 2 * math.pi / count
    turn = draw(st.floats(min_value=0.0, max_value=2 * math.pi))
    vertices = []
    for index in range(count):
        jitter = draw(st.floats(min_value=-0.3, max_value=0.3))
        angle = turn + sector * (index + jitter)
        vertices.append(
            LatLng(
                latitude=centre.latitude + radius * math.sin(angle),
                longitude=centre.longitude + radius * math.cos(angle),
            )
        )
    return Polygon(vertices=vertices)


@st.composite
def circles(draw: st.DrawFn) -> Circle:
    radius = draw(st.floats(min_value=1.0, max_value=50_000.0, allow_nan=False, allow_infinity=False))
    return Circle(center=draw(centres()), radius_m=radius)


def _factor(unit: AltitudeUnit) -> float:
    """Metres per unit."""
    return {AltitudeUnit.METRES: 1.0, AltitudeUnit.FEET: _FEET, AltitudeUnit.FLIGHT_LEVEL: 100 * _FEET}[unit]


def _units(reference: AltitudeReference) -> st.SearchStrategy[AltitudeUnit]:
    if reference == AltitudeReference.STD:
        return st.just(AltitudeUnit.FLIGHT_LEVEL)
    return st.sampled_from([AltitudeUnit.METRES, AltitudeUnit.FEET])


def _values(unit: AltitudeUnit, low_m: float, high_m: float) -> st.SearchStrategy[float]:
    """Values in `unit` whose height in metres lies in [low_m, high_m], with a margin for rounding."""
    factor = _factor(unit)
    return st.floats(min_value=low_m / factor, max_value=high_m / factor, allow_nan=False, allow_infinity=False)


@st.composite
def altitudes(draw: st.DrawFn, reference: AltitudeReference | None = None) -> Altitude:
    """Any valid altitude; flight levels always with STD."""
    chosen = draw(st.sampled_from(list(AltitudeReference))) if reference is None else reference
    unit = draw(_units(chosen))
    low = 0.0 if unit == AltitudeUnit.FLIGHT_LEVEL else limits.MIN_ALTITUDE_M + 1.0
    value = draw(_values(unit, low, limits.MAX_ALTITUDE_M - 1.0))
    return Altitude(value=value, reference=chosen, unit=unit)


@st.composite
def altitude_bands(draw: st.DrawFn) -> tuple[Altitude, Altitude]:
    """(lower, upper): comparable references, upper at least a metre above lower.

    Mostly one reference for both; sometimes MSL and STD mixed, as in "MSL 0 to FL100".
    """
    same = draw(st.sampled_from(list(AltitudeReference)))
    mixed = draw(st.permutations([AltitudeReference.MSL, AltitudeReference.STD]))
    lower_reference, upper_reference = draw(st.sampled_from([(same, same), (same, same), tuple(mixed)]))
    lower_unit, upper_unit = draw(_units(lower_reference)), draw(_units(upper_reference))
    floor = 0.0 if lower_unit == AltitudeUnit.FLIGHT_LEVEL else limits.MIN_ALTITUDE_M + 1.0
    lower = Altitude(
        value=draw(_values(lower_unit, floor, limits.MAX_ALTITUDE_M - 1_000.0)),
        reference=lower_reference,
        unit=lower_unit,
    )
    upper = Altitude(
        value=draw(_values(upper_unit, lower.metres + 1.0, limits.MAX_ALTITUDE_M - 1.0)),
        reference=upper_reference,
        unit=upper_unit,
    )
    assume(upper.metres > lower.metres)
    return lower, upper


@st.composite
def volume3ds(draw: st.DrawFn) -> Volume3D:
    lower, upper = draw(altitude_bands())
    if draw(st.booleans()):
        return Volume3D(polygon=draw(polygons()), altitude_lower=lower, altitude_upper=upper)
    return Volume3D(circle=draw(circles()), altitude_lower=lower, altitude_upper=upper)


@st.composite
def volume4ds(draw: st.DrawFn, min_start: datetime = EARLIEST, max_start: datetime = LATEST) -> Volume4D:
    """A valid 4D volume starting between the bounds (naive, meaning UTC)."""
    start = draw(utc_times(min_start, max_start))
    length = draw(durations(timedelta(microseconds=1), timedelta(days=30)))
    return Volume4D(volume=draw(volume3ds()), time_start=start, time_end=start + length)
