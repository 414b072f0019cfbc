"""The journal in one SQLite file: WAL mode, synchronous=FULL, group commit on a dedicated writer thread.

Why this shape (docs/spec/02-envelope.md DCF-ENV-031; the performance budget):
- An fsync on the event loop thread sends every other request's latency up with it, so the loop thread never
  writes: `append` only numbers the record and queues it; the writer thread, which alone holds the write
  connection, inserts everything queued in ONE transaction, commits (the fsync), then resolves the futures on the
  loop with a single `call_soon_threadsafe` per batch.
- A commit per record would cap the node at the disk's fsync rate; one commit per batch of whatever queued up
  during the previous fsync lets throughput grow with the number of concurrent appenders, with no added delay
  when the node is idle. When busy, or when no peer waits, the writer also waits up to COMMIT_DELAY for more
  records while they keep coming (PostgreSQL's commit_delay), and the loop hands records over a list per loop
  iteration: on a node sharing one CPU with its writer, each wake-up of the writer cost a thread switch and each
  commit an fsync.
- A failed commit leaves the journal's durable content unknown to this process, so the journal fails every
  pending record and refuses all later ones; the node stops and a restart replays what is durable. SQLite's
  transaction makes a batch land whole or not at all.

Positions are assigned at `append` time, on the loop thread, so call order is position order and the writer only
stores what it is given. The file carries `PRAGMA application_id` and its schema version in `PRAGMA user_version`.

Tamper evidence (deconflict.journal.evidence): the writer thread hashes each batch before its transaction, never
the loop thread: each entry's link in the chain over the file, and each channel's Merkle tree, whose heads are
stored in the same transaction as the entries. Schema version 2 added them; a version 1 file is upgraded when a
writer opens it (the evidence then vouches for the entries as they were at the upgrade), and read as it is.
Schema version 3 lets the entries hold this node's own acknowledgements (direction 'ack_out'); an older release
refuses the file rather than meet a direction it does not know.

Each committed batch's leaf hashes go back to the loop, with each entry's index in its channel's journal
(DCF-JNL-005), to `on_durable` (the node's per-channel trees) before the batch's futures resolve; the loop numbers
each channel's entries at `append`, as it numbers the file's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from deconflict.journal.base import (
    ChannelLeaf,
    Direction,
    DurableListener,
    Entry,
    Journal,
    JournalFormatError,
    JournalStats,
    JournalUnavailableError,
    Record,
    from_micros,
    to_micros,
)
from deconflict.journal.evidence import FIRST_LINK, EntryRow, Evidence
from deconflict.transparency.merkle import CompactRange

if sys.platform != "win32":
    import fcntl

__all__ = [
    "SCHEMA_VERSION",
    "SqliteJournal",
    "StoredHeads",
    "open_journal",
    "read_evidence",
    "read_journal",
    "remove_journal",
]

_log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 3
# Versions a reader reads as they are; a writer upgrades the older ones (see _upgrade).
_READABLE_VERSIONS: Final = (1, 2, 3)
# The first version that keeps tamper evidence.
_EVIDENCE_VERSION: Final = 2
# "DCFJ": marks the file as a deconflict journal, so a stranger's SQLite file is refused, not migrated.
APPLICATION_ID: Final = 0x4443464A

_SCHEMA_V1: Final = """
CREATE TABLE entries (
    position INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'ack_in')),
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    stored_time_us INTEGER NOT NULL,
    meta BLOB NOT NULL
) STRICT;
CREATE INDEX entries_by_sequence ON entries (channel_id, direction, sequence);
"""
# Version 2, for a new file as for an upgraded one (so both have the same schema): each entry's link, the file's
# head (size and last link) and each channel's tree head (size, root, compact range), all written by the writer in
# the transaction of the entries they cover.
_SCHEMA_V2: Final = (
    "ALTER TABLE entries ADD COLUMN link BLOB",
    "CREATE TABLE journal_head (singleton INTEGER PRIMARY KEY CHECK (singleton = 0), size INTEGER NOT NULL, "
    "link BLOB NOT NULL) STRICT",
    "CREATE TABLE channel_heads (channel_id TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, "
    "subtrees BLOB NOT NULL) STRICT",
)
_COLUMNS: Final = "position, channel_id, direction, message_id, sender, sequence, kind, payload, stored_time_us, meta"
# Version 3, for a new file as for an upgraded one: direction 'ack_out' allowed. SQLite cannot change a CHECK
# constraint in place, so the rows move, unchanged (links included), to a table that allows it.
_SCHEMA_V3: Final = (
    """CREATE TABLE entries_v3 (
    position INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'ack_in', 'ack_out')),
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    stored_time_us INTEGER NOT NULL,
    meta BLOB NOT NULL,
    link BLOB
) STRICT""",
    f"INSERT INTO entries_v3 ({_COLUMNS}, link) SELECT {_COLUMNS}, link FROM entries ORDER BY position",
    "DROP TABLE entries",
    "ALTER TABLE entries_v3 RENAME TO entries",
    "CREATE INDEX entries_by_sequence ON entries (channel_id, direction, sequence)",
)
_INSERT: Final = f"INSERT INTO entries ({_COLUMNS}, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SET_JOURNAL_HEAD: Final = "INSERT OR REPLACE INTO journal_head (singleton, size, link) VALUES (0, ?, ?)"
_SET_CHANNEL_HEAD: Final = "INSERT OR REPLACE INTO channel_heads (channel_id, size, root, subtrees) VALUES (?, ?, ?, ?)"
_PAGE: Final = f"SELECT {_COLUMNS} FROM entries WHERE position >= ? ORDER BY position LIMIT ?"

SYNCHRONOUS_MODES: Final = ("FULL", "NORMAL")
# One transaction holds about at most this many records, or this many payload bytes (a record may carry up to
# 1 MiB): bounds a commit's duration and memory, not throughput.
MAX_BATCH: Final = 4096
MAX_BATCH_BYTES: Final = 16 << 20
# The writer may wait this long (seconds) for more records before a commit: see SqliteJournal._take.
COMMIT_DELAY: Final = 0.003
COMMIT_GAP: Final = 0.001  # ... but no longer than this after the last records came, when no more come
# entries() reads this many rows per statement, so no read transaction stays open across a long replay.
_PAGE_SIZE: Final = 1024
_BUSY_TIMEOUT_MS: Final = 5000
# The checkpointer copies the WAL back into the database about every this many WAL frames (pages) written, as
# SQLite's automatic checkpoint would. Python cannot see the frame count, so the writer estimates it: a commit
# rewrites at least the last table page and an index page, plus the pages its rows fill.
CHECKPOINT_FRAMES: Final = 1000
_PAGE_BYTES: Final = 4096
_FRAMES_PER_COMMIT: Final = 2
# SQLite restarts the WAL from its beginning (overwriting, which keeps fsync cheap) only once a checkpoint has
# caught up with its end; under sustained appends a concurrent checkpoint never does. Past this many frames
# (16 MB) the writer runs one checkpoint itself between two commits, so that the next one restarts the WAL.
MAX_WAL_FRAMES: Final = 4096
_MAX_INT64: Final = (1 << 63) - 1
_DIRECTIONS: Final = {d.value: d for d in Direction}
_RECEIVED: Final = Direction.IN.value

# A row as inserted (EntryRow): position, then the record's fields with the time in integer microseconds UTC.
_Item = tuple[EntryRow, asyncio.Future[int]]


def open_journal(path: Path, *, synchronous: str = "FULL") -> SqliteJournal:
    """Open (creating if needed) the journal at `path`. See SqliteJournal."""
    return SqliteJournal(path, synchronous=synchronous)


class SqliteJournal:
    """The Journal on SQLite.

    Opening blocks until the writer thread has opened the file and checked (or created) its schema: call it at
    start, before serving. No event loop is needed to open and replay; the journal binds to the running loop at
    the first `append` and must then always be used from that loop's thread.

    `before_commit`, when set, runs on the writer thread inside each transaction, after the inserts and before
    the commit; tests use it to inject faults and to see which thread commits.
    """

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        if mode != "FULL":
            _log.warning(
                "journal %s opened with synchronous=%s: acknowledged records may be lost on power loss", path, mode
            )
        self.path = Path(path)
        self.synchronous = mode
        self.before_commit: Callable[[sqlite3.Connection], None] | None = None
        self.on_durable: DurableListener | None = None
        self._lock_fd = _lock(self.path)
        # The loop thread hands records over a list at a time: one wake-up of the writer per loop iteration,
        # not per record (each wake-up costs a pair of thread switches, and both threads share the GIL).
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        self._handover: list[_Item] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._size = 0
        self._channel_sizes: dict[str, int] = {}  # the loop thread's, as _size
        self._closed = False
        # Set once, by the writer thread, when a transaction fails; read by append on the loop thread.
        self._failure: BaseException | None = None
        self.commit_delay = COMMIT_DELAY
        self._busy = False  # the previous batch held several received messages
        self._commits = 0
        self._records_committed = 0
        self._largest_batch = 0
        self._evidence = Evidence()  # the writer thread's alone, once open
        self._evidence_seconds = 0.0
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._readers_closed = False
        self._unchecked_frames = 0
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"journal-writer {self.path.name}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            self._thread.join()
            _unlock(self._lock_fd)
            raise self._open_error
        # The writer waits for its first batch: its evidence can be read here, once.
        self._channel_sizes = {channel: tree.size for channel, tree in self._evidence.channels.items()}
        self._checkpointer = _Checkpointer(self.path)

    # -- the Journal interface -------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def append(self, record: Record) -> asyncio.Future[int]:
        """Number the record, queue it for the writer and return the future of its position.

        The position is `size` as read just before this call, so a caller can put it in what it stores with
        the record (an acknowledgement's journal_position) before appending.

        Once storage has failed, or after close, the future comes back already failed with
        JournalUnavailableError and the record takes no position: the caller has one error path, the future.
        A record of the wrong types (which would fail the whole batch in the writer) is a programming error,
        raised here as TypeError or ValueError; it takes no position either. Cancelling the future does not
        withdraw the record.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("the journal is bound to another event loop")
        row = _row(self._size, record)
        future: asyncio.Future[int] = loop.create_future()
        if self._failure is not None:
            future.set_exception(self._unavailable())
            return future
        if self._closed:
            future.set_exception(JournalUnavailableError(f"journal {self.path} is closed"))
            return future
        if not self._handover:
            loop.call_soon(self._hand_over)
        self._handover.append((row, future))
        self._size += 1
        self._channel_sizes[record.channel_id] = self._channel_sizes.get(record.channel_id, 0) + 1
        return future

    def channel_size(self, channel_id: str) -> int:
        return self._channel_sizes.get(channel_id, 0)

    def _hand_over(self) -> None:
        items, self._handover = self._handover, []
        if items:
            self._queue.put(items)

    def entries(self, from_position: int = 0) -> Iterator[Entry]:
        """Durable entries from `from_position` on, page by page; entries that become durable during the
        iteration may or may not be included."""
        with self._reader() as connection:
            yield from _iter_pages(connection, from_position)

    async def read(self, from_position: int, limit: int) -> list[Entry]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        return await asyncio.to_thread(self._read_page, from_position, limit)

    async def close(self) -> None:
        """Let the writer commit everything queued, resolve those futures, then release the file."""
        # Readers go first, so the writer's connection is the last one and SQLite checkpoints and removes the WAL.
        with self._readers_lock:
            self._readers_closed = True
            readers, self._readers = self._readers, []
        for connection in readers:
            connection.close()
        await asyncio.to_thread(self._checkpointer.stop)
        if not self._closed:
            self._closed = True
            self._hand_over()
            self._queue.put(None)
        # Joining off the loop lets the writer's last call_soon_threadsafe callbacks run first (FIFO).
        await asyncio.to_thread(self._thread.join)
        _unlock(self._lock_fd)
        self._lock_fd = -1

    # -- counters and state ----------------------------------------------------------------------------------

    @property
    def stats(self) -> JournalStats:
        return JournalStats(self._commits, self._records_committed, self._largest_batch, self._evidence_seconds)

    @property
    def writer_thread_id(self) -> int | None:
        return self._thread.ident

    @property
    def failure(self) -> BaseException | None:
        """The storage error that made the journal unavailable, if any."""
        return self._failure

    # -- the writer thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            connection = _connect_writer(self.path, self.synchronous)
            try:
                self._evidence = _load_evidence(connection, self.path)
            except BaseException:
                connection.close()
                raise
            self._size = self._evidence.size
        except BaseException as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                batch, closing = self._take()
                if batch:
                    if self._failure is None:
                        self._commit(connection, batch)
                    else:
                        self._post(self._fail_batch, batch)
                if closing:
                    return
        finally:
            connection.close()

    def _take(self) -> tuple[list[_Item], bool]:
        """Block for the first records, then take whatever else is queued: that is the group of the commit.

        A received message ('in') has a peer waiting for its acknowledgement; the others do not. The writer
        waits up to COMMIT_DELAY for more records (as PostgreSQL's commit_delay) while the batch holds no
        received message, or when the previous batch held several (the node is busy): on a node sharing one
        CPU with its writer, a commit per record costs an fsync and a thread switch each. It stops waiting
        COMMIT_GAP after the last records came: appenders that all wait on this commit send no more. A lone
        received message is committed at once, so an idle node adds no delay.
        """
        items = self._queue.get()
        if items is None:
            return [], True
        batch = items
        batch_bytes = sum(len(row[7]) for row, _ in items)
        received = sum(row[2] == _RECEIVED for row, _ in items)
        deadline = time.monotonic() + self.commit_delay
        while len(batch) < MAX_BATCH and batch_bytes < MAX_BATCH_BYTES:
            wait = min(deadline - time.monotonic(), COMMIT_GAP) if self._busy or not received else 0.0
            try:
                items = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if items is None:
                self._busy = received > 1
                return batch, True
            batch.extend(items)
            batch_bytes += sum(len(row[7]) for row, _ in items)
            received += sum(row[2] == _RECEIVED for row, _ in items)
        self._busy = received > 1
        return batch, False

    def _commit(self, connection: sqlite3.Connection, batch: list[_Item]) -> None:
        try:
            # Hashed before the transaction, so the write lock is held for the inserts only. A failure past this
            # point stops the journal, so the evidence needs no rollback: a restart loads it from the file.
            started = time.perf_counter()
            evidence = self._evidence
            rows = []
            leaves: list[ChannelLeaf] = []
            for row, _ in batch:
                link, leaf = evidence.append(row)
                rows.append((*row, link))
                leaves.append((row[1], evidence.channels[row[1]].size - 1, leaf))
            channels = {row[1] for row, _ in batch}
            heads = [(channel, *_channel_head(evidence.channels[channel])) for channel in channels]
            self._evidence_seconds += time.perf_counter() - started
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(_INSERT, rows)
            connection.execute(_SET_JOURNAL_HEAD, (evidence.size, evidence.link))
            connection.executemany(_SET_CHANNEL_HEAD, heads)
            if self.before_commit is not None:
                self.before_commit(connection)
            connection.execute("COMMIT")
        except Exception as exc:
            # The records were not acknowledged; whether a failed COMMIT reached the disk is unknown, so the
            # journal stops here and a restart decides from what is on disk.
            with contextlib.suppress(Exception):
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            _log.error("journal %s: storage failed, refusing further appends: %r", self.path, exc)
            self._failure = exc
            self._post(self._fail_batch, batch)
            return
        self._commits += 1
        self._records_committed += len(batch)
        self._largest_batch = max(self._largest_batch, len(batch))
        self._post(self._resolve, batch, leaves)
        batch_bytes = sum(len(row[7]) + len(row[9]) for row, _ in batch)
        self._unchecked_frames += _FRAMES_PER_COMMIT + batch_bytes // _PAGE_BYTES
        if self._unchecked_frames >= CHECKPOINT_FRAMES:
            self._unchecked_frames = 0
            self._checkpoint(connection)

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        """Hand the checkpoint to the checkpointer, unless the WAL outgrew it; the batch is already resolved,
        so a checkpoint here delays only the records queued behind it, and rarely."""
        if self._checkpointer.running and not self._checkpointer.wal_too_long:
            self._checkpointer.request()
            return
        try:
            busy, wal_frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the records are durable in the WAL; a failing disk fails the next commit
            _log.warning("journal %s: checkpoint failed: %r", self.path, exc)
            return
        # Caught up: the next commit restarts the WAL. Otherwise (the checkpointer was still busy) try again later.
        self._checkpointer.wal_too_long = bool(busy) or copied < wal_frames

    def _post(self, callback: Callable[..., None], *arguments: object) -> None:
        loop = self._loop
        if loop is None:  # pragma: no cover - items exist only after append bound a loop
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
            loop.call_soon_threadsafe(callback, *arguments)

    # -- the loop thread -------------------------------------------------------------------------------------

    def _resolve(self, batch: list[_Item], leaves: list[ChannelLeaf]) -> None:
        # The listener first: an entry is in its channel's tree before anyone learns its position.
        if self.on_durable is not None:
            try:
                self.on_durable(leaves)
            except Exception:  # the entries are durable whatever the listener does; their writers must hear it
                _log.exception("journal %s: the durable listener failed", self.path)
        _resolve_batch(batch)

    def _fail_batch(self, batch: list[_Item]) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(self._unavailable())

    def _unavailable(self) -> JournalUnavailableError:
        # A fresh exception per future: one instance raised in many tasks would pile up their tracebacks.
        error = JournalUnavailableError(f"journal {self.path} is unavailable: storage failed ({self._failure!r})")
        error.__cause__ = self._failure
        return error

    # -- readers ---------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """Borrow a read-only connection (never the writer's), from any thread, one user at a time."""
        with self._readers_lock:
            if self._readers_closed:
                raise JournalUnavailableError(f"journal {self.path} is closed")
            connection = self._readers.pop() if self._readers else None
        if connection is None:
            connection = _connect_reader(self.path)
        try:
            yield connection
        finally:
            with self._readers_lock:
                keep = not self._readers_closed
                if keep:
                    self._readers.append(connection)
            if not keep:
                connection.close()

    def _read_page(self, from_position: int, limit: int) -> list[Entry]:
        with self._reader() as connection:
            return [_entry(row) for row in connection.execute(_PAGE, (from_position, limit))]


class _Checkpointer:
    """Copies the WAL back into the database file on its own thread and connection, so that no commit waits
    for a checkpoint's writes and fsync (with SQLite's automatic checkpoint in the commit they made the p99)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._due = threading.Event()
        self._stopping = False
        # Set here, read and cleared by the writer thread: the WAL is past MAX_WAL_FRAMES.
        self.wal_too_long = False
        # False if the checkpointer could not start: the writer then checkpoints itself.
        self.running = True
        self._thread = threading.Thread(target=self._run, name=f"journal-checkpointer {path.name}", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._due.set()

    def stop(self) -> None:
        """Blocking; afterwards the writer's connection is the last one, and its close checkpoints the rest."""
        self._stopping = True
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            _log.warning("journal %s: checkpointer not started, the writer checkpoints itself: %r", self._path, exc)
            self.running = False
            return
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stopping:
                    return
                try:
                    # PASSIVE never waits for the writer nor blocks it.
                    _, wal_frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:
                    _log.warning("journal %s: checkpoint failed: %r", self._path, exc)
                    continue
                if wal_frames > MAX_WAL_FRAMES:
                    self.wal_too_long = True
        finally:
            connection.close()


def remove_journal(path: Path) -> None:
    """Delete a closed journal and its companion files (WAL, shared memory, lock): for test resets only."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}.lock"):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / name).unlink()


def read_journal(path: Path, from_position: int = 0) -> Iterator[Entry]:
    """Durable entries of the journal at `path`, read-only and without taking the writer's lock: for tools that
    inspect or verify a journal, even while its node runs."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no journal at {path}")
    connection = _connect_reader(Path(path))
    try:
        _check_format(connection, Path(path))
        yield from _iter_pages(connection, from_position)
    finally:
        connection.close()


