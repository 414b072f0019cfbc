"""Signed messages (docs/spec/11-security.md, 11.2): what a node signs, what it refuses, and that it refuses forgeries
before it parses them.

The forgeries: 10,000 through a node's intake directly, and a few hundred through a real node over gRPC on
loopback. A wrapper counts every call of the envelope decoder and fails the test if one comes before the
signatures over those very bytes verified.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from deconflict import dsse
from deconflict.client.peer import PeerClient, UnverifiedAnswerError
from deconflict.conformance.session import EnvelopeWriter
from deconflict.journal.base import Direction
from deconflict.node import intake as intake_module
from deconflict.node.config import ConfigError, load_config
from deconflict.node.node import Node
from deconflict.rpc.refusal import Refusal
from deconflict.security.signing import BadSignatureError, SigningKey, SigningKeyError, Verifier, read_signing_key
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    AGREEMENT,
    CHANNEL,
    RU,
    TEST_KEYS,
    US,
    PeerSide,
    file_as,
    journal_entries,
    one_node,
    peer_of,
    refusal_of,
    sortie,
    two_nodes,
    write_configs,
)

UK = "uk-mod"
UK_CHANNEL = f"{RU}:{UK}"
UK_KEY = SigningKey.published(f"{UK}/test-key", "deconflict test uk-mod")
NOTICE_BODIES = frozenset({"notice"})
ENVELOPE = "deconflict.v1.Envelope"


# -- what the decoder saw ---------------------------------------------------------------------------------------


@dataclass
class Parses:
    """Every payload the intake decoded, checked against the payloads whose signatures verified just before."""

    verified: list[bytes] = field(default_factory=list)
    parsed: int = 0
    premature: int = 0


@contextmanager
def watched_parsing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Parses]:
    """Count the intake's calls of the decoder, and those that come before the payload's signatures verified."""
    parses = Parses()
    decode, verify = intake_module.decode_envelope, Verifier.verify

    def counting_verify(self: Verifier, signed: envelope_pb2.SignedPayload, *args: object, **kw: object) -> object:
        verified = verify(self, signed, *args, **kw)  # type: ignore[arg-type]
        parses.verified.append(signed.payload)
        return verified

    def counting_decode(payload: bytes, *args: object) -> envelope_pb2.Envelope:
        parses.parsed += 1
        if not parses.verified or parses.verified[-1] != payload:
            parses.premature += 1
        return decode(payload, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Verifier, "verify", counting_verify)
    monkeypatch.setattr(intake_module, "decode_envelope", counting_decode)
    yield parses


# -- a node of RU with two channels, for the intake directly ---------------------------------------------------


def three_party_config(folder: Path) -> Path:
    """RU's node with a channel to US and one to UK, each agreement naming both parties' test keys."""
    ru_config, _, _, _ = write_configs(folder, peer_addresses={RU: "", US: ""})
    uk_agreement = AGREEMENT.format(notice_timer=60, heartbeat=1).replace(US, UK)
    keys = TEST_KEYS[RU].party_key_toml(RU) + UK_KEY.party_key_toml(UK)
    (folder / "uk-agreement.toml").write_text(uk_agreement + keys)
    config = ru_config.read_text().replace(
        "[signing]", f'[[channels]]\npeer = "{UK}"\npeer_address = ""\nagreement = "uk-agreement.toml"\n\n[signing]'
    )
    ru_config.write_text(config)
    return ru_config


@dataclass
class Forger:
    """Valid messages of US (and of UK) to RU, and forgeries of them."""

    rng: random.Random
    writer: EnvelopeWriter
    uk_writer: EnvelopeWriter
    stranger: SigningKey = field(default_factory=lambda: SigningKey.generate(TEST_KEYS[US].key_id))

    def valid(self) -> envelope_pb2.SignedPayload:
        notice = sortie(f"{US}/n-{self.rng.getrandbits(48):x}", owner=US)
        return self.writer.envelope("notice", notice)

    def payload_bit(self, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        return _copy(signed, payload=_flip(self.rng, signed.payload))

    def type_bit(self, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        return _copy(signed, payload_type=_flip(self.rng, signed.payload_type.encode()).decode("latin-1"))

    def signature_bit(self, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        forged = _copy(signed)
        forged.signatures[0].signature = _flip(self.rng, signed.signatures[0].signature)
        return forged

    def wrong_key(self, signed: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        """The same bytes signed by a key the agreement does not hold, under US's key id."""
        forged = _copy(signed)
        del forged.signatures[:]
        forged.signatures.add(key_id=self.stranger.key_id, signature=_sign(self.stranger, signed))
        return forged

    def uk_message(self) -> envelope_pb2.SignedPayload:
        """A message UK signed for its own channel with RU."""
        notice = sortie(f"{UK}/n-{self.rng.getrandbits(48):x}", owner=UK)
        return self.uk_writer.envelope("notice", notice)

    def uk_as_us(self) -> envelope_pb2.SignedPayload:
        """A message in US's name on US's channel, signed with UK's valid key."""
        proto = self.writer.proto("notice", sortie(f"{US}/n-{self.rng.getrandbits(48):x}", owner=US))
        payload = proto.SerializeToString(deterministic=True)
        signed = envelope_pb2.SignedPayload(payload_type=ENVELOPE, payload=payload)
        signed.signatures.add(key_id=UK_KEY.key_id, signature=_sign(UK_KEY, signed))
        return signed


