"""Every protocol message's binding: model class, protobuf class and the two bridge functions.

The binding of protobuf message `deconflict.v1.X`, defined in `x_file.proto`, is
found by name: model `deconflict.models.x_file.X`, functions `x_to_proto` and
`x_data` in `deconflict.bridge.x_file`. Built once at import; a message without
all three is an error at import, so a new schema message cannot go unbridged.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from deconflict import limits
from deconflict.models.base import Message

M = TypeVar("M", bound=Message)

# The schema files whose messages have models; the well-known types are not ours.
SCHEMA_MODULES = (
    "geometry",
    "notice",
    "response",
    "envelope",
    "errors",
    "conference",
    "channel",
    "notice_service",
    "conference_service",
    "channel_service",
)


class UndecodableBytesError(ValueError):
    """Bytes that are not a protobuf encoding of the expected message at all."""

    def __init__(self, full_name: str, reason: str) -> None:
        self.full_name = full_name
        super().__init__(f"not a valid {full_name}: {reason}")


@dataclass(frozen=True)
class Binding(Generic[M]):
    """How one message moves between its model and its protobuf form."""

    full_name: str
    model: type[M]
    proto: type[ProtoMessage]
    to_proto: Callable[[M], ProtoMessage]
    data: Callable[[Any], dict[str, Any]]

    def from_proto(self, message: ProtoMessage) -> M:
        """Validate a protobuf message into its model (pydantic.ValidationError when refused)."""
        return self.model.model_validate(self.data(message))

    def parse(self, payload: bytes) -> ProtoMessage:
        """Parse bytes; size and decoding faults raise UndecodableBytesError, never anything else."""
        if len(payload) > limits.MAX_MESSAGE_BYTES:
            raise UndecodableBytesError(self.full_name, f"larger than {limits.MAX_MESSAGE_BYTES} bytes")
        try:
            return self.proto.FromString(payload)
        except (DecodeError, RuntimeError, ValueError) as error:
            raise UndecodableBytesError(self.full_name, str(error) or type(error).__name__) from None

    def decode(self, payload: bytes) -> M:
        """Bytes -> validated model."""
        return self.from_proto(self.parse(payload))

    def encode(self, value: M) -> bytes:
        """Model -> the bytes sent (deterministic field order, for golden vectors and signatures)."""
        return self.to_proto(value).SerializeToString(deterministic=True)


def _snake(name: str) -> str:
    # Volume4D -> volume4d, LatLng -> lat_lng, ConferenceProposal -> conference_proposal
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


@cache
def _bindings() -> dict[str, Binding[Any]]:
    table: dict[str, Binding[Any]] = {}
    for module in SCHEMA_MODULES:
        generated = importlib.import_module(f"deconflict.v1.{module}_pb2")
        models = importlib.import_module(f"deconflict.models.{module}")
        bridge = importlib.import_module(f"deconflict.bridge.{module}")
        for name, descriptor in generated.DESCRIPTOR.message_types_by_name.items():
            snake = _snake(name)
            table[descriptor.full_name] = Binding(
                full_name=descriptor.full_name,
                model=getattr(models, name),
                proto=getattr(generated, name),
                to_proto=getattr(bridge, f"{snake}_to_proto"),
                data=getattr(bridge, f"{snake}_data"),
            )
    return table


def bindings() -> list[Binding[Any]]:
    """Every binding, in schema order."""
    return list(_bindings().values())


def binding(full_name: str) -> Binding[Any]:
    """The binding of a message by its protobuf full name, e.g. "deconflict.v1.FlightNotice"."""
    return _bindings()[full_name]


@cache
def _by_model() -> dict[type[Message], Binding[Any]]:
    return {b.model: b for b in _bindings().values()}


def binding_for(model: type[M]) -> Binding[M]:
    """The binding of a model class."""
    return _by_model()[model]


def to_proto(value: Message) -> ProtoMessage:
    """Any model -> its protobuf message."""
    return _by_model()[type(value)].to_proto(value)


def from_proto(message: ProtoMessage) -> Message:
    """Any protobuf message of the schema -> its validated model."""
    found: Binding[Message] = _bindings()[message.DESCRIPTOR.full_name]
    return found.from_proto(message)
