"""The node's conflict assessment, beside its event loop (DCF-CFL spec: the checks; docs/spec/07-response: the
automatic answer they lead to).

Checking a notice against 1e5 active volumes and indexing it costs the event loop as much as everything else it
does for the notice put together, so by default the index lives in a worker process (deconflict.conflict.worker)
on whatever CPU is free, and the loop only sends it orders and reads back conflicts. Orders go in the order things
happened, one batch per loop iteration; answers come back in the same order.

If the worker dies the node does not stop answering: it rebuilds the index in its own process from the notices it
holds and checks again whatever was still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import socket
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from deconflict.bridge.notice import flight_notice_to_proto
from deconflict.conflict.index import Conflict
from deconflict.conflict.work import Begin, Check, Desk, File, Found, Load, Order, Put, Remove, Sync
from deconflict.conflict.worker import LENGTH, frame, serve
from deconflict.models.envelope import Envelope
from deconflict.models.notice import FlightNotice

log = logging.getLogger(__name__)

_STOP_S = 1.0  # a worker reads the end of its socket at once, or is in the middle of a load: kill it


def _context() -> multiprocessing.context.ForkServerContext:
    """Workers fork from a fork server that imported only the conflict code: cheap to start again and again (a node
    reset for each conformance case), and never forked from a process running gRPC threads."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, multiprocessing.context.ForkServerContext)
    context.set_forkserver_preload(["deconflict.conflict.worker"])
    return context


