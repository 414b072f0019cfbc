"""`deconflict pki`: the certificates of mutual TLS: a CA per party, its node's certificate, its operators'."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deconflict.cli.output import EXIT_BAD_INPUT, console, fail

if TYPE_CHECKING:
    from deconflict.security.pki import Written

app = typer.Typer(
    help=(
        "Certificates for mutual TLS between nodes (DCF-SEC-001): a CA per party, the node's certificate (its "
        "only URI: urn:deconflict:party:PARTY) and operators' certificates "
        "(urn:deconflict:operator:PARTY/NAME), ECDSA P-256, keys readable by their owner only."
    ),
    no_args_is_help=True,
)

DEFAULT_OPERATOR = "duty-officer"


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="Where to write DIR/PARTY/... (created if need be).")],
    parties: Annotated[
        list[str],
        typer.Option("--party", "-p", help="A party to make a CA and a node certificate for (repeatable)."),
    ],
    operators: Annotated[
        list[str] | None,
        typer.Option(
            "--operator",
            help=f"An operator of each party to make a certificate for (repeatable; default {DEFAULT_OPERATOR}).",
        ),
    ] = None,
    ca_days: Annotated[int, typer.Option("--ca-days", min=1, help="Days the CAs are valid.")] = 5 * 365,
    days: Annotated[
        int, typer.Option("--days", min=1, help="Days the node and operator certificates are valid.")
    ] = 397,
) -> None:
    """Create each party's CA, its node's certificate (server and client) and an operator's certificate.

    Each party keeps DIR/PARTY/ca.key to itself and gives DIR/PARTY/ca.crt to its peers: in their node
    configuration it is the channel's `peer_ca`. The node configuration names DIR/PARTY/node.crt, node.key
    and ca.crt in its [tls] section; an operator passes DIR/PARTY/operators/NAME to the operator commands
    (--identity). On a real channel each party runs this for itself alone; the demo makes both.
    """
    from deconflict.security.identity import valid_operator_name
    from deconflict.security.pki import PkiError, add_operator, init_party

    names = operators if operators is not None else [DEFAULT_OPERATOR]
    _check_names(parties, names)
    if not all(valid_operator_name(name) for name in names):
        fail("--operator: a name is letters, digits, '.', '_' and '-', without '/'", EXIT_BAD_INPUT)
    written: list[Written] = []
    try:
        for party in parties:
            written += init_party(folder, party, ca_days=ca_days, node_days=days)
            written += [add_operator(folder, party, name, days=days) for name in names]
    except (PkiError, OSError) as error:
        _show(written)
        fail(str(error), EXIT_BAD_INPUT)
    _show(written)


@app.command("operator")
def operator(
    folder: Annotated[Path, typer.Argument(help="The folder `deconflict pki init` wrote.")],
    party: Annotated[str, typer.Option("--party", "-p", help="The operator's party, whose CA signs.")],
    name: Annotated[str, typer.Option("--name", help="The operator's name: letters, digits, '.', '_', '-'.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Days the certificate is valid.")] = 397,
) -> None:
    """Create an operator's certificate, urn:deconflict:operator:PARTY/NAME, signed by the party's CA.

    It goes into DIR/PARTY/operators/NAME with a copy of the party's CA certificate; pass that folder to the
    operator commands (--identity). A node serves its operator API to its own party's operators only.
    """
    from deconflict.security.identity import valid_operator_name
    from deconflict.security.pki import PkiError, add_operator

    _check_names([party], [])
    if not valid_operator_name(name):
        fail("--name: letters, digits, '.', '_' and '-', without '/'", EXIT_BAD_INPUT)
    try:
        written = add_operator(folder, party, name, days=days)
    except (PkiError, OSError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    _show([written])


def _check_names(parties: list[str], names: list[str]) -> None:
    from deconflict.security.identity import valid_party

    for party in parties:
        # A party id is an identifier of the protocol; ':' would be read as a port by grpc's name check.
        if not valid_party(party) or ":" in party or "/" in party:
            fail(f"--party {party!r}: a party id is letters, digits, '.' and '-'", EXIT_BAD_INPUT)
    if len(set(parties)) != len(parties):
        fail("--party: each party once", EXIT_BAD_INPUT)


def _show(written: list[Written]) -> None:
    if not written:
        return
    table = Table(title="Written (private keys readable by their owner only)", title_justify="left")
    for column in ("what", "identity", "certificate", "private key", "valid until"):
        table.add_column(column)
    for item in written:
        table.add_row(item.what, item.identity, str(item.certificate), str(item.key), f"{item.not_after:%Y-%m-%d}")
    console().print(table)
