"""A ministry node: the journal, the ledger rebuilt from it, intake, origination and the watchers.

Messages in and out take the same path through the ledger and the journal, live
and at replay, so a restarted node knows exactly what it acknowledged before it
died (DCF-ENV-031).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import grpc

from deconflict import limits
from deconflict.bridge.envelope import open_acknowledgement, open_envelope, seal_envelope, signed_payload_to_proto
from deconflict.client.peer import Delivery
from deconflict.conflict import Conflict
from deconflict.conflict.work import Begin, Load, Minima, Put
from deconflict.journal.base import Direction, Entry, Journal, Record
from deconflict.journal.sqlite import open_journal
from deconflict.models.channel import Agreement, Liveness, SeparationMinima
from deconflict.models.envelope import Envelope, Mode, ProtocolVersion
from deconflict.models.notice import FlightNotice, NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.models.response import (
    ConflictingNotice,
    DialogueState,
    OperationalResponse,
    ResponseKind,
    UnableReason,
)
from deconflict.node import collector
from deconflict.node.acknowledgement import decode_facts, encode_facts
from deconflict.node.alerts import AlertBook, RecordedAlert, alerts_path, response_text
from deconflict.node.assessor import Assessor
from deconflict.node.checkpoints import JournalTrees
from deconflict.node.config import LoadedConfig, ResponsePolicy
from deconflict.node.faults import Fault
from deconflict.node.intake import Intake, Stored
from deconflict.node.ledger import ChannelState, Facts, Ledger, Outgoing, Subject
from deconflict.node.outbox import is_refusal, refusal_alert, refusal_record
from deconflict.node.signer import CheckpointSigner, checkpoint_signer
from deconflict.node.witness import WitnessStore, witness_path
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.rpc.refusal import Refusal
from deconflict.security.signing import Signer, Verifier
from deconflict.v1 import envelope_pb2

log = logging.getLogger(__name__)

PROTOCOL_VERSION = ProtocolVersion(major=1, minor=0)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Originated:
    """A message this node created: stored (or being stored), then sent to the peer."""

    channel: ChannelState
    envelope: Envelope
    signed: envelope_pb2.SignedPayload
    position: asyncio.Future[int]


class Node:
    """One party's node. `start()` opens the journal and replays it; the gRPC server is added around it."""

    def __init__(
        self,
        loaded: LoadedConfig,
        clock: Callable[[], datetime] = utc_now,
        checkpoint_key: CheckpointSigner | None = None,
        assessor: Assessor | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.party = loaded.config.party
        self.clock = clock
        channels = [
            ChannelState(agreement=agreement, party=self.party, peer=peer, peer_address=self._address_of(peer))
            for peer, agreement in loaded.agreements.items()
        ]
        testing = loaded.config.testing
        # Deliberately faulty variants exist only for conformance testing (node/faults.py).
        self.faults = frozenset(testing.faults) if testing.enabled else frozenset()
        for fault in sorted(self.faults):
            log.warning("%s: running the FAULTY variant %r: for conformance testing only", self.party, fault.value)
        self.ledger = Ledger(self.party, channels, self.faults)
        # Keys to sign with and to verify with, built once (DCF-SEC-006, DCF-SEC-008).
        required = loaded.config.signing.required
        agreements = [agreement.model for agreement in loaded.agreements.values()]
        self.signer = Signer(self.party, loaded.signing_keys, agreements, required)
        self.verifier = Verifier(self.party, agreements, required)
        if not required:
            log.warning("%s: signatures are not required: for local experiments only (DCF-SEC-014)", self.party)
        for channel in channels:
            if not self.signer.can_sign(channel.channel_id, clock()):
                log.error("%s: no signing key is valid now on channel %s (DCF-SEC-013)", self.party, channel.channel_id)
        # The conflict index; a server keeps one across resets (a worker process is not started for each).
        self.assessor = assessor if assessor is not None else Assessor(loaded.config.conflict_worker)
        self._owns_assessor = assessor is None
        self._journal: Journal | None = None
        self._intake: Intake | None = None
        self._changed = asyncio.Condition()
        self._listening = 0  # callers of changed() waiting now
        self.failed: BaseException | None = None
        self._watchers: set[asyncio.Queue[operator_pb.Event]] = set()
        self._alerts: AlertBook | None = None
        # Each channel's journal as the peer checks it: trees, and the checkpoints signed of them (DCF-JNL-005..008).
        self.trees = JournalTrees(self.party, checkpoint_signer(loaded, checkpoint_key), clock)
        self._witnessed: WitnessStore | None = None
        self._closing = False

    def _address_of(self, peer: str) -> str:
        return next(c.peer_address for c in self.config.channels if c.peer == peer)

    @property
    def journal(self) -> Journal:
        assert self._journal is not None, "the node is not started"
        return self._journal

    @property
    def intake(self) -> Intake:
        assert self._intake is not None, "the node is not started"
        return self._intake

    @property
    def alerts(self) -> AlertBook:
        assert self._alerts is not None, "the node is not started"
        return self._alerts

    @property
    def witnessed(self) -> WitnessStore:
        assert self._witnessed is not None, "the node is not started"
        return self._witnessed

    # -- life

    async def start(self) -> None:
        self._journal = open_journal(self.loaded.journal_path)
        self._journal.on_durable = self.trees.durable
        # After the journal, whose lock keeps a second node off both files; the open alerts come back with it.
        self._alerts = AlertBook(alerts_path(self.loaded.journal_path))
        self._witnessed = WitnessStore(witness_path(self.loaded.journal_path))
        self._intake = Intake(
            self.ledger,
            self._journal,
            self.clock,
            self._stored,
            self._storage_failed,
            self.signer,
            self.verifier,
            self.faults,
            self.acknowledgement_sent,
        )
        collector.hold()
        try:
            replayed = self._replay()
            await self.assessor.begin(Begin(self._minima()), self._holding)
            self._answer_owed()
        except BaseException:
            collector.release()
            raise
        # The replayed state lives as long as the node: keep it out of every later collection, which
        # would otherwise walk millions of objects and stall the loop for seconds.
        collector.settle_after_replay()
        log.info("%s: journal replayed, %d entries", self.party, replayed)

    async def close(self) -> None:
        self._closing = True  # conflicts found from now on are answered by no one: the journal is closing
        if self._owns_assessor:
            await self.assessor.close()
        if self._journal is not None:
            await self._journal.close()
        # After the journal: the last messages it makes durable may still raise alerts.
        if self._alerts is not None:
            await self._alerts.close()
        if self._witnessed is not None:
            await self._witnessed.close()

    def _replay(self) -> int:
        count = 0
        for entry in self.journal.entries():
            self._replay_entry(entry, self.trees.replayed(entry.record.channel_id, entry.record.payload))
            count += 1
        # A node that stopped between a refusal and sealing the messages behind it again does that now.
        for channel in self.ledger.channels.values():
            self._renumber(channel, 0, channel.acknowledged + 1)
        return count

    def _minima(self) -> tuple[Minima, ...]:
        """What each channel's agreement calls a conflict (DCF-CFL-001, DCF-CFL-014)."""
        ignore = Fault.IGNORE_SEPARATION in self.faults  # the faulty variant: nothing is ever too close
        return tuple(
            Minima(
                channel.channel_id,
                SeparationMinima(lateral_m=0.0, vertical_m=0.0, time=timedelta(0))
                if ignore
                else channel.agreement.model.separation,
                tuple(channel.agreement.model.priority_rules),
            )
            for channel in self.ledger.channels.values()
        )

    def _holding(self) -> Load:
        """Every ACTIVE notice the node holds, for the conflict index: loaded in bulk, many times faster than one by
        one (at start, and if the worker has to be replaced)."""
        return Load(
            tuple(
                Put(entry.notice, next(iter(entry.dialogues)), entry.exercise)
                for entry in self.ledger.notices.values()
                if entry.notice.state == NoticeState.ACTIVE and entry.dialogues
            )
        )

    def _replay_entry(self, entry: Entry, channel_index: int) -> None:
        """Apply one stored entry again; `channel_index`: its place in its channel's journal (DCF-JNL-005)."""
        record = entry.record
        channel = self.ledger.channels.get(record.channel_id)
        if channel is None:
            log.warning(
                "journal entry %d names channel %s, which this node no longer serves", entry.position, record.channel_id
            )
            return
        if record.direction == Direction.ACK_OUT:
            # What this node answered the IN entry just before: its duplicates get these bytes (DCF-ENV-023).
            self.intake.remember_acknowledgement(channel.channel_id, record.message_id, record.payload)
            return
        if record.direction == Direction.ACK_IN:
            if is_refusal(record):
                index = _outbox_index(channel, record.message_id)
                if index is not None:
                    self._withdrawn(channel, index)
                    _vacate(channel, record.sequence)
            else:
                self.acknowledged(channel, record.sequence)
                acknowledgement = open_acknowledgement(envelope_pb2.SignedPayload.FromString(record.payload))
                self.ledger.start_timer(channel, acknowledgement)
            return
        signed = envelope_pb2.SignedPayload.FromString(record.payload)
        envelope = open_envelope(signed)
        if record.direction == Direction.OUT and envelope.sequence < channel.next_out:
            # Applied already, as first sealed: a message sealed again under a lower sequence after a withdrawal,
            # or, under a new id, a message re-originated after a clock skew refusal (DCF-ENV-026).
            guess = envelope.sequence - channel.acknowledged - 1
            index = _outbox_index(channel, envelope.message_id, guess)
            if index is not None:
                channel.outbox[index].envelope = envelope
            elif 0 <= guess < len(channel.outbox) and channel.outbox[guess].envelope.sequence == envelope.sequence:
                self._reoriginated(channel, guess, envelope)
            _place(channel.sent_positions, envelope.sequence, entry.position)
            return
        facts = decode_facts(record.meta)
        self.ledger.apply(channel, envelope, facts, record.stored_time)
        if record.direction == Direction.IN:
            # The stored time, not the created time: a duplicate after a restart gets the same bytes (DCF-ENV-023).
            self.intake.remember(
                channel.channel_id,
                envelope,
                hashlib.sha256(signed.payload).digest(),
                facts,
                channel_index,
                record.stored_time,
            )
        else:
            channel.outbox.append(Outgoing(envelope, facts))
            _place(channel.sent_positions, envelope.sequence, entry.position)

    def _storage_failed(self, error: BaseException) -> None:
        # The ledger holds a message the journal may not: refuse everything from now on; a restart replays.
        log.error("%s: the journal failed (%s); the node stops taking messages", self.party, error)
        self.failed = error

    # -- origination: this node's own messages

    def originate(
        self,
        channel: ChannelState,
        body: str,
        value: object,
        *,
        in_reply_to: str = "",
        mode: Mode = Mode.OPERATIONAL,
    ) -> Originated:
        """Create, check, apply and enqueue one message to the peer (raises Refusal when the rules forbid it)."""
        now = self.clock()
        envelope = Envelope.model_validate(
            {
                "message_id": str(uuid.uuid4()),
                "channel_id": channel.channel_id,
                "sender": self.party,
                "recipient": channel.peer,
                "sequence": channel.next_out,
                "in_reply_to": in_reply_to,
                "created_time": now,
                "protocol_version": PROTOCOL_VERSION,
                "mode": mode,
                body: value,
            }
        )
        facts = self.ledger.check(channel, envelope, now)
        if not self.signer.can_sign(channel.channel_id, now):
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{self.party} holds no signing key valid now on channel {channel.channel_id}: the agreement needs "
                "a new key (DCF-SEC-013)",
            )
        signed = self._seal(channel, envelope, now)
        position = self.journal.append(_out_record(envelope, signed, facts, now))
        # After the journal took the record: it refuses a malformed one before the ledger has changed.
        self.ledger.apply(channel, envelope, facts, now)
        channel.outbox.append(Outgoing(envelope, facts))
        self._index(envelope, signed.payload)
        position.add_done_callback(lambda done: self._sent(done, channel, envelope, signed, facts))
        return Originated(channel, envelope, signed, position)

    def _sent(
        self,
        done: asyncio.Future[int],
        channel: ChannelState,
        envelope: Envelope,
        signed: envelope_pb2.SignedPayload,
        facts: Facts,
    ) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            self._storage_failed(done.exception() or RuntimeError("journal"))
            return
        _place(channel.sent_positions, envelope.sequence, done.result())
        self._stored(Stored(channel, envelope, signed, facts, done.result(), Direction.OUT))

    def take_record(self, channel: ChannelState, record: NoticeRecord) -> None:
        """Hold one of the peer's notices as its owner's record says (DCF-CHK-005), conflict index included.

        Not journaled: the journal holds envelopes and acknowledgements only (DCF-JNL-001). After a restart the
        node holds what its envelopes say until it reconciles again, which follows its next Hello.
        """
        self.ledger.take_record(channel, record)
        self.assessor.put(record.notice, channel.channel_id, record.mode == Mode.EXERCISE)

    # -- the outbox: acknowledgements and definitive refusals of this node's messages

    def acknowledged(self, channel: ChannelState, sequence: int) -> None:
        """The peer stored this node's messages up to `sequence` (delivery is in order): none of them can be
        withdrawn any more."""
        channel.acknowledged = max(channel.acknowledged, sequence)
        while channel.outbox and channel.outbox[0].envelope.sequence <= sequence:
            stored = channel.outbox.popleft()
            self.ledger.acknowledged(channel.channel_id, stored.envelope.message_id)

    def withdraw(self, channel: ChannelState, message_id: str, refusal: Refusal) -> asyncio.Future[int] | None:
        """Withdraw one of this node's messages that the peer refused definitively (DCF-ENV-013, DCF-ERR-014).

        The refusal is journaled as the peer's answer to the message, so that a restarted node never sends it
        again; what the message changed is taken back; its sequence number goes to the next message, and the
        messages behind it are sealed again one number lower and journaled before they are sent (DCF-ENV-033).
        The operator is alerted once the refusal is stored (DCF-ENV-035). The future of the refusal's journal
        position, or None when the message is no longer in the outbox (acknowledged before).
        """
        index = _outbox_index(channel, message_id)
        if index is None:
            return None
        refused = channel.outbox[index].envelope
        record = refusal_record(channel, refused, refusal, self.clock())
        position = self.journal.append(record)
        subject = self._withdrawn(channel, index)
        if subject is not None and subject[0] == "notice":
            self._reindex(subject[1], subject[2])
        self._renumber(channel, index, refused.sequence)
        position.add_done_callback(lambda done: self._refusal_stored(done, channel, record))
        return position

    def _seal(self, channel: ChannelState, envelope: Envelope, now: datetime) -> envelope_pb2.SignedPayload:
        """One of this node's envelopes as the exact bytes it sends, signed with its keys valid now (DCF-SEC-009)."""
        return self.signer.sign(channel.channel_id, signed_payload_to_proto(seal_envelope(envelope)), now)

    def reoriginate(self, channel: ChannelState, message_id: str) -> asyncio.Future[int] | None:
        """Originate again one of this node's messages the peer refused for clock skew (DCF-ENV-026): the same body
        and sequence under a new message id and created_time, signed afresh, journaled (OUT) before it is sent
        (DCF-ENV-033) and put in the old one's place. The future of its journal position, or None when the message
        is not in the outbox: one acknowledged before (sent again after DCF-CHK-008) is never re-originated."""
        index = _outbox_index(channel, message_id)
        if index is None:
            return None
        now = self.clock()
        outgoing = channel.outbox[index]
        envelope = outgoing.envelope.model_copy(update={"message_id": str(uuid.uuid4()), "created_time": now})
        signed = self._seal(channel, envelope, now)
        position = self.journal.append(_out_record(envelope, signed, outgoing.facts, now))
        self._reoriginated(channel, index, envelope)
        # Once stored, a Watch under way streams the sequence again, now as this envelope (DCF-STR-004).
        resealed = partial(self._resealed, channel=channel, envelope=envelope, signed=signed, restream=True)
        position.add_done_callback(resealed)
        log.info("%s: %s re-originated as %s (DCF-ENV-026)", self.party, message_id, envelope.message_id)
        return position

    def _reoriginated(self, channel: ChannelState, index: int, envelope: Envelope) -> None:
        """Put a re-originated envelope in the outbox and the ledger in place of the one it replaces; live and at
        replay."""
        outgoing = channel.outbox[index]
        self.ledger.reoriginated(channel, outgoing.envelope.message_id, envelope)
        outgoing.envelope = envelope

    def _withdrawn(self, channel: ChannelState, index: int) -> Subject | None:
        """Take the message at `index` out of the outbox and back from the ledger; live and at replay."""
        refused = channel.outbox[index].envelope
        del channel.outbox[index]
        channel.next_out -= 1
        return self.ledger.withdraw(channel, refused.message_id)

    def _renumber(self, channel: ChannelState, start: int, first: int) -> None:
        """Seal the outbox's messages from `start` on again, as needed, so that they carry `first`, `first` + 1...:
        the same message ids and bodies under new sequence numbers, stored before they are sent (DCF-ENV-033)."""
        now = self.clock()
        for offset in range(start, len(channel.outbox)):
            outgoing = channel.outbox[offset]
            sequence = first + offset - start
            if outgoing.envelope.sequence == sequence:
                continue
            envelope = outgoing.envelope.model_copy(update={"sequence": sequence})
            # Signed afresh: new bytes; with no key valid now the peer refuses it, and the operator hears of it.
            signed = self._seal(channel, envelope, now)
            position = self.journal.append(_out_record(envelope, signed, outgoing.facts, now))
            outgoing.envelope = envelope
            position.add_done_callback(partial(self._resealed, channel=channel, envelope=envelope, signed=signed))

    def _resealed(
        self,
        done: asyncio.Future[int],
        *,
        channel: ChannelState,
        envelope: Envelope,
        signed: envelope_pb2.SignedPayload,
        restream: bool = False,
    ) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            self._storage_failed(done.exception() or RuntimeError("journal"))
            return
        _place(channel.sent_positions, envelope.sequence, done.result())
        if restream:
            channel.resealed.append(envelope.sequence)
        direction = operator_pb.DIRECTION_OUT
        self._publish(
            operator_pb.Event(
                position=done.result(),
                channel_id=channel.channel_id,
                message=operator_pb.MessageEvent(direction=direction, envelope=signed),
            )
        )
        asyncio.get_running_loop().create_task(self._notify())

    def _refusal_stored(self, done: asyncio.Future[int], channel: ChannelState, record: Record) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            self._storage_failed(done.exception() or RuntimeError("journal"))
            return
        _vacate(channel, record.sequence)
        alert = refusal_alert(record)
        self.alert(alert.kind, alert.text, alert.subject_id, channel)
        asyncio.get_running_loop().create_task(self._notify())

    def _reindex(self, owner: str, notice_id: str) -> None:
        """The conflict index after a notice was taken back to what it was."""
        entry = self.ledger.notice(owner, notice_id)
        if entry is None or entry.notice.state != NoticeState.ACTIVE or not entry.dialogues:
            self.assessor.remove(owner, notice_id)
            return
        self.assessor.put(entry.notice, next(iter(entry.dialogues)), entry.exercise)

    # -- what follows a stored message

    def _stored(self, stored: Stored) -> None:
        if stored.direction == Direction.IN:
            self._answer_automatically(stored, self._index(stored.envelope, stored.signed.payload, check=True))
        self._alert_for(stored)
        if self._watchers:  # built only for someone to see: one per message
            direction = operator_pb.DIRECTION_IN if stored.direction == Direction.IN else operator_pb.DIRECTION_OUT
            self._publish(
                operator_pb.Event(
                    position=stored.position,
                    channel_id=stored.channel.channel_id,
                    message=operator_pb.MessageEvent(direction=direction, envelope=stored.signed),
                )
            )
        if self._listening:  # a task per message only when someone waits for one (Watch, the test control)
            asyncio.get_running_loop().create_task(self._notify())

    def _alert_for(self, stored: Stored) -> None:
        """The alerts a stored message calls for, sent or received."""
        envelope, channel = stored.envelope, stored.channel
        if envelope.suspension is not None:  # DCF-SUS-011
            suspension = envelope.suspension
            text = f"{envelope.sender} suspended channel {channel.channel_id}: {suspension.reason}"
            self.alert(operator_pb.ALERT_KIND_CHANNEL_STATE, text, suspension.suspension_id, channel)
        elif envelope.resumption is not None:  # DCF-SUS-011
            resumption = envelope.resumption
            text = f"{envelope.sender} resumed channel {channel.channel_id}: {resumption.reason}"
            self.alert(operator_pb.ALERT_KIND_CHANNEL_STATE, text, resumption.suspension_id, channel)
        elif envelope.timeout is not None and stored.direction == Direction.IN:  # DCF-TMR-014
            subject = envelope.timeout.notice_id or envelope.timeout.conference_id
            text = f"{channel.peer} says {subject} was not answered in time: answer it now (DCF-TMR-015)"
            self.alert(operator_pb.ALERT_KIND_TIMEOUT_RECEIVED, text, subject, channel)
        elif envelope.conference_cancellation is not None:  # DCF-CNF-040: sent or received
            cancelled = envelope.conference_cancellation
            text = f"{envelope.sender} called off conference {cancelled.conference_id}: {cancelled.reason}"
            self.alert(operator_pb.ALERT_KIND_CONFERENCE_CANCELLED, text, cancelled.conference_id, channel)
        elif envelope.incident_report is not None and stored.direction == Direction.IN:  # DCF-INC-006
            report = envelope.incident_report
            text = (
                f"{channel.peer} reported incident {report.incident_id} of {report.occurred_time:%d %b %H:%M}Z, "
                f"for the next conference agenda (DCF-CNF-030): {report.narrative}"
            )
            self.alert(operator_pb.ALERT_KIND_INCIDENT_REPORTED, text, report.incident_id, channel)
        elif envelope.response is not None and stored.direction == Direction.IN:  # DCF-RSP-033
            response = envelope.response
            kind = _RESPONSE_ALERTS.get(response.kind)
            if kind is not None and self.ledger.notice(self.party, response.notice_id) is not None:
                self.alert(kind, response_text(channel.peer, response), response.notice_id, channel)

    # -- what operators watch (OperatorService.WatchEvents)

    def watch(self) -> asyncio.Queue[operator_pb.Event]:
        """A queue of every event from now on; give it back with `unwatch`."""
        queue: asyncio.Queue[operator_pb.Event] = asyncio.Queue()
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[operator_pb.Event]) -> None:
        self._watchers.discard(queue)

    def _publish(self, event: operator_pb.Event) -> None:
        if not event.HasField("time"):
            event.time.FromDatetime(self.clock())
        for queue in self._watchers:
            queue.put_nowait(event)

    def alert(self, kind: operator_pb.AlertKind.ValueType, text: str, subject: str, channel: ChannelState) -> None:
        """Tell the operators (DCF-GEN-012): logged, recorded durably with its time, channel and cause, streamed
        to every watcher, and presented until an operator acknowledges it."""
        log.warning("%s: %s: %s", self.party, operator_pb.AlertKind.Name(kind), text)
        self._publish(self.alerts.record(kind, text, subject, channel.channel_id, self.clock()).event())

    def alerts_acknowledged(self, acknowledged: list[RecordedAlert]) -> None:
        """Tell every watcher that these alerts are no longer open."""
        for alert in acknowledged:
            self._publish(alert.event())

    def set_liveness(self, channel: ChannelState, liveness: Liveness) -> None:
        if channel.liveness == liveness:
            return
        was, channel.liveness = channel.liveness, liveness
        self._publish(
            operator_pb.Event(
                channel_id=channel.channel_id,
                liveness=operator_pb.LivenessEvent(peer=channel.peer, liveness=int(liveness)),  # type: ignore[arg-type]
            )
        )
        if liveness == Liveness.DOWN:
            self.alert(operator_pb.ALERT_KIND_PEER_DOWN, f"{channel.peer} stopped answering", "", channel)
        elif was == Liveness.DOWN:
            self.alert(operator_pb.ALERT_KIND_PEER_UP, f"{channel.peer} answers again", "", channel)

    def acknowledgement_received(self, channel: ChannelState, delivery: Delivery, position: int) -> None:
        self._publish(
            operator_pb.Event(
                position=position,
                channel_id=channel.channel_id,
                acknowledgement=operator_pb.AcknowledgementEvent(acknowledgement=delivery.signed),
            )
        )

    def acknowledgement_sent(self, channel: ChannelState, signed: envelope_pb2.SignedPayload, position: int) -> None:
        """This node's acknowledgement of one of the peer's messages is durable (ACK_OUT)."""
        if self._watchers:  # built only for someone to see: one per message received
            self._publish(
                operator_pb.Event(
                    position=position,
                    channel_id=channel.channel_id,
                    acknowledgement=operator_pb.AcknowledgementEvent(acknowledgement=signed),
                )
            )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def changed(self) -> None:
        """Wait until a message is stored."""
        self._listening += 1
        try:
            async with self._changed:
                await self._changed.wait()
        finally:
            self._listening -= 1

    async def changed_within(self, seconds: float) -> None:
        """Wait until a message is stored, or `seconds` at most.

        asyncio.timeout rather than asyncio.wait_for: on Python 3.11 wait_for can swallow a cancellation that
        races with its result, and a task that ignores its cancellation never lets the node stop.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.changed()

    def _index(self, envelope: Envelope, payload: bytes, check: bool = False) -> asyncio.Future[list[Conflict]] | None:
        """Keep the conflict index current; with `check`, the future of the conflicts of the notice filed."""
        if envelope.filed_notice is not None:
            return self.assessor.file(envelope, payload, check)
        if envelope.cancellation is not None:
            self.assessor.remove(envelope.sender, envelope.cancellation.notice_id)
        return None

    # -- the response policy (DCF-RSP spec: automatic ROGER / UNABLE, or STANDBY for an operator)

    def _answer_automatically(self, stored: Stored, checking: asyncio.Future[list[Conflict]] | None) -> None:
        notice = stored.envelope.filed_notice
        if notice is None or checking is None:
            return
        if stored.facts.late:
            self.alert(
                operator_pb.ALERT_KIND_LATE_NOTICE,
                f"{notice.notice_id} v{notice.version} arrived with less than the agreed lead time",
                notice.notice_id,
                stored.channel,
            )
        envelope = stored.envelope
        checking.add_done_callback(partial(self._answer, stored.channel, notice, envelope.message_id, envelope.mode))

    def _answer_owed(self) -> None:
        """Answer the peer's notices stored before a restart and not answered yet: the node stopped between storing
        one and answering it, while its conflicts were being checked (DCF-RSP-001)."""
        for entry in self.ledger.notices.values():
            if entry.notice.state != NoticeState.ACTIVE:
                continue
            for channel_id, dialogue in entry.dialogues.items():
                if (
                    dialogue.responder == self.party
                    and dialogue.state == DialogueState.PENDING
                    and dialogue.version == entry.notice.version
                ):
                    channel = self.ledger.channels[channel_id]
                    mode = Mode.EXERCISE if entry.exercise else Mode.OPERATIONAL
                    checking = self.assessor.check(entry.notice, channel_id, entry.exercise)
                    checking.add_done_callback(partial(self._answer, channel, entry.notice, dialogue.message_id, mode))

    def _answer(
        self,
        channel: ChannelState,
        notice: FlightNotice,
        in_reply_to: str,
        mode: Mode,
        checking: asyncio.Future[list[Conflict]],
    ) -> None:
        """The answer to a notice, once its conflicts are known (by policy: DCF-RSP-001, DCF-RSP-029)."""
        if checking.cancelled() or self.failed is not None or self._closing:
            return
        assessed = self.assess(channel, notice, checking.result())
        if Fault.MERGED_ACKNOWLEDGEMENTS in self.faults:
            return  # the faulty variant lets the logical acknowledgement stand for the answer
        try:
            if self.config.policy == ResponsePolicy.OPERATOR:
                standby = OperationalResponse(
                    notice_id=notice.notice_id, notice_version=notice.version, kind=ResponseKind.STANDBY
                )
                # The operator decides, with what the conflict engine found in front of them.
                if UnableReason.CONFLICT in assessed.reasons:
                    named = ", ".join(f"{c.notice_id} v{c.version} ({c.owner})" for c in assessed.conflicts)
                    self.alert(
                        operator_pb.ALERT_KIND_CONFLICT,
                        f"{notice.notice_id} v{notice.version} conflicts with {named or 'notices on another channel'}",
                        notice.notice_id,
                        channel,
                    )
                self.originate(channel, "response", standby, in_reply_to=in_reply_to, mode=mode)
                if UnableReason.UNKNOWN_REFERENCE not in assessed.reasons:
                    return
                # A reference the agreement does not have leaves the operator nothing to decide: the node still
                # answers UNABLE itself (DCF-RSP-029, DCF-RSP-028), right after the STANDBY (DCF-TIM-004).
            self.originate(channel, "response", assessed, in_reply_to=in_reply_to, mode=mode)
        except Refusal as refusal:
            # The notice moved on while it was checked (amended, cancelled, the channel suspended): what it is now
            # gets its own answer, or needs none.
            log.info("%s: no answer to %s v%d: %s", self.party, notice.notice_id, notice.version, refusal.message)

    def assess(self, channel: ChannelState, notice: FlightNotice, found: list[Conflict]) -> OperationalResponse:
        """ROGER when the notice is clear of every other party's notices (`found`: its conflicts) and names only
        frequencies and contacts of the agreement; otherwise UNABLE, with the conflicts (DCF-RSP-027) and the first
        reference the agreement does not have (DCF-RSP-028)."""
        agreement = channel.agreement.model
        unknown = unknown_reference(agreement, notice)
        if not found and unknown is None:
            return OperationalResponse(
                notice_id=notice.notice_id, notice_version=notice.version, kind=ResponseKind.ROGER
            )
        parties = set(agreement.parties)
        eligible = [c for c in found if c.owner in parties]
        # A third party's notice is never named to this peer (DCF-CFL-019): only said to be in the way.
        hidden = len(found) - len(eligible)
        # A response names at most MAX_LIST conflicts, the first in the spec's order (DCF-CFL-017).
        named = eligible[: limits.MAX_LIST]
        unnamed = len(eligible) - len(named)
        reasons = [UnableReason.CONFLICT] if found else []
        if unknown is not None:
            reasons.append(UnableReason.UNKNOWN_REFERENCE)
        return OperationalResponse(
            notice_id=notice.notice_id,
            notice_version=notice.version,
            kind=ResponseKind.UNABLE,
            reasons=reasons,
            offending_field="" if unknown is None else unknown.path,
            conflicts=[
                ConflictingNotice(
                    notice_id=c.notice_id,
                    version=c.version,
                    owner=c.owner,
                    volume_index=c.volume_index,
                    other_volume_index=c.other_volume_index,
                    lateral_distance_m=c.lateral_distance_m,
                    vertical_distance_m=c.vertical_distance_m,
                )
                for c in named
            ],
            remarks=" ".join(
                part
                for part in (
                    f"{hidden} notice(s) on another channel are in the way." if hidden else "",
                    f"{unnamed} more conflict(s) not listed." if unnamed else "",
                    "" if unknown is None else f"{unknown.path} is {unknown.value!r}: the agreement does not have it.",
                )
                if part
            ),
        )

    # -- reading

    def active_notices(self, channel: ChannelState) -> int:
        return sum(
            1
            for entry in self.ledger.notices.values()
            if entry.notice.state == NoticeState.ACTIVE and channel.channel_id in entry.dialogues
        )


@dataclass(frozen=True, slots=True)
class UnknownReference:
    """A frequency or contact a notice names and the agreement does not have (DCF-RSP-028)."""

    path: str  # relative to the notice, as `offending_field` names it (DCF-RSP-008): "frequency_ids[1]"
    value: str


def unknown_reference(agreement: Agreement, notice: FlightNotice) -> UnknownReference | None:
    """The first reference of `notice`, in field order, that `agreement` does not define; None when all are known."""
    frequencies = {frequency.frequency_id for frequency in agreement.frequencies}
    for index, frequency_id in enumerate(notice.frequency_ids):
        if frequency_id not in frequencies:
            return UnknownReference(f"frequency_ids[{index}]", frequency_id)
    if notice.contact_id and all(contact.contact_id != notice.contact_id for contact in agreement.contacts):
        return UnknownReference("contact_id", notice.contact_id)
    return None


def _out_record(envelope: Envelope, signed: envelope_pb2.SignedPayload, facts: Facts, now: datetime) -> Record:
    """The journal record of one of this node's envelopes, as first sealed or sealed again."""
    return Record(
        channel_id=envelope.channel_id,
        direction=Direction.OUT,
        message_id=envelope.message_id,
        sender=envelope.sender,
        sequence=envelope.sequence,
        kind=envelope.body_field,
        payload=signed.SerializeToString(),
        stored_time=now,
        meta=encode_facts(facts),
    )


