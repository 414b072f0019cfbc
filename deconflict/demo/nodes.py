"""The two ministry nodes of the demo: their configuration files, and both started on loopback in one process.

`write_configs` writes what two `deconflict serve` processes need (the agreement, one TOML per party and each
party's demo signing key);
`local_nodes` starts the same two nodes inside the running event loop, for the demo and the examples.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deconflict.demo.scenario import AGREEMENT_TOML, DEMO_KEYS, RU, US
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer

DEFAULT_PORTS: Final = (50051, 50052)
POLICIES: Final = {
    "automatic": "ROGER when clear of every known notice, UNABLE naming the conflicts otherwise",
    "operator": "STANDBY at once; a person answers with `deconflict respond`",
}
_NAMES: Final = {RU: "the Russian Ministry of Defence", US: "the US Department of Defense"}


@dataclass(frozen=True, slots=True)
class NodeFiles:
    agreement: Path
    ru: Path
    us: Path
    ru_address: str
    us_address: str


def free_port() -> int:
    """A port free on 127.0.0.1 now; each node's config must name the other's before either starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def node_toml(party: str, port: int, peer: str, peer_port: int, policy: str) -> str:
    return (
        f"# The node of {_NAMES[party]} ({party}), as `deconflict demo --write-configs` writes it.\n"
        f'party = "{party}"\n'
        f'listen = "127.0.0.1:{port}"\n'
        "# Relative paths are relative to this file.\n"
        f'journal = "{party}.journal"\n'
        f"# {POLICIES[policy]}\n"
        f'policy = "{policy}"\n'
        "# Plaintext gRPC on loopback: for local experiments only.\n"
        "insecure = true\n"
        "\n"
        "[[channels]]\n"
        f'peer = "{peer}"\n'
        f'peer_address = "127.0.0.1:{peer_port}"\n'
        'agreement = "agreement.toml"\n'
        "\n"
        "# Its Ed25519 signing key, a DEMO KEY; the agreement holds the public half (DCF-SEC-006).\n"
        "[[signing.keys]]\n"
        f'key_id = "{DEMO_KEYS[party].key_id}"\n'
        f'file = "{party}.key"\n'
    )


def write_configs(
    folder: Path,
    *,
    ports: tuple[int, int] = DEFAULT_PORTS,
    ru_policy: str = "automatic",
    us_policy: str = "operator",
) -> NodeFiles:
    """The agreement and both node configurations in `folder`: the Russian node answers automatically, the US
    node leaves the answers to its operator (here, the demo)."""
    folder.mkdir(parents=True, exist_ok=True)
    ru_port, us_port = ports
    agreement = folder / "agreement.toml"
    agreement.write_text(AGREEMENT_TOML)
    for party, key in DEMO_KEYS.items():
        key.write(folder / f"{party}.key")
    ru = folder / f"{RU}.toml"
    us = folder / f"{US}.toml"
    ru.write_text(node_toml(RU, ru_port, US, us_port, ru_policy))
    us.write_text(node_toml(US, us_port, RU, ru_port, us_policy))
    return NodeFiles(agreement, ru, us, f"127.0.0.1:{ru_port}", f"127.0.0.1:{us_port}")


@dataclass(frozen=True, slots=True)
class LocalNodes:
    """Two running nodes: their servers (for a look inside) and the addresses of their operator APIs."""

    ru: NodeServer
    us: NodeServer
    files: NodeFiles

    @property
    def ru_address(self) -> str:
        return self.files.ru_address

    @property
    def us_address(self) -> str:
        return self.files.us_address


@asynccontextmanager
async def local_nodes(folder: Path, *, us_policy: str = "operator") -> AsyncIterator[LocalNodes]:
    """Both nodes started on free loopback ports, with their files in `folder`; stopped on exit."""
    files = write_configs(folder, ports=(free_port(), free_port()), us_policy=us_policy)
    ru = NodeServer(load_config(files.ru))
    us = NodeServer(load_config(files.us))
    await ru.start()
    try:
        await us.start()
    except BaseException:
        await ru.stop(grace=0)
        raise
    try:
        yield LocalNodes(ru, us, files)
    finally:
        await us.stop(grace=0)
        await ru.stop(grace=0)
