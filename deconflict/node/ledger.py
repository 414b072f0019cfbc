"""The node's state: channels, sequences, notices and their dialogues, rebuilt from the journal at start.

The ledger is pure protocol logic with no I/O. `check_*` methods decide whether a
message may be stored, raising a Refusal and changing nothing (DCF-ENV-033);
`apply` changes the state for a message already accepted. Intake calls both on
the event loop thread with no await between them, so nothing interleaves, and
the journal replays the same `apply` calls at start. `withdraw` takes back one of
this node's messages that the peer refused definitively (DCF-ENV-013), live and
at replay alike.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from time import monotonic

import grpc

from deconflict.models.channel import Liveness
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.errors import StaleVersion
from deconflict.models.notice import FlightNotice, NoticeCategory, NoticeState
from deconflict.models.notice_service import NoticeRecord
from deconflict.models.response import (
    DialogueState,
    LogicalAcknowledgement,
    MessageKind,
    OperationalResponse,
    ResponseKind,
)
from deconflict.node.conferences import ConferenceBook, SavedConference
from deconflict.node.config import ChannelAgreement
from deconflict.node.faults import Fault
from deconflict.node.incidents import FiledIncident, IncidentBook
from deconflict.rpc.refusal import Refusal

NoticeKey = tuple[str, str]  # (owner, notice_id): ids are chosen by their owner, so only the pair is unique
# What a message changes: ("notice", owner, notice_id), ("conference", channel_id, conference_id),
# ("incident", channel_id, incident_id) or ("channel", channel_id, "") for a suspension or resumption.
Subject = tuple[str, str, str]

OPEN = frozenset({DialogueState.PENDING, DialogueState.STANDBY, DialogueState.TIMED_OUT})
WAITING = frozenset({DialogueState.PENDING, DialogueState.STANDBY})
HELD = timedelta(seconds=1)  # how often a timer held by a suspension not yet resumed is looked at again
FINAL = frozenset({ResponseKind.ACCEPT, ResponseKind.UNABLE, ResponseKind.ROGER, ResponseKind.COUNTER})


@dataclass(slots=True)
class Dialogue:
    """The dialogue about one notice version on one channel (DCF-RSP state machine)."""

    channel_id: str
    responder: str  # the party that owes the response
    message_id: str  # the notice or amendment awaiting it
    kind: MessageKind
    version: int
    state: DialogueState = DialogueState.PENDING
    due_time: datetime | None = None
    last_response: ResponseKind | None = None
    timeout_sent: bool = False
    started: datetime | None = None  # the message's first acknowledgement: `waited` runs from it (DCF-TMR-016)
    restarted: datetime | None = None  # when the running timer started: that acknowledgement or the last STANDBY
    wake: datetime | None = None  # when the timers look at this dialogue next: its live entry in the ledger's heap


@dataclass(slots=True)
class NoticeEntry:
    notice: FlightNotice
    mode: Mode
    late: bool
    received_time: datetime
    # channel_id -> the dialogue about the current version on that channel
    dialogues: dict[str, Dialogue] = field(default_factory=dict)

    @property
    def exercise(self) -> bool:
        return self.mode == Mode.EXERCISE

    @property
    def key(self) -> NoticeKey:
        return (self.notice.owner, self.notice.notice_id)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the node decided about an incoming message: rebuilt into its acknowledgement."""

    late: bool = False
    response_due_time: datetime | None = None
    notice_id: str = ""
    notice_version: int = 0


@dataclass(slots=True)
class SuspensionWindow:
    """One stored suspension: in effect from `since` until its resumption's effective time (DCF-SUS-004)."""

    suspension_id: str
    since: datetime
    reason: str
    until: datetime | None = None  # set by the resumption that ends it

    def covers(self, when: datetime) -> bool:
        return self.since <= when and (self.until is None or when < self.until)


@dataclass(slots=True)
class Outgoing:
    """One of this node's messages, stored and not yet acknowledged: the envelope as it is (to be) sent now."""

    envelope: Envelope
    facts: Facts


@dataclass(frozen=True, slots=True)
class Applied:
    """A message as the ledger applied it."""

    channel: ChannelState
    envelope: Envelope
    facts: Facts
    when: datetime


@dataclass(slots=True)
class _Undo:
    """How to take back this node's unacknowledged messages about one subject (DCF-ENV-013): the subject as it
    stood before the first of them, and every message applied to it since, in order, that one included."""

    before: NoticeEntry | SavedConference | FiledIncident | str | None
    since: list[Applied]
    pending: set[tuple[str, str]]  # (channel_id, message_id) of this node's messages in `since` not acknowledged


