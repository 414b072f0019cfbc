"""`deconflict journal verify`: recompute a journal's trees and name the first entry altered, removed or reordered."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deconflict.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail

if TYPE_CHECKING:
    from deconflict.journal.verify import Finding, Verification
    from deconflict.transparency.checkpoint import SignedCheckpoint

app = typer.Typer(
    help="Your node's journal: every message sent and received, in order, with the evidence that shows a change.",
    no_args_is_help=True,
)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="The journal file (the `journal` of the node's configuration).")],
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint of a channel's journal your party signed (a C2SP signed note), e.g. one the peer "
            "cosigned: the journal must give its root at its size (repeatable).",
        ),
    ] = None,
    keys: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="A key that signs your party's checkpoints, as a verifier key "
            "`deconflict.v1/<party>/<key id>+<key ID>+<base64 key>` (repeatable).",
        ),
    ] = None,
) -> None:
    """Recompute the journal's evidence and each channel's Merkle tree (RFC 9162) from the stored entries, and
    compare them with what the journal's writer stored and with the signed checkpoints given. Names the first
    entry altered, removed or reordered. Read-only: the node may be running. Exit status 0 when everything
    matches, 1 when something does not, 2 when the journal or a checkpoint cannot be read."""
    from deconflict.journal.base import JournalFormatError
    from deconflict.journal.verify import VerifyError, verify_journal
    from deconflict.transparency.note import NoteError

    try:
        signed = _open_checkpoints(checkpoints or [], keys or [])
        verification = verify_journal(path, signed)
    except (OSError, JournalFormatError, NoteError, VerifyError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    out = console()
    out.print(_channels_table(verification))
    if verification.checkpoints:
        out.print(_checkpoints_table(verification))
    if verification.ok:
        out.print(
            f"[bold green]verified:[/] the {verification.entries} entries of {path} are those its writer stored, "
            "in order, and each channel's tree matches its head"
            + (" and the signed checkpoints" if verification.checkpoints else "")
        )
        out.print(
            "[dim]A journal rewritten whole with its evidence computed again, or cut short with its heads (as a "
            "restored backup is), shows only against checkpoints signed and held elsewhere (--checkpoint).[/]"
        )
        return
    out.print(_findings_table(verification))
    first = verification.first
    assert first is not None
    fail(f"the first entry altered, removed or reordered: {_where(first)}: {first.text}", EXIT_FAILED)


def _open_checkpoints(paths: list[Path], keys: list[str]) -> list[SignedCheckpoint]:
    from deconflict.transparency.checkpoint import CheckpointKey, open_checkpoint
    from deconflict.transparency.note import NoteError

    if paths and not keys:
        fail("--checkpoint needs the keys that sign them (--key)", EXIT_BAD_INPUT)
    trusted = [CheckpointKey.from_verifier_key(key) for key in keys]
    signed = []
    for path in paths:
        try:
            signed.append(open_checkpoint(path.read_bytes(), trusted))
        except NoteError as error:
            raise NoteError(f"{path}: {error}") from None
    return signed


def _b64(digest: bytes | None) -> str:
    return "" if digest is None else base64.b64encode(digest).decode("ascii")


def _channels_table(verification: Verification) -> Table:
    recorded = "" if verification.recorded is None else f", its head records {verification.recorded}"
    table = Table(title=f"{verification.path}: {verification.entries} entries{recorded}", title_justify="left")
    for column in ("channel", "entries", "root (recomputed)", "head"):
        table.add_column(column, overflow="fold")
    for tree in verification.channels:
        if tree.matches:
            head = "[green]matches[/]"
        elif tree.recorded_size is None:
            head = "[bold red]none recorded[/]"
        else:
            head = f"[bold red]{tree.recorded_size} entries, root {_b64(tree.recorded_root)}[/]"
        table.add_row(tree.channel_id, str(tree.size), _b64(tree.root), head)
    return table


def _checkpoints_table(verification: Verification) -> Table:
    table = Table(title="signed checkpoints", title_justify="left")
    for column in ("origin", "size", "time", "signed by", "journal"):
        table.add_column(column, overflow="fold")
    for match in verification.checkpoints:
        checkpoint = match.signed.checkpoint
        if match.matches:
            outcome = "[green]matches[/]"
        elif match.root is None:
            outcome = "[bold red]fewer entries[/]"
        else:
            outcome = f"[bold red]root {_b64(match.root)}[/]"
        table.add_row(
            checkpoint.origin, str(checkpoint.size), str(checkpoint.time), ", ".join(match.signed.signed_by), outcome
        )
    return table


def _findings_table(verification: Verification) -> Table:
    table = Table(title="what does not match, first first", title_justify="left")
    for column in ("position", "channel", "entry of the channel", "problem", "what"):
        table.add_column(column, overflow="fold")
    for number, finding in enumerate(verification.findings):
        table.add_row(
            "" if finding.position is None else str(finding.position),
            finding.channel_id or "",
            "" if finding.index is None else str(finding.index),
            finding.problem.value,
            finding.text,
            style="bold red" if number == 0 else None,
        )
    return table


def _where(finding: Finding) -> str:
    channel = None
    if finding.channel_id is not None:
        channel = f"channel {finding.channel_id}" + ("" if finding.index is None else f", its entry {finding.index}")
    if finding.position is None:
        return channel or "the journal's heads"
    return f"entry {finding.position}" + (f" ({channel})" if channel else "")
