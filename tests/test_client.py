"""The typed clients over real gRPC on 127.0.0.1: deliveries, refusals, retries, deadlines, streams."""

from __future__ import annotations

import asyncio
import inspect
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import grpc
import grpc.aio
import pytest

from deconflict.bridge.channel import hello_to_proto
from deconflict.bridge.envelope import seal_acknowledgement, signed_payload_to_proto
from deconflict.bridge.errors import message_refusal_to_proto
from deconflict.bridge.notice import flight_notice_to_proto
from deconflict.client import (
    BadAnswerError,
    Delivery,
    OperatorClient,
    PeerClient,
    RefusedError,
    RetryPolicy,
    StreamRefusal,
)
from deconflict.client.operator import OPERATOR_SERVICE
from deconflict.client.peer import CHANNEL_SERVICE, CONFERENCE_SERVICE, NOTICE_SERVICE
from deconflict.models.channel import Hello, VersionRange
from deconflict.models.envelope import ENVELOPE_TYPE, Mode
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, Circle, LatLng, Volume3D, Volume4D
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.models.response import LogicalAcknowledgement
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.rpc.handlers import RequestStream, service_handler
from deconflict.rpc.refusal import Refusal, to_message_refusal
from deconflict.v1 import channel_service_pb2, envelope_pb2, notice_service_pb2
from tests.test_rpc import REFUSALS, behaviours, collect, serving

FAST = RetryPolicy(attempt_timeout=2.0, overall_timeout=5.0, initial_backoff=0.01, max_backoff=0.05)

ACKNOWLEDGEMENT = LogicalAcknowledgement(
    channel_id="ru-us",
    acknowledging_party="us-dod",
    message_id="ru-mod/msg/1",
    message_sender="ru-mod",
    message_sequence=1,
    payload_sha256=bytes(range(32)),
    journal_position=7,
    stored_time=datetime(2015, 10, 1, 5, 0, tzinfo=UTC),
    notice_id="ru-mod/0001",
    notice_version=1,
)
SIGNED_ACK = signed_payload_to_proto(seal_acknowledgement(ACKNOWLEDGEMENT))


def envelope(tag: str = "1") -> envelope_pb2.SignedPayload:
    """A signed envelope as the plumbing sees it: opaque bytes of the right type."""
    return envelope_pb2.SignedPayload(payload_type=ENVELOPE_TYPE, payload=f"envelope {tag}".encode())


def flight_level(value: int) -> Altitude:
    return Altitude(value=value, reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL)


NOTICE = FlightNotice(
    notice_id="ru-mod/0001",
    version=1,
    state=NoticeState.ACTIVE,
    owner="ru-mod",
    volumes=[
        Volume4D(
            volume=Volume3D(
                circle=Circle(center=LatLng(latitude=35.13, longitude=36.75), radius_m=30_000),
                altitude_lower=flight_level(50),
                altitude_upper=flight_level(250),
            ),
            time_start=datetime(2015, 10, 1, 6, tzinfo=UTC),
            time_end=datetime(2015, 10, 1, 8, tzinfo=UTC),
        )
    ],
    aircraft_category=AircraftCategory.FIXED_WING,
    aircraft_count=4,
    category=NoticeCategory.ROUTINE,
)


@asynccontextmanager
async def peer(retry: RetryPolicy = FAST, **chosen: Callable[..., Any]) -> AsyncIterator[PeerClient]:
    """A server of the three deconflict.v1 services with the chosen behaviours, and a client of it."""
    handlers = [
        service_handler(
            service, behaviours(service, **{n: b for n, b in chosen.items() if n in service.methods_by_name})
        )
        for service in (NOTICE_SERVICE, CONFERENCE_SERVICE, CHANNEL_SERVICE)
    ]
    async with serving(*handlers) as (_, port), PeerClient(f"127.0.0.1:{port}", retry=retry) as client:
        yield client


