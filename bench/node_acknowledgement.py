"""Acknowledged notices per second and acknowledgement latency of a node, against a bare grpc.aio server of the
same shape in the same run.

    python bench/node_acknowledgement.py [--seconds 3] [--warm-up 1] [--volumes 10000 100000] [--in-flight 1 16 64]
    python bench/node_acknowledgement.py --quick          # shorter windows, one node per size: a smoke run

Cases: for each number of active volumes already known to the node and each number of requests in flight,
- node: a real node (NodeServer, automatic response policy) with its SQLite journal (WAL, synchronous=FULL) in a
  temporary folder; its peer says Hello, then files new notices of 3 volumes of 8 vertices (an 841-byte envelope each);
- bare: a grpc.aio server with the same service and method names and message types whose handler parses the
  request and answers a fixed acknowledgement of realistic size (a real one, built once): no storage, no checks.
- floor: a grpc.aio server of the same shape that does per notice what the protocol asks of any node and nothing
  else: verify the peer's signature, parse the envelope, sign an acknowledgement and an answer, and journal the
  three in the project's journal before the acknowledgement leaves. No node can do less, so `node / floor` says how
  much of the rest is the node's own work (validation, the ledger, the conflict check) and `floor / bare` what the
  protocol's signatures and storage cost by themselves.
Shapes: at 1 in flight, unary SubmitNotice, notice n+1 sent when n is acknowledged (DCF-ENV-014); at 16 and 64,
one Exchange bidirectional stream with that many envelopes sent and not yet acknowledged.
Latency is from the request written by the client to its acknowledgement read by the client.

Server and client run in separate processes, the server pinned to one CPU and the client to another
(os.sched_setaffinity, where there are two; the parent chooses both and checks the server's), so the client never
takes the server's CPU; the node's conflict worker goes on the client's CPU. The tables show how much of its CPU
each side used (server CPU near 100 % means the server is the bottleneck).

Active volumes: before the cases, the journal is built directly (the same records the node writes: signed
envelopes, one notice of 3 volumes each, half filed by the node, half by its peer) and each case starts the node on
a fresh copy of it, so the node replays it through its own start-up path and every case begins with the same
volumes. They are random 8-vertex polygons 3 to 15 km across, anywhere over a box the size of Syria, 1 to 6 hours
long within 30 days; the incoming notices are drawn the same way, so each finds only a few candidates in the index.
Every acknowledged notice adds its 3 volumes, so the index grows during a case: the table says by how much.

Every envelope is signed by the peer (on the client's CPU) and verified by the node before it is parsed, and
every acknowledgement is signed by the node (DCF-SEC-006, DCF-SEC-008); the bare server answers an acknowledgement
signed once, ahead.

After each stored notice the node checks it for conflicts and answers ROGER or UNABLE automatically, storing the
answer in its journal: that is part of what is measured. The channel has no peer address, so nothing is pushed to
the peer (the answers wait in the node's outbox).

Absolute numbers vary from run to run by 10 to 20 %; compare the ratios (node / bare), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from deconflict.bridge.envelope import open_acknowledgement
from deconflict.client.peer import PeerClient
from deconflict.dsse import pae
from deconflict.journal import Direction, Record, open_journal
from deconflict.models.channel import Agreement, Hello, VersionRange
from deconflict.models.envelope import ENVELOPE_TYPE
from deconflict.node.acknowledgement import build_acknowledgement, encode_facts
from deconflict.node.config import ChannelAgreement, decode_public_keys, load_agreement, load_config
from deconflict.node.ledger import Facts
from deconflict.node.server import NodeServer
from deconflict.security.signing import Signer, SigningKey
from deconflict.v1 import (
    channel_service_pb2,
    envelope_pb2,
    geometry_pb2,
    notice_pb2,
    notice_service_pb2,
    response_pb2,
)

NODE, PEER = "us-dod", "ru-mod"
CHANNEL = f"{PEER}:{NODE}"
SOUTH, NORTH, WEST, EAST = 32.3, 37.3, 35.7, 42.4
VERTICES = 8
VOLUMES_PER_NOTICE = 3
HORIZON = timedelta(days=30)
METRES_PER_DEGREE = 111_195.0
POOL = 1024  # distinct incoming notices, reused with fresh ids
IN_FLIGHT = (1, 16, 64)
VOLUMES = (10_000, 100_000)
SUBMIT = f"/{notice_service_pb2.DESCRIPTOR.services_by_name['NoticeService'].full_name}/SubmitNotice"
EXCHANGE = f"/{channel_service_pb2.DESCRIPTOR.services_by_name['ChannelService'].full_name}/Exchange"

# Benchmark keys from fixed seeds: never a real channel's.
KEYS = {party: SigningKey.published(f"{party}/bench-key", f"deconflict bench {party}") for party in (NODE, PEER)}

AGREEMENT = f"""\
channel_id = "{CHANNEL}"
version = 1
parties = ["{PEER}", "{NODE}"]
effective_time = 2015-10-20T00:00:00Z
minimum_lead_time = "PT1H"
clock_skew_tolerance = "PT30S"
heartbeat_interval = "PT10S"
missed_heartbeats_down = 3