@dataclass(frozen=True, slots=True)
class StoredHeads:
    """The heads as the writer last stored them: the file's size and last link, and each channel's tree head."""

    size: int | None  # None: the file has no head
    link: bytes | None
    channels: dict[str, tuple[int, bytes, bytes]]  # channel id -> size, root, compact range (CompactRange.to_bytes)


@contextlib.contextmanager
def read_evidence(path: Path) -> Iterator[tuple[StoredHeads, Iterator[tuple[EntryRow, bytes | None]]]]:
    """The heads and every entry as stored, with its link, in position order, all from one snapshot of the file:
    read-only, without the writer's lock, while a node appends. (The snapshot holds the WAL from being copied back
    while it is read.) A journal of schema version 1 keeps no evidence: JournalFormatError."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no journal at {path}")
    connection = _connect_reader(Path(path))
    try:
        version = _check_format(connection, Path(path))
        if version < _EVIDENCE_VERSION:
            raise JournalFormatError(
                f"{path} is a journal of schema version {version}, which keeps no tamper evidence; a node of this "
                f"release adds it (schema version {SCHEMA_VERSION}) when it opens the journal"
            )
        connection.execute("BEGIN")
        head = connection.execute("SELECT size, link FROM journal_head").fetchone()
        channels = {
            channel: (size, root, subtrees)
            for channel, size, root, subtrees in connection.execute(
                "SELECT channel_id, size, root, subtrees FROM channel_heads"
            )
        }
        heads = StoredHeads(None, None, channels) if head is None else StoredHeads(head[0], head[1], channels)
        yield heads, _rows_with_links(connection)
    finally:
        connection.close()  # ends the read transaction


def _rows_with_links(connection: sqlite3.Connection) -> Iterator[tuple[EntryRow, bytes | None]]:
    cursor = connection.execute(f"SELECT {_COLUMNS}, link FROM entries ORDER BY position")
    while rows := cursor.fetchmany(_PAGE_SIZE):
        for *row, link in rows:
            yield tuple(row), link


# -- rows ------------------------------------------------------------------------------------------------------


def _row(position: int, record: Record) -> EntryRow:
    """Check a record's types on the caller's thread and flatten it to a row.

    Bytes must be `bytes`: a bytearray changed by the caller before the writer reads it would be stored with
    other bytes than those acknowledged.
    """
    direction = _DIRECTIONS.get(record.direction)
    if direction is None:
        raise ValueError(f"direction must be a Direction, not {record.direction!r}")
    for name in ("channel_id", "message_id", "sender", "kind"):
        if type(getattr(record, name)) is not str:
            raise TypeError(f"{name} must be str")
    for name in ("payload", "meta"):
        if type(getattr(record, name)) is not bytes:
            raise TypeError(f"{name} must be bytes")
    if type(record.sequence) is not int or not 0 <= record.sequence <= _MAX_INT64:
        raise ValueError(f"sequence must be an int from 0 to 2**63-1, not {record.sequence!r}")
    if not isinstance(record.stored_time, datetime) or record.stored_time.utcoffset() is None:
        raise ValueError("stored_time must be a timezone-aware datetime")
    stored_time_us = to_micros(record.stored_time)
    return (
        position,
        record.channel_id,
        direction.value,
        record.message_id,
        record.sender,
        record.sequence,
        record.kind,
        record.payload,
        stored_time_us,
        record.meta,
    )


def _entry(row: tuple[Any, ...]) -> Entry:
    position, channel_id, direction, message_id, sender, sequence, kind, payload, stored_time_us, meta = row
    record = Record(
        channel_id=channel_id,
        direction=_DIRECTIONS[direction],
        message_id=message_id,
        sender=sender,
        sequence=sequence,
        kind=kind,
        payload=payload,
        stored_time=from_micros(stored_time_us),
        meta=meta,
    )
    return Entry(position, record)


def _iter_pages(connection: sqlite3.Connection, from_position: int) -> Iterator[Entry]:
    # A statement per page: each read transaction is short, so a slow consumer never holds back checkpoints.
    position = from_position
    while True:
        rows = connection.execute(_PAGE, (position, _PAGE_SIZE)).fetchall()
        for row in rows:
            yield _entry(row)
        if len(rows) < _PAGE_SIZE:
            return
        position = rows[-1][0] + 1


def _resolve_batch(batch: list[_Item]) -> None:
    for (position, *_), future in batch:
        if not future.done():  # a caller may have cancelled its wait; the record is durable all the same
            future.set_result(position)


# -- connections and schema ------------------------------------------------------------------------------------


def _connect_writer(path: Path, synchronous: str) -> sqlite3.Connection:
    # isolation_level=None: the writer issues BEGIN and COMMIT itself, so a batch is exactly one transaction.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        # Check before changing anything: a stranger's file is refused untouched.
        version = _check_format(connection, path)
        (journal_mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(journal_mode).lower() != "wal":
            raise JournalUnavailableError(f"journal {path}: SQLite refused WAL mode (got {journal_mode!r})")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's job, off the commit path
        if version == 0:
            _create_schema(connection)
        elif version < SCHEMA_VERSION:
            _upgrade(connection, path, version)
    except BaseException:
        connection.close()
        raise
    return connection


def _connect_reader(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    return connection


def _check_format(connection: sqlite3.Connection, path: Path) -> int:
    """Return the file's schema version (0: an empty file, to be created; 1: a file without tamper evidence, read
    as it is or upgraded by a writer), or refuse a file that is not ours."""
    try:
        (application_id,) = connection.execute("PRAGMA application_id").fetchone()
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise JournalFormatError(f"{path} is not a journal: {exc}") from exc
    if application_id == 0 and version == 0 and tables == 0:
        return 0
    if application_id != APPLICATION_ID:
        raise JournalFormatError(f"{path} is not a deconflict journal (application_id {application_id:#x})")
    if version not in _READABLE_VERSIONS:
        raise JournalFormatError(
            f"{path} is a journal of schema version {version}; this code reads schema version {SCHEMA_VERSION}"
            " (and upgrades version 1): open it with the matching release"
        )
    return int(version)


def _create_schema(connection: sqlite3.Connection) -> None:
    # executescript commits first; the explicit transaction makes tables, index, heads and version appear together.
    connection.executescript(
        f"BEGIN IMMEDIATE; {_SCHEMA_V1} {'; '.join(_SCHEMA_V2)}; {'; '.join(_SCHEMA_V3)}; "
        f"INSERT INTO journal_head (singleton, size, link) VALUES (0, 0, x'{FIRST_LINK.hex()}'); "
        f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    )


def _upgrade(connection: sqlite3.Connection, path: Path, version: int) -> None:
    """Version 1 or 2 to 3, in one transaction. From 1: add the evidence columns and tables, and compute the
    evidence of every entry already there (one pass; it vouches for the entries as they are now). From 2: the
    entries move to the table of version 3 (one copy)."""
    connection.execute("BEGIN IMMEDIATE")
    evidence = None
    try:
        if version < _EVIDENCE_VERSION:
            evidence = _add_evidence(connection, path)
        for statement in _SCHEMA_V3:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    if evidence is None:
        _log.info("journal %s upgraded from schema version %d to %d", path, version, SCHEMA_VERSION)
        return
    _log.warning(
        "journal %s upgraded to schema version %d: its tamper evidence starts now, for its %d entries as they are",
        path,
        SCHEMA_VERSION,
        evidence.size,
    )


def _add_evidence(connection: sqlite3.Connection, path: Path) -> Evidence:
    """Version 1 to 2, inside the upgrade's transaction."""
    for statement in _SCHEMA_V2:
        connection.execute(statement)
    evidence = Evidence()
    while True:
        rows = connection.execute(_PAGE, (evidence.size, _PAGE_SIZE)).fetchall()
        if rows and rows[0][0] != evidence.size:
            raise JournalFormatError(f"journal {path} has no entry {evidence.size}: it cannot be upgraded")
        connection.executemany(
            "UPDATE entries SET link = ? WHERE position = ?", [(evidence.add(row), row[0]) for row in rows]
        )
        if len(rows) < _PAGE_SIZE:
            break
    connection.execute(_SET_JOURNAL_HEAD, (evidence.size, evidence.link))
    connection.executemany(
        _SET_CHANNEL_HEAD, [(channel, *_channel_head(tree)) for channel, tree in evidence.channels.items()]
    )
    return evidence


