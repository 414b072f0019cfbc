"""The October 2015 scenario, played through the operator APIs of the two ministry nodes.

Each step does what one side's operators would do (file notices, answer, amend, report, propose a
conference...) through OperatorService, then waits on the nodes' event streams for what the protocol
must bring back: the peer's logical acknowledgement (the message stored, at a journal position), its
operational response, its answer to a conference revision. The Russian node answers by itself
(automatic policy); the US node answers STANDBY by itself (operator policy) and this script is its
operator, who decides ACCEPT, UNABLE or ROGER.
"""

from __future__ import annotations

import asyncio
import secrets
import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.bridge.conference import conference_proposal_data
from deconflict.bridge.notice import flight_notice_data
from deconflict.cli.connection import CLI_RETRY
from deconflict.cli.describe import when
from deconflict.client import OperatorClient
from deconflict.conflict import Conflict, ConflictIndex
from deconflict.demo import scenario
from deconflict.demo.nodes import local_nodes
from deconflict.demo.observer import Observer, StepFailedError, received
from deconflict.demo.scenario import CHANNEL, RU, US, Calendar, Sortie
from deconflict.demo.timeline import TimelineRow, build, table
from deconflict.models.channel import Agreement, Liveness
from deconflict.models.conference import (
    AgendaItemKind,
    ConferenceAnswer,
    ConferenceProposal,
    DocumentRef,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.models.envelope import Mode
from deconflict.models.notice import FlightNotice
from deconflict.models.response import LogicalAcknowledgement, OperationalResponse, ResponseKind, UnableReason
from deconflict.node.config import decode_public_keys
from deconflict.operator.v1 import operator_service_pb2 as pb
from deconflict.security.credentials import ClientTls

DEFAULT_TIMEOUT: Final = 10.0
_POLL: Final = 0.05  # seconds between two GetStatus calls while waiting for the channel's state


@dataclass
class Tally:
    """What the run counted, for the summary."""

    notices: Counter[str] = field(default_factory=Counter)
    amended: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    late: int = 0
    incidents: list[str] = field(default_factory=list)
    conference: str = ""


@dataclass(frozen=True, slots=True)
class DemoResult:
    timeline: list[TimelineRow]
    summary: list[tuple[str, str]]


class Demo:
    """One run of the scenario against the operator APIs of the Russian and US nodes."""

    def __init__(
        self,
        ru: OperatorClient,
        us: OperatorClient,
        folder: Path,
        out: Console,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        now: datetime | None = None,
    ) -> None:
        self.clients = {RU: ru, US: us}
        self.folder = folder
        self.out = out
        self.timeout = timeout
        self.calendar = Calendar.from_now(now or datetime.now(UTC))
        # Ids carry a tag of this run, so the scenario can be played again against nodes that keep their journals.
        self.tag = secrets.token_hex(2)
        self.agreement = Agreement.model_validate(decode_public_keys(tomllib.loads(scenario.AGREEMENT_TOML)))
        self.observer = Observer()
        self.tally = Tally()
        self.extra: list[TimelineRow] = []
        # The notices as the US node stored them (its own, sent; Russia's, received), for its operator's assessment.
        self.us_known: dict[str, FlightNotice] = {}
        self._sent: dict[str, pb.Sent] = {}  # by notice id: the message that filed it
        self._step = 0

    # -- running

    async def run(self) -> DemoResult:
        """Every step in order; StepFailedError when an expected outcome does not come."""
        self._intro()
        statuses = {party: await client.get_status() for party, client in self.clients.items()}
        for party, status in statuses.items():
            if status.party != party:
                raise StepFailedError(f"the node given for {party} is {status.party!r}: give the ru-mod node first")
        try:
            for party, status in statuses.items():
                # From the journal's present end: what this run brings about, not what earlier runs left.
                self.observer.follow(party, self.clients[party], status.journal_size)
            await self._hello()
            await self._coalition_notices()
            russian = await self._russian_notices()
            moved = await self._assess_and_answer_conflicts(russian)
            await self._amend(moved)
            await self._roger_the_rest(russian, moved)
            incident_id = await self._incident()
            conference = await self._propose_conference(incident_id)
            counter = await self._counter(conference)
            await self._accept(counter)
            await self._all_delivered()
        finally:
            await self.observer.close()
        return self.result()

    def result(self) -> DemoResult:
        """The timeline and summary of what was seen so far (all of it after `run`)."""
        return DemoResult(timeline=build(self.observer.seen, self.extra), summary=self._summary())

    def _intro(self) -> None:
        anchor = self.calendar.at(scenario.ANCHOR)
        days = self.calendar.shift.days
        self.out.print(
            "[bold]October 2015 over Syria, replayed on a deconfliction channel[/]: the Russian Ministry of "
            f"Defence ({RU}, its node answers automatically) and the US Department of Defense ({US}, its node "
            "answers STANDBY and its operator, this demo, decides), under the agreement of the 20 Oct 2015 "
            "memorandum on flight safety."
        )
        self.out.print(
            f"The 2015 calendar is shifted to today: 1 Oct 2015 06:00Z is replayed as {anchor:%d %b %Y %H:%M}Z "
            f"({days} days later), so every sortie lies ahead of the one-hour lead time and no notice is late."
        )

    def _begin(self, title: str) -> None:
        self._step += 1
        self.out.print(f"[bold]{self._step:>2}. {title}[/]")

    def _done(self, text: str) -> None:
        self.out.print(f"    [green]ok[/] {text}")

    async def _until(self, what: str, check: Callable[[], Awaitable[bool]]) -> None:
        """Poll the nodes' status until `check` holds: for channel state, which has no event of its own."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while not await check():
            if loop.time() > deadline:
                raise StepFailedError(f"{what}: not so within {self.timeout:g} s")
            await asyncio.sleep(_POLL)

    async def _status(self, party: str) -> pb.ChannelStatus:
        status = await self.clients[party].get_status()
        for channel in status.channels:
            if channel.channel_id == CHANNEL:
                return channel
        raise StepFailedError(f"the {party} node has no channel {CHANNEL}")

    # -- the steps

    async def _hello(self) -> None:
        self._begin("Hello and agreement check: both nodes greeted with the same agreement hash, heartbeats")
        expected = agreement_hash(agreement_bytes(self.agreement))

        async def greeted_and_alive() -> bool:
            ru, us = await self._status(RU), await self._status(US)
            alive = int(Liveness.NORMAL) == ru.liveness == us.liveness
            return ru.greeted and us.greeted and alive

        await self._until(f"{RU} and {US} greeted each other and hear each other's heartbeats", greeted_and_alive)
        for party in (RU, US):
            held = (await self._status(party)).agreement_hash
            if held != expected:
                raise StepFailedError(
                    f"{party} holds agreement sha256 {held.hex()[:16]}..., not the scenario's "
                    f"{expected.hex()[:16]}...: write the configurations with `deconflict demo --write-configs DIR`"
                )
        text = f"agreement v{self.agreement.version} sha256 {expected.hex()[:16]}... on both sides; liveness NORMAL"
        self.extra.append(
            TimelineRow(datetime.now(UTC), f"{RU}, {US}", "each other", "Hello, heartbeats", CHANNEL, text)
        )
        self._done(text)

    async def _file(self, party: str, sortie: Sortie) -> FlightNotice:
        notice = sortie.notice(party, f"{party}/{self.tag}/{sortie.key}", self.calendar)
        filed = await self.clients[party].file_notice(notice, mode=Mode.OPERATIONAL, channel_ids=[CHANNEL])
        stored = FlightNotice.model_validate(flight_notice_data(filed.notice))
        self._sent[stored.notice_id] = filed.sent[0]
        self.tally.notices[party] += 1
        return stored

    async def _delivered(self, party: str, sent: pb.Sent, what: str) -> LogicalAcknowledgement:
        ack = await self.observer.acknowledgement(party, sent.message_id, what, self.timeout)
        self.tally.late += int(ack.late)
        return ack

    async def _coalition_notices(self) -> None:
        self._begin("Coalition notices: the US files its morning sorties; the Russian node answers by itself")
        filed = [await self._file(US, sortie) for sortie in scenario.COALITION_SORTIES]
        answers: Counter[str] = Counter()
        for notice in filed:
            self.us_known[notice.notice_id] = notice
            await self._delivered(US, self._sent[notice.notice_id], notice.notice_id)
            response = await self.observer.response(US, notice.notice_id, notice.version, self.timeout)
            answers[response.kind.name] += 1
        self._done(f"{len(filed)} notices acknowledged by {RU}; its answers: {_counted(answers)}")

    async def _russian_notices(self) -> dict[str, tuple[Sortie, FlightNotice]]:
        self._begin(f"Russian notices: {len(scenario.RUSSIAN_SORTIES)} sorties over Latakia, Idlib, Hama and Homs")
        filed = {}
        for sortie in scenario.RUSSIAN_SORTIES:
            notice = await self._file(RU, sortie)
            filed[notice.notice_id] = (sortie, notice)
        for notice_id, (_, notice) in filed.items():
            await self._delivered(RU, self._sent[notice_id], notice_id)
            response = await self.observer.response(RU, notice_id, notice.version, self.timeout)
            if response.kind != ResponseKind.STANDBY:
                raise StepFailedError(
                    f"{US} answered {response.kind.name} to {notice_id} where STANDBY was expected: its node must run "
                    'with policy = "operator", since its operator (this demo) answers'
                )
            self.us_known[notice_id] = await self._as_us_stored(RU, self._sent[notice_id])
        late = "none late" if not self.tally.late else f"{self.tally.late} marked late"
        self._done(f"{len(filed)} notices acknowledged by {US} ({late}); {US} answered STANDBY to each")
        return filed

    async def _as_us_stored(self, sender: str, sent: pb.Sent) -> FlightNotice:
        """The notice as the US node stored it: the message it received, opened."""
        seen = await self.observer.wait_for(
            f"{US} storing {sent.message_id}", received(US, sent.message_id), self.timeout
        )
        envelope = seen.envelope
        assert envelope is not None
        notice = envelope.filed_notice
        if notice is None:
            raise StepFailedError(f"{sent.message_id} from {sender} carries no notice")
        return notice

    def _assess(self, notice: FlightNotice) -> list[Conflict]:
        """The US operator's conflict check of one Russian notice.

        The operator API offers no assessment of its own, so the operator runs the node's conflict engine
        (deconflict.conflict.ConflictIndex) over the notices the US node stored during this run, as its event
        stream reported them, with the separation minima and priority rules of the agreement both nodes hold
        (its hash was checked at Hello): the same check the node runs for its automatic policy.
        """
        index = ConflictIndex()
        for known in self.us_known.values():
            if known.notice_id != notice.notice_id:
                index.put(known, channel_id=CHANNEL)
        return index.conflicts(notice, self.agreement.separation, self.agreement.priority_rules)

    async def _respond(self, notice: FlightNotice, response: OperationalResponse) -> LogicalAcknowledgement:
        answer = await self.clients[US].respond(CHANNEL, response)
        return await self._delivered(US, answer.sent, f"{response.kind.name} to {notice.notice_id}")

    async def _assess_and_answer_conflicts(self, russian: dict[str, tuple[Sortie, FlightNotice]]) -> str:
        self._begin(f"The {US} operator checks each Russian notice against the coalition's: UNABLE where they conflict")
        conflicted = {notice_id: found for notice_id, (_, n) in russian.items() if (found := self._assess(n))}
        if len(conflicted) != 1:
            named = ", ".join(conflicted) or "none"
            raise StepFailedError(
                f"the scenario has one Russian notice in conflict with the coalition's; found: {named}"
            )
        notice_id, found = next(iter(conflicted.items()))
        notice = russian[notice_id][1]
        others = ", ".join(sorted({c.notice_id for c in found}))
        remarks = f"conflicts with {others} ({russian[notice_id][0].area} area): please move it"
        response = OperationalResponse(
            notice_id=notice_id,
            notice_version=notice.version,
            kind=ResponseKind.UNABLE,
            reasons=[UnableReason.CONFLICT],
            conflicts=[conflict.to_model() for conflict in found],
            remarks=remarks,
        )
        ack = await self._respond(notice, response)
        nearest = min(found, key=lambda c: c.lateral_distance_m)
        self.tally.conflicts.append(
            f"{notice_id} v{notice.version} with {nearest.notice_id} v{nearest.version}: "
            f"{nearest.lateral_distance_m / 1000:.1f} km apart laterally, "
            f"{nearest.vertical_distance_m:.0f} m vertically"
        )
        self._done(f"UNABLE (CONFLICT with {others}) to {notice_id}, stored by {RU} at position {ack.journal_position}")
        return notice_id

    async def _amend(self, notice_id: str) -> None:
        sortie = next(s for s in scenario.RUSSIAN_SORTIES if notice_id.endswith(f"/{s.key}"))
        self._begin(f"Russia moves {notice_id} two hours later (an amendment); the {US} operator accepts it")
        moved = sortie.notice(RU, notice_id, self.calendar, delay=scenario.MOVE)
        amended = await self.clients[RU].amend_notice(moved, replaces_version=1)
        version = amended.notice.version
        await self._delivered(RU, amended.sent[0], f"the amendment of {notice_id}")
        standby = await self.observer.response(RU, notice_id, version, self.timeout)
        if standby.kind != ResponseKind.STANDBY:
            raise StepFailedError(f"{US} answered {standby.kind.name} to {notice_id} v{version}, not STANDBY")
        stored = await self._as_us_stored(RU, amended.sent[0])
        self.us_known[notice_id] = stored
        if self._assess(stored):
            raise StepFailedError(f"{notice_id} v{version} still conflicts after the move")
        accept = OperationalResponse(notice_id=notice_id, notice_version=version, kind=ResponseKind.ACCEPT)
        ack = await self._respond(stored, accept)
        self.tally.amended.append(notice_id)
        self._done(
            f"v{version} clear of every coalition notice: ACCEPT, stored by {RU} at position {ack.journal_position}"
        )

    async def _roger_the_rest(self, russian: dict[str, tuple[Sortie, FlightNotice]], moved: str) -> None:
        self._begin(f"The {US} operator answers the other Russian notices ROGER: noted, no conflict")
        rest = [notice for notice_id, (_, notice) in russian.items() if notice_id != moved]
        for notice in rest:
            roger = OperationalResponse(
                notice_id=notice.notice_id, notice_version=notice.version, kind=ResponseKind.ROGER
            )
            await self._respond(notice, roger)
        self._done(f"{len(rest)} ROGER, each acknowledged by {RU}")

    async def _incident(self) -> str:
        self._begin("Incident report: the US reports an unsafe encounter of 30 Sep 2015 over Idlib province")
        incident_id = f"{US}/{self.tag}/incident-1"
        report = scenario.incident(incident_id, self.calendar)
        sent = await self.clients[US].report_incident(CHANNEL, report)
        ack = await self._delivered(US, sent.sent, incident_id)
        self.tally.incidents.append(incident_id)
        self._done(f"{incident_id}, stored by {RU} at position {ack.journal_position}; it goes on the next agenda")
        return incident_id

    def _write_documents(self) -> dict[str, DocumentRef]:
        """The two drafts as short text files; the agenda carries the SHA-256 of the bytes written."""
        folder = self.folder / "documents"
        folder.mkdir(parents=True, exist_ok=True)
        refs = {}
        for document in (scenario.US_DRAFT, scenario.RU_PROPOSALS):
            path = folder / document.file_name
            path.write_bytes(document.data)
            refs[document.document_id] = document.ref(path.read_bytes())
        return refs

    async def _propose_conference(self, incident_id: str) -> ConferenceProposal:
        self._begin("The US proposes the second video conference: both drafts and the incident on the agenda")
        conference_id = f"vtc-2/{self.tag}"
        proposal = scenario.us_proposal(conference_id, self.calendar, self._write_documents())
        answer = await self.clients[US].propose_conference(CHANNEL, proposal)
        sent = ConferenceProposal.model_validate(conference_proposal_data(answer.proposal))
        reviewed = [item for item in sent.agenda if item.kind == AgendaItemKind.INCIDENT_REVIEW]
        if not any(incident_id in item.incident_ids for item in reviewed):
            raise StepFailedError(f"the {US} node did not put {incident_id} on the agenda of {conference_id}")
        ack = await self._delivered(US, answer.sent, conference_id)
        slots = ", ".join(when(slot.start_time) for slot in sent.candidate_slots)
        self._done(
            f"{conference_id} revision 1, slots {slots}, {len(sent.agenda)} agenda items ({len(reviewed)} incident "
            f"review added by the node); stored by {RU} at position {ack.journal_position}"
        )
        return sent

    async def _counter(self, proposal: ConferenceProposal) -> ConferenceProposal:
        self._begin("Russia counters with another slot")
        counter = scenario.ru_counter(proposal, self.calendar)
        answer = ConferenceAnswer(conference_id=proposal.conference_id, revision=proposal.revision, counter=counter)
        sent = await self.clients[RU].answer_conference(CHANNEL, answer)
        ack = await self._delivered(RU, sent.sent, f"the counter to {proposal.conference_id}")
        await self.observer.wait_for(f"{US} storing the counter", received(US, sent.sent.message_id), self.timeout)
        slot = when(counter.candidate_slots[0].start_time)
        self._done(f"revision {counter.revision}, slot {slot}; stored by {US} at position {ack.journal_position}")
        return counter

    async def _accept(self, counter: ConferenceProposal) -> None:
        self._begin("The US accepts Russia's slot")
        slot = counter.candidate_slots[0]
        answer = ConferenceAnswer(
            conference_id=counter.conference_id,
            revision=counter.revision,
            accept=SlotAcceptance(slot=TimeSlot(start_time=slot.start_time)),
        )
        sent = await self.clients[US].answer_conference(CHANNEL, answer)
        ack = await self._delivered(US, sent.sent, f"the acceptance of {counter.conference_id}")
        self.tally.conference = (
            f"{counter.conference_id}: proposed by {US}, countered by {RU}, accepted by {US}: "
            f"{slot.start_time:%d %b %Y %H:%M}Z"
        )
        self._done(f"scheduled for {when(slot.start_time)}; stored by {RU} at position {ack.journal_position}")

    async def _all_delivered(self) -> None:
        self._begin("Everything delivered: nothing unacknowledged, sequences agree on both sides")

        async def settled() -> bool:
            ru, us = await self._status(RU), await self._status(US)
            quiet = ru.unacknowledged == 0 and us.unacknowledged == 0
            agree = (
                ru.last_sequence_sent == us.last_sequence_received
                and us.last_sequence_sent == ru.last_sequence_received
            )
            return quiet and agree

        await self._until("every message acknowledged", settled)
        for party in (RU, US):
            for seen in self.observer.messages(party):
                if seen.outgoing and seen.envelope is not None:
                    await self.observer.acknowledgement(
                        party, seen.envelope.message_id, seen.envelope.message_id, self.timeout
                    )
        ru, us = await self._status(RU), await self._status(US)
        self._done(
            f"{RU} sent up to sequence {ru.last_sequence_sent}, {US} up to {us.last_sequence_sent}; 0 unacknowledged"
        )

    # -- the summary

    def _summary(self) -> list[tuple[str, str]]:
        sent = [s for s in self.observer.seen if s.outgoing and s.envelope is not None]
        acks = [s for s in self.observer.seen if s.acknowledgement is not None]
        responses: Counter[str] = Counter()
        for seen in sent:
            assert seen.envelope is not None
            if seen.envelope.response is not None:
                responses[f"{seen.envelope.response.kind.name} by {seen.envelope.sender}"] += 1
        notices = ", ".join(f"{party} {count}" for party, count in self.tally.notices.items())
        amended = f"; amended: {', '.join(self.tally.amended)}" if self.tally.amended else ""
        return [
            ("notices filed", notices + amended),
            ("responses", _counted(responses)),
            ("conflicts found", f"{len(self.tally.conflicts)}: " + "; ".join(self.tally.conflicts)),
            ("late notices", str(self.tally.late)),
            ("incident reports", ", ".join(self.tally.incidents) + " (on the conference agenda)"),
            ("conference", self.tally.conference),
            ("messages", f"{len(sent)} sent, {len(acks)} acknowledged: all delivered"),
            ("calendar", f"1 Oct 2015 06:00Z replayed as {self.calendar.at(scenario.ANCHOR):%d %b %Y %H:%M}Z"),
        ]


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{name} x{count}" for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def render(result: DemoResult, out: Console, title: str = "Timeline") -> None:
    out.print(table(result.timeline, title))
    summary = Table(title="Summary", title_justify="left", show_header=False)
    summary.add_column("what", style="bold")
    summary.add_column("count")
    for name, value in result.summary:
        summary.add_row(name, value)
    out.print(summary)


async def play(
    ru_address: str,
    us_address: str,
    folder: Path,
    out: Console,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    operators: dict[str, ClientTls] | None = None,
) -> DemoResult:
    """The scenario against two running nodes, as each party's operator (`operators`: their credentials; None:
    plaintext nodes); on a failed step the timeline so far is printed, then it raises."""
    tls = operators or {}
    async with (
        OperatorClient(ru_address, tls=tls.get(RU), retry=CLI_RETRY) as ru,
        OperatorClient(us_address, tls=tls.get(US), retry=CLI_RETRY) as us,
    ):
        demo = Demo(ru, us, folder, out, timeout=timeout)
        try:
            result = await demo.run()
        except StepFailedError:
            render(demo.result(), out, "Timeline up to the failed step")
            raise
    render(result, out)
    return result


async def play_local(folder: Path, out: Console, *, timeout: float = DEFAULT_TIMEOUT) -> DemoResult:
    """Both nodes started on loopback with their files in `folder`, then the scenario."""
    async with local_nodes(folder) as nodes:
        out.print(
            f"Two ministry nodes on loopback with mutual TLS, files and certificates in {folder}: {RU} at "
            f"{nodes.ru_address} (automatic policy), {US} at {nodes.us_address} (operator policy)."
        )
        return await play(nodes.ru_address, nodes.us_address, folder, out, timeout=timeout, operators=nodes.operators)
