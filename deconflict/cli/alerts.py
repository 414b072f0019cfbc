"""`deconflict alerts list | ack`: the alerts your node recorded, open until an operator acknowledges them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deconflict.cli.options import DEFAULT_NODE, IdentityOption, NodeOption, NodeTarget
from deconflict.cli.output import EXIT_BAD_INPUT, console, fail, run

if TYPE_CHECKING:
    from datetime import datetime

    from deconflict.operator.v1 import operator_service_pb2 as pb

app = typer.Typer(
    help="Operator alerts: what your node says you must see (a response timeout, a peer down, an UNABLE or a "
    "COUNTER to your notice, a conference called off, an incident reported, a refusal...). The node records each, "
    "with its time, channel and cause, and keeps it open, after a restart too, until an operator acknowledges it.",
    no_args_is_help=True,
)


@app.command("list")
def list_alerts(
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
    every: Annotated[bool, typer.Option("--all", help="Acknowledged alerts too, with when they were.")] = False,
) -> None:
    """List the open alerts, oldest first: number, when raised, channel, kind, subject and what happened. Open
    alerts are highlighted; --all adds the acknowledged ones."""
    run(_list(NodeTarget(node, identity), every), node)


async def _list(node: NodeTarget, every: bool) -> None:
    from deconflict.cli.connection import operator_client

    async with operator_client(node) as client:
        party = (await client.get_status()).party
        found = await client.all_alerts(include_acknowledged=every)
    which = "alerts" if every else "open alerts"
    console().print(alerts_table(found, f"{party}: {len(found)} {which}", acknowledged_column=every))


@app.command()
def ack(
    alert_ids: Annotated[
        list[int] | None, typer.Argument(help="The alerts acknowledged, by number (`deconflict alerts list`).")
    ] = None,
    every_open: Annotated[bool, typer.Option("--every-open", help="Acknowledge every open alert.")] = False,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """Acknowledge alerts: the node records when, durably, and stops presenting them as open. Give their
    numbers, or --every-open."""
    if bool(alert_ids) == every_open:
        fail("give the alert numbers, or --every-open", EXIT_BAD_INPUT)
    run(_ack(alert_ids or [], every_open, NodeTarget(node, identity)), node)


async def _ack(alert_ids: list[int], every_open: bool, node: NodeTarget) -> None:
    from deconflict.cli.connection import operator_client

    async with operator_client(node) as client:
        if every_open:
            alert_ids = [event.alert.alert_id for event in await client.all_alerts()]
        if not alert_ids:
            console().print("No open alert.")
            return
        answer = await client.acknowledge_alerts(alert_ids)
    console().print(alerts_table(list(answer.alerts), f"{len(answer.alerts)} acknowledged", acknowledged_column=True))


def alerts_table(events: list[pb.Event], title: str, *, acknowledged_column: bool) -> Table:
    from datetime import UTC

    from deconflict.cli.describe import alert_kind

    table = Table(title=title, title_justify="left")
    columns = ["alert", "raised", "channel", "kind", "subject", "what happened"]
    if acknowledged_column:
        columns.append("acknowledged")
    for column in columns:
        table.add_column(column, overflow="fold")
    for event in events:
        alert = event.alert
        is_open = not alert.HasField("acknowledged_time")
        cells = [
            str(alert.alert_id),
            _moment(event.time.ToDatetime(tzinfo=UTC)),
            event.channel_id,
            alert_kind(alert.kind),
            alert.subject_id,
            alert.text,
        ]
        if acknowledged_column:
            cells.append("open" if is_open else _moment(alert.acknowledged_time.ToDatetime(tzinfo=UTC)))
        table.add_row(*cells, style="bold red" if is_open else None)
    return table


def _moment(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}Z"