def _channel_head(tree: CompactRange) -> tuple[int, bytes, bytes]:
    return tree.size, tree.root(), tree.to_bytes()


def _load_evidence(connection: sqlite3.Connection, path: Path) -> Evidence:
    """The writer's evidence, from the heads; refused if they do not match the entries (a few reads, not a pass).

    A file whose head does not match its last entry was cut short, or written, by someone else than its writer:
    appending to it would hand out positions the peer may already hold in acknowledgements (DCF-JNL-005).
    """
    head = connection.execute("SELECT size, link FROM journal_head").fetchone()
    stored = _stored_size(connection)
    last = connection.execute("SELECT link FROM entries WHERE position = ?", (stored - 1,)).fetchone()
    channels: dict[str, CompactRange] = {}
    problem = None
    try:
        for channel, size, root, subtrees in connection.execute(
            "SELECT channel_id, size, root, subtrees FROM channel_heads"
        ):
            tree = channels[channel] = CompactRange.from_bytes(size, subtrees)
            if tree.root() != root:
                problem = f"the head of channel {channel} has a root that is not its tree's"
    except ValueError as error:
        problem = f"a channel head is malformed ({error})"
    if head is None:
        problem = "it has no head"
    elif head[0] != stored:
        problem = f"its head records {head[0]} entries, and it holds {stored}"
    elif head[1] != (FIRST_LINK if last is None else last[0]):
        problem = f"its head's link is not that of its last entry, {stored - 1}"
    elif sum(tree.size for tree in channels.values()) != stored:
        problem = f"its channel heads do not add up to its {stored} entries"
    if problem is not None:
        raise JournalFormatError(
            f"journal {path} was changed outside its writer: {problem}; see `deconflict journal verify {path}`"
        )
    return Evidence(stored, head[1], channels)


def _stored_size(connection: sqlite3.Connection) -> int:
    (last,) = connection.execute("SELECT max(position) FROM entries").fetchone()
    return 0 if last is None else int(last) + 1


# -- one writer per file ---------------------------------------------------------------------------------------


def _lock(path: Path) -> int:
    """Hold an exclusive lock beside the file while open: two writers would hand out the same positions.

    The lock is a separate file because SQLite's own byte-range locks live on the database file.
    """
    if sys.platform == "win32":  # pragma: no cover - no flock; one writer is the operator's duty there
        return -1
    fd = os.open(path.parent / f"{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalUnavailableError(f"journal {path} is already open for writing by another journal") from None
    return fd


def _unlock(fd: int) -> None:
    if fd >= 0:
        os.close(fd)  # closing the descriptor releases the flock


if TYPE_CHECKING:

    def _implements_journal(journal: SqliteJournal) -> Journal:
        return journal  # mypy checks here that SqliteJournal satisfies the Journal protocol
