"""Method handlers that answer every failure with a status of the protocol, never UNKNOWN.

grpc.aio answers a request its deserializer cannot decode with UNKNOWN and the
exception text, and an exception of a behaviour with UNKNOWN too. Here the
handlers take raw bytes (request_deserializer=None) and parse them themselves, so
that undecodable bytes are INVALID_ARGUMENT (DCF-ERR-004); a Refusal becomes its
status with its details; anything else is logged with its traceback under an
incident reference and answered INTERNAL with a sentence only (DCF-ERR-011).

A behaviour is `async def (request, context) -> response` for a unary response,
an async generator `(request, context)` for a stream of responses; for a stream
of requests it receives a RequestStream instead of the request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import grpc
import grpc.aio
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message as ProtoMessage

from deconflict.rpc.refusal import Refusal, to_rpc_status

if TYPE_CHECKING:
    _ServiceRpcHandler: TypeAlias = grpc.ServiceRpcHandler[Any, Any]
    MethodHandler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:  # the runtime classes are not generic
    _ServiceRpcHandler = grpc.ServiceRpcHandler
    MethodHandler = grpc.RpcMethodHandler

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
"""The servicer context a behaviour receives."""

Behaviour: TypeAlias = Callable[..., Any]
"""`async def (request, context) -> response`, or an async generator for a stream of responses."""

Admit: TypeAlias = Callable[[Context], None]
"""Run before a behaviour: raises a Refusal for a caller it may not serve (deconflict.security.access)."""

logger = logging.getLogger(__name__)

_Parse: TypeAlias = Callable[[bytes], ProtoMessage]


class RequestStream(AsyncIterator[ProtoMessage]):
    """The requests of a client stream, each parsed as it arrives.

    `async for request in stream` raises the Refusal of an undecodable request,
    which, unless the behaviour catches it, ends the call with INVALID_ARGUMENT. A
    behaviour that answers such a request in the stream instead (Exchange, with a
    MessageRefusal) iterates `stream.results()`, which yields the Refusal in the
    request's place and goes on.
    """

    def __init__(self, raw: AsyncIterable[bytes], parse: _Parse) -> None:
        self._raw = aiter(raw)
        self._parse = parse

    def __aiter__(self) -> RequestStream:
        return self

    async def __anext__(self) -> ProtoMessage:
        return self._parse(await anext(self._raw))

    async def results(self) -> AsyncIterator[ProtoMessage | Refusal]:
        """Each request parsed, or the Refusal that answers it when it cannot be decoded."""
        async for data in self._raw:
            try:
                request: ProtoMessage | Refusal = self._parse(data)
            except Refusal as refusal:
                request = refusal
            yield request


def decoder(message: Descriptor, undecodable: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> _Parse:
    """Bytes -> the protobuf message, or the INVALID_ARGUMENT Refusal naming the request ("").

    The transport bounds the size (server.py: 32 MiB for checklists, DCF-LIM-019),
    so the 1 MiB bound of a signed payload (registry.Binding.parse) does not apply
    to whole requests: a write at the bound carries signatures on top (DCF-LIM-006).
    `undecodable` is another code only in a deliberately faulty node (node/faults.py).
    """
    cls: type[ProtoMessage] = message_factory.GetMessageClass(message)
    name = message.full_name

    def parse(data: bytes) -> ProtoMessage:
        try:
            return cls.FromString(data)
        except Exception as error:  # any failure to decode is the sender's (DCF-ERR-004)
            why = f"not a valid {name} ({error or type(error).__name__})"
            if undecodable != grpc.StatusCode.INVALID_ARGUMENT:
                raise Refusal(undecodable, why) from None
            raise Refusal.undecodable("", why) from None

    return parse


async def _refuse(error: Exception, context: Context, method: str) -> NoReturn:
    """End the call with the status `error` stands for."""
    if isinstance(error, grpc.aio.AbortError):  # the behaviour aborted the call itself
        raise error
    if isinstance(error, Refusal):
        # Refusals are normal protocol behaviour; their sentence is written for this log (DCF-ERR-013).
        logger.info("%s refused: %s %s", method, error.code.name, error.message)
        status = to_rpc_status(error)
    else:
        incident = secrets.token_hex(6)
        logger.error("%s failed: internal error, incident %s", method, incident, exc_info=error)
        status = to_rpc_status(Refusal.internal(incident))
    await context.abort(status.code, status.details, status.trailing_metadata)


def _checked(response: object, output: type[ProtoMessage], method: str) -> ProtoMessage:
    # A behaviour that returns the wrong message would send bytes the client misreads: a fault of the node.
    if not isinstance(response, output):
        raise TypeError(f"{method} answered {type(response).__name__}, not {output.__name__}")
    return response


def method_handler(
    method: MethodDescriptor,
    behaviour: Behaviour,
    undecodable: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
    admit: Admit | None = None,
) -> MethodHandler:
    """The grpc handler of one method, for any of its four shapes.

    `admit` runs first, before the request is even parsed: it refuses a caller (a Refusal) or lets it in.
    """
    parse = decoder(method.input_type, undecodable)
    output: type[ProtoMessage] = message_factory.GetMessageClass(method.output_type)
    name = f"/{method.containing_service.full_name}/{method.name}"

    def request_of(raw: Any) -> Any:
        return RequestStream(raw, parse) if method.client_streaming else parse(raw)

    async def unary(raw: Any, context: Context) -> ProtoMessage:
        try:
            if admit is not None:
                admit(context)
            response: object = await behaviour(request_of(raw), context)
            return _checked(response, output, name)
        except Exception as error:
            await _refuse(error, context, name)

    async def streaming(raw: Any, context: Context) -> AsyncIterator[ProtoMessage]:
        responses: AsyncIterable[object] | None = None
        try:
            if admit is not None:
                admit(context)
            responses = behaviour(request_of(raw), context)
            async for response in responses:
                yield _checked(response, output, name)
        except Exception as error:
            await _refuse(error, context, name)
        finally:
            # A caller that goes away closes this generator; close the behaviour's now too,
            # so that its own clean-up (a Watch leaving its subscription) runs at once.
            close = getattr(responses, "aclose", None)
            if close is not None:
                await close()

    serialize: Callable[[ProtoMessage], bytes] = output.SerializeToString
    shapes = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }
    make = shapes[(method.client_streaming, method.server_streaming)]
    handle = streaming if method.server_streaming else unary
    return make(handle, request_deserializer=None, response_serializer=serialize)


class ServiceHandler(_ServiceRpcHandler):
    """Every method of one service; build_server also registers them by name (the faster path)."""

    def __init__(self, service: ServiceDescriptor, handlers: Mapping[str, MethodHandler]) -> None:
        self.descriptor = service
        self.method_handlers: dict[str, MethodHandler] = dict(handlers)
        self._by_path = {f"/{service.full_name}/{name}": handler for name, handler in handlers.items()}

    def service_name(self) -> str:
        return str(self.descriptor.full_name)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> MethodHandler | None:
        return self._by_path.get(handler_call_details.method)


def service_handler(
    service: ServiceDescriptor,
    behaviours: Mapping[str, Behaviour],
    undecodable: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
    admit: Admit | None = None,
) -> ServiceHandler:
    """The handler of `service`, keyed by RPC name ("SubmitNotice"); refuses a mapping that is not exact.

    A method left out would answer UNIMPLEMENTED to a peer that relies on it; a
    name that is no method is a typo. Both raise ValueError when the server is
    built rather than when a peer first calls.
    """
    methods = {method.name: method for method in service.methods}
    missing = sorted(set(methods) - set(behaviours))
    unknown = sorted(set(behaviours) - set(methods))
    if missing or unknown:
        parts = [f"no behaviour for {', '.join(missing)}"] if missing else []
        parts += [f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a method"] if unknown else []
        raise ValueError(f"{service.full_name}: {'; '.join(parts)}")
    return ServiceHandler(
        service, {name: method_handler(methods[name], behaviours[name], undecodable, admit) for name in methods}
    )


def behaviours_of(servicer: object, service: ServiceDescriptor) -> dict[str, Behaviour]:
    """The methods of `servicer` named as the RPCs of `service` (SubmitNotice...); absent ones are left out."""
    found = {method.name: getattr(servicer, method.name, None) for method in service.methods}
    return {name: behaviour for name, behaviour in found.items() if callable(behaviour)}
