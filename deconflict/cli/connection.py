"""Talking to one's own node through the operator API, and reading back what its journal holds.

The operator API has no "get notice" or "get conference": what a party's node stored is read from
its journal (OperatorService.WatchEvents from position 0 up to the journal's size), which is also
exactly what the node answers from.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from deconflict.bridge.envelope import PayloadError, open_envelope
from deconflict.cli.output import BadInputError
from deconflict.client import OperatorClient, RetryPolicy
from deconflict.models.envelope import Envelope
from deconflict.operator.v1 import operator_service_pb2 as pb

# A person waits for the answer: give up on an unreachable node after a few seconds, not thirty.
CLI_RETRY: Final = RetryPolicy(attempt_timeout=3.0, overall_timeout=3.0)
READ_TIMEOUT: Final = 15.0


def operator_client(address: str) -> OperatorClient:
    return OperatorClient(address, timeout=3.0, retry=CLI_RETRY)


async def stored_events(client: OperatorClient, from_position: int = 0) -> list[pb.Event]:
    """Every stored event (messages, acknowledgements, refusals of our messages as alerts) from `from_position` to
    the journal's present end."""
    size = (await client.get_status()).journal_size
    if from_position >= size:
        return []
    events: list[pb.Event] = []

    async def collect() -> None:
        async for event in client.watch_events(from_position):
            events.append(event)
            # An alert is stored only as a refusal of one of our messages, which has a position above 0.
            stored = event.HasField("message") or event.HasField("acknowledgement") or event.position > 0
            if stored and event.position >= size - 1:
                return

    await asyncio.wait_for(collect(), READ_TIMEOUT)
    return events


@dataclass(frozen=True, slots=True)
class StoredMessage:
    incoming: bool
    envelope: Envelope


async def stored_messages(client: OperatorClient) -> list[StoredMessage]:
    """Every message the node stored, in and out, opened; unreadable ones are left out."""
    messages: list[StoredMessage] = []
    for event in await stored_events(client):
        if not event.HasField("message"):
            continue
        try:
            envelope = open_envelope(event.message.envelope)
        except (PayloadError, ValidationError):
            continue
        messages.append(StoredMessage(event.message.direction == pb.DIRECTION_IN, envelope))
    return messages


async def only_channel(client: OperatorClient, channel: str | None) -> str:
    """The channel named, or the node's only one; with several, the operator must say which."""
    if channel:
        return channel
    channels = [c.channel_id for c in (await client.get_status()).channels]
    if len(channels) == 1:
        return channels[0]
    raise BadInputError(
        "--channel", [("", f"the node has {len(channels)} channels: name one of {', '.join(channels)}")]
    )


async def current_notice_version(client: OperatorClient, notice_id: str) -> int:
    """The latest version of the peer's notice `notice_id` that the node stored."""
    version = 0
    for stored in await stored_messages(client):
        envelope = stored.envelope
        notice = envelope.notice or (envelope.amendment.notice if envelope.amendment is not None else None)
        if stored.incoming and notice is not None and notice.notice_id == notice_id:
            version = max(version, notice.version)
    if not version:
        raise BadInputError(notice_id, [("", "the node holds no notice of its peer by this id")])
    return version


async def latest_revision(client: OperatorClient, conference_id: str) -> int:
    """The latest revision of conference `conference_id` that the node stored, sent or received."""
    revision = 0
    for stored in await stored_messages(client):
        envelope = stored.envelope
        proposal = envelope.conference_proposal
        answer = envelope.conference_answer
        if proposal is not None and proposal.conference_id == conference_id:
            revision = max(revision, proposal.revision)
        if answer is not None and answer.counter is not None and answer.conference_id == conference_id:
            revision = max(revision, answer.counter.revision)
    if not revision:
        raise BadInputError(conference_id, [("", "the node holds no conference by this id")])
    return revision
