"""The client of a party's own node: one method per RPC of deconflict.operator.v1.OperatorService.

Content goes in as models (converted by the bridge) or as protobuf messages as
they are, for a notice still without the id, owner or version the node fills in.
Writes are tried once: the node picks message ids, so a resent FileNotice could
be a second notice. Reads (GetStatus, GetNotice, GetConference, ListAlerts) and
AcknowledgeAlerts, which changes nothing when sent again, are retried on
UNAVAILABLE. Refusals raise RefusedError, with the field paths inside the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Final

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message as ProtoMessage

from deconflict.bridge.channel import incident_report_to_proto, resumption_to_proto, suspension_to_proto
from deconflict.bridge.conference import (
    conference_answer_to_proto,
    conference_cancellation_to_proto,
    conference_proposal_to_proto,
    conference_record_to_proto,
)
from deconflict.bridge.notice import flight_notice_to_proto
from deconflict.bridge.response import operational_response_to_proto
from deconflict.client.retry import RefusedError, RpcClient, as_proto
from deconflict.models.channel import IncidentReport, Resumption, Suspension
from deconflict.models.conference import ConferenceAnswer, ConferenceCancellation, ConferenceProposal, ConferenceRecord
from deconflict.models.envelope import Mode
from deconflict.models.notice import FlightNotice
from deconflict.models.response import OperationalResponse
from deconflict.operator.v1 import operator_service_pb2 as pb
from deconflict.rpc.refusal import refusal_from_rpc_error
from deconflict.v1 import channel_pb2, conference_pb2, envelope_pb2, notice_pb2, response_pb2

OPERATOR_SERVICE: Final[ServiceDescriptor] = pb.DESCRIPTOR.services_by_name["OperatorService"]


class OperatorClient(RpcClient):
    """`async with OperatorClient("127.0.0.1:7001") as node: await node.file_notice(notice, mode=Mode.EXERCISE)`."""

    async def _write(self, method: str, request: ProtoMessage) -> Any:
        return await self.unary(OPERATOR_SERVICE, method, request, retry=False)

    async def file_notice(
        self,
        notice: FlightNotice | notice_pb2.FlightNotice,
        *,
        mode: Mode,
        channel_ids: Iterable[str] = (),
    ) -> pb.FileNoticeResponse:
        """File a new notice on the channels named (every channel of the node when none)."""
        request = pb.FileNoticeRequest(
            channel_ids=list(channel_ids),
            notice=as_proto(notice, flight_notice_to_proto),
            mode=envelope_pb2.Mode.ValueType(mode),
        )
        response: pb.FileNoticeResponse = await self._write("FileNotice", request)
        return response

    async def amend_notice(
        self, notice: FlightNotice | notice_pb2.FlightNotice, *, replaces_version: int
    ) -> pb.AmendNoticeResponse:
        request = pb.AmendNoticeRequest(
            replaces_version=replaces_version, notice=as_proto(notice, flight_notice_to_proto)
        )
        response: pb.AmendNoticeResponse = await self._write("AmendNotice", request)
        return response

    async def cancel_notice(self, notice_id: str, version: int, reason: str = "") -> pb.CancelNoticeResponse:
        request = pb.CancelNoticeRequest(notice_id=notice_id, version=version, reason=reason)
        response: pb.CancelNoticeResponse = await self._write("CancelNotice", request)
        return response

    async def respond(
        self, channel_id: str, response: OperationalResponse | response_pb2.OperationalResponse
    ) -> pb.RespondResponse:
        request = pb.RespondRequest(channel_id=channel_id, response=as_proto(response, operational_response_to_proto))
        answer: pb.RespondResponse = await self._write("Respond", request)
        return answer

    async def propose_conference(
        self,
        channel_id: str,
        proposal: ConferenceProposal | conference_pb2.ConferenceProposal,
        *,
        without_incidents: bool = False,
    ) -> pb.ProposeConferenceResponse:
        request = pb.ProposeConferenceRequest(
            channel_id=channel_id,
            proposal=as_proto(proposal, conference_proposal_to_proto),
            without_incidents=without_incidents,
        )
        response: pb.ProposeConferenceResponse = await self._write("ProposeConference", request)
        return response

    async def answer_conference(
        self, channel_id: str, answer: ConferenceAnswer | conference_pb2.ConferenceAnswer
    ) -> pb.AnswerConferenceResponse:
        request = pb.AnswerConferenceRequest(channel_id=channel_id, answer=as_proto(answer, conference_answer_to_proto))
        response: pb.AnswerConferenceResponse = await self._write("AnswerConference", request)
        return response

    async def record_conference(
        self, channel_id: str, record: ConferenceRecord | conference_pb2.ConferenceRecord
    ) -> pb.RecordConferenceResponse:
        request = pb.RecordConferenceRequest(channel_id=channel_id, record=as_proto(record, conference_record_to_proto))
        response: pb.RecordConferenceResponse = await self._write("RecordConference", request)
        return response

    async def cancel_conference(
        self, channel_id: str, cancellation: ConferenceCancellation | conference_pb2.ConferenceCancellation
    ) -> pb.CancelConferenceResponse:
        request = pb.CancelConferenceRequest(
            channel_id=channel_id, cancellation=as_proto(cancellation, conference_cancellation_to_proto)
        )
        response: pb.CancelConferenceResponse = await self._write("CancelConference", request)
        return response

    async def report_incident(
        self, channel_id: str, report: IncidentReport | channel_pb2.IncidentReport
    ) -> pb.ReportIncidentResponse:
        request = pb.ReportIncidentRequest(channel_id=channel_id, report=as_proto(report, incident_report_to_proto))
        response: pb.ReportIncidentResponse = await self._write("ReportIncident", request)
        return response

    async def suspend(self, channel_id: str, suspension: Suspension | channel_pb2.Suspension) -> pb.SuspendResponse:
        request = pb.SuspendRequest(channel_id=channel_id, suspension=as_proto(suspension, suspension_to_proto))
        response: pb.SuspendResponse = await self._write("Suspend", request)
        return response

    async def resume(self, channel_id: str, resumption: Resumption | channel_pb2.Resumption) -> pb.ResumeResponse:
        request = pb.ResumeRequest(channel_id=channel_id, resumption=as_proto(resumption, resumption_to_proto))
        response: pb.ResumeResponse = await self._write("Resume", request)
        return response

    async def get_status(self) -> pb.GetStatusResponse:
        response: pb.GetStatusResponse = await self.unary(OPERATOR_SERVICE, "GetStatus", pb.GetStatusRequest())
        return response

    async def get_notice(self, notice_id: str, *, channel_id: str = "", owner: str = "") -> pb.GetNoticeResponse:
        """The notice as the node holds it: a record per channel (only `channel_id`'s when given), of either
        party unless `owner` is given."""
        request = pb.GetNoticeRequest(channel_id=channel_id, notice_id=notice_id, owner=owner)
        response: pb.GetNoticeResponse = await self.unary(OPERATOR_SERVICE, "GetNotice", request)
        return response

    async def get_conference(self, channel_id: str, conference_id: str) -> pb.GetConferenceResponse:
        request = pb.GetConferenceRequest(channel_id=channel_id, conference_id=conference_id)
        response: pb.GetConferenceResponse = await self.unary(OPERATOR_SERVICE, "GetConference", request)
        return response

    async def list_alerts(
        self, *, include_acknowledged: bool = False, page_size: int = 0, page_token: str = ""
    ) -> pb.ListAlertsResponse:
        """One page of the node's alerts, oldest first: the open ones, or all of them."""
        request = pb.ListAlertsRequest(
            include_acknowledged=include_acknowledged, page_size=page_size, page_token=page_token
        )
        response: pb.ListAlertsResponse = await self.unary(OPERATOR_SERVICE, "ListAlerts", request)
        return response

    async def all_alerts(self, *, include_acknowledged: bool = False) -> list[pb.Event]:
        """Every page of `list_alerts`: each event carries one alert."""
        found: list[pb.Event] = []
        token = ""
        while True:
            page = await self.list_alerts(include_acknowledged=include_acknowledged, page_token=token)
            found.extend(page.alerts)
            token = page.next_page_token
            if not token:
                return found

    async def acknowledge_alerts(self, alert_ids: Iterable[int]) -> pb.AcknowledgeAlertsResponse:
        """Acknowledge alerts by id: the node stops presenting them as open."""
        request = pb.AcknowledgeAlertsRequest(alert_ids=list(alert_ids))
        response: pb.AcknowledgeAlertsResponse = await self.unary(OPERATOR_SERVICE, "AcknowledgeAlerts", request)
        return response

    async def watch_events(self, from_position: int = 0) -> AsyncIterator[pb.Event]:
        """The open alerts, then every event from journal position `from_position` on, then live, until the
        caller stops."""
        call = self.channel.unary_stream(
            f"/{OPERATOR_SERVICE.full_name}/WatchEvents",
            request_serializer=None,
            response_deserializer=pb.WatchEventsResponse.FromString,
        )
        stream = call(pb.WatchEventsRequest(from_position=from_position).SerializeToString())
        try:
            async for response in stream:
                yield response.event
        except grpc.RpcError as error:
            raise RefusedError(refusal_from_rpc_error(error)) from None
        finally:
            stream.cancel()
