"""Chapter 01: parties, channel, roles and transport, where a peer can see them."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import unknown_fields
from google.protobuf.message import Message as ProtoMessage
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from deconflict.bridge.envelope import decode_acknowledgement, decode_envelope
from deconflict.client.peer import CHANNEL_SERVICE, CONFERENCE_SERVICE, NOTICE_SERVICE
from deconflict.conformance.case import case, expect
from deconflict.conformance.cases.envelope import (
    near_now,
    refused_with,
    sent_envelopes,
)
from deconflict.conformance.cases.errors import next_version, notice_of, proposal, roger
from deconflict.conformance.peer import serving
from deconflict.conformance.session import Session
from deconflict.models.conference import ConferenceAnswer, SlotAcceptance
from deconflict.models.notice import NoticeCancellation
from deconflict.v1 import channel_pb2, response_pb2

# DCF-GEN-006: the three services, each with exactly these methods.
SERVICES = {
    "deconflict.v1.NoticeService": NOTICE_SERVICE,
    "deconflict.v1.ConferenceService": CONFERENCE_SERVICE,
    "deconflict.v1.ChannelService": CHANNEL_SERVICE,
}

# -- helpers ----------------------------------------------------------------------------------------------------


def _unknown_fields(message: ProtoMessage, path: str = "") -> list[str]:
    """The paths of the fields the schema does not know, at any depth of `message`."""
    found = [path or "(top)"] if len(unknown_fields.UnknownFieldSet(message)) else []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        name = f"{path}.{field.name}" if path else field.name
        if field.is_repeated:
            for index, item in enumerate(value):
                found += _unknown_fields(item, f"{name}[{index}]")
        else:
            found += _unknown_fields(value, name)
    return found


async def _one(item: bytes) -> AsyncIterator[bytes]:
    yield item


# -- 1.1: parties, nodes and channels -------------------------------------------------------------------------


@case("overview.party_acts_in_its_own_name", "DCF-GEN-001", "DCF-GEN-003", timeout=20)
async def own_name(s: Session) -> None:
    """The party greets, acknowledges, files and answers as itself only, delivering each message by calling the
    RPC of its body on the peer's node."""
    hello = await s.hello()
    expect(hello.hello.party == s.target.party, f"Hello from {s.target.party}", hello.hello.party)

    async with serving(s) as peer:
        await peer.until("a Hello from the party to its peer", lambda: bool(peer.named("Hello")))
        await s.hello()
        notice = await s.originate("notice", s.notice(owner=s.target.party))
        filed = await s.file(s.notice())
        ack = filed.acknowledgement
        expect(ack.acknowledging_party == s.target.party, f"acknowledged by {s.target.party}",
               ack.acknowledging_party)  # fmt: skip
        await peer.until("2 writes from the party", lambda: len(peer.writes) >= 2)
        calls = {decode_envelope(c.request.envelope.payload).WhichOneof("body"): c.method for c in peer.writes}
        expect(calls == {"notice": "SubmitNotice", "response": "RespondToNotice"},
               "the notice by SubmitNotice and the response by RespondToNotice, on the peer's node", calls)  # fmt: skip
        sent = await sent_envelopes(s)
        suite_ids = {r.envelope.message_id for r in await s.observed() if r.received}
        for envelope in sent:
            expect(envelope.sender == s.target.party, f"every message sent as {s.target.party}", envelope.sender)
            expect(envelope.message_id not in suite_ids, "no message of the suite sent as the party's",
                   envelope.message_id)  # fmt: skip
        expect(notice.notice.owner == s.target.party, f"its notice owned by {s.target.party}", notice.notice.owner)


@case("overview.channel_is_bilateral", "DCF-GEN-002")
async def bilateral(s: Session) -> None:
    """The channel's agreement names exactly the two parties, and the channel id the party serves."""
    answer = await s.peer.get_agreement(s.channel_id)
    agreement = channel_pb2.Agreement.FromString(answer.agreement)
    expect(answer.agreement_hash == hashlib.sha256(answer.agreement).digest(), "agreement_hash the SHA-256 of it",
           answer.agreement_hash.hex())  # fmt: skip
    expect(agreement.channel_id == s.channel_id, f"channel {s.channel_id}", agreement.channel_id)
    parties = list(agreement.parties)
    expected = {s.party, s.target.party}
    expect(len(parties) == 2 and set(parties) == expected, f"exactly the parties {sorted(expected)}", parties)


