"""Options several commands share: which node to talk to, as whom, and on which channel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import typer

DEFAULT_NODE: Final = "127.0.0.1:50051"

NodeOption = Annotated[
    str,
    typer.Option("--node", "-n", help="Your party's node: the address of its operator API.", envvar="DECONFLICT_NODE"),
]
ChannelOption = Annotated[
    str | None,
    typer.Option("--channel", help="The channel, by its id (e.g. ru-mod:us-dod); default: the node's only channel."),
]
IdentityOption = Annotated[
    Path | None,
    typer.Option(
        "--identity",
        "-i",
        help="Your operator credentials: the folder `deconflict pki operator` wrote (operator.crt, operator.key "
        "and your party's ca.crt). Without it the command talks plaintext, to a node started --insecure.",
        envvar="DECONFLICT_IDENTITY",
    ),
]


@dataclass(frozen=True, slots=True)
class NodeTarget:
    """Your node's operator API, and who you are there (None: plaintext)."""

    address: str
    identity: Path | None = None

    def __str__(self) -> str:
        return self.address
