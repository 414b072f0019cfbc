"""Geometry: points, outlines, altitudes with their datum, and 3D / 4D volumes.

Antimeridian policy (DCF-GEO-007): a polygon edge joins its vertices the short way
in longitude; an edge whose ends differ by more than 180° of longitude would cross
the antimeridian and is refused, naming the vertex, so the sender splits the area
into two polygons at ±180°. A circle whose extent reaches past ±180° or past a
pole is refused the same way.
"""

from __future__ import annotations

import math
import struct
from itertools import chain
from operator import attrgetter
from typing import Self

import shapely
from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse
from deconflict.models.types import FiniteFloat, Latitude, Longitude, ProtoEnum, UtcTime

# Metres per degree of latitude on a sphere of the WGS84 mean radius: enough for
# the conservative extent checks here (exact distances use a projection).
METRES_PER_DEGREE = 111_195.0
FEET = 0.3048
# A polygon whose hull covers less than this share of its extent squared is a line.
_FLAT = 1e-9


class AltitudeReference(ProtoEnum):
    W84 = 1
    MSL = 2
    AGL = 3
    STD = 4


class AltitudeUnit(ProtoEnum):
    METRES = 1
    FEET = 2
    FLIGHT_LEVEL = 3


class LatLng(Message):
    latitude: Latitude
    longitude: Longitude


class Polygon(Message):
    # The coordinates validation reads, kept for the conflict check (conflict/volume.py). A slot, not a field:
    # never compared, copied or pickled with the model, and read again from the vertices when unset.
    __slots__ = ("_coordinates",)

    vertices: list[LatLng] = Field(max_length=limits.MAX_VERTICES)

    @model_validator(mode="after")
    def _simple_polygon(self) -> Self:
        coordinates = _coordinates(self.vertices)
        shape = _lonlat_polygon(coordinates)
        if shape is None or not _plainly_valid(shape):
            _refuse_bad_ring(coordinates, shape)
        object.__setattr__(self, "_coordinates", coordinates)
        return self

    @property
    def coordinates(self) -> tuple[float, ...]:
        """Longitude and latitude of each vertex in turn: (lon0, lat0, lon1, lat1, ...)."""
        coordinates: tuple[float, ...] | None = getattr(self, "_coordinates", None)
        if coordinates is None:
            coordinates = _coordinates(self.vertices)
            object.__setattr__(self, "_coordinates", coordinates)
        return coordinates


_LONGITUDE_LATITUDE = attrgetter("longitude", "latitude")


def _coordinates(vertices: list[LatLng]) -> tuple[float, ...]:
    # One flat tuple: compact, and the order well-known binary wants.
    return tuple(chain.from_iterable(map(_LONGITUDE_LATITUDE, vertices)))


def _plainly_valid(shape: shapely.Polygon) -> bool:
    """A cheap sufficient test that the polygon passes every check of _refuse_bad_ring.

    A closed ring is at least twice as long as its extent in either axis. So with a perimeter of
    at most 180 degrees no edge spans 180 degrees of longitude, and a simple polygon (whose area is
    at most its hull's) with an area above twice the zero-area bound of an extent of half the
    perimeter is not flat, whatever the rounding.
    """
    perimeter: float = shape.length
    return perimeter <= 180.0 and bool(shape.is_valid) and shape.area > _FLAT * perimeter**2 / 2.0


def _refuse_bad_ring(coordinates: tuple[float, ...], shape: shapely.Polygon | None) -> None:
    """The polygon checks in the order of their refusals: distinct vertices (DCF-GEO-005), antimeridian
    (DCF-GEO-007), zero area (DCF-GEO-009), simple (DCF-GEO-010)."""
    longitudes = coordinates[0::2]
    if len(set(zip(longitudes, coordinates[1::2], strict=True))) < 3:
        raise refuse("vertices", "a polygon needs at least 3 distinct vertices")
    for index in range(len(longitudes)):
        if abs(longitudes[index - 1] - longitudes[index]) > 180.0:
            raise refuse(
                f"vertices.{index}",
                "the edge to this vertex crosses the antimeridian: split the polygon at 180 degrees",
            )
    assert shape is not None  # 3 distinct vertices make a ring of at least 4 points
    # Collinear decimal degrees rarely give an area of exactly 0 in binary floating
    # point: compare the hull with the square of the extent instead.
    west, south, east, north = shape.bounds
    if shape.convex_hull.area <= _FLAT * max(east - west, north - south) ** 2:
        raise refuse("vertices", "the polygon has zero area (its vertices are on one line)")
    if not shape.is_valid:
        raise refuse("vertices", "the polygon is not simple: {reason}", reason=shapely.is_valid_reason(shape))


