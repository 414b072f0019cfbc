"""A peer written in JavaScript talks to a real `deconflict serve` node: the wire protocol owes nothing to Python.

interop/node/submit_notice.js loads the project's .proto files with @grpc/proto-loader, says Hello, files one
FlightNotice in an Envelope it serializes itself, checks the logical acknowledgement and watches the channel for
the node's operational response; it prints a JSON summary. These tests run it against a node whose peer address
is empty (the peer only watches), then read the node's journal to check what the client says.

The npm packages are installed with `npm ci` from the committed lockfile once, into the pytest cache under the
lockfile's hash, and reused by later runs. The tests are skipped when node or npm is missing, or when npm cannot
reach the registry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.client.operator import OperatorClient
from deconflict.journal.base import Direction
from deconflict.models.envelope import Mode
from deconflict.node.config import load_config
from deconflict.v1 import envelope_pb2
from tests.nodes import CHANNEL, RU, TEST_KEYS, US, journal_entries, sortie, stored_envelopes, write_configs

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "interop" / "node"
SCRIPT = INTEROP / "submit_notice.js"
NPM_TIMEOUT = 120
MINIMUM_NODE = 18  # util.parseArgs
# What npm prints when the registry is out of reach (DNS, refused or cut connections, proxies, timeouts).
OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH")


# -- the client's packages, installed once per lockfile ------------------------------------------------------


def _cache_root(config: pytest.Config) -> Path:
    cache = getattr(config, "cache", None)  # None when pytest runs with -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir("interop-node"))
    return Path(tempfile.mkdtemp(prefix="interop-node-"))


@pytest.fixture(scope="session")
def node_modules(request: pytest.FixtureRequest) -> Path:
    """The folder of the client's npm packages, for NODE_PATH."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: the JavaScript interoperability client cannot run")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < MINIMUM_NODE:
        pytest.skip(f"node {version.strip()} is older than {MINIMUM_NODE}")
    manifests = [INTEROP / "package.json", INTEROP / "package-lock.json"]
    key = hashlib.sha256(b"".join(path.read_bytes() for path in manifests)).hexdigest()[:16]
    root = _cache_root(request.config)
    installed = root / key
    if (installed / "node_modules").is_dir():
        return installed / "node_modules"
    for stale in root.iterdir():  # installs for older lockfiles, and any left half-done
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f"{key}-"))
    for path in manifests:
        shutil.copy(path, staging / path.name)
    # Few and short retries: an unreachable registry is told within seconds, not after npm's minute of backoff.
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]
    command += ["--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=10000"]
    try:
        result = subprocess.run(command, cwd=staging, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.skip(f"npm ci did not finish within {NPM_TIMEOUT} s: is the npm registry out of reach?")
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        output = result.stdout + result.stderr
        offline = [line for line in output.splitlines() if any(code in line for code in OFFLINE)]
        if offline:
            pytest.skip(f"npm ci cannot reach the registry: {offline[0].strip()}")
        pytest.fail(f"npm ci failed in {staging}:\n{output}")
    staging.rename(installed)
    return installed / "node_modules"


# -- a real node, its peer being the JavaScript client --------------------------------------------------------


@dataclass
class Served:
    address: str
    folder: Path
    journal: Path
    agreement_hash: str
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.folder / "serve.log").read_text()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`deconflict serve` for ru-mod on a free port, answering automatically; its peer, us-dod, only watches."""
    ru_config, _, port, _ = write_configs(tmp_path, peer_addresses={RU: "", US: ""})
    loaded = load_config(ru_config)
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "deconflict", "serve", "--config", str(ru_config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    node = Served(f"127.0.0.1:{port}", tmp_path, loaded.journal_path, loaded.agreements[US].sha256.hex(), process)
    try:
        deadline = time.monotonic() + 20
        while not _listening(port):
            assert process.poll() is None, f"the node exited with {process.returncode}:\n{node.log()}"
            assert time.monotonic() < deadline, f"the node did not listen on {port} within 20 s:\n{node.log()}"
            time.sleep(0.05)
        yield node
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def submit(node_modules: Path, node: Served, *args: str, agreement_hash: str = "") -> subprocess.CompletedProcess[str]:
    """Run the JavaScript client as us-dod, the node's peer, with the agreement hash the node holds by default."""
    command = [
        "node",
        str(SCRIPT),
        "--address",
        node.address,
        "--channel",
        CHANNEL,
        "--party",
        US,
        "--recipient",
        RU,
        "--agreement-hash",
        agreement_hash or node.agreement_hash,
        "--agreement-version",
        "1",
        "--timeout",
        "30",
        # Signed as us-dod with the key write_configs wrote beside the configurations (DCF-SEC-006).
        "--key",
        str(node.folder / f"{US}.key"),
        "--key-id",
        TEST_KEYS[US].key_id,
        *args,
    ]
    return subprocess.run(
        command,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def summary_of(result: subprocess.CompletedProcess[str], node: Served) -> dict[str, Any]:
    assert result.returncode == 0, f"the client failed:\n{result.stderr}\nnode log:\n{node.log()}"
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


# -- the tests -----------------------------------------------------------------------------------------------


def test_a_javascript_peer_files_a_notice_and_gets_both_answers_dcf_env_001_dcf_ack_003_dcf_ack_011_dcf_str_002(
    node_modules, served
):
    summary = summary_of(submit(node_modules, served, "--frequency", "guard-121.5"), served)
    message_id = summary["message_id"]

    # Level 1, the logical acknowledgement: it names the message sent, its bytes and where the node stored it.
    ack = summary["acknowledgement"]
    assert ack["message_id"] == message_id
    assert ack["acknowledging_party"] == RU
    assert ack["message_sequence"] == 1
    assert ack["notice_id"] == summary["notice_id"]
    assert ack["notice_version"] == 1
    assert ack["late"] is False  # filed beyond the agreed lead time
    assert ack["response_due_time"] is not None  # the agreement sets a timer for notices
    assert ack["payload_sha256"] == summary["payload_sha256"]

    # The node's journal holds the notice at that position, byte for byte as the client serialized it.
    entry = journal_entries(served.journal)[ack["journal_position"]]
    assert entry.record.direction == Direction.IN
    assert entry.record.message_id == message_id
    assert entry.record.kind == "notice"
    signed = envelope_pb2.SignedPayload.FromString(entry.record.payload)
    assert signed.payload_type == "deconflict.v1.Envelope"
    assert hashlib.sha256(signed.payload).hexdigest() == summary["payload_sha256"]
    [received] = stored_envelopes(served.journal, Direction.IN)
    assert received.notice is not None
    assert received.notice.notice_id == summary["notice_id"]
    assert received.notice.owner == US
    assert received.notice.frequency_ids == ["guard-121.5"]
    assert received.notice.volumes[0].volume.polygon is not None
    assert len(received.notice.volumes[0].volume.polygon.vertices) == 4

    # Level 2, the operational response: a separate envelope the node sent, read by the client with Watch.
    [response] = summary["responses"]
    assert summary["response_kind"] == response["kind"] == "RESPONSE_KIND_ROGER"  # nothing conflicts
    assert response["in_reply_to"] == message_id
    assert response["sequence"] == 1
    [sent] = stored_envelopes(served.journal, Direction.OUT)
    assert sent.message_id == response["message_id"]
    assert sent.in_reply_to == message_id
    assert sent.response is not None
    assert sent.response.notice_id == summary["notice_id"]


def test_a_javascript_peer_reads_an_unable_naming_the_conflict_dcf_rsp_006_dcf_rsp_027(node_modules, served):
    # ru-mod's own sortie over the same box, at the same hour, filed first by its operator.
    mine = sortie("ru-mod/interop/over-the-box", latitude=35.5, longitude=36.05, start_in=timedelta(hours=2))

    async def file() -> None:
        async with OperatorClient(served.address) as operator:
            await operator.file_notice(mine, mode=Mode.OPERATIONAL)

    asyncio.run(file())
    summary = summary_of(submit(node_modules, served, "--start-in", "120"), served)

    # The watch streams the node's notice (sequence 1) before the answer (sequence 2): the client skips it.
    [response] = summary["responses"]
    assert response["sequence"] == 2
    assert response["in_reply_to"] == summary["message_id"]
    assert response["kind"] == "RESPONSE_KIND_UNABLE"
    assert response["reasons"] == ["UNABLE_REASON_CONFLICT"]
    [conflict] = response["conflicts"]
    assert conflict == {"notice_id": mine.notice_id, "owner": RU, "version": 1, "volume_index": 0}


def test_a_javascript_peer_holding_another_agreement_is_refused_at_hello_dcf_hel_006(node_modules, served):
    result = submit(node_modules, served, agreement_hash="ab" * 32)

    assert result.returncode == 1, result.stdout
    assert "Hello refused: FAILED_PRECONDITION" in result.stderr
    assert "AGREEMENT_MISMATCH" in result.stderr
    assert result.stdout == ""
    assert journal_entries(served.journal) == []  # nothing was written
