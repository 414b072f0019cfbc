"""A party's certificates: its CA, its node's certificate and its operators', as `deconflict pki` writes them.

```
DIR/<party>/ca.crt, ca.key                  the party's CA: give ca.crt to each peer (their channel's trust anchor)
DIR/<party>/node.crt, node.key              the node: server and client, URI urn:deconflict:party:<party>
DIR/<party>/operators/<name>/operator.crt   an operator: client only, URI urn:deconflict:operator:<party>/<name>
                             operator.key, ca.crt (the party's CA, to verify its own node)
```

Keys are ECDSA P-256 signed with SHA-256: grpc's BoringSSL offers it in every handshake, while an Ed25519
certificate fails there (no common signature algorithm). Private keys are written readable by their owner only
(0600), unencrypted, as grpc loads them. The party's CA signs its certificates directly.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deconflict.security.identity import Identity, Kind, party_uri

CA_DAYS: Final = 5 * 365
NODE_DAYS: Final = 397  # about 13 months: renewed yearly, with a month to spare
OPERATOR_DAYS: Final = 397
# A clock behind by a few minutes must not see a new certificate as not yet valid.
BACKDATE: Final = datetime.timedelta(minutes=5)

CA_CERT, CA_KEY = "ca.crt", "ca.key"
NODE_CERT, NODE_KEY = "node.crt", "node.key"
OPERATOR_CERT, OPERATOR_KEY = "operator.crt", "operator.key"


class PkiError(ValueError):
    """A folder, file or name that cannot be used, with why."""


@dataclass(frozen=True, slots=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class Written:
    """One certificate written, for the table `deconflict pki` prints."""

    what: str
    identity: str
    certificate: Path
    key: Path
    not_after: datetime.datetime


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_authority(party: str, *, days: int = CA_DAYS, now: datetime.datetime | None = None) -> Authority:
    """A self-signed CA for `party`, which may sign end-entity certificates only (path length 0)."""
    key = new_key()
    start = (now or datetime.datetime.now(datetime.UTC)) - BACKDATE
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, party),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{party} deconflict CA"),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def issue(
    authority: Authority,
    identity: Identity,
    *,
    days: int,
    now: datetime.datetime | None = None,
    uris: Sequence[str] | None = None,
) -> Issued:
    """A certificate for `identity`, signed by `authority`.

    A party's node gets server and client use: it listens for its peer and calls it. An operator only calls.
    A node's certificate also carries its party id as a DNS name (and common name): grpc matches the name a
    client expects (its ssl_target_name_override) and the name a client asks for (SNI) against DNS names, or
    the common name when there are none, never against URIs (deconflict.security.credentials). The URI stays
    the only one, as DCF-SEC-002 wants. `uris` replaces the identity's URI (tests build certificates with none
    or several).
    """
    key = new_key()
    start = (now or datetime.datetime.now(datetime.UTC)) - BACKDATE
    node = identity.kind is Kind.PARTY
    common_name = identity.party if node else f"{identity.party}/{identity.name}"
    usages = (
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        if node
        else [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.party),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(uri) for uri in ([identity.uri] if uris is None else uris)
    ]
    if node:
        names.append(x509.DNSName(identity.party))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(key, builder.sign(authority.key, hashes.SHA256()))


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


# -- PEM and files ------------------------------------------------------------------------------------------


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only: created 0600, never widened by the umask or a race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def party_folder(folder: Path, party: str) -> Path:
    return folder / party


def operator_folder(folder: Path, party: str, name: str) -> Path:
    return folder / party / "operators" / name


def init_party(folder: Path, party: str, *, ca_days: int = CA_DAYS, node_days: int = NODE_DAYS) -> list[Written]:
    """A new CA for `party` and its node's certificate, in DIR/<party>; refuses to replace existing files."""
    home = party_folder(folder, party)
    _refuse_existing(home / CA_CERT, home / CA_KEY, home / NODE_CERT, home / NODE_KEY)
    authority = new_authority(party, days=ca_days)
    node = issue(authority, Identity(Kind.PARTY, party), days=node_days)
    write_private(home / CA_KEY, key_pem(authority.key))
    write_public(home / CA_CERT, certificate_pem(authority.certificate))
    write_private(home / NODE_KEY, key_pem(node.key))
    write_public(home / NODE_CERT, certificate_pem(node.certificate))
    return [
        Written(
            "CA", f"{party} (trust anchor)", home / CA_CERT, home / CA_KEY, authority.certificate.not_valid_after_utc
        ),
        Written("node", party_uri(party), home / NODE_CERT, home / NODE_KEY, node.certificate.not_valid_after_utc),
    ]


def add_operator(folder: Path, party: str, name: str, *, days: int = OPERATOR_DAYS) -> Written:
    """An operator's certificate, signed by the party's CA in DIR/<party>, with a copy of the CA's certificate."""
    authority = load_authority(party_folder(folder, party))
    home = operator_folder(folder, party, name)
    _refuse_existing(home / OPERATOR_CERT, home / OPERATOR_KEY, home / CA_CERT)
    identity = Identity(Kind.OPERATOR, party, name)
    issued = issue(authority, identity, days=days)
    write_private(home / OPERATOR_KEY, key_pem(issued.key))
    write_public(home / OPERATOR_CERT, certificate_pem(issued.certificate))
    write_public(home / CA_CERT, certificate_pem(authority.certificate))
    return Written(
        "operator", identity.uri, home / OPERATOR_CERT, home / OPERATOR_KEY, issued.certificate.not_valid_after_utc
    )


def load_authority(home: Path) -> Authority:
    """The CA kept in `home` (ca.crt and ca.key)."""
    return load_authority_files(home / CA_CERT, home / CA_KEY)


def load_authority_files(certificate_path: Path, key_path: Path) -> Authority:
    """A CA from its certificate and key files."""
    home = certificate_path.parent
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as error:
        raise PkiError(
            f"{error.filename}: {error.strerror}: create the party's CA first (deconflict pki init)"
        ) from None
    except (ValueError, TypeError) as error:
        raise PkiError(f"{home}: the CA cannot be read: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{key_path}: not an ECDSA key")
    return Authority(key, certificate)


def _refuse_existing(*paths: Path) -> None:
    present = [str(path) for path in paths if path.exists()]
    if present:
        raise PkiError(f"{', '.join(present)} already exist{'s' if len(present) == 1 else ''}: nothing was replaced")
