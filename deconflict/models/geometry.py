"""Geometry: points, outlines, altitudes with their datum, and 3D / 4D volumes.

Antimeridian policy (DCF-GEO-007): a polygon edge joins its vertices the short way
in longitude; an edge whose ends differ by more than 180° of longitude would cross
the antimeridian and is refused, naming the vertex, so the sender splits the area
into two polygons at ±180°. A circle whose extent reaches past ±180° or past a
pole is refused the same way.
"""

from __future__ import annotations

import math
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
    vertices: list[LatLng] = Field(max_length=limits.MAX_VERTICES)

    @model_validator(mode="after")
    def _simple_polygon(self) -> Self:
        points = [(v.longitude, v.latitude) for v in self.vertices]
        if len(set(points)) < 3:
            raise refuse("vertices", "a polygon needs at least 3 distinct vertices")
        for index in range(len(points)):
            here, there = points[index - 1], points[index]
            if abs(here[0] - there[0]) > 180.0:
                raise refuse(
                    f"vertices.{index}",
                    "the edge to this vertex crosses the antimeridian: split the polygon at 180 degrees",
                )
        shape = shapely.Polygon(points)
        # Collinear decimal degrees rarely give an area of exactly 0 in binary floating
        # point: compare the hull with the square of the extent instead.
        west, south, east, north = shape.bounds
        if shapely.convex_hull(shape).area <= _FLAT * max(east - west, north - south) ** 2:
            raise refuse("vertices", "the polygon has zero area (its vertices are on one line)")
        if not shape.is_valid:
            raise refuse("vertices", "the polygon is not simple: {reason}", reason=shapely.is_valid_reason(shape))
        return self


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
        if self.unit == AltitudeUnit.METRES:
            return self.value
        if self.unit == AltitudeUnit.FEET:
            return self.value * FEET
        return self.value * 100.0 * FEET


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
        if not comparable(self.altitude_lower.reference, self.altitude_upper.reference):
            raise refuse(
                "altitude_upper.reference",
                "must be the reference of altitude_lower (MSL and STD may be mixed, as in 'MSL 0 to FL100')",
            )
        if self.altitude_upper.metres <= self.altitude_lower.metres:
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
