"""The demo's timeline: every message the two nodes exchanged, who sent it to whom, and what came of it.

A row is built from what the sender's node reported (the message out, then the peer's acknowledgement
with the journal position where the peer stored it) and, for a notice or a conference revision, from
what came back (the response or the answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.table import Table

from deconflict.cli.describe import clock, summarize, when
from deconflict.demo.observer import Seen
from deconflict.models.envelope import Envelope
from deconflict.models.response import ResponseKind


@dataclass(frozen=True, slots=True)
class TimelineRow:
    time: datetime
    sender: str
    recipient: str
    message: str
    subject: str
    outcome: str
    style: str | None = None


def build(seen: list[Seen], extra: list[TimelineRow]) -> list[TimelineRow]:
    """One row per message sent by either node (its OUT event), with `extra` rows, in time order."""
    acks = {(s.party, s.acknowledgement.message_id): s.acknowledgement for s in seen if s.acknowledgement is not None}
    incoming = [s.envelope for s in seen if s.incoming and s.envelope is not None]
    rows = list(extra)
    for item in seen:
        envelope = item.envelope
        if envelope is None or item.incoming:
            continue
        summary = summarize(envelope)
        ack = acks.get((envelope.sender, envelope.message_id))
        outcome = (
            f"acknowledged at {ack.acknowledging_party} journal position {ack.journal_position}"
            + ("; late" if ack.late else "")
            if ack is not None
            else "not acknowledged"
        )
        after = _what_came_back(envelope, incoming)
        if after:
            outcome += f"; {after}"
        subject = f"{summary.subject} v{summary.version}" if summary.version else summary.subject
        rows.append(
            TimelineRow(
                time=envelope.created_time,
                sender=envelope.sender,
                recipient=envelope.recipient,
                message=summary.label,
                subject=subject,
                outcome=outcome,
                style=_style(envelope, ack is not None),
            )
        )
    rows.sort(key=lambda row: row.time)
    return rows


def _what_came_back(envelope: Envelope, incoming: list[Envelope]) -> str:
    """The responses to a notice version, or the answer to a conference revision, as its sender stored them."""
    notice = envelope.filed_notice
    if notice is not None:
        kinds = [
            reply.response.kind.name
            for reply in incoming
            if reply.sender == envelope.recipient
            and reply.response is not None
            and reply.response.notice_id == notice.notice_id
            and reply.response.notice_version == notice.version
        ]
        return ", then ".join(kinds)
    revision = None
    if envelope.conference_proposal is not None:
        revision = (envelope.conference_proposal.conference_id, envelope.conference_proposal.revision)
    elif envelope.conference_answer is not None and envelope.conference_answer.counter is not None:
        counter = envelope.conference_answer.counter
        revision = (counter.conference_id, counter.revision)
    if revision is None:
        return ""
    for reply in incoming:
        answer = reply.conference_answer
        if reply.sender != envelope.recipient or answer is None or (answer.conference_id, answer.revision) != revision:
            continue
        if answer.accept is not None:
            return f"accepted: {when(answer.accept.slot.start_time)}"
        if answer.counter is not None:
            return f"countered with revision {answer.counter.revision}"
        return "declined"
    return ""


def _style(envelope: Envelope, acknowledged: bool) -> str | None:
    if not acknowledged:
        return "bold red"
    response = envelope.response
    if response is not None and response.kind in (ResponseKind.UNABLE, ResponseKind.COUNTER):
        return "yellow"
    if response is not None and response.kind == ResponseKind.ACCEPT:
        return "green"
    if envelope.amendment is not None or envelope.incident_report is not None:
        return "yellow"
    if envelope.conference_answer is not None and envelope.conference_answer.accept is not None:
        return "green"
    return None


def table(rows: list[TimelineRow], title: str) -> Table:
    out = Table(title=title, title_justify="left")
    out.add_column("time (UTC)", no_wrap=True)
    out.add_column("from", no_wrap=True)
    out.add_column("to", no_wrap=True)
    out.add_column("message", no_wrap=True)
    out.add_column("notice / conference", no_wrap=True)
    out.add_column("outcome")
    for row in rows:
        out.add_row(clock(row.time), row.sender, row.recipient, row.message, row.subject, row.outcome, style=row.style)
    return out
