"""OperatorService: this party's operators file notices, answer the peer's, run conferences and watch.

Each call builds the body, lets the ledger check it exactly as it would check the
same message from a peer, stores it in the journal and answers once it is
durable; the peer link then delivers it. Reads answer from the ledger (notices,
conferences) and from the node's alert book (alerts, DCF-GEN-012).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge import conference as conference_bridge
from deconflict.bridge.channel import incident_report_data, resumption_data, suspension_data
from deconflict.bridge.conference import conference_proposal_to_proto
from deconflict.bridge.conference_service import conference_status_to_proto
from deconflict.bridge.notice import flight_notice_data, flight_notice_to_proto
from deconflict.bridge.notice_service import notice_record_to_proto
from deconflict.bridge.response import operational_response_data
from deconflict.journal.base import Direction, Record
from deconflict.models.base import Message
from deconflict.models.channel import IncidentReport, Resumption, Suspension
from deconflict.models.conference import ConferenceAnswer, ConferenceCancellation, ConferenceProposal, ConferenceRecord
from deconflict.models.envelope import Mode
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCancellation, NoticeState
from deconflict.models.response import OperationalResponse, ResponseKind, UnableReason
from deconflict.node.incidents import with_incidents
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node, Originated, unknown_reference
from deconflict.node.outbox import is_refusal
from deconflict.node.services.notice import channel_of, page_token, page_window, record_of
from deconflict.operator.v1 import operator_service_pb2 as pb
from deconflict.rpc.handlers import Context
from deconflict.rpc.refusal import Refusal
from deconflict.v1 import envelope_pb2

M = TypeVar("M", bound=Message)


class OperatorService:
    """The behaviours of deconflict.operator.v1.OperatorService over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def FileNotice(self, request: pb.FileNoticeRequest, context: Context) -> pb.FileNoticeResponse:  # noqa: N802
        notice_pb = type(request.notice)()
        notice_pb.CopyFrom(request.notice)
        notice_pb.notice_id = notice_pb.notice_id or f"{self.node.party}/{uuid.uuid4()}"
        notice_pb.owner, notice_pb.version = self.node.party, 1
        notice_pb.state = int(NoticeState.ACTIVE)  # type: ignore[assignment]
        notice = _valid(FlightNotice, flight_notice_data(notice_pb), "notice")
        mode = Mode(request.mode) if request.mode else Mode.OPERATIONAL
        channels = [channel_of(self.node, c) for c in request.channel_ids] or list(self.node.ledger.channels.values())
        sent = [self.node.originate(channel, "notice", notice, mode=mode) for channel in channels]
        return pb.FileNoticeResponse(notice=flight_notice_to_proto(notice), sent=[await _sent(s) for s in sent])

    async def AmendNotice(self, request: pb.AmendNoticeRequest, context: Context) -> pb.AmendNoticeResponse:  # noqa: N802
        entry = self.node.ledger.notice(self.node.party, request.notice.notice_id)
        if entry is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"{self.node.party} has no notice {request.notice.notice_id}")
        notice_pb = type(request.notice)()
        notice_pb.CopyFrom(request.notice)
        notice_pb.owner, notice_pb.version = self.node.party, request.replaces_version + 1
        notice_pb.state = int(NoticeState.ACTIVE)  # type: ignore[assignment]
        notice = _valid(FlightNotice, flight_notice_data(notice_pb), "notice")
        amendment = NoticeAmendment(replaces_version=request.replaces_version, notice=notice)
        sent = [
            self.node.originate(self.node.ledger.channels[c], "amendment", amendment, mode=entry.mode)
            for c in list(entry.dialogues)
        ]
        return pb.AmendNoticeResponse(notice=flight_notice_to_proto(notice), sent=[await _sent(s) for s in sent])

    async def CancelNotice(  # noqa: N802
        self, request: pb.CancelNoticeRequest, context: Context
    ) -> pb.CancelNoticeResponse:
        entry = self.node.ledger.notice(self.node.party, request.notice_id)
        if entry is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"{self.node.party} has no notice {request.notice_id}")
        cancellation = _valid(
            NoticeCancellation,
            {"notice_id": request.notice_id, "version": request.version, "reason": request.reason},
            "",
        )
        sent = [
            self.node.originate(self.node.ledger.channels[c], "cancellation", cancellation, mode=entry.mode)
            for c in list(entry.dialogues)
        ]
        return pb.CancelNoticeResponse(sent=[await _sent(s) for s in sent])

    async def Respond(self, request: pb.RespondRequest, context: Context) -> pb.RespondResponse:  # noqa: N802
        channel = channel_of(self.node, request.channel_id)
        response = _valid(OperationalResponse, operational_response_data(request.response), "response")
        entry = self.node.ledger.notice(channel.peer, response.notice_id)
        if entry is None or channel.channel_id not in entry.dialogues:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"{channel.peer} filed no notice {response.notice_id} here")
        if response.notice_version == entry.notice.version:
            _check_references(channel, entry.notice, response)
        dialogue = entry.dialogues[channel.channel_id]
        sent = self.node.originate(channel, "response", response, in_reply_to=dialogue.message_id, mode=entry.mode)
        return pb.RespondResponse(sent=await _sent(sent))

    async def ProposeConference(  # noqa: N802
        self, request: pb.ProposeConferenceRequest, context: Context
    ) -> pb.ProposeConferenceResponse:
        channel = channel_of(self.node, request.channel_id)
        proposal = _valid(ConferenceProposal, conference_bridge.conference_proposal_data(request.proposal), "proposal")
        if not request.without_incidents:
            filed = self.node.ledger.incidents.since_last_conference(channel.channel_id, self.node.ledger.conferences)
            proposal = with_incidents(proposal, filed).proposal
        sent = self.node.originate(channel, "conference_proposal", proposal)
        return pb.ProposeConferenceResponse(proposal=conference_proposal_to_proto(proposal), sent=await _sent(sent))

    async def AnswerConference(  # noqa: N802
        self, request: pb.AnswerConferenceRequest, context: Context
    ) -> pb.AnswerConferenceResponse:
        channel = channel_of(self.node, request.channel_id)
        answer = _valid(ConferenceAnswer, conference_bridge.conference_answer_data(request.answer), "answer")
        conference = self.node.ledger.conferences.conference(channel.channel_id, answer.conference_id)
        if conference is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no conference {answer.conference_id} on {channel.channel_id}")
        sent = self.node.originate(
            channel, "conference_answer", answer, in_reply_to=conference.message_id, mode=conference.mode
        )
        return pb.AnswerConferenceResponse(sent=await _sent(sent))

    async def RecordConference(  # noqa: N802
        self, request: pb.RecordConferenceRequest, context: Context
    ) -> pb.RecordConferenceResponse:
        channel = channel_of(self.node, request.channel_id)
        record = _valid(ConferenceRecord, conference_bridge.conference_record_data(request.record), "record")
        return pb.RecordConferenceResponse(sent=await self._conference_write(channel, "conference_record", record))

    async def CancelConference(  # noqa: N802
        self, request: pb.CancelConferenceRequest, context: Context
    ) -> pb.CancelConferenceResponse:
        channel = channel_of(self.node, request.channel_id)
        cancellation = _valid(
            ConferenceCancellation,
            conference_bridge.conference_cancellation_data(request.cancellation),
            "cancellation",
        )
        sent = await self._conference_write(channel, "conference_cancellation", cancellation)
        return pb.CancelConferenceResponse(sent=sent)

    async def _conference_write(self, channel: ChannelState, body: str, value: Any) -> pb.Sent:
        conference = self.node.ledger.conferences.conference(channel.channel_id, value.conference_id)
        mode = conference.mode if conference is not None else Mode.OPERATIONAL
        return await _sent(self.node.originate(channel, body, value, mode=mode))

    async def ReportIncident(  # noqa: N802
        self, request: pb.ReportIncidentRequest, context: Context
    ) -> pb.ReportIncidentResponse:
        channel = channel_of(self.node, request.channel_id)
        report = _valid(IncidentReport, incident_report_data(request.report), "report")
        return pb.ReportIncidentResponse(sent=await _sent(self.node.originate(channel, "incident_report", report)))

    async def Suspend(self, request: pb.SuspendRequest, context: Context) -> pb.SuspendResponse:  # noqa: N802
        channel = channel_of(self.node, request.channel_id)
        suspension = _valid(Suspension, suspension_data(request.suspension), "suspension")
        return pb.SuspendResponse(sent=await _sent(self.node.originate(channel, "suspension", suspension)))

    async def Resume(self, request: pb.ResumeRequest, context: Context) -> pb.ResumeResponse:  # noqa: N802
        channel = channel_of(self.node, request.channel_id)
        resumption = _valid(Resumption, resumption_data(request.resumption), "resumption")
        return pb.ResumeResponse(sent=await _sent(self.node.originate(channel, "resumption", resumption)))

    async def GetStatus(self, request: pb.GetStatusRequest, context: Context) -> pb.GetStatusResponse:  # noqa: N802
        node = self.node
        return pb.GetStatusResponse(
            party=node.party,
            journal_size=node.journal.size,
            channels=[_channel_status(node, channel) for channel in node.ledger.channels.values()],
        )

    async def WatchEvents(  # noqa: N802
        self, request: pb.WatchEventsRequest, context: Context
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        queue = self.node.watch()  # first, so nothing stored during the replay below is missed
        try:
            # The alerts no operator has acknowledged, whenever they were raised (DCF-GEN-012); taken with no
            # await after watch(), so an alert raised later comes through the queue only.
            for alert in self.node.alerts.open_alerts():
                yield pb.WatchEventsResponse(event=alert.event())
            last = -1
            position = request.from_position
            while position < self.node.journal.size:
                entries = await self.node.journal.read(position, 256)
                if not entries:
                    break
                for entry in entries:
                    last = entry.position
                    if is_refusal(entry.record):
                        continue  # its alert is the operator's view of it, recorded with the alerts (DCF-ENV-035)
                    yield pb.WatchEventsResponse(event=_stored_event(entry.position, entry.record))
                position = entries[-1].position + 1
            while True:
                event = await queue.get()
                if event.position and event.position <= last:
                    continue  # already replayed
                yield pb.WatchEventsResponse(event=event)
        finally:
            self.node.unwatch(queue)

    async def GetNotice(self, request: pb.GetNoticeRequest, context: Context) -> pb.GetNoticeResponse:  # noqa: N802
        if not request.notice_id:
            raise Refusal.invalid([("notice_id", "is required")])
        node = self.node
        channels = [channel_of(node, request.channel_id)] if request.channel_id else node.ledger.channels.values()
        records = []
        for channel in channels:
            for owner in (request.owner,) if request.owner else (channel.party, channel.peer):
                entry = node.ledger.notice(owner, request.notice_id)
                if entry is not None and channel.channel_id in entry.dialogues:
                    records.append(notice_record_to_proto(record_of(channel, entry)))
        if not records:
            where = f"on {request.channel_id}" if request.channel_id else "on any channel"
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no notice {request.notice_id} {where}")
        return pb.GetNoticeResponse(records=records)

    async def GetConference(  # noqa: N802
        self, request: pb.GetConferenceRequest, context: Context
    ) -> pb.GetConferenceResponse:
        channel = channel_of(self.node, request.channel_id)
        if not request.conference_id:
            raise Refusal.invalid([("conference_id", "is required")])
        status = self.node.ledger.conferences.status(channel.channel_id, request.conference_id)
        if status is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no conference {request.conference_id} on {channel.channel_id}")
        return pb.GetConferenceResponse(status=conference_status_to_proto(status))

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: Context) -> pb.ListAlertsResponse:  # noqa: N802
        # The page token carries the id of the first alert of the next page: acknowledging alerts between two
        # pages moves none of the others.
        first, size = page_window(request.page_size, request.page_token)
        found = await self.node.alerts.page(
            include_acknowledged=request.include_acknowledged, from_id=first, limit=size + 1
        )
        page = found[:size]
        more = len(found) > size
        return pb.ListAlertsResponse(
            alerts=[alert.event() for alert in page],
            next_page_token=page_token(page[-1].alert_id + 1) if more else "",
        )

    async def AcknowledgeAlerts(  # noqa: N802
        self, request: pb.AcknowledgeAlertsRequest, context: Context
    ) -> pb.AcknowledgeAlertsResponse:
        ids = list(request.alert_ids)
        if not ids:
            raise Refusal.invalid([("alert_ids", "name at least one alert")])
        if len(ids) > limits.MAX_PAGE_SIZE:
            raise Refusal.invalid([("alert_ids", f"name at most {limits.MAX_PAGE_SIZE} alerts")])
        zero = [(f"alert_ids[{index}]", "alert ids start at 1") for index, value in enumerate(ids) if not value]
        if zero:
            raise Refusal.invalid(zero)
        was_open = {alert.alert_id for alert in self.node.alerts.open_alerts()}
        acknowledged, unknown = await self.node.alerts.acknowledge(ids, self.node.clock())
        if unknown:
            named = ", ".join(str(alert_id) for alert_id in unknown)
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"this node recorded no alert {named}")
        self.node.alerts_acknowledged([alert for alert in acknowledged if alert.alert_id in was_open])
        return pb.AcknowledgeAlertsResponse(alerts=[alert.event() for alert in acknowledged])


