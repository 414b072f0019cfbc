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

from deconflict import limits
from deconflict.bridge.envelope import open_acknowledgement, open_envelope, seal_envelope, signed_payload_to_proto
from deconflict.client.peer import Delivery
from deconflict.conflict import ConflictIndex, IndexedNotice
from deconflict.journal.base import Direction, Entry, Journal, Record
from deconflict.journal.sqlite import open_journal
from deconflict.models.channel import Liveness, SeparationMinima
from deconflict.models.envelope import Envelope, Mode, ProtocolVersion
from deconflict.models.notice import FlightNotice, NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.models.response import ConflictingNotice, OperationalResponse, ResponseKind, UnableReason
from deconflict.node import collector
from deconflict.node.acknowledgement import decode_facts, encode_facts
from deconflict.node.config import LoadedConfig, ResponsePolicy
from deconflict.node.faults import Fault
from deconflict.node.intake import Intake, Stored
from deconflict.node.ledger import ChannelState, Facts, Ledger
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
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

    def __init__(self, loaded: LoadedConfig, clock: Callable[[], datetime] = utc_now) -> None:
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
        self.conflicts = ConflictIndex()
        self._journal: Journal | None = None
        self._intake: Intake | None = None
        self._changed = asyncio.Condition()
        self.failed: BaseException | None = None
        self._watchers: set[asyncio.Queue[operator_pb.Event]] = set()
        self.alerts: list[operator_pb.Event] = []

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

    # -- life

    async def start(self) -> None:
        self._journal = open_journal(self.loaded.journal_path)
        self._intake = Intake(self.ledger, self._journal, self.clock, self._stored, self._storage_failed, self.faults)
        replayed = self._replay()
        # The replayed state lives as long as the node: keep it out of every later collection, which
        # would otherwise walk millions of objects and stall the loop for seconds.
        collector.settle_after_replay()
        log.info("%s: journal replayed, %d entries", self.party, replayed)

    async def close(self) -> None:
        if self._journal is not None:
            await self._journal.close()

    def _replay(self) -> int:
        count = 0
        for entry in self.journal.entries():
            self._replay_entry(entry)
            count += 1
        # The index is loaded once from the notices still active: in bulk, many times faster than one by one.
        self.conflicts.put_many(
            IndexedNotice.from_notice(entry.notice, channel_id=next(iter(entry.dialogues)), exercise=entry.exercise)
            for entry in self.ledger.notices.values()
            if entry.notice.state == NoticeState.ACTIVE and entry.dialogues
        )
        return count

    def _replay_entry(self, entry: Entry) -> None:
        record = entry.record
        channel = self.ledger.channels.get(record.channel_id)
        if channel is None:
            log.warning(
                "journal entry %d names channel %s, which this node no longer serves", entry.position, record.channel_id
            )
            return
        if record.direction == Direction.ACK_IN:
            channel.acknowledged = max(channel.acknowledged, record.sequence)
            acknowledgement = open_acknowledgement(envelope_pb2.SignedPayload.FromString(record.payload))
            self.ledger.acknowledged(channel, acknowledgement)
            return
        signed = envelope_pb2.SignedPayload.FromString(record.payload)
        envelope = open_envelope(signed)
        facts = decode_facts(record.meta)
        self.ledger.apply(channel, envelope, facts, record.stored_time)
        if record.direction == Direction.IN:
            # The stored time, not the created time: a duplicate after a restart gets the same bytes (DCF-ENV-023).
            self.intake.remember(
                channel.channel_id,
                envelope,
                hashlib.sha256(signed.payload).digest(),
                facts,
                entry.position,
                record.stored_time,
            )
        else:
            channel.sent_positions.append(entry.position)

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
        signed = signed_payload_to_proto(seal_envelope(envelope))
        position = self.journal.append(
            Record(
                channel_id=channel.channel_id,
                direction=Direction.OUT,
                message_id=envelope.message_id,
                sender=self.party,
                sequence=envelope.sequence,
                kind=body,
                payload=signed.SerializeToString(),
                stored_time=now,
                meta=encode_facts(facts),
            )
        )
        # After the journal took the record: it refuses a malformed one before the ledger has changed.
        self.ledger.apply(channel, envelope, facts, now)
        self._index(envelope)
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
        channel.sent_positions.append(done.result())
        self._stored(Stored(channel, envelope, signed, facts, done.result(), Direction.OUT))

    def take_record(self, channel: ChannelState, record: NoticeRecord) -> None:
        """Hold one of the peer's notices as its owner's record says (DCF-CHK-005), conflict index included.

        Not journaled: the journal holds envelopes and acknowledgements only (DCF-JNL-001). After a restart the
        node holds what its envelopes say until it reconciles again, which follows its next Hello.
        """
        self.ledger.take_record(channel, record)
        self.conflicts.put(record.notice, channel_id=channel.channel_id, exercise=record.mode == Mode.EXERCISE)

    # -- what follows a stored message

    def _stored(self, stored: Stored) -> None:
        if stored.direction == Direction.IN:
            self._answer_automatically(stored, self._index(stored.envelope))
        self._alert_for(stored)
        direction = operator_pb.DIRECTION_IN if stored.direction == Direction.IN else operator_pb.DIRECTION_OUT
        self._publish(
            operator_pb.Event(
                position=stored.position,
                channel_id=stored.channel.channel_id,
                message=operator_pb.MessageEvent(direction=direction, envelope=stored.signed),
            )
        )
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

    # -- what operators watch (OperatorService.WatchEvents)

    def watch(self) -> asyncio.Queue[operator_pb.Event]:
        """A queue of every event from now on; give it back with `unwatch`."""
        queue: asyncio.Queue[operator_pb.Event] = asyncio.Queue()
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[operator_pb.Event]) -> None:
        self._watchers.discard(queue)

    def _publish(self, event: operator_pb.Event) -> None:
        event.time.FromDatetime(self.clock())
        for queue in self._watchers:
            queue.put_nowait(event)

    def alert(self, kind: operator_pb.AlertKind.ValueType, text: str, subject: str, channel: ChannelState) -> None:
        """Tell the operators (DCF-GEN-012): logged, kept, and streamed to every watcher."""
        log.warning("%s: %s: %s", self.party, operator_pb.AlertKind.Name(kind), text)
        event = operator_pb.Event(
            channel_id=channel.channel_id, alert=operator_pb.Alert(kind=kind, text=text, subject_id=subject)
        )
        self.alerts.append(event)
        self._publish(event)

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

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def changed(self) -> None:
        """Wait until a message is stored."""
        async with self._changed:
            await self._changed.wait()

    async def changed_within(self, seconds: float) -> None:
        """Wait until a message is stored, or `seconds` at most.

        asyncio.timeout rather than asyncio.wait_for: on Python 3.11 wait_for can swallow a cancellation that
        races with its result, and a task that ignores its cancellation never lets the node stop.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.changed()

    def _index(self, envelope: Envelope) -> IndexedNotice | None:
        """Keep the conflict index current; the notice filed, prepared once for the index and the check."""
        notice = _filed_notice(envelope)
        if notice is not None:
            prepared = IndexedNotice.from_notice(
                notice, channel_id=envelope.channel_id, exercise=envelope.mode == Mode.EXERCISE
            )
            self.conflicts.put_indexed(prepared)
            return prepared
        if envelope.cancellation is not None:
            self.conflicts.remove(envelope.sender, envelope.cancellation.notice_id)
        return None

    # -- the response policy (DCF-RSP spec: automatic ROGER / UNABLE, or STANDBY for an operator)

    def _answer_automatically(self, stored: Stored, prepared: IndexedNotice | None) -> None:
        envelope = stored.envelope
        notice = _filed_notice(envelope)
        if notice is None or prepared is None:
            return
        channel = stored.channel
        if stored.facts.late:
            self.alert(
                operator_pb.ALERT_KIND_LATE_NOTICE,
                f"{notice.notice_id} v{notice.version} arrived with less than the agreed lead time",
                notice.notice_id,
                channel,
            )
        if self.config.policy == ResponsePolicy.OPERATOR:
            response = OperationalResponse(
                notice_id=notice.notice_id, notice_version=notice.version, kind=ResponseKind.STANDBY
            )
            # The operator decides, with what the conflict engine found in front of them.
            assessed = self.assess(channel, notice, envelope.mode, prepared)
            if UnableReason.UNKNOWN_REFERENCE in assessed.reasons:
                response = assessed  # a reference the agreement lacks is answered at once (DCF-RSP-029, DCF-RSP-028)
            elif assessed.kind == ResponseKind.UNABLE:
                named = ", ".join(f"{c.notice_id} v{c.version} ({c.owner})" for c in assessed.conflicts)
                self.alert(
                    operator_pb.ALERT_KIND_CONFLICT,
                    f"{notice.notice_id} v{notice.version} conflicts with {named or 'notices on another channel'}",
                    notice.notice_id,
                    channel,
                )
        else:
            response = self.assess(channel, notice, envelope.mode, prepared)
        if Fault.MERGED_ACKNOWLEDGEMENTS in self.faults:
            return  # the faulty variant lets the logical acknowledgement stand for the answer
        self.originate(channel, "response", response, in_reply_to=envelope.message_id, mode=envelope.mode)

    def assess(
        self, channel: ChannelState, notice: FlightNotice, mode: Mode, prepared: IndexedNotice | None = None
    ) -> OperationalResponse:
        """ROGER when the notice is clear of every other party's notices, UNABLE with the conflicts otherwise."""
        agreement = channel.agreement.model
        separation = agreement.separation
        if Fault.IGNORE_SEPARATION in self.faults:
            separation = SeparationMinima(lateral_m=0.0, vertical_m=0.0, time=timedelta(0))
        found = self.conflicts.conflicts(
            prepared or notice, separation, agreement.priority_rules, exercise=mode == Mode.EXERCISE
        )
        unknown = _unknown_reference(channel, notice)
        if not found and not unknown:
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
        return OperationalResponse(
            notice_id=notice.notice_id,
            notice_version=notice.version,
            kind=ResponseKind.UNABLE,
            reasons=([UnableReason.CONFLICT] if found else []) + ([UnableReason.UNKNOWN_REFERENCE] if unknown else []),
            offending_field=unknown,
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


def _unknown_reference(channel: ChannelState, notice: FlightNotice) -> str:
    """The path of the first reference the agreement does not have, a frequency before the contact; '' if none
    (DCF-RSP-028)."""
    agreement = channel.agreement.model
    known = {frequency.frequency_id for frequency in agreement.frequencies}
    for index, frequency_id in enumerate(notice.frequency_ids):
        if frequency_id not in known:
            return f"frequency_ids[{index}]"
    if notice.contact_id and notice.contact_id not in {contact.contact_id for contact in agreement.contacts}:
        return "contact_id"
    return ""


def _filed_notice(envelope: Envelope) -> FlightNotice | None:
    if envelope.notice is not None:
        return envelope.notice
    if envelope.amendment is not None:
        return envelope.amendment.notice
    return None
