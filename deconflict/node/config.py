"""A node's configuration: a TOML file naming the party, where it listens, its journal and its channels.

```toml
party = "ru-mod"
listen = "127.0.0.1:50051"
journal = "ru-mod.journal"        # relative paths are relative to this file
policy = "automatic"              # or "operator": STANDBY at once, then an operator answers
# insecure = true                 # plaintext gRPC, no [tls]: local experiments only (DCF-SEC-005)

[tls]                             # mutual TLS (DCF-SEC-001), as `deconflict pki init` writes the files
certificate = "pki/ru-mod/node.crt"   # this node's certificate: URI urn:deconflict:party:ru-mod
key = "pki/ru-mod/node.key"
ca = "pki/ru-mod/ca.crt"          # this party's CA: the anchor of its own operators' certificates

[[channels]]
peer = "us-dod"
peer_address = "127.0.0.1:50052"
agreement = "agreement.toml"      # or the agreement's exact bytes, "agreement.binpb"
peer_ca = "pki/us-dod/ca.crt"     # the peer's CA: the only anchor of this channel, and of the peer alone

[[signing.keys]]                  # this party's Ed25519 private key (DCF-SEC-006): PKCS#8 PEM or 32 raw bytes
key_id = "ru-mod/key-2025"        # its PartyKey in every agreement; a second [[signing.keys]] during a rotation
file = "ru-mod.key"

[testing]                         # conformance testing only; never on a real channel
enabled = true                    # serve the test-control API (also: deconflict serve --testing)
faults = ["skip-sequence-check"]  # a deliberately faulty variant (deconflict/node/faults.py)
clients = ["urn:deconflict:party:conformance-suite"]   # with TLS: who may use the test-control API
```

`[signing] required = false` lets a node take unsigned payloads and run without keys: for local experiments
only (DCF-SEC-014). The agreement names each party's public keys, base64 in its TOML form:

```toml
[[keys]]
key_id = "ru-mod/key-2025"
party = "ru-mod"
ed25519_public_key = "QmFzZTY0IG9mIHRoZSAzMi1ieXRlIHB1YmxpYyBrZXk="
valid_from = 2025-01-01T00:00:00Z
```

The node keeps its operator alerts beside the journal, in `<journal>.alerts` (here ru-mod.journal.alerts).
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import Field, ValidationError, model_validator

from deconflict import limits
from deconflict.bridge.channel import agreement_bytes, agreement_hash
from deconflict.bridge.registry import binding_for
from deconflict.models.base import Message, field_violations, refuse, refuse_repeats
from deconflict.models.channel import Agreement
from deconflict.models.types import Identifier, ShortText
from deconflict.node.faults import Fault
from deconflict.security.credentials import NodeTls
from deconflict.security.identity import Identity, Kind, identity_of_certificate, identity_of_uri
from deconflict.security.signing import (
    SigningKey,
    SigningKeyError,
    key_problem,
    public_key_from_base64,
    read_signing_key,
)
from deconflict.security.trust import chains_to

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
    # PEM: the CA certificate(s) of the peer's party; with TLS, required.
    peer_ca: ShortText = ""


class TlsConfig(Message):
    """This node's certificate (and any intermediate CAs after it), its key, and its own party's CA."""

    certificate: ShortText
    key: ShortText
    ca: ShortText


class TestingConfig(Message):
    """Only for conformance testing: the test-control API, and deliberately faulty variants (node/faults.py)."""

    enabled: bool = False
    faults: list[Fault] = Field(default_factory=list, max_length=16)
    # With TLS, the identities (certificate URIs) the test-control API serves; nobody else may use it.
    clients: list[ShortText] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _identities(self) -> Self:
        for index, uri in enumerate(self.clients):
            if identity_of_uri(uri) is None:
                raise refuse(f"clients.{index}", "is not an identity: urn:deconflict:party:P or operator:P/NAME")
        return self


class SigningKeyFile(Message):
    key_id: Identifier
    file: ShortText


class SigningConfig(Message):
    """This party's signing keys; `required = false` only for local experiments (DCF-SEC-014)."""

    required: bool = True
    keys: list[SigningKeyFile] = Field(default_factory=list, max_length=limits.MAX_SIGNATURES)

    @model_validator(mode="after")
    def _distinct_keys(self) -> Self:
        refuse_repeats("keys", [k.key_id for k in self.keys], "key_id", key="key_id")
        return self


class NodeConfig(Message):
    party: Identifier
    listen: ShortText = "127.0.0.1:0"
    journal: ShortText
    policy: ResponsePolicy = ResponsePolicy.AUTOMATIC
    # Plaintext gRPC, for local experiments only (DCF-SEC-005): never the default.
    insecure: bool = False
    tls: TlsConfig | None = None
    # Conflict checks in a worker process beside the event loop (node/assessor.py); false keeps them in the node's.
    conflict_worker: bool = True
    channels: list[ChannelConfig] = Field(min_length=1, max_length=64)
    testing: TestingConfig = Field(default_factory=TestingConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)

    @model_validator(mode="after")
    def _distinct_peers(self) -> Self:
        refuse_repeats("channels", [c.peer for c in self.channels], "peer", key="peer")
        if self.signing.required and not self.signing.keys:
            raise refuse("signing.keys", "must name this party's signing key, unless signing.required = false")
        return self

    @model_validator(mode="after")
    def _tls_unless_insecure(self) -> Self:
        if self.insecure:
            return self
        if self.tls is None:
            raise refuse("tls", "is required: a node serves mutual TLS unless insecure = true (local experiments)")
        for index, channel in enumerate(self.channels):
            if not channel.peer_ca:
                raise refuse(f"channels.{index}.peer_ca", "is required with TLS: the peer's CA certificate")
            if ":" in channel.peer:
                # grpc reads "a:b" as host and port when it checks the name on the peer's certificate.
                raise refuse(f"channels.{index}.peer", "must not contain ':' with TLS")
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
    tls: NodeTls | None = None  # None: plaintext (insecure)
    signing_keys: tuple[SigningKey, ...] = ()


