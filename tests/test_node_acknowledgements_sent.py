"""A node journals every acknowledgement it sends (docs/spec/11-security.md DCF-JNL-001): right after the envelope it
acknowledges, durable with it before it leaves, as the SignedPayload sent (DCF-JNL-003), and once: a duplicate is
answered with the journaled bytes (DCF-ENV-023) and adds nothing, after a restart too. A journal written before
acknowledgements sent were journaled still replays, its acknowledgements built again as they were.

Real nodes over 127.0.0.1; the journal read from its file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deconflict.bridge.envelope import open_acknowledgement, seal_acknowledgement
from deconflict.cli.connection import stored_events
from deconflict.client.operator import OperatorClient
from deconflict.client.peer import Delivery
from deconflict.journal.base import Direction, Entry
from deconflict.journal.sqlite import SCHEMA_VERSION, open_journal
from deconflict.journal.verify import verify_journal
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    PeerSide,
    Single,
    as_schema_2,
    incident,
    journal_entries,
    one_node,
    operator_events,
    peer_of,
    restart,
    sortie,
)
from tests.test_node import until

ROOT = Path(__file__).resolve().parent.parent


async def _notices(side: PeerSide, count: int, first: int = 0) -> list[tuple[envelope_pb2.SignedPayload, Delivery]]:
    """`count` notices of the peer, as sent, each with the acknowledgement it got."""
    sent = []
    for number in range(first, first + count):
        signed = side.envelope("notice", sortie(f"{US}/sortie-{number}", owner=US, latitude=30.0 + number * 0.5))
        sent.append((signed, await side.deliver(signed)))
    return sent


def _of(entries: list[Entry], message_id: str) -> list[Entry]:
    return [entry for entry in entries if entry.record.message_id == message_id]


def _answered(single: Single, count: int) -> bool:
    """The node's automatic answers to `count` notices are stored: nothing more comes unasked."""
    outgoing = [e for e in journal_entries(single.journal_path) if e.record.direction == Direction.OUT]
    return len(outgoing) == count


