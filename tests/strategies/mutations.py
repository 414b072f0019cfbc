"""Breaking valid messages in one place, and reading the refusal: helpers shared by every test module.

Plain data (a model_dump, as from JSON) is changed with `changed`; a protobuf
message is broken with the strategies and breakers below, as a hostile or buggy
peer might send it. `refusal_paths` validates the result and returns the field
paths of the refusal, which a test compares with the path it broke.
"""

from __future__ import annotations

import copy
import enum
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import assume
from hypothesis import strategies as st
from pydantic import ValidationError

from deconflict import limits
from deconflict.models.base import Message, field_violations

DELETE = object()
"""As the value given to `changed`: remove the field, as if the sender left it out."""


def changed(data: Any, path: str, value: Any) -> Any:
    """A deep copy of `data` (model_dump output) with the field at dotted `path` replaced.

    `value` may be DELETE, or a function of the old value (e.g. to repeat a list element).
    """
    out = copy.deepcopy(data)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node = out
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value(node[last]) if callable(value) else value
    return out


def refusal_paths(model: type[Message], data: Any) -> list[str]:
    """The field paths of every violation when `data` is validated as `model` (it must be refused)."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        return [path for path, _ in field_violations(error)]
    raise AssertionError(f"{model.__name__} accepted {data!r}")


# Values that break a field of their kind.


def bad_identifiers() -> st.SearchStrategy[str]:
    """Strings that are not identifiers: empty, too long, or with a character ids do not allow."""
    valid = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,23}", fullmatch=True)
    return st.one_of(
        st.just(""),
        st.text("abc", min_size=limits.MAX_IDENTIFIER + 1, max_size=limits.MAX_IDENTIFIER + 8),
        st.builds(lambda head, bad: head + bad, valid, st.sampled_from([" ", "\n", "é", "#", "\x00"])),
        st.sampled_from(["-leading", ".leading", "_leading"]),
    )


def bad_short_texts(required: bool = True) -> st.SearchStrategy[str]:
    """Too long for a short text, or (when the text is required) empty."""
    too_long = st.text("xy", min_size=limits.MAX_SHORT_TEXT + 1, max_size=limits.MAX_SHORT_TEXT + 8)
    return st.one_of(st.just(""), too_long) if required else too_long


def bad_enum_numbers(known: type[enum.IntEnum]) -> st.SearchStrategy[int]:
    """0 (UNSPECIFIED) or a number the schema does not define (proto3 enums are open)."""
    return st.one_of(st.just(0), st.integers(max(known) + 1, 2**31 - 1), st.integers(-(2**31), -1))


# Breakers: each edits a protobuf message in place.


def break_timestamp(draw: st.DrawFn, stamp: Timestamp) -> None:
    """Out of the protobuf Timestamp range, or finer than a microsecond."""
    how = draw(st.sampled_from(["too late", "too early", "nanoseconds", "nanos out of range"]))
    if how == "too late":
        stamp.seconds = draw(st.integers(253402300800, 2**62))
    elif how == "too early":
        stamp.seconds = draw(st.integers(-(2**62), -62135596801))
    elif how == "nanoseconds":
        stamp.nanos = draw(st.integers(0, 999_999)) * 1000 + draw(st.integers(1, 999))
    else:
        stamp.nanos = draw(st.one_of(st.integers(-(2**31), -1), st.integers(1_000_000_000, 2**31 - 1)))


def break_duration(draw: st.DrawFn, span: Duration, longest: timedelta, zero_allowed: bool = False) -> None:
    """Negative (or zero when it must be positive), longer than `longest`, or not a valid Duration."""
    how = draw(st.sampled_from(["too short", "too long", "nanoseconds", "mixed signs"]))
    span.nanos = 0
    if how == "too short":
        span.seconds = draw(st.integers(-(10**9), -1 if zero_allowed else 0))
    elif how == "too long":
        span.seconds = draw(st.integers(int(longest.total_seconds()) + 1, 315_576_000_000))
    elif how == "nanoseconds":
        span.seconds = draw(st.integers(1, 60))
        span.nanos = draw(st.integers(1, 999))
    else:
        span.seconds = draw(st.integers(1, 10**6))
        span.nanos = -1000 * draw(st.integers(1, 999_999))


def pick_index(draw: st.DrawFn, items: Any) -> int:
    """An index into a non-empty repeated field (the example is skipped when it is empty)."""
    assume(len(items) > 0)
    return draw(st.integers(0, len(items) - 1))


def repeat_element(draw: st.DrawFn, items: Any, name: str, limit: int, key: str = "") -> str:
    """Appends a copy of an element of repeated message field `name`; the path of the refusal.

    The copy repeats an element (refused at the copy, or its `key` field), or makes
    the list one too long (refused at the list).
    """
    original = items[pick_index(draw, items)]
    items.add().CopyFrom(original)
    if len(items) > limit:
        return name
    return f"{name}[{len(items) - 1}]" + (f".{key}" if key else "")
