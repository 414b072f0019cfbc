"""`deconflict notify`, `deconflict respond` and `deconflict notice show`: file a flight notice, answer the
peer's, read one as your node holds it."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table

from deconflict.cli.options import DEFAULT_NODE, ChannelOption, IdentityOption, NodeOption, NodeTarget
from deconflict.cli.output import console, fields_table, run

if TYPE_CHECKING:
    from deconflict.models.notice import FlightNotice
    from deconflict.operator.v1 import operator_service_pb2 as pb

notice_app = typer.Typer(
    help="Flight notices as your node holds them (file one with `deconflict notify`, answer one with "
    "`deconflict respond`).",
    no_args_is_help=True,
)

# notice_id, version, state and owner are the node's to set; a placeholder lets the rest be checked here.
_PLACEHOLDER_ID: Final = "to-be-set-by-the-node"


class Kind(enum.StrEnum):
    """The operational responses (level 2), as typed on the command line."""

    ACCEPT = "ACCEPT"
    UNABLE = "UNABLE"
    STANDBY = "STANDBY"
    ROGER = "ROGER"
    COUNTER = "COUNTER"


class Reason(enum.StrEnum):
    CONFLICT = "CONFLICT"
    INSUFFICIENT_LEAD_TIME = "INSUFFICIENT_LEAD_TIME"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    AIRSPACE_UNAVAILABLE = "AIRSPACE_UNAVAILABLE"
    CHANNEL_SUSPENDED = "CHANNEL_SUSPENDED"
    OTHER = "OTHER"


def notify(
    file: Annotated[
        Path, typer.Argument(help="The notice, JSON or YAML (.yaml / .yml), in the FlightNotice JSON form.")
    ],
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help="A channel to file it on (repeat for several); default: every channel."),
    ] = None,
    exercise: Annotated[
        bool, typer.Option("--exercise", help="Mark it EXERCISE: checked only against exercise notices.")
    ] = False,
) -> None:
    """File a flight notice: where and when your aircraft will fly (4D volumes), how many, on which frequencies.

    The file holds the FlightNotice model's JSON form: enums by short name (FIXED_WING, ROUTINE, FLIGHT_LEVEL),
    times in RFC 3339, frequencies by their id in the agreement. notice_id is optional (the node picks one);
    version, state and owner are the node's to set. The node stores the notice in its journal and delivers it
    to the peer until acknowledged; the peer's logical acknowledgement and its operational response show in
    `deconflict watch`. A refusal is printed with the path of each field at fault.
    """
    run(_notify(file, NodeTarget(node, identity), channel or [], exercise), node)


async def _notify(file: Path, node: NodeTarget, channels: list[str], exercise: bool) -> None:
    from deconflict.bridge.notice import flight_notice_data, flight_notice_to_proto
    from deconflict.cli.connection import operator_client
    from deconflict.cli.files import read_data, validate
    from deconflict.models.envelope import Mode
    from deconflict.models.notice import FlightNotice

    data = read_data(file)
    given_id = isinstance(data, dict) and bool(data.get("notice_id"))
    defaults = {"notice_id": _PLACEHOLDER_ID, "version": 1, "state": "ACTIVE", "owner": _PLACEHOLDER_ID}
    if isinstance(data, dict):
        # The node sets these whatever the file says; checking the file's values here would refuse for nothing.
        data = {k: v for k, v in data.items() if k not in ("version", "state", "owner")}
    model = validate(str(file), FlightNotice, data, defaults)
    notice = flight_notice_to_proto(model)
    if not given_id:
        notice.notice_id = ""
    mode = Mode.EXERCISE if exercise else Mode.OPERATIONAL
    async with operator_client(node) as client:
        filed = await client.file_notice(notice, mode=mode, channel_ids=channels)
    out = console()
    out.print(notice_table(FlightNotice.model_validate(flight_notice_data(filed.notice)), mode.name))
    out.print(sent_table(list(filed.sent)))
    out.print("The node delivers it until the peer acknowledges it: `deconflict watch` shows the acknowledgement.")


def notice_table(notice: FlightNotice, mode: str = "") -> Table:
    from deconflict.cli.describe import volume

    table = fields_table(f"Notice {notice.notice_id} v{notice.version}")
    table.add_row("owner", notice.owner)
    table.add_row("state", notice.state.name + (f" ({mode})" if mode else ""))
    table.add_row("category", notice.category.name)
    table.add_row("aircraft", f"{notice.aircraft_count} {notice.aircraft_category.name}")
    if notice.callsigns:
        table.add_row("callsigns", ", ".join(notice.callsigns))
    if notice.transponder_codes:
        table.add_row("transponder codes", ", ".join(notice.transponder_codes))
    table.add_row("frequencies", ", ".join(notice.frequency_ids) or "-")
    table.add_row("point of contact", notice.contact_id or "-")
    for index, value in enumerate(notice.volumes):
        table.add_row(f"volumes[{index}]", volume(value))
    if notice.remarks:
        table.add_row("remarks", notice.remarks)
    return table


def sent_table(sent: list[pb.Sent]) -> Table:
    table = Table(title="Stored and sent", title_justify="left")
    for column in ("channel", "message id", "sequence", "journal position"):
        table.add_column(column)
    for item in sent:
        table.add_row(item.channel_id, item.message_id, str(item.sequence), str(item.journal_position))
    return table


def respond(
    notice_id: Annotated[str, typer.Argument(help="The peer's notice you answer.")],
    kind: Annotated[Kind, typer.Option("--kind", "-k", help="The operational response.", case_sensitive=False)],
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
    version: Annotated[
        int | None, typer.Option("--version", help="The notice version answered; default: the latest the node holds.")
    ] = None,
    reason: Annotated[
        list[Reason] | None,
        typer.Option("--reason", "-r", help="Why UNABLE (repeat for several).", case_sensitive=False),
    ] = None,
    offending_field: Annotated[
        str, typer.Option("--offending-field", help="UNABLE: the field at fault, e.g. frequency_ids[1].")
    ] = "",
    remarks: Annotated[str, typer.Option("--remarks", help="Free text for the peer's operators.")] = "",
    counter: Annotated[
        Path | None,
        typer.Option("--counter", help="COUNTER: a JSON or YAML list of Volume4D, the alternative you propose."),
    ] = None,
) -> None:
    """Answer one of the peer's notices (the operational response, level 2).

    ACCEPT: will comply. UNABLE: cannot, with reasons (CONFLICT, INSUFFICIENT_LEAD_TIME, ...). STANDBY: decision
    pending; the dialogue stays open and the timer restarts. ROGER: noted, no commitment. COUNTER: an alternative,
    other volumes or another slot (--counter FILE); the notice stays as filed until its owner amends it.
    Silence is never consent: a response not sent in the agreed time brings a timeout from the peer.
    """
    run(
        _respond(
            notice_id,
            kind,
            channel,
            NodeTarget(node, identity),
            version,
            reason or [],
            offending_field,
            remarks,
            counter,
        ),
        node,
    )


async def _respond(
    notice_id: str,
    kind: Kind,
    channel: str | None,
    node: NodeTarget,
    version: int | None,
    reasons: list[Reason],
    offending_field: str,
    remarks: str,
    counter: Path | None,
) -> None:
    from deconflict.cli.connection import current_notice_version, only_channel, operator_client
    from deconflict.cli.describe import volume
    from deconflict.cli.files import read_data, validate
    from deconflict.models.response import OperationalResponse

    counter_volumes: object = []
    if counter is not None:
        counter_volumes = read_data(counter)
        if isinstance(counter_volumes, dict) and "counter_volumes" in counter_volumes:
            counter_volumes = counter_volumes["counter_volumes"]
    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        answered = version or await current_notice_version(client, channel_id, notice_id)
        data = {
            "notice_id": notice_id,
            "notice_version": answered,
            "kind": kind.value,
            "reasons": [r.value for r in reasons],
            "offending_field": offending_field,
            "counter_volumes": counter_volumes,
            "remarks": remarks,
        }
        response = validate("the response", OperationalResponse, data)
        answer = await client.respond(channel_id, response)
    table = fields_table(f"Response to {notice_id} v{answered}")
    table.add_row("kind", response.kind.name)
    if response.reasons:
        table.add_row("reasons", ", ".join(r.name for r in response.reasons))
    if response.offending_field:
        table.add_row("offending field", response.offending_field)
    for index, value in enumerate(response.counter_volumes):
        table.add_row(f"counter_volumes[{index}]", volume(value))
    if response.remarks:
        table.add_row("remarks", response.remarks)
    out = console()
    out.print(table)
    out.print(sent_table([answer.sent]))


@notice_app.command()
def show(
    notice_id: Annotated[str, typer.Argument(help="The notice, yours or the peer's.")],
    owner: Annotated[str, typer.Option("--owner", help="Its owner, when both parties used the id.")] = "",
    channel: Annotated[
        str, typer.Option("--channel", help="Only on this channel; default: every channel it is on.")
    ] = "",
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """Show one notice as your node holds it: its current version (volumes, aircraft, frequencies), and on each
    channel the dialogue about it: PENDING, STANDBY, ANSWERED or TIMED_OUT, the last operational response, when
    a response is due, and whether it came late."""
    run(_show(notice_id, owner, channel, NodeTarget(node, identity)), node)


async def _show(notice_id: str, owner: str, channel: str, node: NodeTarget) -> None:
    from deconflict.bridge.notice_service import notice_record_data
    from deconflict.cli.connection import operator_client
    from deconflict.cli.describe import when
    from deconflict.models.notice_service import NoticeRecord

    async with operator_client(node) as client:
        answer = await client.get_notice(notice_id, channel_id=channel, owner=owner)
    out = console()
    for record in (NoticeRecord.model_validate(notice_record_data(r)) for r in answer.records):
        table = notice_table(record.notice, record.mode.name)
        table.add_row("channel", record.channel_id)
        table.add_row("dialogue", record.dialogue_state.name)
        table.add_row("last response", record.last_response.name if record.last_response is not None else "none yet")
        if record.response_due_time is not None:
            table.add_row("response due", when(record.response_due_time))
        table.add_row("stored", f"{record.received_time:%Y-%m-%d %H:%M:%S}Z")
        if record.late:
            table.add_row("late", "yes: filed with less than the agreed lead time")
        out.print(table)