[separation]
lateral_m = 9260.0
vertical_m = 300.0
time = "PT10M"

[[response_timers]]
kind = "NOTICE"
response_time = "PT10M"

[[response_timers]]
kind = "AMENDMENT"
response_time = "PT10M"

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
""" + "".join(key.party_key_toml(party) for party, key in KEYS.items())

# The channel has no peer address: the node pushes nothing to its peer during the run.
CONFIG = f"""\
party = "{NODE}"
listen = "127.0.0.1:0"
journal = "node.journal"
policy = "automatic"
# Plaintext, as the bare grpc.aio server it is compared with.
insecure = true

[[channels]]
peer = "{PEER}"
peer_address = ""
agreement = "agreement.toml"

[[signing.keys]]
key_id = "{KEYS[NODE].key_id}"
file = "node.key"
"""


# -- notices, as protobuf: the client builds thousands a second, so no models here


def random_volumes(rng: np.random.Generator, count: int, now: datetime) -> list[geometry_pb2.Volume4D]:
    """`count` random volumes over the box, drawn in bulk (vertices in jittered equal sectors: simple polygons)."""
    latitudes = rng.uniform(SOUTH, NORTH, count)
    longitudes = rng.uniform(WEST, EAST, count)
    radius_m = rng.uniform(1_500.0, 7_500.0, (count, 1))
    turn = rng.uniform(0.0, 2.0 * math.pi, (count, 1))
    angles = (np.arange(VERTICES) + rng.uniform(-0.3, 0.3, (count, VERTICES))) * (2.0 * math.pi / VERTICES) + turn
    reach = radius_m * rng.uniform(0.6, 1.0, (count, VERTICES)) / METRES_PER_DEGREE
    vertex_latitudes = (latitudes[:, None] + reach * np.sin(angles)).tolist()
    vertex_longitudes = (longitudes[:, None] + reach * np.cos(angles) / np.cos(np.radians(latitudes))[:, None]).tolist()
    flight_levels = (rng.random(count) < 0.3).tolist()
    thickness = rng.uniform(300.0, 3_000.0, count)
    lower = (rng.uniform(0.0, 1.0, count) * (12_000.0 - thickness)).tolist()
    upper = (np.asarray(lower) + thickness).tolist()
    # Starts at least 2 hours ahead (never late: the lead time is 1 hour), whole seconds.
    first = int(now.timestamp()) + 7_200
    starts = (first + rng.integers(0, int(HORIZON.total_seconds()), count)).tolist()
    lengths = rng.integers(3_600, 6 * 3_600, count).tolist()
    volumes = []
    for i in range(count):
        if flight_levels[i]:
            low = geometry_pb2.Altitude(
                value=round(lower[i] / 30.48), reference=geometry_pb2.ALTITUDE_REFERENCE_STD,
                unit=geometry_pb2.ALTITUDE_UNIT_FLIGHT_LEVEL,
            )  # fmt: skip
            high = geometry_pb2.Altitude(
                value=max(round(upper[i] / 30.48), low.value + 10), reference=geometry_pb2.ALTITUDE_REFERENCE_STD,
                unit=geometry_pb2.ALTITUDE_UNIT_FLIGHT_LEVEL,
            )  # fmt: skip
        else:
            low = geometry_pb2.Altitude(
                value=round(lower[i], 1), reference=geometry_pb2.ALTITUDE_REFERENCE_MSL,
                unit=geometry_pb2.ALTITUDE_UNIT_METRES,
            )  # fmt: skip
            high = geometry_pb2.Altitude(
                value=round(upper[i], 1), reference=geometry_pb2.ALTITUDE_REFERENCE_MSL,
                unit=geometry_pb2.ALTITUDE_UNIT_METRES,
            )  # fmt: skip
        polygon = geometry_pb2.Polygon(
            vertices=[
                geometry_pb2.LatLng(latitude=round(lat, 6), longitude=round(lng, 6))
                for lat, lng in zip(vertex_latitudes[i], vertex_longitudes[i], strict=True)
            ]
        )
        volumes.append(
            geometry_pb2.Volume4D(
                volume=geometry_pb2.Volume3D(polygon=polygon, altitude_lower=low, altitude_upper=high),
                time_start=Timestamp(seconds=starts[i]),
                time_end=Timestamp(seconds=starts[i] + lengths[i]),
            )
        )
    return volumes


def notice_bodies(rng: np.random.Generator, count: int, owner: str, now: datetime) -> list[notice_pb2.FlightNotice]:
    """`count` ACTIVE version-1 notices of 3 volumes each, owned by `owner`, ids left to the caller."""
    volumes = random_volumes(rng, count * VOLUMES_PER_NOTICE, now)
    return [
        notice_pb2.FlightNotice(
            version=1,
            state=notice_pb2.NOTICE_STATE_ACTIVE,
            owner=owner,
            volumes=volumes[i * VOLUMES_PER_NOTICE : (i + 1) * VOLUMES_PER_NOTICE],
            aircraft_category=notice_pb2.AIRCRAFT_CATEGORY_TRANSPORT,
            aircraft_count=2,
            callsigns=["RESCUE21", "RESCUE22"],
            frequency_ids=["guard-121.5"],
            category=notice_pb2.NOTICE_CATEGORY_ROUTINE,
            remarks="routine transport flight; deconfliction benchmark",
        )
        for i in range(count)
    ]


def sealed(
    body: notice_pb2.FlightNotice, notice_id: str, message_id: str, sender: str, recipient: str, sequence: int
) -> envelope_pb2.SignedPayload:
    """A new notice in its envelope, created now, as the bytes to send, signed by the sender."""
    envelope = _envelope(message_id, sender, recipient, sequence)
    envelope.notice.CopyFrom(body)
    envelope.notice.notice_id = notice_id
    return _signed(envelope, sender)


def roger(notice_id: str, in_reply_to: str, message_id: str, sequence: int) -> envelope_pb2.SignedPayload:
    """The node's automatic ROGER to one of the peer's notices, signed by the node."""
    envelope = _envelope(message_id, NODE, PEER, sequence)
    envelope.in_reply_to = in_reply_to
    envelope.response.notice_id = notice_id
    envelope.response.notice_version = 1
    envelope.response.kind = response_pb2.RESPONSE_KIND_ROGER
    return _signed(envelope, NODE)


def _envelope(message_id: str, sender: str, recipient: str, sequence: int) -> envelope_pb2.Envelope:
    envelope = envelope_pb2.Envelope(
        message_id=message_id,
        channel_id=CHANNEL,
        sender=sender,
        recipient=recipient,
        sequence=sequence,
        protocol_version=envelope_pb2.ProtocolVersion(major=1, minor=0),
        mode=envelope_pb2.MODE_OPERATIONAL,
    )
    envelope.created_time.GetCurrentTime()
    return envelope


def _signed(envelope: envelope_pb2.Envelope, sender: str) -> envelope_pb2.SignedPayload:
    payload = envelope.SerializeToString(deterministic=True)
    signed = envelope_pb2.SignedPayload(payload_type=ENVELOPE_TYPE, payload=payload)
    key = KEYS[sender]
    signed.signatures.add(key_id=key.key_id, signature=key.private_key.sign(pae(ENVELOPE_TYPE, signed.payload)))
    return signed


class Incoming:
    """The peer's new notices, one after the other: fresh ids and the next sequence each."""

    def __init__(self, rng: np.random.Generator, first_sequence: int) -> None:
        self.bodies = notice_bodies(rng, POOL, PEER, datetime.now(UTC))
        self.sequence = first_sequence

    def next(self) -> envelope_pb2.SignedPayload:
        n = self.sequence
        self.sequence += 1
        return sealed(self.bodies[n % POOL], f"{PEER}/bench-{n}", f"bench-{n}", PEER, NODE, n)


