"""The sender's outbox when the peer answers one of its messages without acknowledging it (docs/spec/02-envelope.md
2.5): an acknowledgement of something else.

Two real nodes: us-dod's acknowledgements are spoiled for a while by the test (a faulty peer).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from deconflict.bridge.envelope import (
    decode_envelope,
    open_acknowledgement,
    seal_acknowledgement,
    signed_payload_to_proto,
)
from deconflict.client import OperatorClient
from deconflict.client.peer import Delivery, PeerClient
from deconflict.journal.base import Direction, Entry
from deconflict.models.envelope import Mode
from deconflict.models.response import DialogueState
from deconflict.node.link import WRITES
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    alerts,
    journal_entries,
    operator_events,
    sortie,
    two_nodes,
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
            return signed_payload_to_proto(seal_acknowledgement(wrong))

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
