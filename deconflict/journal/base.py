"""The journal's interface: what a node stores, in which order, and how it learns that it is durable.

A node stores every message it sends and receives in its journal before it acts on it ("store durably first,
acknowledge second", DCF-ENV-031, DCF-ENV-033, DCF-JNL-001), and rebuilds its whole state at start by replaying
the journal. A backend (SQLite now, PostgreSQL later) implements `Journal`; the node is written against this
module only.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol


class Direction(enum.StrEnum):
    """Which way a journal record went, from the point of view of the node that keeps the journal."""

    IN = "in"  # an envelope received from a peer
    OUT = "out"  # an envelope this node sent (stored before it is sent)
    # A peer's answer to one of our OUT envelopes: its signed logical acknowledgement (kind "acknowledgement"), or
    # its definitive refusal (kind "refusal": the envelope is withdrawn, DCF-ENV-013; see deconflict.node.outbox).
    ACK_IN = "ack_in"
    # This node's signed logical acknowledgement of an IN envelope, journaled right after it and durable with it
    # before it is sent (DCF-JNL-001); a duplicate is answered with these bytes (DCF-ENV-023).
    ACK_OUT = "ack_out"


@dataclass(frozen=True, slots=True)
class Record:
    """One message as the journal stores it. The journal checks types and ranges, never meaning."""

    channel_id: str
    direction: Direction
    # For ACK_IN and ACK_OUT, the message acknowledged (or refused): its id and sequence, and as sender the party
    # that acknowledged it (or refused it).
    message_id: str  # the envelope's message id
    sender: str  # the envelope's sender
    sequence: int  # the envelope's sequence
    kind: str  # the envelope body's field name ("notice", "response", ...), "acknowledgement" or "refusal"
    payload: bytes  # the exact serialized SignedPayload as received or sent (a refusal: its MessageRefusal)
    stored_time: datetime  # UTC, set by the caller
    meta: bytes = b""  # node-side facts, opaque to the journal (the node puts msgpack here)


@dataclass(frozen=True, slots=True)
class Entry:
    """A record at its place in the journal."""

    position: int  # 0, 1, 2, ... gap-free, in append order
    record: Record


# An entry once durable, as the node's tree of its channel takes it: the channel id, the entry's index in the
# channel's journal (DCF-JNL-005: what an acknowledgement's journal_position names) and its leaf hash (DCF-JNL-004).
ChannelLeaf = tuple[str, int, bytes]
DurableListener = Callable[[list[ChannelLeaf]], None]


@dataclass(frozen=True, slots=True)
class JournalStats:
    """Counters of the writer, for tests and benchmarks: batching shows as records_committed >> commits."""

    commits: int
    records_committed: int
    largest_batch: int
    # Time the writer thread spent hashing the tamper evidence of the records committed (deconflict.journal.evidence).
    evidence_seconds: float = 0.0


class JournalError(Exception):
    """Base of the journal's own errors."""


class JournalUnavailableError(JournalError):
    """Storage failed, or the journal is closed: the record is not known to be durable, and the journal refuses
    every later append. The node stops; a restart replays what is durable."""


class JournalFormatError(JournalError):
    """The file is not a journal this code can open (another schema version, or not a journal at all)."""


class Journal(Protocol):
    """An append-only, gap-free, durable sequence of records."""

    def append(self, record: Record) -> asyncio.Future[int]:
        """Enqueue synchronously (call order = position order) and return a future that resolves to the
        position once the record is durable, or fails with JournalUnavailableError."""
        ...

    def entries(self, from_position: int = 0) -> Iterator[Entry]:
        """Durable entries from `from_position` on, in position order (synchronous: for replay at start and
        for tools)."""
        ...

    async def read(self, from_position: int, limit: int) -> list[Entry]:
        """At most `limit` durable entries from `from_position` on, read off the event loop thread."""
        ...

    @property
    def size(self) -> int:
        """Number of entries appended (durable or pending): the position the next append gets."""
        ...

    def channel_size(self, channel_id: str) -> int:
        """Number of the channel's entries appended (durable or pending): the index in the channel's journal
        (DCF-JNL-005) that the channel's next append gets."""
        ...

    # Called on the loop with each committed batch's leaves, in order, before the batch's futures resolve.
    on_durable: DurableListener | None

    async def close(self) -> None:
        """Make everything pending durable (or fail it), then stop; later appends are refused."""
        ...


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """A moment as the journal and the files beside it store it: whole microseconds since the epoch, UTC."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
