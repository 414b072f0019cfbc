"""`deconflict key new | entry`: a party's Ed25519 signing key, and its entry for the channel agreements."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deconflict.cli.output import EXIT_BAD_INPUT, fail

if TYPE_CHECKING:
    from deconflict.security.signing import SigningKey

app = typer.Typer(
    help="Signing keys (DCF-SEC-006): every envelope and acknowledgement a node sends is signed with its party's "
    "Ed25519 key, named in the node config under [[signing.keys]]; the agreement of each channel holds the public "
    "half as a [[keys]] entry, so that the peer can verify.",
    no_args_is_help=True,
)

KeyIdOption = Annotated[str, typer.Option("--key-id", help="The key's id in the agreements, e.g. ru-mod/key-2025.")]
PartyOption = Annotated[str, typer.Option("--party", help="The party the key signs for.")]
ValidFromOption = Annotated[
    str, typer.Option("--valid-from", help="When the key becomes valid (RFC 3339 with offset); default: now.")
]


@app.command("new")
def new(
    file: Annotated[Path, typer.Argument(help="Where to write the private key (PKCS#8 PEM, readable by you only).")],
    key_id: KeyIdOption,
    party: PartyOption,
    valid_from: ValidFromOption = "",
) -> None:
    """Make a new key, write its private half to FILE and print what the agreement and the node config take."""
    from deconflict.security.signing import SigningKey

    start = _valid_from(valid_from)
    if file.exists():
        fail(f"{file} exists: a key is never overwritten", EXIT_BAD_INPUT)
    key = SigningKey.generate(key_id)
    key.write(file)
    _print(key, party, start, file)


@app.command("entry")
def entry(
    file: Annotated[Path, typer.Argument(help="A private key file (PKCS#8 PEM or 32 raw bytes).")],
    key_id: KeyIdOption,
    party: PartyOption,
    valid_from: ValidFromOption = "",
) -> None:
    """Print the agreement's [[keys]] entry of an existing key (its public half only)."""
    from deconflict.security.signing import SigningKeyError, read_signing_key

    start = _valid_from(valid_from)
    try:
        key = read_signing_key(key_id, file)
    except SigningKeyError as error:
        fail(str(error), EXIT_BAD_INPUT)
    _print(key, party, start, file)


def _valid_from(given: str) -> str:
    """The TOML datetime of the agreement entry: `given` checked, or now."""
    if not given:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        fail(f"--valid-from {given!r} is not a time such as 2025-01-01T00:00:00Z", EXIT_BAD_INPUT)
    if moment.utcoffset() is None:
        fail("--valid-from needs its offset, Z for UTC", EXIT_BAD_INPUT)
    return moment.isoformat()


def _print(key: SigningKey, party: str, valid_from: str, file: Path) -> None:
    # Plain text, never wrapped: it is TOML to paste.
    typer.echo("# The channel agreement (both parties hold the same bytes):")
    typer.echo(key.party_key_toml(party, valid_from).lstrip("\n"))
    typer.echo("# The node config of the party:")
    typer.echo(f'[[signing.keys]]\nkey_id = "{key.key_id}"\nfile = "{file}"')
