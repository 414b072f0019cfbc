"""Real nodes on loopback for the tests: the Russian MoD and the US DoD, with files in a temporary folder.

- two_nodes: both nodes, calling each other; two_nodes_via_proxies: the same through TcpProxy links a test can
  cut and restore.
- one_node: one node whose peer is the test itself, as a PeerSide: a PeerClient that says Hello and numbers,
  builds, seals and signs its envelopes by hand.
- TEST_KEYS: each party's signing key, derived from a fixed seed; the agreement holds their public halves and each
  node signs with its own (DCF-SEC-006), so every test exercises signatures.
- helpers to read a journal, the operator's status and events, and to expect a refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deconflict.bridge.envelope import (
    decode_envelope,
    envelope_data,
)
from deconflict.client.operator import OperatorClient
from deconflict.client.peer import Delivery, PeerClient
from deconflict.client.retry import RefusedError
from deconflict.conformance.session import EnvelopeWriter
from deconflict.journal import sqlite as journal_sqlite
from deconflict.journal.base import Direction, Entry
from deconflict.journal.sqlite import read_journal
from deconflict.models.channel import Hello, IncidentReport, InvolvedAircraft, Resumption, Suspension, VersionRange
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, Circle, LatLng, Volume3D, Volume4D
from deconflict.models.notice import (
    AircraftCategory,
    FlightNotice,
    NoticeCategory,
    NoticeState,
)
from deconflict.node.config import load_config
from deconflict.node.node import utc_now
from deconflict.node.server import NodeServer
from deconflict.node.signer import CheckpointSigner
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.security.credentials import ClientTls, operator_tls
from deconflict.security.pki import add_operator, init_party
from deconflict.security.signing import SigningKey
from deconflict.v1 import channel_service_pb2, envelope_pb2

RU, US = "ru-mod", "us-dod"
CHANNEL = "ru-mod:us-dod"


# TEST KEYS from fixed seeds: the same in every run, never a real channel's.
TEST_KEYS = {party: SigningKey.published(f"{party}/test-key", f"deconflict test {party}") for party in (RU, US)}

AGREEMENT = """\
channel_id = "ru-mod:us-dod"
version = 1
parties = ["ru-mod", "us-dod"]
effective_time = 2015-10-20T00:00:00Z
minimum_lead_time = "PT1H"
clock_skew_tolerance = "PT30S"
heartbeat_interval = "PT{heartbeat}S"
missed_heartbeats_down = 3

[separation]
lateral_m = 10000.0
vertical_m = 300.0
time = "PT10M"

[[response_timers]]
kind = "NOTICE"
response_time = "PT{notice_timer}S"

[[response_timers]]
kind = "AMENDMENT"
response_time = "PT{notice_timer}S"

[[response_timers]]
kind = "CONFERENCE_PROPOSAL"
response_time = "PT{notice_timer}S"

[[frequencies]]
frequency_id = "guard-121.5"
khz = 121500
use = "GUARD"

[[frequencies]]
frequency_id = "guard-243.0"
khz = 243000
use = "GUARD"

[[priority_rules]]
category = "EMERGENCY"
overrides = ["ROUTINE"]
"""


def checkpoint_key(party: str) -> CheckpointSigner:
    """A party's checkpoint key: its TEST_KEYS signing key, as a node takes it from its configuration."""
    key = TEST_KEYS[party]
    return CheckpointSigner(party, key.key_id, key.private_key)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Pair:
    ru: NodeServer
    us: NodeServer
    ru_address: str
    us_address: str
    folder: Path


