"""Chapter 09: errors. Garbage bytes to every method are INVALID_ARGUMENT, never UNKNOWN or INTERNAL."""

from __future__ import annotations

import grpc

from deconflict.conformance.case import case, expect
from deconflict.conformance.session import Session
from deconflict.v1 import channel_service_pb2, conference_service_pb2, notice_service_pb2

GARBAGE = b"\xff\xff\xff\xff\x0f garbage"
SERVICES = (
    notice_service_pb2.DESCRIPTOR.services_by_name["NoticeService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    channel_service_pb2.DESCRIPTOR.services_by_name["ChannelService"],
)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


@case("errors.garbage_to_every_method", "DCF-ERR-004", "DCF-STR-008")
async def garbage(s: Session) -> None:
    """Undecodable request bytes to each method of the protocol are refused with INVALID_ARGUMENT."""
    wrong = []
    for service in SERVICES:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            code = await _call_with_garbage(s, path, method.client_streaming, method.server_streaming)
            if code != grpc.StatusCode.INVALID_ARGUMENT:
                wrong.append(f"{method.name}: {code.name}")
    expect(not wrong, "INVALID_ARGUMENT from every method", "; ".join(wrong))


async def _call_with_garbage(s: Session, path: str, client_streaming: bool, server_streaming: bool) -> grpc.StatusCode:
    channel = s.peer.channel
    try:
        if client_streaming:
            # Exchange answers an undecodable envelope in the stream and goes on (DCF-STR-008, DCF-STR-009).
            call = channel.stream_stream(
                path, request_serializer=None, response_deserializer=channel_service_pb2.ExchangeResponse.FromString
            )
            async for answer in call(iter([GARBAGE]), timeout=5):
                if answer.HasField("refusal"):
                    return _CODES.get(answer.refusal.code, grpc.StatusCode.UNKNOWN)
            return grpc.StatusCode.OK
        if server_streaming:
            streaming = channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            async for _ in streaming(GARBAGE, timeout=5):
                pass
            return grpc.StatusCode.OK
        unary = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        await unary(GARBAGE, timeout=5)
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()
