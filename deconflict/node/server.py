"""A running node: its gRPC server with every service, the links to its peers and its timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

import grpc

from deconflict.node.config import LoadedConfig
from deconflict.node.link import PeerLink
from deconflict.node.node import Node, utc_now
from deconflict.node.services.channel import ChannelService
from deconflict.node.services.conference import ConferenceService
from deconflict.node.services.notice import NoticeService
from deconflict.node.services.operator import OperatorService
from deconflict.node.timers import run_timers
from deconflict.operator.v1 import operator_service_pb2
from deconflict.rpc.handlers import behaviours_of, service_handler
from deconflict.rpc.server import bind, build_server, serve_until_signal, shutdown
from deconflict.v1 import channel_service_pb2, conference_service_pb2, notice_service_pb2

log = logging.getLogger(__name__)

SERVICES = (
    (notice_service_pb2, "NoticeService", NoticeService),
    (conference_service_pb2, "ConferenceService", ConferenceService),
    (channel_service_pb2, "ChannelService", ChannelService),
    (operator_service_pb2, "OperatorService", OperatorService),
)


class NodeServer:
    """`await start()` and the node listens; `await stop()` shuts it down gracefully."""

    def __init__(self, loaded: LoadedConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self.node = Node(loaded, clock)
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> int:
        await self.node.start()
        handlers = []
        channel_service: ChannelService | None = None
        for module, name, kind in SERVICES:
            descriptor = module.DESCRIPTOR.services_by_name[name]
            servicer = kind(self.node)
            if isinstance(servicer, ChannelService):
                channel_service = servicer
            handlers.append(service_handler(descriptor, behaviours_of(servicer, descriptor)))
        assert channel_service is not None
        # A node owns its address: with SO_REUSEPORT (grpc's default) a second process bound to the same port
        # would silently take part of the peer's calls, split between two ledgers. Refuse to start instead.
        server = build_server(handlers, options=(("grpc.so_reuseport", 0),))
        # Plaintext until mutual TLS lands (DCF-SEC spec); the config says so explicitly.
        self.port = bind(server, self.node.config.listen)
        await server.start()
        self._server = server
        loop = asyncio.get_running_loop()
        for channel in self.node.ledger.channels.values():
            link = PeerLink(self.node, channel, channel_service.node_hello)
            self._tasks.append(loop.create_task(link.run()))
        self._tasks.append(loop.create_task(run_timers(self.node)))
        log.info("%s listening on port %d", self.node.party, self.port)
        return self.port

    async def stop(self, grace: float = 2.0) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await shutdown(self._server, grace=grace)
        await self.node.close()

    async def serve_until_signal(self, grace: float = 5.0) -> None:
        assert self._server is not None
        await serve_until_signal(self._server, grace=grace)
        await self.stop(grace=0)