def write_configs(
    folder: Path,
    *,
    policy_us: str = "automatic",
    notice_timer: int = 60,
    heartbeat: int = 1,
    policy_ru: str = "automatic",
    peer_addresses: dict[str, str] | None = None,
    tls: bool = False,
    agreement_of: dict[str, str] | None = None,
    signing: str = "",
    conflict_worker: bool = True,
) -> tuple[Path, Path, int, int]:
    """Agreement and node configs for both parties; their ports are chosen now, so each knows the other's.

    `peer_addresses` replaces, per party, the address its node calls its peer at: "" for a node that never
    calls its peer (a test acts as the peer), or a proxy's address to put a cuttable link in between.
    Plaintext (insecure = true) unless `tls`: then with mutual TLS, the certificates in folder/pki.
    `agreement_of` gives a party an agreement of its own (its TOML text) in place of the shared one: parties that
    do not hold the same agreement. Each node signs with its TEST_KEYS key, whose public half the agreement holds;
    `signing` is more of each node's [signing] table (`required = false` for a peer that cannot sign).
    `conflict_worker` false keeps each node's conflict checks in its own process.
    """
    keys = "".join(TEST_KEYS[party].party_key_toml(party) for party in (RU, US))
    (folder / "agreement.toml").write_text(AGREEMENT.format(notice_timer=notice_timer, heartbeat=heartbeat) + keys)
    for party in (RU, US):
        TEST_KEYS[party].write(folder / f"{party}.key")
    if tls:
        make_pki(folder / "pki")
    ru_port, us_port = free_port(), free_port()
    for party, port, peer, peer_port, policy in (
        (RU, ru_port, US, us_port, policy_ru),
        (US, us_port, RU, ru_port, policy_us),
    ):
        peer_address = (peer_addresses or {}).get(party, f"127.0.0.1:{peer_port}")
        security = (
            f'[tls]\ncertificate = "pki/{party}/node.crt"\nkey = "pki/{party}/node.key"\nca = "pki/{party}/ca.crt"\n\n'
            if tls
            else "insecure = true\n\n"
        )
        agreement = "agreement.toml"
        if party in (agreement_of or {}):
            agreement = f"{party}.agreement.toml"
            (folder / agreement).write_text((agreement_of or {})[party] + keys)  # its keys are the same
        (folder / f"{party}.toml").write_text(
            f'party = "{party}"\nlisten = "127.0.0.1:{port}"\njournal = "{party}.journal"\npolicy = "{policy}"\n'
            + ("" if conflict_worker else "conflict_worker = false\n")
            + f"{security}"
            f'[[channels]]\npeer = "{peer}"\npeer_address = "{peer_address}"\nagreement = "{agreement}"\n'
            + (f'peer_ca = "pki/{peer}/ca.crt"\n' if tls else "")
            + f"\n[signing]\n{signing}\n"
            + f'[[signing.keys]]\nkey_id = "{TEST_KEYS[party].key_id}"\nfile = "{party}.key"\n'
        )
    return folder / f"{RU}.toml", folder / f"{US}.toml", ru_port, us_port


OPERATOR = "duty-officer"


def make_pki(folder: Path, parties: tuple[str, ...] = (RU, US)) -> Path:
    """A CA, a node certificate and an operator (OPERATOR) for each party in `folder`, unless already there."""
    for party in parties:
        if not (folder / party / "ca.crt").exists():
            init_party(folder, party)
            add_operator(folder, party, OPERATOR)
    return folder


def node_tls(pki: Path, party: str, server_party: str) -> ClientTls:
    """A client presenting `party`'s node certificate to the node of `server_party`."""
    home = pki / party
    return ClientTls(
        (home / "node.crt").read_bytes(),
        (home / "node.key").read_bytes(),
        (pki / server_party / "ca.crt").read_bytes(),
        server_party,
    )


def operator_of(pki: Path, party: str) -> ClientTls:
    """The credentials of `party`'s operator (OPERATOR), for its own node."""
    return operator_tls(pki / party / "operators" / OPERATOR)


ATTEMPTS = 5  # a port picked free may be taken by another process before a node binds it: pick again


async def start_all(servers: list[NodeServer]) -> bool:
    """Start the servers; when one cannot bind its port, stop them all and say so."""
    try:
        for server in servers:
            await server.start()
    except OSError:
        for server in servers:
            await server.stop(grace=0)
        return False
    return True


