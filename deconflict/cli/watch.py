"""`deconflict watch` and `deconflict status`: what the node stored and sees, as tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deconflict.cli.options import DEFAULT_NODE, IdentityOption, NodeOption, NodeTarget
from deconflict.cli.output import console, run

if TYPE_CHECKING:
    from deconflict.cli.describe import EventRow
    from deconflict.operator.v1 import operator_service_pb2 as pb

# Rows the live table keeps on screen: the newest, as a log scrolls.
LIVE_ROWS = 40


def watch(
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
    from_position: Annotated[
        int, typer.Option("--from", min=0, help="Replay the journal from this position, then follow live.")
    ] = 0,
    once: Annotated[
        bool, typer.Option("--once", help="Print what is stored now and exit, instead of following.")
    ] = False,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows kept on screen while following.")] = LIVE_ROWS,
) -> None:
    """Watch your node: messages in and out, acknowledgements both ways, alerts, liveness; live, as a table.

    Each message shows its kind, notice (or conference), version and sequence; alerts are highlighted until
    acknowledged (`deconflict alerts ack`). The alerts still open come first, then the journal is replayed from
    --from, then events follow live until Ctrl-C (--once: print what is stored, exit).

    An acknowledgement (level 1) says the party named stored the message at a journal position: the peer one of
    yours, or your node one of the peer's; the operational response (ACCEPT, UNABLE, STANDBY, ROGER, COUNTER)
    arrives as a message of its own.
    """
    if once:
        run(_print_stored(NodeTarget(node, identity), from_position), node)
        return
    try:
        run(_follow(NodeTarget(node, identity), from_position, rows), node)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def events_table(rows: list[EventRow], title: str) -> Table:
    from deconflict.cli.describe import clock

    table = Table(title=title, title_justify="left")
    for column in ("#", "time", "channel", "event", "kind", "notice / conference", "v", "seq", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            "" if row.position is None else str(row.position),
            clock(row.time) if row.time is not None else "",
            row.channel_id,
            row.what,
            row.kind,
            row.subject,
            str(row.version) if row.version else "",
            str(row.sequence) if row.sequence else "",
            row.detail,
            style="bold red" if row.alert else ("cyan" if row.what == "ack" else None),
        )
    return table


async def _print_stored(node: NodeTarget, from_position: int) -> None:
    from deconflict.cli.connection import operator_client, stored_events
    from deconflict.cli.describe import event_row

    async with operator_client(node) as client:
        party = (await client.get_status()).party
        events = await stored_events(client, from_position)
    console().print(events_table([event_row(e) for e in events], f"{party}: {len(events)} stored events"))


async def _follow(node: NodeTarget, from_position: int, keep: int) -> None:
    from rich.live import Live

    from deconflict.cli.connection import operator_client
    from deconflict.cli.describe import event_row

    async with operator_client(node) as client:
        party = (await client.get_status()).party
        title = f"{party}: watching from journal position {from_position} (Ctrl-C to stop)"
        shown: list[EventRow] = []
        with Live(events_table(shown, title), console=console(), auto_refresh=False) as live:
            async for event in client.watch_events(from_position):
                shown.append(event_row(event))
                del shown[:-keep]
                live.update(events_table(shown, title), refresh=True)


def status(node: NodeOption = DEFAULT_NODE, identity: IdentityOption = None) -> None:
    """Your node and its channels, as a table.

    Per channel: the peer and its liveness (UNKNOWN / NORMAL / DOWN), whether it greeted us with a matching
    agreement, suspension, the last sequence numbers each way, messages not yet acknowledged, active notices,
    open dialogues and the alerts no operator has acknowledged yet (`deconflict alerts list`).
    """
    run(_status(NodeTarget(node, identity)), node)


async def _status(node: NodeTarget) -> None:
    from deconflict.cli.connection import operator_client

    async with operator_client(node) as client:
        answer = await client.get_status()
    console().print(status_table(answer))


def status_table(answer: pb.GetStatusResponse) -> Table:
    from deconflict.cli.describe import liveness_name

    table = Table(title=f"{answer.party}: journal of {answer.journal_size} entries", title_justify="left")
    table.add_column("channel", style="bold")
    for channel in answer.channels:
        table.add_column(channel.channel_id)

    def row(name: str, *values: str) -> None:
        table.add_row(name, *values)

    channels = list(answer.channels)
    row("peer", *(f"{c.peer} at {c.peer_address or '(it connects to us)'}" for c in channels))
    row("liveness", *(liveness_name(c.liveness) for c in channels))
    row("greeted", *(_yes(c.greeted) for c in channels))
    row("suspended", *(_yes(c.suspended) for c in channels))
    row("last sequence sent", *(str(c.last_sequence_sent) for c in channels))
    row("last sequence received", *(str(c.last_sequence_received) for c in channels))
    row("unacknowledged", *(str(c.unacknowledged) for c in channels))
    row("active notices", *(str(c.active_notices) for c in channels))
    row("open dialogues", *(str(c.open_dialogues) for c in channels))
    row("open alerts", *(str(c.open_alerts) for c in channels))
    row("agreement sha256", *(c.agreement_hash.hex()[:16] + "..." for c in channels))
    return table


def _yes(value: bool) -> str:
    return "yes" if value else "no"
