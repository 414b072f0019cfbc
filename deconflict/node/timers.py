"""Response timers: silence is never consent (DCF-TMR spec).

When a response this node waits for is overdue, it sends the peer a
ResponseTimeout and alerts its operator; notices whose last volume is over
expire. The loop polls: timers are seconds to hours long, so a tick of a fifth
of a second costs nothing and keeps the logic free of per-timer tasks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from deconflict.models.envelope import Mode
from deconflict.models.response import MessageKind, ResponseTimeout
from deconflict.node.faults import Fault
from deconflict.node.node import Node
from deconflict.operator.v1.operator_service_pb2 import ALERT_KIND_RESPONSE_TIMEOUT
from deconflict.rpc.refusal import Refusal

log = logging.getLogger(__name__)

TICK = 0.2  # seconds
FAULTY_SILENCE = timedelta(days=1)


async def run_timers(node: Node) -> None:
    """Until cancelled: send the timeouts that fall due and expire finished notices."""
    while True:
        await asyncio.sleep(TICK)
        if node.failed is None:
            tick(node)


def tick(node: Node) -> None:
    now = node.clock()
    for entry in node.ledger.expire(now):
        node.assessor.remove(entry.notice.owner, entry.notice.notice_id)
    for entry, dialogue in node.ledger.overdue(now):
        # The ledger only lists what is due with suspended time left out (DCF-TMR-008).
        channel = node.ledger.channels[dialogue.channel_id]
        if Fault.NO_TIMEOUT_MESSAGE in node.faults:
            node.ledger.hold(entry.key, dialogue.channel_id, now + FAULTY_SILENCE)  # the faulty variant: silence
            continue
        due = dialogue.due_time
        assert due is not None
        timeout = ResponseTimeout(
            unanswered_message_id=dialogue.message_id,
            unanswered_kind=dialogue.kind,
            notice_id=entry.notice.notice_id,
            notice_version=dialogue.version,
            due_time=due,
            waited=node.ledger.waited(channel, dialogue, now),
        )
        _send(node, dialogue.channel_id, timeout, dialogue.message_id, entry.mode)
    for answer in node.ledger.conferences.open_answers(now):
        channel = node.ledger.channels[answer.channel_id]
        if answer.awaiting == node.party or channel.suspended or Fault.NO_TIMEOUT_MESSAGE in node.faults:
            continue
        conference = node.ledger.conferences.conference(answer.channel_id, answer.conference_id)
        if conference is None:
            continue
        timeout = ResponseTimeout(
            unanswered_message_id=answer.message_id,
            unanswered_kind=MessageKind.CONFERENCE_PROPOSAL,
            conference_id=answer.conference_id,
            conference_revision=answer.revision,
            due_time=answer.due_time,
            waited=_waited(now, answer.due_time, channel.response_time(MessageKind.CONFERENCE_PROPOSAL)),
        )
        _send(node, answer.channel_id, timeout, answer.message_id, conference.mode)


def _waited(now: datetime, due: datetime, wait: timedelta | None) -> timedelta:
    # From when the wait began (due time less the response time, STANDBY restarts aside) until now.
    return max(now - due + (wait or timedelta(0)), timedelta(0))


def _send(node: Node, channel_id: str, timeout: ResponseTimeout, unanswered: str, mode: Mode) -> None:
    channel = node.ledger.channels[channel_id]
    try:
        node.originate(channel, "timeout", timeout, in_reply_to=unanswered, mode=mode)
    except Refusal as refusal:
        log.warning("%s: no timeout for %s: %s", node.party, unanswered, refusal)
        return
    subject = timeout.notice_id or timeout.conference_id
    node.alert(
        ALERT_KIND_RESPONSE_TIMEOUT,
        f"{channel.peer} did not answer {subject} in time: timeout sent (silence is never consent)",
        subject,
        channel,
    )