# -- the seeded journal


@dataclass(frozen=True)
class Seed:
    journal: Path
    volumes: int
    next_in: int  # the peer's next sequence
    build_s: float


def seed(folder: Path, volumes: int, rng: np.random.Generator) -> Seed:
    """A journal of ACTIVE notices totalling `volumes` volumes, alternately the node's own and its peer's."""
    begin = time.perf_counter()
    folder.mkdir(parents=True)
    path = folder / "node.journal"
    now = datetime.now(UTC)
    notices = math.ceil(volumes / VOLUMES_PER_NOTICE)
    bodies = notice_bodies(rng, notices, "", now)
    sequences = {Direction.OUT: 0, Direction.IN: 0}

    async def write() -> None:
        journal = open_journal(path)
        pending = []
        for number, body in enumerate(bodies):
            direction = Direction.OUT if number % 2 == 0 else Direction.IN
            sender, recipient = (NODE, PEER) if direction == Direction.OUT else (PEER, NODE)
            body.owner = sender
            sequences[direction] += 1
            sequence = sequences[direction]
            notice_id = f"{sender}/seed-{number}"
            signed = sealed(body, notice_id, f"seed-{number}", sender, recipient, sequence)
            # No response timer runs for the seeded notices: the node's timers stay idle, as they would once the
            # notices were answered.
            facts = Facts(notice_id=notice_id, notice_version=1)
            pending.append(
                journal.append(
                    Record(
                        channel_id=CHANNEL,
                        direction=direction,
                        message_id=f"seed-{number}",
                        sender=sender,
                        sequence=sequence,
                        kind="notice",
                        payload=signed.SerializeToString(),
                        stored_time=now,
                        meta=encode_facts(facts),
                    )
                )
            )
            if direction == Direction.IN:
                # Answered, as the node would have: it owes no answer when it starts (it gives those it owes).
                sequences[Direction.OUT] += 1
                answer = roger(notice_id, f"seed-{number}", f"seed-{number}-roger", sequences[Direction.OUT])
                pending.append(
                    journal.append(
                        Record(
                            channel_id=CHANNEL,
                            direction=Direction.OUT,
                            message_id=f"seed-{number}-roger",
                            sender=NODE,
                            sequence=sequences[Direction.OUT],
                            kind="response",
                            payload=answer.SerializeToString(),
                            stored_time=now,
                            meta=encode_facts(Facts()),
                        )
                    )
                )
            if len(pending) >= 4096:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await journal.close()

    asyncio.run(write())
    return Seed(path, notices * VOLUMES_PER_NOTICE, sequences[Direction.IN] + 1, time.perf_counter() - begin)