@pytest.mark.asyncio
async def test_each_acknowledgement_sent_is_journaled_right_after_its_envelope_dcf_jnl_001_dcf_jnl_003_dcf_jnl_005(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as single, peer_of(single.address) as side:
        sent = await _notices(side, 3)
        # Read at once: an acknowledgement the peer holds is in the file already, with its envelope.
        entries = journal_entries(single.journal_path)
        channel = [entry.position for entry in entries if entry.record.channel_id == CHANNEL]
        for signed, delivery in sent:
            received, acknowledged = _of(entries, delivery.acknowledgement.message_id)
            assert (received.record.direction, acknowledged.record.direction) == (Direction.IN, Direction.ACK_OUT)
            assert acknowledged.position == received.position + 1  # in the same commit
            # Each entry is the SignedPayload as received or sent (DCF-JNL-003).
            assert received.record.payload == signed.SerializeToString()
            assert acknowledged.record.payload == delivery.signed.SerializeToString()
            assert (acknowledged.record.sender, acknowledged.record.sequence) == (RU, received.record.sequence)
            assert acknowledged.record.kind == "acknowledgement"
            assert acknowledged.record.stored_time == received.record.stored_time
            # The acknowledgement names its envelope's index in the channel's journal (DCF-JNL-005).
            assert channel.index(received.position) == delivery.acknowledgement.journal_position
        await until(lambda: _answered(single, 3), timeout=5)
        directions = [entry.record.direction for entry in journal_entries(single.journal_path)]
        assert directions.count(Direction.IN) == directions.count(Direction.ACK_OUT) == 3


@pytest.mark.asyncio
async def test_a_duplicate_gets_the_journaled_bytes_and_adds_nothing_after_a_restart_too_dcf_jnl_001_dcf_env_023(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as single:
        async with peer_of(single.address) as side:
            [(signed, first)] = await _notices(side, 1)
            await until(lambda: _answered(single, 1), timeout=5)
            size = len(journal_entries(single.journal_path))
            again = await side.deliver(signed)
            assert again.signed.SerializeToString() == first.signed.SerializeToString()
            assert len(journal_entries(single.journal_path)) == size
        single.server = await restart(single.server)
        # The replay restored the journaled acknowledgement itself, not one built again.
        inbound = single.server.node.intake.inbound[CHANNEL][first.acknowledgement.message_id]
        assert inbound.acknowledgement == first.signed.SerializeToString()
        async with peer_of(single.address) as side:
            after = await side.deliver(signed)
        assert after.signed.SerializeToString() == first.signed.SerializeToString()
        assert len(journal_entries(single.journal_path)) == size


@pytest.mark.asyncio
async def test_the_journal_with_acknowledgements_sent_verifies_dcf_jnl_001_dcf_jnl_013(tmp_path: Path) -> None:
    async with one_node(tmp_path) as single, peer_of(single.address) as side:
        await _notices(side, 4)
        await until(lambda: _answered(single, 4), timeout=5)
        # Read-only, beside the running node; the command line as an operator runs it.
        done = subprocess.run(
            [sys.executable, "-m", "deconflict", "journal", "verify", str(single.journal_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "verified" in done.stdout
        verification = verify_journal(single.journal_path)
        assert verification.ok
        # Its channel's tree, which the node signs checkpoints of, holds the acknowledgements too.
        (tree,) = verification.channels
        assert tree.size == 12
        # The node's own tree takes each leaf when the loop hears of the commit, a moment after the file has it.
        await until(lambda: single.server.node.trees.tree(CHANNEL).size == 12, timeout=5)


@pytest.mark.asyncio
async def test_operators_see_the_acknowledgements_their_node_sent_dcf_jnl_001(tmp_path: Path) -> None:
    async with one_node(tmp_path) as single, peer_of(single.address) as side:
        async with operator_events(single.address) as events:
            [(_, delivery)] = await _notices(side, 1)
            await until(lambda: any(event.HasField("acknowledgement") for event in events), timeout=5)
        [live] = [event for event in events if event.HasField("acknowledgement")]
        [_, journaled] = _of(journal_entries(single.journal_path), delivery.acknowledgement.message_id)
        assert live.position == journaled.position
        assert live.acknowledgement.acknowledgement == delivery.signed
        assert open_acknowledgement(live.acknowledgement.acknowledgement).acknowledging_party == RU
        await until(lambda: _answered(single, 1), timeout=5)
        async with OperatorClient(single.address) as operator:
            replayed = await stored_events(operator)
        kinds = [(event.WhichOneof("event"), event.position) for event in replayed]
        assert kinds == [("message", 0), ("acknowledgement", 1), ("message", 2)]


@pytest.mark.asyncio
async def test_a_journal_without_acknowledgements_sent_still_replays_dcf_jnl_001_dcf_env_023(tmp_path: Path) -> None:
    """A journal of the previous release (schema version 2) holds the envelopes only: the node replays it, builds
    each acknowledgement again as that release did (its journal_position the envelope's index there), answers a
    duplicate with it and journals nothing for it; what comes next is journaled with its acknowledgement."""
    (tmp_path / "node").mkdir()
    async with one_node(tmp_path / "node") as single:
        async with peer_of(single.address) as side:
            sent = await _notices(side, 2)
            await until(lambda: _answered(single, 2), timeout=5)
        # The same conversation as the previous release journaled it: every entry but the acknowledgements sent.
        old = tmp_path / "old.journal"
        written = open_journal(old)
        for entry in journal_entries(single.journal_path):
            if entry.record.direction != Direction.ACK_OUT:
                written.append(entry.record)
        await written.close()
        as_schema_2(old)
        old_entries = journal_entries(old)
        single.server = await restart(single.server, journal=old)
        assert single.server.node.ledger.channels[CHANNEL].next_in == 3
        inbound = single.server.node.intake.inbound[CHANNEL]
        assert [inbound[delivery.acknowledgement.message_id].acknowledgement for _, delivery in sent] == [None, None]
        async with peer_of(single.address) as side:
            for signed, delivery in sent:
                again = await side.deliver(signed)
                (received,) = _of(old_entries, delivery.acknowledgement.message_id)
                assert again.acknowledgement.journal_position == received.position  # one channel: the same index
                assert again.acknowledgement == delivery.acknowledgement.model_copy(
                    update={"journal_position": received.position}
                )
            assert len(journal_entries(single.journal_path)) == len(old_entries)
            rebuilt = [(await side.deliver(signed)).signed.SerializeToString() for signed, _ in sent]
            # Upgraded on opening; what the node stores from now on comes with its acknowledgement.
            [(_, later)] = await _notices(side, 1, first=2)
        with contextlib.closing(sqlite3.connect(single.journal_path)) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        received, acknowledged = _of(journal_entries(single.journal_path), later.acknowledgement.message_id)
        assert (received.record.direction, acknowledged.record.direction) == (Direction.IN, Direction.ACK_OUT)
        assert acknowledged.record.payload == later.signed.SerializeToString()
        # After one more restart the old messages' acknowledgements are built the same again.
        single.server = await restart(single.server)
        async with peer_of(single.address) as side:
            again = [(await side.deliver(signed)).signed.SerializeToString() for signed, _ in sent]
        assert again == rebuilt
        assert verify_journal(single.journal_path).ok


@pytest.mark.asyncio
async def test_an_acknowledgement_is_the_canonical_encoding_of_a_valid_model_dcf_ack_002_dcf_jnl_003(
    tmp_path: Path,
) -> None:
    """The node builds its acknowledgements as protobuf directly: each must validate as the model and encode, through
    the bridge, to the very bytes received; with a response due time (a notice) and without (an incident report)."""
    async with one_node(tmp_path) as single, peer_of(single.address) as side:
        ((_, notice),) = await _notices(side, 1)
        report = await side.deliver(side.envelope("incident_report", incident(f"{US}/incident-1")))
        for delivery, due in ((notice, True), (report, False)):
            model = open_acknowledgement(delivery.signed)
            assert (model.response_due_time is not None) is due
            assert seal_acknowledgement(model).payload == delivery.signed.payload