def load_agreement(path: Path) -> ChannelAgreement:
    """An agreement from its exact bytes (.binpb) or from TOML, serialized once here."""
    try:
        if path.suffix == ".binpb":
            data = path.read_bytes()
            model = binding_for(Agreement).decode(data)
        else:
            model = Agreement.model_validate(decode_public_keys(tomllib.loads(path.read_text())))
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


def read_toml(path: Path, model: type[M], **overrides: object) -> M:
    """A TOML file read into `model` (with `overrides` of its top-level keys); ConfigError names the file and
    the field at fault."""
    try:
        return model.model_validate({**tomllib.loads(path.read_text()), **overrides})
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not TOML: {error}") from None
    except ValidationError as error:
        raise ConfigError(_describe(path, error)) from None


def load_config(path: Path, *, insecure: bool = False) -> LoadedConfig:
    """Read and check a node configuration, every agreement and every certificate it names.

    `insecure` (deconflict serve --insecure) makes it plaintext whatever the file says.
    """
    config = read_toml(path, NodeConfig, **({"insecure": True} if insecure else {}))
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
    keys = _signing_keys(path, config)
    for index, channel in enumerate(config.channels):
        problem = key_problem(config.party, channel.peer, keys, agreements[channel.peer].model, config.signing.required)
        if problem:
            raise ConfigError(f"{path}: channels[{index}]: {channel.agreement}: {problem}")
    tls = None if config.insecure else load_tls(path, config)
    return LoadedConfig(
        config=config, journal_path=base / config.journal, agreements=agreements, tls=tls, signing_keys=keys
    )


def load_tls(path: Path, config: NodeConfig) -> NodeTls:
    """The TLS files a configuration names, read and checked now, so that a node never starts with files that
    would fail its first handshake: the certificate names this party (DCF-SEC-002), its CA is tls.ca, the key
    is the certificate's, and every peer's CA file holds certificates."""
    assert config.tls is not None  # NodeConfig requires it unless insecure
    base = path.parent

    def read(field: str, name: str) -> bytes:
        try:
            return (base / name).read_bytes()
        except OSError as error:
            raise ConfigError(f"{path}: {field}: {base / name}: {error.strerror or error}") from None

    def certificates(field: str, data: bytes) -> list[x509.Certificate]:
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError as error:
            raise ConfigError(f"{path}: {field}: not PEM certificates ({error})") from None
        if not found:
            raise ConfigError(f"{path}: {field}: holds no certificate")
        return found

    chain = read("tls.certificate", config.tls.certificate)
    key = read("tls.key", config.tls.key)
    own = read("tls.ca", config.tls.ca)
    mine = certificates("tls.certificate", chain)
    expected = Identity(Kind.PARTY, config.party)
    named = identity_of_certificate(mine[0])
    if named != expected:
        raise ConfigError(f"{path}: tls.certificate: names {named or 'no identity'}, not {expected} (DCF-SEC-002)")
    if not chains_to(mine[0], certificates("tls.ca", own), mine[1:]):
        raise ConfigError(f"{path}: tls.certificate: was not issued by the CA of tls.ca")
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path}: tls.key: not an unencrypted PEM private key ({error})") from None
    if _public(private.public_key()) != _public(mine[0].public_key()):
        raise ConfigError(f"{path}: tls.key: is not the key of tls.certificate")
    peers: dict[str, bytes] = {}
    for index, channel in enumerate(config.channels):
        field = f"channels[{index}].peer_ca"
        peers[channel.peer] = read(field, channel.peer_ca)
        certificates(field, peers[channel.peer])
    return NodeTls(config.party, chain, key, own, peers)


def _public(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signing_keys(path: Path, config: NodeConfig) -> tuple[SigningKey, ...]:
    try:
        return tuple(read_signing_key(key.key_id, path.parent / key.file) for key in config.signing.keys)
    except SigningKeyError as error:
        raise ConfigError(f"{path}: signing.keys: {error}") from None


def decode_public_keys(data: dict[str, Any]) -> dict[str, Any]:
    """The TOML form of an agreement gives each ed25519_public_key in base64: the model takes the raw bytes."""
    keys = data.get("keys")
    if not isinstance(keys, list):
        return data
    decoded = []
    for index, key in enumerate(keys):
        text = key.get("ed25519_public_key") if isinstance(key, dict) else None
        if isinstance(text, str):
            try:
                key = {**key, "ed25519_public_key": public_key_from_base64(text)}
            except ValueError as error:
                raise ValueError(f"keys[{index}].ed25519_public_key: {error}") from None
        decoded.append(key)
    return {**data, "keys": decoded}


def _describe(path: Path, error: ValidationError) -> str:
    return "\n".join(f"{path}: {field or '(file)'}: {sentence}" for field, sentence in field_violations(error))
