"""The journal: durable before acknowledged, gap-free positions in call order, group commit off the loop thread,
and a clean stop when storage fails (docs/spec/02-envelope.md DCF-ENV-031, DCF-ENV-033; 11-security.md DCF-JNL-001).

Every test uses a real SQLite file under tmp_path.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from deconflict.journal import (
    SCHEMA_VERSION,
    Direction,
    Entry,
    Journal,
    JournalFormatError,
    JournalUnavailableError,
    Record,
    SqliteJournal,
    open_journal,
    read_journal,
)
from deconflict.journal import sqlite as journal_sqlite
from deconflict.transparency.merkle import leaf_hash
from tests.journal_writer import payload_for

WRITER_SCRIPT = Path(__file__).with_name("journal_writer.py")
T0 = datetime(2026, 5, 9, 7, 35, 25, 123456, tzinfo=UTC)


def make_record(n: int, **changes: object) -> Record:
    direction = (Direction.IN, Direction.OUT, Direction.ACK_IN, Direction.ACK_OUT)[n % 4]
    fields: dict[str, object] = {
        "channel_id": "channel-a",
        "direction": direction,
        "message_id": f"message-{n}",
        "sender": "party-b" if direction in (Direction.IN, Direction.ACK_IN) else "party-a",
        "sequence": n + 1,
        "kind": "acknowledgement" if direction in (Direction.ACK_IN, Direction.ACK_OUT) else "notice",
        "payload": bytes([n % 256]) * (n % 7) + b"\x00signed\xff" + n.to_bytes(4, "big"),
        "stored_time": T0 + timedelta(microseconds=n),
        "meta": b"\x81\xa1n" + n.to_bytes(4, "big"),
    }
    fields.update(changes)
    return Record(**fields)  # type: ignore[arg-type]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


async def reopen_entries(path: Path) -> list[Entry]:
    """The entries as a restarted node replays them: a fresh journal on the same file."""
    journal = open_journal(path)
    try:
        return list(journal.entries())
    finally:
        await journal.close()


# -- durability and order ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_entries_survive_close_and_reopen_identical(path: Path) -> None:
    records = [make_record(n) for n in range(50)]
    records.append(make_record(50, payload=b"", meta=b"", sequence=2**63 - 1, message_id="ünïcode-id"))
    # Any timezone goes in; UTC comes out, the same instant to the microsecond.
    records.append(make_record(51, stored_time=datetime(2026, 1, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))))
    journal: Journal = open_journal(path)
    assert journal.size == 0
    positions = await asyncio.gather(*(journal.append(record) for record in records))
    assert journal.size == len(records)
    assert positions == list(range(len(records)))
    await journal.close()

    reopened = open_journal(path)
    try:
        entries = list(reopened.entries())
        assert [entry.position for entry in entries] == list(range(len(records)))
        assert [entry.record for entry in entries] == records
        assert all(entry.record.payload == record.payload for entry, record in zip(entries, records, strict=True))
        assert all(entry.record.stored_time.tzinfo is UTC for entry in entries)
        assert entries[-1].record.stored_time == datetime(2026, 1, 1, 10, 0, 0, 1, tzinfo=UTC)
        assert reopened.size == len(records)
        # The numbering goes on where it stopped.
        assert await reopened.append(make_record(99)) == len(records)
        assert await reopened.read(50, 2) == entries[50:52]
        assert await reopened.read(len(records) + 1, 10) == []
        assert [entry.position for entry in reopened.entries(from_position=40)] == list(range(40, len(records) + 1))
    finally:
        await reopened.close()
    assert [entry.record for entry in read_journal(path)][: len(records)] == records


@pytest.mark.asyncio
async def test_concurrent_appends_get_gap_free_positions_in_call_order(path: Path) -> None:
    journal = open_journal(path)
    called: list[str] = []  # message ids in the order append() was called
    resolved: dict[str, int] = {}

    async def appender(task: int) -> None:
        for n in range(25):
            record = make_record(task * 1000 + n)
            called.append(record.message_id)
            future = journal.append(record)
            if n % 3 == task % 3:
                await asyncio.sleep(0)  # let other tasks interleave their calls with this one's
            resolved[record.message_id] = await future

    await asyncio.gather(*(appender(task) for task in range(20)))
    await journal.close()

    assert len(called) == 500
    assert [resolved[message_id] for message_id in called] == list(range(500))
    entries = await reopen_entries(path)
    assert [entry.record.message_id for entry in entries] == called
    assert [entry.position for entry in entries] == list(range(500))


@pytest.mark.asyncio
async def test_each_channel_numbers_its_own_entries_and_gets_their_leaves_once_durable_dcf_jnl_005(
    path: Path,
) -> None:
    """Entries of two channels interleaved: each channel's index counts its own entries, at append time and across
    a reopen; the writer hands each entry's leaf hash back, in order, before the append's future resolves."""
    channels = ["channel-a", "channel-b", "channel-a", "channel-a", "channel-b"]
    journal = open_journal(path)
    heard: list[tuple[str, int, bytes]] = []
    resolved_before: list[bool] = []
    futures: list[asyncio.Future[int]] = []

    def durable(leaves: list[tuple[str, int, bytes]]) -> None:
        heard.extend(leaves)
        resolved_before.append(any(future.done() for future in futures))

    journal.on_durable = durable
    indexes = []
    for n, channel in enumerate(channels):
        indexes.append(journal.channel_size(channel))
        futures.append(journal.append(make_record(n, channel_id=channel)))
    assert indexes == [0, 0, 1, 2, 1]
    await asyncio.gather(*futures)
    assert not any(resolved_before)
    assert heard == [
        (channel, index, leaf_hash(make_record(n).payload))
        for n, (channel, index) in enumerate(zip(channels, indexes, strict=True))
    ]
    await journal.close()
    again = open_journal(path)
    assert (again.channel_size("channel-a"), again.channel_size("channel-b"), again.channel_size("c")) == (3, 2, 0)
    await again.close()


@pytest.mark.asyncio
async def test_pending_appends_are_committed_by_close_and_later_ones_refused(path: Path) -> None:
    journal = open_journal(path)
    futures = [journal.append(make_record(n)) for n in range(100)]
    await journal.close()
    assert all(future.done() for future in futures)
    assert [future.result() for future in futures] == list(range(100))
    refused = journal.append(make_record(100))
    assert refused.done()
    with pytest.raises(JournalUnavailableError, match="closed"):
        refused.result()
    assert journal.size == 100
    await journal.close()  # closing twice is harmless
    assert len(await reopen_entries(path)) == 100


# -- group commit, off the loop thread -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_appends_share_commits(path: Path) -> None:
    journal = open_journal(path)
    await asyncio.gather(*(journal.append(make_record(n)) for n in range(200)))
    stats = journal.stats
    assert stats.records_committed == 200
    assert stats.commits <= 200 // 10, stats
    assert stats.largest_batch >= 20, stats

    # A sustained load: 64 tasks each waiting for its own record before sending the next, like a node's streams.
    async def appender(task: int) -> None:
        for n in range(10):
            await journal.append(make_record(1000 * task + n))

    await asyncio.gather(*(appender(task) for task in range(64)))
    sustained = journal.stats.commits - stats.commits
    assert journal.stats.records_committed == 200 + 640
    assert sustained <= 640 // 4, journal.stats
    await journal.close()


@pytest.mark.asyncio
async def test_every_commit_runs_on_the_writer_thread(path: Path) -> None:
    journal = open_journal(path)
    committing_threads: list[int] = []
    journal.before_commit = lambda _connection: committing_threads.append(threading.get_ident())

    async def appender(task: int) -> None:
        for n in range(20):
            await journal.append(make_record(100 * task + n))

    await asyncio.gather(*(appender(task) for task in range(16)))
    await journal.close()
    loop_thread = threading.get_ident()
    assert len(committing_threads) == journal.stats.commits > 0
    assert set(committing_threads) == {journal.writer_thread_id}
    assert loop_thread not in committing_threads


@pytest.mark.asyncio
async def test_read_runs_off_the_loop_thread(path: Path) -> None:
    journal = open_journal(path)
    await asyncio.gather(*(journal.append(make_record(n)) for n in range(10)))
    reading_threads: list[int] = []
    original = journal._read_page

    def spy(from_position: int, limit: int) -> list[Entry]:
        reading_threads.append(threading.get_ident())
        return original(from_position, limit)

    journal._read_page = spy  # type: ignore[method-assign]
    assert [entry.position for entry in await journal.read(3, 4)] == [3, 4, 5, 6]
    assert reading_threads
    assert threading.get_ident() not in reading_threads
    await journal.close()


@pytest.mark.asyncio
async def test_wal_is_checkpointed_and_restarted_under_sustained_appends(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without checkpoints the WAL would grow by every commit; here it is copied back and reused from its start."""
    monkeypatch.setattr(journal_sqlite, "CHECKPOINT_FRAMES", 20)
    monkeypatch.setattr(journal_sqlite, "MAX_WAL_FRAMES", 60)
    journal = open_journal(path)

    async def appender(task: int) -> None:
        for n in range(50):
            await journal.append(make_record(1000 * task + n, payload=bytes(1000)))

    await asyncio.gather(*(appender(task) for task in range(64)))
    # Without checkpoints the WAL grows past 7 MB here; with them it stays near MAX_WAL_FRAMES of 4 KB (plus
    # a cycle or two when a restart races the checkpointer).
    wal_bytes = path.with_name(path.name + "-wal").stat().st_size
    assert wal_bytes < 3_000_000, wal_bytes
    await journal.close()
    assert [entry.position for entry in await reopen_entries(path)] == list(range(64 * 50))


