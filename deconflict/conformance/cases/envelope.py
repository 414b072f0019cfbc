"""Chapter 02: the envelope, its sequence, duplicates and clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc

from deconflict.conformance.case import case, expect
from deconflict.conformance.session import Session


@case("envelope.write_before_hello_refused", "DCF-ENV-022")
async def write_before_hello(s: Session) -> None:
    """A write before Hello is refused with FAILED_PRECONDITION."""
    refused = await s.refusal(s.file(s.notice()))
    expect(refused.code == grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION", refused.code.name)


@case("envelope.sequence_gap_refused", "DCF-ENV-027", "DCF-ENV-028", "DCF-ENV-032")
async def sequence_gap(s: Session) -> None:
    """A sequence above the expected one is refused with FAILED_PRECONDITION and stores nothing."""
    await s.hello()
    await s.file(s.notice())
    skipped = s.envelope("notice", s.notice(), sequence=s.sequence + 1)
    refused = await s.refusal(s.deliver(skipped))
    expect(refused.code == grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION", refused.code.name)
    received = [o for o in await s.observed() if o.received]
    expect(len(received) == 1, "only the first notice stored", f"{len(received)} received messages stored")


@case("envelope.replayed_sequence_refused", "DCF-ENV-027", "DCF-ENV-032")
async def replayed_sequence(s: Session) -> None:
    """A new message that reuses a stored sequence number is refused, and stores nothing."""
    await s.hello()
    await s.file(s.notice())
    reused = s.envelope("notice", s.notice(), sequence=s.sequence - 1)
    refused = await s.refusal(s.deliver(reused))
    expect(refused.code == grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", refused.code.name)
    received = [o for o in await s.observed() if o.received]
    expect(len(received) == 1, "only the first notice stored", f"{len(received)} received messages stored")


@case("envelope.duplicate_gets_the_original_acknowledgement", "DCF-ENV-023")
async def duplicate(s: Session) -> None:
    """The same message sent twice is stored once and acknowledged twice alike."""
    await s.hello()
    signed = s.envelope("notice", s.notice())
    first = await s.deliver(signed)
    second = await s.deliver(signed)
    expect(
        first.acknowledgement.journal_position == second.acknowledgement.journal_position,
        f"the same journal_position {first.acknowledgement.journal_position}",
        second.acknowledgement.journal_position,
    )
    received = [o for o in await s.observed() if o.received]
    expect(len(received) == 1, "one stored message", f"{len(received)}")


@case("envelope.same_id_other_content_refused", "DCF-ENV-024")
async def same_id_other_content(s: Session) -> None:
    """A stored message id with other content is refused with ALREADY_EXISTS."""
    await s.hello()
    delivered = await s.file(s.notice())
    other = s.envelope("notice", s.notice(), message_id=delivered.acknowledgement.message_id)
    refused = await s.refusal(s.deliver(other))
    expect(refused.code == grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", refused.code.name)


@case("envelope.clock_skew_refused", "DCF-ENV-025", "DCF-ENV-032")
async def clock_skew(s: Session) -> None:
    """An envelope created outside the agreement's clock-skew tolerance is refused."""
    await s.hello()
    tolerance = s.agreement.model.clock_skew_tolerance
    late = datetime.now(UTC) - tolerance - timedelta(seconds=60)
    refused = await s.refusal(s.file(s.notice(), created_time=late))
    expect(refused.code == grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION", refused.code.name)
    expect(not [o for o in await s.observed() if o.received], "nothing stored", "a stored message")
