"""The node's operator alerts (DCF-GEN-012): recorded durably with their time, channel and cause, and presented to
the operators until one of them acknowledges each.

Alerts are local, not protocol messages, so they stay out of the journal (whose entries are the messages
exchanged with the peer, and whose positions the peer reads in acknowledgements): they live in a small SQLite
file beside it, `<journal>.alerts`. The journal's lock covers it, since a node opens its journal first.

As with the journal, nothing on the event loop waits for the disk: one thread of its own holds the connection
and runs every statement, in the order they were asked for, so an alert is inserted before it can be
acknowledged. Raising an alert numbers it and presents it at once; its row is committed (synchronous=FULL)
moments later. The open alerts are kept in memory as well, for the operators' status and streams; the
acknowledged ones are read from the file when asked for.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from deconflict.cli.describe import volume as volume_text  # the words operators read everywhere
from deconflict.journal.base import JournalFormatError
from deconflict.models.response import OperationalResponse, ResponseKind
from deconflict.node.sidefiles import BUSY_TIMEOUT_MS, beside, from_micros, to_micros
from deconflict.operator.v1 import operator_service_pb2 as operator_pb

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
# "DCFA": marks the file as a deconflict alert file, so a stranger's SQLite file is refused, not changed.
APPLICATION_ID: Final = 0x44434641

_SCHEMA: Final = """
CREATE TABLE alerts (
    alert_id INTEGER PRIMARY KEY,
    raised_time_us INTEGER NOT NULL,
    channel_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    text TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    acknowledged_time_us INTEGER
) STRICT;
"""
_COLUMNS: Final = "alert_id, raised_time_us, channel_id, kind, text, subject_id, acknowledged_time_us"
SUFFIX: Final = "alerts"


def alerts_path(journal_path: Path) -> Path:
    """Where a node keeps its alerts: beside its journal, `ru-mod.journal` -> `ru-mod.journal.alerts`."""
    return beside(journal_path, SUFFIX)


@dataclass(frozen=True, slots=True)
class RecordedAlert:
    """One alert as the node recorded it."""

    alert_id: int
    raised_time: datetime
    channel_id: str
    kind: operator_pb.AlertKind.ValueType
    text: str
    subject_id: str
    acknowledged_time: datetime | None = None

    def event(self) -> operator_pb.Event:
        """The alert as operators receive it: an Event raised at its time, on its channel."""
        alert = operator_pb.Alert(kind=self.kind, text=self.text, subject_id=self.subject_id, alert_id=self.alert_id)
        if self.acknowledged_time is not None:
            alert.acknowledged_time.FromDatetime(self.acknowledged_time)
        event = operator_pb.Event(channel_id=self.channel_id, alert=alert)
        event.time.FromDatetime(self.raised_time)
        return event


class AlertBook:
    """The alerts of one node, in the SQLite file at `path` (created when missing).

    Opening blocks until the file is open and checked, and the open alerts are loaded: call it at start.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"alerts {self.path.name}")
        self._connection: sqlite3.Connection | None = None
        try:
            rows, last = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=True)
            raise
        self._open: dict[int, RecordedAlert] = {row.alert_id: row for row in rows}
        self._last_id = last
        self._closed = False

    # -- raising and acknowledging

    def record(
        self, kind: operator_pb.AlertKind.ValueType, text: str, subject_id: str, channel_id: str, now: datetime
    ) -> RecordedAlert:
        """Number an alert and keep it open; its row is written on the alert thread, in order."""
        self._last_id += 1
        alert = RecordedAlert(self._last_id, now, channel_id, kind, text, subject_id)
        self._open[alert.alert_id] = alert
        if self._closed:
            log.error("alerts %s: closed, alert %d is not recorded: %s", self.path, alert.alert_id, text)
            return alert
        self._executor.submit(self._insert, alert).add_done_callback(self._written)
        return alert

    async def acknowledge(self, alert_ids: Iterable[int], now: datetime) -> tuple[list[RecordedAlert], list[int]]:
        """Acknowledge the alerts, durably: those acknowledged already keep their first acknowledgement.

        Returns the alerts as acknowledged, in the order asked, and the ids the node never gave (when there are
        any, nothing is changed).
        """
        wanted = list(dict.fromkeys(alert_ids))
        loop = asyncio.get_running_loop()
        found, unknown = await loop.run_in_executor(self._executor, self._acknowledge, wanted, now)
        if not unknown:
            for alert in found:
                self._open.pop(alert.alert_id, None)
        return found, unknown

    # -- reading

    def open_alerts(self) -> list[RecordedAlert]:
        """The alerts no operator has acknowledged yet, oldest first."""
        return list(self._open.values())

    def open_count(self, channel_id: str) -> int:
        return sum(1 for alert in self._open.values() if alert.channel_id == channel_id)

    async def page(self, *, include_acknowledged: bool, from_id: int, limit: int) -> list[RecordedAlert]:
        """At most `limit` alerts from id `from_id` on, oldest first: the open ones, or all of them."""
        if not include_acknowledged:
            return [alert for alert in self._open.values() if alert.alert_id >= from_id][:limit]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._page, from_id, limit)

    async def close(self) -> None:
        """Write what is queued, then release the file."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    # -- the alert thread: the only one that touches the connection

    def _connect(self) -> tuple[list[RecordedAlert], int]:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = _check_format(connection, self.path)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            if version == 0:
                connection.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; "
                    f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE acknowledged_time_us IS NULL ORDER BY alert_id"
            ).fetchall()
            (last,) = connection.execute("SELECT max(alert_id) FROM alerts").fetchone()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return [_alert(row) for row in rows], int(last or 0)

    def _insert(self, alert: RecordedAlert) -> None:
        assert self._connection is not None
        raised = to_micros(alert.raised_time)
        self._connection.execute(
            f"INSERT INTO alerts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (alert.alert_id, raised, alert.channel_id, int(alert.kind), alert.text, alert.subject_id),
        )

    def _acknowledge(self, wanted: list[int], now: datetime) -> tuple[list[RecordedAlert], list[int]]:
        connection = self._connection
        assert connection is not None
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = {row[0]: row for row in _select(connection, wanted)}
            unknown = [alert_id for alert_id in wanted if alert_id not in found]
            if unknown:
                connection.execute("ROLLBACK")
                return [], unknown
            connection.executemany(
                "UPDATE alerts SET acknowledged_time_us = ? WHERE alert_id = ? AND acknowledged_time_us IS NULL",
                [(to_micros(now), alert_id) for alert_id in wanted],
            )
            rows = {row[0]: row for row in _select(connection, wanted)}
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return [_alert(rows[alert_id]) for alert_id in wanted], []

    def _page(self, from_id: int, limit: int) -> list[RecordedAlert]:
        assert self._connection is not None
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE alert_id >= ? ORDER BY alert_id LIMIT ?", (from_id, limit)
        ).fetchall()
        return [_alert(row) for row in rows]

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _written(self, write: Future[None]) -> None:
        if not write.cancelled() and write.exception() is not None:
            # The operators saw the alert and it stays open; after a restart it would be missing.
            log.error("alerts %s: an alert could not be recorded: %r", self.path, write.exception())


def _select(connection: sqlite3.Connection, alert_ids: list[int]) -> list[tuple[Any, ...]]:
    marks = ", ".join("?" for _ in alert_ids)
    return connection.execute(f"SELECT {_COLUMNS} FROM alerts WHERE alert_id IN ({marks})", alert_ids).fetchall()


def _check_format(connection: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (0: an empty file, to be created), or a refusal of a file that is not ours."""
    try:
        (application_id,) = connection.execute("PRAGMA application_id").fetchone()
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise JournalFormatError(f"{path} is not an alert file: {exc}") from exc
    if application_id == 0 and version == 0 and tables == 0:
        return 0
    if application_id != APPLICATION_ID:
        raise JournalFormatError(f"{path} is not a deconflict alert file (application_id {application_id:#x})")
    if version != SCHEMA_VERSION:
        raise JournalFormatError(
            f"{path} is an alert file of schema version {version}; this code reads version {SCHEMA_VERSION} only"
        )
    return int(version)