@case("overview.owner_changes_and_other_party_responds", "DCF-GEN-004")
async def roles(s: Session) -> None:
    """Only the owner changes or ends a notice; only the other party answers a notice version or a revision."""
    await s.hello()
    theirs = await s.originate("notice", s.notice(owner=s.target.party))
    notice_id = theirs.notice.notice_id
    await refused_with(s, s.send("amendment", next_version(notice_of(theirs), 1)), grpc.StatusCode.PERMISSION_DENIED,
                       reason="NOT_OWNER")  # fmt: skip
    await refused_with(s, s.send("cancellation", NoticeCancellation(notice_id=notice_id, version=1)),
                       grpc.StatusCode.PERMISSION_DENIED, reason="NOT_OWNER")  # fmt: skip
    mine = s.notice()
    filed = await s.file(mine)
    await refused_with(s, s.send("response", roger(mine), in_reply_to=filed.acknowledgement.message_id),
                       grpc.StatusCode.PERMISSION_DENIED, reason="OWN_NOTICE")  # fmt: skip
    answer = await s.answer_to(filed.acknowledgement.message_id)
    expect(answer is not None and answer.sender == s.target.party, "the other party answering the notice", answer)
    conference = proposal(s)
    offered = await s.send("conference_proposal", conference)
    accept = ConferenceAnswer(conference_id=conference.conference_id, revision=1,
                              accept=SlotAcceptance(slot=conference.candidate_slots[0]))  # fmt: skip
    await refused_with(s, s.send("conference_answer", accept, in_reply_to=offered.acknowledgement.message_id),
                       grpc.StatusCode.PERMISSION_DENIED, reason="OWN_REVISION")  # fmt: skip
    status = (await s.peer.get_conference(s.channel_id, conference.conference_id)).status
    expect(status.proposer == s.party, f"the proposer {s.party}", status.proposer)
    # And the owner itself may change its notice.
    await s.send("amendment", next_version(mine, 1))


# -- 1.2: transport and services ------------------------------------------------------------------------------


@case("overview.every_method_is_served", "DCF-GEN-006")
async def every_method(s: Session) -> None:
    """Every method of NoticeService, ConferenceService and ChannelService is served (none UNIMPLEMENTED)."""
    missing = []
    for name, service in SERVICES.items():
        for method in service.methods:
            path = f"/{name}/{method.name}"
            code = await _empty_call(s, path, method.client_streaming, method.server_streaming)
            if code == grpc.StatusCode.UNIMPLEMENTED:
                missing.append(method.name)
    expect(not missing, "every method served", f"UNIMPLEMENTED: {', '.join(missing)}")


async def _empty_call(s: Session, path: str, client_streaming: bool, server_streaming: bool) -> grpc.StatusCode:
    channel = s.peer.channel
    try:
        if client_streaming:
            call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
            stream = call(_one(b""), timeout=3)
            async for _ in stream:
                break
            stream.cancel()
        elif server_streaming:
            streaming = channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            watch = streaming(b"", timeout=3)
            async for _ in watch:
                break
            watch.cancel()
        else:
            await channel.unary_unary(path, request_serializer=None, response_deserializer=None)(b"", timeout=3)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@case("overview.health_and_reflection", "DCF-GEN-007")
async def health_and_reflection(s: Session) -> None:
    """The node serves grpc.health.v1.Health (SERVING) and server reflection listing the deconflict.v1 services."""
    channel = s.peer.channel
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    health: Any = await check(health_pb2.HealthCheckRequest(), timeout=5)
    expect(health.status == health_pb2.HealthCheckResponse.SERVING, "SERVING", health.status)
    listed: set[str] = set()
    for version in ("v1", "v1alpha"):
        info = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        try:
            async for answer in info(_requests(reflection_pb2.ServerReflectionRequest(list_services="*")), timeout=5):
                listed |= {service.name for service in answer.list_services_response.service}
                break
        except grpc.aio.AioRpcError:
            continue
        if listed:
            break
    expect(set(SERVICES) <= listed, f"reflection listing {sorted(SERVICES)}", sorted(listed))


async def _requests(request: Any) -> AsyncIterator[Any]:
    yield request


@case("overview.times_against_the_utc_clock", "DCF-GEN-008")
async def utc_times(s: Session) -> None:
    """The party's times are UTC instants by its clock: stored_time and created_time now, due times by the
    agreement's span from them."""
    await s.hello()
    filed = await s.file(s.notice())
    ack = filed.acknowledgement
    expect(near_now(ack.stored_time, 5.0), "stored_time within 5 s of UTC now", ack.stored_time.isoformat())
    span = s.agreement.model.response_time(response_pb2.MESSAGE_KIND_NOTICE)  # type: ignore[arg-type]
    expected_due = ack.stored_time + (span or timedelta(0))
    expect(ack.response_due_time is not None and abs(ack.response_due_time - expected_due) <= timedelta(seconds=1),
           f"response_due_time {expected_due.isoformat()}", ack.response_due_time)  # fmt: skip
    sent = await s.originate("notice", s.notice(owner=s.target.party))
    created = sent.created_time.ToDatetime(UTC)
    expect(near_now(created, 5.0), f"created_time within 5 s of UTC now ({datetime.now(UTC).isoformat()})",
           created.isoformat())  # fmt: skip


@case("overview.no_fields_beyond_the_schema", "DCF-GEN-010")
async def no_extra_fields(s: Session) -> None:
    """What the party sends (envelopes, acknowledgements, Hello) carries no field the deconflict.v1 schema lacks."""
    hello = await s.hello()
    filed = await s.file(s.notice())
    await s.originate("notice", s.notice(owner=s.target.party))
    await s.answer_to(filed.acknowledgement.message_id)
    extra = _unknown_fields(hello, "HelloResponse")
    extra += _unknown_fields(decode_acknowledgement(filed.signed.payload), "acknowledgement")
    for envelope in await sent_envelopes(s):
        extra += _unknown_fields(envelope, f"envelope {envelope.message_id}")
    expect(not extra, "no unknown fields", extra)
