"""One 4D volume as the conflict check holds it, and the exact test of two volumes
against the separation minima (DCF-CFL-001 to DCF-CFL-007).

Cheapest axis first: time (integer microseconds, so "exactly at the minimum" is
exact), then altitude, then lateral geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from deconflict.conflict.outline import CircleOutline, Outline, PolygonOutline, lateral_distance
from deconflict.models.channel import SeparationMinima
from deconflict.models.geometry import AltitudeReference, Volume4D, comparable
from deconflict.models.types import EPOCH

_MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """Microseconds since 1970 UTC: the protocol's precision, in exact integers."""
    return (moment - EPOCH) // _MICROSECOND


def datum(reference: AltitudeReference) -> AltitudeReference:
    """The class of references comparable with this one (DCF-GEO-018): MSL stands for MSL and STD."""
    return AltitudeReference.MSL if comparable(reference, AltitudeReference.MSL) else reference


@dataclass(frozen=True, slots=True)
class PreparedVolume:
    """A Volume4D reduced to what the check compares."""

    outline: Outline
    lower_m: float
    upper_m: float
    # Two volumes' altitudes are comparable exactly when their datums are equal.
    datum: AltitudeReference
    start_us: int
    end_us: int

    @classmethod
    def from_model(cls, volume: Volume4D) -> PreparedVolume:
        shape = volume.volume
        outline: Outline
        if shape.polygon is not None:
            # The coordinates validation read: the vertices are not read again.
            outline = PolygonOutline.of_coordinates(shape.polygon.coordinates)
        else:
            assert shape.circle is not None  # a Volume3D has exactly one outline (DCF-GEO-019)
            circle = shape.circle
            outline = CircleOutline(circle.center.latitude, circle.center.longitude, circle.radius_m)
        return cls(
            outline=outline,
            lower_m=shape.altitude_lower.metres,
            upper_m=shape.altitude_upper.metres,
            datum=datum(shape.altitude_lower.reference),
            start_us=microseconds(volume.time_start),
            end_us=microseconds(volume.time_end),
        )


@dataclass(frozen=True, slots=True)
class Minima:
    """SeparationMinima in the units the check compares in."""

    lateral_m: float
    vertical_m: float
    time_us: int

    @classmethod
    def of(cls, separation: SeparationMinima) -> Minima:
        return cls(separation.lateral_m, separation.vertical_m, separation.time // _MICROSECOND)


def time_close(first: PreparedVolume, second: PreparedVolume, minimum_us: int) -> bool:
    """DCF-CFL-003: overlapping windows (each starts before the other ends), or a gap below the minimum."""
    if first.start_us < second.end_us and second.start_us < first.end_us:
        return True
    return max(second.start_us - first.end_us, first.start_us - second.end_us) < minimum_us


def vertical_distance(first: PreparedVolume, second: PreparedVolume, minimum_m: float) -> float | None:
    """The vertical distance when the bands are too close (DCF-CFL-004, 005), else None.

    0 when the bands overlap, and when the altitudes are not comparable: such volumes
    are treated as overlapping, never as clear.
    """
    if first.datum != second.datum:
        return 0.0
    if first.lower_m < second.upper_m and second.lower_m < first.upper_m:
        return 0.0
    gap = max(second.lower_m - first.upper_m, first.lower_m - second.upper_m)
    return gap if gap < minimum_m else None


def separation(first: PreparedVolume, second: PreparedVolume, minima: Minima) -> tuple[float, float] | None:
    """(lateral_m, vertical_m) when the two volumes are closer than the minima on all three axes
    at once (DCF-CFL-001), else None: clear on any one axis is clear.
    """
    if not time_close(first, second, minima.time_us):
        return None
    vertical = vertical_distance(first, second, minima.vertical_m)
    if vertical is None:
        return None
    lateral = lateral_distance(first.outline, second.outline, minima.lateral_m)
    if lateral is None:
        return None
    return lateral, vertical