# -- failure -------------------------------------------------------------------------------------------------


def _fail_on_commit(number: int, action: str) -> Callable[[sqlite3.Connection], None]:
    """A before_commit hook that breaks the database on its `number`-th commit, by raising or by closing the
    writer's connection from under it."""
    calls: list[int] = []

    def hook(connection: sqlite3.Connection) -> None:
        calls.append(1)
        if len(calls) == number:
            if action == "raise":
                raise sqlite3.OperationalError("disk I/O error (injected)")
            connection.close()

    return hook


@pytest.mark.parametrize("action", ["raise", "close-connection"])
@pytest.mark.asyncio
async def test_failed_commit_fails_pending_appends_and_refuses_later_ones(path: Path, action: str) -> None:
    journal = open_journal(path)
    journal.before_commit = _fail_on_commit(3, action)

    async def appender(task: int) -> list[int | BaseException]:
        outcomes: list[int | BaseException] = []
        for n in range(10):
            try:
                outcomes.append(await journal.append(make_record(100 * task + n)))
            except JournalUnavailableError as exc:
                outcomes.append(exc)
                break
        return outcomes

    results = await asyncio.gather(*(appender(task) for task in range(8)))
    acknowledged = sorted(outcome for outcomes in results for outcome in outcomes if isinstance(outcome, int))
    failures = [outcome for outcomes in results for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(failures) == 8, "every appender saw the failure"
    assert journal.stats.commits == 2
    assert acknowledged == list(range(journal.stats.records_committed))
    assert isinstance(journal.failure, sqlite3.Error)
    assert isinstance(failures[0].__cause__, sqlite3.Error)

    # Refused at once, not after another trip to the writer, and without taking a position.
    size = journal.size
    refused = journal.append(make_record(999))
    assert refused.done()
    with pytest.raises(JournalUnavailableError, match="storage failed"):
        await refused
    assert journal.size == size
    await journal.close()

    entries = await reopen_entries(path)
    assert [entry.position for entry in entries] == acknowledged


@pytest.mark.asyncio
async def test_failure_mid_batch_leaves_no_part_of_the_batch(path: Path) -> None:
    """A real SQL error on the 5th record of a 10-record transaction: the 4 inserted before it vanish too."""
    journal = open_journal(path)
    # Any 'poison' record now fails inside SQLite, as a full disk or a constraint would.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON entries WHEN NEW.message_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
    connection.close()
    # Hold the first commit until the next ten records are queued, so they form one batch.
    committing, queued = threading.Event(), threading.Event()

    def hold_first_commit(_connection: sqlite3.Connection) -> None:
        if journal.stats.commits == 0:
            committing.set()
            assert queued.wait(5)

    journal.before_commit = hold_first_commit
    first = journal.append(make_record(0))
    assert await asyncio.to_thread(committing.wait, 5)  # the writer has taken record 0 alone
    batch = [journal.append(make_record(n, message_id="poison" if n == 5 else f"message-{n}")) for n in range(1, 11)]
    await asyncio.sleep(0)  # the loop hands the ten over to the writer in one list
    queued.set()
    assert await first == 0
    outcomes = await asyncio.gather(*batch, return_exceptions=True)
    assert all(isinstance(outcome, JournalUnavailableError) for outcome in outcomes)
    assert "injected failure" in str(outcomes[0])
    assert journal.stats.largest_batch == 1
    await journal.close()

    entries = await reopen_entries(path)
    assert [entry.record.message_id for entry in entries] == ["message-0"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"stored_time": datetime(2026, 1, 1)}, id="naive-time"),
        pytest.param({"payload": bytearray(b"mutable")}, id="bytearray-payload"),
        pytest.param({"payload": "text"}, id="str-payload"),
        pytest.param({"meta": None}, id="none-meta"),
        pytest.param({"sequence": -1}, id="negative-sequence"),
        pytest.param({"sequence": 2**63}, id="sequence-past-int64"),
        pytest.param({"sequence": True}, id="bool-sequence"),
        pytest.param({"direction": "sideways"}, id="unknown-direction"),
        pytest.param({"channel_id": 7}, id="int-channel-id"),
    ],
)
@pytest.mark.asyncio
async def test_invalid_records_are_refused_at_once_and_take_no_position(path: Path, changes: dict[str, object]) -> None:
    """A record the database would reject is refused by append itself, so it cannot fail a whole batch."""
    journal = open_journal(path)
    with pytest.raises((TypeError, ValueError)):
        journal.append(make_record(0, **changes))
    assert journal.size == 0
    assert await journal.append(make_record(0)) == 0
    assert journal.failure is None
    await journal.close()


