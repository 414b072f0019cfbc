"""Journal append throughput and latency, against bare SQLite of the same shape in the same run.

    python bench/journal_append.py [--seconds 2] [--dir DIR] [--synchronous FULL]

Cases, each on a fresh file with the journal's own table and index, WAL mode, the same synchronous setting:
- bare, commit per row: one thread inserting and committing one row at a time (the disk's fsync rate);
- bare, 100 rows per commit: the same thread committing in batches of 100 (what batching can buy);
- journal at 1, 16 and 64 concurrent appenders: asyncio tasks, each awaiting its append before the next, as a
  node's streams do; latency is from append() to the resolved future, that is until durable. The journal also
  hashes its tamper evidence on its writer thread (the bare cases do not): "hash us/entry" is that time per entry.
Absolute numbers vary from run to run; compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deconflict.journal import Direction, Record, open_journal

PAYLOAD = os.urandom(1000)  # about a signed notice of 3 volumes of 8 vertices
META = os.urandom(32)
CONCURRENCY = (1, 16, 64)
INSERT = (
    "INSERT INTO entries (position, channel_id, direction, message_id, sender, sequence, kind, payload,"
    " stored_time_us, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class Result:
    case: str
    appends: int
    seconds: float
    latencies: list[float]  # seconds, one per append
    commits: int
    evidence_seconds: float | None = None  # the journal's writer thread hashing its evidence

    @property
    def rate(self) -> float:
        return self.appends / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def record(n: int) -> Record:
    return Record(
        channel_id="channel-bench",
        direction=Direction.IN,
        message_id=f"message-{n}",
        sender="party-b",
        sequence=n + 1,
        kind="notice",
        payload=PAYLOAD,
        stored_time=datetime.now(UTC),
        meta=META,
    )


def row(position: int) -> tuple[object, ...]:
    stored_time_us = int(time.time() * 1e6)
    return (position, "channel-bench", "in", f"message-{position}", "party-b", position + 1, "notice", PAYLOAD,
            stored_time_us, META)  # fmt: skip


def create(path: Path) -> None:
    """An empty journal file: the bare cases write to the very same table and index."""

    async def create_and_close() -> None:
        await open_journal(path).close()

    asyncio.run(create_and_close())


def bare(path: Path, warm_up: float, seconds: float, synchronous: str, per_commit: int) -> Result:
    """One thread, one connection, `per_commit` rows per transaction, for `warm_up` then `seconds`."""
    create(path)
    result: list[Result] = []

    def run() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        latencies: list[float] = []
        position = commits = 0
        start = time.perf_counter() + warm_up
        while (begin := time.perf_counter()) - start < seconds:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT, [row(position + i) for i in range(per_commit)])
            connection.execute("COMMIT")
            position += per_commit
            if begin >= start:
                # Every row of the batch waited from the start of the batch to its commit.
                latencies += [time.perf_counter() - begin] * per_commit
                commits += 1
        elapsed = time.perf_counter() - start
        connection.close()
        result.append(Result(f"bare, {per_commit} row{'s' * (per_commit > 1)} per commit", len(latencies), elapsed,
                             latencies, commits))  # fmt: skip

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result[0]


def journal(path: Path, warm_up: float, seconds: float, synchronous: str, appenders: int) -> Result:
    """`appenders` tasks, each awaiting its append before the next, for `warm_up` then `seconds`."""

    async def run() -> Result:
        journal = open_journal(path, synchronous=synchronous)
        latencies: list[float] = []
        start = time.perf_counter() + warm_up

        async def appender() -> None:
            while (begin := time.perf_counter()) - start < seconds:
                await journal.append(record(journal.size))
                if begin >= start:
                    latencies.append(time.perf_counter() - begin)

        tasks = [asyncio.create_task(appender()) for _ in range(appenders)]
        await asyncio.sleep(warm_up)
        warm = journal.stats
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        await journal.close()
        commits = journal.stats.commits - warm.commits
        evidence = journal.stats.evidence_seconds - warm.evidence_seconds
        return Result(f"journal, {appenders} appender{'s' * (appenders > 1)}", len(latencies), elapsed, latencies,
                      commits, evidence)  # fmt: skip

    return asyncio.run(run())


def table(results: list[Result], per_row: Result, batched: Result) -> str:
    header = ("case", "appends/s", "p50 ms", "p99 ms", "rows/commit", "hash us/entry", "x per-row", "x batch-100")
    lines = [header]
    for result in results:
        lines.append(
            (
                result.case,
                f"{result.rate:,.0f}",
                f"{result.percentile(0.5) * 1e3:.2f}",
                f"{result.percentile(0.99) * 1e3:.2f}",
                f"{result.appends / max(result.commits, 1):.1f}",
                "-" if result.evidence_seconds is None else f"{result.evidence_seconds / result.appends * 1e6:.1f}",
                f"{result.rate / per_row.rate:.2f}",
                f"{result.rate / batched.rate:.2f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5, help="measured time of each case (default 1.5)")
    # Until the WAL file has grown to its steady size, each fsync also updates the file's size: not steady state.
    parser.add_argument("--warm-up", type=float, default=1.0, help="unmeasured time before each case (default 1)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files (default: a temporary "
                        "directory; use a directory on the disk the node will use, not tmpfs)")  # fmt: skip
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="journal-bench-") as directory:
        print(f"files in {directory}, synchronous={args.synchronous}, {args.warm_up:g} s warm-up then "
              f"{args.seconds:g} s per case, {len(PAYLOAD)}-byte payloads")  # fmt: skip
        cases: list[Callable[[Path], Result]] = [
            functools.partial(
                bare, warm_up=args.warm_up, seconds=args.seconds, synchronous=args.synchronous, per_commit=1
            ),
            functools.partial(
                bare, warm_up=args.warm_up, seconds=args.seconds, synchronous=args.synchronous, per_commit=100
            ),
            *(
                functools.partial(
                    journal, warm_up=args.warm_up, seconds=args.seconds, synchronous=args.synchronous, appenders=n
                )
                for n in CONCURRENCY
            ),
        ]
        results = [case(Path(directory) / f"case-{i}.db") for i, case in enumerate(cases)]
    print(table(results, per_row=results[0], batched=results[1]))


if __name__ == "__main__":
    main()
