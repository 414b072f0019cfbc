"""Witnessing the peer's journal (DCF-JNL-009 to DCF-JNL-011), and what it leaves on disk.

About once per heartbeat interval, beside the heartbeats and off the path of every message, the link asks the peer
for its latest checkpoint of their channel, verifies its signature with the peer's keys in the agreement and its
consistency with the last checkpoint of that journal this node cosigned (a consistency proof from the peer),
cosigns it and returns the cosignature with `Cosign`. What cannot be verified is not cosigned (DCF-JNL-010). Two
validly signed checkpoints that are not consistent are a fork (DCF-JNL-011): an operator alert, and both notes
kept as evidence.

`WitnessStore` is a small SQLite file beside the journal, `<journal>.witness` (the journal holds the messages
exchanged with the peer only, and the journal's lock covers this file too): the last checkpoint cosigned per
journal of the peer (so that a restarted node checks against it), the largest of this node's own checkpoints the
peer cosigned, with its cosignatures, and the evidence of each fork. A few rows, written on a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from deconflict.client.peer import PeerClient
from deconflict.journal.base import JournalFormatError
from deconflict.node.faults import Fault
from deconflict.node.ledger import ChannelState
from deconflict.node.sidefiles import BUSY_TIMEOUT_MS, beside, to_micros
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.transparency.checkpoint import (
    Checkpoint,
    CheckpointKey,
    SignedCheckpoint,
    journal_origin,
    open_checkpoint,
)
from deconflict.transparency.cosignature import CosignerKey
from deconflict.transparency.fork import Fork, check_fork
from deconflict.transparency.note import NoteError, parse_note

if TYPE_CHECKING:
    from deconflict.node.node import Node

__all__ = ["Witness", "WitnessStore", "peer_checkpoint_keys", "peer_cosigners", "witness_path"]

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
# "DCFW": marks the file as a deconflict witness file, so a stranger's SQLite file is refused, not changed.
APPLICATION_ID: Final = 0x44434657
_SCHEMA: Final = """
CREATE TABLE cosigned (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    note TEXT NOT NULL,
    time_us INTEGER NOT NULL
) STRICT;
CREATE TABLE cosignatures (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    note TEXT NOT NULL,
    time_us INTEGER NOT NULL
) STRICT;
CREATE TABLE forks (
    fork_id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    first_note TEXT NOT NULL,
    second_note TEXT NOT NULL,
    reason TEXT NOT NULL,
    detected_time_us INTEGER NOT NULL,
    UNIQUE (origin, first_note, second_note)
) STRICT;
"""
SUFFIX: Final = "witness"


def witness_path(journal_path: Path) -> Path:
    """Beside the journal: `ru-mod.journal` -> `ru-mod.journal.witness`."""
    return beside(journal_path, SUFFIX)


def peer_checkpoint_keys(channel: ChannelState) -> list[CheckpointKey]:
    """The keys that may sign the peer's checkpoints: its PartyKeys in the agreement (DCF-JNL-006)."""
    return [CheckpointKey.from_party_key(key) for key in channel.agreement.model.keys if key.party == channel.peer]


def peer_cosigners(channel: ChannelState) -> list[CosignerKey]:
    """The keys that may cosign this node's checkpoints: the peer's PartyKeys in the agreement (DCF-JNL-009)."""
    return [
        CosignerKey.of_party(key.party, key.key_id, key.ed25519_public_key)
        for key in channel.agreement.model.keys
        if key.party == channel.peer
    ]


def _stored(note: str) -> SignedCheckpoint:
    """A note this node verified before it stored it: parsed again, not verified again (the keys may have changed
    since; what was cosigned stays cosigned)."""
    parsed = parse_note(note)
    checkpoint = Checkpoint.parse(parsed.text)
    return SignedCheckpoint(checkpoint, parsed, checkpoint.origin.rpartition("/")[2], ())