@asynccontextmanager
async def two_nodes(folder: Path, **options: object) -> AsyncIterator[Pair]:
    options.pop("keys", None)  # every node signs its checkpoints with its signing key now
    for _ in range(ATTEMPTS):
        ru_config, us_config, ru_port, us_port = write_configs(folder, **options)  # type: ignore[arg-type]
        ru = NodeServer(load_config(ru_config))
        us = NodeServer(load_config(us_config))
        if await start_all([ru, us]):
            break
    else:
        raise OSError("no free ports for two nodes")
    pair = Pair(ru, us, f"127.0.0.1:{ru_port}", f"127.0.0.1:{us_port}", folder)
    try:
        yield pair
    finally:
        # The servers the pair holds now: a test may have restarted one.
        await pair.ru.stop(grace=0)
        await pair.us.stop(grace=0)


def sortie(
    notice_id: str = "",
    *,
    latitude: float = 35.13,
    longitude: float = 36.75,
    start_in: timedelta = timedelta(hours=3),
    category: NoticeCategory = NoticeCategory.ROUTINE,
    owner: str = RU,
) -> FlightNotice:
    """A notice for one sortie: a 20 km circle, FL100 to FL200, an hour long."""
    start = datetime.now(UTC).replace(microsecond=0) + start_in
    level = AltitudeReference.STD
    return FlightNotice(
        notice_id=notice_id or "placeholder",
        version=1,
        state=NoticeState.ACTIVE,
        owner=owner,
        volumes=[
            Volume4D(
                volume=Volume3D(
                    circle=Circle(center=LatLng(latitude=latitude, longitude=longitude), radius_m=20_000),
                    altitude_lower=Altitude(value=100, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                    altitude_upper=Altitude(value=200, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                ),
                time_start=start,
                time_end=start + timedelta(hours=1),
            )
        ],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=4,
        frequency_ids=["guard-121.5"],
        category=category,
    )


async def file_as(address: str, owner: str, name: str, **shape: Any) -> str:
    """An operator of `owner`'s node files one sortie (`shape`: sortie's options); its notice id."""
    notice_id = f"{owner}/{name}"
    shape.setdefault("latitude", 30.0 if owner == RU else 36.0)
    async with OperatorClient(address) as operator:
        await operator.file_notice(sortie(notice_id, owner=owner, **shape), mode=Mode.OPERATIONAL)
    return notice_id


def notice_view(server: NodeServer) -> dict[tuple[str, str], tuple[int, NoticeState]]:
    """A node's view of every notice it holds: (owner, notice_id) -> (version, state)."""
    return {key: (entry.notice.version, entry.notice.state) for key, entry in server.node.ledger.notices.items()}


# -- one node, with the test as its peer ------------------------------------------------------------------------


@dataclass
class Single:
    """One real node (`party`) whose peer is the test itself: the node never calls out."""

    server: NodeServer
    address: str
    folder: Path
    config: Path

    @property
    def journal_path(self) -> Path:
        return self.server.node.loaded.journal_path


@asynccontextmanager
async def one_node(folder: Path, *, party: str = RU, **options: Any) -> AsyncIterator[Single]:
    """A node for `party` alone, listening on loopback; its peer address is empty, so no link runs."""
    addresses = {RU: "", US: ""}
    options.pop("keys", None)  # every node signs its checkpoints with its signing key now
    for _ in range(ATTEMPTS):
        ru_config, us_config, ru_port, us_port = write_configs(folder, peer_addresses=addresses, **options)
        config, port = (ru_config, ru_port) if party == RU else (us_config, us_port)
        holder = Single(NodeServer(load_config(config)), f"127.0.0.1:{port}", folder, config)
        if await start_all([holder.server]):
            break
    else:
        raise OSError("no free port for a node")
    try:
        yield holder
    finally:
        await holder.server.stop(grace=0)


async def answered(single: Single) -> None:
    """Wait until the node has answered every notice it has stored: its answers follow their acknowledgements by the
    conflict worker's round trip, so a test that counts what the node stored lets them land first."""
    await single.server.assessor.settled()


async def restart(server: NodeServer, *, backup: Path | None = None, journal: Path | None = None) -> NodeServer:
    """Stop a node and start a new one on the same configuration and journal (and port).

    While the node is stopped, `backup` receives a copy of its journal, and `journal` (such a copy) is put in
    place of it, as an operator restoring a backup would.
    """
    loaded = server.node.loaded
    await server.stop(grace=0)
    if backup is not None:
        copy_journal(loaded.journal_path, backup)
    if journal is not None:
        copy_journal(journal, loaded.journal_path)
    again = NodeServer(loaded, server.node.clock, server.checkpoint_key)
    await again.start()
    return again


def copy_journal(source: Path, target: Path) -> None:
    """A consistent copy of a closed journal over `target` (SQLite's online backup, WAL included)."""
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as origin, contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def as_schema_2(path: Path) -> None:
    """Make a closed journal one the release before acknowledgements sent were journaled would have written:
    schema version 2, whose entries take no direction 'ack_out'. The rows, and so the evidence, stay as they are."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(
            "BEGIN; DROP INDEX entries_by_sequence; ALTER TABLE entries RENAME TO entries_v3; "
            f"{journal_sqlite._SCHEMA_V1} ALTER TABLE entries ADD COLUMN link BLOB; "
            "INSERT INTO entries SELECT * FROM entries_v3; DROP TABLE entries_v3; PRAGMA user_version = 2; COMMIT;"
        )


def journal_entries(path: Path) -> list[Entry]:
    """Every durable entry of a journal, read beside its running node (or after it died)."""
    return list(read_journal(path))


def stored_envelopes(path: Path, direction: Direction = Direction.IN) -> list[Envelope]:
    """The envelopes a journal holds in one direction, in journal order."""
    found = []
    for entry in journal_entries(path):
        if entry.record.direction == direction:
            signed = envelope_pb2.SignedPayload.FromString(entry.record.payload)
            found.append(Envelope.model_validate(envelope_data(decode_envelope(signed.payload))))
    return found


def body_of(signed: envelope_pb2.SignedPayload) -> str:
    """The name of the body an envelope carries ("notice", "response"...)."""
    name = decode_envelope(signed.payload).WhichOneof("body")
    assert name is not None
    return name


class PeerSide(EnvelopeWriter):
    """The test acting as a node's peer: a PeerClient, a Hello, and envelopes it numbers itself (EnvelopeWriter)."""

    def __init__(
        self,
        client: PeerClient,
        *,
        party: str = US,
        node_party: str = RU,
        channel_id: str = CHANNEL,
        key: SigningKey | None = None,
    ):
        key = TEST_KEYS.get(party) if key is None else key
        super().__init__(client, party=party, recipient=node_party, channel_id=channel_id, key=key)
        self.client = client
        self.node_party = node_party

    async def hello(
        self,
        *,
        agreement_hash: bytes | None = None,
        versions: VersionRange | None = None,
        agreement_version: int = 1,
    ) -> channel_service_pb2.HelloResponse:
        if agreement_hash is None:
            agreement_hash = (await self.client.get_agreement(self.channel_id)).agreement_hash
        hello = Hello(
            channel_id=self.channel_id,
            party=self.party,
            supported_versions=versions or VersionRange(min_major=1, max_major=1),
            agreement_hash=agreement_hash,
            agreement_version=agreement_version,
            sent_time=datetime.now(UTC),
            implementation="test peer",
        )
        return await self.client.hello(hello)

    async def notice(self, notice: FlightNotice, **header: Any) -> Delivery:
        return await self.send("notice", notice, **header)


@asynccontextmanager
async def peer_of(
    address: str, *, greet: bool = True, tls: ClientTls | None = None, **options: Any
) -> AsyncIterator[PeerSide]:
    """A PeerSide connected to the node at `address` (with `tls`: as that certificate), greeted unless `greet`
    is False."""
    async with PeerClient(address, tls=tls) as client:
        side = PeerSide(client, **options)
        if greet:
            await side.hello()
        yield side


# -- bodies ------------------------------------------------------------------------------------------------------


def suspension(suspension_id: str = "note-2017-04-08") -> Suspension:
    return Suspension(
        suspension_id=suspension_id, effective_time=datetime.now(UTC), reason="memorandum suspended by formal note"
    )


def resumption(suspension_id: str = "note-2017-04-08") -> Resumption:
    return Resumption(suspension_id=suspension_id, effective_time=datetime.now(UTC), reason="memorandum resumed")


def incident(incident_id: str, *, party: str = US, minutes_ago: int = 30) -> IncidentReport:
    """An unsafe encounter near Hama: two aircraft of one party closer than planned."""
    return IncidentReport(
        incident_id=incident_id,
        occurred_time=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago),
        position=LatLng(latitude=35.13, longitude=36.75),
        altitude=Altitude(value=150, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL),
        aircraft=[InvolvedAircraft(party=party, aircraft_category=AircraftCategory.FIXED_WING, callsign="RCH471")],
        closest_lateral_m=900.0,
        narrative="Two aircraft passed within 1 km at FL150 without prior notice.",
    )


# -- fault injection ------------------------------------------------------------------------------------------


class TcpProxy:
    """A TCP relay on 127.0.0.1 that a test can cut and restore: a network fault with no root needed.

    While cut, every relayed connection is closed and new ones are closed as soon as they are accepted.
    """

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.open = True
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    def cut(self) -> None:
        self.open = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.open = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while self.open and (data := await source.read(65536)):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)


