"""What mutual TLS costs a unary call: the same node served with mutual TLS and in plaintext, in the same run.

    python bench/tls_unary.py [--seconds 3] [--connections 100]
    python bench/tls_unary.py --quick

Cases, each against a real node (`deconflict serve`, its own process, pinned to one CPU; the client on the other):
- call: the peer's Heartbeat, one after the other on one open connection (calls/s, latency p50 and p99). Under
  TLS each call is encrypted and the node looks the caller's identity up by its certificate (parsed once);
- connect: a new connection for each Heartbeat (connections/s, p50 and p99 of connect + call): under TLS, a full
  handshake with certificate verification on both sides, then the certificate check of the first call.
The ratios are TLS / plaintext, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deconflict.client.peer import PeerClient
from deconflict.conformance.target import packaged_agreement, packaged_test_key
from deconflict.models.channel import Heartbeat, Hello, VersionRange
from deconflict.node.config import load_agreement
from deconflict.security.credentials import ClientTls
from deconflict.security.pki import init_party

PARTY, PEER = "party-under-test", "conformance-suite"
CHANNEL = "conformance-suite:party-under-test"
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


@dataclass
class Measured:
    rate: float
    p50_ms: float
    p99_ms: float


def write_node(folder: Path, tls: bool) -> Path:
    (folder / "agreement.toml").write_bytes(packaged_agreement().read_bytes())
    # The node signs what it sends (DCF-SEC-006) with the published test key the conformance agreement holds.
    key = packaged_test_key(PARTY)
    (folder / key.name).write_bytes(key.read_bytes())
    signing = f'[[signing.keys]]\nkey_id = "{PARTY}/test-key-1"\nfile = "{key.name}"\n'
    if tls:
        for party in (PARTY, PEER):
            init_party(folder / "pki", party)
        security = (
            f'[tls]\ncertificate = "pki/{PARTY}/node.crt"\nkey = "pki/{PARTY}/node.key"\nca = "pki/{PARTY}/ca.crt"\n'
        )
        peer_ca = f'peer_ca = "pki/{PEER}/ca.crt"\n'
    else:
        security, peer_ca = "insecure = true\n", ""
    config = folder / "node.toml"
    config.write_text(
        f'party = "{PARTY}"\nlisten = "127.0.0.1:0"\njournal = "node.journal"\n{security}\n'
        f'[[channels]]\npeer = "{PEER}"\npeer_address = ""\nagreement = "agreement.toml"\n{peer_ca}\n{signing}'
    )
    return config


def start(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "deconflict", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if len(CPUS) > 1:  # read before the first start pinned this process to one
        os.sched_setaffinity(process.pid, {CPUS[0]})
        os.sched_setaffinity(0, {CPUS[1]})
    assert process.stdout is not None
    for line in process.stdout:
        if "serving on" in line:
            host_port = line.split("serving on ", 1)[1].split(" ", 1)[0]
            return process, host_port
    raise RuntimeError("the node did not start")


def client_tls(folder: Path) -> ClientTls:
    home = folder / "pki" / PEER
    return ClientTls(
        (home / "node.crt").read_bytes(),
        (home / "node.key").read_bytes(),
        (folder / "pki" / PARTY / "ca.crt").read_bytes(),
        PARTY,
    )


def beat() -> Heartbeat:
    return Heartbeat(channel_id=CHANNEL, party=PEER, sent_time=datetime.now(UTC), last_sequence_sent=0)


async def timed(seconds: float, step: Callable[[], Awaitable[object]], limit: int = 1_000_000) -> Measured:
    latencies: list[float] = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds and len(latencies) < limit:
        start = time.perf_counter()
        await step()
        latencies.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - begin
    latencies.sort()
    return Measured(
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


async def measure(
    folder: Path, address: str, tls: ClientTls | None, seconds: float, connections: int
) -> dict[str, Measured]:
    agreement = load_agreement(folder / "agreement.toml")
    hello = Hello(
        channel_id=CHANNEL,
        party=PEER,
        supported_versions=VersionRange(min_major=1, max_major=1),
        agreement_hash=agreement.sha256,
        agreement_version=agreement.model.version,
        sent_time=datetime.now(UTC),
        implementation="bench",
    )
    async with PeerClient(address, tls=tls) as peer:
        await peer.hello(hello)
        await timed(min(seconds, 1.0), lambda: peer.heartbeat(beat()))  # warm-up
        call = await timed(seconds, lambda: peer.heartbeat(beat()))

    async def connect_and_call() -> None:
        async with PeerClient(address, tls=tls) as fresh:
            await fresh.heartbeat(beat())

    connect = await timed(seconds * 10, connect_and_call, limit=connections)
    return {"call": call, "connect": connect}


def run(seconds: float, connections: int) -> dict[str, dict[str, Measured]]:
    results = {}
    for name, tls in (("plaintext", False), ("mutual TLS", True)):
        with tempfile.TemporaryDirectory(prefix="deconflict-bench-tls-") as temporary:
            folder = Path(temporary)
            process, address = start(write_node(folder, tls))
            try:
                results[name] = asyncio.run(
                    measure(folder, address, client_tls(folder) if tls else None, seconds, connections)
                )
            finally:
                process.terminate()
                process.wait(timeout=15)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring window of the call case")
    parser.add_argument("--connections", type=int, default=200, help="new connections in the connect case")
    parser.add_argument("--quick", action="store_true", help="short windows: a smoke run")
    options = parser.parse_args()
    seconds, connections = (0.5, 30) if options.quick else (options.seconds, options.connections)
    results = run(seconds, connections)
    plain, tls = results["plaintext"], results["mutual TLS"]
    print(f"{'case':10} {'transport':12} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for case in ("call", "connect"):
        for name, measured in results.items():
            m = measured[case]
            print(f"{case:10} {name:12} {m.rate:9.0f} {m.p50_ms:8.3f} {m.p99_ms:8.3f}")
        ratio = (
            f"{'':10} {'TLS / plain':12} {tls[case].rate / plain[case].rate:9.2f} "
            f"{tls[case].p50_ms / plain[case].p50_ms:8.2f} {tls[case].p99_ms / plain[case].p99_ms:8.2f}"
        )
        print(ratio)


if __name__ == "__main__":
    main()