# -- the servers, each in a process of its own


def fixed_acknowledgement() -> envelope_pb2.SignedPayload:
    """A real acknowledgement of a notice, as the node builds it: the bare server answers this to every request."""
    agreement = Agreement.model_validate(decode_public_keys(tomllib.loads(AGREEMENT)))
    now = datetime.now(UTC)
    return build_acknowledgement(
        channel_id=CHANNEL,
        party=NODE,
        message_id="bench-1000000",
        sender=PEER,
        sequence=1_000_000,
        payload_sha256=bytes(range(32)),
        position=2_000_000,
        stored_time=datetime.now(UTC),
        facts=Facts(
            response_due_time=datetime.now(UTC) + timedelta(minutes=10),
            notice_id=f"{PEER}/bench-1000000",
            notice_version=1,
        ),
        signer=Signer(NODE, [KEYS[NODE]], [agreement], required=True),
        now=now,
    )


def bare_handlers(acknowledgement: envelope_pb2.SignedPayload) -> list[tuple[str, dict[str, Any]]]:
    """SubmitNotice and Exchange as the generated code registers them: the request parsed, a fixed answer."""
    submitted = notice_service_pb2.SubmitNoticeResponse(acknowledgement=acknowledgement)

    async def submit_notice(
        request: notice_service_pb2.SubmitNoticeRequest, context: Any
    ) -> notice_service_pb2.SubmitNoticeResponse:
        return submitted

    async def exchange(
        requests: AsyncIterator[channel_service_pb2.ExchangeRequest], context: Any
    ) -> AsyncIterator[channel_service_pb2.ExchangeResponse]:
        async for _request in requests:
            yield channel_service_pb2.ExchangeResponse(acknowledgement=acknowledgement)

    return handler_table(submit_notice, exchange)


def handler_table(submit_notice: Any, exchange: Any) -> list[tuple[str, dict[str, Any]]]:
    """The two methods of the node's services that the peer calls here, with the generated code's serializers."""
    return [
        (
            "deconflict.v1.NoticeService",
            {
                "SubmitNotice": grpc.unary_unary_rpc_method_handler(
                    submit_notice,
                    request_deserializer=notice_service_pb2.SubmitNoticeRequest.FromString,
                    response_serializer=notice_service_pb2.SubmitNoticeResponse.SerializeToString,
                )
            },
        ),
        (
            "deconflict.v1.ChannelService",
            {
                "Exchange": grpc.stream_stream_rpc_method_handler(
                    exchange,
                    request_deserializer=channel_service_pb2.ExchangeRequest.FromString,
                    response_serializer=channel_service_pb2.ExchangeResponse.SerializeToString,
                )
            },
        ),
    ]


async def until_stdin_closes() -> None:
    """The parent closes our standard input to stop us (and so does its death)."""
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def wait() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=wait, daemon=True).start()
    await closed.wait()


async def serve_node(folder: Path, worker_cpu: int | None) -> None:
    begin = time.perf_counter()
    server = NodeServer(load_config(folder / "node.toml"))
    port = await server.start()
    node = server.node
    await node.assessor.ready()
    # The node's conflict worker may use the CPU the client is on: the node's two processes then have what the
    # bare server's one has plus what the client leaves; its CPU is reported on its own.
    worker = node.assessor.pid
    if worker is not None and worker_cpu is not None:
        os.sched_setaffinity(worker, {worker_cpu})
    print(f"ready {port} {time.perf_counter() - begin:.3f} {len(node.assessor)} {worker or 0}", flush=True)
    await until_stdin_closes()
    await node.assessor.settled()
    stats = node.journal.stats  # type: ignore[attr-defined]
    print(f"done {len(node.assessor)} {stats.commits} {stats.records_committed} {node.failed is None}", flush=True)
    await server.stop(grace=0)


async def serve_bare(floor_folder: Path | None) -> None:
    """The bare server, or with `floor_folder` the floor (class Floor) with its journal in that folder."""
    floor = None if floor_folder is None else Floor(floor_folder / "floor.journal")
    server = grpc.aio.server()
    table = bare_handlers(fixed_acknowledgement()) if floor is None else floor.handlers()
    for service, handlers in table:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
        server.add_registered_method_handlers(service, handlers)  # type: ignore[attr-defined]  # as generated code
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ready {port} 0 0 0", flush=True)
    await until_stdin_closes()
    await server.stop(0)
    if floor is not None:
        await floor.journal.close()
    print("done 0 0 0 True", flush=True)