# -- small checks ---------------------------------------------------------------------------------------------


async def refusal_of(call: Awaitable[object]) -> RefusedError:
    """The RefusedError `call` raises; fails the test when it succeeds."""
    try:
        await call
    except RefusedError as error:
        return error
    raise AssertionError("the call was not refused")


@dataclass(frozen=True)
class Status:
    journal_size: int
    channel: operator_pb.ChannelStatus


async def status_of(address: str) -> Status:
    """What a node's operator sees: its journal size and its one channel."""
    async with OperatorClient(address) as operator:
        answer = await operator.get_status()
    return Status(answer.journal_size, answer.channels[0])


@asynccontextmanager
async def operator_events(address: str) -> AsyncIterator[list[operator_pb.Event]]:
    """A list that fills with every event a node's operator watches (WatchEvents), from now until the end."""
    events: list[operator_pb.Event] = []
    async with OperatorClient(address) as operator:
        start = (await operator.get_status()).journal_size

        async def collect() -> None:
            async for event in operator.watch_events(from_position=start):
                events.append(event)

        task = asyncio.get_running_loop().create_task(collect())
        try:
            yield events
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RefusedError):
                await task


def alerts(events: list[operator_pb.Event], kind: int) -> list[operator_pb.Alert]:
    return [event.alert for event in events if event.HasField("alert") and event.alert.kind == kind]