def _alert(row: tuple[Any, ...]) -> RecordedAlert:
    alert_id, raised, channel_id, kind, text, subject_id, acknowledged = row
    return RecordedAlert(
        alert_id=alert_id,
        raised_time=from_micros(raised),
        channel_id=channel_id,
        kind=kind,
        text=text,
        subject_id=subject_id,
        acknowledged_time=None if acknowledged is None else from_micros(acknowledged),
    )


# -- what an alert says


def response_text(peer: str, response: OperationalResponse) -> str:
    """An UNABLE or a COUNTER to one of our notices, summarised for the operator (DCF-RSP-033)."""
    head = f"{peer} answers {response.kind.name} to {response.notice_id} v{response.notice_version}"
    parts: list[str] = []
    if response.reasons:
        parts.append("reasons " + ", ".join(reason.name for reason in response.reasons))
    if response.offending_field:
        parts.append(f"field at fault {response.offending_field}")
    for conflict in response.conflicts:
        parts.append(
            f"conflicts with {conflict.notice_id} v{conflict.version} of {conflict.owner}: our volumes"
            f"[{conflict.volume_index}] and its volumes[{conflict.other_volume_index}] are "
            f"{conflict.lateral_distance_m / 1000:.1f} km and {conflict.vertical_distance_m:.0f} m apart"
        )
    if response.kind == ResponseKind.COUNTER:
        counter = "; ".join(f"[{index}] {volume_text(volume)}" for index, volume in enumerate(response.counter_volumes))
        parts.append(f"proposes {counter or 'no volumes'}; the notice stands until amended (DCF-RSP-032)")
    if response.remarks:
        parts.append(f"remarks: {response.remarks}")
    return head + (": " + "; ".join(parts) if parts else "")
