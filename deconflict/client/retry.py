"""Calling a node: a deadline per attempt, an overall deadline, retries of UNAVAILABLE only.

A retried request is the same bytes every time, serialized once before the first
attempt: the same message id, so the receiver's duplicate check answers a retry
of a message it stored with the same acknowledgement (DCF-ENV-023, DCF-ERR-010).
Every other refusal is definitive here (INVALID_ARGUMENT, ALREADY_EXISTS...):
sending it again would be refused again, or stored twice by an operator API that
picks message ids itself.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import grpc
import grpc.aio
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message as ProtoMessage

from deconflict.models.errors import SequenceGap, StaleVersion
from deconflict.rpc.refusal import Refusal, refusal_from_rpc_error
from deconflict.rpc.server import KEEPALIVE_OPTIONS, MESSAGE_SIZE_OPTIONS, Options
from deconflict.security.credentials import ClientTls

T = TypeVar("T")
P = TypeVar("P", bound=ProtoMessage)

CHANNEL_OPTIONS: Final[Options] = (*MESSAGE_SIZE_OPTIONS, *KEEPALIVE_OPTIONS)


class RefusedError(Exception):
    """A call the node refused (or the transport failed): the Refusal with its code, fields, reason and details."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.code.name}: {refusal.message}")
        self.refusal = refusal

    @property
    def code(self) -> grpc.StatusCode:
        return self.refusal.code

    @property
    def message(self) -> str:
        return self.refusal.message

    @property
    def reason(self) -> str:
        return self.refusal.reason

    @property
    def violations(self) -> list[tuple[str, str]]:
        return self.refusal.violations

    @property
    def stale_version(self) -> StaleVersion | None:
        return self.refusal.stale_version

    @property
    def sequence_gap(self) -> SequenceGap | None:
        return self.refusal.sequence_gap


@dataclass(frozen=True)
class RetryPolicy:
    """How long to try, and how long to wait between tries (seconds)."""

    attempt_timeout: float = 5.0
    overall_timeout: float = 30.0
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    retryable: frozenset[grpc.StatusCode] = field(default=frozenset({grpc.StatusCode.UNAVAILABLE}))

    def __post_init__(self) -> None:
        if min(self.attempt_timeout, self.overall_timeout, self.initial_backoff, self.max_backoff) <= 0:
            raise ValueError("timeouts and backoffs are positive")
        if self.multiplier < 1:
            raise ValueError("the backoff multiplier is at least 1")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The pause before retry number `retry` (0 first): exponential, capped, with jitter.

        The jitter (between half and all of the step) keeps the senders of a
        channel that broke together from coming back in lockstep.
        """
        step = min(self.max_backoff, self.initial_backoff * self.multiplier**retry)
        return rng.uniform(step / 2, step)


_SHORTEST_ATTEMPT: Final = 0.01


async def call_with_retry(
    attempt: Callable[[float], Awaitable[T]],
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`await attempt(timeout)` until it succeeds, fails for good, or the overall deadline would pass.

    Each attempt gets the smaller of the attempt timeout and the time left. A
    failure raises RefusedError with the Refusal read from the status: at once when
    its code is not retryable, with the last failure when no retry fits in time.
    """
    rng = rng or random.Random()
    deadline = clock() + policy.overall_timeout
    retry = 0
    while True:
        try:
            return await attempt(min(policy.attempt_timeout, deadline - clock()))
        except grpc.RpcError as error:
            refusal = refusal_from_rpc_error(error)
        pause = policy.backoff(retry, rng)
        # A retry is sent only when, after the pause, it still has some time to run.
        if refusal.code not in policy.retryable or clock() + pause + _SHORTEST_ATTEMPT >= deadline:
            raise RefusedError(refusal)
        retry += 1
        await sleep(pause)


def as_proto(value: ProtoMessage | Any, to_proto: Callable[[Any], P]) -> P:
    """A model converted by its bridge function; a protobuf message as it is.

    Protobuf passes through so that a caller need not build a model first (a
    checklist of 100 000 entries) or can send what a model refuses (an operator's
    notice before the node gives it an id, owner and version).
    """
    if isinstance(value, ProtoMessage):
        return value  # type: ignore[return-value]
    return to_proto(value)


class RpcClient:
    """An async context manager owning one grpc.aio channel to a node; the base of the typed clients."""

    def __init__(
        self,
        target: str,
        *,
        tls: ClientTls | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        options: Options = (),
    ) -> None:
        """`tls`: mutual TLS with a deconflict certificate, the server verified as the party it names; or any
        other `credentials`; neither: plaintext, for a node started --insecure."""
        self.target = target
        self.timeout = timeout
        self.retry = retry or RetryPolicy(attempt_timeout=timeout)
        self._credentials = tls.credentials() if tls is not None else credentials
        merged = dict(CHANNEL_OPTIONS)
        if tls is not None:
            merged.update(tls.options())
        merged.update(options)
        self._options = list(merged.items())
        self._channel: grpc.aio.Channel | None = None
        self._unaries: dict[str, grpc.aio.UnaryUnaryMultiCallable[bytes, Any]] = {}

    async def __aenter__(self) -> Self:
        self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    def open(self) -> None:
        """Create the channel (it connects on the first call)."""
        if self._channel is None:
            self._channel = (
                grpc.aio.secure_channel(self.target, self._credentials, options=self._options)
                if self._credentials is not None
                else grpc.aio.insecure_channel(self.target, options=self._options)
            )

    async def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        channel, self._channel = self._channel, None
        self._unaries.clear()
        if channel is not None:
            await channel.close(None)

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            raise RuntimeError(f"the client of {self.target} is not open: use `async with`")
        return self._channel

    async def unary(
        self,
        service: ServiceDescriptor,
        method: str,
        request: ProtoMessage,
        *,
        retry: bool = True,
    ) -> Any:
        """Call `method` of `service` with `request`, serialized once; retried by the policy when `retry`."""
        path = f"/{service.full_name}/{method}"
        call = self._unaries.get(path)
        if call is None:
            output: type[ProtoMessage] = message_factory.GetMessageClass(service.methods_by_name[method].output_type)
            call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=output.FromString)
            self._unaries[path] = call
        data = request.SerializeToString()
        policy = self.retry if retry else _once(self.retry)
        return await call_with_retry(lambda timeout: call(data, timeout=timeout), policy)


def _once(policy: RetryPolicy) -> RetryPolicy:
    return replace(policy, overall_timeout=policy.attempt_timeout, retryable=frozenset())
