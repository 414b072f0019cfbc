"""The target file: which party the suite checks, where it is (or how to start it) and what it claims.

```toml
party = "party-under-test"           # the party under test; the suite plays the other party of the agreement
agreement = "agreement.toml"         # the channel's agreement, the same file the party under test loads
features = ["core", "streaming"]     # what the party claims (DCF-GEN-013): core, streaming, journal, tls, signing

address = "127.0.0.1:7400"           # a party already running, with its test-control API on
# or, instead of address, a command that starts one and prints "serving on HOST:PORT" (stdout or stderr);
# {dir} is replaced with this file's folder:
# command = ["deconflict", "serve", "--config", "{dir}/node.toml", "--testing"]

known_failing = []                   # case names expected to fail: reported, not counted; one that passes fails
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, model_validator

from deconflict.models.base import Message
from deconflict.models.types import Identifier, ShortText
from deconflict.node.config import ChannelAgreement, ConfigError, load_agreement, read_toml

FEATURES = ("core", "streaming", "journal", "tls", "signing")


class TargetFile(Message):
    party: Identifier
    agreement: ShortText
    features: list[ShortText] = Field(default_factory=lambda: ["core"], max_length=len(FEATURES))
    address: ShortText = ""
    command: list[str] = Field(default_factory=list, max_length=64)
    known_failing: list[ShortText] = Field(default_factory=list, max_length=1024)

    @model_validator(mode="after")
    def _where(self) -> TargetFile:
        if bool(self.address) == bool(self.command):
            raise ValueError("give either address or command")
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown:
            raise ValueError(f"features: unknown {', '.join(unknown)}; known are {', '.join(FEATURES)}")
        return self


@dataclass(frozen=True)
class Target:
    """A party under test, as the suite sees it."""

    party: str
    suite_party: str
    agreement: ChannelAgreement
    features: frozenset[str]
    address: str = ""
    command: tuple[str, ...] = ()
    known_failing: frozenset[str] = field(default_factory=frozenset)

    @property
    def channel_id(self) -> str:
        return self.agreement.channel_id


def load_target(path: Path) -> Target:
    """Read and check a target file and the agreement it names; ConfigError says where and why."""
    data = read_toml(path, TargetFile)
    agreement = load_agreement(path.parent / data.agreement)
    parties = agreement.model.parties
    if data.party not in parties:
        raise ConfigError(f"{path}: party {data.party} is not a party of the agreement ({', '.join(parties)})")
    folder = str(path.parent.resolve())
    return Target(
        party=data.party,
        suite_party=next(p for p in parties if p != data.party),
        agreement=agreement,
        features=frozenset(data.features),
        address=data.address,
        command=tuple(part.replace("{dir}", folder) for part in data.command),
        known_failing=frozenset(data.known_failing),
    )


def packaged_agreement() -> Path:
    """The conformance agreement shipped with the suite (short timers)."""
    return Path(__file__).with_name("agreement.toml")
