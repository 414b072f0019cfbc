"""Operator alerts (docs/spec/01-overview.md section 1.4): raised where the spec says, recorded durably with their
time, channel and cause, and presented to the operators, after a restart too, until one acknowledges them.

Real nodes on loopback, driven through the operator API; the alerts live in an SQLite file beside the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from deconflict.client import OperatorClient
from deconflict.journal.base import JournalFormatError
from deconflict.models.envelope import Mode
from deconflict.models.response import DialogueState, OperationalResponse, ResponseKind
from deconflict.node.alerts import alerts_path
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    alerts,
    incident,
    one_node,
    operator_events,
    peer_of,
    refusal_of,
    restart,
    sortie,
    status_of,
    suspension,
    two_nodes,
    write_configs,
)
from tests.test_node import dialogue, until

RESPONSE_ALERTS = (operator_pb.ALERT_KIND_UNABLE_RECEIVED, operator_pb.ALERT_KIND_COUNTER_RECEIVED)


def response_alerts(events: list[operator_pb.Event]) -> list[operator_pb.Alert]:
    return [alert for kind in RESPONSE_ALERTS for alert in alerts(events, kind)]


# -- an UNABLE or a COUNTER to one of our notices (DCF-RSP-033) ----------------------------------------------------


@pytest.mark.asyncio
async def test_an_unable_to_our_notice_alerts_its_owner_with_the_conflicts_dcf_rsp_033(tmp_path: Path) -> None:
    async with (
        two_nodes(tmp_path) as pair,
        operator_events(pair.ru_address) as ru_events,
        operator_events(pair.us_address) as us_events,
    ):
        async with OperatorClient(pair.us_address) as operator:
            await operator.file_notice(sortie(f"{US}/patrol", owner=US), mode=Mode.OPERATIONAL)
        # ru-mod's automatic policy answers ROGER to the patrol: no alert for that.
        await until(lambda: dialogue(pair.us, US, f"{US}/patrol") == DialogueState.ANSWERED)
        async with OperatorClient(pair.ru_address) as operator:
            await operator.file_notice(sortie(f"{RU}/hama-1"), mode=Mode.OPERATIONAL)
        # us-dod's automatic policy finds the patrol in the way and answers UNABLE, naming it.
        await until(lambda: bool(alerts(ru_events, operator_pb.ALERT_KIND_UNABLE_RECEIVED)))
        (alert,) = response_alerts(ru_events)
        assert alert.subject_id == f"{RU}/hama-1"
        assert f"{US} answers UNABLE to {RU}/hama-1 v1" in alert.text
        assert "reasons CONFLICT" in alert.text
        assert f"conflicts with {US}/patrol v1 of {US}" in alert.text
        assert "0.0 km and 0 m apart" in alert.text
        (event,) = [e for e in ru_events if e.HasField("alert") and e.alert.alert_id == alert.alert_id]
        assert event.channel_id == CHANNEL
        assert event.HasField("time")
        # The party that sent the UNABLE, and that received only a ROGER, is not alerted.
        assert not response_alerts(us_events)


@pytest.mark.asyncio
async def test_a_counter_to_our_notice_alerts_its_owner_with_the_counter_proposal_dcf_rsp_033(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path, policy_us="operator") as pair, operator_events(pair.ru_address) as events:
        async with OperatorClient(pair.ru_address) as operator:
            await operator.file_notice(sortie(f"{RU}/hama-2"), mode=Mode.OPERATIONAL)
        # us-dod's operator policy holds with STANDBY first: that alerts nobody.
        await until(lambda: dialogue(pair.ru, RU, f"{RU}/hama-2") == DialogueState.STANDBY)
        elsewhere = sortie(f"{RU}/hama-2", latitude=34.0).volumes
        counter = OperationalResponse(
            notice_id=f"{RU}/hama-2",
            notice_version=1,
            kind=ResponseKind.COUNTER,
            counter_volumes=elsewhere,
            remarks="further south, clear of our patrol",
        )
        async with OperatorClient(pair.us_address) as operator:
            await operator.respond(CHANNEL, counter)
        await until(lambda: bool(alerts(events, operator_pb.ALERT_KIND_COUNTER_RECEIVED)))
        (alert,) = response_alerts(events)
        assert alert.subject_id == f"{RU}/hama-2"
        assert f"{US} answers COUNTER to {RU}/hama-2 v1" in alert.text
        assert "proposes [0] circle 34.00N 36.75E r 20 km, FL100-FL200" in alert.text
        assert "remarks: further south, clear of our patrol" in alert.text


# -- recorded durably, presented until acknowledged (DCF-GEN-012) -------------------------------------------------


async def _shown_on_connecting(address: str, journal_size: int, expected: int) -> list[int]:
    """The alerts an operator who connects now is shown first: WatchEvents from the journal's end."""
    seen: list[operator_pb.Event] = []
    async with OperatorClient(address) as operator:

        async def collect() -> None:
            async for event in operator.watch_events(from_position=journal_size):
                seen.append(event)

        task = asyncio.get_running_loop().create_task(collect())
        try:
            await until(lambda: len(seen) >= expected)
            await asyncio.sleep(0.2)  # and nothing more
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert all(event.HasField("alert") for event in seen)
    return [event.alert.alert_id for event in seen]


