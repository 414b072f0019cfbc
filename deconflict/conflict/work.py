"""The conflict index's work as a list of orders, so that it can run beside the node's event loop.

A node hands the index orders in the order things happen to it (a notice filed, a
notice ended, a check asked for) and gets back, for each check, the conflicts found.
`Desk` carries them out, in the node's own process or in a process of its own
(deconflict.conflict.worker): the orders are the same either way, and small and
cheap to send (a notice travels as the protobuf bytes it arrived in, not as a model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from deconflict.bridge.envelope import decode_envelope, envelope_data
from deconflict.bridge.notice import flight_notice_data
from deconflict.conflict.index import Conflict, ConflictIndex, IndexedNotice
from deconflict.models.channel import PriorityRule, SeparationMinima
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.notice import FlightNotice
from deconflict.v1 import notice_pb2


class Minima(NamedTuple):
    """What a channel's agreement says a conflict is (DCF-CFL-001, DCF-CFL-014)."""

    channel_id: str
    separation: SeparationMinima
    priority_rules: tuple[PriorityRule, ...]


class Begin(NamedTuple):
    """Empty the index and take each channel's minima: a node starting."""

    channels: tuple[Minima, ...]


class Put(NamedTuple):
    """Index a notice (replacing the version held), or unindex it when it is no longer ACTIVE.

    `notice`: a FlightNotice, or its serialized protobuf when the order crosses to another process.
    """

    notice: FlightNotice | bytes
    channel_id: str
    exercise: bool


class Load(NamedTuple):
    """Many Puts into an empty index: bulk-loaded, many times faster (a node starting)."""

    notices: tuple[Put, ...]


class Remove(NamedTuple):
    """A notice ended (cancelled, expired, withdrawn): its volumes leave the index."""

    owner: str
    notice_id: str


class File(NamedTuple):
    """An envelope filing a notice (a new one or an amendment) was stored: index its notice and, when `ticket` is
    not 0, find its conflicts with every other notice held, the answer for that ticket.

    `envelope`: the Envelope, or its payload bytes (validated before it was stored) across processes.
    """

    envelope: Envelope | bytes
    ticket: int


class Check(NamedTuple):
    """Find, for `ticket`, the conflicts of a notice the index holds already (an answer owed from before a
    restart)."""

    notice: FlightNotice | bytes
    channel_id: str
    exercise: bool
    ticket: int


class Sync(NamedTuple):
    """Answer `ticket` with no conflicts once every order before it is carried out: the node waits for its index."""

    ticket: int


Order = Begin | Put | Load | Remove | File | Check | Sync
Found = tuple[int, list[Conflict]]  # a ticket and the conflicts found for it


class Desk:
    """Carries out orders on one ConflictIndex."""

    def __init__(self) -> None:
        self.index = ConflictIndex()
        self._minima: dict[str, Minima] = {}

    def __len__(self) -> int:
        return len(self.index)

    def carry_out(self, orders: Sequence[Order]) -> list[Found]:
        """Every order in turn; what the checks among them found, in the same order."""
        found: list[Found] = []
        for order in orders:
            if isinstance(order, File):
                checked = self._file(order)
                if checked is not None:
                    found.append(checked)
            elif isinstance(order, Check):
                prepared = IndexedNotice.from_notice(
                    _notice(order.notice), channel_id=order.channel_id, exercise=order.exercise
                )
                found.append((order.ticket, self._conflicts(prepared)))
            elif isinstance(order, Sync):
                found.append((order.ticket, []))
            elif isinstance(order, Remove):
                self.index.remove(order.owner, order.notice_id)
            elif isinstance(order, Put):
                self.index.put(_notice(order.notice), channel_id=order.channel_id, exercise=order.exercise)
            elif isinstance(order, Load):
                self.index.put_many(
                    IndexedNotice.from_notice(_notice(put.notice), channel_id=put.channel_id, exercise=put.exercise)
                    for put in order.notices
                )
            else:
                self.index = ConflictIndex()
                self._minima = {minima.channel_id: minima for minima in order.channels}
        return found

    def _file(self, order: File) -> Found | None:
        envelope = order.envelope
        if isinstance(envelope, bytes):
            envelope = Envelope.model_validate(envelope_data(decode_envelope(envelope)))
        notice = envelope.filed_notice
        if notice is None:
            return (order.ticket, []) if order.ticket else None
        exercise = envelope.mode == Mode.EXERCISE
        prepared = IndexedNotice.from_notice(notice, channel_id=envelope.channel_id, exercise=exercise)
        self.index.put_indexed(prepared)
        return (order.ticket, self._conflicts(prepared)) if order.ticket else None

    def _conflicts(self, prepared: IndexedNotice) -> list[Conflict]:
        minima = self._minima[prepared.channel_id]
        return self.index.conflicts(prepared, minima.separation, minima.priority_rules, exercise=prepared.exercise)


def _notice(notice: FlightNotice | bytes) -> FlightNotice:
    if isinstance(notice, bytes):
        return FlightNotice.model_validate(flight_notice_data(notice_pb2.FlightNotice.FromString(notice)))
    return notice
