"""What people read about a message: one short summary per envelope, acknowledgement or operator event.

The same words serve the node's log (`deconflict serve`), the live table (`deconflict watch`) and the
demo's timeline, so a message reads the same wherever an operator meets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from deconflict.bridge.envelope import PayloadError, open_acknowledgement, open_envelope
from deconflict.models.channel import Liveness
from deconflict.models.envelope import Envelope
from deconflict.models.geometry import Altitude, AltitudeUnit, Volume4D
from deconflict.models.notice import FlightNotice
from deconflict.models.response import LogicalAcknowledgement, OperationalResponse
from deconflict.operator.v1 import operator_service_pb2 as pb


@dataclass(frozen=True, slots=True)
class Summary:
    """One message in the protocol's words."""

    kind: str  # the body: "notice", "amendment", "response", "conference proposal", ...
    label: str  # the kind with what sets it apart: "response UNABLE", "conference answer: counter"
    subject: str  # the notice or conference concerned; "" when none
    version: int  # the notice version or conference revision; 0 when none
    detail: str  # one short sentence


def clock(moment: datetime) -> str:
    """10:42:07.315Z: when something happened today, to the millisecond."""
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def when(moment: datetime) -> str:
    """02 Oct 14:00Z: a moment of a flight or a conference."""
    return f"{moment:%d %b %H:%M}Z"


def altitude(value: Altitude) -> str:
    if value.unit == AltitudeUnit.FLIGHT_LEVEL:
        return f"FL{value.value:03.0f}"
    unit = "m" if value.unit == AltitudeUnit.METRES else "ft"
    return f"{value.value:g} {unit} {value.reference.name}"


def volume(value: Volume4D) -> str:
    """Where, how high and when: "circle 35.93N 36.63E r 12 km, FL080-FL200, 01 Oct 07:30-08:30Z"."""
    shape = value.volume
    if shape.circle is not None:
        centre = shape.circle.center
        outline = f"circle {centre.latitude:.2f}N {centre.longitude:.2f}E r {shape.circle.radius_m / 1000:g} km"
    else:
        assert shape.polygon is not None  # the model holds exactly one outline
        outline = f"polygon of {len(shape.polygon.vertices)} vertices"
    band = f"{altitude(shape.altitude_lower)}-{altitude(shape.altitude_upper)}"
    return f"{outline}, {band}, {when(value.time_start)}-{value.time_end:%H:%M}Z"


def notice_detail(notice: FlightNotice) -> str:
    first = volume(notice.volumes[0])
    more = f" (+{len(notice.volumes) - 1} volumes)" if len(notice.volumes) > 1 else ""
    return f"{notice.aircraft_count} {notice.aircraft_category.name}, {notice.category.name}: {first}{more}"


def response_detail(response: OperationalResponse) -> str:
    parts = [response.kind.name]
    if response.reasons:
        parts.append("reasons " + ", ".join(reason.name for reason in response.reasons))
    if response.conflicts:
        named = ", ".join(f"{c.notice_id} v{c.version}" for c in response.conflicts)
        parts.append(f"conflicts with {named}")
    if response.counter_volumes:
        parts.append("counter: " + "; ".join(volume(v) for v in response.counter_volumes))
    if response.remarks:
        parts.append(response.remarks)
    return ": ".join(parts[:1]) + ("; " + "; ".join(parts[1:]) if len(parts) > 1 else "")


def summarize(envelope: Envelope) -> Summary:
    """The envelope's body in the protocol's words."""
    body = envelope.body_field
    kind = body.replace("_", " ")
    if envelope.notice is not None:
        notice = envelope.notice
        return Summary(kind, kind, notice.notice_id, notice.version, notice_detail(notice))
    if envelope.amendment is not None:
        amended = envelope.amendment
        detail = f"replaces v{amended.replaces_version}: {notice_detail(amended.notice)}"
        return Summary(kind, kind, amended.notice.notice_id, amended.notice.version, detail)
    if envelope.cancellation is not None:
        ended = envelope.cancellation
        return Summary(kind, kind, ended.notice_id, ended.version, ended.reason or "cancelled")
    if envelope.response is not None:
        response = envelope.response
        label = f"response {response.kind.name}"
        return Summary(kind, label, response.notice_id, response.notice_version, response_detail(response))
    if envelope.timeout is not None:
        timeout = envelope.timeout
        subject = timeout.notice_id or timeout.conference_id
        version = timeout.notice_version or timeout.conference_revision
        detail = (
            f"no answer to the {timeout.unanswered_kind.name.lower()} after {timeout.waited}: silence is not consent"
        )
        return Summary(kind, kind, subject, version, detail)
    if envelope.conference_proposal is not None:
        proposal = envelope.conference_proposal
        slots = ", ".join(when(slot.start_time) for slot in proposal.candidate_slots)
        detail = f"{proposal.title}; slots {slots}; {len(proposal.agenda)} agenda items"
        return Summary(kind, kind, proposal.conference_id, proposal.revision, detail)
    if envelope.conference_answer is not None:
        answer = envelope.conference_answer
        if answer.accept is not None:
            label, detail = "accept", f"accepts the slot {when(answer.accept.slot.start_time)}"
        elif answer.counter is not None:
            slots = ", ".join(when(slot.start_time) for slot in answer.counter.candidate_slots)
            label, detail = "counter", f"revision {answer.counter.revision}, slots {slots}"
        else:
            assert answer.decline is not None  # the model holds exactly one answer
            label, detail = "decline", answer.decline.reason
        return Summary(kind, f"{kind}: {label}", answer.conference_id, answer.revision, detail)
    if envelope.conference_record is not None:
        record = envelope.conference_record
        detail = f"{len(record.decisions)} decisions, {len(record.action_items)} action items"
        return Summary(kind, kind, record.conference_id, 0, detail)
    if envelope.conference_cancellation is not None:
        cancelled = envelope.conference_cancellation
        return Summary(kind, kind, cancelled.conference_id, 0, cancelled.reason)
    if envelope.incident_report is not None:
        report = envelope.incident_report
        where = f"{report.position.latitude:.2f}N {report.position.longitude:.2f}E {altitude(report.altitude)}"
        return Summary(
            kind, kind, report.incident_id, 0, f"{when(report.occurred_time)} at {where}: {report.narrative}"
        )
    if envelope.suspension is not None:
        suspension = envelope.suspension
        detail = f"from {when(suspension.effective_time)}: {suspension.reason}"
        return Summary(kind, kind, suspension.suspension_id, 0, detail)
    assert envelope.resumption is not None  # the last body of the oneof
    resumption = envelope.resumption
    detail = f"from {when(resumption.effective_time)}: {resumption.reason}"
    return Summary(kind, kind, resumption.suspension_id, 0, detail)