# -- opening -------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_other_schema_version_is_refused_with_a_clear_message(path: Path) -> None:
    journal = open_journal(path)
    await journal.append(make_record(0))
    await journal.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(JournalFormatError, match=f"schema version 99; this code reads schema version {SCHEMA_VERSION}"):
        open_journal(path)
    with pytest.raises(JournalFormatError, match="schema version 99"):
        list(read_journal(path))


def test_files_that_are_not_journals_are_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()
    with pytest.raises(JournalFormatError, match="not a deconflict journal"):
        open_journal(foreign)
    with sqlite3.connect(foreign) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    connection.close()

    with pytest.raises(FileNotFoundError):
        list(read_journal(tmp_path / "missing.db"))

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(JournalFormatError, match="not a journal"):
        open_journal(garbage)


@pytest.mark.asyncio
async def test_a_journal_has_one_writer(path: Path) -> None:
    journal = open_journal(path)
    with pytest.raises(JournalUnavailableError, match="already open"):
        open_journal(path)
    await journal.append(make_record(0))
    assert [entry.position for entry in read_journal(path)] == [0]  # readers need no lock
    await journal.close()
    again = open_journal(path)
    await again.close()


@pytest.mark.asyncio
async def test_new_file_is_wal_with_full_sync(path: Path) -> None:
    journal = open_journal(path)
    await journal.append(make_record(0))
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        indexes = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'index'").fetchall()
    connection.close()
    assert any("(channel_id, direction, sequence)" in (sql or "") for (sql,) in indexes)
    await journal.close()
    assert journal.synchronous == "FULL"
    with pytest.raises(ValueError, match="synchronous"):
        open_journal(path, synchronous="OFF")


