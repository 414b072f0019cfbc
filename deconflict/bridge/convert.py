"""Scalar conversions between models and protobuf: times and durations.

From protobuf, a Timestamp or Duration is handed to the model as it is (or None
when unset); the model's field type converts and checks it, so a bad one is
refused with its field path.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from deconflict.models.types import EPOCH


def timestamp(value: datetime) -> Timestamp:
    delta = value - EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def duration(value: timedelta) -> Duration:
    seconds = value.days * 86_400 + value.seconds
    return Duration(seconds=seconds, nanos=value.microseconds * 1000)


def optional_timestamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


def optional_duration(value: timedelta | None) -> Duration | None:
    return None if value is None else duration(value)
