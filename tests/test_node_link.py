"""A node's link to its peer between real nodes (docs/spec/08-channel.md 8.2, 8.3): the answer to its Hello
checked as the peer checks a Hello, liveness from every request of the peer, and heartbeats that start a Watch.

Where the peer must break a rule for the node to show what it does about it, the peer is a real node with one
behaviour replaced (a Hello answered without any check), or the test plays it by hand (PeerSide).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from deconflict.bridge.channel import hello_to_proto
from deconflict.client import OperatorClient
from deconflict.journal.base import Direction
from deconflict.models.channel import Checklist, Hello, Liveness, VersionRange
from deconflict.models.envelope import Mode
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer
from deconflict.node.services.channel import ChannelService
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.v1 import channel_pb2
from deconflict.v1 import channel_service_pb2 as channel_service_pb
from tests.nodes import (
    AGREEMENT,
    CHANNEL,
    RU,
    US,
    PeerSide,
    alerts,
    journal_entries,
    notice_view,
    one_node,
    operator_events,
    peer_of,
    refusal_of,
    restart,
    sortie,
    status_of,
    two_nodes,
    two_nodes_via_proxies,
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


# -- DCF-HBT-006: liveness -------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_liveness_is_unknown_until_the_peer_is_heard_then_normal_while_any_request_comes_dcf_hbt_006(
    tmp_path: Path,
) -> None:
    # ru-mod never calls its peer: all it hears are the peer's requests, and there is not one heartbeat among them.
    async with one_node(tmp_path, heartbeat=1) as node, operator_events(node.address) as events:
        await asyncio.sleep(3.5)  # longer than 3 missed heartbeats: never heard is UNKNOWN, not DOWN
        assert liveness(node.server) == Liveness.UNKNOWN
        async with peer_of(node.address) as peer:
            await until(lambda: liveness(node.server) == Liveness.NORMAL, timeout=2)
            # Reads for 4 s, more than missed_heartbeats_down x heartbeat_interval: NORMAL all along.
            for _ in range(8):
                await peer.client.list_notices(CHANNEL)
                await asyncio.sleep(0.5)
                assert liveness(node.server) == Liveness.NORMAL
            # Silent: DOWN in time, with its alert (DCF-HBT-007); a write makes it NORMAL again (DCF-HBT-008).
            await until(lambda: liveness(node.server) == Liveness.DOWN, timeout=3 + 2)
            await peer.notice(sortie("us-dod/hama-1", owner=US))
            await until(lambda: liveness(node.server) == Liveness.NORMAL, timeout=2)
        kinds = [Liveness(e.liveness.liveness) for e in events if e.HasField("liveness")]
        assert kinds == [Liveness.NORMAL, Liveness.DOWN, Liveness.NORMAL]
        assert len(alerts(events, operator_pb.ALERT_KIND_PEER_DOWN)) == 1
        assert len(alerts(events, operator_pb.ALERT_KIND_PEER_UP)) == 1


def _requests(peer: PeerSide) -> dict[str, Callable[[], Awaitable[object]]]:
    """One request of each kind the peer makes, refused ones included: each is the peer's, so each is heard.
    GetAgreement is not among them: served to any caller before Hello and naming no party, it is the peer's only
    when a certificate says so, and these nodes run without TLS."""
    client = peer.client

    def beat() -> channel_pb2.Heartbeat:
        heartbeat = channel_pb2.Heartbeat(channel_id=CHANNEL, party=US)
        heartbeat.sent_time.FromDatetime(datetime.now(UTC))
        return heartbeat

    async def first_watched() -> object:
        stream = client.watch(CHANNEL, 0)
        try:
            return await asyncio.wait_for(anext(stream), timeout=0.5)
        except TimeoutError:
            return None
        finally:
            await stream.aclose()

    async def exchange() -> object:
        async def one() -> AsyncIterator[Any]:
            yield peer.envelope("notice", sortie("us-dod/hama-2", owner=US))

        async for answer in client.exchange(one()):
            return answer
        return None

    return {
        "Hello": lambda: peer.hello(),
        "Heartbeat": lambda: client.heartbeat(beat()),
        "ExchangeChecklist": lambda: client.exchange_checklist(
            Checklist(channel_id=CHANNEL, party=US, as_of_time=datetime.now(UTC))
        ),
        "GetNotice (refused: no such notice)": lambda: refusal_of(client.get_notice(CHANNEL, "ru-mod/none")),
        "ListNotices": lambda: client.list_notices(CHANNEL),
        "GetConference (refused: no such conference)": lambda: refusal_of(client.get_conference(CHANNEL, "none")),
        "ListConferences": lambda: client.list_conferences(CHANNEL),
        "Watch": first_watched,
        "SubmitNotice": lambda: peer.notice(sortie("us-dod/hama-1", owner=US)),
        "Exchange": exchange,
    }


@pytest.mark.asyncio
async def test_every_request_of_the_peer_marks_it_heard_dcf_hbt_006(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address, greet=False) as peer:
        channel = node.server.node.ledger.channels[CHANNEL]
        # A Hello from a party that is not the peer is nobody's on this channel: nothing is heard.
        async with peer_of(node.address, greet=False, party="nato") as stranger:
            refused = await refusal_of(stranger.hello())
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED
        assert channel.last_heard is None
        for name, request in _requests(peer).items():
            channel.last_heard = None
            await request()
            assert channel.last_heard is not None, name


@pytest.mark.asyncio
async def test_a_restarted_node_holds_its_peer_unknown_until_it_hears_it_again_dcf_hbt_006(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, heartbeat=1) as pair:
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL, timeout=5)
        loaded = pair.us.node.loaded
        await pair.us.stop(grace=0)
        pair.ru = await restart(pair.ru)
        # Not heard since this node started: UNKNOWN, however long, never DOWN.
        await asyncio.sleep(3.5)
        assert liveness(pair.ru) == Liveness.UNKNOWN
        pair.us = NodeServer(loaded)
        await pair.us.start()
        await until(lambda: liveness(pair.ru) == Liveness.NORMAL, timeout=10)


# -- DCF-HBT-005: a heartbeat that says the peer sent more --------------------------------------------------------


def count_calls(monkeypatch: pytest.MonkeyPatch, method: str, *, delay: float = 0.0) -> list[float]:
    """The times us-dod was called with `method` (a ChannelService stream or unary), each answered `delay` late."""
    calls: list[float] = []
    original = getattr(ChannelService, method)

    if method == "Watch":

        async def watch(self: ChannelService, request: Any, context: Any) -> AsyncIterator[Any]:
            if self.node.party == US:
                calls.append(time.monotonic())
                await asyncio.sleep(delay)
            async for response in original(self, request, context):
                yield response

        monkeypatch.setattr(ChannelService, method, watch)
        return calls

    async def unary(self: ChannelService, request: Any, context: Any) -> Any:
        if self.node.party == US:
            calls.append(time.monotonic())
            await asyncio.sleep(delay)
        return await original(self, request, context)

    monkeypatch.setattr(ChannelService, method, unary)
    return calls


@pytest.mark.asyncio
async def test_a_heartbeat_answer_that_says_the_peer_sent_more_starts_a_watch_dcf_hbt_005(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checklists = count_calls(monkeypatch, "ExchangeChecklist")
    async with two_nodes_via_proxies(tmp_path, heartbeat=1) as link:
        pair = link.pair
        await until(lambda: liveness(pair.ru) == liveness(pair.us) == Liveness.NORMAL, timeout=5)
        # us-dod can no longer call ru-mod: its outbox cannot deliver, its heartbeats do not arrive.
        link.to_ru.cut()
        traded = len(checklists)
        async with OperatorClient(pair.us_address) as operator:
            filed = await operator.file_notice(sortie("us-dod/hama-1", owner=US), mode=Mode.OPERATIONAL)
        # ru-mod's heartbeats still reach us-dod, whose answers say it sent sequence 1: ru-mod watches for it.
        await until(lambda: (US, "us-dod/hama-1") in notice_view(pair.ru), timeout=5)
        assert stored_in(pair.ru) == [filed.sent[0].message_id]
        assert liveness(pair.ru) == Liveness.NORMAL  # never DOWN, so no reconciliation did it
        assert len(checklists) == traded
        # ru-mod's answer reaches us-dod by ru-mod's own outbox.
        await until(lambda: pair.us.node.ledger.channels[CHANNEL].next_in == 2, timeout=5)


@pytest.mark.asyncio
async def test_a_heartbeat_request_that_says_the_peer_sent_more_starts_one_watch_dcf_hbt_005(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watches = count_calls(monkeypatch, "Watch", delay=1.5)
    # Heartbeats 30 s apart: neither node beats during the test; only the test's heartbeats tell ru-mod anything.
    async with two_nodes_via_proxies(tmp_path, heartbeat=30) as link:
        pair = link.pair
        ru, us = (server.node.ledger.channels[CHANNEL] for server in (pair.ru, pair.us))
        await until(lambda: ru.greeted and us.greeted, timeout=5)
        link.to_ru.cut()
        for number in (1, 2):
            async with OperatorClient(pair.us_address) as operator:
                await operator.file_notice(sortie(f"us-dod/hama-{number}", owner=US), mode=Mode.OPERATIONAL)
        await asyncio.sleep(1.0)
        assert ru.next_in == 1  # nothing tells ru-mod yet
        watches.clear()
        # us-dod's heartbeats, as the test sends them straight to ru-mod, five while the (slow) Watch runs.
        async with peer_of(pair.ru_address) as peer:
            for _ in range(5):
                beat = channel_pb2.Heartbeat(channel_id=CHANNEL, party=US, last_sequence_sent=us.next_out - 1)
                beat.sent_time.FromDatetime(datetime.now(UTC))
                await peer.client.heartbeat(beat)
                await asyncio.sleep(0.2)
        await until(lambda: ru.next_in == 3, timeout=5)
        assert [key for key in notice_view(pair.ru) if key[0] == US] == [(US, "us-dod/hama-1"), (US, "us-dod/hama-2")]
        # One fetch, however many heartbeats said so while it ran.
        assert len(watches) == 1