def acknowledgement_detail(ack: LogicalAcknowledgement) -> str:
    """What a logical acknowledgement says: stored, where, and what it decided."""
    party, sequence, position = ack.acknowledging_party, ack.message_sequence, ack.journal_position
    text = f"{party} stored message {sequence} at its journal position {position}"
    if ack.late:
        text += "; marked late (less than the agreed lead time)"
    if ack.response_due_time is not None:
        text += f"; response due {when(ack.response_due_time)}"
    return text


@dataclass(frozen=True, slots=True)
class EventRow:
    """One operator event as a row: what `deconflict watch` shows and `deconflict serve` logs."""

    position: int | None  # journal position of a stored message or acknowledgement
    time: datetime | None
    channel_id: str
    what: str  # "in", "out", "ack", "alert", "liveness"
    kind: str
    subject: str
    version: int
    sequence: int
    detail: str
    alert: bool = False


def event_row(event: pb.Event) -> EventRow:
    """An OperatorService event in the protocol's words; a message that cannot be opened says so."""
    time = event.time.ToDatetime(tzinfo=UTC) if event.HasField("time") else None
    stored: int | None = event.position if event.HasField("message") else None
    # An acknowledgement, or a refusal (an alert), is journaled after the message it answers, so never at
    # position 0: a 0 here is a live event that came without its position, not a position.
    if (event.HasField("acknowledgement") or event.HasField("alert")) and event.position:
        stored = event.position

    def row(what: str, kind: str, detail: str, subject: str = "", version: int = 0, sequence: int = 0) -> EventRow:
        # An alert stands out until an operator acknowledges it (DCF-GEN-012).
        alert = what == "alert" and not event.alert.HasField("acknowledged_time")
        return EventRow(stored, time, event.channel_id, what, kind, subject, version, sequence, detail, alert)

    which = event.WhichOneof("event")
    if which == "message":
        what = "in" if event.message.direction == pb.DIRECTION_IN else "out"
        try:
            envelope = open_envelope(event.message.envelope)
        except (PayloadError, ValidationError) as error:
            return row(what, "?", f"unreadable: {error}")
        summary = summarize(envelope)
        detail = f"{envelope.sender} -> {envelope.recipient}: {summary.detail}"
        return row(what, summary.label, detail, summary.subject, summary.version, envelope.sequence)
    if which == "acknowledgement":
        try:
            ack = open_acknowledgement(event.acknowledgement.acknowledgement)
        except (PayloadError, ValidationError) as error:
            return row("ack", "?", f"unreadable: {error}")
        detail = acknowledgement_detail(ack)
        return row("ack", "acknowledgement", detail, ack.notice_id, ack.notice_version, ack.message_sequence)
    if which == "alert":
        alert = event.alert
        acknowledged = " acknowledged" if alert.HasField("acknowledged_time") else ""
        detail = f"alert {alert.alert_id}{acknowledged}: {alert.text}"
        return row("alert", alert_kind(alert.kind), detail, alert.subject_id)
    if which == "liveness":
        return row("liveness", "liveness", f"{event.liveness.peer} is {liveness_name(event.liveness.liveness)}")
    return row("?", "?", "an event this client does not know")


def alert_kind(number: int) -> str:
    """ALERT_KIND_CONFERENCE_CANCELLED -> "conference cancelled"; a kind this client does not know by its number."""
    try:
        name = pb.AlertKind.Name(number)  # type: ignore[arg-type]
    except ValueError:
        return f"kind {number}"
    return name.removeprefix("ALERT_KIND_").replace("_", " ").lower()


def liveness_name(number: int) -> str:
    try:
        return Liveness(number).name
    except ValueError:
        return "UNKNOWN"


def event_line(row: EventRow) -> str:
    """The row on one line, for logs."""
    where = f" #{row.position}" if row.position is not None else ""
    version = f" v{row.version}" if row.version else ""
    sequence = f" seq {row.sequence}" if row.sequence and row.what in ("in", "out") else ""
    subject = f" {row.subject}{version}" if row.subject else ""
    kind = "" if row.kind in ("acknowledgement", "liveness") else f" {row.kind}"
    return f"{row.what:<8}{kind}{subject}{sequence} [{row.channel_id}]{where}: {row.detail}"