@pytest.mark.asyncio
async def test_alerts_survive_a_restart_and_stay_open_until_acknowledged_dcf_gen_012_dcf_inc_006_dcf_sus_011(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node:
        before = datetime.now(UTC)
        async with peer_of(node.address) as peer:
            await peer.send("incident_report", incident("inc-7"))
            await peer.send("suspension", suspension("note-7"))
        async with OperatorClient(node.address) as operator:
            await until(lambda: len(node.server.node.alerts.open_alerts()) == 2)
            raised = list((await operator.list_alerts()).alerts)
        assert [(e.alert.alert_id, e.alert.kind) for e in raised] == [
            (1, operator_pb.ALERT_KIND_INCIDENT_REPORTED),
            (2, operator_pb.ALERT_KIND_CHANNEL_STATE),
        ]
        # Each with its time, channel and cause.
        for event in raised:
            assert event.channel_id == CHANNEL
            assert before <= event.time.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
            assert not event.alert.HasField("acknowledged_time")
        assert [e.alert.subject_id for e in raised] == ["inc-7", "note-7"]
        assert alerts_path(node.journal_path).is_file()

        # The node dies and comes back: the alerts are still open, as they were.
        node.server = await restart(node.server)
        async with OperatorClient(node.address) as operator:
            assert list((await operator.list_alerts()).alerts) == raised
            status = await operator.get_status()
        assert status.channels[0].open_alerts == 2
        # An operator who connects later is shown them first, before any stored message.
        assert await _shown_on_connecting(node.address, status.journal_size, 2) == [1, 2]

        # Acknowledged, an alert stops being presented; the others stay.
        async with operator_events(node.address) as watching, OperatorClient(node.address) as operator:
            answer = await operator.acknowledge_alerts([1])
            (acknowledged,) = answer.alerts
            assert acknowledged.alert.alert_id == 1
            assert acknowledged.alert.HasField("acknowledged_time")
            # Acknowledging it again changes nothing, not even the time.
            assert list((await operator.acknowledge_alerts([1])).alerts) == [acknowledged]
            assert [e.alert.alert_id for e in (await operator.list_alerts()).alerts] == [2]
            assert (await operator.get_status()).channels[0].open_alerts == 1
            # Other operators' streams learn it, once.
            await until(lambda: any(e.alert.HasField("acknowledged_time") for e in watching if e.HasField("alert")))
            assert [e.alert.alert_id for e in watching if e.alert.HasField("acknowledged_time")] == [1]

        # The acknowledgement is durable too; the history keeps every alert.
        node.server = await restart(node.server)
        async with OperatorClient(node.address) as operator:
            assert [e.alert.alert_id for e in (await operator.list_alerts()).alerts] == [2]
            history = list((await operator.list_alerts(include_acknowledged=True)).alerts)
        assert history == [acknowledged, raised[1]]
        assert await _shown_on_connecting(node.address, status.journal_size, 1) == [2]
        # New alerts take the next number.
        async with peer_of(node.address) as peer:
            peer.sequence = 3
            await peer.send("incident_report", incident("inc-8"))
        await until(lambda: [a.alert_id for a in node.server.node.alerts.open_alerts()] == [2, 3])


@pytest.mark.asyncio
async def test_alerts_page_by_id_and_bad_acknowledgements_are_refused_dcf_gen_012(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        async with peer_of(node.address) as peer:
            for number in range(1, 6):
                await peer.send("incident_report", incident(f"inc-{number}"))
        await until(lambda: len(node.server.node.alerts.open_alerts()) == 5)
        async with OperatorClient(node.address) as operator:
            await operator.acknowledge_alerts([2])
            pages: list[list[int]] = []
            token = ""
            while True:
                page = await operator.list_alerts(page_size=2, page_token=token)
                pages.append([e.alert.alert_id for e in page.alerts])
                token = page.next_page_token
                if not token:
                    break
            assert pages == [[1, 3], [4, 5]]
            assert [e.alert.alert_id for e in await operator.all_alerts(include_acknowledged=True)] == [1, 2, 3, 4, 5]

            none = await refusal_of(operator.acknowledge_alerts([]))
            assert (none.code, none.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "alert_ids")
            zero = await refusal_of(operator.acknowledge_alerts([3, 0]))
            assert (zero.code, zero.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "alert_ids[1]")
            unknown = await refusal_of(operator.acknowledge_alerts([3, 99]))
            assert unknown.code == grpc.StatusCode.NOT_FOUND
            assert "99" in unknown.message
            # A refused acknowledgement acknowledges nothing, not even the ids it knew.
            assert [e.alert.alert_id for e in (await operator.list_alerts()).alerts] == [1, 3, 4, 5]
            too_big = await refusal_of(operator.list_alerts(page_size=1001))
            assert (too_big.code, too_big.violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "page_size")
        assert (await status_of(node.address)).channel.open_alerts == 4


@pytest.mark.asyncio
async def test_a_node_refuses_an_alert_file_that_is_not_its_own_dcf_gen_012(tmp_path: Path) -> None:
    ru_config, _, _, _ = write_configs(tmp_path, peer_addresses={RU: "", US: ""})
    loaded = load_config(ru_config)
    with sqlite3.connect(alerts_path(loaded.journal_path)) as stranger:
        stranger.execute("CREATE TABLE notes (text TEXT)")
    server = NodeServer(loaded)
    with pytest.raises(JournalFormatError, match="not a deconflict alert file"):
        await server.start()
    await server.node.close()
