"""`deconflict pki` and the [tls] section of a node's configuration: the certificates written, and a node that
refuses to start on certificates that cannot work (docs/spec/11-security.md, 11.1)."""

from __future__ import annotations

import datetime
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deconflict.node.config import ConfigError, load_config
from deconflict.security.identity import Identity, Kind, identity_of_certificate, operator_uri, party_uri, uris_of
from deconflict.security.pki import Authority, issue, new_authority
from deconflict.security.trust import chains_to
from tests.nodes import RU, US, write_configs
from tests.test_cli import ROOT, deconflict, free_port

# -- deconflict pki, as an operator runs it ----------------------------------------------------------------------


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_pki_init_writes_a_ca_a_node_and_an_operator_per_party_with_private_keys_0600_dcf_sec_002(tmp_path):
    result = deconflict("pki", "init", str(tmp_path), "--party", RU, "--party", US)
    assert result.returncode == 0, result.stderr
    for party in (RU, US):
        assert re.search(rf"node\W+{re.escape(party_uri(party))}\W", result.stdout), result.stdout
        assert re.search(rf"operator\W+urn:deconflict:operator:{party}/duty-officer", result.stdout)
        home = tmp_path / party
        operator = home / "operators" / "duty-officer"
        for key in (home / "ca.key", home / "node.key", operator / "operator.key"):
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        for public in (home / "ca.crt", home / "node.crt", operator / "operator.crt", operator / "ca.crt"):
            assert stat.S_IMODE(public.stat().st_mode) == 0o644, public
        authority = certificate(home / "ca.crt")
        node, person = certificate(home / "node.crt"), certificate(operator / "operator.crt")
        # One URI each: the party's node, and its operator (DCF-SEC-002).
        assert uris_of(node) == [party_uri(party)]
        assert identity_of_certificate(node) == Identity(Kind.PARTY, party)
        assert identity_of_certificate(person) == Identity(Kind.OPERATOR, party, "duty-officer")
        assert usages(node) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert usages(person) == {ExtendedKeyUsageOID.CLIENT_AUTH}
        assert all(chains_to(leaf, [authority], []) for leaf in (node, person))
        assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        for cert in (authority, node, person):
            public = cert.public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)
            assert public.curve.name == "secp256r1"
        lifetime = node.not_valid_after_utc - node.not_valid_before_utc
        assert datetime.timedelta(days=365) < lifetime < datetime.timedelta(days=400)
    # Each party's CA vouches for its own party only.
    assert not chains_to(certificate(tmp_path / US / "node.crt"), [certificate(tmp_path / RU / "ca.crt")], [])


def test_pki_operator_adds_an_operator_and_nothing_is_ever_replaced(tmp_path):
    assert deconflict("pki", "init", str(tmp_path), "--party", RU, "--operator", "watch-1").returncode == 0
    added = deconflict("pki", "operator", str(tmp_path), "--party", RU, "--name", "night-watch", "--days", "30")
    assert added.returncode == 0, added.stderr
    folder = tmp_path / RU / "operators" / "night-watch"
    assert identity_of_certificate(certificate(folder / "operator.crt")) == Identity(Kind.OPERATOR, RU, "night-watch")
    assert (folder / "ca.crt").read_bytes() == (tmp_path / RU / "ca.crt").read_bytes()
    before = (tmp_path / RU / "ca.key").read_bytes()
    again = deconflict("pki", "init", str(tmp_path), "--party", RU)
    assert again.returncode == 2
    assert "already exist" in again.stderr
    assert "nothing was replaced" in again.stderr
    assert (tmp_path / RU / "ca.key").read_bytes() == before
    assert deconflict("pki", "operator", str(tmp_path), "--party", RU, "--name", "night-watch").returncode == 2


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["init", "{dir}", "--party", "ru:mod"], "--party"),
        (["init", "{dir}", "--party", RU, "--party", RU], "each party once"),
        (["init", "{dir}", "--party", RU, "--operator", "a/b"], "--operator"),
        (["operator", "{dir}", "--party", US, "--name", "x"], "deconflict pki init"),
        (["operator", "{dir}", "--party", RU, "--name", "../x"], "--name"),
    ],
)
def test_pki_refuses_bad_names_and_a_missing_ca_with_status_2(tmp_path, arguments, says):
    result = deconflict("pki", *[part.replace("{dir}", str(tmp_path)) for part in arguments])
    assert result.returncode == 2, result.stdout
    assert says in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


# -- the node's [tls] section ------------------------------------------------------------------------------------


def tls_configs(folder: Path) -> tuple[Path, Path]:
    ru, us, _, _ = write_configs(folder, tls=True, peer_addresses={RU: "", US: ""})
    return ru, us


def test_a_node_with_certificates_loads_them_dcf_sec_001(tmp_path):
    ru, _ = tls_configs(tmp_path)
    loaded = load_config(ru)
    assert loaded.tls is not None
    trust = loaded.tls.trust()
    assert trust.parties == {RU, US}
    assert loaded.tls.client_for(US).server_party == US


