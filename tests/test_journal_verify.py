"""The journal's tamper evidence and `deconflict journal verify` (docs/spec/11-security.md DCF-JNL-002 to
DCF-JNL-004, DCF-JNL-013): a journal written by the real journal code, then altered in a thousand ways (a byte of a
payload or of another column, a row removed, rows swapped, the end cut off); each time the verification names the
first entry concerned, and it never raises an alarm on a journal left alone.

Every journal is a real SQLite file; the command runs as a real `python -m deconflict` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.journal import Direction, JournalFormatError, Record, open_journal, read_journal
from deconflict.journal import evidence as journal_evidence
from deconflict.journal import sqlite as journal_sqlite
from deconflict.journal.verify import Problem, Verification, VerifyError, verify_journal
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE, ENVELOPE_TYPE
from deconflict.transparency.checkpoint import (
    Checkpoint,
    CheckpointKey,
    journal_origin,
    open_checkpoint,
    sign_checkpoint,
)
from deconflict.transparency.merkle import MerkleTree, verify_consistency, verify_inclusion
from deconflict.transparency.note import format_verifier_key, public_key_bytes
from deconflict.v1 import envelope_pb2
from tests.nodes import as_schema_2

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "COLUMNS": "220", "PYTHONUNBUFFERED": "1"}
CHANNELS = ("ch-ru-us-01", "ch-ru-fr-02")
PARTY = "ru-mod"
T0 = datetime(2026, 5, 9, 7, 35, 25, tzinfo=UTC)
ENTRIES = 300
TAMPERINGS = 1000
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def signed_payload(rng: random.Random, acknowledgement: bool) -> bytes:
    """A SignedPayload as the node stores it: an envelope's (or acknowledgement's) bytes and its signature."""
    message = envelope_pb2.SignedPayload(
        payload_type=ACKNOWLEDGEMENT_TYPE if acknowledgement else ENVELOPE_TYPE,
        payload=rng.randbytes(rng.randint(120, 1400)),
    )
    message.signatures.add(key_id="key-1", signature=rng.randbytes(64))
    return message.SerializeToString()


def make_record(rng: random.Random, number: int) -> Record:
    direction = (Direction.IN, Direction.OUT, Direction.ACK_IN)[number % 3]
    return Record(
        channel_id=CHANNELS[rng.random() < 0.3],
        direction=direction,
        message_id=f"{number:08x}-{rng.getrandbits(64):016x}",
        sender="us-dod" if direction != Direction.OUT else PARTY,
        sequence=number // 3 + 1,
        kind="acknowledgement" if direction == Direction.ACK_IN else "notice",
        payload=signed_payload(rng, direction == Direction.ACK_IN),
        stored_time=T0 + timedelta(milliseconds=number),
        meta=rng.randbytes(rng.randint(0, 24)),
    )


async def write_journal(path: Path, count: int, *, seed: int = 7, start: int = 0) -> list[Record]:
    """`count` records appended by four concurrent tasks (so batches vary), as a node's streams append them."""
    rng = random.Random(seed)
    records = [make_record(rng, start + number) for number in range(count)]
    journal = open_journal(path)
    queue = list(records)

    async def appender() -> None:
        while queue:
            await journal.append(queue.pop(0))

    await asyncio.gather(*(appender() for _ in range(4)))
    await journal.close()
    return records


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Record]]:
    path = tmp_path_factory.mktemp("journal") / "journal.db"
    records = asyncio.run(write_journal(path, ENTRIES))
    assert not Path(f"{path}-wal").exists()  # closed: everything is in the main file
    return path, records


