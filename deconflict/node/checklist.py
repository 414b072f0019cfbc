"""Checklists (DCF-CHK spec): the one this node draws, the checks of the peer's, and which notices differ.

No I/O here: ChannelService serves `checklist_of`, and reconciliation (reconcile.py) sends it, reads the
peer's answer with `read_checklist` and `check_owners`, and asks `to_fetch` which of the peer's notices to
fetch with GetNotice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import ValidationError

from deconflict import limits
from deconflict.bridge.channel import checklist_data
from deconflict.models.channel import Checklist, ChecklistEntry
from deconflict.models.notice import NoticeState
from deconflict.node.ledger import ChannelState, Ledger
from deconflict.rpc.refusal import Refusal
from deconflict.v1 import channel_pb2

Held = Mapping[str, tuple[int, NoticeState]]  # notice_id -> (version, state), this node's view of them


def checklist_of(ledger: Ledger, channel: ChannelState, now: datetime) -> Checklist:
    """This node's checklist of the channel as of `now` (DCF-CHK-002).

    Every ACTIVE notice, its own and the peer's, then the ended ones, which MAY be listed and tell the peer
    of an end it missed, as far as the bound of DCF-LIM-019 leaves room.
    """
    active: list[ChecklistEntry] = []
    ended: list[ChecklistEntry] = []
    for entry in ledger.notices.values():
        if channel.channel_id not in entry.dialogues:
            continue
        notice = entry.notice
        item = ChecklistEntry(
            notice_id=notice.notice_id, owner=notice.owner, version=notice.version, state=notice.state
        )
        (active if notice.state == NoticeState.ACTIVE else ended).append(item)
    return Checklist(
        channel_id=channel.channel_id,
        party=ledger.party,
        as_of_time=now,
        entries=(active + ended)[: limits.MAX_CHECKLIST_ENTRIES],
        last_sequence_sent=channel.next_out - 1,
        last_sequence_received=channel.next_in - 1,
    )


def read_checklist(message: channel_pb2.Checklist) -> Checklist:
    """A received checklist as a model; INVALID_ARGUMENT naming the field at fault under `checklist`."""
    try:
        return Checklist.model_validate(checklist_data(message))
    except ValidationError as error:
        raise Refusal.from_validation(error, "checklist") from None


def check_owners(channel: ChannelState, checklist: Checklist) -> None:
    """Each entry's owner is a party of the channel (DCF-CHK-003)."""
    parties = set(channel.agreement.model.parties)
    wrong = [
        (f"checklist.entries[{index}].owner", f"{entry.owner} is not a party of channel {channel.channel_id}")
        for index, entry in enumerate(checklist.entries)
        if entry.owner not in parties
    ]
    if wrong:
        raise Refusal.invalid(wrong)


def to_fetch(theirs: Checklist, held: Held) -> list[str]:
    """The notices of the checklist's party to fetch with GetNotice (DCF-CHK-005), given this node's view of them.

    One the party lists that this node lacks or holds at an older version, and one this node holds ACTIVE that
    the party does not list ACTIVE at the same or a higher version. Only the party's own notices are
    considered: its list never changes a notice this node owns (DCF-CHK-004).
    """
    listed = {entry.notice_id: entry for entry in theirs.entries if entry.owner == theirs.party}
    wanted = [
        notice_id for notice_id, entry in listed.items() if notice_id not in held or held[notice_id][0] < entry.version
    ]
    for notice_id, (version, state) in held.items():
        entry = listed.get(notice_id)
        listed_active = entry is not None and entry.state == NoticeState.ACTIVE and entry.version >= version
        if state == NoticeState.ACTIVE and not listed_active and notice_id not in wanted:
            wanted.append(notice_id)
    return wanted