@asynccontextmanager
async def operator(**chosen: Callable[..., Any]) -> AsyncIterator[OperatorClient]:
    async with (
        serving(service_handler(OPERATOR_SERVICE, behaviours(OPERATOR_SERVICE, **chosen))) as (_, port),
        OperatorClient(f"127.0.0.1:{port}", retry=FAST) as client,
    ):
        yield client


@asynccontextmanager
async def raw_notice_server(answer: Callable[[bytes, Any], Any]) -> AsyncIterator[int]:
    """SubmitNotice answered by `answer(raw bytes, context)`, to see exactly the bytes each attempt sent."""
    handler = grpc.unary_unary_rpc_method_handler(answer, request_deserializer=None, response_serializer=None)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(NOTICE_SERVICE.full_name, {"SubmitNotice": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


# Every RPC has its method.


@pytest.mark.parametrize(
    ("client", "services"),
    [
        pytest.param(PeerClient, (NOTICE_SERVICE, CONFERENCE_SERVICE, CHANNEL_SERVICE), id="peer"),
        pytest.param(OperatorClient, (OPERATOR_SERVICE,), id="operator"),
    ],
)
def test_the_client_has_a_method_per_rpc(client, services):
    for service in services:
        for method in service.methods:
            found = getattr(client, snake(method.name), None)
            assert found is not None, f"{client.__name__} lacks {snake(method.name)} for {method.full_name}"
            streaming = method.server_streaming
            check = inspect.isasyncgenfunction if streaming else inspect.iscoroutinefunction
            assert check(found), f"{client.__name__}.{snake(method.name)} is not async in the RPC's shape"


# Writes and refusals.


@pytest.mark.asyncio
async def test_a_write_returns_the_acknowledgement_as_received_and_opened():
    received = []

    async def submit(request, context):
        received.append(request.envelope)
        return notice_service_pb2.SubmitNoticeResponse(acknowledgement=SIGNED_ACK)

    async with peer(SubmitNotice=submit) as client:
        delivery = await client.submit_notice(envelope())
    assert received == [envelope()]
    assert isinstance(delivery, Delivery)
    assert delivery.signed == SIGNED_ACK
    assert delivery.acknowledgement == ACKNOWLEDGEMENT


@pytest.mark.asyncio
async def test_an_acknowledgement_that_cannot_be_opened_is_a_bad_answer():
    async def submit(request, context):
        return notice_service_pb2.SubmitNoticeResponse()

    async with peer(SubmitNotice=submit) as client:
        with pytest.raises(BadAnswerError, match=r"acknowledgement\.payload_type"):
            await client.submit_notice(envelope())


@pytest.mark.asyncio
@pytest.mark.parametrize("make", REFUSALS.values(), ids=REFUSALS.keys())
async def test_a_refusal_raises_refused_error_with_everything_the_peer_sent(make):
    sent = make()

    async def refuse(request, context):
        raise sent

    async with peer(AmendNotice=refuse) as client:
        with pytest.raises(RefusedError) as caught:
            await client.amend_notice(envelope())
    error = caught.value
    assert (error.code, error.message, error.reason) == (sent.code, sent.message, sent.reason)
    assert error.violations == sent.violations
    assert (error.stale_version, error.sequence_gap) == (sent.stale_version, sent.sequence_gap)


@pytest.mark.asyncio
async def test_reads_send_models_and_return_the_response():
    hello = Hello(
        channel_id="ru-us",
        party="ru-mod",
        supported_versions=VersionRange(min_major=1, max_major=1),
        agreement_hash=bytes(32),
        agreement_version=1,
        sent_time=datetime(2015, 10, 1, 5, tzinfo=UTC),
    )

    async def answer(request, context):
        return channel_service_pb2.HelloResponse(hello=request.hello, selected_major=1)

    async with peer(Hello=answer) as client:
        from_model = await client.hello(hello)
        from_proto = await client.hello(hello_to_proto(hello))
    assert from_model.hello == hello_to_proto(hello) == from_proto.hello
    assert from_model.selected_major == 1


@pytest.mark.asyncio
async def test_a_client_used_outside_its_context_says_so():
    client = PeerClient("127.0.0.1:1")
    with pytest.raises(RuntimeError, match="not open"):
        await client.get_agreement("ru-us")


# Retries: UNAVAILABLE only, the same bytes every time, within the overall deadline.


@pytest.mark.asyncio
async def test_unavailable_is_retried_with_the_same_bytes():
    seen: list[bytes] = []

    async def flaky(data: bytes, context):
        seen.append(data)
        if len(seen) <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "this node cannot store now")
        return notice_service_pb2.SubmitNoticeResponse(acknowledgement=SIGNED_ACK).SerializeToString()

    async with raw_notice_server(flaky) as port, PeerClient(f"127.0.0.1:{port}", retry=FAST) as client:
        delivery = await client.submit_notice(envelope())
    assert delivery.acknowledgement == ACKNOWLEDGEMENT
    assert len(seen) == 3
    sent = notice_service_pb2.SubmitNoticeRequest(envelope=envelope()).SerializeToString()
    assert seen == [sent, sent, sent]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "refusal",
    [
        Refusal.invalid([("envelope.payload", "must not be empty")]),
        Refusal.already_exists("MESSAGE_ID_REUSED", "message ru-mod/msg/1 was stored with other content"),
        Refusal.failed_precondition("HELLO_REQUIRED", "say Hello on channel ru-us first"),
    ],
    ids=["invalid-argument", "already-exists", "failed-precondition"],
)
async def test_a_definitive_refusal_is_not_retried(refusal):
    calls = []

    async def refuse(request, context):
        calls.append(request)
        raise refusal

    async with peer(SubmitNotice=refuse) as client:
        with pytest.raises(RefusedError) as caught:
            await client.submit_notice(envelope())
    assert caught.value.code == refusal.code
    assert len(calls) == 1


