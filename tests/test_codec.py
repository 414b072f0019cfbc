"""The msgspec codecs: every valid vector's model survives JSON and MessagePack unchanged, and
bad input is refused with UndecodableMessageError naming the field path ("" for the whole message).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from deconflict.bridge.registry import binding
from deconflict.codec import JsonCodec, MsgpackCodec, UndecodableMessageError
from deconflict.models.base import Message
from deconflict.models.envelope import ENVELOPE_TYPE, SignedPayload
from deconflict.models.notice import FlightNotice
from deconflict.models.notice_service import NoticeRecord

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors" / "v1"
VALID = [
    entry
    for entry in json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))["vectors"]
    if entry["expected"] == "valid"
]
LATITUDE = "volumes[0].volume.polygon.vertices[2].latitude"


def model_of(entry: dict[str, Any]) -> Message:
    model: Message = binding(entry["message_type"]).decode((VECTORS / entry["files"]["binpb"]).read_bytes())
    return model


def notice() -> FlightNotice:
    model = model_of(next(entry for entry in VALID if entry["name"] == "FlightNotice"))
    assert isinstance(model, FlightNotice)
    return model


def paths(error: UndecodableMessageError) -> list[str]:
    return [path for path, _ in error.violations]


@pytest.mark.parametrize("entry", [pytest.param(entry, id=entry["name"]) for entry in VALID])
def test_round_trip(entry: dict[str, Any]) -> None:
    model = model_of(entry)
    for codec in (JsonCodec(type(model)), MsgpackCodec(type(model))):
        assert codec.decode(codec.encode(model)) == model, type(codec).__name__


def test_json_decodes_from_text_as_well_as_bytes() -> None:
    codec = JsonCodec(FlightNotice)
    assert codec.decode(codec.encode(notice()).decode("utf-8")) == notice()


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"notice_id": ', b"\xff\xfe", b"[1, 2]", b"null", b"42"])
def test_garbage_json_is_refused_as_a_whole(garbage: bytes) -> None:
    with pytest.raises(UndecodableMessageError) as refusal:
        JsonCodec(FlightNotice).decode(garbage)
    assert paths(refusal.value) == [""]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\xc1", b"\x81", b"\x92\x01\x02", msgspec.msgpack.encode("FlightNotice"), msgspec.msgpack.encode(None)],
)
def test_garbage_msgpack_is_refused_as_a_whole(garbage: bytes) -> None:
    with pytest.raises(UndecodableMessageError) as refusal:
        MsgpackCodec(FlightNotice).decode(garbage)
    assert paths(refusal.value) == [""]


def test_json_of_an_invalid_notice_names_the_field() -> None:
    """A latitude of 95 is refused at its path (DCF-GEO-002, DCF-ERR-003)."""
    data = json.loads(JsonCodec(FlightNotice).encode(notice()))
    data["volumes"][0]["volume"]["polygon"]["vertices"][2]["latitude"] = 95
    with pytest.raises(UndecodableMessageError) as refusal:
        JsonCodec(FlightNotice).decode(json.dumps(data))
    assert paths(refusal.value) == [LATITUDE]
    assert refusal.value.message_type == "FlightNotice"
    assert LATITUDE in str(refusal.value)


def test_msgpack_of_an_invalid_notice_names_the_field() -> None:
    data = msgspec.msgpack.decode(MsgpackCodec(FlightNotice).encode(notice()))
    data["volumes"][0]["volume"]["polygon"]["vertices"][2]["latitude"] = 95.0
    with pytest.raises(UndecodableMessageError) as refusal:
        MsgpackCodec(FlightNotice).decode(msgspec.msgpack.encode(data))
    assert paths(refusal.value) == [LATITUDE]


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        pytest.param("state", "NOTICE_STATE_UNSPECIFIED", "state", id="enum-unspecified"),
        pytest.param("category", "PRIORITY", "category", id="enum-unknown-name"),
        pytest.param("aircraft_count", "4", "aircraft_count", id="number-as-string"),
        pytest.param("remarks", "x" * 4001, "remarks", id="oversized-text"),
        pytest.param("surprise", 1, "surprise", id="unknown-field"),
    ],
)
def test_json_refusals_name_the_field(field: str, value: Any, path: str) -> None:
    data = json.loads(JsonCodec(FlightNotice).encode(notice()))
    data[field] = value
    with pytest.raises(UndecodableMessageError) as refusal:
        JsonCodec(FlightNotice).decode(json.dumps(data))
    assert paths(refusal.value) == [path]


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_non_finite_coordinate_is_refused(token: bytes) -> None:
    """DCF-GEO-001: NaN and infinities are refused at the coordinate's path, in JSON as on the wire."""
    text = JsonCodec(FlightNotice).encode(notice())
    broken = text.replace(b'"latitude":35.2,', b'"latitude":' + token + b",", 1)
    assert broken != text
    with pytest.raises(UndecodableMessageError) as refusal:
        JsonCodec(FlightNotice).decode(broken)
    assert paths(refusal.value) == [LATITUDE]


