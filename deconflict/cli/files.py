"""Messages written by people: JSON or YAML files in the models' JSON form, checked before anything is sent.

The form is the one `deconflict.codec.JsonCodec` writes: field names as in the schema, enums by short
name ("ROUTINE"), times in RFC 3339 with their zone, durations in ISO 8601 ("PT30M"), bytes in base64.
YAML is read into the same data first (a YAML timestamp becomes an RFC 3339 string again), so one
validation, with the models' field paths, serves both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from deconflict.cli.output import BadInputError
from deconflict.models.base import Message, field_violations

M = TypeVar("M", bound=Message)

YAML_SUFFIXES = frozenset({".yaml", ".yml"})


def read_data(path: Path) -> Any:
    """The file's content as plain data: JSON by default, YAML for .yaml / .yml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BadInputError(str(path), [("", error.strerror or str(error))]) from None
    except UnicodeDecodeError:
        raise BadInputError(str(path), [("", "is not UTF-8 text")]) from None
    try:
        if path.suffix.lower() in YAML_SUFFIXES:
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInputError(str(path), [("", f"is not JSON: {error}")]) from None
    except yaml.YAMLError as error:
        raise BadInputError(str(path), [("", f"is not YAML: {error}")]) from None


def _json_default(value: object) -> str:
    # YAML reads unquoted timestamps as datetimes: write them back in RFC 3339 for the JSON validation.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def validate(source: str, model: type[M], data: object, defaults: Mapping[str, Any] | None = None) -> M:
    """`data` as `model`, the `defaults` filling fields it leaves out; BadInputError names each field at fault."""
    if not isinstance(data, dict):
        raise BadInputError(source, [("", f"must be an object with the fields of {model.__name__}")])
    merged = {**(defaults or {}), **data}
    try:
        text = json.dumps(merged, default=_json_default)
    except TypeError as error:
        raise BadInputError(source, [("", str(error))]) from None
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        raise BadInputError(source, field_violations(error)) from None


def read_model(path: Path, model: type[M], defaults: Mapping[str, Any] | None = None) -> M:
    """The file as `model`, checked: the content must be an object with the model's fields."""
    return validate(str(path), model, read_data(path), defaults)
