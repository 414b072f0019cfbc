"""Lateral geometry of the conflict check: outlines, their bounding boxes, and the
distance between two outlines (DCF-CFL-006).

A polygon's edges are straight in the plane of longitude and latitude (DCF-GEO-004);
a circle is the set of points within `radius_m` of its centre on the sphere
(DCF-GEO-011). The distance between two outlines is measured on the sphere:

- circle to circle: the distance between the centres minus both radii, exactly;
- circle to polygon: the distance from the centre to the polygon minus the radius, in
  an azimuthal equidistant frame centred on the circle, which keeps distances from
  its centre exact (never a polygonised circle);
- polygon to polygon: the planar distance in an azimuthal equidistant frame (see
  sphere.Frame for its error bound): the checked polygon's own frame, made once per
  query, when both polygons lie within 300 km of its centre; otherwise a frame that
  starts between the two and moves to the closest points found.

For the frames, each polygon edge is cut into pieces short enough that the
great-circle chord of every piece is within DENSIFY_TOLERANCE_M of the edge. Whether
two polygons overlap, merely touch or are apart is decided exactly, on the
longitudes and latitudes as sent.

Error budget, polygon to polygon: the chords (0.2 m), the curvature of a great circle
in the frame (rho * piece^2 / (24 R^2): 0.12 m for 20 km pieces at 300 km from the
centre), and the frame's scale (at most 0.04 % long at 300 km). For any lateral
minimum of 100 m or more, that is inside the 0.5 % DCF-CFL-007 allows, and for
minima of kilometres it is under 0.05 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import NamedTuple

import numpy as np
import shapely

from deconflict.conflict.sphere import (
    EARTH_RADIUS_M,
    Frame,
    Points,
    Vector,
    angle,
    great_circle_m,
    normalised,
    unit_vector,
    unit_vectors,
)

DENSIFY_TOLERANCE_M = 0.2
# Pieces no longer than this keep a great circle's curvature in the frame negligible.
MAX_PIECE_M = 20_000.0
# A bound on the work one hostile edge can cause; it only matters for edges thousands of km long.
MAX_PIECES_PER_EDGE = 256
# Beyond this distance from the frame's centre, the frame moves to the closest points found.
RECENTRE_M = 300_000.0
RECENTRE_ROUNDS = 3
# Below this planar distance the exact test on longitudes and latitudes says overlap, touch or apart.
CONTACT_M = 1.0
# Added to every bounding box so that rounding never makes a box too small.
MARGIN_DEGREES = 1e-9
# Slack added to the lateral minimum when searching by bounding box: more than the distance
# can be underestimated by the chords (see the error budget above).
SEARCH_SLACK_M = 1.0

Bounds = tuple[float, float, float, float]
"""(west, south, east, north) in degrees."""


class Cap(NamedTuple):
    """A spherical cap holding a whole outline: the cheapest lateral lower bound."""

    centre: Vector
    radius: float  # radians


class CircleOutline:
    __slots__ = ("bounds", "cap", "centre", "latitude", "longitude", "radius_m")

    def __init__(self, latitude: float, longitude: float, radius_m: float) -> None:
        self.latitude = latitude
        self.longitude = longitude
        self.radius_m = radius_m
        self.centre = unit_vector(latitude, longitude)
        self.cap = Cap(self.centre, radius_m / EARTH_RADIUS_M)
        self.bounds = _circle_bounds(latitude, longitude, radius_m)


class PolygonOutline:
    """A polygon's vertices, and what the check derives from them when first needed.

    Only the bounds are computed at once (an indexed notice needs no more until a query finds it).
    """

    __slots__ = ("_cap", "_coordinates", "_kept_vertices", "_lonlat", "_own", "_points", "bounds")

    def __init__(self, longitudes: Sequence[float], latitudes: Sequence[float]) -> None:
        self._take(tuple(chain.from_iterable(zip(longitudes, latitudes, strict=True))))

    @classmethod
    def of_coordinates(cls, coordinates: tuple[float, ...]) -> PolygonOutline:
        """From the longitude and latitude of each vertex in turn, as models.geometry.Polygon.coordinates has them
        (the tuple is kept, not copied)."""
        outline = cls.__new__(cls)
        outline._take(coordinates)
        return outline

    def _take(self, coordinates: tuple[float, ...]) -> None:
        self._coordinates = coordinates
        longitudes, latitudes = coordinates[0::2], coordinates[1::2]
        # Edges are straight in longitude and latitude, so the vertices bound the polygon.
        self.bounds: Bounds = (
            min(longitudes) - MARGIN_DEGREES,
            min(latitudes) - MARGIN_DEGREES,
            max(longitudes) + MARGIN_DEGREES,
            max(latitudes) + MARGIN_DEGREES,
        )
        self._kept_vertices: np.ndarray | None = None
        self._points: Points | None = None
        self._cap: Cap | None = None
        self._lonlat: shapely.Polygon | None = None
        self._own: tuple[Frame, shapely.Polygon] | None = None

    @property
    def longitudes(self) -> np.ndarray:
        row: np.ndarray = self._kept()[0]
        return row

    @property
    def latitudes(self) -> np.ndarray:
        row: np.ndarray = self._kept()[1]
        return row

    def _kept(self) -> np.ndarray:
        """Longitudes and latitudes (two rows) of the vertices that make an edge."""
        if self._kept_vertices is None:
            ring = list(zip(self._coordinates[0::2], self._coordinates[1::2], strict=True))
            # A repeated vertex adds no edge (DCF-GEO-006): drop repeats and the closing vertex.
            kept = [point for index, point in enumerate(ring) if point != ring[index - 1]] or ring[:1]
            self._kept_vertices = np.array(kept, dtype=np.float64).T.copy()
        return self._kept_vertices

    @property
    def points(self) -> Points:
        """Unit vectors along the outline: the vertices and the cuts of every edge."""
        if self._points is None:
            self._points = _densified(self.longitudes, self.latitudes)
        return self._points

    @property
    def cap(self) -> Cap:
        if self._cap is None:
            points = self.points
            x, y, z = (float(value) for value in points.sum(axis=0))
            centre = normalised((x, y, z))
            spread = math.pi
            if centre is not None:
                spread = float(np.arccos(min(1.0, float((points @ np.array(centre)).min()))))
            if centre is None or spread >= math.pi / 2:
                # A cap of a quarter of the Earth or more is not convex: no bound from it.
                self._cap = Cap(centre or (0.0, 0.0, 1.0), math.pi)
            else:
                # The edges stray from the chords by up to the tolerance, and acos loses
                # about 1e-8 radians near 0: widen the cap by a metre more than that.
                self._cap = Cap(centre, spread + (DENSIFY_TOLERANCE_M + 1.0) / EARTH_RADIUS_M)
        return self._cap

    @property
    def own_frame(self) -> tuple[Frame, shapely.Polygon]:
        """A frame centred on this polygon, and the polygon in it: made once, used for every pair."""
        if self._own is None:
            frame = Frame(self.cap.centre)
            self._own = (frame, shapely.polygons(frame.project(self.points)))
        return self._own

    def shifted(self, degrees: float) -> shapely.Polygon:
        """The polygon in the plane of longitude and latitude, moved east by `degrees`."""
        return shapely.polygons(np.column_stack((self.longitudes + degrees, self.latitudes)))

    @property
    def lonlat(self) -> shapely.Polygon:
        """The polygon in the plane of longitude and latitude, where DCF-GEO-004 defines it."""
        if self._lonlat is None:
            self._lonlat = self.shifted(0.0)
        return self._lonlat


Outline = CircleOutline | PolygonOutline


def lateral_distance(first: Outline, second: Outline, minimum_m: float) -> float | None:
    """The lateral distance between two outlines when they are too close (DCF-CFL-002), else None.

    Too close means sharing a part of positive area, or a distance strictly below
    `minimum_m`. The distance is 0 when the areas share a point (DCF-CFL-016), so
    outlines that touch are too close exactly when the minimum is above 0.
    """
    if isinstance(first, CircleOutline) and isinstance(second, CircleOutline):
        gap = great_circle_m(first.centre, second.centre) - first.radius_m - second.radius_m
        return _verdict(gap, minimum_m)
    # The cheapest lower bound: the two bounding caps.
    bound = EARTH_RADIUS_M * (angle(first.cap.centre, second.cap.centre) - first.cap.radius - second.cap.radius)
    if bound > 0.0 and bound >= minimum_m:
        return None
    if isinstance(first, PolygonOutline) and isinstance(second, PolygonOutline):
        return _polygons(first, second, minimum_m)
    circle, polygon = (first, second) if isinstance(first, CircleOutline) else (second, first)
    assert isinstance(circle, CircleOutline)
    assert isinstance(polygon, PolygonOutline)
    return _verdict(_centre_to_polygon_m(circle, polygon) - circle.radius_m, minimum_m)


def _verdict(gap_m: float, minimum_m: float) -> float | None:
    """A negative gap means the interiors overlap; 0 means they touch."""
    if gap_m < 0.0:
        return 0.0
    return gap_m if gap_m < minimum_m else None


def _centre_to_polygon_m(circle: CircleOutline, polygon: PolygonOutline) -> float:
    # Centred on the circle, the frame measures every distance from the centre exactly.
    shape = shapely.polygons(Frame(circle.centre).project(polygon.points))
    return float(shapely.distance(_ORIGIN, shape))


def _polygons(first: PolygonOutline, second: PolygonOutline, minimum_m: float) -> float | None:
    reach = RECENTRE_M / EARTH_RADIUS_M
    if first.cap.radius <= reach and angle(first.cap.centre, second.cap.centre) + second.cap.radius <= reach:
        # Both within RECENTRE_M of the first polygon's centre: its own frame is good everywhere.
        frame, one = first.own_frame
        distance = float(shapely.distance(one, shapely.polygons(frame.project(second.points))))
    else:
        distance = _recentred(first, second)
    if distance <= CONTACT_M:
        contact = _contact(first, second)
        if contact == _OVERLAP:
            return 0.0
        if contact == _TOUCH:
            distance = 0.0
    return distance if distance < minimum_m else None


def _recentred(first: PolygonOutline, second: PolygonOutline) -> float:
    """The distance in a frame that starts between the two and moves to the closest points found."""
    centre = normalised(_sum(first.cap.centre, second.cap.centre)) or first.cap.centre
    distance = math.inf
    for _ in range(RECENTRE_ROUNDS):
        frame = Frame(centre)
        one = shapely.polygons(frame.project(first.points))
        other = shapely.polygons(frame.project(second.points))
        distance = float(shapely.distance(one, other))
        (x1, y1), (x2, y2) = shapely.get_coordinates(shapely.shortest_line(one, other))
        if max(math.hypot(x1, y1), math.hypot(x2, y2)) <= RECENTRE_M:
            break
        centre = frame.unproject((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    return distance


_OVERLAP, _TOUCH, _APART = "overlap", "touch", "apart"
# The interiors of the two shapes intersect (DE-9IM), that is they share a part of positive area.
_INTERIORS_MEET = "T********"
_ORIGIN = shapely.Point(0.0, 0.0)


def _contact(first: PolygonOutline, second: PolygonOutline) -> str:
    """Exactly, on the coordinates as sent: overlap, touch (a shared point, no shared area) or apart.

    A polygon east of the antimeridian and one west of it are compared with the second
    moved by 360 degrees as well, as -180 and 180 are one meridian (DCF-GEO-003).
    """
    touching = False
    for shift in (0.0, 360.0, -360.0):
        if not _boxes_meet(first.bounds, _shifted(second.bounds, shift)):
            continue
        other = second.lonlat if shift == 0.0 else second.shifted(shift)
        if shapely.relate_pattern(first.lonlat, other, _INTERIORS_MEET):
            return _OVERLAP
        touching = touching or bool(shapely.intersects(first.lonlat, other))
    return _TOUCH if touching else _APART


def _shifted(bounds: Bounds, shift: float) -> Bounds:
    return (bounds[0] + shift, bounds[1], bounds[2] + shift, bounds[3])


def _boxes_meet(first: Bounds, second: Bounds) -> bool:
    return first[0] <= second[2] and second[0] <= first[2] and first[1] <= second[3] and second[1] <= first[3]


def _sum(first: Vector, second: Vector) -> Vector:
    return (first[0] + second[0], first[1] + second[1], first[2] + second[2])


def _densified(longitudes: np.ndarray, latitudes: np.ndarray) -> Points:
    """Unit vectors of the vertices and of enough points along each edge that every piece's
    great-circle chord is within DENSIFY_TOLERANCE_M of the edge and no piece is longer than
    MAX_PIECE_M.

    The edge's own midpoint gives its deviation from the chord; a piece 1/n as long
    deviates about 1/n^2 as much, and the factor 2 covers edges whose bend is uneven.
    """
    following = np.arange(1, len(longitudes) + 1) % len(longitudes)
    next_longitudes, next_latitudes = longitudes[following], latitudes[following]
    starts = unit_vectors(latitudes, longitudes)
    ends = starts[following]
    middles = unit_vectors((latitudes + next_latitudes) / 2.0, (longitudes + next_longitudes) / 2.0)
    sx, sy, sz = starts.T
    ex, ey, ez = ends.T
    nx, ny, nz = sy * ez - sz * ey, sz * ex - sx * ez, sx * ey - sy * ex
    sines = np.sqrt(nx * nx + ny * ny + nz * nz)
    lengths_m = EARTH_RADIUS_M * np.arctan2(sines, sx * ex + sy * ey + sz * ez)
    # An edge of zero length on the sphere (along a pole) has no chord and needs no cut.
    off_plane = np.abs(middles[:, 0] * nx + middles[:, 1] * ny + middles[:, 2] * nz)
    deviation_m = EARTH_RADIUS_M * np.arcsin(
        np.minimum(np.divide(off_plane, sines, out=np.zeros_like(sines), where=sines > 1e-15), 1.0)
    )
    pieces = np.maximum(
        np.ceil(np.sqrt(deviation_m * (2.0 / DENSIFY_TOLERANCE_M))), np.ceil(lengths_m * (1.0 / MAX_PIECE_M))
    )
    pieces = np.clip(pieces, 1, MAX_PIECES_PER_EDGE).astype(np.int64)
    if int(pieces.max()) == 1:
        return starts
    edge = np.repeat(np.arange(len(pieces)), pieces)
    first_of_edge = np.cumsum(pieces) - pieces
    fraction = (np.arange(int(pieces.sum())) - first_of_edge[edge]) / pieces[edge]
    return unit_vectors(
        latitudes[edge] + fraction * (next_latitudes - latitudes)[edge],
        longitudes[edge] + fraction * (next_longitudes - longitudes)[edge],
    )


def _circle_bounds(latitude: float, longitude: float, radius_m: float) -> Bounds:
    """The smallest longitude-latitude box holding a spherical cap, widened by a margin.

    Latitude reaches the radius either side; longitude reaches asin(sin(r) / cos(lat)),
    the exact spread of a cap that holds no pole. A cap past a pole or the antimeridian
    (the models refuse both, DCF-GEO-013/014) gets every longitude: conservative.
    """
    reach = radius_m / EARTH_RADIUS_M
    reach_degrees = math.degrees(reach)
    south = max(-90.0, latitude - reach_degrees - MARGIN_DEGREES)
    north = min(90.0, latitude + reach_degrees + MARGIN_DEGREES)
    spread = math.sin(reach) / math.cos(math.radians(latitude)) if abs(latitude) < 90.0 else 2.0
    if abs(latitude) + reach_degrees >= 90.0 or spread >= 1.0:
        return (-180.0, south, 180.0, north)
    span = math.degrees(math.asin(spread)) * (1.0 + 1e-12) + MARGIN_DEGREES
    if longitude - span < -180.0 or longitude + span > 180.0:
        return (-180.0, south, 180.0, north)
    return (longitude - span, south, longitude + span, north)


def search_boxes(bounds: Bounds, lateral_m: float) -> list[Bounds]:
    """Boxes holding every point closer than `lateral_m` to an outline with these bounds.

    Latitude changes by at most the distance travelled. Longitude: for two points at
    latitudes no higher (in absolute value) than phi, haversine gives
    sin(dlon / 2) <= sin(d / 2R) / cos(phi), with phi the highest latitude of the widened
    box, since degrees of longitude shrink towards the poles. A box past the antimeridian
    is split in two at 180 degrees; a box reaching a pole takes every longitude.
    """
    reach = (lateral_m + SEARCH_SLACK_M) / EARTH_RADIUS_M
    reach_degrees = math.degrees(reach) + MARGIN_DEGREES
    west, south, east, north = bounds
    south, north = max(-90.0, south - reach_degrees), min(90.0, north + reach_degrees)
    highest = max(abs(south), abs(north))
    spread = math.sin(reach / 2.0) / math.cos(math.radians(highest)) if highest < 90.0 else 2.0
    if spread >= 1.0:
        return [(-180.0, south, 180.0, north)]
    span = 2.0 * math.degrees(math.asin(spread)) * (1.0 + 1e-12) + MARGIN_DEGREES
    west, east = west - span, east + span
    if east - west >= 360.0:
        return [(-180.0, south, 180.0, north)]
    if west < -180.0:
        return [(-180.0, south, east, north), (west + 360.0, south, 180.0, north)]
    if east > 180.0:
        return [(west, south, 180.0, north), (-180.0, south, east - 360.0, north)]
    return [(west, south, east, north)]
