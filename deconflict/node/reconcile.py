"""Reconciliation through the checklist (DCF-CHK spec), which the peer link runs after every successful Hello
and whenever a DOWN peer is heard again (DCF-CHK-001).

In this order:
1. trade checklists with ExchangeChecklist;
2. the peer holds fewer of our messages than it acknowledged (DCF-CHK-008): alert, and the outbox sends them
   again, unchanged and in order;
3. the peer sent more than this node stored (DCF-CHK-006): fetch the rest with Watch and take each envelope
   through intake like any write, since signed envelopes are evidence (the same fetch serves a heartbeat that
   says so, DCF-HBT-005: catch_up);
4. only then, the peer's notices that still differ (DCF-CHK-005): fetch the owner's record with GetNotice and
   hold it. A notice this node owns is never changed (DCF-CHK-004). Not when this node refused a fetched
   envelope: a record must not overrule a refusal of the evidence. The peer's outbox then meets the same refusal,
   withdraws the envelope (DCF-ENV-013) and pushes the rest, and the next trade settles what still differs.

What a record changes is not journaled (DCF-JNL-001: envelopes and acknowledgements only); a restarted node
holds what its envelopes say until it reconciles again, after its next Hello.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import grpc
from pydantic import ValidationError

from deconflict.bridge.notice_service import notice_record_data
from deconflict.client.peer import PeerClient
from deconflict.client.retry import RefusedError
from deconflict.models.channel import Checklist
from deconflict.models.notice import NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.node.checklist import Held, check_owners, checklist_of, read_checklist, to_fetch
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node
from deconflict.node.services.channel import EXCHANGE_BODIES
from deconflict.operator.v1.operator_service_pb2 import AlertKind
from deconflict.rpc.refusal import Refusal
from deconflict.v1 import envelope_pb2

log = logging.getLogger(__name__)

FETCH_WAIT = 5.0  # seconds to wait for the next envelope of a Watch before leaving the rest to GetNotice
# A peer that cannot be reached now: the link tries again; anything else it reports to the operator.
UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def passed_on(error: RefusedError) -> bool:
    """A failure that ends this reconciliation for the link to handle: the peer is out of reach, or restarted
    and wants our Hello (after which the link reconciles again)."""
    return error.code in UNREACHABLE or error.refusal.reason == "HELLO_REQUIRED"


@dataclass(slots=True)
class Findings:
    """What one reconciliation found and did, for the log and the tests."""

    lost: int = 0  # our acknowledged messages the peer no longer held, sent again (DCF-CHK-008)
    fetched: int = 0  # the peer's envelopes fetched with Watch and stored (DCF-CHK-006)
    taken: list[str] = field(default_factory=list)  # the peer's notices now held as its records say (DCF-CHK-005)
    unresolved: list[str] = field(default_factory=list)  # differ, and their owner's record cannot be had

    def __str__(self) -> str:
        return (
            f"{self.lost} lost message(s) sent again, {self.fetched} envelope(s) fetched, "
            f"{len(self.taken)} notice(s) taken from their owner's record, {len(self.unresolved)} unresolved"
        )


async def reconcile(node: Node, channel: ChannelState, peer: PeerClient) -> Findings:
    """Trade checklists with the peer and bring this node up to date; raises RefusedError when a call fails."""
    findings = Findings()
    # Read before asking: whatever the peer acknowledged by now, it had stored before it drew its checklist.
    acknowledged = channel.acknowledged
    answer = await peer.exchange_checklist(checklist_of(node.ledger, channel, node.clock()))
    try:
        theirs = read_checklist(answer.checklist)
        _check_sender(channel, theirs)
    except Refusal as refusal:
        node.alert(AlertKind.ALERT_KIND_REFUSED, f"the checklist of {channel.peer} is unusable: {refusal}", "", channel)
        return findings
    _send_lost_again(node, channel, theirs, acknowledged, findings)
    if await _fetch_envelopes(node, channel, peer, theirs.last_sequence_sent, findings):
        await _fetch_records(node, channel, peer, theirs, findings)
    log.info("%s: checklists traded with %s: %s", node.party, channel.peer, findings)
    return findings


async def catch_up(node: Node, channel: ChannelState, peer: PeerClient, last: int) -> int:
    """DCF-HBT-005: a heartbeat said the peer sent up to `last`, beyond what this node stored: fetch the rest with
    Watch from the next sequence expected, as reconciliation does (DCF-CHK-006). The number stored; raises
    RefusedError when the peer is out of reach or wants our Hello (passed_on)."""
    findings = Findings()
    await _fetch_envelopes(node, channel, peer, last, findings)
    log.info("%s: %s said it sent up to %d: %d envelope(s) fetched", node.party, channel.peer, last, findings.fetched)
    return findings.fetched


def _check_sender(channel: ChannelState, theirs: Checklist) -> None:
    if (theirs.channel_id, theirs.party) != (channel.channel_id, channel.peer):
        raise Refusal.invalid([("checklist.party", f"the answer names {theirs.party} on {theirs.channel_id}")])
    check_owners(channel, theirs)


def _send_lost_again(
    node: Node, channel: ChannelState, theirs: Checklist, acknowledged: int, findings: Findings
) -> None:
    """DCF-CHK-008: the peer lost messages it acknowledged; the outbox sends them again from the first lost."""
    kept = theirs.last_sequence_received
    if kept >= acknowledged:
        return
    findings.lost = acknowledged - kept
    node.alert(
        AlertKind.ALERT_KIND_SEQUENCE_GAP,
        f"{channel.peer} holds our messages up to sequence {kept} only, though it acknowledged up to {acknowledged}: "
        f"it lost {findings.lost}; sending {kept + 1} to {acknowledged} again, unchanged (DCF-CHK-008)",
        "",
        channel,
    )
    # The outbox sends the message after `acknowledged` next: the same signed bytes, in sequence order.
    channel.acknowledged = min(channel.acknowledged, kept)


async def _fetch_envelopes(node: Node, channel: ChannelState, peer: PeerClient, last: int, findings: Findings) -> bool:
    """DCF-CHK-006: Watch from the next sequence expected until `last`, each envelope stored as if written; False
    when this node refused one of them."""
    if channel.next_in > last:
        return True
    stream = peer.watch(channel.channel_id, channel.next_in)
    try:
        while channel.next_in <= last and node.failed is None:
            async with asyncio.timeout(FETCH_WAIT):
                signed = await anext(stream)
            if not await _store_fetched(node, channel, signed, last):
                return False
            findings.fetched += 1
    except (TimeoutError, StopAsyncIteration):
        log.info("%s: %s sent no more up to sequence %d; GetNotice for what differs", node.party, channel.peer, last)
    except RefusedError as error:
        if passed_on(error):
            raise
        log.warning("%s: %s refused Watch from %d: %s", node.party, channel.peer, channel.next_in, error)
    finally:
        await stream.aclose()
    return True


async def _store_fetched(node: Node, channel: ChannelState, signed: envelope_pb2.SignedPayload, last: int) -> bool:
    """Through intake as the RPC that takes its body would (DCF-STR-005); False when it is refused."""
    try:
        await node.intake.receive(signed, EXCHANGE_BODIES, channel.peer, fetched=True)
    except Refusal as refusal:
        # Envelopes are stored in order: nothing after this one can be until the peer withdraws it.
        node.alert(
            AlertKind.ALERT_KIND_SEQUENCE_GAP,
            f"an envelope fetched from {channel.peer} is refused ({refusal}): its sequences {channel.next_in} to "
            f"{last} stay missing until {channel.peer} withdraws it",
            "",
            channel,
        )
        return False
    return True


async def _fetch_records(node: Node, channel: ChannelState, peer: PeerClient, theirs: Checklist, f: Findings) -> None:
    """DCF-CHK-005: the owner's record of each of its notices that still differs, once the envelopes are in."""
    held = _held(node, channel)
    listed = {entry.notice_id: entry for entry in theirs.entries if entry.owner == channel.peer}
    for notice_id in to_fetch(theirs, held):
        try:
            answer = await peer.get_notice(channel.channel_id, notice_id)
        except RefusedError as error:
            if passed_on(error):
                raise
            _unresolved(node, channel, notice_id, error, f)
            continue
        try:
            record = NoticeRecord.model_validate(notice_record_data(answer.record))
        except ValidationError as error:
            _unresolved(node, channel, notice_id, error, f)
            continue
        notice = record.notice
        recorded = (notice.version, notice.state)
        if notice.owner != channel.peer or record.channel_id != channel.channel_id:
            _unresolved(node, channel, notice_id, f"the record names {notice.owner} on {record.channel_id}", f)
            continue
        if held.get(notice_id) == recorded:
            continue
        entry = listed.get(notice_id)
        if entry is not None and (entry.version, entry.state) != recorded:
            continue  # changed since the checklist: the envelope that changed it follows, or the next trade sees it
        if _held(node, channel).get(notice_id) != held.get(notice_id):
            continue  # an envelope changed it while we asked: evidence wins
        was = held.get(notice_id)
        node.take_record(channel, record)
        f.taken.append(notice_id)
        node.alert(
            AlertKind.ALERT_KIND_SEQUENCE_GAP,
            f"{notice_id} is now version {notice.version} {notice.state.name} as its owner {channel.peer} records it "
            f"(held here: {_described(was)}); the envelopes that changed it did not reach this node (DCF-CHK-005)",
            notice_id,
            channel,
        )


def _held(node: Node, channel: ChannelState) -> Held:
    """This node's view of the peer's notices on the channel."""
    return {
        entry.notice.notice_id: (entry.notice.version, entry.notice.state)
        for (owner, _), entry in node.ledger.notices.items()
        if owner == channel.peer and channel.channel_id in entry.dialogues
    }


def _described(held: tuple[int, NoticeState] | None) -> str:
    return "nothing" if held is None else f"version {held[0]} {held[1].name}"


def _unresolved(node: Node, channel: ChannelState, notice_id: str, why: object, findings: Findings) -> None:
    # The owner's view cannot be had: the notice stays as this node holds it, and the operator decides.
    findings.unresolved.append(notice_id)
    node.alert(
        AlertKind.ALERT_KIND_SEQUENCE_GAP,
        f"{notice_id} differs from the checklist of {channel.peer}, its owner, whose record cannot be had ({why}): "
        "kept as held here",
        notice_id,
        channel,
    )
