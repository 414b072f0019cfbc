"""The base of every domain model, and how a refusal names the field at fault."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError


class Message(BaseModel):
    """A protocol message as a validated, immutable value.

    Field names equal the protobuf field names, so a validation error's location is
    the protobuf field path. A protobuf oneof is a set of optional fields of which
    exactly one is set.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, ser_json_bytes="base64", val_json_bytes="base64"
    )


def refuse(field: str, message: str, **context: Any) -> PydanticCustomError:
    """An error for a model validator that names the field (relative to the model) at fault."""
    return PydanticCustomError("deconflict", message, {"field": field, **context})


def refuse_repeats(field: str, values: Iterable[Hashable], what: str, key: str = "") -> None:
    """Refuse the first element of list `field` whose `what` an earlier element already has.

    The refusal names the element, or its `key` field when the value is one field
    of it (e.g. "agenda.3.item_id").
    """
    seen: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            path = f"{field}.{index}.{key}" if key else f"{field}.{index}"
            raise refuse(path, "repeats the {what} of {list}[{first}]", what=what, list=field, first=seen[value])
        seen[value] = index


def join_path(parts: tuple[int | str, ...]) -> str:
    """('volumes', 0, 'volume') -> 'volumes[0].volume'."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out += f".{part}" if out else part
    return out


def field_violations(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(field path, human sentence) for each error, in protobuf field-path form."""
    out: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        loc: tuple[int | str, ...] = tuple(item["loc"])
        context = item.get("ctx") or {}
        extra = context.get("field")
        if isinstance(extra, str) and extra:
            loc = (*loc, *(int(part) if part.isdigit() else part for part in extra.split(".")))
        path = join_path(((prefix,) if prefix else ()) + loc)
        out.append((path, _sentence(item)))
    return out


def _sentence(item: Any) -> str:
    kind = item["type"]
    # The bridges hand an unset protobuf message field (a Timestamp, a nested
    # message) over as None: to the sender, that is a required field left out.
    if kind == "missing" or (item.get("input", ...) is None and kind.endswith("_type")):
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this message"
    text = str(item["msg"])
    # "Input should be ..." reads on after the field path in lower case; "UNABLE needs ..." keeps its capitals.
    if text[:2].isupper() or not text:
        return text or kind
    return text[:1].lower() + text[1:]