def _copy(signed: envelope_pb2.SignedPayload, **changes: object) -> envelope_pb2.SignedPayload:
    forged = envelope_pb2.SignedPayload()
    forged.CopyFrom(signed)
    for name, value in changes.items():
        setattr(forged, name, value)
    return forged


def _flip(rng: random.Random, data: bytes) -> bytes:
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1 :]


def _sign(key: SigningKey, signed: envelope_pb2.SignedPayload) -> bytes:
    return key.private_key.sign(dsse.pae(signed.payload_type, signed.payload))


# How many of each forgery go through the intake: 10,000 in all.
FORGERIES = {
    "payload bit": 2500,
    "payload_type bit": 1000,
    "signature bit": 2500,
    "wrong key": 2000,
    "replayed onto another channel": 1000,
    "another party's key": 1000,
}


@pytest.mark.asyncio
async def test_ten_thousand_forgeries_are_refused_before_parsing_dcf_sec_008_dcf_env_018(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(load_config(three_party_config(tmp_path)))
    await node.start()
    try:
        for channel in node.ledger.channels.values():
            channel.greeted = True  # the Hello is another test's subject
        intake = node.intake
        rng = random.Random(20151020)
        writer = EnvelopeWriter(None, party=US, recipient=RU, channel_id=CHANNEL, key=TEST_KEYS[US])  # type: ignore[arg-type]
        uk_writer = EnvelopeWriter(None, party=UK, recipient=RU, channel_id=UK_CHANNEL, key=UK_KEY)  # type: ignore[arg-type]
        forger = Forger(rng, writer, uk_writer)
        originals = [forger.valid() for _ in range(64)]
        uk_messages = [forger.uk_message() for _ in range(64)]
        uk_as_us = [forger.uk_as_us() for _ in range(64)]
        refusals: dict[str, dict[tuple[str, str], int]] = {kind: {} for kind in FORGERIES}

        def refused(kind: str, signed: envelope_pb2.SignedPayload, peer: str | None) -> None:
            try:
                intake.admit(signed, NOTICE_BODIES, peer)
            except Refusal as refusal:
                key = (refusal.code.name, refusal.reason or (refusal.violations[0][0] if refusal.violations else ""))
                refusals[kind][key] = refusals[kind].get(key, 0) + 1
                return
            raise AssertionError(f"a forgery ({kind}) was accepted")

        with watched_parsing(monkeypatch) as parses:
            for index in range(FORGERIES["payload bit"]):
                refused("payload bit", forger.payload_bit(originals[index % 64]), US)
            for index in range(FORGERIES["payload_type bit"]):
                forged = forger.type_bit(originals[index % 64])
                refused("payload_type bit", forged, US)
                # The type is signed too (DCF-SEC-007): a receiver taking that type would still refuse it.
                with pytest.raises(BadSignatureError):
                    node.verifier.verify(forged, US, node.clock())
            for index in range(FORGERIES["signature bit"]):
                refused("signature bit", forger.signature_bit(originals[index % 64]), US)
            for index in range(FORGERIES["wrong key"]):
                refused("wrong key", forger.wrong_key(originals[index % 64]), US)
            for index in range(FORGERIES["replayed onto another channel"]):
                # UK's genuine message for its channel, played over US's authenticated connection.
                refused("replayed onto another channel", uk_messages[index % 64], US)
            for index in range(FORGERIES["another party's key"]):
                # Over plaintext no peer is authenticated: UK's key verifies, and after parsing it is not US's.
                refused("another party's key", uk_as_us[index % 64], None)
            forged_parses, premature = parses.parsed, parses.premature
            acknowledgement = await intake.admit(originals[0], NOTICE_BODIES, US)
        assert sum(sum(counts.values()) for counts in refusals.values()) == sum(FORGERIES.values()) == 10_000
        assert refusals["payload_type bit"] == {("INVALID_ARGUMENT", "envelope.payload_type"): 1000}
        for kind in ("payload bit", "signature bit", "wrong key", "replayed onto another channel"):
            assert refusals[kind] == {("UNAUTHENTICATED", "BAD_SIGNATURE"): FORGERIES[kind]}, kind
        assert refusals["another party's key"] == {("UNAUTHENTICATED", "BAD_SIGNATURE"): 1000}
        # Only the forgeries whose signature did verify (UK's own key) were parsed, and never before that.
        assert premature == 0
        assert forged_parses == FORGERIES["another party's key"]
        assert acknowledgement.signatures[0].key_id == TEST_KEYS[RU].key_id
        stored = [e.record.direction for e in journal_entries(node.loaded.journal_path)]
        assert stored == [Direction.IN, Direction.ACK_OUT]  # the message and the node's acknowledgement of it
    finally:
        await node.close()


@pytest.mark.asyncio
async def test_forgeries_over_grpc_are_refused_unauthenticated_and_nothing_is_stored_dcf_sec_008_dcf_err_009(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        rng = random.Random(2015)
        forger = Forger(rng, peer, peer)
        with watched_parsing(monkeypatch) as parses:
            originals = [forger.valid() for _ in range(8)]
            kinds = (forger.payload_bit, forger.signature_bit, forger.wrong_key)
            for index in range(300):
                forged = kinds[index % 3](originals[index % 8])
                refused = await refusal_of(peer.client.submit_notice(forged))
                assert (refused.code, refused.refusal.reason) == (grpc.StatusCode.UNAUTHENTICATED, "BAD_SIGNATURE")
            # Bytes that would not parse, badly signed: refused as unauthenticated, so never parsed.
            garbage = _copy(peer.seal(bytes(rng.getrandbits(8) for _ in range(64))))
            garbage.signatures[0].signature = _sign(forger.stranger, garbage)
            refused = await refusal_of(peer.client.submit_notice(garbage))
            assert refused.code == grpc.StatusCode.UNAUTHENTICATED
            assert parses.parsed == 0
            delivery = await peer.deliver(originals[0])
        assert parses.premature == 0
        assert parses.parsed == 1
        assert delivery.acknowledgement.message_sequence == 1
        stored = [e.record.message_id for e in journal_entries(node.journal_path) if e.record.direction == Direction.IN]
        assert stored == [delivery.acknowledgement.message_id]


# -- what a node signs ------------------------------------------------------------------------------------------


def _verifies(signed: envelope_pb2.SignedPayload, key: SigningKey) -> bool:
    return len(signed.signatures) > 0 and all(
        s.key_id == key.key_id and dsse.verify(key.public_bytes, signed.payload_type, signed.payload, s.signature)
        for s in signed.signatures
    )


@pytest.mark.asyncio
async def test_nodes_sign_what_they_send_and_keep_what_the_peer_signed_dcf_sec_006_dcf_sec_011_dcf_sec_012(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path) as pair:
        await file_as(pair.ru_address, RU, "signed")
        for _ in range(200):
            entries = journal_entries(pair.ru.node.loaded.journal_path)
            if {Direction.OUT, Direction.ACK_IN, Direction.IN} <= {e.record.direction for e in entries}:
                break
            await asyncio.sleep(0.05)
        by_direction: dict[Direction, list[envelope_pb2.SignedPayload]] = {}
        for entry in entries:
            signed = envelope_pb2.SignedPayload.FromString(entry.record.payload)
            by_direction.setdefault(entry.record.direction, []).append(signed)
        assert all(_verifies(signed, TEST_KEYS[RU]) for signed in by_direction[Direction.OUT])
        # The peer's acknowledgement of RU's notice and its answer, kept as signed (DCF-SEC-012).
        assert all(_verifies(signed, TEST_KEYS[US]) for signed in by_direction[Direction.ACK_IN])
        assert all(_verifies(signed, TEST_KEYS[US]) for signed in by_direction[Direction.IN])


def _rotation_config(folder: Path, *, old_until: datetime, new_from: datetime) -> Path:
    """RU signing with two keys, both in the agreement: the old one valid until `old_until`, the new from `new_from`."""
    ru_config, _, _, _ = write_configs(folder, peer_addresses={RU: "", US: ""})
    new = SigningKey.published(f"{RU}/test-key-2", "deconflict test ru-mod 2")
    new.write(folder / "ru-mod-2.key")
    agreement = (folder / "agreement.toml").read_text()
    old_entry = TEST_KEYS[RU].party_key_toml(RU)
    old_until_line = f"valid_until = {old_until.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    agreement = agreement.replace(old_entry, old_entry + old_until_line)
    agreement += new.party_key_toml(RU, new_from.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (folder / "agreement.toml").write_text(agreement)
    ru_config.write_text(
        ru_config.read_text() + f'\n[[signing.keys]]\nkey_id = "{new.key_id}"\nfile = "ru-mod-2.key"\n'
    )
    return ru_config


def _signed_with(loaded_node: Node, channel_id: str, at: datetime) -> list[str]:
    signed = envelope_pb2.SignedPayload(payload_type=ENVELOPE, payload=b"\x08\x01")
    return [s.key_id for s in loaded_node.signer.sign(channel_id, signed, at).signatures]


def test_during_a_rotation_overlap_both_keys_sign_and_never_one_outside_its_validity_dcf_sec_013(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    node = Node(load_config(_rotation_config(tmp_path, old_until=now + timedelta(days=1), new_from=now)))
    assert _signed_with(node, CHANNEL, now) == [TEST_KEYS[RU].key_id, f"{RU}/test-key-2"]
    assert _signed_with(node, CHANNEL, now + timedelta(days=2)) == [f"{RU}/test-key-2"]
    assert _signed_with(node, CHANNEL, now - timedelta(hours=1)) == [TEST_KEYS[RU].key_id]


@pytest.mark.asyncio
async def test_a_peer_key_outside_its_validity_is_not_usable_dcf_sec_008_dcf_sec_013(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # The same rotation, seen from US: RU's old key is over in an hour and the new one begins in one.
    config = _rotation_config(tmp_path, old_until=now + timedelta(hours=1), new_from=now + timedelta(hours=1))
    us = Node(load_config(config.with_name(f"{US}.toml")))
    signed = envelope_pb2.SignedPayload(payload_type=ENVELOPE, payload=b"\x08\x01")
    signed.signatures.add(key_id=TEST_KEYS[RU].key_id, signature=_sign(TEST_KEYS[RU], signed))
    assert [k.key_id for k in us.verifier.verify(signed, RU, now)] == [TEST_KEYS[RU].key_id]
    with pytest.raises(BadSignatureError, match="no signature by a key of ru-mod valid now"):
        us.verifier.verify(signed, RU, now + timedelta(hours=2))


# -- the form of the signature list (DCF-SEC-010) ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_key_id_twice_or_a_short_signature_is_refused_naming_the_element_dcf_sec_010(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        twice = peer.envelope("notice", sortie(f"{US}/twice", owner=US))
        twice.signatures.add().CopyFrom(twice.signatures[0])
        refused = await refusal_of(peer.client.submit_notice(twice))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [path for path, _ in refused.violations] == ["envelope.signatures[1].key_id"]
        short = peer.envelope("notice", sortie(f"{US}/short", owner=US))
        short.signatures[0].signature = short.signatures[0].signature[:63]
        refused = await refusal_of(peer.client.submit_notice(short))
        assert [path for path, _ in refused.violations] == ["envelope.signatures[0].signature"]


# -- acknowledgements that do not verify (DCF-SEC-011) -----------------------------------------------------------


@pytest.mark.asyncio
async def test_an_acknowledgement_by_another_key_does_not_verify_for_the_client_dcf_sec_011(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        # The verifier of a node that holds another key for ru-mod under the same key id.
        impostor = SigningKey.generate(TEST_KEYS[RU].key_id)
        other = tmp_path / "other"
        other.mkdir()
        write_configs(other, peer_addresses={RU: "", US: ""})
        agreement = (other / "agreement.toml").read_text()
        (other / "agreement.toml").write_text(
            agreement.replace(TEST_KEYS[RU].party_key_toml(RU), impostor.party_key_toml(RU))
        )
        us = Node(load_config(other / f"{US}.toml"))

        def verify(signed: envelope_pb2.SignedPayload) -> None:
            us.verifier.verify(signed, RU, datetime.now(UTC), "acknowledgement")

        async with PeerClient(node.address, verify=verify) as client:
            side = PeerSide(client)
            await side.hello()
            with pytest.raises(UnverifiedAnswerError, match="does not verify"):
                await side.notice(sortie(f"{US}/one", owner=US))


# -- configuration: signed by default, unsigned only when asked (DCF-SEC-014) -----------------------------------


def test_a_node_without_signing_keys_does_not_start_unless_told_dcf_sec_014(tmp_path: Path) -> None:
    ru_config, _, _, _ = write_configs(tmp_path)
    text = ru_config.read_text()
    keyless = text[: text.index("[[signing.keys]]")]
    ru_config.write_text(keyless)
    with pytest.raises(ConfigError, match=r"signing\.keys: must name this party's signing key"):
        load_config(ru_config)
    ru_config.write_text(keyless.replace("[signing]\n", "[signing]\nrequired = false\n"))
    assert load_config(ru_config).signing_keys == ()


@pytest.mark.asyncio
async def test_unsigned_mode_accepts_unsigned_payloads_and_says_so_at_start_dcf_sec_014(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with one_node(tmp_path, signing="required = false") as node, peer_of(node.address) as peer:
            unsigned = envelope_pb2.SignedPayload(
                payload_type=ENVELOPE, payload=peer.envelope("notice", sortie(f"{US}/plain", owner=US)).payload
            )
            delivery = await peer.deliver(unsigned)
            assert delivery.acknowledgement.message_sequence == 1
            # A signature that is usable and fails is still refused.
            broken = peer.envelope("notice", sortie(f"{US}/broken", owner=US))
            broken.signatures[0].signature = bytes(64)
            refused = await refusal_of(peer.client.submit_notice(broken))
            assert refused.code == grpc.StatusCode.UNAUTHENTICATED
    assert any("signatures are not required" in record.getMessage() for record in caplog.records)


def test_a_signed_node_refuses_a_config_the_agreement_contradicts_dcf_sec_006(tmp_path: Path) -> None:
    ru_config, _, _, _ = write_configs(tmp_path)
    SigningKey.generate("x").write(tmp_path / f"{RU}.key")  # not the key whose public half the agreement holds
    with pytest.raises(ConfigError, match="another public key"):
        load_config(ru_config)
    TEST_KEYS[RU].write(tmp_path / f"{RU}.key")
    agreement = (tmp_path / "agreement.toml").read_text()
    (tmp_path / "agreement.toml").write_text(agreement.replace(TEST_KEYS[US].party_key_toml(US), ""))
    with pytest.raises(ConfigError, match="names no key of us-dod"):
        load_config(ru_config)
    (tmp_path / "agreement.toml").write_text(agreement.replace('ed25519_public_key = "', 'ed25519_public_key = "!'))
    with pytest.raises(ConfigError, match=r"keys\[0\]\.ed25519_public_key: must be the base64"):
        load_config(ru_config)


# -- private keys stay private (DCF-SEC-016) -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_private_key_appears_in_no_repr_error_or_journal_dcf_sec_016(tmp_path: Path) -> None:
    key = TEST_KEYS[RU]
    seed = key.private_key.private_bytes_raw()
    assert seed.hex() not in repr(key)
    assert str(list(seed)) not in repr(key)
    (tmp_path / "broken.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + seed.hex().encode() + b"\n")
    with pytest.raises(SigningKeyError) as raised:
        read_signing_key("k", tmp_path / "broken.key")
    assert seed.hex() not in str(raised.value)
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        await peer.notice(sortie(f"{US}/private", owner=US))
    for entry in journal_entries(node.journal_path):
        assert seed not in entry.record.payload
        assert seed not in entry.record.meta


# -- the command line ------------------------------------------------------------------------------------------


def test_deconflict_key_new_writes_a_private_key_and_prints_its_agreement_entry_dcf_sec_006(tmp_path: Path) -> None:
    file = tmp_path / "ru-mod.key"
    command = [sys.executable, "-m", "deconflict", "key", "new", str(file), "--key-id", "ru-mod/key-2025"]
    done = subprocess.run([*command, "--party", RU], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert file.stat().st_mode & 0o777 == 0o600
    printed = tomllib.loads(done.stdout)
    [entry] = printed["keys"]
    assert entry["party"] == RU
    assert base64.b64decode(entry["ed25519_public_key"]) == read_signing_key("k", file).public_bytes
    assert printed["signing"]["keys"] == [{"key_id": "ru-mod/key-2025", "file": str(file)}]
    again = subprocess.run([*command, "--party", RU], capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2
    assert "never overwritten" in again.stderr
