"""Intake: everything between a write's signed bytes and its logical acknowledgement (DCF-ENV-015).

The checks run in the spec's order and the first that fails answers; a refused
message changes nothing (DCF-ENV-033). An accepted one is applied to the ledger
and handed to the journal in the same synchronous step, so messages are stored
in the order they were accepted, each followed by the acknowledgement signed for
it (ACK_OUT, DCF-JNL-001); the acknowledgement leaves once both are durable
(DCF-ENV-031): store durably first, acknowledge second.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import grpc
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge.envelope import (
    PayloadError,
    checked_payload,
    decode_envelope,
    envelope_data,
    envelope_header_data,
)
from deconflict.journal.base import Direction, Journal, JournalUnavailableError, Record
from deconflict.models.envelope import ENVELOPE_TYPE, Envelope, EnvelopeHeader
from deconflict.models.errors import SequenceGap
from deconflict.node.acknowledgement import ACKNOWLEDGEMENT_KIND, build_acknowledgement, encode_facts
from deconflict.node.faults import STORE_DELAY_S, Fault
from deconflict.node.ledger import ChannelState, Facts, Ledger
from deconflict.rpc.refusal import Refusal
from deconflict.security.signing import SIGNATURE_BYTES, BadSignatureError, Signer, Verified, Verifier
from deconflict.v1 import envelope_pb2


@dataclass(slots=True)
class Inbound:
    """A message received and accepted: enough to answer its duplicates with the same acknowledgement."""

    sha256: bytes
    sequence: int
    facts: Facts
    stored_time: datetime
    # Resolved once the message and its acknowledgement are durable (the journal commits in order).
    durable: asyncio.Future[int]
    index: int  # in the channel's journal: the acknowledgement's journal_position (DCF-JNL-005)
    # The acknowledgement's SignedPayload as journaled (ACK_OUT): bytes, parsed again only for a duplicate. None
    # for a message replayed from a journal written before acknowledgements were: built again from the facts.
    acknowledgement: bytes | None


@dataclass(frozen=True, slots=True)
class Stored:
    """A message now durable in the journal, for whatever the node does next (responses, watchers)."""

    channel: ChannelState
    envelope: Envelope
    signed: envelope_pb2.SignedPayload
    facts: Facts
    position: int
    direction: Direction


StoredListener = Callable[[Stored], None]
# This node's acknowledgement of a message, once durable (ACK_OUT): the channel, the SignedPayload, its position.
AcknowledgedListener = Callable[[ChannelState, envelope_pb2.SignedPayload, int], None]


class Intake:
    """Checks, stores and acknowledges the envelopes a node receives."""

    def __init__(
        self,
        ledger: Ledger,
        journal: Journal,
        clock: Callable[[], datetime],
        on_stored: StoredListener,
        on_storage_failure: Callable[[BaseException], None],
        signer: Signer,
        verifier: Verifier,
        faults: frozenset[Fault] = frozenset(),
        on_acknowledged: AcknowledgedListener | None = None,
    ) -> None:
        self._ledger = ledger
        self._signer = signer
        self._verifier = verifier
        self._journal = journal
        self._clock = clock
        self._on_stored = on_stored
        self._on_storage_failure = on_storage_failure
        self._on_acknowledged = on_acknowledged
        self._faults = faults  # deliberately faulty variants, for conformance testing only
        self.inbound: dict[str, dict[str, Inbound]] = {channel_id: {} for channel_id in ledger.channels}

    async def receive(
        self, signed: envelope_pb2.SignedPayload, bodies: Collection[str], peer: str | None, *, fetched: bool = False
    ) -> envelope_pb2.SignedPayload:
        """Check, store and acknowledge one envelope; raises Refusal."""
        return await self.admit(signed, bodies, peer, fetched=fetched)

    def admit(
        self, signed: envelope_pb2.SignedPayload, bodies: Collection[str], peer: str | None, *, fetched: bool = False
    ) -> Awaitable[envelope_pb2.SignedPayload]:
        """Check and enqueue one envelope synchronously (streams keep their order this way); the awaitable
        resolves to its acknowledgement once it is durable.

        `fetched`: this node fetched the envelope from the peer with Watch (DCF-STR-005, DCF-CHK-006), over a
        connection on which it said Hello and the peer answered with its own Hello: that stands for the peer's
        Hello at stage (6), which a peer that never calls this node would otherwise never give.
        """
        now = self._clock()
        # (1), (2): size, decoding and payload type, before anything is parsed from the payload.
        try:
            payload = checked_payload(signed, ENVELOPE_TYPE, "envelope")
            _check_signature_list(signed)
        except PayloadError as error:
            raise Refusal.invalid([(error.field, error.description)]) from None
        if Fault.SKIP_SENDER_CHECK in self._faults:
            peer = None  # the faulty variant (node/faults.py): the sender is whoever the envelope names
        verified = self._verified(signed, peer, now)  # (3)
        try:
            message = decode_envelope(payload)  # (4)
        except PayloadError as error:
            raise Refusal.invalid([(error.field, error.description)]) from None
        try:
            header = EnvelopeHeader.model_validate(envelope_header_data(message))
        except ValidationError as error:
            raise Refusal.from_validation(error, "") from None
        channel = self._channel(header, peer)  # (5)
        try:  # the key that verified is the sender's on this channel (DCF-SEC-008, DCF-SEC-015)
            Verifier.check_channel(verified, header.sender, channel.channel_id)
        except BadSignatureError as error:
            raise Refusal.unauthenticated(str(error)) from None
        channel.hear()  # the peer's request, or its node's answer to our Watch (DCF-HBT-006)
        if not channel.greeted and not fetched:  # (6)
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"say Hello on channel {channel.channel_id} first",
                reason="HELLO_REQUIRED",
            )
        sha256 = hashlib.sha256(payload).digest()
        seen = self.inbound[channel.channel_id].get(header.message_id)
        if seen is not None:  # (7): the same message gets the same acknowledgement
            if seen.sha256 != sha256:
                raise Refusal(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"message {header.message_id} was stored with other content",
                    reason="MESSAGE_ID_REUSED",
                )
            return self._acknowledge(channel, header.message_id, header.sender, seen)  # no entry (DCF-JNL-001)
        skew = abs(header.created_time - now)  # (8)
        tolerance = channel.agreement.model.clock_skew_tolerance
        if skew > tolerance:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                # DCF-ENV-025: the status message names the receiver's time and the tolerance.
                f"created_time {header.created_time.isoformat()} is {skew.total_seconds():.1f} s from this node's "
                f"clock, {now.isoformat()}; the agreement allows {tolerance.total_seconds():.1f} s",
                reason="CLOCK_SKEW",
            )
        if Fault.SKIP_SEQUENCE_CHECK not in self._faults:
            self._check_sequence(channel, header.sequence)  # (9)
        if header.body not in bodies:  # (10)
            raise Refusal.invalid([("body", f"this method takes {' or '.join(sorted(bodies))}, not {header.body}")])
        try:
            envelope = Envelope.model_validate(envelope_data(message))  # (11)
        except ValidationError as error:
            raise Refusal.from_validation(error, "") from None
        facts = self._ledger.check(channel, envelope, now)  # (12)
        if not self._signer.can_sign(channel.channel_id, now):
            # Stored, it could not be acknowledged with a valid signature (DCF-SEC-011, DCF-SEC-013).
            raise Refusal(
                grpc.StatusCode.UNAVAILABLE,
                f"this node holds no signing key valid now on channel {channel.channel_id}; send it again later",
            )
        record = Record(
            channel_id=channel.channel_id,
            direction=Direction.IN,
            message_id=envelope.message_id,
            sender=envelope.sender,
            sequence=envelope.sequence,
            kind=header.body or "",
            payload=signed.SerializeToString(),
            stored_time=now,
            meta=encode_facts(facts),
        )

        def stored(done: asyncio.Future[int]) -> None:
            self._stored(done, channel, envelope, signed, facts)

        # The message's entry takes the channel's next index, which its acknowledgement names (DCF-JNL-005).
        index = self._journal.channel_size(channel.channel_id)
        acknowledgement = build_acknowledgement(
            channel_id=channel.channel_id,
            party=self._ledger.party,
            message_id=envelope.message_id,
            sender=envelope.sender,
            sequence=envelope.sequence,
            payload_sha256=sha256,
            position=index,
            stored_time=now,
            facts=facts,
            signer=self._signer,
            now=now,
        )
        acknowledgement_bytes = acknowledgement.SerializeToString()
        acknowledgement_record = Record(
            channel_id=channel.channel_id,
            direction=Direction.ACK_OUT,
            message_id=envelope.message_id,
            sender=self._ledger.party,
            sequence=envelope.sequence,
            kind=ACKNOWLEDGEMENT_KIND,
            payload=acknowledgement_bytes,
            stored_time=now,
        )

        def acknowledged(done: asyncio.Future[int]) -> None:
            self._acknowledgement_stored(done, channel, acknowledgement)

        if Fault.ACK_BEFORE_STORE in self._faults:
            durable = self._store_later(record, acknowledgement_record, stored, acknowledged)
        else:
            # (13): enqueue and apply in one synchronous step; nothing else runs in between. The journal takes
            # the record first: it refuses a malformed one before the ledger has changed. The acknowledgement
            # right behind it, in the same commit: journaled before it is sent (DCF-JNL-001).
            position = self._journal.append(record)
            position.add_done_callback(stored)
            durable = self._journal.append(acknowledgement_record)
            durable.add_done_callback(acknowledged)
        self._ledger.apply(channel, envelope, facts, now)
        inbound = Inbound(
            sha256=sha256,
            sequence=envelope.sequence,
            facts=facts,
            stored_time=now,
            durable=durable,
            index=index,
            acknowledgement=acknowledgement_bytes,
        )
        self.inbound[channel.channel_id][envelope.message_id] = inbound
        return self._acknowledge(channel, envelope.message_id, envelope.sender, inbound, acknowledgement)

    def _verified(self, signed: envelope_pb2.SignedPayload, peer: str | None, now: datetime) -> Verified:
        """(3) The signatures over the exact bytes received, before they are parsed (DCF-SEC-008, DCF-ENV-018)."""
        if Fault.SKIP_SIGNATURE_CHECK in self._faults:
            return ()
        try:
            return self._verifier.verify(signed, peer, now)
        except BadSignatureError as error:
            raise Refusal.unauthenticated(str(error)) from None

    def _store_later(
        self,
        record: Record,
        acknowledgement: Record,
        stored: Callable[[asyncio.Future[int]], None],
        acknowledged: Callable[[asyncio.Future[int]], None],
    ) -> asyncio.Future[int]:
        """The ACK_BEFORE_STORE variant: resolved at once so the acknowledgement leaves now; the record and its
        acknowledgement are stored STORE_DELAY_S later. What the specification forbids."""
        loop = asyncio.get_running_loop()
        predicted: asyncio.Future[int] = loop.create_future()
        predicted.set_result(self._journal.size)

        def store() -> None:
            self._journal.append(record).add_done_callback(stored)
            self._journal.append(acknowledgement).add_done_callback(acknowledged)

        loop.call_later(STORE_DELAY_S, store)
        return predicted

    def remember(
        self, channel_id: str, envelope: Envelope, sha256: bytes, facts: Facts, index: int, stored_time: datetime
    ) -> None:
        """Record a message replayed from the journal, so its duplicates are answered as before (DCF-ENV-023);
        `index`: its place in the channel's journal. Its acknowledgement follows it, in `remember_acknowledgement`
        (a journal written before acknowledgements were journaled has none)."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(index)
        self.inbound[channel_id][envelope.message_id] = Inbound(
            sha256=sha256,
            sequence=envelope.sequence,
            facts=facts,
            stored_time=stored_time,
            durable=done,
            index=index,
            acknowledgement=None,
        )

    def remember_acknowledgement(self, channel_id: str, message_id: str, payload: bytes) -> None:
        """The acknowledgement a replayed message was answered with (ACK_OUT), for its duplicates: the same bytes
        after a restart, whatever keys are valid now (DCF-ENV-023)."""
        inbound = self.inbound[channel_id].get(message_id)
        if inbound is not None:
            inbound.acknowledgement = payload

    def _channel(self, header: EnvelopeHeader, peer: str | None) -> ChannelState:
        channel = self._ledger.channels.get(header.channel_id)
        if channel is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"this node serves no channel {header.channel_id}")
        if header.recipient != self._ledger.party:
            raise Refusal.invalid([("recipient", f"this node is {self._ledger.party}, not {header.recipient}")])
        if header.sender != channel.peer or (peer is not None and peer != header.sender):
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"sender {header.sender} is not the peer of channel {channel.channel_id}",
                reason="NOT_PEER",
            )
        return channel

    @staticmethod
    def _check_sequence(channel: ChannelState, sequence: int) -> None:
        if sequence < channel.next_in:
            raise Refusal(
                grpc.StatusCode.ALREADY_EXISTS,
                f"sequence {sequence} was already used by another message; the next is {channel.next_in}",
                reason="SEQUENCE_REPLAYED",
            )
        if sequence > channel.next_in:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"sequence {sequence} skips ahead: the next expected is {channel.next_in}",
                reason="SEQUENCE_GAP",
                sequence_gap=SequenceGap(expected=channel.next_in, received=sequence),
            )

    async def _acknowledge(
        self,
        channel: ChannelState,
        message_id: str,
        sender: str,
        inbound: Inbound,
        signed: envelope_pb2.SignedPayload | None = None,
    ) -> envelope_pb2.SignedPayload:
        """The acknowledgement once the message and it are durable: `signed` when just built, else the journaled
        one."""
        try:
            await asyncio.shield(inbound.durable)
        except JournalUnavailableError:
            raise Refusal(
                grpc.StatusCode.UNAVAILABLE,
                "this node cannot store now; send the same message again later",
                reason="STORAGE_UNAVAILABLE",
            ) from None
        if signed is not None:
            return signed
        if inbound.acknowledgement is not None:
            return envelope_pb2.SignedPayload.FromString(inbound.acknowledgement)
        return build_acknowledgement(
            channel_id=channel.channel_id,
            party=self._ledger.party,
            message_id=message_id,
            sender=sender,
            sequence=inbound.sequence,
            payload_sha256=inbound.sha256,
            position=inbound.index,
            stored_time=inbound.stored_time,
            facts=inbound.facts,
            signer=self._signer,
            now=self._clock(),
        )

    def _stored(
        self,
        done: asyncio.Future[int],
        channel: ChannelState,
        envelope: Envelope,
        signed: envelope_pb2.SignedPayload,
        facts: Facts,
    ) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            # The ledger already holds a message the journal does not: stop before acting on it.
            self._on_storage_failure(error)
            return
        self._on_stored(Stored(channel, envelope, signed, facts, done.result(), Direction.IN))

    def _acknowledgement_stored(
        self, done: asyncio.Future[int], channel: ChannelState, signed: envelope_pb2.SignedPayload
    ) -> None:
        # A failure is the message's too, and reported with it (_stored).
        if self._on_acknowledged is None or done.cancelled() or done.exception() is not None:
            return
        self._on_acknowledged(channel, signed, done.result())


_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")


def _check_signature_list(signed: envelope_pb2.SignedPayload) -> None:
    """The form of the signature list, before any is verified (DCF-SEC-010, DCF-LIM-023, DCF-LIM-002)."""
    if len(signed.signatures) > limits.MAX_SIGNATURES:
        raise PayloadError("envelope.signatures", f"must hold at most {limits.MAX_SIGNATURES} signatures")
    seen: dict[str, int] = {}
    for index, signature in enumerate(signed.signatures):
        key_id = signature.key_id
        if len(key_id) > limits.MAX_IDENTIFIER or not _KEY_ID.fullmatch(key_id):
            raise PayloadError(f"envelope.signatures[{index}].key_id", "must be an identifier")
        if key_id in seen:
            raise PayloadError(
                f"envelope.signatures[{index}].key_id", f"repeats the key_id of envelope.signatures[{seen[key_id]}]"
            )
        seen[key_id] = index
        if len(signature.signature) != SIGNATURE_BYTES:
            raise PayloadError(f"envelope.signatures[{index}].signature", f"must be {SIGNATURE_BYTES} bytes")
