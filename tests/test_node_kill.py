"""A node killed with SIGKILL in the middle of a stream of notices (BRIEF section 8; DCF-ENV-031, DCF-ENV-023).

The node runs as a real process (tests/serve_node.py) on a journal in tmp_path. The test, as its peer, says Hello
and files one notice after another; at a chosen moment the process is killed with SIGKILL, whatever is in
flight, and started again on the same journal. Every notice whose acknowledgement reached the test must be in
the journal and in the restarted node's ledger, none twice, and the test carries on with the next sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from deconflict.client import Delivery, PeerClient, RetryPolicy
from deconflict.journal.base import Direction
from deconflict.models.notice import FlightNotice
from deconflict.v1 import envelope_pb2
from tests.nodes import CHANNEL, RU, US, PeerSide, sortie, stored_envelopes, write_configs

ROOT = Path(__file__).resolve().parent.parent
SERVE = Path(__file__).resolve().parent / "serve_node.py"
# Fail fast rather than retry for half a minute: the test knows when the node is dead.
QUICK = RetryPolicy(attempt_timeout=5.0, overall_timeout=5.0)


@asynccontextmanager
async def node_process(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The node of `config` as a child process, once it listens; stopped (SIGTERM, then SIGKILL) at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVE),
        str(config),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.startswith(b"listening "), line
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


def notice(number: int) -> FlightNotice:
    # Spread out, so that every one is clear of the others whatever the node's conflict check says.
    return sortie(f"{US}/stream-{number:03d}", owner=US, latitude=20.0 + (number % 100) * 0.3)


async def stream_until_killed(
    peer: PeerSide, process: asyncio.subprocess.Process, kill_after: int, into_the_next: float
) -> tuple[list[tuple[envelope_pb2.SignedPayload, Delivery]], envelope_pb2.SignedPayload | None]:
    """File notices one after another; SIGKILL the node once `kill_after` are acknowledged, mid-stream.

    The kill comes `into_the_next` of a mean round trip after the next notice was sent: at 0 it usually finds
    the notice not yet stored, later it may find it stored and its acknowledgement on the way. Returns what was
    acknowledged (signed bytes and acknowledgement), and the message in flight when the node died, if any:
    sent, its acknowledgement never received.
    """
    acknowledged: list[tuple[envelope_pb2.SignedPayload, Delivery]] = []
    in_flight: list[envelope_pb2.SignedPayload | None] = [None]
    enough = asyncio.Event()

    async def send() -> None:
        number = 1
        while True:
            signed = peer.envelope("notice", notice(number))
            in_flight[0] = signed
            delivery = await peer.deliver(signed)
            acknowledged.append((signed, delivery))
            in_flight[0] = None
            number += 1
            if len(acknowledged) >= kill_after:
                enough.set()

    loop = asyncio.get_running_loop()
    started = loop.time()
    sender = loop.create_task(send())
    waiter = loop.create_task(enough.wait())
    done, _ = await asyncio.wait({sender, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert waiter in done, f"the stream stopped early: {sender.exception() if sender in done else 'timeout'}"
    # The sender is still going: the next notice is on its way as the node dies.
    round_trip = (loop.time() - started) / len(acknowledged)
    if into_the_next:
        time.sleep(into_the_next * round_trip)  # blocking on purpose: the sender must not see its answer first
    process.send_signal(signal.SIGKILL)
    await process.wait()
    await asyncio.sleep(0.05)
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await sender
    return acknowledged, in_flight[0]


@pytest.mark.asyncio
@pytest.mark.parametrize(("kill_after", "into_the_next"), [(1, 0.0), (9, 0.5), (25, 0.9)])
async def test_sigkill_mid_stream_loses_nothing_acknowledged_and_stores_nothing_twice_dcf_env_031(
    tmp_path: Path, kill_after: int, into_the_next: float
) -> None:
    ru_config, _, port, _ = write_configs(tmp_path, peer_addresses={RU: "", US: ""})
    address = f"127.0.0.1:{port}"
    journal = tmp_path / f"{RU}.journal"

    async with node_process(ru_config) as process, PeerClient(address, retry=QUICK) as client:
        peer = PeerSide(client)
        await peer.hello()
        acknowledged, in_flight = await stream_until_killed(peer, process, kill_after, into_the_next)
    assert len(acknowledged) >= kill_after

    # What the dead node left on disk: every acknowledged notice, once, in sequence order.
    stored = stored_envelopes(journal, Direction.IN)
    stored_ids = [e.notice.notice_id for e in stored if e.notice is not None]
    acknowledged_ids = [f"{US}/stream-{n:03d}" for n in range(1, len(acknowledged) + 1)]
    assert stored_ids[: len(acknowledged)] == acknowledged_ids
    assert len(stored_ids) == len(set(stored_ids))
    assert [e.sequence for e in stored] == list(range(1, len(stored) + 1))
    # At most the message in flight was stored besides, never acknowledged to us.
    assert len(stored) - len(acknowledged) in ((0, 1) if in_flight is not None else (0,))

    async with node_process(ru_config), PeerClient(address, retry=QUICK) as client:
        peer = PeerSide(client)
        await peer.hello()  # a restarted node asks for Hello again (DCF-HEL-008)
        # The restarted node's ledger holds each acknowledged notice once.
        records = (await client.list_notices(CHANNEL, owner=US, page_size=1000)).records
        listed = [r.notice.notice_id for r in records]
        assert listed == stored_ids
        # An acknowledged message sent again gets the same acknowledgement, byte for byte (DCF-ENV-023).
        signed, delivery = acknowledged[-1]
        again = await peer.deliver(signed)
        assert again.signed.SerializeToString() == delivery.signed.SerializeToString()
        # The one in flight, sent again with the same bytes: stored now, or acknowledged as the duplicate it is.
        peer.sequence = len(acknowledged) + 1
        if in_flight is not None:
            retried = await peer.deliver(in_flight)
            assert retried.acknowledgement.message_sequence == len(acknowledged) + 1
        # And the stream carries on with the next sequence.
        expected = len(acknowledged) + (1 if in_flight is not None else 0) + 1
        following = await peer.notice(notice(500))
        assert following.acknowledgement.message_sequence == expected
        records = (await client.list_notices(CHANNEL, owner=US, page_size=1000)).records
        listed = [r.notice.notice_id for r in records]
        assert len(listed) == len(set(listed))
        assert listed[: len(acknowledged)] == acknowledged_ids
        assert listed[-1] == f"{US}/stream-500"
