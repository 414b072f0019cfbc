"""What the command line prints and how it ends: consoles sized for tables, refusals as tables, exit statuses.

Only rich and typer are imported here, so that `deconflict --help` starts at once; the protocol's
modules are imported by the commands that use them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from deconflict.client.retry import RefusedError

T = TypeVar("T")

EXIT_FAILED: Final = 1
"""The node refused, could not be reached, or an outcome the demo waits for did not happen."""
EXIT_BAD_INPUT: Final = 2
"""A bad configuration, file or option: nothing was sent."""

# Tables read badly at 80 columns; when the output is not a terminal (a pipe, a log, a test) there is
# no width to measure, so pick one wide enough for a timeline row.
_PIPE_WIDTH: Final = 160


def console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    measured = stream.isatty() or "COLUMNS" in os.environ
    return Console(stderr=stderr, width=None if measured else _PIPE_WIDTH, highlight=False)


class BadInputError(Exception):
    """Input refused before anything was sent: the file (or option) and each field at fault."""

    def __init__(self, source: str, violations: list[tuple[str, str]]) -> None:
        self.source = source
        self.violations = violations
        first = violations[0] if violations else ("", "cannot be used")
        super().__init__(f"{source}: {first[0] or '(whole)'}: {first[1]}")


def violations_table(violations: list[tuple[str, str]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("problem")
    for field, sentence in violations:
        table.add_row(field or "(the whole message)", sentence)
    return table


def fail(message: str, status: int = EXIT_FAILED) -> NoReturn:
    console(stderr=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(status)


def bad_input(error: BadInputError) -> NoReturn:
    errors = console(stderr=True)
    if all(not field for field, _ in error.violations):
        for _, sentence in error.violations:
            errors.print(f"[bold red]error:[/] {error.source}: {sentence}; nothing was sent")
    else:
        errors.print(f"[bold red]error:[/] {error.source} cannot be used; nothing was sent")
        errors.print(violations_table(error.violations, error.source))
    raise typer.Exit(EXIT_BAD_INPUT)


def fields_table(title: str) -> Table:
    """A table of one thing's fields and values, at least as wide as its title."""
    table = Table(title=title, title_justify="left", show_header=False, min_width=len(title) + 4)
    table.add_column("field", style="bold")
    table.add_column("value")
    return table


def refused(error: RefusedError, address: str) -> NoReturn:
    """The node's refusal as it sent it: code, reason, sentence, and the field paths at fault."""
    import grpc

    errors = console(stderr=True)
    if error.code == grpc.StatusCode.UNAVAILABLE:
        errors.print(f"[bold red]error:[/] cannot reach the node at {address}: {error.message}")
        raise typer.Exit(EXIT_FAILED)
    reason = f" ({error.reason})" if error.reason else ""
    errors.print(f"[bold red]refused:[/] {error.code.name}{reason}: {error.message}")
    if error.violations:
        errors.print(violations_table(error.violations, "fields at fault, as the node names them"))
    if error.stale_version is not None:
        stale = error.stale_version
        errors.print(
            f"{stale.notice_id}: version {stale.quoted_version} is stale; the current version is "
            f"{stale.current_version}"
        )
    raise typer.Exit(EXIT_FAILED)


def run(work: Coroutine[Any, Any, T], address: str) -> T:
    """Run one command's conversation with a node; its refusals and bad input end the command cleanly."""
    from deconflict.client.retry import RefusedError

    try:
        return asyncio.run(work)
    except RefusedError as error:
        refused(error, address)
    except BadInputError as error:
        bad_input(error)