async def _sent(originated: Originated) -> pb.Sent:
    position = await originated.position
    envelope = originated.envelope
    return pb.Sent(
        channel_id=envelope.channel_id,
        message_id=envelope.message_id,
        sequence=envelope.sequence,
        journal_position=position,
    )


def _check_references(channel: ChannelState, notice: FlightNotice, response: OperationalResponse) -> None:
    """A notice that names a frequency or contact the agreement does not have is answered UNABLE with
    UNKNOWN_REFERENCE naming the first one (DCF-RSP-028): an operator's final answer may say more, never less
    (DCF-RSP-029). STANDBY is left to the dialogue's own rules."""
    unknown = unknown_reference(channel.agreement.model, notice)
    if unknown is None or response.kind == ResponseKind.STANDBY:
        return
    rule = (
        f"{notice.notice_id} v{notice.version} names {unknown.path} = {unknown.value!r}, which the agreement "
        "does not have: it is answered UNABLE with reason UNKNOWN_REFERENCE"
    )
    if response.kind != ResponseKind.UNABLE:
        raise Refusal.invalid([("response.kind", rule)])
    if UnableReason.UNKNOWN_REFERENCE not in response.reasons:
        raise Refusal.invalid([("response.reasons", rule)])
    if response.offending_field != unknown.path:
        raise Refusal.invalid([("response.offending_field", f"{rule}, naming {unknown.path}")])


