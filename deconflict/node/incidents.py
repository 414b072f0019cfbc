"""Incident reports per channel, and the review of them that the next conference's agenda carries.

Reports flow at any time, also while the channel is suspended (DCF-INC-001); they
need no answer (DCF-INC-006) but go on the agenda of the next conference proposed
on the channel (DCF-CNF-030). Like the conference book, `check` refuses and changes
nothing, `apply` stores, in both directions and in journal replay alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import grpc

from deconflict import limits
from deconflict.models.channel import IncidentReport
from deconflict.models.conference import AgendaItem, AgendaItemKind, ConferenceProposal, Participant, ParticipantRole
from deconflict.models.envelope import Envelope
from deconflict.node.conferences import ConferenceBook, next_stored_order
from deconflict.rpc.refusal import Refusal

if TYPE_CHECKING:  # the ledger imports this module: only the type is needed here
    from deconflict.node.ledger import ChannelState

# Time given to the review of one incident on a default agenda.
INCIDENT_REVIEW_TIME: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class FiledIncident:
    """An incident report as stored on a channel, with the party that reported it.

    The report itself does not name its reporter: that is the sender of the envelope
    that carried it, and it presents the incident at the conference.
    """

    channel_id: str
    report: IncidentReport
    reporter: str
    message_id: str  # the first message that carried the report
    stored_time: datetime
    stored_order: int  # next_stored_order() when stored: journal order, compared with conference records

    @property
    def incident_id(self) -> str:
        return self.report.incident_id


@dataclass(frozen=True, slots=True)
class IncidentAgenda:
    """A proposal with its incident reviews added, and the incidents that did not fit its duration."""

    proposal: ConferenceProposal
    added: tuple[str, ...]  # incident ids now reviewed by an item of their own
    left_out: tuple[str, ...]  # incident ids not added, in the order given: the operator decides (DCF-CNF-031)

    @property
    def complete(self) -> bool:
        return not self.left_out


class IncidentBook:
    """The incident reports of all the node's channels, by (channel_id, incident_id), in the order stored."""

    def __init__(self) -> None:
        self._incidents: dict[tuple[str, str], FiledIncident] = {}

    # -- reading

    def incident(self, channel_id: str, incident_id: str) -> FiledIncident | None:
        return self._incidents.get((channel_id, incident_id))

    def incidents(self, channel_id: str) -> list[FiledIncident]:
        return [filed for filed in self._incidents.values() if filed.channel_id == channel_id]

    def since_last_conference(self, channel_id: str, conferences: ConferenceBook) -> list[FiledIncident]:
        """Every incident stored on the channel after its latest conference record, every one when there is
        none: the default incident reviews of the next proposal (DCF-CNF-030)."""
        last = conferences.last_recorded_order(channel_id)
        return [filed for filed in self.incidents(channel_id) if last is None or filed.stored_order > last]

    # -- checks and changes

    def check(self, channel: ChannelState, envelope: Envelope, now: datetime) -> None:
        """Whether an incident report, sent or received, may be stored; raises a Refusal."""
        report = envelope.incident_report
        if report is None:
            return
        tolerance = channel.agreement.model.clock_skew_tolerance
        if report.occurred_time > now + tolerance:
            raise Refusal.invalid(
                [
                    (
                        "incident_report.occurred_time",
                        f"{report.occurred_time.isoformat()} is in the future, beyond the clock-skew tolerance "
                        f"of {tolerance}",
                    )
                ]
            )  # DCF-INC-004
        filed = self._incidents.get((channel.channel_id, report.incident_id))
        if filed is not None and filed.report != report:
            raise Refusal(
                grpc.StatusCode.ALREADY_EXISTS,
                f"incident {report.incident_id} was reported on channel {channel.channel_id} with other content",
                reason="INCIDENT_EXISTS",
            )  # DCF-INC-005

    def restore(self, channel_id: str, incident_id: str, saved: FiledIncident | None) -> None:
        """Put one incident back as it stood (`incident()` saved it; None: it was not filed), to take back a
        report of this node's the peer refused (DCF-ENV-013)."""
        if saved is None:
            self._incidents.pop((channel_id, incident_id), None)
        else:
            self._incidents[(channel_id, incident_id)] = saved

    def apply(self, channel: ChannelState, envelope: Envelope, when: datetime) -> None:
        report = envelope.incident_report
        if report is None:
            return
        key = (channel.channel_id, report.incident_id)
        if key in self._incidents:
            return  # the same report in a new message: stored as a message, not as a second incident (DCF-INC-005)
        self._incidents[key] = FiledIncident(
            channel_id=channel.channel_id,
            report=report,
            reporter=envelope.sender,
            message_id=envelope.message_id,
            stored_time=when,
            stored_order=next_stored_order(),
        )


def with_incidents(proposal: ConferenceProposal, incidents: Iterable[FiledIncident]) -> IncidentAgenda:
    """`proposal` with one INCIDENT_REVIEW item for each incident that no item names yet (DCF-CNF-030).

    Each item gets INCIDENT_REVIEW_TIME and is presented by the reporting party's flight safety
    participant. Items are added in the order given until the next one would take the agenda past the
    conference's duration or past DCF-LIM-013 items (DCF-CNF-007); the rest are returned as `left_out`,
    never dropped silently.
    """
    agenda = list(proposal.agenda)
    reviewed = {incident_id for item in agenda for incident_id in item.incident_ids}
    allotted = sum((item.allotted for item in agenda), timedelta(0))
    added: list[str] = []
    left_out: list[str] = []
    for filed in incidents:
        if filed.incident_id in reviewed:
            continue
        reviewed.add(filed.incident_id)
        fits = allotted + INCIDENT_REVIEW_TIME <= proposal.duration and len(agenda) < limits.MAX_AGENDA_ITEMS
        if left_out or not fits:
            left_out.append(filed.incident_id)
            continue
        agenda.append(_review_item(filed, {item.item_id for item in agenda}))
        allotted += INCIDENT_REVIEW_TIME
        added.append(filed.incident_id)
    # Validated again: the agenda rules of DCF-CNF-007 hold for what this node sends.
    extended = ConferenceProposal.model_validate({**dict(proposal), "agenda": agenda})
    return IncidentAgenda(proposal=extended, added=tuple(added), left_out=tuple(left_out))


def _review_item(filed: FiledIncident, taken: set[str]) -> AgendaItem:
    report = filed.report
    # The notices of the aircraft involved, once each, so that the review can bring them up.
    notice_ids = list(dict.fromkeys(a.notice_id for a in report.aircraft if a.notice_id))
    return AgendaItem(
        item_id=_item_id(filed.incident_id, taken),
        kind=AgendaItemKind.INCIDENT_REVIEW,
        title=f"Incident {filed.incident_id} of {report.occurred_time:%d %b %Y %H:%M}Z",
        notice_ids=notice_ids,
        incident_ids=[filed.incident_id],
        presenter=Participant(party=filed.reporter, role=ParticipantRole.FLIGHT_SAFETY),
        allotted=INCIDENT_REVIEW_TIME,
    )


def _item_id(incident_id: str, taken: set[str]) -> str:
    """ "incident-<incident_id>", or a numbered one when that is too long or already an item's id."""
    preferred = f"incident-{incident_id}"
    if len(preferred) <= limits.MAX_IDENTIFIER and preferred not in taken:
        return preferred
    return next(f"incident-{n}" for n in range(1, len(taken) + 2) if f"incident-{n}" not in taken)
