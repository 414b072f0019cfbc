"""Field types shared by the models: identifiers, bounded text, coordinates, times and enums."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from deconflict import limits

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"

Identifier = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=limits.MAX_IDENTIFIER, pattern=_ID_PATTERN)
]
"""A required id (notice, party, channel, message...): letters, digits and . _ : / -."""

OptionalIdentifier = Annotated[
    str, StringConstraints(strict=True, max_length=limits.MAX_IDENTIFIER, pattern=rf"^$|{_ID_PATTERN}")
]
"""An id that may be empty (protobuf's unset string)."""

ShortText = Annotated[str, StringConstraints(strict=True, max_length=limits.MAX_SHORT_TEXT)]
Text = Annotated[str, StringConstraints(strict=True, max_length=limits.MAX_TEXT)]
RequiredShortText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=limits.MAX_SHORT_TEXT)]
RequiredText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=limits.MAX_TEXT)]


def _matching(pattern: str, sentence: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("deconflict", sentence)
        return value

    return AfterValidator(check)


Callsign = Annotated[
    str,
    StringConstraints(strict=True),
    _matching(rf"[A-Z0-9]{{1,{limits.MAX_CALLSIGN}}}", f"a callsign is 1 to {limits.MAX_CALLSIGN} of A-Z and 0-9"),
]
"""A radio callsign, upper case: "RCH471"."""

TransponderCode = Annotated[
    str, StringConstraints(strict=True), _matching(r"[0-7]{4}", "an SSR Mode A code is exactly 4 octal digits (0-7)")
]
"""An SSR Mode A code: "7700"."""

OptionalCallsign = Annotated[
    str,
    StringConstraints(strict=True),
    _matching(
        rf"[A-Z0-9]{{0,{limits.MAX_CALLSIGN}}}", f"a callsign is empty or up to {limits.MAX_CALLSIGN} of A-Z and 0-9"
    ),
]
"""A callsign that may be empty: an aircraft in an incident may be unidentified."""

OptionalTransponderCode = Annotated[
    str,
    StringConstraints(strict=True),
    _matching(r"([0-7]{4})?", "an SSR Mode A code is empty or exactly 4 octal digits (0-7)"),
]
"""An SSR Mode A code that may be empty."""

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
NonNegativeMetres = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]

Count = Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)]
Version = Annotated[int, Field(strict=True, ge=1, le=2**32 - 1)]
Sequence = Annotated[int, Field(strict=True, ge=1, le=2**64 - 1)]
Uint64 = Annotated[int, Field(strict=True, ge=0, le=2**64 - 1)]
Sha256 = Annotated[bytes, Field(min_length=32, max_length=32)]

PageSize = Annotated[int, Field(strict=True, ge=0, le=limits.MAX_PAGE_SIZE)]
"""How many items a page of a list holds: 0 means limits.DEFAULT_PAGE_SIZE."""
PageToken = ShortText
"""An opaque page token, empty for the first (or after the last) page."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z, the protobuf Timestamp range
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def _from_timestamp(value: Timestamp) -> datetime:
    seconds, nanos = value.seconds, value.nanos
    if not (_MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        raise PydanticCustomError("deconflict", "is outside the range of a protobuf Timestamp")
    microseconds, finer = divmod(nanos, 1000)
    if finer:
        raise PydanticCustomError("deconflict", "must not be finer than a microsecond")
    return EPOCH + timedelta(0, seconds, microseconds)


def _utc_time(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    # The bridge hands protobuf Timestamps over as they are, so that a bad one is
    # refused here with its field path; a good one is UTC already.
    if isinstance(value, Timestamp):
        return _from_timestamp(value)
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # as the handler and the lines below would: a node's own clock readings come so
    moment: datetime = handler(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PydanticCustomError("deconflict", "must carry a time zone (UTC)")
    return moment.astimezone(UTC)


# One wrap validator rather than a before and an after: a Timestamp costs one call into Python.
UtcTime = Annotated[datetime, WrapValidator(_utc_time)]
"""A moment in time, always held in UTC with microsecond precision."""


def _from_duration(value: Any) -> Any:
    if isinstance(value, Duration):
        if value.nanos % 1000:
            raise PydanticCustomError("deconflict", "must not be finer than a microsecond")
        mixed_signs = value.seconds and value.nanos and (value.seconds > 0) != (value.nanos > 0)
        if abs(value.seconds) > 315_576_000_000 or mixed_signs:
            raise PydanticCustomError("deconflict", "is not a valid protobuf Duration")
        return timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise PydanticCustomError("deconflict", "must be longer than zero")
    if value > limits.MAX_DURATION:
        raise PydanticCustomError("deconflict", "must not be longer than {limit}", {"limit": str(limits.MAX_DURATION)})
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise PydanticCustomError("deconflict", "must not be negative")
    if value > limits.MAX_DURATION:
        raise PydanticCustomError("deconflict", "must not be longer than {limit}", {"limit": str(limits.MAX_DURATION)})
    return value


PositiveDuration = Annotated[timedelta, BeforeValidator(_from_duration), AfterValidator(_positive)]
NonNegativeDuration = Annotated[timedelta, BeforeValidator(_from_duration), AfterValidator(_not_negative)]


def _upper_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


class ProtoEnum(enum.IntEnum):
    """Base of the model enums: same name and numbers as the protobuf enum, less UNSPECIFIED.

    A field accepts the member, its number, its short name ("ROUTINE") or its
    protobuf name ("NOTICE_CATEGORY_ROUTINE"). UNSPECIFIED (0) and numbers the
    schema does not define are refused naming the enum, so an unknown value is
    never stored as if it were known. JSON carries the short name.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        prefix = _upper_snake(cls.__name__) + "_"
        names = {member.name: member for member in cls}
        numbers = {int(member): member for member in cls}
        allowed = ", ".join(names)

        def parse(value: Any) -> ProtoEnum:
            # Plain ints first: the bridges hand protobuf enums over as their numbers.
            if type(value) is int and value in numbers:
                return numbers[value]
            if isinstance(value, cls):
                return value
            if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
                return numbers[value]
            if isinstance(value, str) and value.removeprefix(prefix) in names:
                return names[value.removeprefix(prefix)]
            raise PydanticCustomError(
                "deconflict_enum",
                "{value} is not a known {enum}: expected one of {allowed}",
                {"value": repr(value), "enum": cls.__name__, "allowed": allowed},
            )

        return core_schema.no_info_plain_validator_function(
            parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda member: member.name, when_used="json"
            ),
        )