def test_opening_and_replaying_needs_no_event_loop(path: Path) -> None:
    journal = SqliteJournal(path)
    assert list(journal.entries()) == []
    assert journal.size == 0
    with pytest.raises(RuntimeError):
        journal.append(make_record(0))  # appending does: it resolves futures on the loop
    asyncio.run(journal.close())


# -- SIGKILL -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("acknowledged_before_kill", [40, 400, 1500])
def test_sigkill_loses_nothing_acknowledged(path: Path, acknowledged_before_kill: int) -> None:
    """Kill a real process appending from 16 tasks; every position it printed (acknowledged) is in the journal."""
    process = subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), str(path), "16"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    watchdog = threading.Timer(20, process.kill)  # a hung writer fails the test instead of hanging it
    watchdog.start()
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while len(lines) < acknowledged_before_kill:
            line = process.stdout.readline()
            assert line, "the writer stopped before it was killed"
            lines.append(line)
        process.send_signal(signal.SIGKILL)
        lines += process.stdout.readlines()  # acknowledged before it died, still in the pipe
        assert process.wait() == -signal.SIGKILL
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()

    acknowledged = dict(_parse(line) for line in lines if line.endswith("\n"))
    assert len(acknowledged) >= acknowledged_before_kill
    entries = asyncio.run(reopen_entries(path))
    assert [entry.position for entry in entries] == list(range(len(entries))), "positions are gap-free"
    message_ids = [entry.record.message_id for entry in entries]
    assert len(set(message_ids)) == len(message_ids), "no record twice"
    for position, message_id in acknowledged.items():
        assert position < len(entries), f"acknowledged position {position} lost"
        assert entries[position].record.message_id == message_id
        assert entries[position].record.payload == payload_for(message_id)

    # The killed journal takes appends again, numbered after what survived.
    async def append_one() -> int:
        journal = open_journal(path)
        try:
            return await journal.append(make_record(0))
        finally:
            await journal.close()

    assert asyncio.run(append_one()) == len(entries)


def _parse(line: str) -> tuple[int, str]:
    position, message_id = line.split()
    return int(position), message_id