@pytest.mark.asyncio
async def test_the_overall_deadline_is_respected():
    seen: list[bytes] = []

    async def down(data: bytes, context):
        seen.append(data)
        await context.abort(grpc.StatusCode.UNAVAILABLE, "this node cannot store now")

    policy = RetryPolicy(attempt_timeout=2.0, overall_timeout=0.6, initial_backoff=0.05, max_backoff=0.1)
    async with raw_notice_server(down) as port, PeerClient(f"127.0.0.1:{port}", retry=policy) as client:
        began = time.monotonic()
        with pytest.raises(RefusedError) as caught:
            await client.submit_notice(envelope())
        took = time.monotonic() - began
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert took < 0.6 + 0.3
    assert len(seen) >= 3


@pytest.mark.asyncio
async def test_each_attempt_has_its_deadline():
    seen: list[bytes] = []

    async def hangs(data: bytes, context):
        seen.append(data)
        await asyncio.sleep(10)
        return b""

    once = RetryPolicy(attempt_timeout=0.2, overall_timeout=5.0)
    async with raw_notice_server(hangs) as port, PeerClient(f"127.0.0.1:{port}", retry=once) as client:
        began = time.monotonic()
        with pytest.raises(RefusedError) as caught:
            await client.submit_notice(envelope())
        took = time.monotonic() - began
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED  # not retryable by default
    assert (len(seen), took < 1.0) == (1, True)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    rng = random.Random(7)
    for retry, step in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        pauses = {policy.backoff(retry, rng) for _ in range(50)}
        assert all(step / 2 <= pause <= step for pause in pauses)
        assert len(pauses) > 1  # jittered


def test_a_policy_refuses_nonsense():
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy(overall_timeout=0)


# Streams.


