"""The gRPC server of a node: limits, keepalive, health, reflection and a graceful stop.

A node builds the server from its service handlers (build_server), binds an
address (bind, port 0 for any), starts it (`await server.start()`) and serves
until told to stop (serve_until_signal).
"""

from __future__ import annotations

import asyncio
import signal
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Final

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from deconflict.rpc.handlers import ServiceHandler

# Checklists of 100 000 entries with identifiers at their longest (DCF-LIM-019).
MAX_MESSAGE_BYTES: Final = 32 * 1024 * 1024

Options = Sequence[tuple[str, Any]]

# A peer that vanishes without closing its connection (a cut link, a host that
# died) is noticed within keepalive time + timeout, here 15 s, not after the
# operating system's TCP timeout of minutes. Pings are allowed without calls,
# so an idle channel between two nodes is watched too; the server accepts the
# peer's pings every 10 s (grpc's default minimum is 5 minutes).
KEEPALIVE_OPTIONS: Final[Options] = (
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
)

MESSAGE_SIZE_OPTIONS: Final[Options] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)

SERVER_OPTIONS: Final[Options] = (*MESSAGE_SIZE_OPTIONS, *KEEPALIVE_OPTIONS)

_SERVING = health_pb2.HealthCheckResponse.SERVING

# The health servicer of each server build_server made, for shutdown to turn NOT_SERVING.
_HEALTH: weakref.WeakKeyDictionary[grpc.aio.Server, Any] = weakref.WeakKeyDictionary()


def build_server(
    handlers: Iterable[ServiceHandler],
    *,
    options: Options = (),
    health_checking: bool = True,
    server_reflection: bool = True,
) -> grpc.aio.Server:
    """A grpc.aio server with the services of `handlers`, health checking and reflection.

    `options` are added to SERVER_OPTIONS and win over them. Health (grpc.health.v1)
    answers SERVING for the server ("") and each service until shutdown; reflection
    lists every service, health and reflection included, so that generic tools can
    call the node without its schemas.
    """
    merged = dict(SERVER_OPTIONS)
    merged.update(options)
    server = grpc.aio.server(options=list(merged.items()))
    names: list[str] = []
    for handler in handlers:
        server.add_generic_rpc_handlers((handler,))
        # What the generated add_*_to_server does too: grpc dispatches registered methods without a lookup in Python.
        server.add_registered_method_handlers(handler.service_name(), handler.method_handlers)  # type: ignore[attr-defined]
        names.append(handler.service_name())
    if health_checking:
        servicer = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        for name in ("", *names):
            _set_before_start(servicer, name)
        _HEALTH[server] = servicer
        names.append(health.SERVICE_NAME)
    if server_reflection:
        reflection.enable_server_reflection((*names, reflection.SERVICE_NAME), server)
    return server


def _set_before_start(servicer: Any, service: str) -> None:
    # HealthServicer.set is a coroutine; it only waits when someone watches the
    # service, and nobody can before the server starts, so it runs to its end at
    # once. build_server stays synchronous, as grpc.aio.server() is.
    step = servicer.set(service, _SERVING)
    try:
        step.send(None)
    except StopIteration:
        return
    step.close()
    raise RuntimeError("health status could not be set before the server started")


def bind(server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None = None) -> int:
    """Listen on `address` ("127.0.0.1:0" picks a free port); returns the port bound.

    Without credentials the port is plaintext: for local experiments only (DCF-SEC-005).
    """
    try:
        port = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as error:  # grpc raises for an address it cannot bind
        raise OSError(f"cannot listen on {address}: {error}") from error
    if port == 0:  # older grpc answered 0 instead of raising
        raise OSError(f"cannot listen on {address}")
    return port


async def shutdown(server: grpc.aio.Server, *, grace: float) -> None:
    """Stop gracefully: health NOT_SERVING, no new calls, calls in flight get `grace` seconds to finish.

    Watch streams still open when the grace period ends are cancelled; a node
    that wants them to end with UNAVAILABLE (DCF-STR-006) ends them itself first.
    """
    servicer = _HEALTH.get(server)
    if servicer is not None:
        # Health watchers see NOT_SERVING before the listener closes.
        await servicer.enter_graceful_shutdown()
    await server.stop(grace)


async def serve_until_signal(
    server: grpc.aio.Server,
    *,
    grace: float,
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Serve until SIGTERM or SIGINT (or until the server stops), then shut down gracefully.

    The handlers are removed as soon as the first signal arrives, so a second one
    takes its default effect and ends a shutdown that hangs.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    signalled = asyncio.ensure_future(stop.wait())
    terminated = asyncio.ensure_future(server.wait_for_termination())
    try:
        await asyncio.wait((signalled, terminated), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        signalled.cancel()
    try:
        await shutdown(server, grace=grace)
    finally:
        terminated.cancel()