@dataclass(slots=True)
class ChannelState:
    agreement: ChannelAgreement
    party: str
    peer: str
    peer_address: str
    next_in: int = 1  # the peer's next sequence this node expects (DCF-ENV-026)
    next_out: int = 1  # this node's next sequence on the channel
    greeted: bool = False  # a Hello with matching agreement since this node started
    # time.monotonic() when the peer was last heard: a request from it on the channel or an answer from its node;
    # None until it is first heard after this node started, when its liveness is UNKNOWN (DCF-HBT-006).
    last_heard: float | None = None
    peer_last_sequence_sent: int = 0  # from heartbeats either way: above next_in - 1, the link fetches (DCF-HBT-005)
    acknowledged: int = 0  # the highest of our sequences the peer acknowledged (delivery is in order)
    liveness: Liveness = Liveness.UNKNOWN  # DCF-HBT spec: UNKNOWN until first heard
    suspended_by: str = ""  # suspension_id while a suspension is pending or in effect, not yet resumed
    # Every suspension stored, with the times it covers: notices are refused only inside one (DCF-SUS-004).
    suspensions: list[SuspensionWindow] = field(default_factory=list)
    # Outgoing messages by sequence: their journal positions, for Watch (DCF-STR).
    sent_positions: list[int] = field(default_factory=list)
    # This node's messages after the last acknowledged one, in sequence order (DCF-ENV-033).
    outbox: deque[Outgoing] = field(default_factory=deque)
    # The first sequence whose envelope changed, at each withdrawal (DCF-ENV-013: the ones behind moved down) and
    # each re-origination (DCF-ENV-026), in order: a Watch under way streams from there again (DCF-STR-004).
    resealed: list[int] = field(default_factory=list)

    @property
    def channel_id(self) -> str:
        return self.agreement.channel_id

    @property
    def suspended(self) -> bool:
        return bool(self.suspended_by)

    def hear(self) -> None:
        """The peer is heard now (DCF-HBT-006): on the path of every request, so one clock read and one write."""
        self.last_heard = monotonic()

    def response_time(self, kind: MessageKind) -> timedelta | None:
        return self.agreement.model.response_time(kind)

    def suspension_at(self, when: datetime) -> SuspensionWindow | None:
        """The suspension in effect at `when`, if any: from its effective_time to its resumption's."""
        return next((window for window in self.suspensions if window.covers(when)), None)


