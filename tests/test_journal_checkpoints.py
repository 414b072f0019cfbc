"""Checkpoints of a journal (docs/spec/11-security.md DCF-JNL-006), the peer's cosignatures (DCF-JNL-009) and the
fork check (DCF-JNL-011): C2SP signed notes with Ed25519, built from first principles and checked byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.transparency.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointKey,
    SignedCheckpoint,
    journal_origin,
    open_checkpoint,
    sign_checkpoint,
)
from deconflict.transparency.cosignature import CosignerKey, cosign, cosigned_message, verify_cosignatures
from deconflict.transparency.fork import check_fork
from deconflict.transparency.merkle import EMPTY_ROOT, MerkleTree
from deconflict.transparency.note import (
    Note,
    NoteError,
    format_verifier_key,
    parse_note,
    parse_verifier_key,
    public_key_bytes,
)

CHANNEL = "ch-ru-us-01"
RU_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
US_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
T = 1_778_312_125
RU = CheckpointKey("ru-mod", "key-1", public_key_bytes(RU_KEY))
US = CheckpointKey("us-dod", "key-1", public_key_bytes(US_KEY))
ORIGIN = journal_origin(CHANNEL, "ru-mod")


def _tree(count: int, *, changed: int | None = None) -> MerkleTree:
    return MerkleTree.of_entries(
        b"entry %d%s" % (number, b"!" if number == changed else b"") for number in range(count)
    )


def _signed(size: int, tree: MerkleTree | None = None, *, time: int = T) -> SignedCheckpoint:
    tree = tree or _tree(size)
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size), time), "ru-mod", "key-1", RU_KEY)


# -- checkpoints -------------------------------------------------------------------------------------------------


def test_checkpoint_is_c2sp_text_signed_as_a_note_with_ed25519_dcf_jnl_006() -> None:
    tree = _tree(5)
    signed = _signed(5, tree)
    encoded = signed.encode()
    root = base64.b64encode(tree.root()).decode()
    text = f"deconflict.v1/{CHANNEL}/ru-mod\n5\n{root}\ntime {T}\n"
    assert encoded.startswith(text + "\n\u2014 deconflict.v1/ru-mod/key-1 ")
    line = re.fullmatch(r"\u2014 deconflict\.v1/ru-mod/key-1 ([A-Za-z0-9+/=]+)\n", encoded[len(text) + 1 :])
    assert line is not None
    raw = base64.b64decode(line[1])
    name = b"deconflict.v1/ru-mod/key-1"
    assert raw[:4] == hashlib.sha256(name + b"\x0a\x01" + public_key_bytes(RU_KEY)).digest()[:4]
    Ed25519PublicKey.from_public_bytes(public_key_bytes(RU_KEY)).verify(raw[4:], text.encode())

    opened = open_checkpoint(encoded.encode(), [US, RU])
    assert opened.checkpoint == Checkpoint(ORIGIN, 5, tree.root(), T)
    assert (opened.party, opened.signed_by) == ("ru-mod", ("deconflict.v1/ru-mod/key-1",))


def test_checkpoint_of_the_empty_journal_dcf_jnl_006() -> None:
    signed = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT, T), "ru-mod", "key-1", RU_KEY)
    assert open_checkpoint(signed.encode(), [RU]).checkpoint.size == 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda text: text.replace("\n5\n", "\n6\n", 1), "does not verify"),
        (lambda text: text.replace(f"time {T}", f"time {T + 1}"), "does not verify"),
        (lambda text: text.replace("ru-mod/key-1", "ru-mod/key-2"), "no signature by a trusted key"),
        (lambda text: text.replace("\n5\n", "\n05\n", 1), "without leading zeros"),
        (lambda text: text.replace(f"time {T}\n", ""), "is 4 lines"),
        (lambda text: text.replace(f"time {T}\n", f"time {T}\nextra\n"), "is 4 lines"),
        (lambda text: text.replace(f"time {T}", f"timestamp {T}"), "time <seconds"),
        (lambda text: text.replace("\n\n", "\n"), "blank line"),
        (lambda text: text.replace("\u2014", "-"), "em dash"),
        (lambda text: text.rstrip("\n"), "ends with a newline"),
        (lambda text: text.replace(CHANNEL, "ch\tru"), "control character"),
    ],
)
def test_altered_or_malformed_checkpoints_are_refused_dcf_jnl_006(change, error) -> None:
    encoded = _signed(5).encode()
    with pytest.raises(NoteError, match=error):
        open_checkpoint(change(encoded), [RU])


def test_checkpoint_is_signed_by_the_party_whose_journal_it_names_with_a_valid_key_dcf_jnl_006() -> None:
    signed = _signed(5)
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_checkpoint(signed.encode(), [US])  # the peer's key does not vouch for our journal
    stolen = CheckpointKey("us-dod", "key-1", public_key_bytes(RU_KEY))
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_checkpoint(signed.encode(), [stolen])
    with pytest.raises(CheckpointError, match="its own journals only"):
        sign_checkpoint(signed.checkpoint, "us-dod", "key-1", US_KEY)
    expired = CheckpointKey(
        "ru-mod", "key-1", RU.public_key, datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(CheckpointError, match="not valid at the checkpoint's time"):
        open_checkpoint(signed.encode(), [expired])
    current = CheckpointKey("ru-mod", "key-1", RU.public_key, datetime(2020, 1, 1, tzinfo=UTC), None)
    assert open_checkpoint(signed.encode(), [current]).checkpoint == signed.checkpoint


def test_verifier_keys_name_the_party_and_key_dcf_jnl_006() -> None:
    vkey = format_verifier_key(RU.name, 0x01, RU.public_key)
    assert vkey.startswith("deconflict.v1/ru-mod/key-1+")
    assert parse_verifier_key(vkey) == (RU.name, 0x01, RU.public_key)
    assert CheckpointKey.from_verifier_key(vkey) == RU
    with pytest.raises(NoteError, match="does not match"):
        parse_verifier_key(re.sub(r"\+[0-9a-f]{8}\+", "+00000000+", vkey))
    with pytest.raises(CheckpointError, match="not Ed25519"):
        CheckpointKey.from_verifier_key(format_verifier_key(RU.name, 0x04, RU.public_key))


def test_a_failing_signature_by_a_trusted_key_rejects_the_note_dcf_jnl_006() -> None:
    signed = _signed(5)
    line = signed.note.signatures[0]
    forged = Note(signed.note.text, (line, type(line)(line.name, line.key_id, bytes(64))))
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(forged.encode(), [RU])


# -- cosignatures ------------------------------------------------------------------------------------------------


def test_peer_cosigns_a_checkpoint_as_a_tlog_cosignature_dcf_jnl_009() -> None:
    signed = _signed(5)
    us_cosigner = CosignerKey.of_party("us-dod", "key-1", public_key_bytes(US_KEY))
    line = cosign(signed, us_cosigner.name, US_KEY, T + 7)
    assert line.key_id == hashlib.sha256(us_cosigner.name.encode() + b"\n\x04" + us_cosigner.public_key).digest()[:4]
    assert line.signature[:8] == (T + 7).to_bytes(8, "big")
    message = f"cosignature/v1\ntime {T + 7}\n{signed.note.text}".encode()
    assert cosigned_message(signed.note.text, T + 7) == message
    Ed25519PublicKey.from_public_bytes(us_cosigner.public_key).verify(line.signature[8:], message)

    witnessed = parse_note(signed.note.with_signature(line).encode())
    [cosignature] = verify_cosignatures(witnessed, [us_cosigner])
    assert (cosignature.name, cosignature.time) == (us_cosigner.name, T + 7)
    # The party's own signature still opens the checkpoint; the cosignature is another key's line, ignored there.
    assert open_checkpoint(witnessed.encode(), [RU]).checkpoint == signed.checkpoint
    # A plain Ed25519 verifier of the same key does not take the cosignature for a checkpoint signature.
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_checkpoint(Note(signed.note.text, (line,)).encode(), [US, RU])


def test_altered_cosignatures_fail_dcf_jnl_009() -> None:
    signed = _signed(5)
    cosigner = CosignerKey.of_party("us-dod", "key-1", public_key_bytes(US_KEY))
    line = cosign(signed, cosigner.name, US_KEY, T)
    later = type(line)(line.name, line.key_id, (T + 1).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignatures(signed.note.with_signature(later), [cosigner])
    other = _signed(6)
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignatures(other.note.with_signature(line), [cosigner])
    assert verify_cosignatures(signed.note.with_signature(line), []) == []


# -- forks -------------------------------------------------------------------------------------------------------


def test_consistent_checkpoints_are_no_fork_dcf_jnl_011() -> None:
    tree = _tree(20)
    old, new = _signed(7, tree), _signed(20, tree)
    assert check_fork(old, new, tree.consistency_proof(7, 20)) is None
    assert check_fork(new, old, tree.consistency_proof(7, 20)) is None
    assert check_fork(old, _signed(7, tree, time=T + 60)) is None
    assert check_fork(sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT, T), "ru-mod", "key-1", RU_KEY), new) is None


def test_two_signed_checkpoints_that_are_not_consistent_are_a_fork_naming_both_dcf_jnl_011() -> None:
    honest, rewritten = _tree(20), _tree(20, changed=3)
    seen = _signed(7, honest)
    # The same size with another root.
    fork = check_fork(seen, _signed(7, rewritten, time=T + 60))
    assert fork is not None
    assert fork.reason == "the same size, 7, with different roots"
    assert {fork.first.checkpoint.root, fork.second.checkpoint.root} == {honest.root(7), rewritten.root(7)}
    # A later checkpoint whose history differs: its consistency proof cannot lead to the root seen.
    later = _signed(20, rewritten, time=T + 60)
    fork = check_fork(later, seen, rewritten.consistency_proof(7, 20))
    assert fork is not None
    assert (fork.first, fork.second) == (seen, later)
    described = fork.describe()
    for checkpoint in (seen.checkpoint, later.checkpoint):
        assert f"size {checkpoint.size} (root {base64.b64encode(checkpoint.root).decode()}" in described
    assert described.startswith(f"fork of the journal {ORIGIN}:")
    assert "consistency proof from 7 to 20 fails" in described
    # The evidence is the notes as signed: they open again.
    assert open_checkpoint(fork.first.encode(), [RU]) == fork.first
    bad_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32), T), "ru-mod", "key-1", RU_KEY)
    assert check_fork(bad_empty, later) is not None
    with pytest.raises(ValueError, match="two journals"):
        check_fork(
            seen,
            sign_checkpoint(
                Checkpoint(journal_origin("other", "ru-mod"), 7, honest.root(7), T), "ru-mod", "key-1", RU_KEY
            ),
        )
