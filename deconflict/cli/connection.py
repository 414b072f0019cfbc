"""Talking to one's own node through the operator API, and reading back what it holds.

One notice or conference is read with OperatorService.GetNotice or GetConference; everything the
node stored, from its journal (OperatorService.WatchEvents from a position up to the journal's size,
after the alerts still open).
"""

from __future__ import annotations

import asyncio
from typing import Final

import grpc

from deconflict.cli.options import NodeTarget
from deconflict.cli.output import BadInputError
from deconflict.client import OperatorClient, RefusedError, RetryPolicy
from deconflict.operator.v1 import operator_service_pb2 as pb
from deconflict.security.credentials import CredentialsError, operator_tls

# A person waits for the answer: give up on an unreachable node after a few seconds, not thirty.
CLI_RETRY: Final = RetryPolicy(attempt_timeout=3.0, overall_timeout=3.0)
READ_TIMEOUT: Final = 15.0


def operator_client(node: NodeTarget) -> OperatorClient:
    """A client of the node's operator API: as the operator `node.identity` names (mutual TLS, the node verified
    as the operator's own party), or plaintext without one."""
    tls = None
    if node.identity is not None:
        try:
            tls = operator_tls(node.identity)
        except CredentialsError as error:
            raise BadInputError("--identity", [("", str(error))]) from None
    return OperatorClient(node.address, tls=tls, timeout=3.0, retry=CLI_RETRY)


async def stored_events(client: OperatorClient, from_position: int = 0) -> list[pb.Event]:
    """The open alerts, then every stored event (messages, acknowledgements) from `from_position` to the journal's
    present end."""
    size = (await client.get_status()).journal_size
    if from_position >= size:
        return await client.all_alerts()
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


async def current_notice_version(client: OperatorClient, channel_id: str, notice_id: str) -> int:
    """The current version of the peer's notice `notice_id` on the channel, as the node holds it."""
    peer = next((c.peer for c in (await client.get_status()).channels if c.channel_id == channel_id), "")
    try:
        records = (await client.get_notice(notice_id, channel_id=channel_id, owner=peer)).records if peer else []
    except RefusedError as error:
        if error.code != grpc.StatusCode.NOT_FOUND:
            raise
        records = []
    if not records:
        raise BadInputError(notice_id, [("", "the node holds no notice of its peer by this id")])
    return int(records[0].notice.version)


async def latest_revision(client: OperatorClient, channel_id: str, conference_id: str) -> int:
    """The latest revision of conference `conference_id` that the node holds, sent or received."""
    try:
        status = (await client.get_conference(channel_id, conference_id)).status
    except RefusedError as error:
        if error.code != grpc.StatusCode.NOT_FOUND:
            raise
        raise BadInputError(conference_id, [("", "the node holds no conference by this id")]) from None
    return int(status.proposal.revision)