class WitnessStore:
    """The witness file of one node (created when missing). Opening blocks: call it at start."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"witness {self.path.name}")
        self._connection: sqlite3.Connection | None = None
        try:
            cosigned, cosignatures = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=True)
            raise
        # The last checkpoint of each journal of the peer this node cosigned (DCF-JNL-010), by origin.
        self.cosigned: dict[str, SignedCheckpoint] = {origin: _stored(note) for origin, note in cosigned}
        # The largest checkpoint of each of this node's journals the peer cosigned, with its cosignatures.
        self.cosignatures: dict[str, SignedCheckpoint] = {origin: _stored(note) for origin, note in cosignatures}

    async def keep_cosigned(self, signed: SignedCheckpoint, now: datetime) -> None:
        """The checkpoint of the peer's journal with this node's cosignature: durable before the cosignature
        leaves, so that a restarted node checks the next one against it."""
        self.cosigned[signed.checkpoint.origin] = signed
        await self._run(self._replace, "cosigned", signed, now)

    async def keep_cosignature(self, signed: SignedCheckpoint, now: datetime) -> None:
        """One of this node's checkpoints as the peer cosigned it; an older one than kept adds nothing (the larger
        one vouches for every entry of the smaller through consistency)."""
        kept = self.cosignatures.get(signed.checkpoint.origin)
        if kept is not None and kept.checkpoint.size > signed.checkpoint.size:
            return
        self.cosignatures[signed.checkpoint.origin] = signed
        await self._run(self._replace, "cosignatures", signed, now)

    async def keep_fork(self, fork: Fork, now: datetime) -> bool:
        """Keep the evidence of a fork; False if this very pair was kept before."""
        result: bool = await self._run(self._insert_fork, fork, now)
        return result

    async def forks(self) -> list[tuple[str, str, str, str]]:
        """Every fork kept: origin, the two notes (smaller size first), and why they are not consistent."""
        result: list[tuple[str, str, str, str]] = await self._run(self._read_forks)
        return result

    async def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self._run(self._disconnect)
        self._executor.shutdown(wait=True)

    # -- the store's thread

    async def _run(self, function: Callable[..., Any], *arguments: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *arguments)

    def _connect(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            (application_id,) = connection.execute("PRAGMA application_id").fetchone()
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if application_id == 0 and version == 0 and tables == 0:
                connection.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; "
                    f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
            elif application_id != APPLICATION_ID or version != SCHEMA_VERSION:
                raise JournalFormatError(f"{self.path} is not a witness file of schema version {SCHEMA_VERSION}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            cosigned = connection.execute("SELECT origin, note FROM cosigned").fetchall()
            cosignatures = connection.execute("SELECT origin, note FROM cosignatures").fetchall()
        except sqlite3.DatabaseError as error:
            connection.close()
            raise JournalFormatError(f"{self.path} is not a witness file: {error}") from error
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return cosigned, cosignatures

    def _replace(self, table: str, signed: SignedCheckpoint, now: datetime) -> None:
        assert self._connection is not None
        self._connection.execute(
            f"INSERT OR REPLACE INTO {table} (origin, size, note, time_us) VALUES (?, ?, ?, ?)",
            (signed.checkpoint.origin, signed.checkpoint.size, signed.encode(), to_micros(now)),
        )

    def _insert_fork(self, fork: Fork, now: datetime) -> bool:
        assert self._connection is not None
        cursor = self._connection.execute(
            "INSERT OR IGNORE INTO forks (origin, first_note, second_note, reason, detected_time_us) "
            "VALUES (?, ?, ?, ?, ?)",
            (fork.origin, fork.first.encode(), fork.second.encode(), fork.reason, to_micros(now)),
        )
        return cursor.rowcount == 1

    def _read_forks(self) -> list[tuple[str, str, str, str]]:
        assert self._connection is not None
        rows = self._connection.execute("SELECT origin, first_note, second_note, reason FROM forks ORDER BY fork_id")
        return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Witness:
    """Witnesses the peer's journal of one channel, over the link's connection."""

    def __init__(self, node: Node, channel: ChannelState) -> None:
        self.node = node
        self.channel = channel
        self.origin = journal_origin(channel.channel_id, channel.peer)
        self._delivered = ""  # the note text whose cosignature the peer took, on this run
        self._forked_from = ""  # the cosigned note a fork was found against, on this run: one alert for it

    async def run(self, peer: PeerClient, greeted: Callable[[], bool]) -> None:
        """Until cancelled: about once per heartbeat interval, sign this node's own checkpoint if its journal grew
        (DCF-JNL-007), and witness the peer's. A failure here never takes the link down: it is logged and tried
        again at the next interval."""
        interval = self.channel.agreement.model.heartbeat_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            self.node.trees.sign_grown(self.channel.channel_id)
            if self.node.trees.signer is None or not greeted():
                continue
            try:
                await self.witness(peer)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the peer unreachable, or refusing: the next interval tries again
                log.info("%s: witnessing %s: %s", self.node.party, self.origin, error)

    async def witness(self, peer: PeerClient) -> None:
        """One round: the peer's latest checkpoint checked, cosigned and returned, or a fork kept and alerted."""
        signer = self.node.trees.signer
        if signer is None:
            return
        channel_id = self.channel.channel_id
        served = (await peer.get_checkpoint(channel_id)).checkpoint
        try:
            latest = open_checkpoint(served, peer_checkpoint_keys(self.channel))
        except NoteError as error:  # DCF-JNL-010: nothing unverified is cosigned
            log.warning("%s: the checkpoint %s serves does not verify: %s", self.node.party, self.channel.peer, error)
            return
        if latest.checkpoint.origin != self.origin:
            log.warning(
                "%s: %s served a checkpoint of %s", self.node.party, self.channel.peer, latest.checkpoint.origin
            )
            return
        store = self.node.witnessed
        last = store.cosigned.get(self.origin)
        if last is not None and last.note.text == latest.note.text:
            if self._delivered != latest.note.text:  # cosigned before a restart or a lost answer: return it again
                ours = [line for line in last.note.signatures if line.name == signer.name]
                await peer.cosign(channel_id, served, [line.line().encode() for line in ours])
                self._delivered = latest.note.text
            return
        if last is not None:
            smaller, larger = sorted((last, latest), key=lambda signed: signed.checkpoint.size)
            first, second = smaller.checkpoint.size, larger.checkpoint.size
            proof = (
                list((await peer.get_consistency_proof(channel_id, first, second)).proof) if 0 < first < second else []
            )
            # The faulty variant (node/faults.py) takes any checkpoint for a consistent one.
            fork = None if Fault.COSIGN_ANYTHING in self.node.faults else check_fork(last, latest, proof)
            if fork is not None:
                await self._forked(fork, last)
                return
            if latest.checkpoint.size < last.checkpoint.size:
                return  # an older checkpoint than one already cosigned: nothing new to vouch for
        now = self.node.clock()
        line = signer.cosign(latest, int(now.timestamp()))
        cosigned = SignedCheckpoint(latest.checkpoint, latest.note.with_signature(line), latest.party, latest.signed_by)
        await store.keep_cosigned(cosigned, now)  # durable before it leaves (DCF-JNL-010 across a restart)
        await peer.cosign(channel_id, served, [line.line().encode()])
        self._delivered = latest.note.text

    async def _forked(self, fork: Fork, last: SignedCheckpoint) -> None:
        """DCF-JNL-011: both checkpoints kept, and the operators told, once per checkpoint cosigned (a forked peer
        serves a new checkpoint every interval; the first pair is the evidence)."""
        if self._forked_from == last.note.text:
            return
        self._forked_from = last.note.text
        if await self.node.witnessed.keep_fork(fork, self.node.clock()):
            self.node.alert(operator_pb.ALERT_KIND_JOURNAL_FORK, fork.describe(), self.origin, self.channel)