@dataclass
class ProxiedPair:
    """Two nodes that reach each other only through proxies a test can cut: ru -> us and us -> ru."""

    pair: Pair
    to_us: TcpProxy
    to_ru: TcpProxy

    def cut(self) -> None:
        self.to_us.cut()
        self.to_ru.cut()

    def restore(self) -> None:
        self.to_us.restore()
        self.to_ru.restore()


@asynccontextmanager
async def two_nodes_via_proxies(
    folder: Path, *, clocks: dict[str, Callable[[], datetime]] | None = None, **options: Any
) -> AsyncIterator[ProxiedPair]:
    """`clocks` gives a party's node another clock than the host's (a node whose clock is off)."""
    clock = {RU: utc_now, US: utc_now, **(clocks or {})}
    for _ in range(ATTEMPTS):
        to_us_port, to_ru_port = free_port(), free_port()
        addresses = {RU: f"127.0.0.1:{to_us_port}", US: f"127.0.0.1:{to_ru_port}"}
        ru_config, us_config, ru_port, us_port = write_configs(folder, peer_addresses=addresses, **options)
        to_us, to_ru = TcpProxy(us_port, to_us_port), TcpProxy(ru_port, to_ru_port)
        ru, us = NodeServer(load_config(ru_config), clock[RU]), NodeServer(load_config(us_config), clock[US])
        try:
            await to_us.start()
            await to_ru.start()
        except OSError:
            await to_us.close()
            await to_ru.close()
            continue
        if await start_all([ru, us]):
            break
        await to_us.close()
        await to_ru.close()
    else:
        raise OSError("no free ports for two nodes and their proxies")
    link = ProxiedPair(Pair(ru, us, f"127.0.0.1:{ru_port}", f"127.0.0.1:{us_port}", folder), to_us, to_ru)
    try:
        yield link
    finally:
        await link.pair.ru.stop(grace=0)
        await link.pair.us.stop(grace=0)
        await to_us.close()
        await to_ru.close()
