"""TestControlService: a conformance suite resets this node, makes it originate messages and reads what it
stored. Served only when the node runs for testing (`[testing] enabled`, `deconflict serve --testing`)."""

from __future__ import annotations

from typing import Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import ValidationError

from deconflict.bridge.envelope import envelope_data
from deconflict.journal.base import Direction
from deconflict.models.conference import ConferenceProposal
from deconflict.models.envelope import Mode
from deconflict.node.config import ResponsePolicy
from deconflict.node.incidents import with_incidents
from deconflict.node.node import Node
from deconflict.node.services.notice import channel_of
from deconflict.rpc.handlers import Context
from deconflict.rpc.refusal import Refusal
from deconflict.testing.v1 import test_control_service_pb2 as pb
from deconflict.v1 import envelope_pb2

# Observations per GetObserved call: a suite reads on from the last position it saw.
ALERT_LIMIT = 10_000
PAGE = 1024

_KINDS = {
    Direction.OUT: pb.OBSERVATION_KIND_SENT,
    Direction.IN: pb.OBSERVATION_KIND_RECEIVED,
    Direction.ACK_IN: pb.OBSERVATION_KIND_ACKNOWLEDGEMENT_RECEIVED,
    Direction.ACK_OUT: pb.OBSERVATION_KIND_ACKNOWLEDGEMENT_SENT,
}
_POLICIES = {
    pb.RESPONSE_POLICY_AUTOMATIC: ResponsePolicy.AUTOMATIC,
    pb.RESPONSE_POLICY_OPERATOR: ResponsePolicy.OPERATOR,
}


class Resettable(Protocol):
    """What the service needs of the server around the node: its current node, and a fresh one on demand."""

    node: Node

    async def reset(self, policy: ResponsePolicy, peer_address: str) -> None: ...


class TestControlService:
    """The behaviours of deconflict.testing.v1.TestControlService over one node server."""

    def __init__(self, server: Resettable) -> None:
        self.server = server

    async def Reset(self, request: pb.ResetRequest, context: Context) -> pb.ResetResponse:  # noqa: N802
        policy = _POLICIES.get(request.response_policy)
        if policy is None:
            raise Refusal.invalid([("response_policy", "must be RESPONSE_POLICY_AUTOMATIC or _OPERATOR")])
        await self.server.reset(policy, request.peer_address)
        return pb.ResetResponse()

    async def Originate(self, request: pb.OriginateRequest, context: Context) -> pb.OriginateResponse:  # noqa: N802
        node = self.server.node
        channel = channel_of(node, request.channel_id)
        body = request.envelope.WhichOneof("body")
        if body is None:
            raise Refusal.invalid([("envelope", "names no body: set exactly one")])
        value = envelope_data(request.envelope)[body]
        mode = Mode(request.envelope.mode) if request.envelope.mode else Mode.OPERATIONAL
        if body == "conference_proposal":
            # As its operator's proposal: with the incidents since the last conference on the agenda (DCF-CNF-030).
            try:
                proposal = ConferenceProposal.model_validate(value)
            except ValidationError as error:
                raise Refusal.from_validation(error, "envelope.conference_proposal") from None
            filed = node.ledger.incidents.since_last_conference(channel.channel_id, node.ledger.conferences)
            value = with_incidents(proposal, filed).proposal
        try:
            originated = node.originate(channel, body, value, in_reply_to=request.envelope.in_reply_to, mode=mode)
        except ValidationError as error:
            raise Refusal.from_validation(error, "envelope") from None
        await originated.position
        return pb.OriginateResponse(envelope=originated.signed)

    async def GetObserved(  # noqa: N802
        self, request: pb.GetObservedRequest, context: Context
    ) -> pb.GetObservedResponse:
        node = self.server.node
        channel = channel_of(node, request.channel_id)
        entries = await node.journal.read(request.from_position, PAGE)
        observations = []
        for entry in entries:
            record = entry.record
            if record.channel_id != channel.channel_id:
                continue
            stored = Timestamp()
            stored.FromDatetime(record.stored_time)
            observations.append(
                pb.Observation(
                    position=entry.position,
                    kind=_KINDS[record.direction],
                    payload=envelope_pb2.SignedPayload.FromString(record.payload),
                    stored_time=stored,
                )
            )
        # Every alert since the reset, acknowledged or not: a reset party has few.
        recorded = await node.alerts.page(include_acknowledged=True, from_id=0, limit=ALERT_LIMIT)
        alerts = [alert.event().alert for alert in recorded if alert.channel_id == channel.channel_id]
        if not entries and request.from_position > node.journal.size:
            raise Refusal(grpc.StatusCode.OUT_OF_RANGE, f"the journal holds {node.journal.size} entries")
        return pb.GetObservedResponse(observations=observations, alerts=alerts)
