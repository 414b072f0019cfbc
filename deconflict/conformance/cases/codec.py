"""The golden vectors of vectors/v1 through the wire: each valid one accepted, each invalid one refused.

An invalid vector is sent as what it is, or wrapped in what carries it: a FlightNotice as the body of the suite's
next envelope, an Envelope as the suite's next envelope, a request as that RPC's request. The party must refuse
it with the vector's code and name the vector's field path (prefixed by the path of the wrapper, DCF-ERR-003).
The vectors replay October 2015 between `ru-mod` and `us-dod`; on the wire the sending party becomes the suite,
the other the party under test, and every time moves forward so that the vector's one fault is its only one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor
from google.protobuf.message import Message as ProtoMessage

import deconflict
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, CaseSkippedError, case, expect
from deconflict.conformance.session import Session
from deconflict.node.link import WRITES
from deconflict.rpc.refusal import refusal_from_rpc_error
from deconflict.v1 import (
    channel_service_pb2,
    conference_service_pb2,
    envelope_pb2,
    notice_pb2,
    notice_service_pb2,
)

# -- helpers

_VECTOR_PARTIES = ("ru-mod", "us-dod")
_VECTOR_CHANNEL = "ru-mod:us-dod"
_SERVICES: tuple[ServiceDescriptor, ...] = (
    notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"],
)
# Bodies of an envelope: the message type, the body field, and whether it answers a message (DCF-ENV-011).
_BODIES = {
    "deconflict.v1.FlightNotice": ("notice", False),
    "deconflict.v1.NoticeAmendment": ("amendment", False),
    "deconflict.v1.OperationalResponse": ("response", True),
    "deconflict.v1.ConferenceProposal": ("conference_proposal", False),
    "deconflict.v1.ConferenceAnswer": ("conference_answer", True),
    "deconflict.v1.ConferenceRecord": ("conference_record", False),
}
# What carries a message that is not itself a request, for the bytes that do not decode: parent type and field.
_CARRIERS = {
    "deconflict.v1.Volume4D": ("deconflict.v1.FlightNotice", "volumes"),
    "deconflict.v1.FlightNotice": ("deconflict.v1.Envelope", "notice"),
    "deconflict.v1.Hello": ("deconflict.v1.HelloRequest", "hello"),
    "deconflict.v1.Heartbeat": ("deconflict.v1.HeartbeatRequest", "heartbeat"),
    "deconflict.v1.Checklist": ("deconflict.v1.ExchangeChecklistRequest", "checklist"),
    "deconflict.v1.SignedPayload": ("deconflict.v1.SubmitNoticeRequest", "envelope"),
}
_TIMESTAMP = "google.protobuf.Timestamp"
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z
# Where the first time of a vector that has no created_time lands: ahead of now by more than the lead time.
_AHEAD_S = 3 * 3600


@dataclass(frozen=True)
class Vector:
    """One entry of the manifest, with its binary encoding."""

    name: str
    message_type: str
    data: bytes
    requirements: tuple[str, ...]
    # None for a valid vector; else the code, the field path and "decode" or "validate".
    code: str | None = None
    field: str = ""
    kind: str = ""

    @property
    def valid(self) -> bool:
        return self.code is None

    def message(self) -> ProtoMessage:
        decoded = _message_class(self.message_type)()
        decoded.ParseFromString(self.data)
        return decoded


def vectors_folder() -> Path | None:
    """vectors/v1 of a source checkout, or deconflict/_vectors/v1 of a package that ships them."""
    package = Path(deconflict.__file__).resolve().parent
    for candidate in (package / "_vectors" / "v1", package.parent / "vectors" / "v1"):
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


@cache
def _load() -> tuple[Vector, ...]:
    folder = vectors_folder()
    if folder is None:
        return ()
    manifest = json.loads((folder / "manifest.json").read_text())
    found = []
    for entry in manifest["vectors"]:
        expected = entry["expected"]
        fault: dict[str, str] = {} if expected == "valid" else expected
        found.append(
            Vector(
                name=entry["name"],
                message_type=entry["message_type"],
                data=(folder / entry["files"]["binpb"]).read_bytes(),
                requirements=tuple(entry["requirements"]),
                code=fault.get("code"),
                field=fault.get("field", ""),
                kind=fault.get("kind", ""),
            )
        )
    return tuple(found)


def vectors(choose: Callable[[Vector], bool]) -> list[Vector]:
    """The vectors `choose` picks; the case is skipped when the vectors are not installed."""
    loaded = _load()
    if not loaded:
        raise CaseSkippedError("the golden vectors (vectors/v1) are not installed alongside the suite")
    chosen = [vector for vector in loaded if choose(vector)]
    expect(bool(chosen), "golden vectors for this case in vectors/v1/manifest.json", "none")
    return chosen


def vector(name: str) -> Vector:
    return vectors(lambda v: v.name == name)[0]


def _message_class(full_name: str) -> type[ProtoMessage]:
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(full_name))


def _cites(v: Vector, *prefixes: str) -> bool:
    return any(rid.startswith(prefix) for rid in v.requirements for prefix in prefixes)


def _fields(message: ProtoMessage) -> Iterable[tuple[ProtoMessage, FieldDescriptor, Any]]:
    """Every set field of `message` and of the messages inside it, with the message that holds it."""
    for field, value in message.ListFields():
        yield message, field, value
        if field.type == FieldDescriptor.TYPE_MESSAGE and _type_of(field) != _TIMESTAMP:
            for inner in value if field.is_repeated else [value]:
                yield from _fields(inner)


def _type_of(field: FieldDescriptor) -> str:
    return field.message_type.full_name if field.message_type is not None else ""


def _timestamps(message: ProtoMessage) -> list[ProtoMessage]:
    found: list[ProtoMessage] = []
    for _, field, value in _fields(message):
        if field.type == FieldDescriptor.TYPE_MESSAGE and _type_of(field) == _TIMESTAMP:
            found += list(value) if field.is_repeated else [value]
    return found


def localize(s: Session, message: ProtoMessage, sender: str, created: ProtoMessage | None = None) -> None:
    """Move a vector onto the suite's channel and into the future, in place.

    `sender` (one of the vector's parties) becomes the suite, the other party the party under test, and the
    vector's channel the suite's: only strings equal to them change, so an id at a bound keeps its length.
    Every timestamp moves by the same whole number of seconds, so their order, their gaps, their fractions of a
    second and any out-of-range value stay as the vector has them: `created` (the envelope's created_time) lands
    on now, or else the earliest time lands three hours ahead.
    """
    other = next((party for party in _VECTOR_PARTIES if party != sender), "")
    names = {sender: s.party, other: s.target.party, _VECTOR_CHANNEL: s.channel_id}
    for holder, field, value in list(_fields(message)):
        if field.type != FieldDescriptor.TYPE_STRING:
            continue
        if field.is_repeated:
            getattr(holder, field.name)[:] = [names.get(item, item) for item in value]
        elif value in names:
            setattr(holder, field.name, names[value])
    now = int(datetime.now(UTC).timestamp())
    times = _timestamps(message)
    if created is not None:
        shift = now - created.seconds  # type: ignore[attr-defined]
    else:
        usable = [t.seconds for t in times if 0 < t.seconds <= _LAST_SECOND]  # type: ignore[attr-defined]
        shift = now + _AHEAD_S - min(usable) if usable else 0
    for moment in times:
        moment.seconds += shift  # type: ignore[attr-defined]


def _sender_of(message: ProtoMessage) -> str:
    """The vector's party that sends `message`: an envelope's sender, a notice's owner, a request's party."""
    for name in ("sender", "owner", "party"):
        value = getattr(message, name, None)
        if value in _VECTOR_PARTIES:
            return str(value)
    for holder, field, value in _fields(message):
        if field.name == "party" and value in _VECTOR_PARTIES and holder is not message:
            return str(value)
    return _VECTOR_PARTIES[0]


def envelope_of(s: Session, v: Vector) -> envelope_pb2.Envelope:
    """The vector as the suite's next envelope: itself for an Envelope, else the body of a fresh one."""
    message = v.message()
    if v.message_type == "deconflict.v1.Envelope":
        assert isinstance(message, envelope_pb2.Envelope)
        localize(s, message, _sender_of(message), message.created_time if message.HasField("created_time") else None)
        # A fresh id and the next sequence, unless the vector's fault is there.
        if v.field != "message_id":
            message.message_id = str(uuid.uuid4())
        if v.field != "sequence":
            message.sequence = s.sequence
        return message
    body, answers = _BODIES[v.message_type]
    localize(s, message, _sender_of(message))
    envelope = s.proto("notice", s.notice())
    getattr(envelope, body).CopyFrom(message)
    if answers:
        envelope.in_reply_to = str(uuid.uuid4())
    return envelope


async def deliver(s: Session, envelope: envelope_pb2.Envelope) -> Any:
    """Send an envelope built or spoiled by hand with the RPC that takes its body (SubmitNotice if none)."""
    write = WRITES.get(envelope.WhichOneof("body") or "notice", WRITES["notice"])
    delivery = await write(s.peer, s.raw(envelope))
    s.sequence = max(s.sequence, delivery.acknowledgement.message_sequence + 1)
    return delivery


def _method_for(request_type: str) -> tuple[ServiceDescriptor, str]:
    for service in _SERVICES:
        for method in service.methods:
            if method.input_type.full_name == request_type:
                return service, method.name
    raise KeyError(request_type)


async def call_raw(s: Session, request_type: str, data: bytes) -> None:
    """Call the RPC taking `request_type` with exactly `data`; a refusal raises RefusedError."""
    service, method = _method_for(request_type)
    call = s.peer.channel.unary_unary(
        f"/{service.full_name}/{method}", request_serializer=None, response_deserializer=None
    )
    try:
        await call(data, timeout=5)
    except grpc.aio.AioRpcError as error:
        raise RefusedError(refusal_from_rpc_error(error)) from None


def _tag(number: int) -> bytes:
    return _varint(number << 3 | 2)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _embedded(parent_type: str, field: str, data: bytes, around: bytes = b"") -> bytes:
    """The bytes of a `parent_type` holding `data` as its length-delimited `field`, after `around`."""
    number = descriptor_pool.Default().FindMessageTypeByName(parent_type).fields_by_name[field].number
    return around + _tag(number) + _varint(len(data)) + data


def _undecodable_request(s: Session, v: Vector) -> tuple[str, bytes, str]:
    """(request type, request bytes, expected field path) carrying a vector that does not decode."""
    data, kind = v.data, v.message_type
    while kind not in ("deconflict.v1.Envelope",) and not kind.endswith("Request"):
        parent, field = _CARRIERS[kind]
        around = b""
        if parent == "deconflict.v1.Envelope":
            header = s.proto("notice", s.notice())
            header.ClearField("notice")
            around = header.SerializeToString()
        elif parent == "deconflict.v1.FlightNotice":
            notice = s.proto("notice", s.notice()).notice
            notice.ClearField("volumes")
            around = notice.SerializeToString()
        data, kind = _embedded(parent, field, data, around), parent
    if kind == "deconflict.v1.Envelope":
        # A payload that does not decode is refused naming envelope.payload (DCF-ENV-019).
        signed = s.seal(data)
        request = notice_service_pb2.SubmitNoticeRequest(envelope=signed)
        return "deconflict.v1.SubmitNoticeRequest", request.SerializeToString(), "envelope.payload"
    return kind, data, ""


async def expect_refusal(call: Any, code: str, path: str) -> str:
    """'' when `call` is refused with `code` naming `path` ('' names no path), else what went wrong."""
    try:
        await call
    except RefusedError as error:
        paths = [field for field, _ in error.violations]
        if error.code.name == code and (not path or path in paths):
            return ""
        return f"{error.code.name} naming {', '.join(paths) or 'nothing'} ({error.message})"
    return "accepted"


async def check_invalid(s: Session, chosen: list[Vector]) -> None:
    """Send each invalid vector as the suite's next message: each must be refused with its code and field."""
    await s.hello()
    wrong = []
    for v in chosen:
        assert v.code is not None
        if v.kind == "decode":
            request_type, data, path = _undecodable_request(s, v)
            got = await expect_refusal(call_raw(s, request_type, data), v.code, path)
        elif v.message_type == "deconflict.v1.Envelope" or v.message_type in _BODIES:
            envelope = envelope_of(s, v)
            prefix = "" if v.message_type == "deconflict.v1.Envelope" else f"{_BODIES[v.message_type][0]}."
            path = prefix + v.field
            got = await expect_refusal(deliver(s, envelope), v.code, path)
        else:
            message = v.message()
            if isinstance(message, envelope_pb2.SignedPayload):
                message = notice_service_pb2.SubmitNoticeRequest(envelope=message)
                path = f"envelope.{v.field}"
            else:
                localize(s, message, _sender_of(message))
                path = v.field
            request_type = message.DESCRIPTOR.full_name
            got = await expect_refusal(call_raw(s, request_type, message.SerializeToString()), v.code, path)
        if got:
            wrong.append(f"{v.name}: {got}, not {v.code} naming {path or 'the request'}")
    expect(not wrong, "each vector refused with its code, naming its field", "; ".join(wrong))
    stored = [o for o in await s.observed() if o.received]
    expect(not stored, "nothing stored of the refused vectors", f"{len(stored)} stored messages")


def _invalid(v: Vector) -> bool:
    return not v.valid and v.message_type in _SENDABLE


_SENDABLE = {
    "deconflict.v1.Envelope",
    "deconflict.v1.SignedPayload",
    *_BODIES,
    *_CARRIERS,
    *(method.input_type.full_name for service in _SERVICES for method in service.methods),
}


def _geometry(v: Vector) -> bool:
    return _invalid(v) and v.kind == "validate" and _cites(v, "DCF-GEO-")


# -- invalid vectors, by what they break


@case(
    "codec.invalid_coordinates_refused",
    "DCF-GEO-001",
    "DCF-GEO-002",
    "DCF-GEO-003",
    "DCF-ENV-030",
    "DCF-ERR-002",
    "DCF-ERR-003",
    "DCF-INC-002",
)
async def invalid_coordinates(s: Session) -> None:
    """Vectors with a NaN, infinite or out-of-range latitude or longitude: INVALID_ARGUMENT naming the coordinate."""
    await check_invalid(s, vectors(lambda v: _geometry(v) and _cites(v, "DCF-GEO-001", "DCF-GEO-002", "DCF-GEO-003")))


@case(
    "codec.invalid_polygons_refused",
    "DCF-GEO-005",
    "DCF-GEO-007",
    "DCF-GEO-009",
    "DCF-GEO-010",
    "DCF-LIM-001",
    "DCF-LIM-008",
)
async def invalid_polygons(s: Session) -> None:
    """Vectors with too few vertices, an antimeridian edge, no area, a crossing, too many vertices: refused."""
    await check_invalid(
        s, vectors(lambda v: _invalid(v) and _cites(v, "DCF-LIM-008", *(f"DCF-GEO-0{n:02d}" for n in range(4, 11))))
    )


@case("codec.invalid_circles_refused", "DCF-GEO-011", "DCF-GEO-012", "DCF-GEO-013", "DCF-GEO-014", "DCF-LIM-009")
async def invalid_circles(s: Session) -> None:
    """Vectors with no centre, a zero, NaN or too large radius, or reaching a pole or the antimeridian: refused."""
    await check_invalid(s, vectors(lambda v: _invalid(v) and _cites(v, *(f"DCF-GEO-0{n}" for n in range(11, 15)))))


@case(
    "codec.invalid_altitudes_and_volumes_refused",
    "DCF-GEO-015",
    "DCF-GEO-016",
    "DCF-GEO-018",
    "DCF-GEO-019",
    "DCF-GEO-020",
    "DCF-GEO-021",
    "DCF-LIM-010",
    "DCF-CMP-003",
    "DCF-CMP-004",
)
async def invalid_altitudes(s: Session) -> None:
    """Vectors with bad altitude datums, units, values, order, or a volume without outline: refused, naming it."""
    await check_invalid(
        s,
        vectors(
            lambda v: (
                _invalid(v)
                and v.kind == "validate"
                and (_cites(v, *(f"DCF-GEO-0{n}" for n in range(15, 22))) or _cites(v, "DCF-LIM-010"))
            )
        ),
    )


@case("codec.invalid_times_refused", "DCF-GEO-022", "DCF-GEO-024", "DCF-GEO-025", "DCF-LIM-024", "DCF-TMR-009")
async def invalid_times(s: Session) -> None:
    """Vectors with a missing or reversed time, a time finer than a microsecond or past 9999, a bad duration."""
    await check_invalid(
        s,
        vectors(
            lambda v: (
                _invalid(v)
                and v.kind == "validate"
                and _cites(v, "DCF-GEO-022", "DCF-GEO-024", "DCF-GEO-025", "DCF-LIM-024")
            )
        ),
    )


def _notice_fields(v: Vector) -> bool:
    return (
        _invalid(v)
        and v.kind == "validate"
        and v.message_type == "deconflict.v1.FlightNotice"
        and not _cites(v, "DCF-GEO-", "DCF-LIM-008", "DCF-LIM-009", "DCF-LIM-010", "DCF-LIM-024")
    )


@case(
    "codec.invalid_notice_fields_refused",
    "DCF-NTC-001",
    "DCF-NTC-003",
    "DCF-NTC-004",
    "DCF-NTC-005",
    "DCF-NTC-006",
    "DCF-NTC-008",
    "DCF-NTC-009",
    "DCF-NTC-028",
    "DCF-LIM-001",
    "DCF-LIM-002",
    "DCF-LIM-004",
    "DCF-LIM-007",
    "DCF-LIM-014",
    "DCF-LIM-021",
    "DCF-CMP-003",
    "DCF-CMP-004",
)
async def invalid_notice_fields(s: Session) -> None:
    """FlightNotice vectors with a bad state, category, count, callsign, code, repeat, id or list length: refused."""
    await check_invalid(s, vectors(_notice_fields))


def _envelope_rules(v: Vector) -> bool:
    return (
        _invalid(v)
        and v.kind == "validate"
        and (v.message_type == "deconflict.v1.Envelope" or v.message_type in _BODIES)
        and v.message_type != "deconflict.v1.FlightNotice"
        and not _cites(v, "DCF-GEO-")
    )


@case(
    "codec.invalid_envelopes_and_bodies_refused",
    "DCF-ENV-005",
    "DCF-ENV-007",
    "DCF-ENV-008",
    "DCF-ENV-009",
    "DCF-ENV-011",
    "DCF-ENV-019",
    "DCF-ENV-030",
    "DCF-NTC-018",
    "DCF-NTC-034",
    "DCF-RSP-003",
    "DCF-RSP-005",
    "DCF-RSP-007",
    "DCF-RSP-009",
    "DCF-RSP-010",
    "DCF-RSP-011",
    "DCF-RSP-036",
    "DCF-TMR-009",
    "DCF-TMR-018",
    "DCF-INC-002",
    "DCF-INC-003",
    "DCF-INC-008",
    "DCF-SUS-001",
    "DCF-SUS-008",
    "DCF-CNF-004",
    "DCF-CNF-005",
    "DCF-CNF-006",
    "DCF-CNF-007",
    "DCF-CNF-010",
    "DCF-CNF-011",
    "DCF-CNF-012",
    "DCF-CNF-018",
    "DCF-CNF-020",
    "DCF-CNF-023",
    "DCF-CNF-037",
    "DCF-LIM-003",
    "DCF-LIM-011",
    "DCF-LIM-012",
    "DCF-LIM-015",
    "DCF-CMP-003",
    "DCF-CMP-004",
)
async def invalid_envelopes(s: Session) -> None:
    """Envelope vectors with a bad header or body, and bodies (responses, conference messages) wrapped: refused."""
    await check_invalid(s, vectors(_envelope_rules))


def _requests(v: Vector) -> bool:
    return (
        _invalid(v)
        and v.kind == "validate"
        and (v.message_type.endswith("Request") or v.message_type == "deconflict.v1.SignedPayload")
        and not _signatures(v)
    )


def _signatures(v: Vector) -> bool:
    return _invalid(v) and _cites(v, "DCF-SEC-010")


@case(
    "codec.invalid_requests_refused",
    "DCF-ENV-016",
    "DCF-ENV-017",
    "DCF-HEL-002",
    "DCF-HBT-002",
    "DCF-CHK-003",
    "DCF-NTC-030",
    "DCF-NTC-031",
    "DCF-NTC-032",
    "DCF-NTC-035",
    "DCF-CNF-041",
    "DCF-LIM-006",
    "DCF-LIM-022",
    "DCF-LIM-025",
    "DCF-LIM-027",
    "DCF-CMP-003",
    "DCF-CMP-004",
)
async def invalid_requests(s: Session) -> None:
    """Request and SignedPayload vectors with a bad field: INVALID_ARGUMENT naming it from the request."""
    await check_invalid(s, vectors(_requests))


@case("codec.invalid_signatures_refused", "DCF-SEC-010", "DCF-LIM-023", feature="signing")
async def invalid_signatures(s: Session) -> None:
    """SignedPayload vectors with a short signature, a repeated key id or too many signatures: refused."""
    await check_invalid(s, vectors(_signatures))


@case("codec.undecodable_vectors_refused", "DCF-ENV-016", "DCF-ENV-019", "DCF-ERR-004", "DCF-LIM-005")
async def undecodable(s: Session) -> None:
    """Vectors that do not decode (truncated, bad wire types, bad UTF-8): INVALID_ARGUMENT, the payload named."""
    await check_invalid(s, vectors(lambda v: _invalid(v) and v.kind == "decode"))


# -- valid vectors


def _notice_vectors_in(s: Session, chosen: Iterable[Vector]) -> list[tuple[str, notice_pb2.FlightNotice]]:
    """A notice of the suite carrying each valid geometry vector, or the vector itself for a FlightNotice."""
    notices = []
    for v in chosen:
        base = s.proto("notice", s.notice()).notice
        message = v.message()
        if isinstance(message, notice_pb2.FlightNotice):
            localize(s, message, _sender_of(message))
            notices.append((v.name, message))
            continue
        localize(s, message, s.party)
        target = base.volumes[0]
        if v.message_type == "deconflict.v1.Volume4D":
            _replace(target, message)
        elif v.message_type == "deconflict.v1.Volume3D":
            _replace(target.volume, message)
        elif v.message_type == "deconflict.v1.Polygon":
            _replace(target.volume.polygon, message)
        elif v.message_type == "deconflict.v1.Circle":
            _replace(target.volume.circle, message)
        elif v.message_type == "deconflict.v1.Altitude":
            _put_altitude(target.volume, message)
        elif v.message_type == "deconflict.v1.LatLng":
            _put_point(target.volume, message)
        notices.append((v.name, base))
    return notices


def _replace(target: ProtoMessage, message: ProtoMessage) -> None:
    """`target` becomes a copy of `message`, a message of the same type."""
    target.Clear()
    target.MergeFromString(message.SerializeToString())


def _put_altitude(volume: Any, altitude: Any) -> None:
    """The altitude as one limit of the volume, the other limit a little beyond it in the same datum."""
    step = {1: 1000.0, 2: 3000.0, 3: 10.0}.get(altitude.unit, 1000.0)
    other = type(altitude)()
    other.CopyFrom(altitude)
    # The highest altitude is an upper limit; any other is the lower limit.
    if altitude.value * {1: 1.0, 2: 0.3048, 3: 30.48}.get(altitude.unit, 1.0) > 90_000:
        other.value = altitude.value - step
        volume.altitude_lower.CopyFrom(other)
        volume.altitude_upper.CopyFrom(altitude)
    else:
        other.value = altitude.value + step
        volume.altitude_lower.CopyFrom(altitude)
        volume.altitude_upper.CopyFrom(other)


def _put_point(volume: Any, point: Any) -> None:
    """The point as a vertex of a small triangle whose other vertices lie towards the equator and the meridian 0."""
    towards_equator = -0.1 if point.latitude > 0 else 0.1
    towards_zero = -0.1 if point.longitude > 0 else 0.1
    volume.polygon.ClearField("vertices")
    for latitude, longitude in ((0.0, 0.0), (towards_equator, 0.0), (towards_equator, towards_zero)):
        volume.polygon.vertices.add(latitude=point.latitude + latitude, longitude=point.longitude + longitude)


@case(
    "codec.valid_geometry_and_notice_vectors_accepted",
    "DCF-GEO-002",
    "DCF-GEO-003",
    "DCF-GEO-004",
    "DCF-GEO-006",
    "DCF-GEO-011",
    "DCF-GEO-012",
    "DCF-GEO-015",
    "DCF-GEO-016",
    "DCF-GEO-017",
    "DCF-GEO-018",
    "DCF-GEO-019",
    "DCF-GEO-020",
    "DCF-GEO-021",
    "DCF-GEO-022",
    "DCF-GEO-023",
    "DCF-GEO-024",
    "DCF-NTC-003",
    "DCF-NTC-004",
    "DCF-NTC-005",
    "DCF-NTC-006",
    "DCF-NTC-007",
    "DCF-NTC-008",
    "DCF-NTC-009",
    "DCF-NTC-010",
    "DCF-NTC-017",
    "DCF-NTC-029",
    "DCF-LIM-001",
    "DCF-LIM-002",
    "DCF-LIM-004",
    "DCF-LIM-007",
    "DCF-LIM-008",
    "DCF-LIM-009",
    "DCF-LIM-010",
    "DCF-LIM-014",
    "DCF-LIM-021",
    "DCF-LIM-024",
)
async def valid_geometry_and_notices(s: Session) -> None:
    """Each valid FlightNotice vector, and a notice carrying each valid geometry vector, is stored as sent."""
    chosen = vectors(lambda v: v.valid and v.message_type in _GEOMETRY_TYPES)
    await s.hello()
    wrong = []
    used: set[str] = set()
    for number, (name, notice) in enumerate(_notice_vectors_in(s, chosen)):
        # Two vectors may share a notice id: the second keeps the id's length and changes its end.
        if notice.notice_id in used:
            notice.notice_id = notice.notice_id[:-3] + f"{number:03d}"
        used.add(notice.notice_id)
        envelope = s.proto("notice", s.notice())
        envelope.notice.CopyFrom(notice)
        try:
            await deliver(s, envelope)
        except RefusedError as error:
            wrong.append(f"{name}: refused, {error.code.name} {error.violations or error.message}")
            continue
        stored = (await s.peer.get_notice(s.channel_id, notice.notice_id)).record.notice
        if stored != notice:
            wrong.append(f"{name}: GetNotice returns other content than was filed")
    expect(not wrong, "each valid vector stored, and read back as filed", "; ".join(wrong))


_GEOMETRY_TYPES = {
    "deconflict.v1.LatLng",
    "deconflict.v1.Polygon",
    "deconflict.v1.Circle",
    "deconflict.v1.Altitude",
    "deconflict.v1.Volume3D",
    "deconflict.v1.Volume4D",
    "deconflict.v1.FlightNotice",
}


async def _send_vector(s: Session, name: str, change: Callable[[envelope_pb2.Envelope], None] | None = None) -> Any:
    envelope = envelope_of(s, vector(name))
    if change is not None:
        change(envelope)
    try:
        return await deliver(s, envelope)
    except RefusedError as error:
        raise CaseFailedError(
            f"{name} stored", f"{error.code.name} {error.reason} {error.violations or ''}: {error.message}"
        ) from None


@case(
    "codec.valid_notice_envelopes_accepted",
    "DCF-ENV-001",
    "DCF-ENV-004",
    "DCF-ENV-005",
    "DCF-ENV-007",
    "DCF-ENV-008",
    "DCF-NTC-010",
    "DCF-NTC-018",
    "DCF-NTC-023",
    "DCF-NTC-025",
)
async def valid_notice_envelopes(s: Session) -> None:
    """Envelope-notice, Envelope-amendment and Envelope-cancellation vectors are stored, in that order."""
    await s.hello()
    filed = await _send_vector(s, "Envelope-notice")
    notice_id = filed.acknowledgement.notice_id
    await _send_vector(s, "Envelope-amendment")
    record = (await s.peer.get_notice(s.channel_id, notice_id)).record
    expect(record.notice.version == 2, f"{notice_id} at version 2 after the amendment", record.notice.version)
    # The cancellation names another notice of the scenario: the suite files it first.
    cancelled = vector("Envelope-cancellation").message()
    assert isinstance(cancelled, envelope_pb2.Envelope)
    await s.file(s.notice(notice_id=cancelled.cancellation.notice_id))
    await _send_vector(s, "Envelope-cancellation")
    state = (await s.peer.get_notice(s.channel_id, cancelled.cancellation.notice_id)).record.notice.state
    expect(state == notice_pb2.NOTICE_STATE_CANCELLED, "NOTICE_STATE_CANCELLED", notice_pb2.NoticeState.Name(state))


@case("codec.valid_answer_envelopes_accepted", "DCF-ENV-011", "DCF-RSP-002", "DCF-TMR-009")
async def valid_answer_envelopes(s: Session) -> None:
    """Envelope-response to a notice of the party, and Envelope-timeout of a notice it left on STANDBY, are stored."""
    await s.reset(operator=True)
    await s.hello()
    # The response answers the party's notice of the scenario: the party files it first.
    answered = vector("Envelope-response").message()
    assert isinstance(answered, envelope_pb2.Envelope)
    theirs = s.notice(owner=s.target.party, notice_id=answered.response.notice_id)
    origin = await s.originate("notice", theirs)
    await _send_vector(s, "Envelope-response", lambda e: setattr(e, "in_reply_to", origin.message_id))
    # The timeout is the suite's, for its notice the party answered only with STANDBY.
    waited = vector("Envelope-timeout").message()
    assert isinstance(waited, envelope_pb2.Envelope)
    mine = await s.file(s.notice(notice_id=waited.timeout.notice_id))
    message_id = mine.acknowledgement.message_id
    standby = await s.answer_to(message_id)
    expect(standby is not None, "STANDBY from the party", "no answer within 5 s")

    def reply(envelope: envelope_pb2.Envelope) -> None:
        envelope.in_reply_to = envelope.timeout.unanswered_message_id = message_id

    await _send_vector(s, "Envelope-timeout", reply)


@case(
    "codec.valid_channel_envelopes_accepted",
    "DCF-INC-001",
    "DCF-INC-002",
    "DCF-SUS-001",
    "DCF-SUS-008",
    "DCF-CNF-001",
    "DCF-CNF-037",
)
async def valid_channel_envelopes(s: Session) -> None:
    """Envelope vectors of an incident report, a suspension and resumption, a conference proposal and a
    conference cancellation are stored."""
    await s.hello()
    await _send_vector(s, "Envelope-incident-report")
    # The scenario's suspension takes effect hours after it is sent, the resumption as it is sent: each moves to
    # its own now, so the suspension takes effect at once, before the resumption.
    await _send_vector(s, "Envelope-suspension", lambda e: e.suspension.effective_time.CopyFrom(e.created_time))
    await _send_vector(s, "Envelope-resumption")
    await _send_vector(s, "Envelope-conference-proposal")
    # The cancellation ends another conference of the scenario: the suite proposes it first, as the proposal.
    ended = vector("Envelope-conference-cancellation").message()
    assert isinstance(ended, envelope_pb2.Envelope)
    conference_id = ended.conference_cancellation.conference_id
    await _send_vector(
        s, "Envelope-conference-proposal", lambda e: setattr(e.conference_proposal, "conference_id", conference_id)
    )
    await _send_vector(s, "Envelope-conference-cancellation")
