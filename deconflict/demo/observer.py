"""Following both nodes' operator event streams, and waiting for what the protocol is expected to do.

Each step of the demo waits on these streams (OperatorService.WatchEvents) for the real outcome: the
peer's acknowledgement of a message, its response to a notice, its answer to a conference proposal.
Nothing is assumed from the passing of time: an outcome that does not come within the timeout fails
the step, naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from deconflict.bridge.envelope import PayloadError, open_acknowledgement, open_envelope
from deconflict.client import OperatorClient
from deconflict.models.envelope import Envelope
from deconflict.models.response import LogicalAcknowledgement, OperationalResponse
from deconflict.operator.v1 import operator_service_pb2 as pb


class StepFailedError(Exception):
    """An outcome the scenario expects did not happen (in time, or at all)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One event as a node reported it to its operator, opened."""

    party: str  # the node that reported it
    event: pb.Event
    envelope: Envelope | None = None  # a message stored by that node
    incoming: bool = False  # the message came from the peer
    acknowledgement: LogicalAcknowledgement | None = None  # the peer's acknowledgement of one of its messages

    @property
    def outgoing(self) -> bool:
        return self.envelope is not None and not self.incoming


Match = Callable[[Seen], bool]


def acknowledges(sender: str, message_id: str) -> Match:
    """The peer's acknowledgement of `message_id`, as the sender's node reports it."""
    return lambda seen: (
        seen.party == sender and seen.acknowledgement is not None and seen.acknowledgement.message_id == message_id
    )


def response_to(owner: str, notice_id: str, version: int) -> Match:
    """The peer's response to version `version` of the owner's notice, as the owner's node stored it."""

    def match(seen: Seen) -> bool:
        response = seen.envelope.response if seen.envelope is not None else None
        return (
            seen.party == owner
            and seen.incoming
            and response is not None
            and response.notice_id == notice_id
            and response.notice_version == version
        )

    return match


def received(party: str, message_id: str) -> Match:
    """The message `message_id` stored by the receiving party's node."""
    return lambda seen: (
        seen.party == party and seen.incoming and seen.envelope is not None and seen.envelope.message_id == message_id
    )


class Observer:
    """Every event of the nodes followed, in arrival order, and waits on them."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failure: str = ""

    def follow(self, party: str, client: OperatorClient, from_position: int) -> None:
        """Follow `party`'s node from journal position `from_position` (its size now: only what happens next)."""
        self._tasks.append(asyncio.get_running_loop().create_task(self._follow(party, client, from_position)))

    async def _follow(self, party: str, client: OperatorClient, from_position: int) -> None:
        try:
            async for event in client.watch_events(from_position):
                self.seen.append(_opened(party, event))
                self._arrived.set()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the stream broke: every wait must fail now, saying why
            self._failure = f"the event stream of {party} ended: {error}"
            self._arrived.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_for(self, what: str, match: Match, timeout: float) -> Seen:
        """The first event (seen already, or to come) that `match` accepts; StepFailedError after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            for seen in self.seen[checked:]:
                if match(seen):
                    return seen
            checked = len(self.seen)
            if self._failure:
                raise StepFailedError(f"{what}: {self._failure}")
            left = deadline - loop.time()
            if left <= 0:
                raise StepFailedError(f"{what}: did not happen within {timeout:g} s")
            # No await between the scan and the clear: nothing can arrive unseen in between.
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def acknowledgement(self, sender: str, message_id: str, what: str, timeout: float) -> LogicalAcknowledgement:
        seen = await self.wait_for(f"the peer's acknowledgement of {what}", acknowledges(sender, message_id), timeout)
        assert seen.acknowledgement is not None
        return seen.acknowledgement

    async def response(self, owner: str, notice_id: str, version: int, timeout: float) -> OperationalResponse:
        what = f"the response to {notice_id} v{version}"
        seen = await self.wait_for(what, response_to(owner, notice_id, version), timeout)
        response = seen.envelope.response if seen.envelope is not None else None
        assert response is not None  # response_to matched a response
        return response

    def messages(self, party: str) -> list[Seen]:
        """The messages `party`'s node stored, in and out, in order."""
        return [seen for seen in self.seen if seen.party == party and seen.envelope is not None]


def _opened(party: str, event: pb.Event) -> Seen:
    try:
        if event.HasField("message"):
            incoming = event.message.direction == pb.DIRECTION_IN
            return Seen(party, event, envelope=open_envelope(event.message.envelope), incoming=incoming)
        if event.HasField("acknowledgement"):
            acknowledgement = open_acknowledgement(event.acknowledgement.acknowledgement)
            if acknowledgement.acknowledging_party == party:  # its own, of one of the peer's messages
                return Seen(party, event)
            return Seen(party, event, acknowledgement=acknowledgement)
    except (PayloadError, ValidationError):
        pass  # kept as an event without content: the timeline shows only what it can read
    return Seen(party, event)