class Floor:
    """The work the protocol itself asks of a party per notice, and nothing else: verify the sender's signature
    (DCF-SEC-008), parse the envelope, journal it and the signed acknowledgement in one group commit before the
    acknowledgement leaves (DCF-JNL-001, DCF-ENV-031), and sign and journal the answer (DCF-RSP-001). No validation,
    no ledger, no conflict check: what no node can skip. Its rate is the most any node could reach here."""

    def __init__(self, journal_path: Path) -> None:
        self.journal = open_journal(journal_path)
        self.peer_key = KEYS[PEER].private_key.public_key()
        template = fixed_acknowledgement()
        self.acknowledgement_type, self.acknowledgement_payload = template.payload_type, template.payload
        self.answered = 0

    def admit(self, signed: envelope_pb2.SignedPayload) -> tuple[asyncio.Future[int], envelope_pb2.SignedPayload]:
        """Verify, parse, sign, then journal the envelope, its acknowledgement and the answer: the acknowledgement,
        with the future of its position (durable once it resolves)."""
        self.peer_key.verify(signed.signatures[0].signature, pae(signed.payload_type, signed.payload))
        envelope = envelope_pb2.Envelope.FromString(signed.payload)
        now = datetime.now(UTC)
        self.answered += 1
        answer = roger(envelope.notice.notice_id, envelope.message_id, f"floor-{self.answered}", self.answered)
        acknowledgement = self.acknowledgement()
        durable = None
        for direction, kind, payload in (
            (Direction.IN, "notice", signed.SerializeToString()),
            (Direction.ACK_OUT, "acknowledgement", acknowledgement.SerializeToString()),
            (Direction.OUT, "response", answer.SerializeToString()),
        ):
            position = self.journal.append(
                Record(CHANNEL, direction, envelope.message_id, envelope.sender, envelope.sequence, kind, payload, now)
            )
            durable = position if direction == Direction.ACK_OUT else durable
        assert durable is not None
        return durable, acknowledgement

    def acknowledgement(self) -> envelope_pb2.SignedPayload:
        # The same bytes each time with a fresh signature: signing costs what it costs the node.
        signed = envelope_pb2.SignedPayload(
            payload_type=self.acknowledgement_type, payload=self.acknowledgement_payload
        )
        signature = KEYS[NODE].private_key.sign(pae(self.acknowledgement_type, self.acknowledgement_payload))
        signed.signatures.add(key_id=KEYS[NODE].key_id, signature=signature)
        return signed

    def handlers(self) -> list[tuple[str, dict[str, Any]]]:
        """SubmitNotice and Exchange as bare_handlers registers them; Exchange reads on while the journal works."""

        async def submit_notice(
            request: notice_service_pb2.SubmitNoticeRequest, context: Any
        ) -> notice_service_pb2.SubmitNoticeResponse:
            durable, acknowledgement = self.admit(request.envelope)
            await durable
            return notice_service_pb2.SubmitNoticeResponse(acknowledgement=acknowledgement)

        async def exchange(
            requests: AsyncIterator[channel_service_pb2.ExchangeRequest], context: Any
        ) -> AsyncIterator[channel_service_pb2.ExchangeResponse]:
            pending: asyncio.Queue[tuple[asyncio.Future[int], envelope_pb2.SignedPayload] | None] = asyncio.Queue()

            async def take() -> None:
                async for request in requests:
                    pending.put_nowait(self.admit(request.envelope))
                pending.put_nowait(None)

            reader = asyncio.get_running_loop().create_task(take())
            while (item := await pending.get()) is not None:
                durable, acknowledgement = item
                await durable
                yield channel_service_pb2.ExchangeResponse(acknowledgement=acknowledgement)
            await reader

        return handler_table(submit_notice, exchange)


