"""Append to a journal forever and print each position once it is acknowledged; the kill test's victim.

Usage: python tests/journal_writer.py JOURNAL_PATH [TASKS]

Each of TASKS concurrent tasks appends records with message ids "<task>-<n>"; a line "<position> <message id>"
is printed (and flushed) only after the record's future resolved, that is once the journal said it is durable,
exactly when a node would send its acknowledgement. The test kills this process with SIGKILL and checks that
every printed line is in the journal.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path

from deconflict.journal import Direction, Record, SqliteJournal, open_journal


def payload_for(message_id: str) -> bytes:
    """Bytes the reader can recompute from the message id alone, about the size of a notice."""
    return hashlib.sha256(message_id.encode()).digest() * 30 + message_id.encode()


def record_for(message_id: str, sequence: int) -> Record:
    return Record(
        channel_id="channel-kill",
        direction=Direction.OUT,
        message_id=message_id,
        sender="writer",
        sequence=sequence,
        kind="notice",
        payload=payload_for(message_id),
        stored_time=datetime.now(UTC),
    )


async def _appender(journal: SqliteJournal, task: int) -> None:
    sequence = 0
    while True:
        sequence += 1
        message_id = f"{task}-{sequence}"
        position = await journal.append(record_for(message_id, sequence))
        sys.stdout.write(f"{position} {message_id}\n")
        sys.stdout.flush()


async def main(journal_path: Path, tasks: int) -> None:
    journal = open_journal(journal_path)
    await asyncio.gather(*(_appender(journal, task) for task in range(tasks)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 16))
