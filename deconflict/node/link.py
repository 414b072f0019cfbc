"""A node's side of one channel: Hello, heartbeats, liveness, the outbox, and reconciliation.

The outbox pushes every message this node stored for the peer, in sequence
order, one at a time (DCF-ENV-014), retrying until the peer acknowledges it, then
journals the peer's signed acknowledgement as its proof of receipt. A message the
peer refuses definitively is withdrawn and its sequence number goes to the next
one (DCF-ENV-013, deconflict.node.outbox); one refused for clock skew is
re-originated (DCF-ENV-026); an acknowledgement that is not that of the message
sent leaves it unacknowledged (DCF-ENV-034). Because the outgoing messages are in
the journal before they are sent, a restarted node carries on from the first one
not yet acknowledged. After every successful Hello and whenever a DOWN peer is
heard again, the outbox first trades checklists with the peer (reconcile.py,
DCF-CHK-001).

Nothing is written to a peer whose answer to our Hello does not agree with us
(DCF-HEL-010). Liveness follows when the peer was last heard, by its requests or
its node's answers (DCF-HBT-006); a heartbeat either way that says the peer sent
more than this node stored starts a Watch (DCF-HBT-005).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import grpc

from deconflict.client.peer import BadAnswerError, Delivery, PeerClient, UnverifiedAnswerError
from deconflict.client.retry import RefusedError, RetryPolicy
from deconflict.journal.base import Direction, Record
from deconflict.models.channel import Heartbeat, Liveness
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node
from deconflict.node.outbox import acknowledgement_mismatch, definitive
from deconflict.node.reconcile import UNREACHABLE, catch_up, reconcile
from deconflict.node.services.channel import check_hello_response
from deconflict.node.witness import Witness
from deconflict.operator.v1.operator_service_pb2 import AlertKind
from deconflict.rpc.refusal import Refusal
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
LOOK = 0.2  # seconds between looks at when the peer was last heard and at what its heartbeats said
# Pauses before sending again a message the peer answered without acknowledging it, and before fetching again
# what a fetch left missing (DCF-TIM-008): the first within 1 s, each about twice the last, with jitter, at most 30 s.
BACKOFF = RetryPolicy(initial_backoff=1.0, max_backoff=30.0)
# Failures that are not an answer of the peer's node: nothing was heard from it.
SILENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


class PeerLink:
    """Keeps one channel's peer greeted, heard and up to date with what this node sent."""

    def __init__(self, node: Node, channel: ChannelState, hello: Callable[[str], object]) -> None:
        self.node = node
        self.channel = channel
        self._hello = hello
        self._greeted = False  # the peer accepted our Hello on the current connection, and its answer agrees
        self._reconcile_due = False  # a Hello succeeded or a DOWN peer was heard: trade checklists (DCF-CHK-001)
        self._fetching = asyncio.Lock()  # one Watch at a time: reconciliation's or a heartbeat's (DCF-HBT-005)
        self._hello_told = ""  # the Hello problem the operator was last told of: told once, until a Hello agrees
        # The first message in line, answered without its acknowledgement: how often, and what the operator was told.
        self._retries = 0
        self._skews = 0  # refused for clock skew, re-originated each time (DCF-ENV-026)
        self._told: set[str] = set()
        self._random = random.Random()
        self._witness = Witness(node, channel)  # the peer's journal, beside the heartbeats (DCF-JNL-009)

    async def run(self) -> None:
        """Until cancelled: keep the peer's liveness; connect, greet, deliver, beat and follow its heartbeats."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._keep_liveness())
            # A peer that only connects to us (it watches our messages) is heard, never called.
            if self.channel.peer_address:
                group.create_task(self._connect())

    async def _connect(self) -> None:
        """Connect, greet, deliver, beat and follow; reconnect after any failure."""
        tls = self.node.loaded.tls
        # With TLS: our certificate, and the peer's server verified under the peer's CA alone (DCF-SEC-001).
        client_tls = tls.client_for(self.channel.peer) if tls is not None else None
        while True:
            try:
                async with (
                    PeerClient(self.channel.peer_address, tls=client_tls, timeout=5.0, verify=self._verify) as peer,
                    asyncio.TaskGroup() as group,
                ):
                    # A task group, so that when one of them fails the others stop too, before the client closes.
                    group.create_task(self._deliver(peer))
                    group.create_task(self._beat(peer))
                    group.create_task(self._follow(peer))
                    group.create_task(self._witness.run(peer, lambda: self._greeted))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the link must outlive any single failure; the reason is logged
                log.info("%s -> %s: link down (%s)", self.node.party, self.channel.peer, error)
                self._greeted = False
                await asyncio.sleep(RETRY_PAUSE)

    def _heard(self, error: RefusedError | None = None) -> None:
        """An answer from the peer's node, a refusal included (DCF-HBT-006); a failure to reach it is none."""
        if error is None or error.code not in SILENT:
            self.channel.hear()

    # -- Hello

    async def _greet(self, peer: PeerClient) -> None:
        while not self._greeted:
            try:
                answer = await peer.hello(self._hello(self.channel.channel_id))  # type: ignore[arg-type]
                self._heard()
                check_hello_response(self.channel, answer)
            except RefusedError as error:
                self._heard(error)
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    self._tell_hello(f"Hello refused: {error}")
            except Refusal as refusal:
                # DCF-HEL-010: the peer holds another agreement or speaks no version of ours, whatever it let us
                # do: nothing is written to it, and no heartbeat or checklist follows, until a Hello agrees.
                self._tell_hello(
                    f"{self.channel.peer} answered our Hello with a Hello this node refuses "
                    f"({refusal.reason or refusal.code.name}: {refusal.message}): nothing is sent on the channel until "
                    "a Hello agrees (DCF-HEL-010)"
                )
            else:
                self._greeted = True
                self._hello_told = ""
                self._reconcile_due = True
                return
            await asyncio.sleep(RETRY_PAUSE * 4)

    def _tell_hello(self, text: str) -> None:
        """Alert once per problem: the Hello is tried again every few seconds."""
        if text != self._hello_told:
            self._hello_told = text
            self.node.alert(AlertKind.ALERT_KIND_REFUSED, text, "", self.channel)

    # -- the outbox

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
            except UnverifiedAnswerError as error:
                # An acknowledgement that does not verify is none (DCF-SEC-011): told once, the same bytes later.
                self._heard()
                text = (
                    f"{self.channel.peer} acknowledged {record.kind} {record.message_id} without a valid signature "
                    f"({error}); sending it again"
                )
                self._tell_once(f"unverified {record.message_id}", text, record.message_id)
                await asyncio.sleep(self._pause())
                continue
            except RefusedError as error:
                self._heard(error)
                await self._refused(error, record)
                continue
            except BadAnswerError as error:
                self._heard()
                await self._again_later(f"{self.channel.peer} acknowledged {record.message_id} unreadably: {error}")
                continue
            self._heard()
            await self._acknowledged(record, signed, delivery)

    async def _reconcile(self, peer: PeerClient) -> None:
        self._reconcile_due = False
        try:
            async with self._fetching:
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
        problem = acknowledgement_mismatch(self.channel, record, signed.payload, ack)
        if problem is not None:
            # The peer acknowledged something else: never counted as received (DCF-ENV-034).
            await self._again_later(problem)
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
        self._next_in_line()
        self.node.acknowledged(self.channel, record.sequence)
        self.node.ledger.start_timer(self.channel, ack)
        self.node.acknowledgement_received(self.channel, delivery, position)

    async def _again_later(self, problem: str) -> None:
        """The first message in line stays there, sent again after a pause that grows each time (DCF-TIM-008);
        the operator is told of each problem once."""
        self._tell_once(problem, problem)
        await asyncio.sleep(self._pause())

    def _tell_once(self, key: str, text: str, subject: str = "") -> None:
        if key not in self._told:
            self._told.add(key)
            self.node.alert(AlertKind.ALERT_KIND_REFUSED, text, subject, self.channel)

    def _pause(self) -> float:
        pause = BACKOFF.backoff(self._retries, self._random)
        self._retries += 1
        return pause

    def _next_in_line(self) -> None:
        """The first message in line was acknowledged or withdrawn: the next starts afresh."""
        self._retries = self._skews = 0
        self._told.clear()

    def _verify(self, signed: envelope_pb2.SignedPayload) -> None:
        """The peer's acknowledgement, verified with its keys before it is opened (DCF-SEC-011)."""
        self.node.verifier.verify(signed, self.channel.peer, self.node.clock(), "acknowledgement")

    async def _refused(self, error: RefusedError, record: Record) -> None:
        reason = error.refusal.reason
        if definitive(error.refusal):
            # Withdrawn, its sequence number given to the next message (DCF-ENV-013): the channel moves on.
            withdrawn = self.node.withdraw(self.channel, record.message_id, error.refusal)
            if withdrawn is not None:
                self._next_in_line()
                await asyncio.shield(withdrawn)  # stored, whatever happens to this task
                return
        elif reason == "CLOCK_SKEW" and await self._reoriginate(record, error):
            return
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
            # A fault of the peer (INTERNAL, UNKNOWN), a clock skew of a message acknowledged before (sent again
            # after DCF-CHK-008, so never re-originated), or a message acknowledged before: the operator must see
            # it. It stays first in line, retried slowly.
            self.node.alert(
                AlertKind.ALERT_KIND_REFUSED,
                f"{self.channel.peer} refused {record.kind} {record.message_id}: {error}",
                record.message_id,
                self.channel,
            )
            await asyncio.sleep(RETRY_PAUSE * 10)

    async def _reoriginate(self, record: Record, error: RefusedError) -> bool:
        """DCF-ENV-026: a message never acknowledged, refused for clock skew, goes again under a new id and
        created_time, stored before it is sent. False when it was acknowledged before (sent again after
        DCF-CHK-008): that one is never re-originated."""
        outbox = self.channel.outbox
        if not outbox or outbox[0].envelope.message_id != record.message_id:
            return False
        if self._skews:
            # The message refused was just created: the clocks differ by more than the tolerance, which another
            # message cannot mend. The operator is told once; each new attempt waits longer (DCF-TIM-008), so a
            # peer whose clock is far off is not sent a fresh message, and the journal a record, without end.
            self._tell_once(
                "CLOCK_SKEW",
                f"{self.channel.peer} refuses our {record.kind} for clock skew though it was just created ({error}): "
                "the two clocks differ by more than the agreement allows (DCF-TIM-009); it is created again, later "
                "each time, until one is taken (DCF-ENV-026)",
                record.message_id,
            )
            await asyncio.sleep(self._pause())
        self._skews += 1
        stored = self.node.reoriginate(self.channel, record.message_id)
        if stored is None:
            return False
        await asyncio.shield(stored)  # stored before it is sent, whatever happens to this task (DCF-ENV-033)
        return True

    # -- heartbeats and liveness

    async def _beat(self, peer: PeerClient) -> None:
        interval = self.channel.agreement.model.heartbeat_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            if not self._greeted:
                continue
            beat = Heartbeat(
                channel_id=self.channel.channel_id,
                party=self.node.party,
                sent_time=self.node.clock(),
                last_sequence_sent=self.channel.next_out - 1,
            )
            try:
                # One beat is given one interval: a peer that does not answer in time has missed it, however long
                # the client would retry (DCF-HBT-007, DCF-TIM-006).
                async with asyncio.timeout(interval):
                    answer = await peer.heartbeat(beat)
            except RefusedError as error:
                self._heard(error)
                if error.refusal.reason == "HELLO_REQUIRED":
                    raise  # the peer restarted: reconnect and greet it again (DCF-HEL-008)
                continue
            except TimeoutError:
                continue  # missed: the silence counts towards DOWN (_keep_liveness)
            self._heard()
            theirs = answer.heartbeat
            if (theirs.channel_id, theirs.party) == (self.channel.channel_id, self.channel.peer):
                self.channel.peer_last_sequence_sent = theirs.last_sequence_sent  # for _follow (DCF-HBT-005)

    async def _keep_liveness(self) -> None:
        """UNKNOWN until the peer is first heard after this node started, NORMAL while it is heard (DCF-HBT-006),
        DOWN after missed_heartbeats_down x heartbeat_interval of silence, within a look (DCF-HBT-007,
        DCF-TIM-006); a DOWN peer heard again is NORMAL and reconciled with (DCF-HBT-008, DCF-CHK-001)."""
        agreement = self.channel.agreement.model
        down_after = agreement.heartbeat_interval.total_seconds() * agreement.missed_heartbeats_down
        while True:
            await asyncio.sleep(LOOK)
            heard = self.channel.last_heard
            if heard is None:
                continue
            if time.monotonic() - heard < down_after:
                if self.channel.liveness == Liveness.DOWN:
                    self._reconcile_due = True
                self.node.set_liveness(self.channel, Liveness.NORMAL)
            else:
                self.node.set_liveness(self.channel, Liveness.DOWN)

    async def _follow(self, peer: PeerClient) -> None:
        """DCF-HBT-005: when a heartbeat, received or answered, says the peer sent more than this node stored, fetch
        the rest with Watch from the next sequence expected. One fetch at a time: this task's, or reconciliation's
        under the same lock; one that leaves a gap (a refused envelope, a stream that ended) is tried again later
        each time."""
        misses = 0
        while True:
            await asyncio.sleep(LOOK)
            last = self.channel.peer_last_sequence_sent
            if last < self.channel.next_in:
                misses = 0
                continue
            if not self._greeted or self._fetching.locked():
                continue
            try:
                async with self._fetching:
                    await catch_up(self.node, self.channel, peer, last)
            except RefusedError as error:
                if error.refusal.reason == "HELLO_REQUIRED":
                    raise  # the peer restarted: reconnect and greet it again
                log.info("%s: no Watch of %s now: %s", self.node.party, self.channel.peer, error)
            if last >= self.channel.next_in:
                await asyncio.sleep(BACKOFF.backoff(misses, self._random))
                misses += 1
