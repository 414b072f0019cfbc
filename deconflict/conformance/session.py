"""One case's link to the party under test: the suite as its peer, plus the test-control API.

The suite builds its envelopes with the project's models, seals them and signs them with its key (DCF-SEC-006)
itself, so a case can send exactly the bytes it means (spoiled ones too, with `raw` and `seal`). What the party
sends is read back with `observed`: every message a party sends is stored before it is sent (DCF-ENV-033), so
its journal is what it said.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from deconflict.bridge.envelope import decode_envelope, envelope_to_proto
from deconflict.client.peer import Delivery, PeerClient
from deconflict.client.retry import RefusedError, RetryPolicy, RpcClient
from deconflict.conformance.case import CaseFailedError
from deconflict.conformance.target import Target
from deconflict.dsse import pae
from deconflict.models.channel import Hello, VersionRange
from deconflict.models.envelope import ENVELOPE_TYPE, Envelope, Mode, ProtocolVersion
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng, Polygon, Volume3D, Volume4D
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeAmendment,
    NoticeCancellation,
    NoticeCategory,
    NoticeState,
)
from deconflict.node.link import WRITES
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.security.signing import SigningKey
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from deconflict.v1 import envelope_pb2

CONTROL = control_pb.DESCRIPTOR.services_by_name["TestControlService"]
# Where the cases fly: western Syria, as in the scenario; each case moves its notices apart by its own offset.
ORIGIN = LatLng(latitude=35.40, longitude=36.20)
METRES_PER_DEGREE = 111_195.0


@dataclass(frozen=True)
class Observed:
    """One record of the party's journal: what it sent or received, as an envelope or an acknowledgement."""

    position: int
    kind: int  # control_pb.ObservationKind
    signed: envelope_pb2.SignedPayload

    @property
    def sent(self) -> bool:
        return self.kind == control_pb.OBSERVATION_KIND_SENT

    @property
    def received(self) -> bool:
        return self.kind == control_pb.OBSERVATION_KIND_RECEIVED

    @property
    def acknowledgement_sent(self) -> bool:
        return self.kind == control_pb.OBSERVATION_KIND_ACKNOWLEDGEMENT_SENT

    @property
    def envelope(self) -> envelope_pb2.Envelope:
        return decode_envelope(self.signed.payload)


class ControlClient(RpcClient):
    """deconflict.testing.v1.TestControlService."""

    async def reset(self, policy: control_pb.ResponsePolicy.ValueType, peer_address: str = "") -> None:
        await self.unary(CONTROL, "Reset", control_pb.ResetRequest(response_policy=policy, peer_address=peer_address))

    async def originate(self, channel_id: str, envelope: envelope_pb2.Envelope) -> envelope_pb2.SignedPayload:
        request = control_pb.OriginateRequest(channel_id=channel_id, envelope=envelope)
        response: control_pb.OriginateResponse = await self.unary(CONTROL, "Originate", request, retry=False)
        return response.envelope

    async def observed(self, channel_id: str, from_position: int = 0) -> control_pb.GetObservedResponse:
        request = control_pb.GetObservedRequest(channel_id=channel_id, from_position=from_position)
        response: control_pb.GetObservedResponse = await self.unary(CONTROL, "GetObserved", request)
        return response


