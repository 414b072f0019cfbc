"""The two ministry nodes of the demo: their configuration files, and both started on loopback in one process.

`write_configs` writes what two `deconflict serve` processes need (the agreement, one TOML per party with
mutual TLS over the certificates of `deconflict pki init DIR/pki`, or plaintext with `insecure`, and each party's
demo signing key); `local_nodes` starts the same two nodes inside the running event loop, for the demo and the
examples, with certificates it makes in the folder.
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
from deconflict.security.credentials import ClientTls, operator_tls
from deconflict.security.pki import add_operator, init_party, operator_folder

# Where the nodes' configurations look for their certificates, relative to them.
PKI_FOLDER: Final = "pki"
# The operator `deconflict pki init` makes for each party by default, whom the demo plays.
OPERATOR: Final = "duty-officer"

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


def node_toml(party: str, port: int, peer: str, peer_port: int, policy: str, *, insecure: bool = False) -> str:
    pki = PKI_FOLDER
    security = (
        "# Plaintext gRPC on loopback: for local experiments only.\ninsecure = true\n"
        if insecure
        else "\n"
        "# Mutual TLS: the certificates of `deconflict pki init pki --party ru-mod --party us-dod`.\n"
        "[tls]\n"
        f'certificate = "{pki}/{party}/node.crt"\n'
        f'key = "{pki}/{party}/node.key"\n'
        "# Our own CA: its certificates are our operators'.\n"
        f'ca = "{pki}/{party}/ca.crt"\n'
    )
    return (
        f"# The node of {_NAMES[party]} ({party}), as `deconflict demo --write-configs` writes it.\n"
        f'party = "{party}"\n'
        f'listen = "127.0.0.1:{port}"\n'
        "# Relative paths are relative to this file.\n"
        f'journal = "{party}.journal"\n'
        f"# {POLICIES[policy]}\n"
        f'policy = "{policy}"\n'
        f"{security}"
        "\n"
        "[[channels]]\n"
        f'peer = "{peer}"\n'
        f'peer_address = "127.0.0.1:{peer_port}"\n'
        'agreement = "agreement.toml"\n'
        + ("" if insecure else f"# The peer's CA: trusted for this channel, and for {peer} alone.\n")
        + ("" if insecure else f'peer_ca = "{pki}/{peer}/ca.crt"\n')
        + "\n"
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
    insecure: bool = False,
) -> NodeFiles:
    """The agreement and both node configurations in `folder`: the Russian node answers automatically, the US
    node leaves the answers to its operator (here, the demo). With TLS they name the certificates in
    folder/pki, which `deconflict pki init` (or make_pki) writes."""
    folder.mkdir(parents=True, exist_ok=True)
    ru_port, us_port = ports
    agreement = folder / "agreement.toml"
    agreement.write_text(AGREEMENT_TOML)
    for party, key in DEMO_KEYS.items():
        key.write(folder / f"{party}.key")
    ru = folder / f"{RU}.toml"
    us = folder / f"{US}.toml"
    ru.write_text(node_toml(RU, ru_port, US, us_port, ru_policy, insecure=insecure))
    us.write_text(node_toml(US, us_port, RU, ru_port, us_policy, insecure=insecure))
    return NodeFiles(agreement, ru, us, f"127.0.0.1:{ru_port}", f"127.0.0.1:{us_port}")


def make_pki(folder: Path) -> None:
    """What `deconflict pki init folder --party ru-mod --party us-dod` writes: a CA, a node certificate and an
    operator (OPERATOR) for each party."""
    for party in (RU, US):
        init_party(folder, party)
        add_operator(folder, party, OPERATOR)


def operators(pki: Path) -> dict[str, ClientTls]:
    """The credentials of each party's OPERATOR, as written in `pki`."""
    return {party: operator_tls(operator_folder(pki, party, OPERATOR)) for party in (RU, US)}


@dataclass(frozen=True, slots=True)
class LocalNodes:
    """Two running nodes: their servers (for a look inside), the addresses of their operator APIs and the
    credentials of each party's operator there."""

    ru: NodeServer
    us: NodeServer
    files: NodeFiles
    operators: dict[str, ClientTls]

    @property
    def ru_operator(self) -> ClientTls:
        return self.operators[RU]

    @property
    def us_operator(self) -> ClientTls:
        return self.operators[US]

    @property
    def ru_address(self) -> str:
        return self.files.ru_address

    @property
    def us_address(self) -> str:
        return self.files.us_address


@asynccontextmanager
async def local_nodes(folder: Path, *, us_policy: str = "operator") -> AsyncIterator[LocalNodes]:
    """Both nodes started on free loopback ports with mutual TLS, with their files and certificates in `folder`;
    stopped on exit."""
    make_pki(folder / PKI_FOLDER)
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
        yield LocalNodes(ru, us, files, operators(folder / PKI_FOLDER))
    finally:
        await us.stop(grace=0)
        await ru.stop(grace=0)
