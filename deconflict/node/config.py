"""A node's configuration: a TOML file naming the party, where it listens, its journal and its channels.

```toml
party = "ru-mod"
listen = "127.0.0.1:50051"
journal = "ru-mod.journal"        # relative paths are relative to this file
policy = "automatic"              # or "operator": STANDBY at once, then an operator answers

[[channels]]
peer = "us-dod"
peer_address = "127.0.0.1:50052"
agreement = "agreement.toml"      # or the agreement's exact bytes, "agreement.binpb"

[testing]                         # conformance testing only; never on a real channel
enabled = true                    # serve the test-control API (also: deconflict serve --testing)
faults = ["skip-sequence-check"]  # a deliberately faulty variant (deconflict/node/faults.py)
```

The node keeps its operator alerts beside the journal, in `<journal>.alerts` (here ru-mod.journal.alerts).
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Self, TypeVar

from pydantic import Field, ValidationError, model_validator

from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.bridge.registry import binding_for
from deconflict.models.base import Message, field_violations, refuse_repeats
from deconflict.models.channel import Agreement
from deconflict.models.types import Identifier, ShortText
from deconflict.node.faults import Fault

M = TypeVar("M", bound=Message)


class ConfigError(ValueError):
    """A configuration or agreement file that cannot be used, with where and why."""


class ResponsePolicy(enum.StrEnum):
    # ROGER when no conflict and every frequency and contact is the agreement's, UNABLE otherwise (DCF-RSP-027).
    AUTOMATIC = "automatic"
    # STANDBY at once; a person answers ACCEPT / UNABLE / COUNTER from the CLI, except to a notice naming a
    # frequency or contact the agreement does not have, which the node answers UNABLE itself (DCF-RSP-028).
    OPERATOR = "operator"


class ChannelConfig(Message):
    peer: Identifier
    peer_address: ShortText = ""
    agreement: ShortText


class TestingConfig(Message):
    """Only for conformance testing: the test-control API, and deliberately faulty variants (node/faults.py)."""

    enabled: bool = False
    faults: list[Fault] = Field(default_factory=list, max_length=16)


class NodeConfig(Message):
    party: Identifier
    listen: ShortText = "127.0.0.1:0"
    journal: ShortText
    policy: ResponsePolicy = ResponsePolicy.AUTOMATIC
    # Plaintext gRPC, for local experiments only.
    insecure: bool = True
    channels: list[ChannelConfig] = Field(min_length=1, max_length=64)
    testing: TestingConfig = Field(default_factory=TestingConfig)

    @model_validator(mode="after")
    def _distinct_peers(self) -> Self:
        refuse_repeats("channels", [c.peer for c in self.channels], "peer", key="peer")
        return self


@dataclass(frozen=True, slots=True)
class ChannelAgreement:
    """An agreement as this node holds it: the exact bytes, their hash and the validated model."""

    model: Agreement
    data: bytes
    sha256: bytes

    @property
    def channel_id(self) -> str:
        return self.model.channel_id


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    config: NodeConfig
    journal_path: Path
    agreements: dict[str, ChannelAgreement]  # by peer


def load_agreement(path: Path) -> ChannelAgreement:
    """An agreement from its exact bytes (.binpb) or from TOML, serialized once here."""
    try:
        if path.suffix == ".binpb":
            data = path.read_bytes()
            model = binding_for(Agreement).decode(data)
        else:
            model = Agreement.model_validate(tomllib.loads(path.read_text()))
            data = agreement_bytes(model)
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not TOML: {error}") from None
    except ValidationError as error:
        raise ConfigError(_describe(path, error)) from None
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None
    return ChannelAgreement(model=model, data=data, sha256=agreement_hash(data))


def read_toml(path: Path, model: type[M]) -> M:
    """A TOML file read into `model`; ConfigError names the file and the field at fault."""
    try:
        return model.model_validate(tomllib.loads(path.read_text()))
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not TOML: {error}") from None
    except ValidationError as error:
        raise ConfigError(_describe(path, error)) from None


def load_config(path: Path) -> LoadedConfig:
    """Read and check a node configuration and every agreement it names."""
    config = read_toml(path, NodeConfig)
    base = path.parent
    agreements: dict[str, ChannelAgreement] = {}
    for index, channel in enumerate(config.channels):
        agreement = load_agreement(base / channel.agreement)
        parties = set(agreement.model.parties)
        if parties != {config.party, channel.peer}:
            raise ConfigError(
                f"{path}: channels[{index}]: the agreement {channel.agreement} is between "
                f"{' and '.join(sorted(parties))}, not {config.party} and {channel.peer}"
            )
        agreements[channel.peer] = agreement
    ids = [a.channel_id for a in agreements.values()]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: two channels share a channel_id")
    return LoadedConfig(config=config, journal_path=base / config.journal, agreements=agreements)


def _describe(path: Path, error: ValidationError) -> str:
    return "\n".join(f"{path}: {field or '(file)'}: {sentence}" for field, sentence in field_violations(error))
