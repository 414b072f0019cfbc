"""Errors at a real node (docs/spec/09-errors.md): undecodable requests to every method, health and reflection.

The requests are raw bytes on a grpc.aio channel with identity serializers, to the method paths the service
descriptors give: every method of the three deconflict.v1 services and of the operator service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from deconflict.client import Delivery, StreamRefusal
from deconflict.operator.v1 import operator_service_pb2
from deconflict.v1 import channel_service_pb2, conference_service_pb2, notice_service_pb2
from tests.nodes import US, one_node, peer_of, sortie

SERVICES = [
    notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"],
    operator_service_pb2.DESCRIPTOR.services_by_name["OperatorService"],
]
METHODS: dict[str, MethodDescriptor] = {
    f"{service.name}.{method.name}": method for service in SERVICES for method in service.methods
}

# Bytes no request message decodes: a field with wire type 7, a length running past the end, a bad varint.
GARBAGE = (b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08" + b"\xff" * 10)


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def details_of(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def call_raw(channel: grpc.aio.Channel, method: MethodDescriptor, data: bytes) -> list[bytes]:
    """Send `data` as the request (the only one of a stream); the raw responses, or the call's RpcError."""
    path = path_of(method)
    if not method.client_streaming and not method.server_streaming:
        return [await channel.unary_unary(path)(data, timeout=5)]
    if not method.client_streaming:
        call = channel.unary_stream(path)(data, timeout=5)
        responses = []
        async for response in call:
            responses.append(response)
            break  # a stream that answers the garbage with data is looked at below
        call.cancel()
        return responses
    answers = channel.stream_stream(path)(_one(data), timeout=5)
    return [response async for response in answers]


async def outcome_of(
    channel: grpc.aio.Channel, method: MethodDescriptor, data: bytes
) -> grpc.aio.AioRpcError | list[bytes]:
    try:
        return await call_raw(channel, method, data)
    except grpc.aio.AioRpcError as error:
        return error


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(METHODS))
async def test_garbage_to_every_method_is_invalid_argument_never_unknown_dcf_err_004(tmp_path: Path, name: str) -> None:
    method = METHODS[name]
    async with one_node(tmp_path) as node, grpc.aio.insecure_channel(node.address) as channel:
        for data in GARBAGE:
            outcome = await outcome_of(channel, method, data)
            if isinstance(outcome, grpc.aio.AioRpcError):
                error = outcome
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (data, error.code(), error.details())
                # The details trailer is a google.rpc.Status with the same code and message (DCF-ERR-001).
                status = details_of(error)
                assert status is not None
                assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT.value[0], error.details())
                bad_request = error_details_pb2.BadRequest()
                assert any(detail.Unpack(bad_request) for detail in status.details)
                assert "Traceback" not in (error.details() or "")
                continue
            # Only Exchange may answer in the stream instead: one MessageRefusal, INVALID_ARGUMENT (DCF-STR-008).
            assert method.name == "Exchange", (name, outcome)
            (raw,) = outcome
            answer = channel_service_pb2.ExchangeResponse.FromString(raw)
            assert answer.HasField("refusal")
            assert answer.refusal.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            assert answer.refusal.message_id == ""


@pytest.mark.asyncio
async def test_an_exchange_stream_goes_on_after_an_undecodable_request_dcf_str_009(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        good = peer.envelope("notice", sortie(f"{US}/sortie-1", owner=US))
        garbage_payload = peer.seal(b"\xff\xff")  # signed: it passes the signature check, and fails parsing
        answers: list[Delivery | StreamRefusal] = []
        async for answer in peer.client.exchange([garbage_payload, good]):
            answers.append(answer)
        assert len(answers) == 2
        refused, stored = answers
        assert isinstance(refused, StreamRefusal)
        assert refused.refusal.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [field for field, _ in refused.refusal.violations] == ["envelope.payload"]
        assert isinstance(stored, Delivery)
        assert stored.acknowledgement.message_sequence == 1


@pytest.mark.asyncio
async def test_an_exchange_stream_answers_an_undecodable_request_and_goes_on_dcf_str_007(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        good = peer.envelope("notice", sortie(f"{US}/sortie-1", owner=US))
        request = channel_service_pb2.ExchangeRequest(envelope=good).SerializeToString()

        async def requests() -> AsyncIterator[bytes]:
            yield b"\xff\xff\xff\xff"
            yield request

        async with grpc.aio.insecure_channel(node.address) as channel:
            path = "/deconflict.v1.ChannelService/Exchange"
            raw = [r async for r in channel.stream_stream(path)(requests(), timeout=5)]
        answers = [channel_service_pb2.ExchangeResponse.FromString(r) for r in raw]
        assert [a.WhichOneof("result") for a in answers] == ["refusal", "acknowledgement"]
        assert answers[0].refusal.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]


@pytest.mark.asyncio
async def test_an_unknown_method_is_unimplemented_dcf_err_015(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, grpc.aio.insecure_channel(node.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary("/deconflict.v1.NoticeService/Teleport")(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.asyncio
async def test_health_is_serving_for_the_node_and_each_service_dcf_gen_007(tmp_path: Path) -> None:
    """Health checking (grpc.health.v1) answers SERVING for the server and each service."""
    async with one_node(tmp_path) as node, grpc.aio.insecure_channel(node.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", *(service.full_name for service in SERVICES)):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, service


@pytest.mark.asyncio
async def test_reflection_lists_the_services_dcf_gen_007(tmp_path: Path) -> None:
    """Server reflection lists every service, so that generic tools can call the node."""
    async with one_node(tmp_path) as node, grpc.aio.insecure_channel(node.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        listed: set[str] = set()
        async for answer in stub.ServerReflectionInfo(ask(), timeout=5):
            listed |= {service.name for service in answer.list_services_response.service}
        assert {service.full_name for service in SERVICES} <= listed
        assert "grpc.health.v1.Health" in listed