def test_json_writes_enums_by_short_name() -> None:
    """DCF-CMP-013: plain data is written with the short name."""
    data = json.loads(JsonCodec(FlightNotice).encode(notice()))
    assert data["state"] == "ACTIVE"
    assert data["aircraft_category"] == "FIXED_WING"
    assert data["category"] == "ROUTINE"
    lower = data["volumes"][0]["volume"]["altitude_lower"]
    assert (lower["reference"], lower["unit"]) == ("STD", "FLIGHT_LEVEL")


def test_json_reads_enums_by_short_name_protobuf_name_or_number() -> None:
    """DCF-CMP-013: a reader takes the number, the protobuf name and the short name."""
    data = json.loads(JsonCodec(FlightNotice).encode(notice()))
    for written in ("ACTIVE", "NOTICE_STATE_ACTIVE", 1):
        data["state"] = written
        assert JsonCodec(FlightNotice).decode(json.dumps(data)) == notice()


@pytest.mark.parametrize(
    ("codec", "load", "dump"),
    [
        pytest.param(JsonCodec, json.loads, lambda data: json.dumps(data).encode(), id="json"),
        pytest.param(MsgpackCodec, msgspec.msgpack.decode, msgspec.msgpack.encode, id="msgpack"),
    ],
)
def test_unknown_keys_are_refused_at_any_depth(codec: Any, load: Any, dump: Any) -> None:
    """DCF-CMP-012: in plain data a key nobody knows is a mistake, refused naming it."""
    data = load(codec(FlightNotice).encode(notice()))
    data["volumes"][0]["volume"]["polygon"]["target"] = "anything"
    with pytest.raises(UndecodableMessageError) as refusal:
        codec(FlightNotice).decode(dump(data))
    assert paths(refusal.value) == ["volumes[0].volume.polygon.target"]


def record() -> NoticeRecord:
    entry = next(entry for entry in VALID if entry["name"] == "NoticeRecord-pending")
    model = model_of(entry)
    assert isinstance(model, NoticeRecord)
    return model


@pytest.mark.parametrize("written", ["true", "yes", 1, None])
def test_booleans_are_json_booleans(written: Any) -> None:
    """DCF-CMP-014: `late` is true or false, never text or a number."""
    data = json.loads(JsonCodec(NoticeRecord).encode(record()))
    assert data["late"] is True
    data["late"] = written
    with pytest.raises(UndecodableMessageError) as refusal:
        JsonCodec(NoticeRecord).decode(json.dumps(data))
    assert paths(refusal.value) == ["late"]


def test_json_writes_bytes_as_base64() -> None:
    payload = bytes(range(256))  # every byte value, so both alphabets' special characters appear
    signed = SignedPayload(payload_type=ENVELOPE_TYPE, payload=payload)
    text = json.loads(JsonCodec(SignedPayload).encode(signed))["payload"]
    # RFC 4648 base64, padded; the codec writes the URL-safe alphabet (section 5) and reads either.
    assert re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text) or re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text)
    assert base64.b64decode(text, altchars=b"-_" if ("-" in text or "_" in text) else None) == payload
    standard = base64.b64encode(payload).decode("ascii")
    decoded = JsonCodec(SignedPayload).decode(json.dumps({"payload_type": ENVELOPE_TYPE, "payload": standard}))
    assert decoded.payload == payload


def test_msgpack_carries_bytes_natively() -> None:
    signed = SignedPayload(payload_type=ENVELOPE_TYPE, payload=bytes(range(256)))
    raw = msgspec.msgpack.decode(MsgpackCodec(SignedPayload).encode(signed))
    assert raw["payload"] == bytes(range(256))


def test_json_writes_times_in_rfc_3339_utc() -> None:
    data = json.loads(JsonCodec(FlightNotice).encode(notice()))
    assert data["volumes"][0]["time_start"] == "2015-10-01T05:40:00Z"