def cpus() -> tuple[int | None, int | None]:
    """The CPU for the server and the one for the client, when the machine has two to give."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


CPUS = cpus()  # read at import, before anything is pinned


def pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server process: `python this-file --serve node|bare|floor [--folder F] [--cpu N --worker-cpu M]`.

    The CPUs are chosen here, in the parent, before it pins itself: a child would find only the parent's one CPU.
    """

    def __init__(self, kind: str, folder: Path | None) -> None:
        command = [sys.executable, __file__, "--serve", kind]
        if folder is not None:
            command += ["--folder", str(folder)]
        server_cpu, client_cpu = CPUS
        if server_cpu is not None and client_cpu is not None:
            command += ["--cpu", str(server_cpu), "--worker-cpu", str(client_cpu)]
        self.kind = kind
        self.folder = folder
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        words = self.process.stdout.readline().split()
        if not words or words[0] != "ready":
            self.process.kill()
            raise RuntimeError(f"the {kind} server did not start")
        self.port = int(words[1])
        self.start_s = float(words[2])
        self.volumes_at_start = int(words[3])
        self.worker = int(words[4]) or None  # the node's conflict worker process
        if server_cpu is not None and os.sched_getaffinity(self.process.pid) != {server_cpu}:
            self.process.kill()
            raise RuntimeError(f"the {kind} server is not pinned to CPU {server_cpu}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process so far, every thread included."""
        return process_cpu_seconds(self.process.pid)

    def worker_cpu_seconds(self) -> float:
        """The same for the node's conflict worker; 0 when there is none."""
        return 0.0 if self.worker is None else process_cpu_seconds(self.worker)

    def stop(self) -> tuple[int, int, int, bool]:
        """Volumes indexed, journal commits, records committed, and whether the node never failed."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        words = self.process.stdout.readline().split()
        self.process.wait(timeout=60)
        if not words or words[0] != "done":
            raise RuntimeError("the server did not stop cleanly")
        return int(words[1]), int(words[2]), int(words[3]), words[4] == "True"


# -- the client


@dataclass
class Measured:
    acknowledged: int = 0  # in the measured window
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # fraction of one CPU
    worker_cpu: float = 0.0  # the node's conflict worker
    client_cpu: float = 0.0
    total: int = 0  # acknowledged, warm-up and drain included: each added a notice of 3 volumes to the node

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else math.nan


class Window:
    """The measured interval: after the warm-up, for `seconds`; CPU times read at both ends."""

    def __init__(self, server: Server, warm_up: float, seconds: float) -> None:
        self.server = server
        self.start = time.perf_counter() + warm_up
        self.end = self.start + seconds
        self.result = Measured(seconds=seconds)
        self._cpu: list[tuple[float, float, float]] = []

    async def watch(self) -> None:
        for moment in (self.start, self.end):
            await asyncio.sleep(max(0.0, moment - time.perf_counter()))
            self._cpu.append((self.server.cpu_seconds(), self.server.worker_cpu_seconds(), time.process_time()))
        (server_0, worker_0, client_0), (server_1, worker_1, client_1) = self._cpu
        self.result.server_cpu = (server_1 - server_0) / self.result.seconds
        self.result.worker_cpu = (worker_1 - worker_0) / self.result.seconds
        self.result.client_cpu = (client_1 - client_0) / self.result.seconds

    @property
    def over(self) -> bool:
        return time.perf_counter() >= self.end

    def acknowledged(self, sent: float, received: float) -> None:
        self.result.total += 1
        if self.start <= received < self.end:
            self.result.acknowledged += 1
            self.result.latencies.append(received - sent)


def check_answer(answer: envelope_pb2.SignedPayload, expected_id: str | None) -> None:
    """The first answer of each case is opened and checked: an acknowledgement of what was sent."""
    acknowledgement = open_acknowledgement(answer)
    if expected_id is not None and acknowledgement.message_id != expected_id:
        raise RuntimeError(f"acknowledged {acknowledgement.message_id}, not {expected_id}")


async def unary(peer: PeerClient, incoming: Incoming, window: Window, node: bool) -> None:
    """SubmitNotice, one at a time: n + 1 is sent when n is acknowledged (DCF-ENV-014)."""
    call = peer.channel.unary_unary(
        SUBMIT, request_serializer=None, response_deserializer=notice_service_pb2.SubmitNoticeResponse.FromString
    )
    first = True
    while not window.over:
        request = notice_service_pb2.SubmitNoticeRequest(envelope=incoming.next()).SerializeToString()
        sent = time.perf_counter()
        response = await call(request, timeout=60)
        window.acknowledged(sent, time.perf_counter())
        if first:
            check_answer(response.acknowledgement, f"bench-{incoming.sequence - 1}" if node else None)
            first = False


async def exchange(peer: PeerClient, incoming: Incoming, window: Window, in_flight: int, node: bool) -> None:
    """One Exchange stream with up to `in_flight` envelopes sent and not yet acknowledged."""
    call = peer.channel.stream_stream(
        EXCHANGE, request_serializer=None, response_deserializer=channel_service_pb2.ExchangeResponse.FromString
    )
    stream: Any = call(timeout=600)  # type: ignore[call-arg]  # no iterator: we write
    slots = asyncio.Semaphore(in_flight)
    sent: deque[float] = deque()
    first_id = f"bench-{incoming.sequence}" if node else None

    async def write() -> None:
        while not window.over:
            await slots.acquire()
            request = channel_service_pb2.ExchangeRequest(envelope=incoming.next()).SerializeToString()
            sent.append(time.perf_counter())
            await stream.write(request)
        await stream.done_writing()

    writer = asyncio.get_running_loop().create_task(write())
    first = True
    while (response := await stream.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
        window.acknowledged(sent.popleft(), time.perf_counter())
        slots.release()
        if response.HasField("refusal"):
            raise RuntimeError(f"refused on the stream: {response.refusal}")
        if first:
            check_answer(response.acknowledgement, first_id)
            first = False
    await writer


def hello(agreement: ChannelAgreement) -> Hello:
    return Hello(
        channel_id=CHANNEL,
        party=PEER,
        supported_versions=VersionRange(min_major=1, max_major=1),
        agreement_hash=agreement.sha256,
        agreement_version=agreement.model.version,
        sent_time=datetime.now(UTC),
        implementation="deconflict benchmark peer",
    )


async def drive(server: Server, incoming: Incoming, in_flight: int, warm_up: float, seconds: float) -> Measured:
    """One case against a running server: Hello first when it is the node, then the measured writes."""
    async with PeerClient(server.address, timeout=30.0) as peer:
        node = server.kind == "node"
        if node and server.folder is not None:
            await peer.hello(hello(load_agreement(server.folder / "agreement.toml")))
        window = Window(server, warm_up, seconds)
        watcher = asyncio.get_running_loop().create_task(window.watch())
        if in_flight == 1:
            await unary(peer, incoming, window, node)
        else:
            await exchange(peer, incoming, window, in_flight, node)
        await watcher
    return window.result


@dataclass
class NodeCase:
    measured: Measured
    volumes_at_start: int
    volumes_at_end: int
    records_per_commit: float
    start_s: float  # from starting the node (journal replay included) to serving


def node_folder(seeded: Seed, folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "agreement.toml").write_text(AGREEMENT)
    (folder / "node.toml").write_text(CONFIG)
    KEYS[NODE].write(folder / "node.key")
    shutil.copyfile(seeded.journal, folder / "node.journal")
    return folder


def node_cases(seeded: Seed, folder: Path, in_flights: Sequence[int], warm_up: float, seconds: float,
               rng: np.random.Generator, restart: bool) -> list[NodeCase]:  # fmt: skip
    """Each case on a node started on a fresh copy of the seeded journal (restart), or all of them on one node."""
    cases: list[NodeCase] = []
    groups = [[in_flight] for in_flight in in_flights] if restart else [list(in_flights)]
    for number, group in enumerate(groups):
        server = Server("node", node_folder(seeded, folder / f"node-{number}"))
        incoming = Incoming(rng, seeded.next_in)
        volumes = server.volumes_at_start
        measured: list[tuple[Measured, int]] = []
        try:
            for in_flight in group:
                result = asyncio.run(drive(server, incoming, in_flight, warm_up, seconds))
                measured.append((result, volumes))
                volumes += VOLUMES_PER_NOTICE * result.total  # every notice acknowledged added its volumes
        finally:
            indexed, commits, records, healthy = server.stop()
        if not healthy:
            raise RuntimeError("the node's journal failed during the run")
        if server.volumes_at_start != seeded.volumes or indexed != volumes:
            raise RuntimeError(f"the node indexed {server.volumes_at_start:,} then {indexed:,} volumes, not "
                               f"{seeded.volumes:,} then {volumes:,}")  # fmt: skip
        for result, at_start in measured:
            at_end = at_start + VOLUMES_PER_NOTICE * result.total
            cases.append(NodeCase(result, at_start, at_end, records / max(commits, 1), server.start_s))
    return cases


def baseline_case(
    kind: str, folder: Path, in_flight: int, warm_up: float, seconds: float, rng: np.random.Generator
) -> Measured:
    """One case against the bare server or the floor (its journal in a fresh folder)."""
    if kind == "floor":
        folder.mkdir(parents=True)
    server = Server(kind, folder if kind == "floor" else None)
    try:
        return asyncio.run(drive(server, Incoming(rng, 1), in_flight, warm_up, seconds))
    finally:
        server.stop()


# -- the tables


@dataclass
class Row:
    volumes: int
    in_flight: int
    node: NodeCase
    bare: Measured
    floor: Measured


def render(lines: list[tuple[str, ...]], left: int) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rendered = [
        "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def ratio(node: float, bare: float, digits: int) -> str:
    return f"{node / bare:.{digits}f}" if bare and not math.isnan(node / bare) else "-"


def milliseconds(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.2f}"


def table(rows: Sequence[Row]) -> str:
    lines: list[tuple[str, ...]] = [
        ("volumes", "in flight", "rpc", "node ack/s", "p50 ms", "p99 ms", "bare ack/s", "p50 ms", "p99 ms",
         "x ack/s", "x p50", "x p99"),
    ]  # fmt: skip
    for row in rows:
        node, bare = row.node.measured, row.bare
        lines.append(
            (
                f"{row.volumes:,}",
                str(row.in_flight),
                "SubmitNotice" if row.in_flight == 1 else "Exchange",
                f"{node.rate:,.0f}",
                milliseconds(node.percentile(0.5)),
                milliseconds(node.percentile(0.99)),
                f"{bare.rate:,.0f}",
                milliseconds(bare.percentile(0.5)),
                milliseconds(bare.percentile(0.99)),
                ratio(node.rate, bare.rate, 2),
                ratio(node.percentile(0.5), bare.percentile(0.5), 1),
                ratio(node.percentile(0.99), bare.percentile(0.99), 1),
            )
        )
    return render(lines, 3)


def details(rows: Sequence[Row]) -> str:
    lines: list[tuple[str, ...]] = [
        ("volumes", "in flight", "node cpu", "its worker", "its client", "bare cpu", "its client", "volumes at start",
         "at end",
         "records/commit", "node start s"),
    ]  # fmt: skip
    for row in rows:
        node, bare = row.node.measured, row.bare
        lines.append(
            (
                f"{row.volumes:,}",
                str(row.in_flight),
                f"{node.server_cpu:.0%}",
                f"{node.worker_cpu:.0%}",
                f"{node.client_cpu:.0%}",
                f"{bare.server_cpu:.0%}",
                f"{bare.client_cpu:.0%}",
                f"{row.node.volumes_at_start:,}",
                f"{row.node.volumes_at_end:,}",
                f"{row.node.records_per_commit:.1f}",
                f"{row.node.start_s:.1f}",
            )
        )
    return render(lines, 2)


def floor_table(rows: Sequence[Row]) -> str:
    lines: list[tuple[str, ...]] = [
        ("volumes", "in flight", "floor ack/s", "p50 ms", "p99 ms", "floor cpu", "its client", "floor / bare",
         "node / floor"),
    ]  # fmt: skip
    for row in rows:
        node, bare, floor = row.node.measured, row.bare, row.floor
        lines.append(
            (
                f"{row.volumes:,}",
                str(row.in_flight),
                f"{floor.rate:,.0f}",
                milliseconds(floor.percentile(0.5)),
                milliseconds(floor.percentile(0.99)),
                f"{floor.server_cpu:.0%}",
                f"{floor.client_cpu:.0%}",
                ratio(floor.rate, bare.rate, 2),
                ratio(node.rate, floor.rate, 2),
            )
        )
    return render(lines, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time of each case (default 3)")
    parser.add_argument("--warm-up", type=float, default=1.0, help="unmeasured time before each case (default 1)")
    parser.add_argument("--volumes", type=int, nargs="+", default=list(VOLUMES), help="active volumes seeded")
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT), help="requests in flight")
    parser.add_argument(
        "--quick", action="store_true", help="0.5 s warm-up and 1 s per case, on one node per size (--reuse)"
    )
    parser.add_argument("--reuse", action="store_true", help="run the cases of a size on one node, which keeps the "
                        "notices of the cases before (faster: the journal is replayed once per size)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the journals (default: a temporary "
                        "directory; use a directory on the disk the node will use, not tmpfs)")  # fmt: skip
    parser.add_argument("--serve", choices=("node", "bare", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        pin(args.cpu)
        if args.serve == "node":
            asyncio.run(serve_node(args.folder, args.worker_cpu))
        else:
            asyncio.run(serve_bare(args.folder if args.serve == "floor" else None))
        return
    server_cpu, client_cpu = CPUS
    pin(client_cpu)
    if args.quick:
        args.warm_up, args.seconds, args.reuse = 0.5, 1.0, True
    rng = np.random.default_rng(args.seed)
    where = (
        "no pinning (fewer than 2 CPUs)"
        if server_cpu is None
        else f"server on CPU {server_cpu}, client on {client_cpu}"
    )
    print(f"{os.cpu_count()} CPUs, {where}; {args.warm_up:g} s warm-up then {args.seconds:g} s per case; "
          f"{'one node per size' if args.reuse else 'a node restarted from the seeded journal for each case'}",
          flush=True)  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="node-ack-bench-") as directory:
        for volumes in args.volumes:
            seeded = seed(Path(directory) / f"seed-{volumes}", volumes, rng)
            print(f"  {seeded.volumes:,} volumes: journal built in {seeded.build_s:.1f} s", flush=True)
            cases = node_cases(seeded, Path(directory) / f"nodes-{volumes}", args.in_flight, args.warm_up,
                               args.seconds, rng, restart=not args.reuse)  # fmt: skip
            for in_flight, case in zip(args.in_flight, cases, strict=True):
                bare = baseline_case("bare", Path(directory), in_flight, args.warm_up, args.seconds, rng)
                floor = baseline_case("floor", Path(directory) / f"floor-{volumes}-{in_flight}", in_flight,
                                      args.warm_up, args.seconds, rng)  # fmt: skip
                rows.append(Row(seeded.volumes, in_flight, case, bare, floor))
                print(f"  {seeded.volumes:,} volumes, {in_flight} in flight: node {case.measured.rate:,.0f}/s, "
                      f"bare {bare.rate:,.0f}/s, floor {floor.rate:,.0f}/s", flush=True)  # fmt: skip
    print()
    print("acknowledged notices per second and acknowledgement latency: node / bare grpc.aio server (x = node / bare)")
    print(table(rows))
    if any(row.node.measured.acknowledged == 0 for row in rows):
        print("- : the node acknowledged nothing in that window: it was paused for longer (at 1e5 volumes a full "
              "garbage collection of its heap takes seconds); use a longer --seconds")  # fmt: skip
    print()
    print("CPU used in the measured window (of one CPU), and the node's index and journal")
    print(details(rows))
    print()
    print("the floor: what the protocol asks of any node per notice (signatures, journal, answer), nothing else")
    print(floor_table(rows))


if __name__ == "__main__":
    main()