class Assessor:
    """Where the node's conflict index lives: `worker` true for its own process, false for this one."""

    def __init__(self, worker: bool = True) -> None:
        self.worker = worker
        self._desk: Desk | None = None if worker else Desk()
        self._process: BaseProcess | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._outgoing: list[Order] = []
        # Orders not answered yet, as this process would carry them out should the worker die.
        self._waiting: dict[int, tuple[asyncio.Future[list[Conflict]], File | Check | Sync]] = {}
        self._tickets = itertools.count(1)
        self._loaded: asyncio.Future[list[Conflict]] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._volumes = 0
        self._begun = Begin(())
        self._holding: Callable[[], Load] = lambda: Load(())
        self._closing = False

    def __len__(self) -> int:
        """Volumes indexed, as of the worker's last answer."""
        return len(self._desk) if self._desk is not None else self._volumes

    @property
    def pid(self) -> int | None:
        """The worker process, while there is one."""
        return self._process.pid if self._process is not None and self._desk is None else None

    async def begin(self, begin: Begin, holding: Callable[[], Load]) -> None:
        """Empty the index, take the channels' minima and load what `holding` says the node holds; `holding` is
        asked again if the worker has to be replaced by this process.

        It does not wait for the worker: a node starts as fast without one, and checks asked for meanwhile wait in
        line behind the load (`ready` waits for it).
        """
        self._begun, self._holding = begin, holding
        for future, _ in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        if self._desk is not None:
            self._desk.carry_out([begin, holding()])
            return
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start_worker())
        self._send(begin)
        self._send(_crossing(holding()))
        self._loaded = self.settled()

    async def ready(self) -> None:
        """Wait until the index holds what the node held at `begin`."""
        if self._loaded is not None:
            await asyncio.shield(self._loaded)

    def settled(self) -> asyncio.Future[list[Conflict]]:
        """Resolved once every order given so far is carried out (then len() counts them)."""
        ticket = next(self._tickets)
        return self._ask(Sync(ticket), Sync(ticket))

    async def _start_worker(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            process = _context().Process(target=serve, args=(theirs,), name="deconflict-conflicts", daemon=True)
            # Starting talks to the fork server (started first, once per process, in about a second): off the loop.
            await asyncio.to_thread(process.start)
            self._process = process
            reader, self._writer = await asyncio.open_connection(sock=ours)
        except OSError as error:
            ours.close()
            self._take_over(error)
            return
        finally:
            theirs.close()
        self._reading = asyncio.get_running_loop().create_task(self._read(reader))
        self._flush()

    # -- orders

    def put(self, notice: FlightNotice, channel_id: str, exercise: bool) -> None:
        self._send(Put(self._carried(notice), channel_id, exercise))

    def remove(self, owner: str, notice_id: str) -> None:
        self._send(Remove(owner, notice_id))

    def file(self, envelope: Envelope, payload: bytes, check: bool) -> asyncio.Future[list[Conflict]] | None:
        """Index the notice `envelope` files (`payload`: its exact bytes, validated already); with `check`, the
        future of its conflicts with every other notice held, found before anything filed after it."""
        if not check:
            self._send(File(envelope if self._desk is not None else payload, 0))
            return None
        ticket = next(self._tickets)
        return self._ask(File(envelope, ticket), File(payload, ticket))

    def check(self, notice: FlightNotice, channel_id: str, exercise: bool) -> asyncio.Future[list[Conflict]]:
        """The future of the conflicts of a notice the index holds already (an answer owed since a restart)."""
        ticket = next(self._tickets)
        crossing = Check(_as_bytes(notice), channel_id, exercise, ticket)
        return self._ask(Check(notice, channel_id, exercise, ticket), crossing)

    def _ask(self, here: File | Check | Sync, crossing: File | Check | Sync) -> asyncio.Future[list[Conflict]]:
        """Send an order that has an answer; `here` is kept to be carried out in this process should the worker
        die first."""
        future: asyncio.Future[list[Conflict]] = asyncio.get_running_loop().create_future()
        self._waiting[here.ticket] = (future, here)
        self._send(here if self._desk is not None else crossing)
        return future

    def _carried(self, notice: FlightNotice) -> FlightNotice | bytes:
        """A notice as an order carries it: the model in this process, its protobuf bytes to the worker."""
        return notice if self._desk is not None else _as_bytes(notice)

    def _send(self, order: Order) -> None:
        if self._desk is not None:
            self._settle(self._desk.carry_out([order]))
            return
        self._outgoing.append(order)
        if len(self._outgoing) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if self._writer is None or self._desk is not None:
            # Not connected yet: they wait for the worker. Or it died since: the index rebuilt here holds them.
            return
        orders, self._outgoing = self._outgoing, []
        if orders and not self._writer.is_closing():
            self._writer.write(frame(orders))

    def _settle(self, found: list[Found]) -> None:
        for ticket, conflicts in found:
            waiting = self._waiting.pop(ticket, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(conflicts)

    # -- answers

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header = await reader.readexactly(LENGTH)
                volumes, found = _unpickle(await reader.readexactly(int.from_bytes(header, "big")))
                self._volumes = volumes
                self._settle(found)
        except (asyncio.IncompleteReadError, OSError) as error:
            if not self._closing:
                self._take_over(error)

    def _take_over(self, error: BaseException) -> None:
        """The worker is gone: index here what the node holds and check again what it had not answered."""
        log.error("the conflict worker stopped (%s): conflicts are now checked in the node's own process", error)
        desk = Desk()
        self._desk = desk
        self._outgoing = []
        desk.carry_out([self._begun, self._holding()])
        self._settle(desk.carry_out([order for _, (_, order) in sorted(self._waiting.items())]))

    async def close(self) -> None:
        self._closing = True
        if self._starting is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        for future, _ in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        process, self._process = self._process, None
        if process is not None:
            # The worker ends when it reads the end of its socket; one that does not is killed.
            await asyncio.to_thread(process.join, _STOP_S)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, _STOP_S)


def _crossing(load: Load) -> Load:
    """A Load as it crosses to the worker: each notice as its protobuf bytes, several times cheaper to send than
    the model, and validated again there (a check the worker's CPU pays, not the loop's)."""
    return Load(
        tuple(
            Put(_as_bytes(put.notice), put.channel_id, put.exercise) if isinstance(put.notice, FlightNotice) else put
            for put in load.notices
        )
    )


def _as_bytes(notice: FlightNotice) -> bytes:
    return flight_notice_to_proto(notice).SerializeToString()


def _unpickle(body: bytes) -> tuple[int, list[Found]]:
    value: tuple[int, list[Found]] = pickle.loads(body)
    return value