# Well-known binary of a polygon of one ring of n points, little-endian: byte order, type 3, 1 ring, n, the points.
_WKB_POLYGON = tuple(struct.Struct(f"<BIII{2 * n}d") for n in range(limits.MAX_VERTICES + 2))


def _lonlat_polygon(coordinates: tuple[float, ...]) -> shapely.Polygon | None:
    """The ring as shapely.Polygon makes it, closed, in the plane of longitude and latitude;
    None when it would have fewer than the 4 points of a ring.

    Through WKB: for one small ring that costs half what shapely.Polygon or shapely.polygons do.
    """
    if coordinates[:2] != coordinates[-2:]:
        coordinates = (*coordinates, *coordinates[:2])
    points = len(coordinates) // 2
    if points < 4:
        return None
    return shapely.from_wkb(_WKB_POLYGON[points].pack(1, 3, 1, points, *coordinates))


class Circle(Message):
    center: LatLng
    radius_m: FiniteFloat = Field(gt=0.0, le=limits.MAX_RADIUS_M)

    @model_validator(mode="after")
    def _inside_the_map(self) -> Self:
        reach = self.radius_m / METRES_PER_DEGREE
        if abs(self.center.latitude) + reach >= 90.0:
            raise refuse("radius_m", "the circle reaches a pole: send it as a polygon")
        span = reach / math.cos(math.radians(abs(self.center.latitude) + reach))
        if abs(self.center.longitude) + span > 180.0:
            raise refuse("radius_m", "the circle crosses the antimeridian: send two polygons split at 180 degrees")
        return self


class Altitude(Message):
    value: FiniteFloat
    reference: AltitudeReference
    unit: AltitudeUnit

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.unit == AltitudeUnit.FLIGHT_LEVEL) != (self.reference == AltitudeReference.STD):
            raise refuse("unit", "flight levels go with the STD reference, and only with it")
        if not limits.MIN_ALTITUDE_M <= self.metres <= limits.MAX_ALTITUDE_M:
            raise refuse(
                "value",
                "must be between {low} m and {high} m",
                low=limits.MIN_ALTITUDE_M,
                high=limits.MAX_ALTITUDE_M,
            )
        return self

    @property
    def metres(self) -> float:
        """The value in metres above the reference."""
        unit, value = self.unit, self.value
        if unit == AltitudeUnit.METRES:
            return value
        if unit == AltitudeUnit.FEET:
            return value * FEET
        return value * 100.0 * FEET


# Altitudes above mean sea level and flight levels are compared by their value in
# metres, as airspace limits routinely mix them; no other pair can be ordered
# without terrain or geoid data.
_COMPARABLE = {frozenset({AltitudeReference.MSL, AltitudeReference.STD})}


def comparable(first: AltitudeReference, second: AltitudeReference) -> bool:
    """Whether two altitudes with these references can be ordered by their value in metres."""
    return first == second or frozenset({first, second}) in _COMPARABLE


class Volume3D(Message):
    polygon: Polygon | None = None
    circle: Circle | None = None
    altitude_lower: Altitude
    altitude_upper: Altitude

    @model_validator(mode="after")
    def _one_outline_and_ordered(self) -> Self:
        if (self.polygon is None) == (self.circle is None):
            raise refuse("outline", "exactly one of polygon and circle must be set")
        lower, upper = self.altitude_lower, self.altitude_upper
        if not comparable(lower.reference, upper.reference):
            raise refuse(
                "altitude_upper.reference",
                "must be the reference of altitude_lower (MSL and STD may be mixed, as in 'MSL 0 to FL100')",
            )
        if upper.metres <= lower.metres:
            raise refuse("altitude_upper", "must be above altitude_lower")
        return self


class Volume4D(Message):
    volume: Volume3D
    time_start: UtcTime
    time_end: UtcTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.time_end <= self.time_start:
            raise refuse("time_end", "must be after time_start")
        if self.time_end - self.time_start > limits.MAX_DURATION:
            raise refuse("time_end", "the volume must not last longer than {limit}", limit=str(limits.MAX_DURATION))
        return self
