"""Video conferences between two real nodes, driven through the operator API (docs/spec/07-conference.md).

ru-mod and us-dod propose, counter, accept, record and cancel; each node's operator API refuses what the
conference state machine forbids, with the reason the specification gives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.client import OperatorClient, RefusedError
from deconflict.models.conference import (
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceCancellation,
    ConferenceDecline,
    ConferenceProposal,
    ConferenceRecord,
    ConferenceState,
    Decision,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from tests.nodes import CHANNEL, RU, US, Pair, alerts, incident, operator_events, refusal_of, two_nodes
from tests.test_node import until

# Candidate slots a week ahead, on the hour.
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)


def slot(hours: int) -> TimeSlot:
    return TimeSlot(start_time=BASE + timedelta(hours=hours))


def proposal(conference_id: str, *, revision: int = 1, hours: tuple[int, ...] = (1, 2)) -> ConferenceProposal:
    """A flight-safety video conference between the two ministries, on technical questions only."""
    return ConferenceProposal(
        conference_id=conference_id,
        revision=revision,
        title="Flight safety over Syria: technical questions concerning our pilots",
        candidate_slots=[slot(h) for h in hours],
        duration=timedelta(hours=1),
        participants=[
            Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
            Participant(party=US, role=ParticipantRole.HEAD_OF_DELEGATION),
        ],
        classification=Classification.UNCLASSIFIED,
        agenda=[
            AgendaItem(
                item_id="frequencies",
                kind=AgendaItemKind.PROCEDURE_CHANGE,
                title="Communication frequencies",
                presenter=Participant(party=RU, role=ParticipantRole.HEAD_OF_DELEGATION),
                allotted=timedelta(minutes=20),
            )
        ],
    )


def state(server: NodeServer, conference_id: str) -> ConferenceState | None:
    status = server.node.ledger.conferences.status(CHANNEL, conference_id)
    return None if status is None else status.state


async def settled(pair: Pair, conference_id: str, expected: ConferenceState) -> None:
    """Both nodes see the conference in `expected` (the sender at once, the peer once delivered)."""
    await until(lambda: state(pair.ru, conference_id) == expected and state(pair.us, conference_id) == expected)


async def operate(address: str, action: Callable[[OperatorClient], Awaitable[object]]) -> object:
    async with OperatorClient(address) as operator:
        return await action(operator)


@pytest.mark.asyncio
async def test_propose_counter_accept_and_record_dcf_cnf_003_dcf_cnf_019_dcf_cnf_017_dcf_cnf_022(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path) as pair:
        await operate(
            pair.ru_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-1"), without_incidents=True)
        )
        await settled(pair, "vc-1", ConferenceState.PROPOSED)
        status = pair.us.node.ledger.conferences.status(CHANNEL, "vc-1")
        assert status is not None
        assert (status.proposer, status.proposal.revision) == (RU, 1)
        # us-dod counters with other slots: revision 2, and it becomes the proposer.
        counter = proposal("vc-1", revision=2, hours=(3, 4))
        answer = ConferenceAnswer(conference_id="vc-1", revision=1, counter=counter)
        await operate(pair.us_address, lambda o: o.answer_conference(CHANNEL, answer))
        await settled(pair, "vc-1", ConferenceState.COUNTERED)
        status = pair.ru.node.ledger.conferences.status(CHANNEL, "vc-1")
        assert status is not None
        assert (status.proposer, status.proposal.revision) == (US, 2)
        # ru-mod accepts one of the counter's slots.
        accept = ConferenceAnswer(conference_id="vc-1", revision=2, accept=SlotAcceptance(slot=slot(4)))
        await operate(pair.ru_address, lambda o: o.answer_conference(CHANNEL, accept))
        await settled(pair, "vc-1", ConferenceState.SCHEDULED)
        for server in (pair.ru, pair.us):
            status = server.node.ledger.conferences.status(CHANNEL, "vc-1")
            assert status is not None
            assert status.scheduled_slot == slot(4)
        # Held; us-dod files the record.
        record = ConferenceRecord(
            conference_id="vc-1",
            start_time=slot(4).start_time,
            end_time=slot(4).start_time + timedelta(minutes=55),
            attendees=counter.participants,
            decisions=[Decision(decision_id="d-1", item_id="frequencies", text="Guard frequencies confirmed.")],
        )
        await operate(pair.us_address, lambda o: o.record_conference(CHANNEL, record))
        await settled(pair, "vc-1", ConferenceState.RECORDED)
        status = pair.ru.node.ledger.conferences.status(CHANNEL, "vc-1")
        assert status is not None
        assert status.record == record


@pytest.mark.asyncio
async def test_either_party_cancels_an_open_or_scheduled_conference_dcf_cnf_038_dcf_cnf_039(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        for conference_id in ("vc-open", "vc-scheduled"):
            await operate(pair.ru_address, lambda o, c=conference_id: o.propose_conference(CHANNEL, proposal(c)))
            await settled(pair, conference_id, ConferenceState.PROPOSED)
        accept = ConferenceAnswer(conference_id="vc-scheduled", revision=1, accept=SlotAcceptance(slot=slot(2)))
        await operate(pair.us_address, lambda o: o.answer_conference(CHANNEL, accept))
        await settled(pair, "vc-scheduled", ConferenceState.SCHEDULED)
        # The peer calls off the open one, the proposer the scheduled one.
        cancel = ConferenceCancellation(conference_id="vc-open", reason="the agenda is settled by letter")
        await operate(pair.us_address, lambda o: o.cancel_conference(CHANNEL, cancel))
        cancel = ConferenceCancellation(conference_id="vc-scheduled", reason="the line is unavailable that day")
        await operate(pair.ru_address, lambda o: o.cancel_conference(CHANNEL, cancel))
        await settled(pair, "vc-open", ConferenceState.CANCELLED)
        await settled(pair, "vc-scheduled", ConferenceState.CANCELLED)
        for server in (pair.ru, pair.us):
            opened = server.node.ledger.conferences.status(CHANNEL, "vc-open")
            scheduled = server.node.ledger.conferences.status(CHANNEL, "vc-scheduled")
            assert opened is not None
            assert scheduled is not None
            assert opened.scheduled_slot is None
            assert scheduled.scheduled_slot == slot(2)  # the slot is kept (DCF-CNF-039)
            assert scheduled.record is None
            conference = server.node.ledger.conferences.conference(CHANNEL, "vc-open")
            assert conference is not None
            assert conference.due_time is None  # no answer is due any more


@pytest.mark.asyncio
async def test_a_decline_ends_the_conference_dcf_cnf_020(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await operate(pair.ru_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-1")))
        await settled(pair, "vc-1", ConferenceState.PROPOSED)
        decline = ConferenceAnswer(
            conference_id="vc-1", revision=1, decline=ConferenceDecline(reason="no zones of cooperation")
        )
        await operate(pair.us_address, lambda o: o.answer_conference(CHANNEL, decline))
        await settled(pair, "vc-1", ConferenceState.DECLINED)


@pytest.mark.asyncio
async def test_incidents_since_the_last_conference_go_on_the_agenda_dcf_cnf_030(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await operate(pair.us_address, lambda o: o.report_incident(CHANNEL, incident("inc-1")))
        await until(lambda: pair.ru.node.ledger.incidents.incident(CHANNEL, "inc-1") is not None)
        proposed = await operate(pair.ru_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-1")))
        reviews = [item for item in proposed.proposal.agenda if item.kind == AgendaItemKind.INCIDENT_REVIEW]  # type: ignore[attr-defined]
        assert [list(item.incident_ids) for item in reviews] == [["inc-1"]]
        assert reviews[0].presenter.party == US  # the reporting party presents it
        await settled(pair, "vc-1", ConferenceState.PROPOSED)
        accept = ConferenceAnswer(conference_id="vc-1", revision=1, accept=SlotAcceptance(slot=slot(1)))
        await operate(pair.us_address, lambda o: o.answer_conference(CHANNEL, accept))
        await settled(pair, "vc-1", ConferenceState.SCHEDULED)
        record = ConferenceRecord(
            conference_id="vc-1", start_time=slot(1).start_time, end_time=slot(1).start_time + timedelta(hours=1)
        )
        await operate(pair.ru_address, lambda o: o.record_conference(CHANNEL, record))
        await settled(pair, "vc-1", ConferenceState.RECORDED)
        # After the record, only what was reported since is on the next agenda.
        await operate(pair.ru_address, lambda o: o.report_incident(CHANNEL, incident("inc-2", party=RU)))
        await until(lambda: pair.us.node.ledger.incidents.incident(CHANNEL, "inc-2") is not None)
        proposed = await operate(pair.us_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-2")))
        reviewed = [
            list(item.incident_ids)
            for item in proposed.proposal.agenda  # type: ignore[attr-defined]
            if item.kind == AgendaItemKind.INCIDENT_REVIEW
        ]
        assert reviewed == [["inc-2"]]
        # The operator may leave the default incident items out (DCF-CNF-031).
        proposed = await operate(
            pair.us_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-3"), without_incidents=True)
        )
        assert [item.item_id for item in proposed.proposal.agenda] == ["frequencies"]  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_forbidden_transitions_are_refused_with_their_reasons_dcf_cnf_027(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await operate(pair.ru_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-1")))
        await settled(pair, "vc-1", ConferenceState.PROPOSED)

        async def refused(address: str, action: Callable[[OperatorClient], Awaitable[object]]) -> RefusedError:
            async with OperatorClient(address) as operator:
                return await refusal_of(action(operator))

        def accept(revision: int, hours: int, conference_id: str = "vc-1") -> ConferenceAnswer:
            return ConferenceAnswer(
                conference_id=conference_id, revision=revision, accept=SlotAcceptance(slot=slot(hours))
            )

        record = ConferenceRecord(
            conference_id="vc-1", start_time=slot(1).start_time, end_time=slot(1).start_time + timedelta(hours=1)
        )
        expectations: list[tuple[str, Callable[[OperatorClient], Awaitable[object]], grpc.StatusCode, str]] = [
            # A party never answers its own revision (DCF-CNF-016).
            (
                pair.ru_address,
                lambda o: o.answer_conference(CHANNEL, accept(1, 1)),
                grpc.StatusCode.PERMISSION_DENIED,
                "OWN_REVISION",
            ),
            # Only a candidate slot is accepted (DCF-CNF-017).
            (
                pair.us_address,
                lambda o: o.answer_conference(CHANNEL, accept(1, 9)),
                grpc.StatusCode.FAILED_PRECONDITION,
                "SLOT_NOT_CANDIDATE",
            ),
            # Only a scheduled conference is recorded (DCF-CNF-022).
            (
                pair.us_address,
                lambda o: o.record_conference(CHANNEL, record),
                grpc.StatusCode.FAILED_PRECONDITION,
                "CONFERENCE_NOT_SCHEDULED",
            ),
            # Conference ids are never reused (DCF-CNF-002).
            (
                pair.us_address,
                lambda o: o.propose_conference(CHANNEL, proposal("vc-1")),
                grpc.StatusCode.ALREADY_EXISTS,
                "CONFERENCE_EXISTS",
            ),
            # An unknown conference is answered NOT_FOUND (DCF-CNF-013).
            (
                pair.us_address,
                lambda o: o.answer_conference(CHANNEL, accept(1, 1, "vc-9")),
                grpc.StatusCode.NOT_FOUND,
                "",
            ),
        ]
        for address, action, code, reason in expectations:
            error = await refused(address, action)
            assert (error.code, error.reason) == (code, reason), error
        assert state(pair.ru, "vc-1") == state(pair.us, "vc-1") == ConferenceState.PROPOSED

        # After a counter, revision 1 is no longer the one to answer (DCF-CNF-015).
        counter = ConferenceAnswer(conference_id="vc-1", revision=1, counter=proposal("vc-1", revision=2, hours=(5,)))
        await operate(pair.us_address, lambda o: o.answer_conference(CHANNEL, counter))
        await settled(pair, "vc-1", ConferenceState.COUNTERED)
        error = await refused(pair.ru_address, lambda o: o.answer_conference(CHANNEL, accept(1, 1)))
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REVISION_NOT_LATEST")
        await operate(pair.ru_address, lambda o: o.answer_conference(CHANNEL, accept(2, 5)))
        await settled(pair, "vc-1", ConferenceState.SCHEDULED)
        # A scheduled conference is answered no more (DCF-CNF-014).
        error = await refused(pair.us_address, lambda o: o.answer_conference(CHANNEL, accept(2, 5)))
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
        held = ConferenceRecord(
            conference_id="vc-1", start_time=slot(5).start_time, end_time=slot(5).start_time + timedelta(hours=1)
        )
        await operate(pair.ru_address, lambda o: o.record_conference(CHANNEL, held))
        await settled(pair, "vc-1", ConferenceState.RECORDED)
        # Nothing leaves RECORDED: a second record, an answer and a cancellation are refused.
        error = await refused(pair.us_address, lambda o: o.record_conference(CHANNEL, held))
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_SCHEDULED")
        error = await refused(pair.us_address, lambda o: o.answer_conference(CHANNEL, accept(2, 5)))
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_NOT_OPEN")
        cancel = ConferenceCancellation(conference_id="vc-1", reason="too late")
        error = await refused(pair.us_address, lambda o: o.cancel_conference(CHANNEL, cancel))
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFERENCE_ENDED")
        assert state(pair.ru, "vc-1") == state(pair.us, "vc-1") == ConferenceState.RECORDED


@pytest.mark.asyncio
async def test_a_cancellation_and_an_incident_alert_the_operators_dcf_cnf_040_dcf_inc_006(tmp_path: Path) -> None:
    async with (
        two_nodes(tmp_path) as pair,
        operator_events(pair.ru_address) as ru_events,
        operator_events(pair.us_address) as events,
    ):
        await operate(pair.ru_address, lambda o: o.propose_conference(CHANNEL, proposal("vc-1")))
        await settled(pair, "vc-1", ConferenceState.PROPOSED)
        cancel = ConferenceCancellation(conference_id="vc-1", reason="the line is unavailable that day")
        await operate(pair.ru_address, lambda o: o.cancel_conference(CHANNEL, cancel))
        await operate(pair.ru_address, lambda o: o.report_incident(CHANNEL, incident("inc-1", party=RU)))
        await settled(pair, "vc-1", ConferenceState.CANCELLED)
        await until(lambda: pair.us.node.ledger.incidents.incident(CHANNEL, "inc-1") is not None)
        # The receiver is told of both; the alerts follow the journal's commit, so wait for them.
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_INCIDENT_REPORTED)))
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_CONFERENCE_CANCELLED)))
        (called_off,) = alerts(events, operator_pb.ALERT_KIND_CONFERENCE_CANCELLED)
        assert called_off.subject_id == "vc-1"
        assert "the line is unavailable that day" in called_off.text
        (reported,) = alerts(events, operator_pb.ALERT_KIND_INCIDENT_REPORTED)
        assert reported.subject_id == "inc-1"
        assert "next conference agenda" in reported.text
        # A cancellation alerts the node that sent it too (sent or received); an incident only its receiver.
        await until(lambda: bool(alerts(ru_events, operator_pb.ALERT_KIND_CONFERENCE_CANCELLED)))
        assert alerts(ru_events, operator_pb.ALERT_KIND_CONFERENCE_CANCELLED)[0].subject_id == "vc-1"
        assert not alerts(ru_events, operator_pb.ALERT_KIND_INCIDENT_REPORTED)