def copy_of(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def channel_trees(records: list[Record]) -> dict[str, MerkleTree]:
    trees: dict[str, MerkleTree] = defaultdict(MerkleTree)
    for record in records:
        trees[record.channel_id].append_entry(record.payload)
    return trees


# -- a clean journal ---------------------------------------------------------------------------------------------


def test_clean_journal_verifies_with_each_channels_tree_over_its_payloads_dcf_jnl_003_dcf_jnl_004_dcf_jnl_013(
    written: tuple[Path, list[Record]],
) -> None:
    path, records = written
    verification = verify_journal(path)
    assert verification.ok, verification.findings
    assert (verification.entries, verification.recorded) == (ENTRIES, ENTRIES)
    trees = channel_trees([entry.record for entry in read_journal(path)])
    assert {tree.channel_id: (tree.size, tree.root) for tree in verification.channels} == {
        channel: (tree.size, tree.root()) for channel, tree in trees.items()
    }
    assert all(tree.matches for tree in verification.channels)
    assert sorted(entry.record.message_id for entry in read_journal(path)) == sorted(r.message_id for r in records)


@pytest.mark.asyncio
async def test_no_false_alarm_after_reopening_appending_and_while_a_writer_appends_dcf_jnl_013(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await write_journal(path, 50, seed=1)
    await write_journal(path, 70, seed=2, start=50)  # a second session continues the chain and the trees
    assert verify_journal(path).ok
    journal = open_journal(path)
    rng = random.Random(3)
    stop = False

    async def append_meanwhile() -> None:
        number = 120
        while not stop:
            await journal.append(make_record(rng, number))
            number += 1

    task = asyncio.create_task(append_meanwhile())
    for _ in range(5):  # each verification reads one snapshot, whatever commits during it
        verification = await asyncio.to_thread(verify_journal, path)
        assert verification.ok, verification.findings
        assert verification.entries >= 120
    stop = True
    await task
    await journal.close()
    assert verify_journal(path).entries == journal.size


# -- a thousand tamperings ---------------------------------------------------------------------------------------

_COLUMNS = ("channel_id", "direction", "message_id", "sender", "sequence", "kind", "payload", "stored_time_us", "meta")


def _flip(value: bytes, rng: random.Random) -> bytes:
    changed = bytearray(value)
    changed[rng.randrange(len(changed))] ^= rng.randint(1, 255)
    return bytes(changed)


def tamper(connection: sqlite3.Connection, rng: random.Random, size: int) -> tuple[str, int, set[Problem]]:
    """One random change to the journal; what it was, the first position it concerns, the problems it shows as."""
    kind = rng.choice(("payload byte", "other column", "row removed", "rows swapped", "end cut off"))
    position = rng.randrange(size)
    if kind == "payload byte":
        (payload,) = connection.execute("SELECT payload FROM entries WHERE position = ?", (position,)).fetchone()
        connection.execute("UPDATE entries SET payload = ? WHERE position = ?", (_flip(payload, rng), position))
        return kind, position, {Problem.ALTERED}
    if kind == "other column":
        column = rng.choice(("channel_id", "message_id", "sequence", "stored_time_us", "meta", "direction"))
        (value,) = connection.execute(f"SELECT {column} FROM entries WHERE position = ?", (position,)).fetchone()
        changed: object
        if column == "channel_id":
            changed = CHANNELS[value == CHANNELS[0]]
        elif column == "direction":
            changed = rng.choice([d.value for d in Direction if d.value != value])
        elif isinstance(value, int):
            changed = value + rng.choice((-1, 1, 1000))
        elif isinstance(value, bytes):
            changed = _flip(value, rng) if value else b"\x00"
        else:
            changed = value[:-1] + ("0" if value[-1] != "0" else "1")
        connection.execute(f"UPDATE entries SET {column} = ? WHERE position = ?", (changed, position))
        return f"{kind} ({column})", position, {Problem.ALTERED}
    if kind == "row removed":
        connection.execute("DELETE FROM entries WHERE position = ?", (position,))
        return kind, position, {Problem.REMOVED}
    if kind == "end cut off":
        connection.execute("DELETE FROM entries WHERE position >= ?", (position,))
        return kind, position, {Problem.REMOVED}
    other = rng.choice([number for number in range(size) if number != position])
    first, second = sorted((position, other))
    # Whole rows (with their links) or the payloads only: each entry lands at the other's place.
    columns = (*_COLUMNS, "link") if rng.random() < 0.5 else ("payload",)
    select = f"SELECT {', '.join(columns)} FROM entries WHERE position = ?"
    one, two = (connection.execute(select, (number,)).fetchone() for number in (first, second))
    update = f"UPDATE entries SET {', '.join(f'{column} = ?' for column in columns)} WHERE position = ?"
    connection.execute(update, (*two, first))
    connection.execute(update, (*one, second))
    return f"{kind} ({'whole' if len(columns) > 1 else 'payloads'})", first, {Problem.ALTERED}


def test_a_thousand_random_tamperings_are_each_found_at_their_first_entry_dcf_jnl_002_dcf_jnl_013(
    written: tuple[Path, list[Record]], tmp_path: Path
) -> None:
    source, _ = written
    original = source.read_bytes()
    target = tmp_path / "tampered.db"
    rng = random.Random(2026)
    kinds: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for number in range(TAMPERINGS):
        target.write_bytes(original)
        connection = sqlite3.connect(target)
        with connection:
            kind, position, problems = tamper(connection, rng, ENTRIES)
        connection.close()
        verification = verify_journal(target)
        first = verification.first
        where = f"tampering {number}: {kind} at {position}"
        assert first is not None, f"{where} was not found"
        assert (first.position, first.problem) in {(position, problem) for problem in problems}, (
            f"{where}: the first finding is {first}"
        )
        kinds[kind.split(" (")[0]] += 1
        if number % 100 == 0:  # a clean copy of the same file, verified the same way: no false alarm
            target.write_bytes(original)
            assert verify_journal(target).ok
    elapsed = time.perf_counter() - started
    assert set(kinds) == {"payload byte", "other column", "row removed", "rows swapped", "end cut off"}
    assert elapsed < 60, f"{TAMPERINGS} tamperings took {elapsed:.1f} s"


def test_swapping_entries_of_two_channels_is_found_though_each_channels_order_stays_dcf_jnl_002(
    written: tuple[Path, list[Record]], tmp_path: Path
) -> None:
    """Two adjacent entries of different channels, swapped whole: each channel's tree is unchanged, the file's
    order is not; the chain over the whole file shows it."""
    path = copy_of(written[0], tmp_path / "swapped.db")
    rows = list(read_journal(path))
    first = next(
        entry.position
        for entry, after in itertools.pairwise(rows)
        if entry.record.channel_id != after.record.channel_id
    )
    connection = sqlite3.connect(path)
    with connection:
        columns = (*_COLUMNS, "link")
        select = f"SELECT {', '.join(columns)} FROM entries WHERE position = ?"
        one, two = (connection.execute(select, (number,)).fetchone() for number in (first, first + 1))
        update = f"UPDATE entries SET {', '.join(f'{column} = ?' for column in columns)} WHERE position = ?"
        connection.execute(update, (*two, first))
        connection.execute(update, (*one, first + 1))
    connection.close()
    verification = verify_journal(path)
    assert all(tree.matches for tree in verification.channels)  # no channel's journal changed...
    assert verification.first is not None  # ...but the file's order did
    assert (verification.first.position, verification.first.problem) == (first, Problem.ALTERED)


# -- the writer: evidence on its thread, heads it trusts, old files ----------------------------------------------


@pytest.mark.asyncio
async def test_evidence_is_hashed_on_the_writer_thread_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[int] = set()
    original = journal_evidence.leaf_hash

    def leaf_hash(entry: bytes) -> bytes:
        threads.add(threading.get_ident())
        return original(entry)

    monkeypatch.setattr(journal_evidence, "leaf_hash", leaf_hash)
    journal = open_journal(tmp_path / "journal.db")
    rng = random.Random(5)
    await asyncio.gather(*(journal.append(make_record(rng, number)) for number in range(40)))
    assert threads == {journal.writer_thread_id}
    assert threading.get_ident() not in threads
    assert journal.stats.evidence_seconds > 0
    await journal.close()


@pytest.mark.asyncio
async def test_writer_refuses_a_journal_changed_outside_it_dcf_jnl_002(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await write_journal(path, 30)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("DELETE FROM entries WHERE position >= 27")
    connection.close()
    # Appending would give positions 27 to 29 again, which the peer may hold in acknowledgements (DCF-JNL-005).
    with pytest.raises(
        JournalFormatError, match=r"changed outside its writer: its head records 30 entries, and it holds 27"
    ):
        open_journal(path)
    assert [entry.position for entry in read_journal(path)] == list(range(27))  # still readable, for the tools
    verification = verify_journal(path)
    assert verification.first is not None
    assert (verification.first.problem, verification.first.position) == (Problem.REMOVED, 27)


def _version_1_journal(path: Path, records: list[Record]) -> None:
    """A journal as the previous release wrote it: schema version 1, no evidence."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(
        f"BEGIN; {journal_sqlite._SCHEMA_V1} PRAGMA application_id = {journal_sqlite.APPLICATION_ID}; "
        "PRAGMA user_version = 1; COMMIT;"
    )
    insert = f"INSERT INTO entries ({journal_sqlite._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    connection.executemany(insert, [journal_sqlite._row(number, record) for number, record in enumerate(records)])
    connection.close()


@pytest.mark.asyncio
async def test_a_version_1_journal_is_read_as_it_is_and_upgraded_by_its_writer_dcf_jnl_013(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    rng = random.Random(9)
    records = [make_record(rng, number) for number in range(2100)]  # more than a page of the upgrade
    _version_1_journal(path, records[:2000])
    assert [entry.record for entry in read_journal(path)] == records[:2000]
    with pytest.raises(JournalFormatError, match="schema version 1, which keeps no tamper evidence"):
        verify_journal(path)

    journal = open_journal(path)  # upgrades: the evidence of the 2000 entries, then the chain goes on
    assert journal.size == 2000
    for record in records[2000:]:
        journal.append(record)
    await journal.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (journal_sqlite.SCHEMA_VERSION,)
    connection.close()
    assert [entry.record for entry in read_journal(path)] == records
    verification = verify_journal(path)
    assert verification.ok, verification.findings
    trees = channel_trees(records)
    assert {tree.channel_id: tree.root for tree in verification.channels} == {c: t.root() for c, t in trees.items()}


@pytest.mark.asyncio
async def test_a_version_2_journal_is_read_as_it_is_and_upgraded_to_take_acknowledgements_sent_dcf_jnl_001(
    tmp_path: Path,
) -> None:
    """A journal of the release before acknowledgements sent were journaled (schema version 2) is read and verified
    as it is; its writer moves it to version 3, evidence unchanged, and then stores ACK_OUT entries."""
    path = tmp_path / "old.db"
    records = await write_journal(path, 1500)  # more than a page
    roots = {tree.channel_id: tree.root for tree in verify_journal(path).channels}
    as_schema_2(path)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE entries SET direction = 'ack_out' WHERE position = 0")
    assert [entry.record for entry in read_journal(path)] == records
    assert verify_journal(path).ok

    journal = open_journal(path)
    assert journal.size == len(records)
    sent = Record(
        channel_id=CHANNELS[0],
        direction=Direction.ACK_OUT,
        message_id=records[0].message_id,
        sender=PARTY,
        sequence=records[0].sequence,
        kind="acknowledgement",
        payload=signed_payload(random.Random(3), acknowledgement=True),
        stored_time=T0 + timedelta(days=1),
    )
    assert await journal.append(sent) == len(records)
    await journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (journal_sqlite.SCHEMA_VERSION,) == (3,)
    assert [entry.record for entry in read_journal(path)] == [*records, sent]
    verification = verify_journal(path)
    assert verification.ok, verification.findings
    grown = {tree.channel_id: tree.root for tree in verification.channels}
    assert grown[CHANNELS[1]] == roots[CHANNELS[1]]
    assert grown[CHANNELS[0]] == channel_trees([*records, sent])[CHANNELS[0]].root()


# -- signed checkpoints ------------------------------------------------------------------------------------------


def _checkpoint(channel: str, tree: MerkleTree, size: int) -> str:
    checkpoint = Checkpoint(journal_origin(channel, PARTY), size, tree.root(size), 1_778_312_125 + size)
    return sign_checkpoint(checkpoint, PARTY, "key-1", KEY).encode()


def test_signed_checkpoints_are_compared_and_a_backup_cut_short_shows_against_them_dcf_jnl_006_dcf_jnl_013(
    written: tuple[Path, list[Record]], tmp_path: Path
) -> None:
    path, records = written
    trees = channel_trees(records)
    channel = CHANNELS[0]
    tree = trees[channel]
    key = CheckpointKey(PARTY, "key-1", public_key_bytes(KEY))
    signed = [open_checkpoint(_checkpoint(channel, tree, size), [key]) for size in (0, 10, tree.size)]
    verification = verify_journal(path, signed)
    assert verification.ok
    assert [match.matches for match in verification.checkpoints] == [True, True, True]

    # A journal restored from a backup taken before its last 40 entries: consistent with itself, not with what the
    # party signed.
    backup = tmp_path / "backup.db"
    asyncio.run(_write_records(backup, records[:-40]))
    assert verify_journal(backup).ok
    cut = verify_journal(backup, signed)
    held = sum(record.channel_id == channel for record in records[:-40])
    assert cut.first is not None
    assert (cut.first.problem, cut.first.channel_id, cut.first.index) == (Problem.REMOVED, channel, held)

    # A checkpoint whose root is not the journal's at its size, and one of another channel's journal.
    other = MerkleTree.of_entries([b"another history"] * tree.size)
    wrong = verify_journal(path, [signed[1], open_checkpoint(_checkpoint(channel, other, tree.size), [key])])
    assert wrong.first is not None
    assert wrong.first.problem == Problem.CHECKPOINT
    assert f"one of its entries 10 to {tree.size - 1} differs" in wrong.first.text  # 0 to 9 are as signed
    with pytest.raises(VerifyError, match="not of a channel of this journal"):
        verify_journal(path, [open_checkpoint(_checkpoint("ch-elsewhere", tree, 5), [key])])


async def _write_records(path: Path, records: list[Record]) -> None:
    journal = open_journal(path)
    for record in records:
        journal.append(record)
    await journal.close()


def test_proofs_from_a_journals_entries_verify_against_its_checkpoint_dcf_jnl_008(
    written: tuple[Path, list[Record]],
) -> None:
    path, _ = written
    channel = CHANNELS[1]
    tree = MerkleTree.of_entries(
        entry.record.payload for entry in read_journal(path) if entry.record.channel_id == channel
    )
    (match,) = [c for c in verify_journal(path).channels if c.channel_id == channel]
    assert tree.root() == match.root
    for index in (0, tree.size // 2, tree.size - 1):
        verify_inclusion(tree.leaf(index), index, tree.size, tree.inclusion_proof(index), match.root)
    verify_consistency(7, tree.size, tree.consistency_proof(7), tree.root(7), match.root)


# -- the command -------------------------------------------------------------------------------------------------


def deconflict(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deconflict", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_journal_verify_command_exits_0_on_a_clean_journal_and_names_the_altered_entry_dcf_jnl_013(
    written: tuple[Path, list[Record]], tmp_path: Path
) -> None:
    path, records = written
    clean = deconflict("journal", "verify", str(path))
    assert clean.returncode == 0, clean.stderr
    assert "verified:" in clean.stdout
    assert f"{ENTRIES} entries" in clean.stdout
    verification: Verification = verify_journal(path)
    for tree in verification.channels:
        assert tree.channel_id in clean.stdout
        assert tree.root.hex() not in clean.stdout  # roots are shown in base64, as checkpoints carry them
    tampered = copy_of(path, tmp_path / "tampered.db")
    connection = sqlite3.connect(tampered)
    with connection:
        (payload,) = connection.execute("SELECT payload FROM entries WHERE position = 123").fetchone()
        connection.execute("UPDATE entries SET payload = ? WHERE position = 123", (payload[:-1] + b"\x00",))
    connection.close()
    found = deconflict("journal", "verify", str(tampered))
    assert found.returncode == 1
    channel = records[123].channel_id
    index = sum(record.channel_id == channel for record in records[:123])
    message = " ".join(found.stderr.split())
    assert f"the first entry altered, removed or reordered: entry 123 (channel {channel}, its entry {index})" in message
    assert re.search(rf"│ 123 +│ {channel} +│ {index} +│ altered", found.stdout), found.stdout

    missing = deconflict("journal", "verify", str(tmp_path / "nowhere.db"))
    assert missing.returncode == 2
    assert "no journal at" in missing.stderr


def test_journal_verify_command_checks_signed_checkpoints_dcf_jnl_006_dcf_jnl_013(
    written: tuple[Path, list[Record]], tmp_path: Path
) -> None:
    path, records = written
    channel = CHANNELS[0]
    tree = channel_trees(records)[channel]
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(_checkpoint(channel, tree, tree.size))
    vkey = format_verifier_key(f"deconflict.v1/{PARTY}/key-1", 0x01, public_key_bytes(KEY))
    result = deconflict("journal", "verify", str(path), "--checkpoint", str(checkpoint), "--key", vkey)
    assert result.returncode == 0, result.stderr
    assert journal_origin(channel, PARTY) in result.stdout
    assert "matches" in result.stdout
    stranger = format_verifier_key(f"deconflict.v1/{PARTY}/key-2", 0x01, public_key_bytes(KEY))
    refused = deconflict("journal", "verify", str(path), "--checkpoint", str(checkpoint), "--key", stranger)
    assert refused.returncode == 2
    assert "no signature by a trusted key" in refused.stderr
