"""The registry: a binding for every message of the schema, dispatch by model and by protobuf
message, and Binding.parse, which refuses oversized and undecodable bytes with
UndecodableBytesError and nothing else (DCF-ERR-004, DCF-LIM-006).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import registry
from deconflict.bridge.registry import Binding, UndecodableBytesError, binding, binding_for, bindings
from deconflict.models.base import Message

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted((ROOT / "proto" / "deconflict" / "v1").glob("*.proto"))
VECTORS = ROOT / "vectors" / "v1"
BINDINGS = bindings()


def schema_messages(text: str) -> list[str]:
    """The full names of the messages a .proto file defines, nested ones as Outer.Inner."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, flags=re.MULTILINE)
    assert package is not None
    names: list[str] = []
    # The innermost open block, per nesting level: a message name, or None for any other block.
    scopes: list[str | None] = []
    pending: str | None = None
    for token in re.finditer(r"\bmessage\s+(\w+)\s*(?=\{)|[{}]", text):
        if token.group(1):
            pending = token.group(1)
        elif token.group() == "{":
            if pending is not None:
                outer = [scope for scope in scopes if scope is not None]
                names.append(".".join([package.group(1), *outer, pending]))
            scopes.append(pending)
            pending = None
        else:
            scopes.pop()
    assert not scopes, "unbalanced braces"
    return names


def valid_models() -> dict[str, Message]:
    """The model of each message's first valid vector, by protobuf full name."""
    models: dict[str, Message] = {}
    for entry in json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))["vectors"]:
        if entry["expected"] == "valid" and entry["message_type"] not in models:
            data = (VECTORS / entry["files"]["binpb"]).read_bytes()
            models[entry["message_type"]] = binding(entry["message_type"]).decode(data)
    return models


VALID_MODELS = valid_models()


def by_name(found: Binding[Any]) -> Any:
    return pytest.param(found, id=found.full_name.rsplit(".", 1)[1])


# Every message of the schema has a binding.


def test_the_schema_parser_sees_nested_messages() -> None:
    text = "package a.b;\n// message Commented {}\nmessage Outer { message Inner { int32 x = 1; } oneof o { } }"
    assert schema_messages(text) == ["a.b.Outer", "a.b.Outer.Inner"]


def test_every_schema_message_has_a_binding() -> None:
    declared = [name for path in SCHEMAS for name in schema_messages(path.read_text(encoding="utf-8"))]
    assert len(declared) == len(set(declared))
    assert sorted(found.full_name for found in BINDINGS) == sorted(declared)


@pytest.mark.parametrize("found", [by_name(found) for found in BINDINGS])
def test_binding_is_consistent(found: Binding[Any]) -> None:
    short = found.full_name.rsplit(".", 1)[1]
    assert found.proto.DESCRIPTOR.full_name == found.full_name
    assert found.model.__name__ == short
    assert issubclass(found.model, Message)
    assert binding(found.full_name) is found
    assert binding_for(found.model) is found
    # Field names equal protobuf field names, so a refusal's path is the protobuf path.
    assert set(found.model.model_fields) <= {field.name for field in found.proto.DESCRIPTOR.fields} | {
        oneof.name for oneof in found.proto.DESCRIPTOR.oneofs
    }


def test_an_unknown_name_has_no_binding() -> None:
    with pytest.raises(KeyError):
        binding("deconflict.v1.NoSuchMessage")


# Dispatch.


@pytest.mark.parametrize("found", [by_name(found) for found in BINDINGS])
def test_dispatch(found: Binding[Any]) -> None:
    model = VALID_MODELS[found.full_name]
    message = registry.to_proto(model)
    assert type(message) is found.proto
    assert message == found.to_proto(model)
    assert registry.from_proto(message) == model
    assert found.decode(found.encode(model)) == model


# Binding.parse refuses what it cannot read, with UndecodableBytesError only.


def test_parse_refuses_oversized_input_before_parsing() -> None:
    """DCF-LIM-006: more than MAX_MESSAGE_BYTES is refused whatever the bytes."""
    oversized = bytes(limits.MAX_MESSAGE_BYTES + 1)  # zero bytes: not even a valid tag
    for found in BINDINGS:
        with pytest.raises(UndecodableBytesError, match=str(limits.MAX_MESSAGE_BYTES)) as refusal:
            found.parse(oversized)
        assert refusal.value.full_name == found.full_name


def test_parse_accepts_a_message_of_exactly_the_bound() -> None:
    found = binding("deconflict.v1.SignedPayload")
    # Field 2 (payload): tag, a 3-byte length, then the bytes: MAX_MESSAGE_BYTES in all.
    length = limits.MAX_MESSAGE_BYTES - 4
    data = b"\x12" + bytes([0x80 | (length & 0x7F), 0x80 | ((length >> 7) & 0x7F), length >> 14]) + bytes(length)
    assert len(data) == limits.MAX_MESSAGE_BYTES
    assert len(found.parse(data).payload) == length  # type: ignore[attr-defined]


GARBAGE = [
    pytest.param(b"\x0f", id="wire-type-7"),
    pytest.param(b"\x0e\x00", id="wire-type-6"),
    pytest.param(b"\x0c", id="end-group-without-start"),
    pytest.param(b"\x08", id="tag-without-value"),
    pytest.param(b"\x08\x80", id="truncated-varint"),
    pytest.param(b"\x08" + b"\xff" * 10 + b"\x01", id="overlong-varint"),
    pytest.param(b"\x0a\x05ab", id="length-past-the-end"),
    pytest.param(b"\x00\x00", id="field-number-zero"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="http-text"),
    pytest.param(b"\xff" * 16, id="all-ones"),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_parse_refuses_garbage(garbage: bytes) -> None:
    for found in BINDINGS:
        with pytest.raises(UndecodableBytesError) as refusal:
            found.parse(garbage)
        assert found.full_name in str(refusal.value)


@st.composite
def damaged(draw: st.DrawFn, valid: bytes) -> bytes:
    """A valid encoding with a few bytes overwritten, inserted or cut: often decodable, rarely valid."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["overwrite", "insert", "cut"]))
        byte = draw(st.integers(min_value=0, max_value=255))
        if action == "overwrite" and where < len(data):
            data[where] = byte
        elif action == "insert":
            data.insert(where, byte)
        else:
            del data[where:]
    return bytes(data)


def arbitrary_input(found: Binding[Any]) -> st.SearchStrategy[bytes]:
    valid = found.encode(VALID_MODELS[found.full_name])
    return st.one_of(st.binary(max_size=64), damaged(valid))


@pytest.mark.parametrize("found", [by_name(found) for found in BINDINGS])
def test_arbitrary_bytes_raise_only_undecodable_or_validation_errors(found: Binding[Any]) -> None:
    """DCF-ERR-004: whatever arrives, reading it ends in a refusal the node can name, never a crash."""

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=arbitrary_input(found))
    def check(data: bytes) -> None:
        with contextlib.suppress(UndecodableBytesError, ValidationError):
            found.from_proto(found.parse(data))

    check()
