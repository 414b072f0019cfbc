"""The sender's outbox when the peer answers one of its messages without acknowledging it (docs/spec/02-envelope.md
2.4, 2.5): an acknowledgement of something else, a refusal for clock skew.

Two real nodes: us-dod's acknowledgements are spoiled for a while by the test (a faulty peer), and ru-mod's clock is
set off by the test (a node whose clock is wrong, or a message that waited in the outbox), so that the refusals are
the peer's own rules at work.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.bridge.envelope import (
    decode_envelope,
    open_acknowledgement,
    open_envelope,
    seal_acknowledgement,
    signed_payload_to_proto,
)
from deconflict.client import OperatorClient
from deconflict.client.peer import Delivery, PeerClient
from deconflict.journal.base import Direction, Entry
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.response import DialogueState
from deconflict.node.link import WRITES
from deconflict.node.node import utc_now
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    ProxiedPair,
    alerts,
    journal_entries,
    operator_events,
    restart,
    sortie,
    two_nodes,
    two_nodes_via_proxies,
)
from tests.test_node import until

NOTICE = "ru-mod/hama-1"

# An acknowledgement that names something else than the message sent, field by field (DCF-ENV-034).
WRONG: dict[str, Any] = {
    "message_id": "another-message",
    "message_sender": US,
    "message_sequence": 7,
    "channel_id": "another-channel",
    "payload_sha256": hashlib.sha256(b"other bytes").digest(),
}


def journal(server: NodeServer, direction: Direction) -> list[Entry]:
    return [e for e in journal_entries(server.node.loaded.journal_path) if e.record.direction == direction]


async def file(address: str) -> str:
    """ru-mod's operator files the notice; the message id it was first sent with."""
    async with OperatorClient(address) as operator:
        return (await operator.file_notice(sortie(NOTICE), mode=Mode.OPERATIONAL)).sent[0].message_id


def dialogue_of(server: NodeServer) -> tuple[str, DialogueState]:
    """The message id ru-mod's notice awaits its answer to, and the dialogue's state, as a node holds them."""
    entry = server.node.ledger.notice(RU, NOTICE)
    assert entry is not None
    dialogue = entry.dialogues[CHANNEL]
    return dialogue.message_id, dialogue.state


