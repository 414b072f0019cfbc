"""Chapter 04: filing, amending and cancelling notices."""

from __future__ import annotations

import grpc

from deconflict.conformance.case import case, expect
from deconflict.conformance.session import Session
from deconflict.models.notice import NoticeCancellation, NoticeState


@case("notice.amend_with_current_version", "DCF-NTC-022")
async def amend_current(s: Session) -> None:
    """An amendment that quotes the current version is stored."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    delivered = await s.amend(notice, replaces_version=1)
    expect(delivered.acknowledgement.message_id != "", "an acknowledgement", delivered.acknowledgement)


@case("notice.amend_with_stale_version_refused", "DCF-NTC-022")
async def amend_stale(s: Session) -> None:
    """An amendment that quotes a superseded version is refused with ABORTED, naming the current version."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.amend(notice, replaces_version=1)
    refused = await s.refusal(s.amend(notice, replaces_version=1))
    expect(refused.code == grpc.StatusCode.ABORTED, "ABORTED", refused.code.name)
    stale = refused.stale_version
    expect(stale is not None and stale.current_version == 2, "StaleVersion with current_version 2", stale)


@case("notice.cancel_with_stale_version_refused", "DCF-NTC-022")
async def cancel_stale(s: Session) -> None:
    """A cancellation that quotes a superseded version is refused with ABORTED."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    await s.amend(notice, replaces_version=1)
    refused = await s.refusal(s.cancel(notice.notice_id, 1))
    expect(refused.code == grpc.StatusCode.ABORTED, "ABORTED", refused.code.name)


@case("notice.cancel_own_notice", "DCF-NTC-022")
async def cancel_own(s: Session) -> None:
    """The owner cancels its notice quoting the current version; the party stores it."""
    await s.hello()
    notice = s.notice()
    await s.file(notice)
    delivered = await s.cancel(notice.notice_id, 1)
    expect(delivered.acknowledgement.message_id != "", "an acknowledgement", delivered.acknowledgement)


@case("notice.non_owner_cancel_refused", "DCF-NTC-020")
async def non_owner_cancel(s: Session) -> None:
    """Cancelling the party's own notice from the peer is refused with PERMISSION_DENIED and changes nothing."""
    await s.hello()
    theirs = s.notice(owner=s.target.party)
    sent = await s.originate("notice", theirs)
    notice_id = sent.notice.notice_id
    refused = await s.refusal(s.send("cancellation", NoticeCancellation(notice_id=notice_id, version=1)))
    expect(refused.code == grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", refused.code.name)
    record = await s.peer.get_notice(s.channel_id, notice_id)
    state = NoticeState(record.record.notice.state)
    expect(state == NoticeState.ACTIVE, "the notice still ACTIVE", state.name)