class Ledger:
    """Everything a node knows, kept in memory; the journal is its durable form."""

    def __init__(self, party: str, channels: list[ChannelState], faults: frozenset[Fault] = frozenset()) -> None:
        self.party = party
        self.faults = faults  # deliberately faulty variants, for conformance testing only
        self.channels = {channel.channel_id: channel for channel in channels}
        self.notices: dict[NoticeKey, NoticeEntry] = {}
        # Heaps, so the timers look only at what falls due instead of every notice at every tick.
        self._ends: list[tuple[datetime, NoticeKey]] = []
        self._due: list[tuple[datetime, NoticeKey, str]] = []
        self.conferences = ConferenceBook()
        self.incidents = IncidentBook()
        # While one of this node's messages may still be refused, what it changed can be taken back.
        self._undo: dict[Subject, _Undo] = {}
        self._pending: dict[tuple[str, str], Subject] = {}
        # (channel_id, message_id) -> what each stored message was, so that a timeout can name any of them.
        self._messages: dict[tuple[str, str], StoredMessage] = {}

    # -- reading

    def notice(self, owner: str, notice_id: str) -> NoticeEntry | None:
        return self.notices.get((owner, notice_id))

    def find_notice(self, notice_id: str, owners: tuple[str, ...]) -> NoticeEntry | None:
        for owner in owners:
            entry = self.notices.get((owner, notice_id))
            if entry is not None:
                return entry
        return None

    # -- checks: refuse, or say what the message means; never change anything

    def check(self, channel: ChannelState, envelope: Envelope, now: datetime) -> Facts:
        """Whether an envelope from the peer may be stored; the facts for its acknowledgement."""
        body = envelope.body_field
        if body.startswith("conference_"):
            self.conferences.check(channel, envelope, now)
            return Facts(response_due_time=self.conferences.response_due_time(channel, envelope, now))
        if body == "incident_report":
            self.incidents.check(channel, envelope, now)
            return Facts()
        if body == "notice":
            return self._check_notice(channel, envelope, now)
        if body == "amendment":
            return self._check_amendment(channel, envelope, now)
        if body == "cancellation":
            return self._check_cancellation(channel, envelope)
        if body == "response":
            return self._check_response(channel, envelope)
        if body == "timeout":
            return self._check_timeout(channel, envelope, now)
        if body == "suspension" and channel.suspended:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"channel {channel.channel_id} is already suspended ({channel.suspended_by})",
                reason="ALREADY_SUSPENDED",
            )  # DCF-SUS-003
        if body == "resumption":
            self._check_resumption(channel, envelope)
        return Facts()

    def _check_timeout(self, channel: ChannelState, envelope: Envelope, now: datetime) -> Facts:
        timeout = envelope.timeout
        assert timeout is not None
        if timeout.unanswered_kind == MessageKind.CONFERENCE_PROPOSAL:
            self.conferences.check(channel, envelope, now)  # a conference proposal's timeout
            return Facts()
        unanswered = timeout.unanswered_message_id
        asked = self._messages.get((channel.channel_id, unanswered))
        if asked is None or asked.sender != envelope.sender:
            raise Refusal(
                grpc.StatusCode.NOT_FOUND, f"{envelope.sender} sent no message {unanswered} on this channel"
            )  # DCF-TMR-011
        # The unanswered message must await an answer, and the timeout must describe it (DCF-TMR-011).
        if asked.kind is None:
            raise Refusal.invalid([("timeout.unanswered_message_id", f"names a {asked.body}, which awaits no answer")])
        if timeout.unanswered_kind != asked.kind:
            raise Refusal.invalid([("timeout.unanswered_kind", f"the unanswered message is a {asked.body}")])
        if timeout.notice_id != asked.notice_id:
            raise Refusal.invalid([("timeout.notice_id", f"the unanswered message filed {asked.notice_id}")])
        if timeout.notice_version != asked.version:
            raise Refusal.invalid([("timeout.notice_version", f"the unanswered message filed version {asked.version}")])
        entry = self.notices.get((envelope.sender, asked.notice_id))
        if entry is None:
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no notice {asked.notice_id} of {envelope.sender}")
        _check_mode(entry, envelope)
        dialogue = entry.dialogues.get(channel.channel_id)
        current = dialogue is not None and dialogue.message_id == unanswered
        if dialogue is not None and current and dialogue.timeout_sent:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"message {unanswered} has timed out already",
                reason="TIMEOUT_EXISTS",
            )  # DCF-TMR-012
        if dialogue is None or not current or dialogue.state == DialogueState.SUPERSEDED:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the dialogue about {asked.notice_id} v{asked.version} is over: the version was superseded or ended",
                reason="DIALOGUE_CLOSED",
            )  # DCF-TMR-012
        # An ANSWERED dialogue takes it: the timeout crossed the final answer (DCF-TMR-013).
        return Facts(notice_id=asked.notice_id, notice_version=asked.version)

    @staticmethod
    def _check_resumption(channel: ChannelState, envelope: Envelope) -> None:
        resumption = envelope.resumption
        assert resumption is not None
        if not channel.suspended:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"channel {channel.channel_id} is not suspended",
                reason="NOT_SUSPENDED",
            )  # DCF-SUS-009
        if resumption.suspension_id != channel.suspended_by:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the suspension in force is {channel.suspended_by}, not {resumption.suspension_id}",
                reason="SUSPENSION_MISMATCH",
            )  # DCF-SUS-009
        current = next((w for w in reversed(channel.suspensions) if w.suspension_id == channel.suspended_by), None)
        if current is not None and resumption.effective_time < current.since:
            raise Refusal.invalid(
                [
                    (
                        "resumption.effective_time",
                        f"must not be before the suspension's effective_time, {current.since.isoformat()}",
                    )
                ]
            )  # DCF-SUS-008

    def _check_notice(self, channel: ChannelState, envelope: Envelope, now: datetime) -> Facts:
        notice = envelope.notice
        assert notice is not None
        # Suspension first, then ownership, then existence (DCF-NTC-024).
        self._check_open(channel, now)
        self._check_owner(envelope.sender, notice.owner, "notice.owner")
        if notice.version != 1:
            raise Refusal.invalid([("notice.version", "a new notice has version 1")])  # DCF-NTC-010
        if notice.state != NoticeState.ACTIVE:
            raise Refusal.invalid([("notice.state", "a new notice is ACTIVE")])  # DCF-NTC-010
        # An id is unique on the channel whatever its owner (DCF-NTC-012): either party may hold it already.
        taken = self.find_notice(notice.notice_id, (channel.party, channel.peer))
        if taken is not None and channel.channel_id in taken.dialogues and not _from_record(taken, channel, envelope):
            raise Refusal(
                grpc.StatusCode.ALREADY_EXISTS,
                f"notice {notice.notice_id} of {notice.owner} exists: amend it instead",
                reason="NOTICE_EXISTS",
            )  # DCF-NTC-012
        _check_not_over(notice, now, "notice")
        return self._facts(channel, notice, MessageKind.NOTICE, now)

    def _check_amendment(self, channel: ChannelState, envelope: Envelope, now: datetime) -> Facts:
        amendment = envelope.amendment
        assert amendment is not None
        notice = amendment.notice
        # Suspension first, then existence, ownership, state, version (DCF-NTC-024).
        self._check_open(channel, now)
        entry = self._existing(notice.owner, notice.notice_id, envelope.sender)
        _check_mode(entry, envelope)
        self._check_owner(envelope.sender, entry.notice.owner, "amendment.notice.owner")
        self._check_version(entry, amendment.replaces_version)
        _check_not_over(notice, now, "amendment.notice")
        return self._facts(channel, notice, MessageKind.AMENDMENT, now)

    def _check_cancellation(self, channel: ChannelState, envelope: Envelope) -> Facts:
        cancellation = envelope.cancellation
        assert cancellation is not None
        # Cancellations flow while suspended: ending a flight only lowers the risk (DCF-SUS spec).
        entry = self._existing(self._cancelled_owner(envelope), cancellation.notice_id, envelope.sender)
        _check_mode(entry, envelope)
        self._check_version(entry, cancellation.version)
        return Facts(notice_id=cancellation.notice_id, notice_version=cancellation.version)

    def _check_response(self, channel: ChannelState, envelope: Envelope) -> Facts:
        response = envelope.response
        assert response is not None
        # A response answers the recipient's notice; the same check serves both directions.
        entry = self.notices.get((envelope.recipient, response.notice_id))
        if entry is None:
            if (envelope.sender, response.notice_id) in self.notices:
                raise Refusal(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "a party answers the other party's notices, not its own",
                    reason="OWN_NOTICE",
                )  # DCF-RSP-013
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no notice {response.notice_id} of {envelope.recipient}")
        _check_mode(entry, envelope)
        if entry.notice.state != NoticeState.ACTIVE:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"notice {response.notice_id} is {entry.notice.state.name}",
                reason="NOTICE_ENDED",
            )
        if response.notice_version != entry.notice.version:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"version {response.notice_version} of {response.notice_id} is superseded by "
                f"version {entry.notice.version}",
                reason="VERSION_NOT_CURRENT",
            )  # DCF-RSP-014
        dialogue = entry.dialogues.get(channel.channel_id)
        if dialogue is None or dialogue.state not in OPEN:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the dialogue about {response.notice_id} v{response.notice_version} is closed",
                reason="DIALOGUE_CLOSED",
            )  # DCF-RSP-015
        if envelope.in_reply_to != dialogue.message_id:
            raise Refusal.invalid(
                [("in_reply_to", f"must name the message that filed version {dialogue.version}: {dialogue.message_id}")]
            )
        return Facts(notice_id=response.notice_id, notice_version=response.notice_version)

    def _cancelled_owner(self, envelope: Envelope) -> str:
        """The owner of the notice a cancellation ends: its sender, unless the node is the faulty variant that
        lets a party cancel the other's notice."""
        assert envelope.cancellation is not None
        if Fault.NON_OWNER_CANCEL in self.faults:
            entry = self.find_notice(envelope.cancellation.notice_id, (envelope.sender, envelope.recipient))
            if entry is not None:
                return entry.notice.owner
        return envelope.sender

    def _check_owner(self, sender: str, owner: str, path: str) -> None:
        if owner != sender:
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{path} is {owner}: a party files and changes only its own notices",
                reason="NOT_OWNER",
            )  # DCF-NTC-011

    def _check_open(self, channel: ChannelState, now: datetime) -> None:
        window = channel.suspension_at(now)
        if window is not None:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                # DCF-SUS-004: which suspension, since when and why.
                f"channel {channel.channel_id} is suspended by {window.suspension_id} since "
                f"{window.since.isoformat()} ({window.reason}): no notice or amendment is taken until it is resumed",
                reason="CHANNEL_SUSPENDED",
            )  # DCF-SUS-004

    def _existing(self, owner: str, notice_id: str, sender: str) -> NoticeEntry:
        entry = self.notices.get((owner, notice_id))
        if entry is None:
            if any(key[1] == notice_id for key in self.notices):
                raise Refusal(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"notice {notice_id} is not {sender}'s: only its owner changes it",
                    reason="NOT_OWNER",
                )  # DCF-NTC-020
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"no notice {notice_id} of {owner}")
        return entry

    def _check_version(self, entry: NoticeEntry, quoted: int) -> None:
        if entry.notice.state != NoticeState.ACTIVE:
            raise Refusal(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"notice {entry.notice.notice_id} is {entry.notice.state.name}: it can no longer change",
                reason="NOTICE_ENDED",
            )  # DCF-NTC-021
        if quoted != entry.notice.version and Fault.ACCEPT_STALE_VERSION not in self.faults:
            raise Refusal(
                grpc.StatusCode.ABORTED,
                f"version {quoted} of {entry.notice.notice_id} is not current: the current version is "
                f"{entry.notice.version}",
                reason="STALE_VERSION",
                stale_version=StaleVersion(
                    notice_id=entry.notice.notice_id, quoted_version=quoted, current_version=entry.notice.version
                ),
            )  # DCF-NTC-022

    @staticmethod
    def _facts(channel: ChannelState, notice: FlightNotice, kind: MessageKind, now: datetime) -> Facts:
        lead = channel.agreement.model.minimum_lead_time
        # An emergency is never late (DCF-NTC-015).
        late = notice.category != NoticeCategory.EMERGENCY and notice.first_start - now < lead
        wait = channel.response_time(kind)
        return Facts(
            late=late,
            response_due_time=None if wait is None else now + wait,
            notice_id=notice.notice_id,
            notice_version=notice.version,
        )

    # -- changes: for a message already accepted (live) or already stored (replay)

    def apply(self, channel: ChannelState, envelope: Envelope, facts: Facts, when: datetime) -> None:
        """Record a stored envelope, received from the peer or sent by this node."""
        outgoing = envelope.sender == self.party
        if outgoing:
            channel.next_out = envelope.sequence + 1
        else:
            channel.next_in = envelope.sequence + 1
        if outgoing or self._undo:
            self._keep(Applied(channel, envelope, facts, when), outgoing)
        self._apply_body(channel, envelope, facts, when)

    def _apply_body(self, channel: ChannelState, envelope: Envelope, facts: Facts, when: datetime) -> None:
        body = envelope.body_field
        self._remember(channel, envelope)
        if body == "notice" and envelope.notice is not None:
            self._store_version(channel, envelope, envelope.notice, MessageKind.NOTICE, facts, when)
        elif body == "amendment" and envelope.amendment is not None:
            self._store_version(channel, envelope, envelope.amendment.notice, MessageKind.AMENDMENT, facts, when)
        elif body == "cancellation" and envelope.cancellation is not None:
            self._end(self._cancelled_owner(envelope), envelope.cancellation.notice_id, NoticeState.CANCELLED)
        elif body == "response" and envelope.response is not None:
            self._answer(channel, envelope.sender, envelope.response, when)
        elif body == "timeout" and envelope.timeout is not None:
            if envelope.timeout.notice_id:
                self._time_out(channel, envelope)
            else:
                self.conferences.apply(channel, envelope, when)
        elif body == "suspension" and envelope.suspension is not None:
            suspension = envelope.suspension
            channel.suspended_by = suspension.suspension_id
            channel.suspensions.append(
                SuspensionWindow(suspension.suspension_id, suspension.effective_time, suspension.reason)
            )
        elif body == "resumption" and envelope.resumption is not None:
            # The suspension ends at the resumption's effective_time, not when it is stored (DCF-SUS-010).
            for window in channel.suspensions:
                if window.suspension_id == envelope.resumption.suspension_id and window.until is None:
                    window.until = envelope.resumption.effective_time
            channel.suspended_by = ""
        elif body.startswith("conference_"):
            self.conferences.apply(channel, envelope, when)
        elif body == "incident_report":
            self.incidents.apply(channel, envelope, when)

    def _remember(self, channel: ChannelState, envelope: Envelope) -> None:
        body = envelope.body_field
        notice = envelope.filed_notice
        self._messages[(channel.channel_id, envelope.message_id)] = StoredMessage(
            envelope.sender,
            body,
            _AWAITING.get(body),
            notice.notice_id if notice is not None else "",
            notice.version if notice is not None else 0,
        )

    def _store_version(
        self,
        channel: ChannelState,
        envelope: Envelope,
        notice: FlightNotice,
        kind: MessageKind,
        facts: Facts,
        when: datetime,
    ) -> None:
        key = (notice.owner, notice.notice_id)
        entry = self.notices.get(key)
        if entry is None and kind == MessageKind.AMENDMENT:
            return  # the notice was taken back (DCF-ENV-013): an amendment of it changes nothing
        if entry is None or entry.notice.version < notice.version:
            previous = entry.dialogues if entry is not None else {}
            entry = NoticeEntry(notice=notice, mode=envelope.mode, late=facts.late, received_time=when)
            for old in previous.values():
                old.state = DialogueState.SUPERSEDED
            self.notices[key] = entry
            heapq.heappush(self._ends, (notice.last_end, key))
        elif entry.notice.version > notice.version:
            return  # held from the owner's newer record (DCF-CHK-005): this envelope is the evidence of an older one
        responder = channel.peer if notice.owner == self.party else self.party
        entry.dialogues[channel.channel_id] = Dialogue(
            channel_id=channel.channel_id,
            responder=responder,
            message_id=envelope.message_id,
            kind=kind,
            version=notice.version,
            due_time=facts.response_due_time,
            # Until the peer's acknowledgement gives its stored_time, the timer runs from this node's storage.
            started=when,
            restarted=when,
        )
        self._wait(key, entry.dialogues[channel.channel_id], facts.response_due_time)

    def take_record(self, channel: ChannelState, record: NoticeRecord) -> None:
        """Hold one of the peer's notices as its owner's record says (DCF-CHK-005), never one of ours (DCF-CHK-004).

        The notice and the dialogue about it are the owner's. Only the message that filed the version cannot
        come from a record: it is kept when this node stored that version from an envelope, and empty otherwise.
        """
        notice = record.notice
        if notice.owner != channel.peer:
            raise ValueError(f"{notice.notice_id} is not the peer's: a node never takes its own notices from a record")
        key = (notice.owner, notice.notice_id)
        old = self.notices.get(key)
        known = old.dialogues.get(channel.channel_id) if old is not None else None
        if known is None or known.version != notice.version:
            known = None
        kind = MessageKind.NOTICE if notice.version == 1 else MessageKind.AMENDMENT
        entry = NoticeEntry(notice=notice, mode=record.mode, late=record.late, received_time=record.received_time)
        entry.dialogues[channel.channel_id] = Dialogue(
            channel_id=channel.channel_id,
            responder=self.party,
            message_id=known.message_id if known is not None else "",
            kind=kind,
            version=notice.version,
            state=record.dialogue_state,
            due_time=record.response_due_time,
            last_response=record.last_response,
            timeout_sent=known.timeout_sent if known is not None else False,
        )
        self.notices[key] = entry
        heapq.heappush(self._ends, (notice.last_end, key))

    def _end(self, owner: str, notice_id: str, state: NoticeState) -> None:
        entry = self.notices.get((owner, notice_id))
        if entry is None:
            return
        entry.notice = entry.notice.model_copy(update={"state": state})
        for dialogue in entry.dialogues.values():
            if dialogue.state in OPEN:
                dialogue.state = DialogueState.SUPERSEDED

    def _answer(self, channel: ChannelState, sender: str, response: OperationalResponse, when: datetime) -> None:
        owner = channel.peer if sender == self.party else self.party
        entry = self.notices.get((owner, response.notice_id))
        if entry is None or entry.notice.version != response.notice_version:
            return
        dialogue = entry.dialogues.get(channel.channel_id)
        if dialogue is None:
            return
        dialogue.last_response = response.kind
        if response.kind == ResponseKind.STANDBY:
            # STANDBY holds the timer: a full response time from its arrival (DCF-RSP spec); after a
            # timeout it changes nothing.
            if dialogue.state != DialogueState.TIMED_OUT:
                dialogue.state = DialogueState.STANDBY
                wait = channel.response_time(dialogue.kind)
                dialogue.restarted = when
                dialogue.due_time = None if wait is None else when + wait
                self._wait((owner, response.notice_id), dialogue, dialogue.due_time)
        else:
            dialogue.state = DialogueState.ANSWERED
            dialogue.due_time = None

    def _time_out(self, channel: ChannelState, envelope: Envelope) -> None:
        timeout = envelope.timeout
        assert timeout is not None
        # The party that waited, and sends the timeout, is the notice's owner.
        entry = self.notices.get((envelope.sender, timeout.notice_id))
        if entry is None:
            return
        dialogue = entry.dialogues.get(channel.channel_id)
        if dialogue is None or dialogue.message_id != timeout.unanswered_message_id:
            return
        dialogue.timeout_sent = True  # at most one, even one that crossed the final answer (DCF-TMR-007)
        if dialogue.state in WAITING:
            dialogue.state = DialogueState.TIMED_OUT
            dialogue.due_time = None

    # -- taking back a message of this node's that the peer refused definitively (DCF-ENV-013)

    def _keep(self, applied: Applied, outgoing: bool) -> None:
        """Keep what taking back an unacknowledged message of this node's would need."""
        subject = subject_of(applied.channel, applied.envelope)
        undo = self._undo.get(subject)
        if undo is None:
            if not outgoing:
                return
            undo = self._undo[subject] = _Undo(self._saved(subject), [], set())
        undo.since.append(applied)
        if outgoing:
            sent = (applied.channel.channel_id, applied.envelope.message_id)
            undo.pending.add(sent)
            self._pending[sent] = subject

    def acknowledged(self, channel_id: str, message_id: str) -> None:
        """The peer stored one of this node's messages: it can no longer be taken back."""
        sent = (channel_id, message_id)
        subject = self._pending.pop(sent, None)
        if subject is None:
            return
        undo = self._undo[subject]
        undo.pending.discard(sent)
        if not undo.pending:
            del self._undo[subject]

    def withdraw(self, channel: ChannelState, message_id: str) -> Subject | None:
        """Take back one of this node's messages that the peer refused definitively (DCF-ENV-013).

        The subject it changed is put back as it was before this node's first unacknowledged message about it,
        and every other message applied to it since, received or sent, is applied again in its order: the state
        is the one the journal gives without the message. The subject taken back, or None when the message is
        not one that can be (acknowledged, or unknown).
        """
        sent = (channel.channel_id, message_id)
        subject = self._pending.pop(sent, None)
        if subject is None:
            return None
        undo = self._undo[subject]
        undo.pending.discard(sent)
        undo.since = [applied for applied in undo.since if not _carries(applied, sent, self.party)]
        self._restore(subject, undo.before)
        for applied in undo.since:
            self._apply_body(applied.channel, applied.envelope, applied.facts, applied.when)
        if not undo.pending:
            del self._undo[subject]
        return subject

    def reoriginated(self, channel: ChannelState, message_id: str, envelope: Envelope) -> None:
        """One of this node's messages, never acknowledged, now goes under another id (DCF-ENV-026): the same body
        and sequence. Whatever is keyed by the old id follows the new: the dialogue or conference revision it
        opened, what a timeout of the peer's may name, and what taking it back would need."""
        old, new = (channel.channel_id, message_id), (channel.channel_id, envelope.message_id)
        subject = self._pending.pop(old, None)
        if subject is not None:
            self._pending[new] = subject
            undo = self._undo[subject]
            undo.pending.discard(old)
            undo.pending.add(new)
            undo.since = [
                replace(applied, envelope=envelope) if _carries(applied, old, self.party) else applied
                for applied in undo.since
            ]
        stored = self._messages.pop(old, None)
        if stored is not None:
            self._messages[new] = stored
        kind, first, second = subject_of(channel, envelope)
        if kind == "notice":
            entry = self.notices.get((first, second))
            dialogue = entry.dialogues.get(channel.channel_id) if entry is not None else None
            if dialogue is not None and dialogue.message_id == message_id:
                dialogue.message_id = envelope.message_id
        elif kind == "conference":
            self.conferences.reoriginated(channel.channel_id, message_id, envelope.message_id)

    def _saved(self, subject: Subject) -> NoticeEntry | SavedConference | FiledIncident | str | None:
        """A copy of a subject as it stands, which later changes leave as it is."""
        kind, first, second = subject
        if kind == "notice":
            entry = self.notices.get((first, second))
            return None if entry is None else _copy_entry(entry)
        if kind == "conference":
            return self.conferences.saved(first, second)
        if kind == "incident":
            return self.incidents.incident(first, second)  # frozen: kept as it is
        return self.channels[first].suspended_by

    def _restore(self, subject: Subject, saved: NoticeEntry | SavedConference | FiledIncident | str | None) -> None:
        kind, first, second = subject
        if kind == "notice":
            key = (first, second)
            if not isinstance(saved, NoticeEntry):
                self.notices.pop(key, None)
                return
            entry = self.notices[key] = _copy_entry(saved)
            # The timers of what comes back: the heaps skip whatever is stale when it falls due.
            heapq.heappush(self._ends, (entry.notice.last_end, key))
            for dialogue in entry.dialogues.values():
                if dialogue.state in OPEN:
                    self._wait(key, dialogue, dialogue.due_time)
        elif kind == "conference":
            assert isinstance(saved, SavedConference)
            self.conferences.restore(first, second, saved)
        elif kind == "incident":
            assert saved is None or isinstance(saved, FiledIncident)
            self.incidents.restore(first, second, saved)
        else:
            assert isinstance(saved, str)
            self.channels[first].suspended_by = saved

    def expire(self, now: datetime) -> list[NoticeEntry]:
        """End every ACTIVE notice whose last volume is over (DCF-NTC spec: EXPIRED); the ones ended."""
        ended: list[NoticeEntry] = []
        while self._ends and self._ends[0][0] <= now:
            _, key = heapq.heappop(self._ends)
            entry = self.notices.get(key)
            # An entry replaced by an amendment has its own, later end in the heap.
            if entry is not None and entry.notice.state == NoticeState.ACTIVE and entry.notice.last_end <= now:
                self._end(*key, NoticeState.EXPIRED)
                ended.append(entry)
        return ended

    def _wait(self, key: NoticeKey, dialogue: Dialogue, at: datetime | None) -> None:
        """Have the timers look at a dialogue at `at`; earlier looks at it become stale."""
        # Only what this node waits for can time out here: the peer's answers to this party's notices.
        if at is not None and key[0] == self.party:
            dialogue.wake = at
            heapq.heappush(self._due, (at, key, dialogue.channel_id))

    def overdue(self, now: datetime) -> list[tuple[NoticeEntry, Dialogue]]:
        """The dialogues whose answer from the peer was due by `now` and is still awaited."""
        found: list[tuple[NoticeEntry, Dialogue]] = []
        while self._due and self._due[0][0] <= now:
            at, key, channel_id = heapq.heappop(self._due)
            entry = self.notices.get(key)
            dialogue = entry.dialogues.get(channel_id) if entry is not None else None
            # A STANDBY, an acknowledgement, a suspension or a newer version set another time; this one is stale.
            if entry is None or dialogue is None or dialogue.wake != at or dialogue.timeout_sent:
                continue
            dialogue.wake = None
            if entry.notice.state != NoticeState.ACTIVE or dialogue.state not in WAITING:
                continue
            due = self.due(self.channels[channel_id], dialogue)
            if due is None:
                self._wait(key, dialogue, now + HELD)  # held by a suspension not yet resumed (DCF-TMR-008)
                continue
            dialogue.due_time = due
            if due > now:
                self._wait(key, dialogue, due)  # suspended time moved it later
            else:
                found.append((entry, dialogue))
        return found

    def due(self, channel: ChannelState, dialogue: Dialogue) -> datetime | None:
        """When the answer falls due: the response time counted from the running timer's start, the time the
        channel was suspended left out (DCF-TMR-008); None while a suspension not yet resumed holds it."""
        wait = channel.response_time(dialogue.kind)
        if wait is None or dialogue.restarted is None:
            return dialogue.due_time
        return _run_out(channel.suspensions, dialogue.restarted, wait)

    def waited(self, channel: ChannelState, dialogue: Dialogue, now: datetime) -> timedelta:
        """How long the answer has been awaited at `now`: from the message's first acknowledgement, STANDBY
        restarts included and suspended time excluded (DCF-TMR-016)."""
        start = dialogue.started or now
        return max(now - start - _suspended(channel.suspensions, start, now), timedelta(0))

    def start_timer(self, channel: ChannelState, acknowledgement: LogicalAcknowledgement) -> None:
        """The peer acknowledged one of this node's notice versions: its answer is due at the acknowledgement's
        stored_time plus the response time, the due time both parties use (DCF-TMR-001)."""
        entry = self.notices.get((self.party, acknowledgement.notice_id))
        dialogue = entry.dialogues.get(channel.channel_id) if entry is not None else None
        if entry is None or dialogue is None or dialogue.message_id != acknowledgement.message_id:
            return
        if dialogue.state != DialogueState.PENDING or dialogue.timeout_sent:
            return  # answered, or timed out, before the acknowledgement was recorded
        wait = channel.response_time(dialogue.kind)
        dialogue.started = dialogue.restarted = acknowledgement.stored_time
        dialogue.due_time = None if wait is None else acknowledgement.stored_time + wait
        self._wait(entry.key, dialogue, dialogue.due_time)

    def hold(self, key: NoticeKey, channel_id: str, until: datetime) -> None:
        """Look at a dialogue again only at `until` (the faulty variant that never sends a timeout)."""
        entry = self.notices.get(key)
        dialogue = entry.dialogues.get(channel_id) if entry is not None else None
        if dialogue is not None:
            self._wait(key, dialogue, until)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What a stored message was, for the timeouts that name it (DCF-TMR-011)."""

    sender: str
    body: str
    kind: MessageKind | None  # the kind of message awaiting an answer, None when it awaits none
    notice_id: str
    version: int


# The bodies that await an answer, by the MessageKind a timeout names them with (DCF-RSP-001).
_AWAITING = {
    "notice": MessageKind.NOTICE,
    "amendment": MessageKind.AMENDMENT,
    "conference_proposal": MessageKind.CONFERENCE_PROPOSAL,
}


def _run_out(windows: list[SuspensionWindow], start: datetime, wait: timedelta) -> datetime | None:
    """When `wait` of time outside every suspension has passed since `start`; None if a suspension not yet
    resumed stops it first."""
    moment, left = start, wait
    for window in sorted(windows, key=lambda w: w.since):
        if window.until is not None and window.until <= moment:
            continue
        if window.since >= moment + left:
            break
        left -= max(window.since - moment, timedelta(0))
        if window.until is None:
            return None
        moment = max(moment, window.until)
    return moment + left


def _suspended(windows: list[SuspensionWindow], start: datetime, end: datetime) -> timedelta:
    """How much of the time from `start` to `end` the channel was suspended."""
    total = timedelta(0)
    for window in windows:
        overlap = min(end, window.until or end) - max(start, window.since)
        total += max(overlap, timedelta(0))
    return total


def _check_mode(entry: NoticeEntry, envelope: Envelope) -> None:
    """A message about a notice carries the mode of the message that filed it (DCF-ENV-009), checked as soon as
    the notice is found."""
    if envelope.mode != entry.mode:
        raise Refusal.invalid(
            [("mode", f"must be {entry.mode.name}, the mode of notice {entry.notice.notice_id}'s filing")]
        )


def subject_of(channel: ChannelState, envelope: Envelope) -> Subject:
    """What a message changes in the ledger."""
    if envelope.notice is not None:
        return ("notice", envelope.notice.owner, envelope.notice.notice_id)
    if envelope.amendment is not None:
        return ("notice", envelope.amendment.notice.owner, envelope.amendment.notice.notice_id)
    if envelope.cancellation is not None:
        return ("notice", envelope.sender, envelope.cancellation.notice_id)
    if envelope.response is not None:  # a response answers the recipient's notice
        return ("notice", envelope.recipient, envelope.response.notice_id)
    if envelope.timeout is not None:  # sent by the party that waited: the owner or the proposer
        if envelope.timeout.notice_id:
            return ("notice", envelope.sender, envelope.timeout.notice_id)
        return ("conference", channel.channel_id, envelope.timeout.conference_id)
    about = (
        envelope.conference_proposal
        or envelope.conference_answer
        or envelope.conference_record
        or envelope.conference_cancellation
    )
    if about is not None:
        return ("conference", channel.channel_id, about.conference_id)
    if envelope.incident_report is not None:
        return ("incident", channel.channel_id, envelope.incident_report.incident_id)
    return ("channel", channel.channel_id, "")


def _carries(applied: Applied, sent: tuple[str, str], party: str) -> bool:
    """Whether `applied` is this party's message `sent` (channel_id, message_id)."""
    return (applied.channel.channel_id, applied.envelope.message_id) == sent and applied.envelope.sender == party


def _copy_entry(entry: NoticeEntry) -> NoticeEntry:
    return replace(entry, dialogues={channel_id: replace(d) for channel_id, d in entry.dialogues.items()})


def _from_record(entry: NoticeEntry, channel: ChannelState, envelope: Envelope) -> bool:
    """Whether `entry` is the sender's notice held only from its record at a reconciliation (DCF-CHK-005): the
    envelope that filed it is then the evidence the record stood for, not a second notice with its id."""
    dialogue = entry.dialogues.get(channel.channel_id)
    return entry.notice.owner == envelope.sender and dialogue is not None and not dialogue.message_id


def _check_not_over(notice: FlightNotice, now: datetime, path: str) -> None:
    if notice.last_end <= now:
        # DCF-NTC-013 names the time_end of the latest-ending volume.
        latest = max(range(len(notice.volumes)), key=lambda index: notice.volumes[index].time_end)
        raise Refusal.invalid([(f"{path}.volumes[{latest}].time_end", "every volume has already ended")])
