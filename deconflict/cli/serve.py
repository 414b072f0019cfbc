"""`deconflict serve`: run one party's ministry node until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deconflict.cli.output import EXIT_BAD_INPUT, fail

if TYPE_CHECKING:
    from deconflict.node.config import LoadedConfig
    from deconflict.node.node import Node
    from deconflict.operator.v1 import operator_service_pb2 as pb

log = logging.getLogger("deconflict.serve")

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


def serve(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="The node's TOML configuration: party, listen address, journal, response policy and channels "
            "(each naming its peer, the peer's address and the bilateral agreement).",
        ),
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log warnings and alerts only.")] = False,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Plaintext gRPC without TLS, whatever the configuration says: nobody is authenticated, the peer "
            "is whoever connects. For local experiments only; the node logs a warning (DCF-SEC-005).",
        ),
    ] = False,
    testing: Annotated[
        bool,
        typer.Option(
            "--testing",
            help="Serve the test-control API (reset, originate, read what was stored) for `deconflict conformance`. "
            "For conformance testing only: anyone who reaches the port can wipe the node.",
        ),
    ] = False,
) -> None:
    """Run your party's ministry node: the channel's end that stores, acknowledges and answers.

    The node says Hello to each peer with the agreement's hash, keeps heartbeats going, delivers every
    message it stores until the peer acknowledges it, answers incoming notices by its response policy
    (automatic: ROGER, or UNABLE naming the conflicts; operator: STANDBY, then a person answers with
    `deconflict respond`), and sends a timeout when a response it waits for does not come. It logs one line
    per message in and out and per acknowledgement, and stops gracefully on SIGTERM or Ctrl-C.

    It serves mutual TLS (the [tls] section: `deconflict pki init` makes the certificates): a caller without
    a certificate from a trusted CA is refused in the handshake, the peer is the party its certificate names,
    and the operator API answers only this party's operators. `--insecure` (or `insecure = true`) serves
    plaintext, for local experiments.

    A configuration, agreement or certificate that cannot be used exits with status 2, naming the file and the
    field.
    """
    from deconflict.node.config import ConfigError, load_config

    try:
        loaded = load_config(config, insecure=insecure)
    except ConfigError as error:
        fail(f"the configuration cannot be used; the node was not started\n{error}", EXIT_BAD_INPUT)
    if testing:
        config_model = loaded.config
        enabled = config_model.testing.model_copy(update={"enabled": True})
        loaded = replace(loaded, config=config_model.model_copy(update={"testing": enabled}))
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format=LOG_FORMAT)
    asyncio.run(_serve(loaded, config))


async def _serve(loaded: LoadedConfig, path: Path) -> None:
    from deconflict.journal.base import JournalError
    from deconflict.node.server import NodeServer

    server = NodeServer(loaded)
    try:
        port = await server.start()
    except OSError as error:
        await server.node.close()
        fail(f"{path}: listen: {error}")
    except JournalError as error:
        fail(f"{path}: journal: {error}")
    node = server.node
    config = loaded.config
    host = config.listen.rsplit(":", 1)[0]
    log.info(
        "%s serving on %s:%d (%s), response policy %s",
        node.party,
        host,
        port,
        "mutual TLS" if loaded.tls is not None else "plaintext: for local experiments only",
        config.policy.value,
    )
    for peer, agreement in loaded.agreements.items():
        channel = node.ledger.channels[agreement.channel_id]
        log.info(
            "channel %s with %s at %s: agreement v%d sha256 %s",
            agreement.channel_id,
            peer,
            channel.peer_address or "(it connects to us)",
            agreement.model.version,
            agreement.sha256.hex()[:16],
        )
    queue = node.watch()
    logger = asyncio.get_running_loop().create_task(_log_events(node, queue))
    try:
        await server.serve_until_signal()
    finally:
        logger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await logger
        node.unwatch(queue)
    log.info("%s stopped", node.party)


async def _log_events(node: Node, queue: asyncio.Queue[pb.Event]) -> None:
    """One line per message in and out, per acknowledgement and per liveness change.

    Alerts are left out: the node logs them itself, as warnings.
    """
    from deconflict.cli.describe import event_line, event_row

    while True:
        event = await queue.get()
        if event.HasField("alert"):
            continue
        log.info("%s %s", node.party, event_line(event_row(event)))
