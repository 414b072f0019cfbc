"""`deconflict demo`: October 2015 replayed between two ministry nodes."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deconflict.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail

if TYPE_CHECKING:
    from deconflict.security.credentials import ClientTls


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
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="With --write-configs: plaintext nodes, no certificates (local experiments only); with --nodes: "
            "talk plaintext to nodes started that way.",
        ),
    ] = False,
    pki: Annotated[
        Path | None,
        typer.Option(
            "--pki",
            metavar="DIR",
            help="With --nodes: the folder `deconflict pki init` wrote (DIR/pki beside the configurations of "
            "--write-configs DIR); the demo acts as each party's duty-officer.",
        ),
    ] = None,
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
        if nodes is not None or keep is not None or pki is not None:
            fail("--write-configs only writes files: it does not go with --nodes, --keep or --pki", EXIT_BAD_INPUT)
        _write_configs(write_configs, ports, insecure)
        return
    if nodes is None and (insecure or pki is not None):
        fail("--insecure and --pki go with --nodes or --write-configs", EXIT_BAD_INPUT)
    if nodes is not None and not insecure and pki is None:
        fail("--nodes needs --pki DIR, the operators' certificates (or --insecure for plaintext nodes)", EXIT_BAD_INPUT)
    from deconflict.client.retry import RefusedError
    from deconflict.demo.observer import StepFailedError
    from deconflict.demo.runner import play, play_local

    out = console()
    try:
        operators = None if nodes is None or insecure else _operators(pki)
        if nodes is not None and keep is not None:
            # Against running nodes the folder holds only the documents the agenda refers to.
            keep.mkdir(parents=True, exist_ok=True)
            asyncio.run(play(nodes[0], nodes[1], keep, out, timeout=timeout, operators=operators))
        elif nodes is not None:
            with tempfile.TemporaryDirectory(prefix="deconflict-demo-") as temporary:
                asyncio.run(play(nodes[0], nodes[1], Path(temporary), out, timeout=timeout, operators=operators))
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


def _operators(pki: Path | None) -> dict[str, ClientTls]:
    from deconflict.demo.nodes import operators
    from deconflict.security.credentials import CredentialsError

    assert pki is not None
    try:
        return operators(pki)
    except CredentialsError as error:
        fail(f"--pki: {error} (deconflict pki init {pki} --party ru-mod --party us-dod)", EXIT_BAD_INPUT)


def _write_configs(folder: Path, ports: tuple[int, int], insecure: bool) -> None:
    from deconflict.demo.nodes import OPERATOR, PKI_FOLDER, write_configs

    files = write_configs(folder, ports=ports, insecure=insecure)
    pki = folder / PKI_FOLDER
    out = console()
    out.print(f"Wrote {files.agreement}, {files.ru} and {files.us}.")
    if not insecure and not (pki / "ru-mod" / "node.crt").exists():
        out.print("Make the certificates they name (mutual TLS):")
        out.print(f"  deconflict pki init {pki} --party ru-mod --party us-dod")
    out.print("Start the two nodes, each in a terminal of its own:")
    out.print(f"  deconflict serve --config {files.ru}")
    out.print(f"  deconflict serve --config {files.us}")
    out.print("then replay the scenario against them from a third one:")
    if insecure:
        out.print(f"  deconflict demo --nodes {files.ru_address} {files.us_address} --insecure")
        out.print(f"and watch either side: deconflict watch --node {files.us_address}")
    else:
        out.print(f"  deconflict demo --nodes {files.ru_address} {files.us_address} --pki {pki}")
        identity = pki / "us-dod" / "operators" / OPERATOR
        out.print(f"and watch either side: deconflict watch --node {files.us_address} --identity {identity}")
