"""A node's link to its peer between real nodes (docs/spec/08-channel.md 8.2, 8.3): the answer to its Hello
checked as the peer checks a Hello, liveness from every request of the peer, and heartbeats that start a Watch.

Where the peer must break a rule for the node to show what it does about it, the peer is a real node with one
behaviour replaced (a Hello answered without any check), or the test plays it by hand (PeerSide).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from deconflict.bridge.channel import hello_to_proto
from deconflict.client import OperatorClient
from deconflict.journal.base import Direction
from deconflict.models.channel import Hello, Liveness, VersionRange
from deconflict.models.envelope import Mode
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer
from deconflict.node.services.channel import ChannelService
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import channel_service_pb2 as channel_service_pb
from tests.nodes import (
    AGREEMENT,
    CHANNEL,
    RU,
    US,
    alerts,
    journal_entries,
    notice_view,
    operator_events,
    sortie,
    status_of,
    two_nodes,
)
from tests.test_node import until


def liveness(server: NodeServer) -> Liveness:
    return server.node.ledger.channels[CHANNEL].liveness


def stored_in(server: NodeServer) -> list[str]:
    """The message ids of the envelopes a node stored from its peer, in journal order."""
    entries = journal_entries(server.node.loaded.journal_path)
    return [e.record.message_id for e in entries if e.record.direction == Direction.IN]


# -- DCF-HEL-010: the caller checks the answer to its Hello ----------------------------------------------------------


def careless_hello(monkeypatch: pytest.MonkeyPatch, versions: VersionRange | None = None) -> list[float]:
    """us-dod answers every Hello with its own Hello, checking neither the caller's versions nor its agreement
    hash, which DCF-HEL-005 and DCF-HEL-006 forbid; with `versions`, it speaks those versions only (in its Hello
    and its answers). The times it answered."""
    answered: list[float] = []
    original_hello, original_own = ChannelService.Hello, ChannelService.node_hello

    def own(self: ChannelService, channel_id: str) -> Hello:
        hello = original_own(self, channel_id)
        if self.node.party != US or versions is None:
            return hello
        return hello.model_copy(update={"supported_versions": versions})

    async def hello(self: ChannelService, request: Any, context: Any) -> channel_service_pb.HelloResponse:
        if self.node.party != US:
            return await original_hello(self, request, context)
        self.node.ledger.channels[CHANNEL].greeted = True
        answered.append(time.monotonic())
        selected = versions.max_major if versions is not None else 1
        return channel_service_pb.HelloResponse(hello=hello_to_proto(self.node_hello(CHANNEL)), selected_major=selected)

    monkeypatch.setattr(ChannelService, "node_hello", own)
    monkeypatch.setattr(ChannelService, "Hello", hello)
    return answered


async def _file(address: str, notice_id: str) -> None:
    async with OperatorClient(address) as operator:
        await operator.file_notice(sortie(notice_id), mode=Mode.OPERATIONAL)


@pytest.mark.asyncio
async def test_a_hello_response_with_another_agreement_hash_stops_writes_dcf_hel_010(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = careless_hello(monkeypatch)
    # us-dod holds version 2 of the agreement: it answers ru-mod's Hello anyway, with its own hash.
    other = AGREEMENT.format(notice_timer=60, heartbeat=1).replace("version = 1", "version = 2")
    async with (
        two_nodes(tmp_path, heartbeat=1, agreement_of={US: other}) as pair,
        operator_events(pair.ru_address) as events,
    ):
        await _file(pair.ru_address, "ru-mod/hama-1")
        await until(lambda: len(answered) >= 3, timeout=10)
        # ru-mod wrote nothing: us-dod, which would take anything after its careless Hello, stored nothing.
        assert stored_in(pair.us) == []
        assert (await status_of(pair.ru_address)).channel.unacknowledged == 1
        # Told once, though the Hello was answered three times: both hashes, in full.
        (alert,) = alerts(events, operator_pb.ALERT_KIND_REFUSED)
        assert "DCF-HEL-010" in alert.text
        for server in (pair.ru, pair.us):
            assert server.node.ledger.channels[CHANNEL].agreement.sha256.hex() in alert.text
        # us-dod loads the agreement ru-mod holds: the next Hello agrees, and the notice is delivered.
        await pair.us.stop(grace=0)
        config = tmp_path / f"{US}.toml"
        config.write_text(config.read_text().replace(f"{US}.agreement.toml", "agreement.toml"))
        pair.us = NodeServer(load_config(config))
        await pair.us.start()
        await until(lambda: (RU, "ru-mod/hama-1") in notice_view(pair.us), timeout=10)
        assert len(alerts(events, operator_pb.ALERT_KIND_REFUSED)) == 1


@pytest.mark.asyncio
async def test_a_hello_response_with_no_common_version_stops_writes_dcf_hel_010(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = careless_hello(monkeypatch, VersionRange(min_major=2, max_major=3))
    async with two_nodes(tmp_path, heartbeat=1) as pair, operator_events(pair.ru_address) as events:
        await _file(pair.ru_address, "ru-mod/hama-1")
        await until(lambda: len(answered) >= 2, timeout=10)
        await asyncio.sleep(1.5)  # a heartbeat interval and more: not even a heartbeat is sent
        assert stored_in(pair.us) == []
        assert pair.us.node.ledger.channels[CHANNEL].peer_last_sequence_sent == 0
        (alert,) = alerts(events, operator_pb.ALERT_KIND_REFUSED)
        assert "VERSION_MISMATCH" in alert.text
        assert "2 to 3" in alert.text
