"""Chapter 12: limits. Each bound is accepted at the bound and refused past it, naming the field, never clipped."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from deconflict.client.peer import CHANNEL_SERVICE, CONFERENCE_SERVICE, NOTICE_SERVICE
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.cases.envelope import refused_as
from deconflict.conformance.cases.errors import incident, proposal
from deconflict.conformance.session import Session
from deconflict.models.channel import InvolvedAircraft
from deconflict.models.conference import AgendaItem, AgendaItemKind, Participant, ParticipantRole, TimeSlot
from deconflict.models.geometry import LatLng, Polygon
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCancellation
from deconflict.models.response import OperationalResponse, ResponseKind, UnableReason
from deconflict.v1 import (
    channel_pb2,
    channel_service_pb2,
    conference_pb2,
    conference_service_pb2,
    envelope_pb2,
    geometry_pb2,
    notice_service_pb2,
    response_pb2,
)

Spoil = Callable[[envelope_pb2.Envelope], object]

# -- helpers ----------------------------------------------------------------------------------------------------


async def _past_bound(s: Session, body: str, value: object, field: str, spoil: Spoil, **header: Any) -> None:
    """`value` spoiled past a bound is refused with INVALID_ARGUMENT naming `field` (or an element of it)."""
    signed = s.spoiled(body, value, spoil, **header)
    refused = await s.refusal(s.deliver(signed))
    named = [path for path, _ in refused.violations]
    ok = refused.code == grpc.StatusCode.INVALID_ARGUMENT and any(
        path == field or path.startswith(f"{field}[") for path in named
    )
    expect(ok, f"INVALID_ARGUMENT naming {field}", f"{refused.code.name} {named}")


async def _accepted(s: Session, call: Awaitable[Any], what: str) -> Any:
    """A value at the bound is accepted."""
    try:
        return await call
    except Exception as error:
        raise CaseFailedError(f"{what} accepted (it is within the bound)", str(error)) from None


def _ring(count: int, centre_north_km: float, radius_km: float = 8.0) -> list[tuple[float, float]]:
    """The (latitude, longitude) of `count` vertices on a circle, counter-clockwise: a convex polygon."""
    from deconflict.conformance.session import METRES_PER_DEGREE, ORIGIN

    lat0 = ORIGIN.latitude + centre_north_km * 1000.0 / METRES_PER_DEGREE
    scale = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    vertices = []
    for index in range(count):
        angle = 2 * math.pi * index / count
        vertices.append(
            (
                round(lat0 + radius_km * 1000.0 * math.sin(angle) / METRES_PER_DEGREE, 7),
                round(ORIGIN.longitude + radius_km * 1000.0 * math.cos(angle) / scale, 7),
            )
        )
    return vertices


def _with_polygon(notice: FlightNotice, vertices: list[tuple[float, float]]) -> FlightNotice:
    polygon = Polygon(vertices=[LatLng(latitude=a, longitude=b) for a, b in vertices])
    volume = notice.volumes[0]
    shaped = volume.model_copy(update={"volume": volume.volume.model_copy(update={"polygon": polygon})})
    return notice.model_copy(update={"volumes": [shaped]})


def _set_vertices(message: envelope_pb2.Envelope, vertices: list[tuple[float, float]]) -> None:
    polygon = message.notice.volumes[0].volume.polygon
    del polygon.vertices[:]
    polygon.vertices.extend(geometry_pb2.LatLng(latitude=a, longitude=b) for a, b in vertices)


def _unable(reason: UnableReason) -> response_pb2.UnableReason.ValueType:
    return response_pb2.UnableReason.ValueType(int(reason))


# -- 12.1: general ----------------------------------------------------------------------------------------------


@case("limits.identifier_bounds", "DCF-LIM-001", "DCF-LIM-002")
async def identifiers(s: Session) -> None:
    """A 128-character identifier of every allowed character is stored as sent; a longer one, or one with another
    character or first character, is refused naming it."""
    await s.hello()
    longest = ("A1.b_c:d/e-" * 12)[:128]
    notice = s.notice(notice_id=longest)
    await _accepted(s, s.file(notice), "a notice_id of 128 characters")
    stored = await s.peer.get_notice(s.channel_id, longest)
    expect(stored.record.notice.notice_id == longest, "the notice_id stored unchanged", stored.record.notice.notice_id)
    for bad in (longest + "z", "-starts-with-a-dash", "has space", "caf\u00e9", ""):
        await _past_bound(s, "notice", s.notice(), "notice.notice_id",
                          lambda m, v=bad: setattr(m.notice, "notice_id", v))  # type: ignore[misc]  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.contact_id",
                      lambda m: setattr(m.notice, "contact_id", "no spaces allowed"))  # fmt: skip


@case("limits.text_bounds", "DCF-LIM-001", "DCF-LIM-003", "DCF-LIM-004")
async def texts(s: Session) -> None:
    """Texts are counted in code points: 4000 of them in remarks and 256 in a reason are stored whole, one more
    is refused naming the field."""
    await s.hello()
    remarks = "\u00e9" * 4000  # two bytes each: the bound is in characters, not bytes
    notice = s.notice().model_copy(update={"remarks": remarks})
    await _accepted(s, s.file(notice), "remarks of 4000 characters")
    stored = await s.peer.get_notice(s.channel_id, notice.notice_id)
    expect(stored.record.notice.remarks == remarks, "the remarks stored whole", len(stored.record.notice.remarks))
    await _past_bound(s, "notice", s.notice(), "notice.remarks", lambda m: setattr(m.notice, "remarks", "r" * 4001))
    reason = "\u00e9" * 256
    longest_reason = NoticeCancellation(notice_id=notice.notice_id, version=1, reason=reason)
    await _accepted(s, s.send("cancellation", longest_reason), "a reason of 256 characters")
    other = s.notice()
    await s.file(other)
    cancellation = NoticeCancellation(notice_id=other.notice_id, version=1)
    await _past_bound(s, "cancellation", cancellation, "cancellation.reason",
                      lambda m: setattr(m.cancellation, "reason", "r" * 257))  # fmt: skip


@case("limits.invalid_utf8_refused", "DCF-LIM-005")
async def invalid_utf8(s: Session) -> None:
    """A string of invalid UTF-8, inside the envelope or in a request field, is refused with INVALID_ARGUMENT."""
    await s.hello()
    marker = "MARKMARK"
    signed = s.envelope("notice", s.notice().model_copy(update={"remarks": marker}))
    broken = signed.payload.replace(marker.encode(), b"\xff\xfe\xc0\xaf\xed\xa0\x80\xff")
    spoilt = s.seal(broken, signed.payload_type)
    refused = await s.refusal(s.peer.submit_notice(spoilt))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT)
    request = notice_service_pb2.GetNoticeRequest(channel_id=s.channel_id, notice_id=marker).SerializeToString()
    raw = request.replace(marker.encode(), b"\xff\xfe\xc0\xaf\xed\xa0\x80\xff")
    call = s.peer.channel.unary_unary(f"/{NOTICE_SERVICE.full_name}/GetNotice", request_serializer=None,
                                      response_deserializer=None)  # fmt: skip
    try:
        await call(raw, timeout=5)
    except grpc.aio.AioRpcError as error:
        expect(error.code() == grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT for a request field",
               error.code().name)  # fmt: skip
        return
    raise CaseFailedError("INVALID_ARGUMENT for a request field", "OK")


@case("limits.signature_count", "DCF-LIM-023", "DCF-LIM-002")
async def signatures(s: Session) -> None:
    """A SignedPayload with 9 signatures, or a key_id that is not an identifier, is refused naming the field."""
    await s.hello()
    signed = s.envelope("notice", s.notice())
    for index in range(9):
        signed.signatures.add(key_id=f"key-{index}", signature=bytes(64))
    refused = await s.refusal(s.deliver(signed))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field="envelope.signatures")
    signed = s.envelope("notice", s.notice())
    signed.signatures.add(key_id="not an id", signature=bytes(64))  # after the suite's own, if it signs
    refused = await s.refusal(s.deliver(signed))
    last = len(signed.signatures) - 1
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field=f"envelope.signatures[{last}].key_id")


# -- 12.2: geometry and notices ---------------------------------------------------------------------------------


@case("limits.volume_count", "DCF-LIM-001", "DCF-LIM-007")
async def volume_count(s: Session) -> None:
    """A notice of 64 volumes is stored whole; none or 65 is refused naming notice.volumes."""
    await s.hello()
    base = s.notice(hours=0.5)
    volumes = [
        base.volumes[0].model_copy(update={"time_start": base.volumes[0].time_start + timedelta(hours=index),
                                           "time_end": base.volumes[0].time_end + timedelta(hours=index)})
        for index in range(64)
    ]  # fmt: skip
    notice = base.model_copy(update={"volumes": volumes})
    await _accepted(s, s.file(notice), "64 volumes")
    stored = await s.peer.get_notice(s.channel_id, notice.notice_id)
    expect(len(stored.record.notice.volumes) == 64, "64 volumes stored", len(stored.record.notice.volumes))

    def add_one(message: envelope_pb2.Envelope) -> None:
        extra = message.notice.volumes.add()
        extra.CopyFrom(message.notice.volumes[63])
        extra.time_start.seconds += 3600 * 64
        extra.time_end.seconds += 3600 * 64

    await _past_bound(s, "notice", notice.model_copy(update={"notice_id": s.notice().notice_id}), "notice.volumes",
                      add_one)  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.volumes", lambda m: m.notice.ClearField("volumes"))


@case("limits.vertex_count", "DCF-LIM-001", "DCF-LIM-008")
async def vertex_count(s: Session) -> None:
    """A polygon of 256 vertices is stored whole; 257 is refused naming its vertices."""
    await s.hello()
    notice = _with_polygon(s.notice(), _ring(256, 2100.0))
    await _accepted(s, s.file(notice), "a polygon of 256 vertices")
    stored = await s.peer.get_notice(s.channel_id, notice.notice_id)
    count = len(stored.record.notice.volumes[0].volume.polygon.vertices)
    expect(count == 256, "256 vertices stored", count)
    await _past_bound(s, "notice", s.notice(), "notice.volumes[0].volume.polygon.vertices",
                      lambda m: _set_vertices(m, _ring(257, 2200.0)))  # fmt: skip


@case("limits.circle_radius", "DCF-LIM-001", "DCF-LIM-009")
async def circle_radius(s: Session) -> None:
    """A circle of radius 500000 m is accepted; 500001 m is refused naming radius_m."""
    await s.hello()

    def circle(radius: float) -> Spoil:
        def shape(message: envelope_pb2.Envelope) -> None:
            volume = message.notice.volumes[0].volume
            volume.ClearField("polygon")
            volume.circle.center.latitude, volume.circle.center.longitude = 35.4, 36.2
            volume.circle.radius_m = radius

        return shape

    await _accepted(s, s.deliver(s.spoiled("notice", s.notice(), circle(500_000.0))), "a radius of 500000 m")
    await _past_bound(s, "notice", s.notice(), "notice.volumes[0].volume.circle.radius_m", circle(500_001.0))


@case("limits.altitude_bounds", "DCF-LIM-001", "DCF-LIM-010")
async def altitudes(s: Session) -> None:
    """Altitudes of -1000 m and 100000 m are accepted; -1001 m and 100001 m are refused naming value."""
    await s.hello()

    def metres(lower: float, upper: float) -> Spoil:
        def set_band(message: envelope_pb2.Envelope) -> None:
            volume = message.notice.volumes[0].volume
            for altitude, value in ((volume.altitude_lower, lower), (volume.altitude_upper, upper)):
                altitude.value = value
                altitude.unit = geometry_pb2.ALTITUDE_UNIT_METRES
                altitude.reference = geometry_pb2.ALTITUDE_REFERENCE_MSL

        return set_band

    await _accepted(s, s.deliver(s.spoiled("notice", s.notice(), metres(-1000.0, 100_000.0))),
                    "altitudes of -1000 m and 100000 m")  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.volumes[0].volume.altitude_upper.value",
                      metres(0.0, 100_001.0))  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.volumes[0].volume.altitude_lower.value",
                      metres(-1001.0, 1000.0))  # fmt: skip


@case("limits.aircraft_count", "DCF-LIM-001", "DCF-LIM-014")
async def aircraft_count(s: Session) -> None:
    """aircraft_count 1 and 1000 are accepted; 0 and 1001 are refused naming it."""
    await s.hello()
    for count in (1, 1000):
        await _accepted(s, s.file(s.notice().model_copy(update={"aircraft_count": count})), f"{count} aircraft")
    for count in (0, 1001):
        await _past_bound(s, "notice", s.notice(), "notice.aircraft_count",
                          lambda m, c=count: setattr(m.notice, "aircraft_count", c))  # type: ignore[misc]  # fmt: skip


@case("limits.notice_lists", "DCF-LIM-001", "DCF-LIM-021")
async def notice_lists(s: Session) -> None:
    """16 callsigns of 16 characters and 16 transponder codes are accepted; a 17th, a 17-character callsign or a
    17th frequency id is refused naming the field."""
    await s.hello()
    callsigns = [f"C{index:02d}".ljust(16, "X") for index in range(16)]
    codes = [f"{index:04o}" for index in range(16)]
    notice = s.notice().model_copy(update={"callsigns": callsigns, "transponder_codes": codes})
    await _accepted(s, s.file(notice), "16 callsigns of 16 characters and 16 transponder codes")
    stored = (await s.peer.get_notice(s.channel_id, notice.notice_id)).record.notice
    expect(list(stored.callsigns) == callsigns and list(stored.transponder_codes) == codes,
           "the callsigns and codes stored whole", stored)  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.callsigns",
                      lambda m: m.notice.callsigns.extend([*callsigns, "EXTRA"]))  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.callsigns[0]",
                      lambda m: m.notice.callsigns.append("C" * 17))  # fmt: skip
    await _past_bound(s, "notice", s.notice(), "notice.transponder_codes",
                      lambda m: m.notice.transponder_codes.extend([*codes, "0777"]))  # fmt: skip

    def many_frequencies(message: envelope_pb2.Envelope) -> None:
        message.notice.frequency_ids[:] = [f"frequency-{index}" for index in range(17)]

    await _past_bound(s, "notice", s.notice(), "notice.frequency_ids", many_frequencies)


@case("limits.volume_duration", "DCF-LIM-001", "DCF-LIM-024")
async def volume_duration(s: Session) -> None:
    """A volume of 366 days is accepted; one second more is refused naming time_end."""
    await s.hello()
    await _accepted(s, s.file(s.notice(hours=366 * 24)), "a volume of 366 days")

    def longer(message: envelope_pb2.Envelope) -> None:
        message.notice.volumes[0].time_end.seconds += 1

    await _past_bound(s, "notice", s.notice(hours=366 * 24), "notice.volumes[0].time_end", longer)


@case("limits.response_lists", "DCF-LIM-011", "DCF-LIM-025")
async def response_lists(s: Session) -> None:
    """A response with 65 conflicts, or more reasons than UnableReason has values, is refused naming the list."""
    await s.hello()
    theirs = await s.originate("notice", s.notice(owner=s.target.party))
    reasons = list(UnableReason)
    response = OperationalResponse(notice_id=theirs.notice.notice_id, notice_version=1, kind=ResponseKind.UNABLE,
                                   reasons=[UnableReason.OTHER], remarks="the airspace is closed")  # fmt: skip

    def too_many_reasons(message: envelope_pb2.Envelope) -> None:
        message.response.reasons.extend([_unable(r) for r in reasons if r != UnableReason.OTHER])
        message.response.reasons.append(_unable(UnableReason.OTHER))

    await _past_bound(s, "response", response, "response.reasons", too_many_reasons, in_reply_to=theirs.message_id)

    def many_conflicts(message: envelope_pb2.Envelope) -> None:
        message.response.reasons[:] = [_unable(UnableReason.CONFLICT)]
        for index in range(65):
            message.response.conflicts.add(notice_id=f"{s.party}/n-{index}", version=1, owner=s.party,
                                           lateral_distance_m=10.0, vertical_distance_m=10.0)  # fmt: skip

    await _past_bound(s, "response", response, "response.conflicts", many_conflicts, in_reply_to=theirs.message_id)


@case("limits.conference_bounds", "DCF-LIM-001", "DCF-LIM-011", "DCF-LIM-012", "DCF-LIM-013", "DCF-LIM-015")
async def conference_bounds(s: Session) -> None:
    """16 candidate slots, 64 agenda items and a 24-hour duration are accepted; past each (or none, or zero) is
    refused naming the field, as are 65 notice_ids of an agenda item."""
    await s.hello()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    slots = [TimeSlot(start_time=start + timedelta(days=index)) for index in range(16)]
    presenter = Participant(party=s.party, role=ParticipantRole.FLIGHT_SAFETY)
    agenda = [AgendaItem(item_id=f"item-{index}", kind=AgendaItemKind.OTHER, title=f"Item {index}",
                         presenter=presenter, allotted=timedelta(minutes=1)) for index in range(64)]  # fmt: skip
    widest = proposal(s).model_copy(update={"candidate_slots": slots, "agenda": agenda,
                                            "duration": timedelta(hours=24)})  # fmt: skip
    await _accepted(s, s.send("conference_proposal", widest), "16 slots, 64 agenda items, 24 hours")
    path = "conference_proposal"

    def fresh() -> Any:
        # Another conference id, so that only the bound can be at fault.
        return widest.model_copy(update={"conference_id": proposal(s).conference_id})

    def extra_slot(message: envelope_pb2.Envelope) -> None:
        message.conference_proposal.candidate_slots.add().start_time.FromDatetime(start + timedelta(days=20))

    await _past_bound(s, path, fresh(), f"{path}.candidate_slots", extra_slot)
    await _past_bound(s, path, proposal(s), f"{path}.candidate_slots",
                      lambda m: m.conference_proposal.ClearField("candidate_slots"))  # fmt: skip

    def extra_item(message: envelope_pb2.Envelope) -> None:
        item = message.conference_proposal.agenda.add()
        item.CopyFrom(message.conference_proposal.agenda[0])
        item.item_id = "item-64"

    await _past_bound(s, path, fresh(), f"{path}.agenda", extra_item)
    for seconds in (24 * 3600 + 1, 0):
        await _past_bound(s, path, proposal(s), f"{path}.duration",
                          lambda m, v=seconds: setattr(m.conference_proposal.duration, "seconds", v))  # type: ignore[misc]  # fmt: skip

    def many_notices(message: envelope_pb2.Envelope) -> None:
        message.conference_proposal.agenda[0].kind = conference_pb2.AGENDA_ITEM_KIND_NOTICE_REVIEW
        message.conference_proposal.agenda[0].notice_ids.extend(f"{s.party}/n-{i}" for i in range(65))

    await _past_bound(s, path, fresh(), f"{path}.agenda[0].notice_ids", many_notices)


@case("limits.incident_aircraft", "DCF-LIM-001", "DCF-LIM-020")
async def incident_aircraft(s: Session) -> None:
    """An incident involving 16 aircraft is accepted; none or 17 is refused naming incident_report.aircraft."""
    await s.hello()
    aircraft = [InvolvedAircraft(party=s.party, aircraft_category=AircraftCategory.FIXED_WING,
                                 callsign=f"AC{index}") for index in range(16)]  # fmt: skip
    await _accepted(s, s.send("incident_report", incident(s).model_copy(update={"aircraft": aircraft})),
                    "16 aircraft")  # fmt: skip

    def one_more(message: envelope_pb2.Envelope) -> None:
        extra = message.incident_report.aircraft.add()
        extra.CopyFrom(message.incident_report.aircraft[0])
        extra.callsign = "AC16"

    widest = incident(s).model_copy(update={"aircraft": aircraft})
    await _past_bound(s, "incident_report", widest, "incident_report.aircraft", one_more)
    await _past_bound(s, "incident_report", incident(s), "incident_report.aircraft",
                      lambda m: m.incident_report.ClearField("aircraft"))  # fmt: skip


@case("limits.checklist_entries", "DCF-LIM-019")
async def checklist_entries(s: Session) -> None:
    """A checklist of 100000 entries with 128-character notice ids is accepted; 100001 is refused naming entries."""
    await s.hello()
    checklist = channel_pb2.Checklist(channel_id=s.channel_id, party=s.party)
    checklist.as_of_time.FromDatetime(datetime.now(UTC))
    for index in range(100_000):
        checklist.entries.add(notice_id=f"{index:06d}".ljust(128, "n"), owner=s.party, version=1, state=1)
    request = channel_service_pb2.ExchangeChecklistRequest(checklist=checklist)
    await _accepted(s, s.peer.unary(CHANNEL_SERVICE, "ExchangeChecklist", request), "100000 checklist entries")
    checklist.entries.add(notice_id="one-more", owner=s.party, version=1, state=1)
    request = channel_service_pb2.ExchangeChecklistRequest(checklist=checklist)
    refused = await s.refusal(s.peer.unary(CHANNEL_SERVICE, "ExchangeChecklist", request))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field="checklist.entries")


@case("limits.page_sizes", "DCF-LIM-022", "DCF-LIM-026", "DCF-LIM-027")
async def page_sizes(s: Session) -> None:
    """Pages hold at most page_size items (0 means 100); page_size 1001 or a page_token of 257 characters is
    refused naming it, for notices and for conferences."""
    await s.hello()
    for _ in range(3):
        await s.file(s.notice())
        await s.send("conference_proposal", proposal(s))
    lists: list[tuple[Any, str, Any, str]] = [
        (NOTICE_SERVICE, "ListNotices", notice_service_pb2.ListNoticesRequest, "records"),
        (CONFERENCE_SERVICE, "ListConferences", conference_service_pb2.ListConferencesRequest, "conferences"),
    ]
    for service, method, request, items in lists:
        first = await s.peer.unary(service, method, request(channel_id=s.channel_id, page_size=2))
        expect(len(getattr(first, items)) == 2 and first.next_page_token != "",
               f"{method}: 2 items and a next page", first)  # fmt: skip
        rest = await s.peer.unary(service, method, request(channel_id=s.channel_id, page_size=2,
                                                           page_token=first.next_page_token))  # fmt: skip
        expect(len(getattr(rest, items)) == 1 and rest.next_page_token == "", f"{method}: the last item", rest)
        default = await s.peer.unary(service, method, request(channel_id=s.channel_id, page_size=0))
        expect(len(getattr(default, items)) == 3, f"{method}: page_size 0 gives every item of 3", default)
        await _accepted(s, s.peer.unary(service, method, request(channel_id=s.channel_id, page_size=1000)),
                        f"{method} with page_size 1000")  # fmt: skip
        for field, value in (("page_size", 1001), ("page_token", "t" * 257)):
            refused = await s.refusal(s.peer.unary(service, method, request(channel_id=s.channel_id,
                                                                             **{field: value})))  # fmt: skip
            refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field=field)
