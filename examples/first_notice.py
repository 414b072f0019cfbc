"""A first flight notice: a Russian sortie over western Syria on 1 October 2015.

Builds the notice as a validated model, converts it to protobuf with the bridge,
serialises it, parses the bytes back and validates them again, then shows how a
bad notice is refused with the path of the field at fault.

    python examples/first_notice.py

`deconflict demo` (two ministry nodes replaying October 2015) will replace this
as the first thing to run once the node exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError

from deconflict.bridge.notice import flight_notice_data, flight_notice_to_proto
from deconflict.models.base import field_violations
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
from deconflict.v1 import notice_pb2

GUARD = "guard-121.5"  # an id in the channel agreement's frequency registry: 121.5 MHz


def flight_level(value: int) -> Altitude:
    return Altitude(value=value, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL)


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2015, 10, 1, hour, minute, tzinfo=UTC)


def build_notice() -> FlightNotice:
    # Out of Latakia towards Hama along a corridor, then a working area around Hama.
    corridor = Polygon(
        vertices=[
            LatLng(latitude=35.35, longitude=35.95),
            LatLng(latitude=35.45, longitude=35.95),
            LatLng(latitude=35.20, longitude=36.70),
            LatLng(latitude=35.10, longitude=36.70),
        ]
    )
    area = Circle(center=LatLng(latitude=35.13, longitude=36.75), radius_m=30_000)
    return FlightNotice(
        notice_id="ru-mod/2015-10-01/0001",
        version=1,
        state=NoticeState.ACTIVE,
        owner="ru-mod",
        volumes=[
            Volume4D(
                volume=Volume3D(polygon=corridor, altitude_lower=flight_level(100), altitude_upper=flight_level(200)),
                time_start=utc(5, 40),
                time_end=utc(6, 10),
            ),
            Volume4D(
                volume=Volume3D(circle=area, altitude_lower=flight_level(50), altitude_upper=flight_level(250)),
                time_start=utc(6),
                time_end=utc(8),
            ),
        ],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=4,
        frequency_ids=[GUARD],
        category=NoticeCategory.ROUTINE,
        remarks="Departure and recovery at Latakia.",
    )


def describe(volume: Volume4D) -> str:
    shape = volume.volume
    if shape.circle is not None:
        centre = shape.circle.center
        outline = f"circle of {shape.circle.radius_m / 1000:g} km around {centre.latitude:.2f}N {centre.longitude:.2f}E"
    else:
        assert shape.polygon is not None
        outline = f"polygon of {len(shape.polygon.vertices)} vertices"
    low, high = shape.altitude_lower, shape.altitude_upper
    levels = f"FL{low.value:03.0f}-FL{high.value:03.0f}"
    return f"{outline}, {levels}, {volume.time_start:%d %b %Y %H:%M}Z to {volume.time_end:%H:%M}Z"


def main() -> None:
    notice = build_notice()
    wire = flight_notice_to_proto(notice).SerializeToString()

    received = notice_pb2.FlightNotice.FromString(wire)
    back = FlightNotice.model_validate(flight_notice_data(received))
    assert back == notice, "the notice changed on its way through protobuf"

    print(f"notice {back.notice_id} v{back.version} ({back.state.name}, {back.category.name}) from {back.owner}")
    print(f"  {back.aircraft_count} x {back.aircraft_category.name}, frequencies: {', '.join(back.frequency_ids)}")
    for index, volume in enumerate(back.volumes):
        print(f"  volume {index}: {describe(volume)}")
    print(f"{len(wire)} bytes of protobuf, parsed back and validated: identical to the notice sent")

    # A receiver refuses a bad notice and names the field: here a vertex past the pole.
    received.volumes[0].volume.polygon.vertices[2].latitude = 95.0
    try:
        FlightNotice.model_validate(flight_notice_data(received))
    except ValidationError as error:
        for path, reason in field_violations(error):
            print(f"refused: {path}: {reason}")
    else:
        raise SystemExit("a latitude of 95 degrees was accepted")


if __name__ == "__main__":
    main()
