"""A node's side of one channel: Hello, heartbeats, the outbox, and reconciliation.

The outbox pushes every message this node stored for the peer, in sequence
order, one at a time (DCF-ENV-014), retrying until the peer acknowledges it, then
journals the peer's signed acknowledgement as its proof of receipt. A message the
peer refuses definitively is withdrawn and its sequence number goes to the next
one (DCF-ENV-013, deconflict.node.outbox). Because the outgoing messages are in the
journal before they are sent, a restarted node carries on from the first one not
yet acknowledged. After every successful Hello and whenever a DOWN peer answers
again, the outbox first trades checklists with the peer (reconcile.py, DCF-CHK-001).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import grpc

from deconflict.client.peer import Delivery, PeerClient
from deconflict.client.retry import RefusedError
from deconflict.journal.base import Direction, Record
from deconflict.models.channel import Heartbeat, Liveness
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node
from deconflict.node.outbox import definitive
from deconflict.node.reconcile import UNREACHABLE, reconcile
from deconflict.node.witness import Witness
from deconflict.operator.v1.operator_service_pb2 import AlertKind
from deconflict.v1 import envelope_pb2

log = logging.getLogger(__name__)

Write = Callable[[PeerClient, envelope_pb2.SignedPayload], Awaitable[Delivery]]

# The RPC that carries each body (DCF-ENV-003).
WRITES: dict[str, Write] = {
    "notice": PeerClient.submit_notice,
    "amendment": PeerClient.amend_notice,
    "cancellation": PeerClient.cancel_notice,
    "response": PeerClient.respond_to_notice,
    "timeout": PeerClient.notify_timeout,
    "conference_proposal": PeerClient.propose_conference,
    "conference_answer": PeerClient.answer_conference,
    "conference_record": PeerClient.record_conference,
    "conference_cancellation": PeerClient.cancel_conference,
    "incident_report": PeerClient.report_incident,
    "suspension": PeerClient.suspend,
    "resumption": PeerClient.resume,
}

RETRY_PAUSE = 0.5  # seconds between attempts while the peer cannot be reached


class PeerLink:
    """Keeps one channel's peer greeted, heard and up to date with what this node sent."""

    def __init__(self, node: Node, channel: ChannelState, hello: Callable[[str], object]) -> None:
        self.node = node
        self.channel = channel
        self._hello = hello
        self._greeted = False  # the peer accepted our Hello on the current connection
        self._heard: float | None = None  # when the peer last answered a heartbeat; None: UNKNOWN (DCF-HBT-006)
        self._reconcile_due = False  # a Hello succeeded or a DOWN peer answered: trade checklists (DCF-CHK-001)
        self._witness = Witness(node, channel)  # the peer's journal, beside the heartbeats (DCF-JNL-009)

    async def run(self) -> None:
        """Until cancelled: connect, greet, deliver and beat; reconnect after any failure."""
        if not self.channel.peer_address:
            return  # a peer that only connects to us (it watches our messages) needs no link
        while True:
            try:
                async with PeerClient(self.channel.peer_address, timeout=5.0) as peer, asyncio.TaskGroup() as group:
                    # A task group, so that when one of them fails the other stops too, before the client closes.
                    group.create_task(self._deliver(peer))
                    group.create_task(self._beat(peer))
                    group.create_task(self._witness.run(peer, lambda: self._greeted))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the link must outlive any single failure; the reason is logged
                log.info("%s -> %s: link down (%s)", self.node.party, self.channel.peer, error)
                self._greeted = False
                await asyncio.sleep(RETRY_PAUSE)

    async def _greet(self, peer: PeerClient) -> None:
        while not self._greeted:
            try:
                await peer.hello(self._hello(self.channel.channel_id))  # type: ignore[arg-type]
                self._greeted = True
                self._reconcile_due = True
            except RefusedError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    self.node.alert(AlertKind.ALERT_KIND_REFUSED, f"Hello refused: {error}", "", self.channel)
                await asyncio.sleep(RETRY_PAUSE * 4)

    async def _deliver(self, peer: PeerClient) -> None:
        await self._greet(peer)
        while True:
            if self._reconcile_due:
                # In the outbox's turn: no message of ours is in flight when the lost ones are sent again.
                await self._reconcile(peer)
            sent = self.channel.sent_positions
            if self.channel.acknowledged >= len(sent):
                await self.node.changed_within(1.0)
                continue
            position = sent[self.channel.acknowledged]
            entries = await self.node.journal.read(position, 1)
            record = entries[0].record
            signed = envelope_pb2.SignedPayload.FromString(record.payload)
            try:
                delivery = await WRITES[record.kind](peer, signed)
            except RefusedError as error:
                if definitive(error.refusal):
                    # Withdrawn, its sequence number given to the next message (DCF-ENV-013): the channel moves on.
                    withdrawn = self.node.withdraw(self.channel, record.message_id, error.refusal)
                    if withdrawn is not None:
                        await asyncio.shield(withdrawn)  # stored, whatever happens to this task
                        continue
                await self._refused(error, record)
                continue
            await self._acknowledged(record, signed, delivery)

    async def _reconcile(self, peer: PeerClient) -> None:
        self._reconcile_due = False
        try:
            await reconcile(self.node, self.channel, peer)
        except RefusedError as error:
            if error.refusal.reason == "HELLO_REQUIRED":
                self._greeted = False  # the peer restarted: greet it again, which reconciles again
                raise
            if error.code in UNREACHABLE:
                self._reconcile_due = True  # the peer is out of reach again: try once it answers
                await asyncio.sleep(RETRY_PAUSE)
                return
            self.node.alert(
                AlertKind.ALERT_KIND_REFUSED, f"{self.channel.peer} refused to reconcile: {error}", "", self.channel
            )

    async def _acknowledged(self, record: Record, signed: envelope_pb2.SignedPayload, delivery: Delivery) -> None:
        ack = delivery.acknowledgement
        digest = hashlib.sha256(signed.payload).digest()
        if ack.message_id != record.message_id or ack.payload_sha256 != digest:
            # The peer acknowledged something else: never count it as received.
            self.node.alert(
                AlertKind.ALERT_KIND_REFUSED,
                f"the acknowledgement of {record.message_id} names {ack.message_id}; resending",
                "",
                self.channel,
            )
            await asyncio.sleep(RETRY_PAUSE)
            return
        position = await self.node.journal.append(
            Record(
                channel_id=self.channel.channel_id,
                direction=Direction.ACK_IN,
                message_id=record.message_id,
                sender=self.channel.peer,
                sequence=record.sequence,
                kind="acknowledgement",
                payload=delivery.signed.SerializeToString(),
                stored_time=self.node.clock(),
            )
        )
        self.node.acknowledged(self.channel, record.sequence)
        self.node.ledger.start_timer(self.channel, ack)
        self.node.acknowledgement_received(self.channel, delivery, position)

    async def _refused(self, error: RefusedError, record: Record) -> None:
        reason = error.refusal.reason
        if error.code in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.CANCELLED,
        ):
            await asyncio.sleep(RETRY_PAUSE)  # retryable (DCF-ERR-014): the same bytes again
        elif reason == "HELLO_REQUIRED":
            self._greeted = False  # the peer restarted: greet it again, then resend
            raise error
        elif reason == "SEQUENCE_GAP" and error.refusal.sequence_gap is not None:
            # The peer lacks earlier messages (it lost them, or never had them): resend from what it expects.
            self.channel.acknowledged = min(self.channel.acknowledged, error.refusal.sequence_gap.expected - 1)
        else:
            # A fault of the peer (INTERNAL, UNKNOWN), a clock skew (DCF-ENV-026 is not done yet), or a message
            # acknowledged before: the operator must see it. It stays first in line, retried slowly.
            self.node.alert(
                AlertKind.ALERT_KIND_REFUSED,
                f"{self.channel.peer} refused {record.kind} {record.message_id}: {error}",
                record.message_id,
                self.channel,
            )
            await asyncio.sleep(RETRY_PAUSE * 10)

    async def _beat(self, peer: PeerClient) -> None:
        interval = self.channel.agreement.model.heartbeat_interval.total_seconds()
        down_after = interval * self.channel.agreement.model.missed_heartbeats_down
        while True:
            await asyncio.sleep(interval)
            if self._greeted:
                beat = Heartbeat(
                    channel_id=self.channel.channel_id,
                    party=self.node.party,
                    sent_time=self.node.clock(),
                    last_sequence_sent=self.channel.next_out - 1,
                )
                try:
                    # One beat is given one interval: a peer that does not answer in time has missed it, however
                    # long the client would retry (DCF-HBT-007, DCF-TIM-006).
                    async with asyncio.timeout(interval):
                        await peer.heartbeat(beat)
                    self._heard = time.monotonic()
                    if self.channel.liveness == Liveness.DOWN:
                        self._reconcile_due = True  # a DOWN peer heard again (DCF-CHK-001, DCF-HBT-008)
                    self.node.set_liveness(self.channel, Liveness.NORMAL)
                    continue
                except RefusedError as error:
                    if error.refusal.reason == "HELLO_REQUIRED":
                        raise  # the peer restarted: reconnect and greet it again (DCF-HEL-008)
                except TimeoutError:
                    pass
            # Silent, or not even greeted, for missed_heartbeats_down x heartbeat_interval: DOWN (DCF-HBT-007).
            if self._heard is not None and time.monotonic() - self._heard >= down_after:
                self.node.set_liveness(self.channel, Liveness.DOWN)