def _outbox_index(channel: ChannelState, message_id: str, guess: int = -1) -> int | None:
    """Where a message is in the channel's outbox (looked for at `guess` first), or None."""
    outbox = channel.outbox
    if 0 <= guess < len(outbox) and outbox[guess].envelope.message_id == message_id:
        return guess
    return next((i for i, outgoing in enumerate(outbox) if outgoing.envelope.message_id == message_id), None)


def _vacate(channel: ChannelState, sequence: int) -> None:
    """A message of `sequence` is withdrawn: from it on, the messages sealed again (stored after its refusal, so
    placed after this) take the places."""
    del channel.sent_positions[sequence - 1 :]
    channel.resealed.append(sequence)


def _place(sent: list[int], sequence: int, position: int) -> None:
    """Record the journal position of the envelope that now holds `sequence` (sealed first or again)."""
    if sequence - 1 < len(sent):
        sent[sequence - 1] = position
    else:
        sent.append(position)


_RESPONSE_ALERTS: dict[ResponseKind, operator_pb.AlertKind.ValueType] = {
    ResponseKind.UNABLE: operator_pb.ALERT_KIND_UNABLE_RECEIVED,
    ResponseKind.COUNTER: operator_pb.ALERT_KIND_COUNTER_RECEIVED,
}