class EnvelopeWriter:
    """Writes as the peer of a party: numbers, builds, seals and delivers its own envelopes.

    `sequence` is the next sequence number this side gives; it moves on only when the party stores a message
    (a refused message gives its number to the next one, DCF-ENV-013). With a `key`, everything it seals is
    signed over the exact payload bytes (DCF-SEC-006, DCF-SEC-009).
    """

    def __init__(
        self, peer: PeerClient, *, party: str, recipient: str, channel_id: str, key: SigningKey | None = None
    ) -> None:
        self.peer = peer
        self.party = party
        self.recipient = recipient
        self.channel_id = channel_id
        self.key = key
        self.sequence = 1

    def model(self, body: str, value: object, **header: Any) -> Envelope:
        """The envelope of one message; header fields default to the next message of this side."""
        fields: dict[str, Any] = {
            "message_id": str(uuid.uuid4()),
            "channel_id": self.channel_id,
            "sender": self.party,
            "recipient": self.recipient,
            "sequence": self.sequence,
            "in_reply_to": "",
            "created_time": datetime.now(UTC),
            "protocol_version": ProtocolVersion(major=1, minor=0),
            "mode": Mode.OPERATIONAL,
        }
        fields.update(header)
        fields[body] = value
        return Envelope.model_validate(fields)

    def envelope(self, body: str, value: object, **header: Any) -> envelope_pb2.SignedPayload:
        """The sealed bytes of one message, ready to send (and to send again, unchanged)."""
        return self.raw(self.proto(body, value, **header))

    def proto(self, body: str, value: object, **header: Any) -> envelope_pb2.Envelope:
        """The protobuf of one message, for a case to spoil before `raw`."""
        return envelope_to_proto(self.model(body, value, **header))

    def raw(self, message: envelope_pb2.Envelope) -> envelope_pb2.SignedPayload:
        """An envelope built or spoiled by hand, sealed as it is, and signed."""
        return self.seal(message.SerializeToString(deterministic=True))

    def seal(self, payload: bytes, payload_type: str = ENVELOPE_TYPE) -> envelope_pb2.SignedPayload:
        """Any payload bytes, even ones that do not parse, in a SignedPayload signed with this side's key."""
        return self.sign(envelope_pb2.SignedPayload(payload_type=payload_type, payload=payload))

    def sign(self, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        """`signed` with this side's signature added over its exact bytes (DCF-SEC-009); returned."""
        if self.key is not None:
            signature = self.key.private_key.sign(pae(signed.payload_type, signed.payload))
            signed.signatures.add(key_id=self.key.key_id, signature=signature)
        return signed

    def spoiled(
        self, body: str, value: object, spoil: Callable[[envelope_pb2.Envelope], object], **header: Any
    ) -> envelope_pb2.SignedPayload:
        """A valid message of this side, changed by `spoil` once built so that it carries what no model allows,
        sealed as it is."""
        message = self.proto(body, value, **header)
        spoil(message)
        return self.raw(message)

    async def deliver(self, signed: envelope_pb2.SignedPayload) -> Delivery:
        """Send with the RPC that takes the body; the sequence moves on when the party stores it."""
        body = decode_envelope(signed.payload).WhichOneof("body") or ""
        delivery = await WRITES[body](self.peer, signed)
        self.sequence = max(self.sequence, delivery.acknowledgement.message_sequence + 1)
        return delivery

    async def send(self, body: str, value: object, **header: Any) -> Delivery:
        return await self.deliver(self.envelope(body, value, **header))

    async def amend(self, notice: FlightNotice, replaces_version: int, **header: Any) -> Delivery:
        amended = notice.model_copy(update={"version": replaces_version + 1})
        return await self.send(
            "amendment", NoticeAmendment(replaces_version=replaces_version, notice=amended), **header
        )

    async def cancel(self, notice_id: str, version: int, **header: Any) -> Delivery:
        return await self.send("cancellation", NoticeCancellation(notice_id=notice_id, version=version), **header)


class Session(EnvelopeWriter):
    """The suite as the peer of the party under test, for one case."""

    def __init__(self, target: Target, address: str, peer: PeerClient, control: ControlClient) -> None:
        super().__init__(
            peer, party=target.suite_party, recipient=target.party, channel_id=target.channel_id, key=target.suite_key
        )
        self.target = target
        self.address = address
        self.control = control
        self.agreement = target.agreement
        self._notices = 0

    def listen(self, server: grpc.aio.Server) -> int:
        """Bind `server` on loopback for the party to call: with mutual TLS when the target claims it (the
        suite's certificate, the party's under the party's CA); the port."""
        if self.target.tls is None:
            return int(server.add_insecure_port("127.0.0.1:0"))
        return int(server.add_secure_port("127.0.0.1:0", self.target.tls.server_credentials()))

    @classmethod
    def retry_policy(cls) -> RetryPolicy:
        # A conformance case wants the party's first answer, not a retried one.
        return RetryPolicy(attempt_timeout=10.0, overall_timeout=10.0, retryable=frozenset())

    # -- the channel

    async def reset(self, *, operator: bool = False) -> None:
        """Start the party afresh; `operator`: its answers wait for an operator (here, `originate`)."""
        policy = control_pb.RESPONSE_POLICY_OPERATOR if operator else control_pb.RESPONSE_POLICY_AUTOMATIC
        await self.control.reset(policy)
        self.sequence = 1

    async def hello(self, **changes: Any) -> Any:
        """Say Hello as the peer, with the agreement's hash and version unless `changes` says otherwise."""
        return await self.peer.hello(self.hello_model(**changes))

    def hello_model(self, **changes: Any) -> Hello:
        """The suite's Hello: the agreement's hash and version unless `changes` says otherwise."""
        fields: dict[str, Any] = {
            "channel_id": self.channel_id,
            "party": self.party,
            "supported_versions": VersionRange(min_major=1, max_major=1),
            "agreement_hash": self.agreement.sha256,
            "agreement_version": self.agreement.model.version,
            "sent_time": datetime.now(UTC),
            "implementation": "deconflict conformance suite",
        }
        fields.update(changes)
        return Hello.model_validate(fields)

    async def refusal(self, call: Any) -> RefusedError:
        """The refusal `call` (an awaitable) must end in; a CaseFailedError when it succeeds."""
        try:
            await call
        except RefusedError as error:
            return error
        raise CaseFailedError("a refusal", "the party accepted the message")

    # -- notices

    def notice(
        self,
        *,
        offset_km: float | None = None,
        start_in: timedelta = timedelta(hours=3),
        hours: float = 1.0,
        lower_fl: int = 100,
        upper_fl: int = 200,
        size_km: float = 10.0,
        category: NoticeCategory = NoticeCategory.ROUTINE,
        owner: str | None = None,
        notice_id: str = "",
        east_km: float = 0.0,
    ) -> FlightNotice:
        """A notice of one square volume `size_km` across; each new notice lies 100 km further north than the
        last unless `offset_km` places it, so that cases meet conflicts only where they mean to."""
        self._notices += 1
        north_km = (self._notices * 100.0) % 3000.0 if offset_km is None else offset_km
        start = datetime.now(UTC).replace(microsecond=0) + start_in
        return FlightNotice(
            notice_id=notice_id or f"{owner or self.party}/case-{uuid.uuid4().hex[:12]}",
            version=1,
            state=NoticeState.ACTIVE,
            owner=owner or self.party,
            volumes=[
                Volume4D(
                    volume=Volume3D(
                        polygon=square(north_km, east_km, size_km),
                        altitude_lower=flight_level(lower_fl),
                        altitude_upper=flight_level(upper_fl),
                    ),
                    time_start=start,
                    time_end=start + timedelta(hours=hours),
                )
            ],
            aircraft_category=AircraftCategory.FIXED_WING,
            aircraft_count=2,
            frequency_ids=["guard-121.5"],
            category=category,
        )

    async def file(self, notice: FlightNotice, **header: Any) -> Delivery:
        return await self.send("notice", notice, **header)

    # -- what the party did

    async def originate(self, body: str, value: object, *, in_reply_to: str = "") -> envelope_pb2.Envelope:
        """Make the party originate a message, as its operator would; the envelope as it stored it."""
        template = envelope_to_proto(
            self.model(body, value, sender=self.target.party, recipient=self.party, in_reply_to=in_reply_to)
        )
        signed = await self.control.originate(self.channel_id, template)
        return decode_envelope(signed.payload)

    async def observed(self) -> list[Observed]:
        """Every record the party stored on the channel since it was reset."""
        found: list[Observed] = []
        position = 0
        while True:
            page = await self.control.observed(self.channel_id, position)
            if not page.observations:
                return found
            found += [Observed(o.position, o.kind, o.payload) for o in page.observations]
            position = page.observations[-1].position + 1

    async def settled(self, *, quiet: float = 0.5, within: float = 5.0) -> list[Observed]:
        """The party's records once none has been added for `quiet` seconds: its own answers are stored after
        it acknowledges, so a snapshot taken at once may miss one that is on its way."""
        deadline = time.monotonic() + within
        records = await self.observed()
        while time.monotonic() < deadline:
            await asyncio.sleep(quiet)
            again = await self.observed()
            if again == records:
                break
            records = again
        return records

    async def alerts(self) -> list[operator_pb.Alert]:
        return list((await self.control.observed(self.channel_id, 0)).alerts)

    async def sent(
        self, match: Callable[[envelope_pb2.Envelope], bool], *, within: float = 5.0
    ) -> envelope_pb2.Envelope | None:
        """The first envelope the party sent that `match`es, waiting up to `within` seconds; None if none."""
        deadline = time.monotonic() + within
        while True:
            for record in await self.observed():
                if record.sent and match(record.envelope):
                    return record.envelope
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.1)

    async def answer_to(self, message_id: str, *, within: float = 5.0) -> envelope_pb2.Envelope | None:
        """The party's operational response to one of the suite's messages."""
        return await self.sent(lambda e: e.WhichOneof("body") == "response" and e.in_reply_to == message_id,
                               within=within)  # fmt: skip


def flight_level(level: int) -> Altitude:
    return Altitude(value=level, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL)


def square(north_km: float, east_km: float, size_km: float) -> Polygon:
    """A square `size_km` across whose south-west corner lies `north_km` north and `east_km` east of ORIGIN."""
    south = ORIGIN.latitude + north_km * 1000.0 / METRES_PER_DEGREE
    north = south + size_km * 1000.0 / METRES_PER_DEGREE
    scale = METRES_PER_DEGREE * math.cos(math.radians(south))
    west = ORIGIN.longitude + east_km * 1000.0 / scale
    east = west + size_km * 1000.0 / scale
    corners = [(south, west), (south, east), (north, east), (north, west)]
    return Polygon(vertices=[LatLng(latitude=round(a, 6), longitude=round(b, 6)) for a, b in corners])