# -- DCF-ENV-034 ----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("field", sorted(WRONG))
async def test_an_acknowledgement_of_something_else_leaves_the_message_unacknowledged_dcf_env_034(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    async with two_nodes(tmp_path) as pair, operator_events(pair.ru_address) as events:
        channel = pair.ru.node.ledger.channels[CHANNEL]
        # When ru-mod's outbox sent its notice, first and again, and how many of its messages were acknowledged then.
        attempts: list[tuple[float, int]] = []
        submit = WRITES["notice"]

        async def timed(peer: PeerClient, signed: envelope_pb2.SignedPayload) -> Delivery:
            if decode_envelope(signed.payload).sender == RU:
                attempts.append((time.monotonic(), channel.acknowledged))
            return await submit(peer, signed)

        monkeypatch.setitem(WRITES, "notice", timed)
        # us-dod acknowledges the first two attempts wrongly.
        intake = pair.us.node.intake
        original = intake._acknowledge

        async def spoiled(*args: Any) -> envelope_pb2.SignedPayload:
            signed = await original(*args)
            if len(attempts) > 2:
                return signed
            wrong = open_acknowledgement(signed).model_copy(update={field: WRONG[field]})
            # Signed by us-dod, so that what is wrong is the field, not the signature (DCF-SEC-011).
            return pair.us.node.signer.sign(CHANNEL, signed_payload_to_proto(seal_acknowledgement(wrong)), utc_now())

        monkeypatch.setattr(intake, "_acknowledge", spoiled)
        sent = await file(pair.ru_address)
        await until(lambda: channel.acknowledged == 1, timeout=10)
        # Not counted as received until the right acknowledgement came: sent three times, unacknowledged each time.
        assert [acknowledged for _, acknowledged in attempts] == [0, 0, 0]
        (kept,) = journal(pair.ru, Direction.ACK_IN)
        acknowledgement = open_acknowledgement(envelope_pb2.SignedPayload.FromString(kept.record.payload))
        assert acknowledgement.message_id == sent
        assert getattr(acknowledgement, field) != WRONG[field]
        # One alert naming the field, though two acknowledgements were wrong alike.
        (alert,) = alerts(events, operator_pb.ALERT_KIND_REFUSED)
        assert f"has {field} " in alert.text
        assert "DCF-ENV-034" in alert.text
        # Later each time, never at once (DCF-TIM-008): the first retry within 1 s, the next about twice as late.
        times = [at for at, _ in attempts]
        assert 0.4 <= times[1] - times[0] <= 1.5
        assert 0.9 <= times[2] - times[1] <= 2.5


# -- DCF-ENV-026 ----------------------------------------------------------------------------------------------------


class Clock:
    """ru-mod's clock: the host's, set off by `offset`."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def sent_as_one(server: NodeServer) -> list[Entry]:
    """ru-mod's OUT records for sequence 1, in journal order: the message as first sent, then each re-origination."""
    return [e for e in journal(server, Direction.OUT) if e.record.sequence == 1]


def envelope_of(entry: Entry) -> Envelope:
    return open_envelope(envelope_pb2.SignedPayload.FromString(entry.record.payload))


def received(server: NodeServer) -> list[tuple[str, int, bytes]]:
    return [(e.record.message_id, e.record.sequence, e.record.payload) for e in journal(server, Direction.IN)]


def ledger_state(server: NodeServer) -> tuple[object, ...]:
    """What a restart must give back: sequences, the outbox, the notice's dialogue, what can still be taken back."""
    channel = server.node.ledger.channels[CHANNEL]
    return (
        channel.next_out,
        channel.acknowledged,
        [o.envelope.message_id for o in channel.outbox],
        len(channel.sent_positions),
        dialogue_of(server),
        sorted(server.node.ledger._pending),
    )


@pytest.mark.asyncio
async def test_a_message_refused_for_clock_skew_is_re_originated_under_a_new_id_dcf_env_026(tmp_path: Path) -> None:
    clock = Clock()
    async with (
        two_nodes_via_proxies(tmp_path, clocks={RU: clock}, notice_timer=600) as link,
        operator_events(link.pair.ru_address) as events,
    ):
        pair = link.pair
        link.cut()
        # Filed a minute before it can be delivered: its created_time is outside us-dod's 30 s tolerance.
        clock.offset = timedelta(seconds=-60)
        first = await file(pair.ru_address)
        clock.offset = timedelta(0)
        link.restore()
        await until(lambda: len(received(pair.us)) == 1, timeout=10)
        original, again = sent_as_one(pair.ru)
        assert original.record.message_id == first
        # The same body and sequence, a new id and created_time, signed afresh and stored before us-dod got it.
        (stored,) = received(pair.us)
        assert stored == (again.record.message_id, 1, again.record.payload)
        assert again.record.message_id != first
        assert again.position > original.position
        old, new = envelope_of(original), envelope_of(again)
        assert new.created_time - old.created_time >= timedelta(seconds=59)
        assert new.model_copy(update={"message_id": first, "created_time": old.created_time}) == old
        # The ledger follows: us-dod's ROGER replies to the new id, and ru-mod takes it as the answer.
        await until(lambda: dialogue_of(pair.ru) == (again.record.message_id, DialogueState.ANSWERED), timeout=10)
        await until(lambda: not pair.ru.node.ledger.channels[CHANNEL].outbox, timeout=5)
        # Mended by one fresh message: nothing for the operator to do.
        assert alerts(events, operator_pb.ALERT_KIND_REFUSED) == []
        # Restarted, ru-mod replays the re-origination: the same state, and nothing sent again.
        before = ledger_state(pair.ru)
        pair.ru = await restart(pair.ru)
        assert ledger_state(pair.ru) == before
        await asyncio.sleep(1.5)
        assert len(received(pair.us)) == 1


@pytest.mark.asyncio
async def test_a_peer_whose_clock_is_far_off_gets_a_fresh_message_later_each_time_and_one_alert_dcf_env_026(
    tmp_path: Path,
) -> None:
    clock = Clock()
    clock.offset = timedelta(seconds=-60)  # ru-mod's clock is a minute slow: every message it creates is refused
    async with (
        two_nodes_via_proxies(tmp_path, clocks={RU: clock}, notice_timer=600) as link,
        operator_events(link.pair.ru_address) as events,
    ):
        pair = link.pair
        await file(pair.ru_address)
        await until(lambda: len(sent_as_one(pair.ru)) >= 4, timeout=10)
        tries = sent_as_one(pair.ru)
        # Each one a new message, stored before it was sent; none stored by us-dod.
        assert len({e.record.message_id for e in tries}) == len(tries)
        assert received(pair.us) == []
        # At once after the first refusal, then later each time (DCF-TIM-008), not in a loop.
        gaps = [(b.record.stored_time - a.record.stored_time).total_seconds() for a, b in itertools.pairwise(tries)]
        assert gaps[0] < 0.5
        assert 0.4 <= gaps[1] <= 1.5
        assert 0.9 <= gaps[2] <= 2.5
        # The operator is told once.
        (alert,) = alerts(events, operator_pb.ALERT_KIND_REFUSED)
        assert "clock skew" in alert.text
        assert "DCF-ENV-026" in alert.text
        # Restarted while the clock is still off: the replay holds the latest re-origination, in the ledger too.
        pair.ru = await restart(pair.ru)
        latest = sent_as_one(pair.ru)[-1].record.message_id
        channel = pair.ru.node.ledger.channels[CHANNEL]
        assert channel.outbox[0].envelope.message_id == latest
        assert dialogue_of(pair.ru)[0] == latest
        assert (CHANNEL, latest) in pair.ru.node.ledger._pending
        # The clock is set right: the next fresh message is taken, and answered.
        clock.offset = timedelta(0)
        await until(lambda: len(received(pair.us)) == 1, timeout=40)
        taken = sent_as_one(pair.ru)[-1].record
        assert received(pair.us) == [(taken.message_id, 1, taken.payload)]
        await until(lambda: dialogue_of(pair.ru) == (taken.message_id, DialogueState.ANSWERED), timeout=10)
        await _restarts_the_same(link)


async def _restarts_the_same(link: ProxiedPair) -> None:
    """ru-mod, settled, is the same node after a restart: the journal replays every re-origination."""
    pair = link.pair
    await until(lambda: not pair.ru.node.ledger.channels[CHANNEL].outbox, timeout=5)
    before = ledger_state(pair.ru)
    pair.ru = await restart(pair.ru)
    assert ledger_state(pair.ru) == before
