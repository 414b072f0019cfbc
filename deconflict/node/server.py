"""A running node: its gRPC server with every service, the links to its peers and its timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import grpc

from deconflict.journal.sqlite import remove_journal
from deconflict.node.alerts import SUFFIX as ALERTS
from deconflict.node.assessor import Assessor
from deconflict.node.config import LoadedConfig, ResponsePolicy
from deconflict.node.faults import Fault
from deconflict.node.link import PeerLink
from deconflict.node.node import Node, utc_now
from deconflict.node.services.channel import ChannelService
from deconflict.node.services.conference import ConferenceService
from deconflict.node.services.notice import NoticeService
from deconflict.node.services.operator import OperatorService
from deconflict.node.services.testing import TestControlService
from deconflict.node.sidefiles import remove_beside
from deconflict.node.signer import CheckpointSigner
from deconflict.node.timers import run_timers
from deconflict.node.witness import SUFFIX as WITNESSED
from deconflict.operator.v1 import operator_service_pb2
from deconflict.rpc.handlers import behaviours_of, service_handler
from deconflict.rpc.server import bind, build_server, serve_until_signal, shutdown
from deconflict.security.access import Access, Audience
from deconflict.testing.v1 import test_control_service_pb2
from deconflict.v1 import channel_service_pb2, conference_service_pb2, notice_service_pb2

log = logging.getLogger(__name__)

SERVICES = (
    (notice_service_pb2, "NoticeService", NoticeService),
    (conference_service_pb2, "ConferenceService", ConferenceService),
    (channel_service_pb2, "ChannelService", ChannelService),
    (operator_service_pb2, "OperatorService", OperatorService),
)
# Who each service is for (DCF-SEC-004): the peer, this party's operators, the test clients the config lists.
AUDIENCES: dict[type, Audience] = {
    NoticeService: Audience.PEER,
    ConferenceService: Audience.PEER,
    ChannelService: Audience.PEER,
    OperatorService: Audience.OPERATOR,
    TestControlService: Audience.TESTING,
}


class NodeServer:
    """`await start()` and the node listens; `await stop()` shuts it down gracefully."""

    def __init__(
        self,
        loaded: LoadedConfig,
        clock: Callable[[], datetime] = utc_now,
        checkpoint_key: CheckpointSigner | None = None,
    ) -> None:
        # One conflict index for the server's life: a reset (testing) begins it afresh rather than start a worker.
        self.assessor = Assessor(loaded.config.conflict_worker)
        self.node = Node(loaded, clock, checkpoint_key, self.assessor)
        self.port = 0
        self._clock = clock
        self.checkpoint_key = checkpoint_key
        self._server: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._servicers: list[Any] = []
        self._channel_service: ChannelService | None = None

    @property
    def testing(self) -> bool:
        return self.node.config.testing.enabled

    def _access(self) -> Access:
        loaded = self.node.loaded
        trust = loaded.tls.trust() if loaded.tls is not None else None
        return Access(self.node.party, loaded.agreements, trust, loaded.config.testing.clients, self.node.faults)

    async def start(self) -> int:
        await self.node.start()
        access = self._access()
        handlers = []
        # The faulty variant that answers undecodable requests with UNKNOWN (node/faults.py).
        undecodable = (
            grpc.StatusCode.UNKNOWN if Fault.GARBAGE_UNKNOWN in self.node.faults else grpc.StatusCode.INVALID_ARGUMENT
        )
        for module, name, kind in self._services():
            descriptor = module.DESCRIPTOR.services_by_name[name]
            servicer = TestControlService(self) if kind is TestControlService else kind(self.node)
            if isinstance(servicer, ChannelService):
                self._channel_service = servicer
            if not isinstance(servicer, TestControlService):
                self._servicers.append(servicer)
            admit = access.admit(AUDIENCES[kind])
            handlers.append(service_handler(descriptor, behaviours_of(servicer, descriptor), undecodable, admit))
        # A node owns its address: with SO_REUSEPORT (grpc's default) a second process bound to the same port
        # would silently take part of the peer's calls, split between two ledgers. Refuse to start instead.
        server = build_server(handlers, options=(("grpc.so_reuseport", 0),))
        tls = self.node.loaded.tls
        # Mutual TLS (DCF-SEC-001); plaintext only when the configuration or `serve --insecure` asks (DCF-SEC-005).
        self.port = bind(server, self.node.config.listen, tls.server_credentials() if tls is not None else None)
        await server.start()
        self._server = server
        self._start_tasks()
        if tls is None:
            log.warning(
                "%s: plaintext gRPC without TLS: peers are not authenticated, for local experiments only (DCF-SEC-005)",
                self.node.party,
            )
        if self.testing:
            log.warning("%s: the test-control API is on: for conformance testing only", self.node.party)
            if tls is not None and not self.node.config.testing.clients:
                log.warning("%s: no [testing] clients: with TLS nobody may use the test-control API", self.node.party)
        log.info("%s listening on port %d", self.node.party, self.port)
        return self.port

    def _services(self) -> list[tuple[Any, str, type]]:
        services: list[tuple[Any, str, type]] = list(SERVICES)
        if self.testing:
            services.append((test_control_service_pb2, "TestControlService", TestControlService))
        return services

    def _start_tasks(self) -> None:
        assert self._channel_service is not None
        loop = asyncio.get_running_loop()
        for channel in self.node.ledger.channels.values():
            link = PeerLink(self.node, channel, self._channel_service.node_hello)
            self._tasks.append(loop.create_task(link.run()))
        self._tasks.append(loop.create_task(run_timers(self.node)))

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def reset(self, policy: ResponsePolicy, peer_address: str) -> None:
        """Start the party afresh (test control only): a new node on an empty journal, with `policy` and every
        channel's peer at `peer_address`; the server and its port stay."""
        if not self.testing:
            raise RuntimeError("reset is for testing only")
        await self._stop_tasks()
        await self.node.close()
        loaded = self.node.loaded
        remove_journal(loaded.journal_path)
        for suffix in (ALERTS, WITNESSED):
            remove_beside(loaded.journal_path, suffix)
        channels = [channel.model_copy(update={"peer_address": peer_address}) for channel in loaded.config.channels]
        config = loaded.config.model_copy(update={"policy": policy, "channels": channels})
        self.node = Node(replace(loaded, config=config), self._clock, self.checkpoint_key, self.assessor)
        await self.node.start()
        for servicer in self._servicers:
            servicer.node = self.node
        self._start_tasks()

    async def stop(self, grace: float = 2.0) -> None:
        await self._stop_tasks()
        if self._server is not None:
            await shutdown(self._server, grace=grace)
        await self.node.close()
        await self.assessor.close()

    async def serve_until_signal(self, grace: float = 5.0) -> None:
        assert self._server is not None
        await serve_until_signal(self._server, grace=grace)
        await self.stop(grace=0)
