"""Chapter 05: the two acknowledgement levels and the response timers."""

from __future__ import annotations

import asyncio

from deconflict.conformance.case import case, expect
from deconflict.conformance.session import Session
from deconflict.v1 import envelope_pb2, response_pb2


@case("acknowledgement.stored_before_acknowledged", "DCF-ACK-001", "DCF-ACK-005", "DCF-ENV-031")
async def stored_first(s: Session) -> None:
    """When the acknowledgement arrives, the message is already in the party's journal at journal_position."""
    await s.hello()
    delivered = await s.file(s.notice())
    position = delivered.acknowledgement.journal_position
    found = {o.position: o for o in await s.observed()}
    record = found.get(position)
    expect(record is not None and record.received, f"the message stored at position {position}", "nothing there")
    assert record is not None
    expect(
        record.envelope.message_id == delivered.acknowledgement.message_id,
        delivered.acknowledgement.message_id,
        record.envelope.message_id,
    )


@case("acknowledgement.operational_response_is_separate", "DCF-RSP-001", "DCF-ACK-001")
async def two_levels(s: Session) -> None:
    """After the logical acknowledgement, the party sends a separate OperationalResponse to the notice."""
    await s.hello()
    delivered = await s.file(s.notice())
    answer = await s.answer_to(delivered.acknowledgement.message_id)
    expect(answer is not None, "an OperationalResponse in reply to the notice", "none within 5 s")


@case("acknowledgement.standby_from_an_operator_party", "DCF-RSP-029", "DCF-TIM-004")
async def standby(s: Session) -> None:
    """A party whose operator decides answers STANDBY at once."""
    await s.reset(operator=True)
    await s.hello()
    delivered = await s.file(s.notice())
    answer = await s.answer_to(delivered.acknowledgement.message_id)
    expect(answer is not None, "STANDBY", "no answer within 5 s")
    assert answer is not None
    kind = response_pb2.ResponseKind.Name(answer.response.kind)
    expect(answer.response.kind == response_pb2.RESPONSE_KIND_STANDBY, "RESPONSE_KIND_STANDBY", kind)


@case("acknowledgement.timeout_sent_when_no_response", "DCF-TMR-004", "DCF-TMR-005", "DCF-TIM-005", timeout=30)
async def timeout_sent(s: Session) -> None:
    """When the suite never answers the party's notice, the party sends a ResponseTimeout and alerts."""
    await s.hello()
    sent = await s.originate("notice", s.notice(owner=s.target.party))
    wait = s.agreement.model.response_time(response_pb2.MESSAGE_KIND_NOTICE)  # type: ignore[arg-type]
    seconds = wait.total_seconds() if wait else 3.0
    await asyncio.sleep(seconds)

    def is_timeout(envelope: envelope_pb2.Envelope) -> bool:
        return envelope.WhichOneof("body") == "timeout" and envelope.in_reply_to == sent.message_id

    timeout = await s.sent(is_timeout, within=6.0)
    expect(timeout is not None, "a ResponseTimeout naming the unanswered notice", "none within 5 s of the due time")
