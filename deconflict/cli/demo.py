"""`deconflict demo`: October 2015 replayed between two ministry nodes."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from deconflict.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail


def demo(
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the nodes' files (configurations, journals, documents) in this new folder."),
    ] = None,
    nodes: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--nodes",
            metavar="RU_ADDRESS US_ADDRESS",
            help="Play against two running `deconflict serve` nodes (ru-mod first) instead of starting them.",
        ),
    ] = None,
    write_configs: Annotated[
        Path | None,
        typer.Option(
            "--write-configs",
            metavar="DIR",
            help="Only write the agreement and the two node configurations into DIR, for two `serve` processes.",
        ),
    ] = None,
    ports: Annotated[
        tuple[int, int],
        typer.Option("--ports", metavar="RU_PORT US_PORT", help="With --write-configs: the ports the nodes listen on."),
    ] = (50051, 50052),
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds each step waits for its outcome.")
    ] = 10.0,
) -> None:
    """Replay October 2015 over Syria between the Russian Ministry of Defence (ru-mod) and the US Department of
    Defense (us-dod) on a deconfliction channel.

    With no options it starts both nodes on loopback in a temporary folder, under the agreement of the
    20 Oct 2015 memorandum (guard frequencies 121.5 and 243.0 MHz, a 24-hour line between headquarters,
    separation minima, lead time, response timers, emergency over routine), and plays: Hello and the agreement
    check; the coalition's notices; about twenty Russian sorties over western Syria; the US operator's UNABLE to
    the one in conflict, Russia's amendment and the ACCEPT; ROGER to the rest; an incident report; the second
    video conference proposed with both drafts and the incident on its agenda, countered, accepted. Each step
    waits for the protocol's real outcome; the timeline and a summary close the run. Exit status 0, or 1 with
    the step whose outcome did not come.
    """
    if write_configs is not None:
        if nodes is not None or keep is not None:
            fail("--write-configs only writes files: it does not go with --nodes or --keep", EXIT_BAD_INPUT)
        _write_configs(write_configs, ports)
        return
    from deconflict.client.retry import RefusedError
    from deconflict.demo.observer import StepFailedError
    from deconflict.demo.runner import play, play_local

    out = console()
    try:
        if nodes is not None and keep is not None:
            # Against running nodes the folder holds only the documents the agenda refers to.
            keep.mkdir(parents=True, exist_ok=True)
            asyncio.run(play(nodes[0], nodes[1], keep, out, timeout=timeout))
        elif nodes is not None:
            with tempfile.TemporaryDirectory(prefix="deconflict-demo-") as temporary:
                asyncio.run(play(nodes[0], nodes[1], Path(temporary), out, timeout=timeout))
        elif keep is not None:
            if keep.exists() and any(keep.iterdir()):
                fail(f"{keep} is not empty: --keep wants a new or empty folder", EXIT_BAD_INPUT)
            asyncio.run(play_local(keep, out, timeout=timeout))
            out.print(f"The configurations, journals and documents are kept in {keep}.")
        else:
            with tempfile.TemporaryDirectory(prefix="deconflict-demo-") as temporary:
                asyncio.run(play_local(Path(temporary), out, timeout=timeout))
    except StepFailedError as error:
        fail(f"the demo stopped: {error}", EXIT_FAILED)
    except RefusedError as error:
        fail(f"the demo stopped: a node refused or could not be reached: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"the demo stopped: {error}", EXIT_FAILED)


def _write_configs(folder: Path, ports: tuple[int, int]) -> None:
    from deconflict.demo.nodes import write_configs

    files = write_configs(folder, ports=ports)
    out = console()
    out.print(f"Wrote {files.agreement}, {files.ru} and {files.us}.")
    out.print("Start the two nodes, each in a terminal of its own:")
    out.print(f"  deconflict serve --config {files.ru}")
    out.print(f"  deconflict serve --config {files.us}")
    out.print("then replay the scenario against them from a third one:")
    out.print(f"  deconflict demo --nodes {files.ru_address} {files.us_address}")
    out.print(f"and watch either side: deconflict watch --node {files.us_address}")
