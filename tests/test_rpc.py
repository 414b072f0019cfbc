"""The gRPC plumbing over real gRPC on 127.0.0.1: refusals, handlers, health, reflection, shutdown.

The behaviours here are small stand-ins: they test the plumbing, not the node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge.errors import message_refusal_to_proto
from deconflict.models.base import field_violations
from deconflict.models.errors import MessageRefusal, SequenceGap, StaleVersion
from deconflict.models.notice_service import GetNoticeRequest
from deconflict.rpc.handlers import RequestStream, behaviours_of, service_handler
from deconflict.rpc.refusal import (
    DETAILS_KEY,
    DOMAIN,
    Refusal,
    refusal_from_message_refusal,
    refusal_from_rpc_error,
    to_message_refusal,
    to_rpc_status,
)
from deconflict.rpc.server import bind, build_server, serve_until_signal, shutdown
from deconflict.v1 import channel_service_pb2, errors_pb2, notice_service_pb2

NOTICE = notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"]
CHANNEL = channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"]

GARBAGE = b"\x0a\xff\x01\x02"  # field 1, length 255, then two bytes: not a message
BAD_UTF8 = b"\x0a\x01\xff"  # field 1 (a string) holding a byte that is not UTF-8 (DCF-LIM-005)


async def nothing(request: Any, context: Any) -> Any:
    raise Refusal.not_found("nothing here")


async def no_stream(request: Any, context: Any) -> AsyncIterator[Any]:
    raise Refusal.not_found("nothing here")
    yield  # an async generator


def behaviours(service: Any, **chosen: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """Every method of `service`: the chosen behaviours, NOT_FOUND for the others."""
    return {
        method.name: chosen.get(method.name, no_stream if method.server_streaming else nothing)
        for method in service.methods
    }


@asynccontextmanager
async def serving(*handlers: Any, credentials: grpc.ServerCredentials | None = None) -> AsyncIterator[Any]:
    server = build_server(handlers)
    port = bind(server, "127.0.0.1:0", credentials)
    await server.start()
    try:
        yield server, port
    finally:
        await server.stop(None)


@asynccontextmanager
async def notice_server(**chosen: Callable[..., Any]) -> AsyncIterator[tuple[grpc.aio.Server, grpc.aio.Channel]]:
    """A NoticeService and a ChannelService with the chosen behaviours, and a channel to them."""
    notice_chosen = {name: value for name, value in chosen.items() if name in NOTICE.methods_by_name}
    channel_chosen = {name: value for name, value in chosen.items() if name in CHANNEL.methods_by_name}
    async with (
        serving(
            service_handler(NOTICE, behaviours(NOTICE, **notice_chosen)),
            service_handler(CHANNEL, behaviours(CHANNEL, **channel_chosen)),
        ) as (server, port),
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        yield server, channel


def raw_unary(channel: grpc.aio.Channel, service: Any, method: str) -> Any:
    """A multi-callable that sends and receives bytes as they are."""
    return channel.unary_unary(f"/{service.full_name}/{method}", request_serializer=None, response_deserializer=None)


async def collect(stream: Any, into: list[Any]) -> None:
    """Append what a stream yields to `into`, so a test sees what came before the status that ended it."""
    async for item in stream:
        into.append(item)


def details(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():
        if key == DETAILS_KEY:
            return status_pb2.Status.FromString(value)
    raise AssertionError("no grpc-status-details-bin")


def two_violations() -> Refusal:
    try:
        GetNoticeRequest.model_validate({"channel_id": "", "notice_id": "not an id!"})
    except ValidationError as error:
        return Refusal.from_validation(error, "envelope")
    raise AssertionError("the request was accepted")


REFUSALS = {
    "invalid-two-fields": two_violations,
    "stale-version": lambda: Refusal.stale("ru-mod/0001", 2, 3),
    "sequence-gap": lambda: Refusal.gap(5, 9),
}


# Undecodable requests: INVALID_ARGUMENT, never UNKNOWN or INTERNAL (DCF-ERR-004).


@pytest.mark.asyncio
@pytest.mark.parametrize("data", [GARBAGE, BAD_UTF8], ids=["garbage", "bad-utf8"])
@pytest.mark.parametrize("method", ["SubmitNotice", "GetNotice"])
async def test_undecodable_unary_request_is_invalid_argument(method, data):
    called = []

    async def record(request, context):
        called.append(request)
        return notice_service_pb2.GetNoticeResponse()

    async with notice_server(**{method: record}) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_unary(channel, NOTICE, method)(data, timeout=5)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    refusal = refusal_from_rpc_error(error)
    assert [field for field, _ in refusal.violations] == [""]
    assert f"deconflict.v1.{method}Request" in refusal.message
    assert refusal.reason == ""
    assert called == []


@pytest.mark.asyncio
async def test_undecodable_request_of_a_server_stream_is_invalid_argument():
    async with notice_server() as (_, channel):
        call = channel.unary_stream(f"/{CHANNEL.full_name}/Watch", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await collect(call(GARBAGE, timeout=5), [])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal_from_rpc_error(caught.value).violations[0][0] == ""


def exchange_call(channel: grpc.aio.Channel, frames: list[bytes]) -> Any:
    method = channel.stream_stream(
        f"/{CHANNEL.full_name}/Exchange", request_serializer=None, response_deserializer=None
    )
    return method(iter(frames), timeout=5)


def ack_for(request: channel_service_pb2.ExchangeRequest) -> channel_service_pb2.ExchangeResponse:
    return channel_service_pb2.ExchangeResponse(acknowledgement=request.envelope)


VALID_FRAME = channel_service_pb2.ExchangeRequest(envelope={"payload_type": "t", "payload": b"1"}).SerializeToString()


@pytest.mark.asyncio
async def test_undecodable_message_of_a_client_stream_ends_it_with_invalid_argument():
    async def exchange(requests: RequestStream, context):
        async for request in requests:
            yield ack_for(request)

    async with notice_server(Exchange=exchange) as (_, channel):
        answers: list[bytes] = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await collect(exchange_call(channel, [VALID_FRAME, GARBAGE, VALID_FRAME]), answers)
    assert len(answers) == 1  # the first message was answered, the stream ended at the second
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal_from_rpc_error(caught.value).violations[0][0] == ""


@pytest.mark.asyncio
async def test_a_behaviour_may_answer_an_undecodable_message_in_the_stream():
    async def exchange(requests: RequestStream, context):
        async for item in requests.results():
            if isinstance(item, Refusal):
                refusal = message_refusal_to_proto(to_message_refusal(item))
                yield channel_service_pb2.ExchangeResponse(refusal=refusal)
            else:
                yield ack_for(item)

    async with notice_server(Exchange=exchange) as (_, channel):
        answers = [
            channel_service_pb2.ExchangeResponse.FromString(answer)
            async for answer in exchange_call(channel, [VALID_FRAME, GARBAGE, VALID_FRAME])
        ]
    assert [answer.WhichOneof("result") for answer in answers] == ["acknowledgement", "refusal", "acknowledgement"]
    refused = refusal_from_message_refusal(answers[1].refusal)
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.violations[0][0] == ""


# Refusals reach the client with their code, message, field paths, reason and details.


@pytest.mark.asyncio
@pytest.mark.parametrize("make", REFUSALS.values(), ids=REFUSALS.keys())
async def test_refusal_reaches_the_client_whole(make):
    sent = make()

    async def refuse(request, context):
        raise sent

    async with notice_server(SubmitNotice=refuse) as (_, channel):
        request = notice_service_pb2.SubmitNoticeRequest().SerializeToString()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_unary(channel, NOTICE, "SubmitNotice")(request, timeout=5)
    error = caught.value
    received = refusal_from_rpc_error(error)
    assert (received.code, received.message) == (sent.code, sent.message)
    assert received.violations == sent.violations
    assert received.reason == sent.reason
    assert received.stale_version == sent.stale_version
    assert received.sequence_gap == sent.sequence_gap
    status = details(error)  # DCF-ERR-001: the Status repeats the status's code and message
    assert (status.code, status.message) == (error.code().value[0], error.details())


@pytest.mark.asyncio
async def test_many_field_violations_still_arrive_as_invalid_argument():
    # A polygon of 256 bad vertices: the whole list would pass gRPC's 8 KiB limit for trailers.
    many = [
        (f"notice.volumes[0].volume.polygon.vertices[{index}].latitude", "must be between -90 and 90, not 95.5")
        for index in range(256)
    ]

    async def refuse(request, context):
        raise Refusal.invalid(many)

    async with notice_server(GetNotice=refuse) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=5)
    received = refusal_from_rpc_error(caught.value)
    assert received.code == grpc.StatusCode.INVALID_ARGUMENT
    assert 10 < len(received.violations) < len(many)
    assert received.violations == many[: len(received.violations)]
    assert "(and 255 more fields at fault)" in received.message


def test_invalid_argument_names_the_fields_under_the_prefix():
    refusal = two_violations()
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in refusal.violations] == ["envelope.channel_id", "envelope.notice_id"]
    assert refusal.message.startswith("envelope.channel_id ")
    assert "1 more field" in refusal.message
    assert refusal.reason == ""


def test_details_are_bad_request_error_info_and_the_deconflict_details():
    stale_status = to_rpc_status(Refusal.stale("n-1", 1, 2))
    status = status_pb2.Status.FromString(dict(stale_status.trailing_metadata)[DETAILS_KEY])
    info = error_details_pb2.ErrorInfo()
    stale = errors_pb2.StaleVersion()
    assert [detail.type_url.rsplit("/", 1)[1] for detail in status.details] == [
        "google.rpc.ErrorInfo",
        "deconflict.v1.StaleVersion",
    ]
    assert status.details[0].Unpack(info)
    assert (info.domain, info.reason) == (DOMAIN, "STALE_VERSION")
    assert status.details[1].Unpack(stale)
    assert (stale.notice_id, stale.quoted_version, stale.current_version) == ("n-1", 1, 2)
    bad = status_pb2.Status.FromString(dict(to_rpc_status(two_violations()).trailing_metadata)[DETAILS_KEY])
    request = error_details_pb2.BadRequest()
    assert len(bad.details) == 1  # INVALID_ARGUMENT: BadRequest alone, no ErrorInfo
    assert bad.details[0].Unpack(request)
    assert [v.field for v in request.field_violations] == ["envelope.channel_id", "envelope.notice_id"]


@pytest.mark.parametrize(
    ("code", "options"),
    [
        pytest.param(grpc.StatusCode.OK, {}, id="ok"),
        pytest.param(grpc.StatusCode.INVALID_ARGUMENT, {"reason": "NOT_OWNER"}, id="reason-with-invalid-argument"),
        pytest.param(grpc.StatusCode.FAILED_PRECONDITION, {"reason": "NOT_OWNER"}, id="reason-of-another-code"),
        pytest.param(grpc.StatusCode.FAILED_PRECONDITION, {"reason": "lower_case"}, id="reason-form"),
        pytest.param(grpc.StatusCode.ABORTED, {"reason": "STALE_VERSION"}, id="reason-without-detail"),
        pytest.param(
            grpc.StatusCode.ABORTED,
            {"stale_version": StaleVersion(notice_id="n", quoted_version=1, current_version=2)},
            id="detail-without-reason",
        ),
        pytest.param(
            grpc.StatusCode.FAILED_PRECONDITION,
            {"reason": "CLOCK_SKEW", "sequence_gap": SequenceGap(expected=1, received=2)},
            id="detail-with-another-reason",
        ),
    ],
)
def test_refusal_refuses_what_the_specification_forbids(code, options):
    with pytest.raises(ValueError, match="not a valid refusal"):
        Refusal(code, "refused", **options)


def test_refusal_accepts_a_reason_a_newer_minor_version_adds():
    assert Refusal(grpc.StatusCode.FAILED_PRECONDITION, "later", reason="SOMETHING_NEW").reason == "SOMETHING_NEW"


@pytest.mark.parametrize("make", REFUSALS.values(), ids=REFUSALS.keys())
def test_message_refusal_carries_what_the_status_would(make):
    refusal = make()
    model = to_message_refusal(refusal, "msg-1")
    assert isinstance(model, MessageRefusal)
    assert (model.message_id, model.code, model.message) == ("msg-1", refusal.code.value[0], refusal.message)
    assert [(v.field, v.description) for v in model.violations] == refusal.violations
    assert (model.reason, model.stale_version, model.sequence_gap) == (
        refusal.reason,
        refusal.stale_version,
        refusal.sequence_gap,
    )
    back = refusal_from_message_refusal(message_refusal_to_proto(model))
    assert (back.code, back.message, back.violations, back.reason) == (
        refusal.code,
        refusal.message,
        refusal.violations,
        refusal.reason,
    )
    assert (back.stale_version, back.sequence_gap) == (refusal.stale_version, refusal.sequence_gap)


def test_message_refusal_stays_within_the_limits():
    many = [(f"volumes[{index}]" + "x" * 300, "y" * 5000) for index in range(100)]
    model = to_message_refusal(Refusal.invalid(many, "z" * 5000), "not an id!")
    assert model.message_id == ""
    assert len(model.violations) == limits.MAX_LIST
    assert len(model.message) == limits.MAX_TEXT
    assert len(model.violations[0].field) == limits.MAX_SHORT_TEXT


def test_refusal_from_a_bare_rpc_error_is_unknown():
    assert refusal_from_rpc_error(grpc.RpcError("broken")).code == grpc.StatusCode.UNKNOWN


# Faults of the node: INTERNAL, a sentence and an incident reference, nothing else (DCF-ERR-011).


@pytest.mark.asyncio
async def test_unexpected_exception_is_internal_without_its_text(caplog):
    secret = "sqlite3 statement INSERT INTO journal failed at /srv/node/journal.py line 42"

    async def broken(request, context):
        raise RuntimeError(secret)

    async with notice_server(GetNotice=broken) as (_, channel):
        with (
            caplog.at_level(logging.ERROR, logger="deconflict.rpc.handlers"),
            pytest.raises(grpc.aio.AioRpcError) as caught,
        ):
            await raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=5)
    error = caught.value
    assert error.code() == grpc.StatusCode.INTERNAL
    everything = error.details() + repr(error.trailing_metadata()) + repr(error.initial_metadata())
    for leak in (secret, "RuntimeError", "Traceback", ".py"):
        assert leak not in everything
    incident = error.details().rsplit(" ", 1)[1]
    logged = [record for record in caplog.records if incident in record.getMessage()]
    assert logged
    assert logged[0].exc_info is not None  # the traceback is in the log, for the operator


@pytest.mark.asyncio
async def test_wrong_response_type_is_internal():
    async def confused(request, context):
        return notice_service_pb2.ListNoticesResponse()

    async with notice_server(GetNotice=confused) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=5)
    assert caught.value.code() == grpc.StatusCode.INTERNAL


@pytest.mark.asyncio
async def test_a_behaviour_that_aborts_itself_keeps_its_status():
    async def aborts(request, context):
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")

    async with notice_server(GetNotice=aborts) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=5)
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")


@pytest.mark.asyncio
async def test_refusal_after_some_stream_responses_ends_the_stream_with_its_status():
    async def watch(request: channel_service_pb2.WatchRequest, context):
        yield channel_service_pb2.WatchResponse()
        raise Refusal.unavailable("the node is shutting down; watch again from sequence 2", reason="")

    async with notice_server(Watch=watch) as (_, channel):
        call = channel.unary_stream(f"/{CHANNEL.full_name}/Watch", request_serializer=None, response_deserializer=None)
        received: list[bytes] = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await collect(call(b"", timeout=5), received)
    assert len(received) == 1
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.asyncio
async def test_a_caller_that_goes_away_closes_the_stream_behaviour():
    closed = asyncio.Event()

    async def watch(request, context):
        try:
            while True:
                yield channel_service_pb2.WatchResponse()
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async with notice_server(Watch=watch) as (_, channel):
        call = channel.unary_stream(f"/{CHANNEL.full_name}/Watch", request_serializer=None, response_deserializer=None)
        stream = call(b"", timeout=5)
        await stream.read()
        stream.cancel()
        await asyncio.wait_for(closed.wait(), 2)


# Building the service.


def test_service_handler_refuses_a_mapping_that_misses_a_method():
    chosen = behaviours(NOTICE)
    del chosen["ListNotices"]
    with pytest.raises(ValueError, match="no behaviour for ListNotices"):
        service_handler(NOTICE, chosen)


def test_service_handler_refuses_a_name_that_is_no_method():
    with pytest.raises(ValueError, match="SubmitNotices is not a method"):
        service_handler(NOTICE, {**behaviours(NOTICE), "SubmitNotices": nothing})


def test_behaviours_of_reads_the_methods_named_as_the_rpcs():
    class Servicer:
        async def GetNotice(self, request, context):  # noqa: N802
            return notice_service_pb2.GetNoticeResponse()

    found = behaviours_of(Servicer(), NOTICE)
    assert list(found) == ["GetNotice"]
    with pytest.raises(ValueError, match="no behaviour for"):
        service_handler(NOTICE, found)


# Health and reflection.


@pytest.mark.asyncio
async def test_health_serving_for_the_server_and_each_service_and_reflection_lists_them():
    async with notice_server() as (_, channel):
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", NOTICE.full_name, CHANNEL.full_name):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, name
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {service.name async for answer in answers for service in answer.list_services_response.service}
    assert {
        NOTICE.full_name,
        CHANNEL.full_name,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


@pytest.mark.asyncio
async def test_health_turns_not_serving_when_shutdown_begins():
    async with notice_server() as (server, channel):
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=NOTICE.full_name))
        seen = [(await watch.read()).status]
        stopping = asyncio.create_task(shutdown(server, grace=1.0))
        seen.append((await asyncio.wait_for(watch.read(), 5)).status)
        await stopping
    assert seen == [health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING]


# Graceful shutdown.


@pytest.mark.asyncio
async def test_a_call_in_flight_finishes_after_shutdown_begins():
    started = asyncio.Event()

    async def slow(request, context):
        started.set()
        await asyncio.sleep(0.5)
        return notice_service_pb2.GetNoticeResponse(record={"channel_id": "slow"})

    async with notice_server(GetNotice=slow) as (server, channel):
        call = asyncio.ensure_future(raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=5))
        await started.wait()
        stopping = asyncio.create_task(shutdown(server, grace=5.0))
        await asyncio.sleep(0.1)
        with pytest.raises(grpc.aio.AioRpcError) as late:  # no new calls once shutdown began
            await raw_unary(channel, NOTICE, "GetNotice")(b"", timeout=2)
        answer = notice_service_pb2.GetNoticeResponse.FromString(await call)
        await stopping
    assert answer.record.channel_id == "slow"
    assert late.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.asyncio
async def test_serve_until_signal_stops_on_sigterm():
    original = signal.getsignal(signal.SIGTERM)
    server = build_server([service_handler(NOTICE, behaviours(NOTICE))])
    bind(server, "127.0.0.1:0")
    await server.start()
    try:
        serving_task = asyncio.create_task(serve_until_signal(server, grace=1.0))
        for _ in range(500):  # until the loop's handler is in place, so SIGTERM cannot kill the test run
            if signal.getsignal(signal.SIGTERM) is not original:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("serve_until_signal installed no handler")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving_task, 5)
        assert not await server.wait_for_termination(timeout=1)  # True would mean it timed out
    finally:
        signal.signal(signal.SIGTERM, original)
        await server.stop(None)


def test_bind_refuses_an_address_it_cannot_use():
    async def attempt():
        server = build_server([])
        try:
            bind(server, "256.0.0.1:1")
        finally:
            await server.stop(None)

    with pytest.raises(OSError, match="cannot listen"):
        asyncio.run(attempt())


# The admission check of deconflict.security.access: before the request is parsed, before the behaviour.


def _refusing_admit(context: Any) -> None:
    raise Refusal.permission_denied("NOT_PEER", "not a peer of this node")


@pytest.mark.asyncio
async def test_admit_refuses_before_the_request_is_parsed_or_any_behaviour_runs_dcf_sec_004():
    ran: list[str] = []

    async def agreement(request, context):
        ran.append("unary")
        return channel_service_pb2.GetAgreementResponse()

    async def watch(request, context):
        ran.append("stream")
        yield channel_service_pb2.WatchResponse()

    handler = service_handler(CHANNEL, behaviours(CHANNEL, GetAgreement=agreement, Watch=watch), admit=_refusing_admit)
    async with serving(handler) as (_, port), grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unary:
            await raw_unary(channel, CHANNEL, "GetAgreement")(GARBAGE, timeout=5)
        stream = channel.unary_stream(f"/{CHANNEL.full_name}/Watch", request_serializer=None)(b"", timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as streamed:
            await collect(stream, [])
    for caught in (unary, streamed):
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert refusal_from_rpc_error(caught.value).reason == "NOT_PEER"
    assert ran == []


@pytest.mark.asyncio
async def test_an_admitted_call_reaches_its_behaviour():
    admitted: list[str] = []

    async def agreement(request, context):
        return channel_service_pb2.GetAgreementResponse(agreement=b"".join(a.encode() for a in admitted))

    handler = service_handler(
        CHANNEL, behaviours(CHANNEL, GetAgreement=agreement), admit=lambda context: admitted.append("in")
    )
    async with serving(handler) as (_, port), grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await raw_unary(channel, CHANNEL, "GetAgreement")(b"", timeout=5)
    assert channel_service_pb2.GetAgreementResponse.FromString(answer).agreement == b"in"


def test_field_violations_and_from_validation_agree():
    with pytest.raises(ValidationError) as caught:
        GetNoticeRequest.model_validate({"channel_id": "", "notice_id": ""})
    assert Refusal.from_validation(caught.value, "request").violations == field_violations(caught.value, "request")
