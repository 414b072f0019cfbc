"""`deconflict conference propose | answer | record | cancel | show`: the video conferences between the parties."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deconflict.cli.options import DEFAULT_NODE, ChannelOption, IdentityOption, NodeOption, NodeTarget
from deconflict.cli.output import EXIT_BAD_INPUT, console, fail, fields_table, run

if TYPE_CHECKING:
    from deconflict.models.conference import ConferenceProposal
    from deconflict.operator.v1 import operator_service_pb2 as pb

app = typer.Typer(
    help="Video conferences between the parties: propose one (slots, participants, agenda), answer the peer's "
    "latest revision (accept a slot, counter, decline), file the record afterwards, call one off, or show one.",
    no_args_is_help=True,
)


@app.command()
def propose(
    file: Annotated[Path, typer.Argument(help="The ConferenceProposal, JSON or YAML.")],
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
    without_incidents: Annotated[
        bool, typer.Option("--without-incidents", help="Leave the incidents reported since the last conference off.")
    ] = False,
) -> None:
    """Propose a conference: candidate slots, duration, participants by role, classification and agenda items
    (incident review, proposal review with the documents' SHA-256, procedure change...). The node adds an
    incident review for each incident reported since the last recorded conference. revision defaults to 1."""
    run(_propose(file, channel, NodeTarget(node, identity), without_incidents), node)


async def _propose(file: Path, channel: str | None, node: NodeTarget, without_incidents: bool) -> None:
    from deconflict.bridge.conference import conference_proposal_data
    from deconflict.cli.connection import only_channel, operator_client
    from deconflict.cli.files import read_model
    from deconflict.models.conference import ConferenceProposal

    proposal = read_model(file, ConferenceProposal, {"revision": 1})
    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        answer = await client.propose_conference(channel_id, proposal, without_incidents=without_incidents)
    sent = ConferenceProposal.model_validate(conference_proposal_data(answer.proposal))
    _show(proposal_table(sent), answer.sent)


@app.command()
def answer(
    conference_id: Annotated[str, typer.Argument(help="The conference answered.")],
    accept: Annotated[
        str | None,
        typer.Option("--accept", help="Accept this candidate slot: its start time, RFC 3339 with zone."),
    ] = None,
    counter: Annotated[
        Path | None,
        typer.Option("--counter", help="Counter with this ConferenceProposal file (JSON or YAML): the next revision."),
    ] = None,
    decline: Annotated[str | None, typer.Option("--decline", help="Decline, giving the reason.")] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", help="The revision answered; default: the latest the node holds.")
    ] = None,
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """Answer the peer's latest revision: accept one of its slots, counter (a new revision, e.g. other slots),
    or decline. Exactly one of --accept, --counter and --decline."""
    if sum(choice is not None for choice in (accept, counter, decline)) != 1:
        fail("give exactly one of --accept, --counter and --decline", EXIT_BAD_INPUT)
    run(_answer(conference_id, accept, counter, decline, revision, channel, NodeTarget(node, identity)), node)


async def _answer(
    conference_id: str,
    accept: str | None,
    counter: Path | None,
    decline: str | None,
    revision: int | None,
    channel: str | None,
    node: NodeTarget,
) -> None:
    from deconflict.cli.connection import latest_revision, only_channel, operator_client
    from deconflict.cli.describe import when
    from deconflict.cli.files import read_data, validate
    from deconflict.models.conference import ConferenceAnswer

    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        answered = revision or await latest_revision(client, channel_id, conference_id)
        data: dict[str, object] = {"conference_id": conference_id, "revision": answered}
        if accept is not None:
            data["accept"] = {"slot": {"start_time": accept}}
        elif counter is not None:
            proposal = read_data(counter)
            if isinstance(proposal, dict):
                proposal = {"conference_id": conference_id, "revision": answered + 1, **proposal}
            data["counter"] = proposal
        else:
            data["decline"] = {"reason": decline}
        model = validate(str(counter) if counter is not None else "the answer", ConferenceAnswer, data)
        sent = await client.answer_conference(channel_id, model)
    table = fields_table(f"Answer to {conference_id} revision {answered}")
    if model.accept is not None:
        table.add_row("accept", f"the slot starting {when(model.accept.slot.start_time)}")
    elif model.counter is not None:
        table.add_row("counter", f"revision {model.counter.revision}")
    elif model.decline is not None:
        table.add_row("decline", model.decline.reason)
    _show(table, sent.sent)
    if model.counter is not None:
        console().print(proposal_table(model.counter))


@app.command()
def record(
    file: Annotated[Path, typer.Argument(help="The ConferenceRecord, JSON or YAML.")],
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """File the record of a conference held: start and end, attendees, decisions and action items (owner, due
    date). Only a scheduled conference is recorded; incidents reported after it go on the next agenda."""
    run(_record(file, channel, NodeTarget(node, identity)), node)


async def _record(file: Path, channel: str | None, node: NodeTarget) -> None:
    from deconflict.cli.connection import only_channel, operator_client
    from deconflict.cli.files import read_model
    from deconflict.models.conference import ConferenceRecord

    model = read_model(file, ConferenceRecord)
    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        sent = await client.record_conference(channel_id, model)
    table = fields_table(f"Record of {model.conference_id}")
    table.add_row("held", f"{model.start_time.isoformat()} to {model.end_time.isoformat()}")
    for decision in model.decisions:
        table.add_row(f"decision {decision.decision_id}", decision.text)
    for action in model.action_items:
        table.add_row(
            f"action {action.action_id}", f"{action.owner}, due {action.due_time.isoformat()}: {action.description}"
        )
    _show(table, sent.sent)


@app.command()
def cancel(
    conference_id: Annotated[str, typer.Argument(help="The conference called off.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn or called off.")],
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """Withdraw a proposal or call off a scheduled conference (either party may); it ends as CANCELLED."""
    run(_cancel(conference_id, reason, channel, NodeTarget(node, identity)), node)


async def _cancel(conference_id: str, reason: str, channel: str | None, node: NodeTarget) -> None:
    from deconflict.cli.connection import only_channel, operator_client
    from deconflict.cli.files import validate
    from deconflict.models.conference import ConferenceCancellation

    model = validate("the cancellation", ConferenceCancellation, {"conference_id": conference_id, "reason": reason})
    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        sent = await client.cancel_conference(channel_id, model)
    table = fields_table(f"{conference_id} called off")
    table.add_row("reason", reason)
    _show(table, sent.sent)


@app.command()
def show(
    conference_id: Annotated[str, typer.Argument(help="The conference.")],
    channel: ChannelOption = None,
    node: NodeOption = DEFAULT_NODE,
    identity: IdentityOption = None,
) -> None:
    """Show one conference as your node holds it: its state (PROPOSED, COUNTERED, SCHEDULED, DECLINED, RECORDED
    or CANCELLED), who sent the latest revision, the slot agreed, the record once held, and the agenda."""
    run(_show_conference(conference_id, channel, NodeTarget(node, identity)), node)


async def _show_conference(conference_id: str, channel: str | None, node: NodeTarget) -> None:
    from deconflict.bridge.conference_service import conference_status_data
    from deconflict.cli.connection import only_channel, operator_client
    from deconflict.cli.describe import when
    from deconflict.models.conference_service import ConferenceStatus

    async with operator_client(node) as client:
        channel_id = await only_channel(client, channel)
        answer = await client.get_conference(channel_id, conference_id)
    status = ConferenceStatus.model_validate(conference_status_data(answer.status))
    table = fields_table(f"Conference {conference_id}: {status.state.name}")
    table.add_row("channel", status.channel_id)
    table.add_row("latest revision", f"{status.proposal.revision}, sent by {status.proposer}")
    if status.scheduled_slot is not None:
        table.add_row("slot agreed", f"{when(status.scheduled_slot.start_time)} for {status.proposal.duration}")
    if status.record is not None:
        record = status.record
        table.add_row("held", f"{record.start_time.isoformat()} to {record.end_time.isoformat()}")
        for decision in record.decisions:
            table.add_row(f"decision {decision.decision_id}", decision.text)
        for action in record.action_items:
            table.add_row(
                f"action {action.action_id}", f"{action.owner}, due {action.due_time.isoformat()}: {action.description}"
            )
    out = console()
    out.print(table)
    out.print(proposal_table(status.proposal))


def proposal_table(proposal: ConferenceProposal) -> Table:
    from deconflict.cli.describe import when

    table = Table(
        title=f"Conference {proposal.conference_id} revision {proposal.revision}: {proposal.title}",
        title_justify="left",
        caption=(
            f"slots {', '.join(when(s.start_time) for s in proposal.candidate_slots)}; {proposal.duration}; "
            f"{proposal.classification.name}; participants "
            + ", ".join(f"{p.party} {p.role.name}" for p in proposal.participants)
        ),
        caption_justify="left",
    )
    for column in ("item", "kind", "title", "references", "presenter", "time"):
        table.add_column(column, overflow="fold")
    for item in proposal.agenda:
        references = [
            *(f"notice {n}" for n in item.notice_ids),
            *(f"incident {i}" for i in item.incident_ids),
            *(f"{d.document_id} sha256 {d.sha256.hex()[:12]}..." for d in item.documents),
        ]
        table.add_row(
            item.item_id,
            item.kind.name,
            item.title,
            "\n".join(references),
            f"{item.presenter.party} {item.presenter.role.name}",
            str(item.allotted),
        )
    return table


def _show(table: Table, sent: pb.Sent) -> None:
    from deconflict.cli.notices import sent_table

    out = console()
    out.print(table)
    out.print(sent_table([sent]))
