"""The conference book: every conference of the node's channels and where it stands (chapter 7).

Like the ledger, it is protocol logic with no I/O. `check` decides whether a
conference message may be stored, raising a Refusal and changing nothing
(DCF-ERR-012); `apply` moves the state for a message already accepted, and the
journal replays the same calls at start. The rules are the same in both
directions: the party acting is `envelope.sender`, this node or its peer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import grpc

from deconflict.models.conference import (
    ConferenceAnswer,
    ConferenceProposal,
    ConferenceRecord,
    ConferenceState,
    Participant,
    TimeSlot,
)
from deconflict.models.conference_service import ConferenceStatus
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.response import MessageKind
from deconflict.rpc.refusal import Refusal

if TYPE_CHECKING:  # the ledger imports this module: only the type is needed here
    from deconflict.node.ledger import ChannelState

ConferenceKey = tuple[str, str]  # (channel_id, conference_id): an id is unique per channel (DCF-CNF-002)

OPEN_STATES = frozenset({ConferenceState.PROPOSED, ConferenceState.COUNTERED})
ENDED_STATES = frozenset({ConferenceState.DECLINED, ConferenceState.RECORDED, ConferenceState.CANCELLED})

# One order for every stored conference record and incident report, counted as `apply` is called, which is
# journal order both live and in replay. Incidents "since the last record" (DCF-CNF-030) compare this
# order rather than clock times, so a clock stepped back cannot hide an incident from the next agenda.
_stored_order = itertools.count(1)


def next_stored_order() -> int:
    """The place of the message being applied now in the order of stored messages."""
    return next(_stored_order)


@dataclass(slots=True)
class Revision:
    """One revision as the envelope that carried it, so that timeouts can name it (DCF-TMR-011)."""

    conference_id: str
    revision: int
    proposer: str
    timed_out: bool = False


@dataclass(slots=True)
class Conference:
    """One conference on one channel: its latest revision and the dialogue about it."""

    channel_id: str
    mode: Mode  # of the proposal that created it; every later message carries it (DCF-ENV-009)
    state: ConferenceState
    proposal: ConferenceProposal  # the latest revision
    proposer: str  # the sender of the latest revision
    message_id: str  # the envelope that carried the latest revision: answers reply to it
    awaiting: str  # the party that owes the answer to the latest revision
    due_time: datetime | None  # when that answer is due; None when none is due or no timer is agreed
    scheduled_slot: TimeSlot | None = None
    record: ConferenceRecord | None = None
    recorded_order: int = 0  # next_stored_order() of the record, once RECORDED

    @property
    def conference_id(self) -> str:
        return self.proposal.conference_id

    def status(self) -> ConferenceStatus:
        return ConferenceStatus(
            channel_id=self.channel_id,
            state=self.state,
            proposer=self.proposer,
            proposal=self.proposal,
            scheduled_slot=self.scheduled_slot,
            record=self.record,
        )


@dataclass(frozen=True, slots=True)
class OpenAnswer:
    """An answer overdue: what the proposer's timer task needs to send its ResponseTimeout (DCF-CNF-025)."""

    channel_id: str
    conference_id: str
    revision: int
    awaiting: str  # the party that owes the answer; the other one, the proposer, sends the timeout
    message_id: str  # the envelope of the unanswered revision: the timeout's in_reply_to
    due_time: datetime


@dataclass(frozen=True, slots=True)
class SavedConference:
    """A conference and the revisions it was carried by, as they stood at one moment (None: no such conference)."""

    conference: Conference | None
    revisions: dict[tuple[str, str], Revision]


