"""Options several commands share: which node to talk to, and on which channel."""

from __future__ import annotations

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
