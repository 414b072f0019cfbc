"""Geometry models <-> deconflict.v1.geometry_pb2, by hand (no json_format on hot paths).

`*_to_proto` builds the protobuf message from a valid model. `*_data` reads a
protobuf message into plain data for the model to validate, so every check, and
every field path in a refusal, lives in the models.
"""

from __future__ import annotations

from typing import Any

from deconflict.bridge.convert import timestamp
from deconflict.models import geometry as m
from deconflict.v1 import geometry_pb2 as pb


def lat_lng_to_proto(model: m.LatLng) -> pb.LatLng:
    return pb.LatLng(latitude=model.latitude, longitude=model.longitude)


def lat_lng_data(message: pb.LatLng) -> dict[str, Any]:
    return {"latitude": message.latitude, "longitude": message.longitude}


def polygon_to_proto(model: m.Polygon) -> pb.Polygon:
    return pb.Polygon(vertices=[lat_lng_to_proto(v) for v in model.vertices])


def polygon_data(message: pb.Polygon) -> dict[str, Any]:
    # lat_lng_data inlined: a notice's polygons hold most of the fields an envelope has.
    return {"vertices": [{"latitude": v.latitude, "longitude": v.longitude} for v in message.vertices]}


def circle_to_proto(model: m.Circle) -> pb.Circle:
    return pb.Circle(center=lat_lng_to_proto(model.center), radius_m=model.radius_m)


def circle_data(message: pb.Circle) -> dict[str, Any]:
    return {
        "center": lat_lng_data(message.center) if message.HasField("center") else None,
        "radius_m": message.radius_m,
    }


def altitude_to_proto(model: m.Altitude) -> pb.Altitude:
    return pb.Altitude(value=model.value, reference=int(model.reference), unit=int(model.unit))  # type: ignore[arg-type]


def altitude_data(message: pb.Altitude) -> dict[str, Any]:
    return {"value": message.value, "reference": message.reference, "unit": message.unit}


def volume3d_to_proto(model: m.Volume3D) -> pb.Volume3D:
    out = pb.Volume3D(
        altitude_lower=altitude_to_proto(model.altitude_lower),
        altitude_upper=altitude_to_proto(model.altitude_upper),
    )
    if model.polygon is not None:
        out.polygon.CopyFrom(polygon_to_proto(model.polygon))
    if model.circle is not None:
        out.circle.CopyFrom(circle_to_proto(model.circle))
    return out


def volume3d_data(message: pb.Volume3D) -> dict[str, Any]:
    outline = message.WhichOneof("outline")
    return {
        "polygon": polygon_data(message.polygon) if outline == "polygon" else None,
        "circle": circle_data(message.circle) if outline == "circle" else None,
        "altitude_lower": altitude_data(message.altitude_lower) if message.HasField("altitude_lower") else None,
        "altitude_upper": altitude_data(message.altitude_upper) if message.HasField("altitude_upper") else None,
    }


def volume4d_to_proto(model: m.Volume4D) -> pb.Volume4D:
    return pb.Volume4D(
        volume=volume3d_to_proto(model.volume),
        time_start=timestamp(model.time_start),
        time_end=timestamp(model.time_end),
    )


def volume4d_data(message: pb.Volume4D) -> dict[str, Any]:
    return {
        "volume": volume3d_data(message.volume) if message.HasField("volume") else None,
        "time_start": message.time_start if message.HasField("time_start") else None,
        "time_end": message.time_end if message.HasField("time_end") else None,
    }
