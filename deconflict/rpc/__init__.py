"""gRPC plumbing of a node: refusals as statuses, method handlers that never answer UNKNOWN, the server."""

from deconflict.rpc.handlers import RequestStream, ServiceHandler, behaviours_of, service_handler
from deconflict.rpc.refusal import (
    Refusal,
    refusal_from_message_refusal,
    refusal_from_rpc_error,
    to_message_refusal,
    to_rpc_status,
)
from deconflict.rpc.server import bind, build_server, serve_until_signal, shutdown

__all__ = [
    "Refusal",
    "RequestStream",
    "ServiceHandler",
    "behaviours_of",
    "bind",
    "build_server",
    "refusal_from_message_refusal",
    "refusal_from_rpc_error",
    "serve_until_signal",
    "service_handler",
    "shutdown",
    "to_message_refusal",
    "to_rpc_status",
]