@pytest.mark.asyncio
async def test_watch_yields_the_envelopes_then_the_refusal_that_ends_it():
    asked = []

    async def watch(request, context):
        asked.append((request.channel_id, request.from_sequence))
        for tag in ("1", "2"):
            yield channel_service_pb2.WatchResponse(envelope=envelope(tag))
        raise Refusal.unavailable("the node is shutting down; watch again from sequence 3", reason="")

    async with peer(Watch=watch) as client:
        received: list[envelope_pb2.SignedPayload] = []
        with pytest.raises(RefusedError) as caught:
            await collect(client.watch("ru-us", from_sequence=1), received)
    assert asked == [("ru-us", 1)]
    assert received == [envelope("1"), envelope("2")]
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.asyncio
async def test_exchange_yields_one_answer_per_envelope_in_order():
    stale = Refusal.stale("ru-mod/0001", 1, 2)

    async def exchange(requests: RequestStream, context):
        async for request in requests:
            if request.envelope.payload == b"envelope stale":
                yield channel_service_pb2.ExchangeResponse(
                    refusal=message_refusal_to_proto(to_message_refusal(stale, "ru-mod/msg/2"))
                )
            else:
                yield channel_service_pb2.ExchangeResponse(acknowledgement=SIGNED_ACK)

    async with peer(Exchange=exchange) as client:
        answers = [answer async for answer in client.exchange([envelope("1"), envelope("stale"), envelope("3")])]
    assert [type(answer) for answer in answers] == [Delivery, StreamRefusal, Delivery]
    refused = answers[1]
    assert isinstance(refused, StreamRefusal)
    assert refused.message_id == "ru-mod/msg/2"
    assert (refused.refusal.code, refused.refusal.reason) == (grpc.StatusCode.ABORTED, "STALE_VERSION")
    assert refused.refusal.stale_version == stale.stale_version


# The operator's client.


@pytest.mark.asyncio
async def test_operator_client_sends_models_through_the_bridge():
    received = []

    async def file_notice(request, context):
        received.append(request)
        sent = operator_pb.Sent(channel_id="ru-us", message_id="ru-mod/msg/1", sequence=1, journal_position=1)
        return operator_pb.FileNoticeResponse(notice=request.notice, sent=[sent])

    async with operator(FileNotice=file_notice) as client:
        answer = await client.file_notice(NOTICE, mode=Mode.EXERCISE, channel_ids=["ru-us"])
    assert received[0].notice == flight_notice_to_proto(NOTICE)
    assert (received[0].mode, list(received[0].channel_ids)) == (Mode.EXERCISE, ["ru-us"])
    assert answer.sent[0].message_id == "ru-mod/msg/1"


@pytest.mark.asyncio
async def test_operator_writes_are_tried_once_and_refusals_raise():
    calls = []

    async def busy(request, context):
        calls.append(request)
        raise Refusal.unavailable()

    async def stale(request, context):
        raise Refusal.stale(request.notice.notice_id, request.replaces_version, 3)

    async with operator(FileNotice=busy, AmendNotice=stale) as client:
        with pytest.raises(RefusedError) as unavailable:
            await client.file_notice(NOTICE, mode=Mode.OPERATIONAL)
        with pytest.raises(RefusedError) as aborted:
            await client.amend_notice(NOTICE, replaces_version=1)
    assert (unavailable.value.code, len(calls)) == (grpc.StatusCode.UNAVAILABLE, 1)
    assert aborted.value.code == grpc.StatusCode.ABORTED
    assert aborted.value.stale_version is not None
    assert aborted.value.stale_version.current_version == 3


@pytest.mark.asyncio
async def test_operator_watch_events_follows_from_a_position():
    asked = []

    async def watch_events(request, context):
        asked.append(request.from_position)
        for position in (5, 6):
            yield operator_pb.WatchEventsResponse(event=operator_pb.Event(position=position, channel_id="ru-us"))

    async with operator(WatchEvents=watch_events) as client:
        events = [event async for event in client.watch_events(from_position=5)]
    assert asked == [5]
    assert [event.position for event in events] == [5, 6]
