"""Chapter 10: compatibility: unknown fields, unknown and unspecified enum values, newer minor versions."""

from __future__ import annotations

from collections.abc import Callable

from deconflict.conformance.case import case, expect
from deconflict.conformance.cases.channel import expect_invalid
from deconflict.conformance.session import Session
from deconflict.models.response import OperationalResponse, ResponseKind, UnableReason
from deconflict.v1 import envelope_pb2

# -- helpers


def _unknown_field(number: int, value: int) -> bytes:
    """The wire bytes of a varint field `number` no version of the schema defines."""
    return _varint(number << 3) + _varint(value)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _spoiled(
    s: Session, message: envelope_pb2.Envelope, spoil: Callable[[envelope_pb2.Envelope], None]
) -> envelope_pb2.SignedPayload:
    spoil(message)
    return s.raw(message)


async def _party_notice(s: Session) -> envelope_pb2.Envelope:
    """A notice of the party, for the suite to answer."""
    return await s.originate("notice", s.notice(owner=s.target.party))


def _response(sent: envelope_pb2.Envelope, kind: ResponseKind = ResponseKind.UNABLE) -> OperationalResponse:
    reasons = [UnableReason.AIRSPACE_UNAVAILABLE, UnableReason.OTHER] if kind == ResponseKind.UNABLE else []
    return OperationalResponse(
        notice_id=sent.notice.notice_id, notice_version=1, kind=kind, reasons=reasons, remarks="Range closed for firing"
    )


# -- cases


@case("compatibility.unknown_fields_accepted_and_kept", "DCF-CMP-001")
async def unknown_fields(s: Session) -> None:
    """A notice with fields of a newer minor version, in the envelope and in the notice, is stored byte for byte."""
    await s.hello()
    message = s.proto("notice", s.notice())
    inner = message.notice.SerializeToString(deterministic=True) + _unknown_field(9001, 7)
    message.notice.ParseFromString(inner)
    payload = message.SerializeToString(deterministic=True) + _unknown_field(9002, 42)
    signed = s.seal(payload)
    delivered = await s.deliver(signed)
    records = {o.position: o for o in await s.observed()}
    stored = records.get(delivered.acknowledgement.journal_position)
    expect(
        stored is not None and stored.signed.payload == payload,
        "the payload stored exactly as received",
        "other bytes" if stored is not None else "nothing at the journal_position",
    )
    answer = await s.answer_to(delivered.acknowledgement.message_id)
    expect(answer is not None, "an operational response, the unknown fields ignored", "none within 5 s")


@case("compatibility.unknown_enum_values_refused", "DCF-CMP-003")
async def unknown_enum(s: Session) -> None:
    """An enum value the party does not know, singular or in a repeated field, is refused naming the field."""
    await s.hello()

    def category(e: envelope_pb2.Envelope) -> None:
        e.notice.category = 99  # type: ignore[assignment]

    def aircraft(e: envelope_pb2.Envelope) -> None:
        e.notice.aircraft_category = 42  # type: ignore[assignment]

    def unit(e: envelope_pb2.Envelope) -> None:
        e.notice.volumes[0].volume.altitude_upper.unit = 9  # type: ignore[assignment]

    for spoil, path in (
        (category, "notice.category"),
        (aircraft, "notice.aircraft_category"),
        (unit, "notice.volumes[0].volume.altitude_upper.unit"),
    ):
        await expect_invalid(s.deliver(_spoiled(s, s.proto("notice", s.notice()), spoil)), path)
    sent = await _party_notice(s)

    def reason(e: envelope_pb2.Envelope) -> None:
        e.response.reasons[1] = 77  # type: ignore[call-overload]

    answer = s.proto("response", _response(sent), in_reply_to=sent.message_id)
    await expect_invalid(s.deliver(_spoiled(s, answer, reason)), "response.reasons[1]")


@case("compatibility.unspecified_enum_values_refused", "DCF-CMP-004")
async def unspecified_enum(s: Session) -> None:
    """The UNSPECIFIED value of a required enum is refused naming the field."""
    await s.hello()

    def category(e: envelope_pb2.Envelope) -> None:
        e.notice.category = 0  # type: ignore[assignment]

    def aircraft(e: envelope_pb2.Envelope) -> None:
        e.notice.aircraft_category = 0  # type: ignore[assignment]

    def mode(e: envelope_pb2.Envelope) -> None:
        e.mode = 0  # type: ignore[assignment]

    for spoil, path in ((category, "notice.category"), (aircraft, "notice.aircraft_category"), (mode, "mode")):
        await expect_invalid(s.deliver(_spoiled(s, s.proto("notice", s.notice()), spoil)), path)
    sent = await _party_notice(s)

    def kind(e: envelope_pb2.Envelope) -> None:
        e.response.kind = 0  # type: ignore[assignment]

    answer = s.proto("response", _response(sent, ResponseKind.ROGER), in_reply_to=sent.message_id)
    await expect_invalid(s.deliver(_spoiled(s, answer, kind)), "response.kind")


@case("compatibility.newer_minor_version_accepted", "DCF-CMP-009")
async def newer_minor(s: Session) -> None:
    """An envelope of protocol version 1.99 is taken like one of 1.0."""
    await s.hello()

    def newer(e: envelope_pb2.Envelope) -> None:
        e.protocol_version.minor = 99

    delivered = await s.deliver(_spoiled(s, s.proto("notice", s.notice()), newer))
    answer = await s.answer_to(delivered.acknowledgement.message_id)
    expect(answer is not None, "an operational response", "none within 5 s")
