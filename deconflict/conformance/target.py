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
# suite_key = "suite.pem"            # the suite's private key, when the agreement names another than its test key

[tls]                                # with the tls feature: the suite calls (and listens) with mutual TLS
certificate = "pki/conformance-suite/node.crt"   # the suite's certificate, urn:deconflict:party:<its party>
key = "pki/conformance-suite/node.key"
party_ca = "pki/party-under-test/ca.crt"         # the party's CA, which its server certificate chains to
ca = "pki/conformance-suite/ca.crt"              # optional: the suite's CA, which the party trusts for the channel,
ca_key = "pki/conformance-suite/ca.key"          # and its key: the tls cases make expired and impostor certificates
```

The party under test trusts the suite's CA for the channel (its peer's CA) and serves the test-control API to
the suite's certificate ([testing] clients of the reference node).

The suite signs what it sends with the key the agreement names for its party (DCF-SEC-006): by default the test
key published with it (keys/conformance-suite.test-key.pem), whose public half the packaged agreement holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
from pydantic import Field, model_validator

from deconflict.models.base import Message, refuse
from deconflict.models.types import Identifier, ShortText
from deconflict.node.config import ChannelAgreement, ConfigError, load_agreement, read_toml
from deconflict.security.credentials import ClientTls
from deconflict.security.pki import Authority, PkiError, load_authority_files
from deconflict.security.signing import SigningKey, SigningKeyError, read_signing_key

FEATURES = ("core", "streaming", "journal", "tls", "signing")


class TargetTlsFile(Message):
    certificate: ShortText
    key: ShortText
    party_ca: ShortText
    ca: ShortText = ""
    ca_key: ShortText = ""


class TargetFile(Message):
    party: Identifier
    agreement: ShortText
    features: list[ShortText] = Field(default_factory=lambda: ["core"], max_length=len(FEATURES))
    address: ShortText = ""
    command: list[str] = Field(default_factory=list, max_length=64)
    known_failing: list[ShortText] = Field(default_factory=list, max_length=1024)
    tls: TargetTlsFile | None = None
    suite_key: ShortText = ""

    @model_validator(mode="after")
    def _where(self) -> TargetFile:
        if bool(self.address) == bool(self.command):
            raise ValueError("give either address or command")
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown:
            raise ValueError(f"features: unknown {', '.join(unknown)}; known are {', '.join(FEATURES)}")
        if "tls" in self.features and self.tls is None:
            raise refuse("tls", "is required with the tls feature: the suite's certificate and the party's CA")
        return self


@dataclass(frozen=True)
class SuiteTls:
    """The suite's side of mutual TLS: its certificate as the peer party, the party's CA, and (optionally) its
    own CA, with which the tls cases make the certificates they need."""

    certificate_chain: bytes
    key: bytes
    party_ca: bytes
    authority: Authority | None = None

    def client(self, party: str) -> ClientTls:
        """How the suite calls the party under test."""
        return ClientTls(self.certificate_chain, self.key, self.party_ca, party)

    def server_credentials(self) -> grpc.ServerCredentials:
        """How the suite listens when the party calls it: its certificate; the party's, under the party's CA."""
        return grpc.ssl_server_credentials(
            [(self.key, self.certificate_chain)], root_certificates=self.party_ca, require_client_auth=True
        )


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
    tls: SuiteTls | None = None
    # What the suite signs with, under its key_id in the agreement; None: the agreement names no key of the suite.
    suite_key: SigningKey | None = None

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
    tls = _suite_tls(path, data.tls) if data.tls is not None else None
    suite_party = next(p for p in parties if p != data.party)
    key_file = path.parent / data.suite_key if data.suite_key else packaged_test_key(suite_party)
    suite_key = _suite_key(agreement, suite_party, key_file) if data.suite_key or key_file.exists() else None
    if suite_key is None and "signing" in data.features:
        raise ConfigError(
            f"{path}: the agreement names no key of {suite_party} valid now whose private half is {key_file}: "
            "name it in suite_key"
        )
    return Target(
        party=data.party,
        suite_party=suite_party,
        agreement=agreement,
        features=frozenset(data.features),
        address=data.address,
        command=tuple(part.replace("{dir}", folder) for part in data.command),
        known_failing=frozenset(data.known_failing),
        tls=tls,
        suite_key=suite_key,
    )


def _suite_tls(path: Path, files: TargetTlsFile) -> SuiteTls:
    base = path.parent

    def read(field: str, name: str) -> bytes:
        try:
            return (base / name).read_bytes()
        except OSError as error:
            raise ConfigError(f"{path}: tls.{field}: {base / name}: {error.strerror or error}") from None

    authority = None
    if files.ca and files.ca_key:
        try:
            authority = load_authority_files(base / files.ca, base / files.ca_key)
        except PkiError as error:
            raise ConfigError(f"{path}: tls.ca: {error}") from None
    return SuiteTls(
        read("certificate", files.certificate), read("key", files.key), read("party_ca", files.party_ca), authority
    )


def _suite_key(agreement: ChannelAgreement, suite_party: str, path: Path) -> SigningKey | None:
    """The suite's private key under the agreement's key_id for it, valid now; None when the agreement has none."""
    try:
        key = read_signing_key("", path)
    except SigningKeyError as error:
        raise ConfigError(str(error)) from None
    now = datetime.now(UTC)
    for held in agreement.model.keys:
        valid = held.valid_from <= now and (held.valid_until is None or now < held.valid_until)
        if held.party == suite_party and held.ed25519_public_key == key.public_bytes and valid:
            return SigningKey(held.key_id, key.private_key)
    return None


def packaged_agreement() -> Path:
    """The conformance agreement shipped with the suite (short timers, the test keys' public halves)."""
    return Path(__file__).with_name("agreement.toml")


def packaged_test_key(party: str) -> Path:
    """The published TEST KEY of a party of the packaged agreement: for the conformance channel only."""
    return Path(__file__).parent / "keys" / f"{party}.test-key.pem"