def _valid(model: type[M], data: dict[str, Any], prefix: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Refusal.from_validation(error, prefix) from None


def _channel_status(node: Node, channel: ChannelState) -> pb.ChannelStatus:
    open_dialogues = sum(
        1
        for entry in node.ledger.notices.values()
        for channel_id, dialogue in entry.dialogues.items()
        if channel_id == channel.channel_id and dialogue.state.name in ("PENDING", "STANDBY")
    )
    return pb.ChannelStatus(
        channel_id=channel.channel_id,
        peer=channel.peer,
        peer_address=channel.peer_address,
        liveness=int(channel.liveness),  # type: ignore[arg-type]
        greeted=channel.greeted,
        suspended=channel.suspended,
        last_sequence_sent=channel.next_out - 1,
        last_sequence_received=channel.next_in - 1,
        unacknowledged=len(channel.sent_positions) - channel.acknowledged,
        agreement_hash=channel.agreement.sha256,
        active_notices=node.active_notices(channel),
        open_dialogues=open_dialogues,
        open_alerts=node.alerts.open_count(channel.channel_id),
    )


def _stored_event(position: int, record: Record) -> pb.Event:
    signed = envelope_pb2.SignedPayload.FromString(record.payload)
    event = pb.Event(position=position, channel_id=record.channel_id)
    event.time.FromDatetime(record.stored_time)
    if record.direction in (Direction.ACK_IN, Direction.ACK_OUT):
        event.acknowledgement.CopyFrom(pb.AcknowledgementEvent(acknowledgement=signed))
    else:
        direction = pb.DIRECTION_IN if record.direction == Direction.IN else pb.DIRECTION_OUT
        event.message.CopyFrom(pb.MessageEvent(direction=direction, envelope=signed))
    return event
