"""JSON and MessagePack codecs of the pydantic models, encoded with msgspec."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from pydantic import ValidationError

from deconflict.models.base import Message, field_violations

M = TypeVar("M", bound=Message)

_JSON_ENCODER = msgspec.json.Encoder()
_MSGPACK_ENCODER = msgspec.msgpack.Encoder()
_MSGPACK_DECODER = msgspec.msgpack.Decoder()


class UndecodableMessageError(ValueError):
    """Bytes that are not a valid encoding of the expected message.

    `violations` lists (field path, sentence); the path is "" when the bytes
    could not be read at all.
    """

    def __init__(self, message_type: str, violations: list[tuple[str, str]]) -> None:
        self.message_type = message_type
        self.violations = violations
        first = violations[0] if violations else ("", "cannot be decoded")
        super().__init__(f"{message_type}: {first[0] or '(message)'}: {first[1]}")


class JsonCodec(Generic[M]):
    """JSON in the models' own form: enums by short name, times in RFC 3339, bytes in URL-safe base64.

    Bytes use the URL-safe alphabet (RFC 4648 section 5), which proto3 JSON parsers also accept; either
    alphabet is read.
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def encode(self, value: M) -> bytes:
        return _JSON_ENCODER.encode(value.model_dump(mode="json"))

    def decode(self, data: bytes | str) -> M:
        try:
            return self.model.model_validate_json(data)
        except ValidationError as error:
            raise UndecodableMessageError(self.model.__name__, _violations(error)) from None


class MsgpackCodec(Generic[M]):
    """MessagePack: compact, with native binary and timestamps (the journal's form)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def encode(self, value: M) -> bytes:
        return _MSGPACK_ENCODER.encode(value.model_dump(mode="python"))

    def decode(self, data: bytes) -> M:
        try:
            raw: Any = _MSGPACK_DECODER.decode(data)
        except msgspec.DecodeError as error:
            raise UndecodableMessageError(self.model.__name__, [("", f"is not MessagePack: {error}")]) from None
        try:
            return self.model.model_validate(raw)
        except ValidationError as error:
            raise UndecodableMessageError(self.model.__name__, _violations(error)) from None


def _violations(error: ValidationError) -> list[tuple[str, str]]:
    # A JSON syntax error has no location: it concerns the whole message.
    return field_violations(error) or [("", str(error))]