def test_a_node_without_tls_or_insecure_does_not_start_dcf_sec_005(tmp_path):
    ru, _, _, _ = write_configs(tmp_path)
    ru.write_text(ru.read_text().replace("insecure = true\n", ""))
    with pytest.raises(ConfigError, match=r"ru-mod.toml: tls: is required: a node serves mutual TLS unless insecure"):
        load_config(ru)
    assert load_config(ru, insecure=True).tls is None  # deconflict serve --insecure


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (('peer_ca = "pki/us-dod/ca.crt"\n', ""), r"channels\[0\]\.peer_ca: is required with TLS"),
        (
            ("pki/ru-mod/node.crt", "pki/us-dod/node.crt"),
            r"tls.certificate: names urn:deconflict:party:us-dod, not urn",
        ),
        (("pki/ru-mod/node.key", "pki/us-dod/node.key"), r"tls.key: is not the key of tls.certificate"),
        (('ca = "pki/ru-mod/ca.crt"', 'ca = "pki/us-dod/ca.crt"'), r"tls.certificate: was not issued by the CA"),
        (("pki/us-dod/ca.crt", "pki/us-dod/missing.crt"), r"channels\[0\]\.peer_ca: .*missing.crt: No such file"),
        (("pki/us-dod/ca.crt", "pki/us-dod/node.key"), r"channels\[0\]\.peer_ca: not PEM certificates"),
        (("[tls]\n", '[testing]\nclients = ["us-dod"]\n\n[tls]\n'), r"testing.clients\[0\]: is not an identity"),
    ],
)
def test_a_node_refuses_certificates_that_cannot_work_naming_the_field_dcf_sec_001_dcf_sec_002(tmp_path, change, says):
    ru, _ = tls_configs(tmp_path)
    old, new = change
    assert old in ru.read_text()
    ru.write_text(ru.read_text().replace(old, new))
    with pytest.raises(ConfigError, match=says):
        load_config(ru)


def intermediate(root: Authority, party: str) -> Authority:
    """A CA that `root` signs, between it and the certificates it issues."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{party} issuing CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root.key, hashes.SHA256())
    )
    return Authority(key, cert)


def test_a_certificate_issued_through_an_intermediate_ca_chains_to_its_party_s_anchor_dcf_sec_001():
    root = new_authority(US)
    middle = intermediate(root, US)
    leaf = issue(middle, Identity(Kind.PARTY, US), days=30).certificate
    assert chains_to(leaf, [root.certificate], [middle.certificate])
    assert chains_to(leaf, [root.certificate], [leaf, middle.certificate])  # the leaf itself in the chain
    assert not chains_to(leaf, [root.certificate], [])  # the intermediate not presented
    assert not chains_to(leaf, [new_authority(US).certificate], [middle.certificate])  # another party's root
    assert not chains_to(leaf, [], [middle.certificate])


def test_an_operator_certificate_names_its_party_and_name():
    authority = new_authority(RU)
    issued = issue(authority, Identity(Kind.OPERATOR, RU, "duty-officer"), days=1)
    assert uris_of(issued.certificate) == [operator_uri(RU, "duty-officer")]


# -- deconflict serve on certificates ------------------------------------------------------------------------------


def test_serve_without_tls_exits_2_and_with_insecure_warns_it_serves_plaintext_dcf_sec_005(tmp_path):
    ru, _, _, _ = write_configs(tmp_path, peer_addresses={RU: "", US: ""})
    ru.write_text(ru.read_text().replace("insecure = true\n", ""))
    refused = deconflict("serve", "--config", str(ru))
    assert refused.returncode == 2
    assert "ru-mod.toml: tls: is required" in refused.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "deconflict", "serve", "--config", str(ru), "--insecure"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "serving on" in line:
                break
        output = "".join(lines)
        assert re.search(r"WARNING .*plaintext gRPC without TLS.*DCF-SEC-005", output), output
        assert "(plaintext: for local experiments only)" in output
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_with_certificates_says_mutual_tls_and_an_operator_reaches_it_with_identity(tmp_path):
    ru, _ = tls_configs(tmp_path)
    port = free_port()
    ru.write_text(re.sub(r'listen = "[^"]+"', f'listen = "127.0.0.1:{port}"', ru.read_text()))
    process = subprocess.Popen(
        [sys.executable, "-m", "deconflict", "serve", "--config", str(ru)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        while "serving on" not in (line := process.stdout.readline()):
            assert line, "the node exited"
        assert "(mutual TLS)" in line
        address = f"127.0.0.1:{port}"
        identity = tmp_path / "pki" / RU / "operators" / "duty-officer"
        shown = deconflict("status", "--node", address, "--identity", str(identity))
        assert shown.returncode == 0, shown.stderr
        assert "ru-mod:us-dod" in shown.stdout
        plaintext = deconflict("status", "--node", address)
        assert plaintext.returncode == 1
        assert "cannot reach the node" in plaintext.stderr
        others = deconflict(
            "status", "--node", address, "--identity", str(tmp_path / "pki" / US / "operators" / "duty-officer")
        )
        assert others.returncode == 1
        missing = deconflict("status", "--node", address, "--identity", str(tmp_path / "nowhere"))
        assert missing.returncode == 2
        assert "--identity" in missing.stderr
        assert "No such file" in missing.stderr
    finally:
        process.terminate()
        process.wait(timeout=15)