class ConferenceBook:
    """The conferences of all the node's channels, by (channel_id, conference_id), oldest first."""

    def __init__(self) -> None:
        # Insertion order is the order revision 1 was stored, the order of ListConferences (DCF-CNF-029).
        self._conferences: dict[ConferenceKey, Conference] = {}
        self._revisions: dict[tuple[str, str], Revision] = {}  # (channel_id, message_id) -> revision carried

    # -- reading

    def conference(self, channel_id: str, conference_id: str) -> Conference | None:
        return self._conferences.get((channel_id, conference_id))

    def status(self, channel_id: str, conference_id: str) -> ConferenceStatus | None:
        conference = self._conferences.get((channel_id, conference_id))
        return None if conference is None else conference.status()

    def statuses(self, channel_id: str) -> list[ConferenceStatus]:
        """Every conference of the channel, oldest first (by when revision 1 was stored)."""
        return [c.status() for c in self._conferences.values() if c.channel_id == channel_id]

    def open_answers(self, now: datetime) -> list[OpenAnswer]:
        """The open conferences whose answer was due by `now` and for which no timeout was stored yet.

        Both directions are listed; the timer task sends a timeout only where its own party is not
        `awaiting`, and only while the channel is not suspended (DCF-TMR-008).
        """
        overdue: list[OpenAnswer] = []
        for conference in self._conferences.values():
            due = conference.due_time
            if conference.state not in OPEN_STATES or due is None or due > now:
                continue
            revision = self._revisions.get((conference.channel_id, conference.message_id))
            if revision is not None and revision.timed_out:
                continue  # at most one timeout per unanswered message (DCF-TMR-007)
            overdue.append(
                OpenAnswer(
                    channel_id=conference.channel_id,
                    conference_id=conference.conference_id,
                    revision=conference.proposal.revision,
                    awaiting=conference.awaiting,
                    message_id=conference.message_id,
                    due_time=due,
                )
            )
        return overdue

    def last_recorded_order(self, channel_id: str) -> int | None:
        """Where the channel's latest conference record stands in the order of stored messages; None if none."""
        orders = [
            c.recorded_order
            for c in self._conferences.values()
            if c.channel_id == channel_id and c.state == ConferenceState.RECORDED
        ]
        return max(orders, default=None)

    @staticmethod
    def response_due_time(channel: ChannelState, envelope: Envelope, now: datetime) -> datetime | None:
        """The answer's deadline for the acknowledgement of a proposal or counter stored at `now`
        (DCF-CNF-024, DCF-TMR-001); None for other messages and when the agreement sets no timer."""
        answer = envelope.conference_answer
        if envelope.conference_proposal is None and (answer is None or answer.counter is None):
            return None
        wait = channel.response_time(MessageKind.CONFERENCE_PROPOSAL)
        return None if wait is None else now + wait

    # -- checks: refuse, or let the message through; never change anything

    def check(self, channel: ChannelState, envelope: Envelope, now: datetime) -> None:
        """Whether a conference message (or a conference proposal's timeout), sent or received, may be stored."""
        if envelope.conference_proposal is not None:
            self._check_proposal(channel, envelope.conference_proposal)
        elif envelope.conference_answer is not None:
            self._check_answer(channel, envelope, envelope.conference_answer)
        elif envelope.conference_record is not None:
            self._check_record(channel, envelope, envelope.conference_record)
        elif envelope.conference_cancellation is not None:
            conference = self._existing(channel, envelope, envelope.conference_cancellation.conference_id)
            if conference.state in ENDED_STATES:
                raise Refusal(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"conference {conference.conference_id} is {conference.state.name}: it can no longer be cancelled",
                    reason="CONFERENCE_ENDED",
                )  # DCF-CNF-038
        elif envelope.timeout is not None and envelope.timeout.unanswered_kind == MessageKind.CONFERENCE_PROPOSAL:
            self._check_timeout(channel, envelope)

    def _check_proposal(self, channel: ChannelState, proposal: ConferenceProposal) -> None:
        violations = _outsiders(channel, proposal, "conference_proposal")
        if proposal.revision != 1:
            violations.insert(0, ("conference_proposal.revision", "a new conference is proposed as revision 1"))
        if violations:
            raise Refusal.invalid(violations)  # DCF-CNF-001, DCF-CNF-006
        if (channel.channel_id, proposal.conference_id) in self._conferences:
            raise Refusal(
                grpc.StatusCode.ALREADY_EXISTS,
                f"conference {proposal.conference_id} exists on channel {channel.channel_id}: conference ids are "
                "never reused",
                reason="CONFERENCE_EXISTS",
            )  # DCF-CNF-002

    def _check_answer(self, channel: ChannelState, envelope: Envelope, answer: ConferenceAnswer) -> None:
        if answer.counter is not None:  # a counter is valid as a proposal (DCF-CNF-018)
            violations = _outsiders(channel, answer.counter, "conference_answer.counter")
            if violations:
                raise Refusal.invalid(violations)
        # The rule checks in the order of DCF-CNF-021: existence, open state, revision, authorship, slot.
        conference = self._existing(channel, envelope, answer.conference_id)
        if conference.state not in OPEN_STATES:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"conference {answer.conference_id} is {conference.state.name}: only a PROPOSED or COUNTERED "
                "conference is answered",
                reason="CONFERENCE_NOT_OPEN",
            )  # DCF-CNF-014
        latest = conference.proposal.revision
        if answer.revision != latest:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"revision {answer.revision} of conference {answer.conference_id} is not the latest: answer "
                f"revision {latest}",
                reason="REVISION_NOT_LATEST",
            )  # DCF-CNF-015
        if envelope.sender == conference.proposer:
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{envelope.sender} sent revision {latest} of conference {answer.conference_id}: a party never "
                "answers its own revision",
                reason="OWN_REVISION",
            )  # DCF-CNF-016
        if answer.accept is not None and not conference.proposal.has_slot(answer.accept.slot):
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{answer.accept.slot.start_time.isoformat()} is not a candidate slot of revision {latest} of "
                f"conference {answer.conference_id}",
                reason="SLOT_NOT_CANDIDATE",
            )  # DCF-CNF-017
        if envelope.in_reply_to != conference.message_id:
            raise Refusal.invalid(
                [("in_reply_to", f"must name the message that carried revision {latest}: {conference.message_id}")]
            )  # DCF-ENV-011

    def _check_record(self, channel: ChannelState, envelope: Envelope, record: ConferenceRecord) -> None:
        parties = channel.agreement.model.parties
        owners = [
            (f"conference_record.action_items[{index}].owner", f"{item.owner} is not a party of the channel")
            for index, item in enumerate(record.action_items)
            if item.owner not in parties
        ]
        if owners:
            raise Refusal.invalid(owners)  # DCF-CNF-026
        conference = self._existing(channel, envelope, record.conference_id)
        if conference.state != ConferenceState.SCHEDULED:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"conference {record.conference_id} is {conference.state.name}: only a SCHEDULED conference is "
                "recorded",
                reason="CONFERENCE_NOT_SCHEDULED",
            )  # DCF-CNF-022
        # Decisions and actions settle items of the agenda that was agreed, the scheduled revision's (DCF-CNF-026).
        agenda = {item.item_id for item in conference.proposal.agenda}
        named = [
            *((f"decisions[{i}]", d.item_id) for i, d in enumerate(record.decisions)),
            *((f"action_items[{i}]", a.item_id) for i, a in enumerate(record.action_items)),
        ]
        unknown = [
            (f"conference_record.{element}.item_id", f"{item_id} is not an agenda item of the scheduled revision")
            for element, item_id in named
            if item_id and item_id not in agenda
        ]
        if unknown:
            raise Refusal.invalid(unknown)

    def _check_timeout(self, channel: ChannelState, envelope: Envelope) -> None:
        timeout = envelope.timeout
        assert timeout is not None
        revision = self._revisions.get((channel.channel_id, timeout.unanswered_message_id))
        if revision is None or revision.proposer != envelope.sender:
            raise Refusal(
                grpc.StatusCode.NOT_FOUND,
                f"{envelope.sender} sent no conference revision {timeout.unanswered_message_id} on channel "
                f"{channel.channel_id}",
            )  # DCF-TMR-011
        conference = self._existing(channel, envelope, revision.conference_id)
        if timeout.conference_id != revision.conference_id:
            raise Refusal.invalid(
                [("timeout.conference_id", f"the unanswered message is about conference {revision.conference_id}")]
            )  # DCF-TMR-011
        if timeout.conference_revision != revision.revision:
            raise Refusal.invalid(
                [("timeout.conference_revision", f"the unanswered message carried revision {revision.revision}")]
            )  # DCF-TMR-011
        if revision.timed_out:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"revision {revision.revision} of conference {revision.conference_id} has timed out already",
                reason="TIMEOUT_EXISTS",
            )  # DCF-TMR-012
        if conference.state not in OPEN_STATES or conference.proposal.revision != revision.revision:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"revision {revision.revision} of conference {revision.conference_id} awaits no answer any more",
                reason="DIALOGUE_CLOSED",
            )  # DCF-TMR-019

    def _existing(self, channel: ChannelState, envelope: Envelope, conference_id: str) -> Conference:
        conference = self._conferences.get((channel.channel_id, conference_id))
        if conference is None:
            raise Refusal(
                grpc.StatusCode.NOT_FOUND, f"no conference {conference_id} on channel {channel.channel_id}"
            )  # DCF-CNF-013, DCF-CNF-022, DCF-CNF-038
        if envelope.mode != conference.mode:
            raise Refusal.invalid(
                [("mode", f"must be {conference.mode.name}, the mode of conference {conference_id}'s proposal")]
            )  # DCF-ENV-009: checked right after the conference is found
        return conference

    # -- one conference as it stands, to take back a message of this node's the peer refused (DCF-ENV-013)

    def saved(self, channel_id: str, conference_id: str) -> SavedConference:
        """A copy of one conference and its revisions, which later changes leave as it is."""
        conference = self._conferences.get((channel_id, conference_id))
        return SavedConference(
            None if conference is None else replace(conference),
            {
                key: replace(revision)
                for key, revision in self._revisions.items()
                if key[0] == channel_id and revision.conference_id == conference_id
            },
        )

    def restore(self, channel_id: str, conference_id: str, saved: SavedConference) -> None:
        """Put one conference back as `saved` holds it (a copy: `saved` can be restored again)."""
        key = (channel_id, conference_id)
        if saved.conference is None:
            self._conferences.pop(key, None)
        else:
            self._conferences[key] = replace(saved.conference)
        for revision_key in [
            k for k, r in self._revisions.items() if k[0] == channel_id and r.conference_id == conference_id
        ]:
            del self._revisions[revision_key]
        self._revisions.update({k: replace(revision) for k, revision in saved.revisions.items()})

    def reoriginated(self, channel_id: str, message_id: str, new_id: str) -> None:
        """A revision of this node's now goes under `new_id` (DCF-ENV-026): the peer's answer replies to that."""
        revision = self._revisions.pop((channel_id, message_id), None)
        if revision is None:
            return
        self._revisions[(channel_id, new_id)] = revision
        conference = self._conferences.get((channel_id, revision.conference_id))
        if conference is not None and conference.message_id == message_id:
            conference.message_id = new_id

    # -- changes: for a message already accepted (live) or already stored (replay)

    def apply(self, channel: ChannelState, envelope: Envelope, when: datetime) -> None:
        """Move the conference a stored message, sent or received, is about (the table of section 7.4).

        A message that `check` would refuse changes nothing here either, so that nothing ever leaves a
        terminal state (DCF-CNF-027), whatever the journal holds.
        """
        if envelope.conference_proposal is not None:
            self._open(channel, envelope, envelope.conference_proposal, when)
            return
        if envelope.conference_answer is not None:
            self._answer(channel, envelope, envelope.conference_answer, when)
            return
        if envelope.timeout is not None:
            revision = self._revisions.get((channel.channel_id, envelope.timeout.unanswered_message_id))
            if revision is not None:
                revision.timed_out = True  # the conference stays open (DCF-CNF-025)
            return
        record = envelope.conference_record
        cancellation = envelope.conference_cancellation
        about = record or cancellation
        conference = None if about is None else self._conferences.get((channel.channel_id, about.conference_id))
        if conference is None:
            return
        if record is not None and conference.state == ConferenceState.SCHEDULED:
            conference.state = ConferenceState.RECORDED  # DCF-CNF-022
            conference.record = record
            conference.recorded_order = next_stored_order()
        elif cancellation is not None and conference.state not in ENDED_STATES:
            # The slot of a scheduled conference is kept (DCF-CNF-039); no answer is due any more (DCF-CNF-038).
            conference.state = ConferenceState.CANCELLED
            conference.due_time = None

    def _open(self, channel: ChannelState, envelope: Envelope, proposal: ConferenceProposal, when: datetime) -> None:
        key = (channel.channel_id, proposal.conference_id)
        if key in self._conferences:
            return
        self._conferences[key] = Conference(
            channel_id=channel.channel_id,
            mode=envelope.mode,
            state=ConferenceState.PROPOSED,  # DCF-CNF-003
            proposal=proposal,
            proposer=envelope.sender,
            message_id=envelope.message_id,
            awaiting=_other(channel, envelope.sender),
            due_time=self.response_due_time(channel, envelope, when),
        )
        self._revisions[(channel.channel_id, envelope.message_id)] = Revision(
            proposal.conference_id, proposal.revision, envelope.sender
        )

    def _answer(self, channel: ChannelState, envelope: Envelope, answer: ConferenceAnswer, when: datetime) -> None:
        conference = self._conferences.get((channel.channel_id, answer.conference_id))
        if (
            conference is None
            or conference.state not in OPEN_STATES
            or answer.revision != conference.proposal.revision
            or envelope.sender == conference.proposer
        ):
            return
        if answer.accept is not None:
            if not conference.proposal.has_slot(answer.accept.slot):
                return
            conference.state = ConferenceState.SCHEDULED  # DCF-CNF-017
            conference.scheduled_slot = answer.accept.slot
            conference.due_time = None
        elif answer.counter is not None:
            # The counter is the latest revision now and its sender the proposer: the other party answers.
            conference.state = ConferenceState.COUNTERED  # DCF-CNF-019
            conference.proposal = answer.counter
            conference.proposer = envelope.sender
            conference.message_id = envelope.message_id
            conference.awaiting = _other(channel, envelope.sender)
            conference.due_time = self.response_due_time(channel, envelope, when)
            self._revisions[(channel.channel_id, envelope.message_id)] = Revision(
                answer.conference_id, answer.counter.revision, envelope.sender
            )
        else:
            conference.state = ConferenceState.DECLINED  # DCF-CNF-020
            conference.due_time = None


def _other(channel: ChannelState, party: str) -> str:
    return channel.peer if party == channel.party else channel.party


def _outsiders(channel: ChannelState, proposal: ConferenceProposal, path: str) -> list[tuple[str, str]]:
    """A violation for each participant and presenter that is not a party of the channel (DCF-CNF-006)."""
    named: Sequence[tuple[str, Participant]] = [
        *((f"{path}.participants[{i}].party", p) for i, p in enumerate(proposal.participants)),
        *((f"{path}.agenda[{i}].presenter.party", item.presenter) for i, item in enumerate(proposal.agenda)),
    ]
    parties = channel.agreement.model.parties
    return [
        (field, f"{participant.party} is not a party of the channel")
        for field, participant in named
        if participant.party not in parties
    ]
