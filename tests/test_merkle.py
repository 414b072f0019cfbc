"""The journal's Merkle tree (docs/spec/11-security.md DCF-JNL-004, DCF-JNL-008): RFC 9162 hashes, roots, and
inclusion and consistency proofs, made by the tree and checked by the verifiers.

The published RFC 6962 / RFC 9162 proof vectors are copied in tests/vectors/transparency-dev-merkle (with their
licence and source): every valid one must verify, every invalid one must be refused. Property tests check that the
proofs the tree makes verify, and that any change to a proof makes it fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.transparency.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parent / "vectors" / "transparency-dev-merkle" / "testdata"

# The tree of RFC 6962's test data, which the vectors' valid proofs are drawn from, and its roots at sizes 1 to 8.
REFERENCE_ENTRIES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")] + [
    bytes(range(0x60, 0x70))
]
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
REFERENCE = MerkleTree.of_entries(REFERENCE_ENTRIES)


def _load(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(json.loads(file.read_text()), id=str(file.relative_to(VECTORS / kind))) for file in files]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(item) for item in vector["proof"] or []]


def _outcome(check: Callable[[], None]) -> str:
    try:
        check()
    except ProofError:
        return "refused"
    return "verified"


INCLUSION = _load("inclusion")
CONSISTENCY = _load("consistency")
# The subtree vectors are for the arbitrary subtrees [start, end) of Merkle Tree Certificates, not RFC 9162 proofs.
# A subtree that starts at entry 0 and is not empty is the RFC 9162 tree of `end` entries and its proofs are RFC
# 9162 proofs, so those are run here; the others are skipped: subtrees that start further on have proofs RFC 9162
# does not define, and an empty subtree counts there as consistent with any tree, where RFC 9162 has no proof from
# the empty tree (the consistency vectors refuse one).
SUBTREE_INCLUSION = [param for param in _load("subtreeinclusion") if param.values[0]["start"] == 0]
SUBTREE_CONSISTENCY = [
    param for param in _load("subtreeconsistency") if param.values[0]["start"] == 0 and param.values[0]["end"] > 0
]


def test_every_vector_file_is_found_dcf_jnl_008() -> None:
    assert (len(INCLUSION), len(CONSISTENCY)) == (98, 98)
    assert (len(SUBTREE_INCLUSION), len(SUBTREE_CONSISTENCY)) == (101, 91)  # of 204 and 118
    assert (VECTORS.parent / "LICENSE").is_file()
    assert (VECTORS.parent / "SOURCE.md").is_file()


# -- hashes and roots --------------------------------------------------------------------------------------------


def test_hashes_are_those_of_rfc_9162_dcf_jnl_004() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert MerkleTree().root() == CompactRange().root() == EMPTY_ROOT
    assert leaf_hash(b"entry") == hashlib.sha256(b"\x00entry").digest()
    assert node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()


def test_roots_of_the_reference_tree_dcf_jnl_004() -> None:
    compact = CompactRange()
    for size, (entry, expected) in enumerate(zip(REFERENCE_ENTRIES, REFERENCE_ROOTS, strict=True), start=1):
        compact.append(leaf_hash(entry))
        assert compact.root().hex() == expected
        assert REFERENCE.root(size).hex() == expected


def _mth(leaves: list[bytes]) -> bytes:
    """MTH as RFC 9162 2.1.1 defines it, recursively: the reference the structures are compared with."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1, recursively."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1, recursively."""
    if m == len(leaves):
        return [] if whole else [_mth(leaves)]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _entries(count: int) -> list[bytes]:
    return [b"entry %d" % number for number in range(count)]


def test_roots_and_proofs_match_the_recursive_definitions_for_every_size_to_70_dcf_jnl_004_dcf_jnl_008() -> None:
    leaves = [leaf_hash(entry) for entry in _entries(70)]
    tree, compact = MerkleTree(), CompactRange()
    for leaf in leaves:
        tree.append(leaf)
        compact.append(leaf)
        assert compact.root() == tree.root() == _mth(leaves[: tree.size])
        assert CompactRange.from_bytes(compact.size, compact.to_bytes()) == compact
    for size in range(1, 71):
        assert tree.root(size) == _mth(leaves[:size])
        for index in range(size):
            assert tree.inclusion_proof(index, size) == _path(index, leaves[:size])
        for old in range(1, size + 1):
            assert tree.consistency_proof(old, size) == _subproof(old, leaves[:size], True)


def test_the_tree_refuses_what_is_not_in_it_dcf_jnl_008() -> None:
    tree = MerkleTree.of_entries(_entries(5))
    for ask in (
        lambda: tree.inclusion_proof(5),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.inclusion_proof(0, 6),
        lambda: tree.consistency_proof(0, 5),
        lambda: tree.consistency_proof(4, 3),
        lambda: tree.consistency_proof(2, 6),
        lambda: tree.root(6),
    ):
        with pytest.raises(ProofError):
            ask()
    with pytest.raises(ValueError, match="32 bytes"):
        tree.append(b"short")
    with pytest.raises(ValueError, match="subtrees"):
        CompactRange(3, [bytes(32)])


# -- the vectors -------------------------------------------------------------------------------------------------


def _check_inclusion(vector: dict[str, Any], size: int) -> str:
    return _outcome(
        lambda: verify_inclusion(
            _b64(vector["leafHash"]), vector["leafIdx"], size, _proof(vector), _b64(vector["root"])
        )
    )


def _check_consistency(vector: dict[str, Any], size1: int, size2: int) -> str:
    return _outcome(
        lambda: verify_consistency(size1, size2, _proof(vector), _b64(vector["root1"]), _b64(vector["root2"]))
    )


@pytest.mark.parametrize("vector", INCLUSION)
def test_inclusion_proofs_of_every_vector_verify_or_are_refused_dcf_jnl_008(vector: dict[str, Any]) -> None:
    assert _check_inclusion(vector, vector["treeSize"]) == ("refused" if vector["wantErr"] else "verified")


@pytest.mark.parametrize("vector", CONSISTENCY)
def test_consistency_proofs_of_every_vector_verify_or_are_refused_dcf_jnl_008(vector: dict[str, Any]) -> None:
    expected = "refused" if vector["wantErr"] else "verified"
    assert _check_consistency(vector, vector["size1"], vector["size2"]) == expected


@pytest.mark.parametrize("vector", SUBTREE_INCLUSION)
def test_subtree_inclusion_vectors_from_entry_0_are_rfc_9162_proofs_dcf_jnl_008(vector: dict[str, Any]) -> None:
    assert _check_inclusion(vector, vector["end"]) == ("refused" if vector["wantErr"] else "verified")


@pytest.mark.parametrize("vector", SUBTREE_CONSISTENCY)
def test_subtree_consistency_vectors_from_entry_0_are_rfc_9162_proofs_dcf_jnl_008(vector: dict[str, Any]) -> None:
    expected = "refused" if vector["wantErr"] else "verified"
    assert _check_consistency(vector, vector["end"], vector["size"]) == expected


def test_the_tree_makes_the_proofs_of_the_valid_vectors_dcf_jnl_008() -> None:
    """Every valid vector drawn from the reference tree: the tree gives exactly the vector's proof."""
    made = 0
    for param in INCLUSION:
        vector = param.values[0]
        size = vector["treeSize"]
        if not vector["wantErr"] and size <= REFERENCE.size and _b64(vector["root"]) == REFERENCE.root(size):
            assert REFERENCE.inclusion_proof(vector["leafIdx"], size) == _proof(vector)
            made += 1
    for param in CONSISTENCY:
        vector = param.values[0]
        size1, size2 = vector["size1"], vector["size2"]
        if (
            not vector["wantErr"]
            and size1 > 0
            and size2 <= REFERENCE.size
            and _b64(vector["root2"]) == REFERENCE.root(size2)
        ):
            assert REFERENCE.consistency_proof(size1, size2) == _proof(vector)
            made += 1
    assert made >= 8


# -- properties --------------------------------------------------------------------------------------------------

FAST = settings(max_examples=300, deadline=None)


@st.composite
def _alteration(draw: st.DrawFn, proof: list[bytes]) -> list[bytes]:
    """The proof changed in one way: a bit flipped, a hash dropped, added, replaced or two swapped."""
    altered = list(proof)
    choices = ["add"] + (["flip", "drop", "replace"] if proof else []) + (["swap"] if len(set(proof)) > 1 else [])
    kind = draw(st.sampled_from(choices))
    if kind == "add":
        altered.insert(draw(st.integers(0, len(altered))), draw(st.binary(min_size=32, max_size=32)))
    elif kind == "flip":
        index, bit = draw(st.integers(0, len(altered) - 1)), draw(st.integers(0, 255))
        item = bytearray(altered[index])
        item[bit // 8] ^= 1 << (bit % 8)
        altered[index] = bytes(item)
    elif kind == "drop":
        del altered[draw(st.integers(0, len(altered) - 1))]
    elif kind == "replace":
        index = draw(st.integers(0, len(altered) - 1))
        altered[index] = draw(st.binary(min_size=32, max_size=32).filter(lambda item: item != proof[index]))
    else:
        first, second = draw(
            st.lists(st.integers(0, len(altered) - 1), min_size=2, max_size=2, unique=True).filter(
                lambda pair: proof[pair[0]] != proof[pair[1]]
            )
        )
        altered[first], altered[second] = altered[second], altered[first]
    return altered


TREE = MerkleTree.of_entries(_entries(600))


@FAST
@given(data=st.data(), size=st.integers(1, TREE.size))
def test_inclusion_proofs_made_by_the_tree_verify_and_any_change_fails_dcf_jnl_008(
    data: st.DataObject, size: int
) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof, root, leaf = TREE.inclusion_proof(index, size), TREE.root(size), TREE.leaf(index)
    verify_inclusion(leaf, index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, data.draw(_alteration(proof)), root)
    other = data.draw(st.integers(0, size - 1).filter(lambda number: number != index)) if size > 1 else None
    if other is not None:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(TREE.leaf(other), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, TREE.root(size - 1) if size > 1 else EMPTY_ROOT)


@FAST
@given(data=st.data(), size2=st.integers(1, TREE.size))
def test_consistency_proofs_made_by_the_tree_verify_and_any_change_fails_dcf_jnl_008(
    data: st.DataObject, size2: int
) -> None:
    size1 = data.draw(st.integers(1, size2))
    proof, root1, root2 = TREE.consistency_proof(size1, size2), TREE.root(size1), TREE.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, data.draw(_alteration(proof)), root1, root2)
    if size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root2, root1)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, TREE.root(size2 - 1))
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, TREE.root(size1 + 1), root2)


@FAST
@given(entries=st.lists(st.binary(max_size=40), max_size=200))
def test_compact_range_and_tree_agree_on_any_entries_dcf_jnl_004(entries: list[bytes]) -> None:
    tree, compact = MerkleTree(), CompactRange()
    for entry in entries:
        tree.append_entry(entry)
        compact.append(leaf_hash(entry))
    assert compact.root() == tree.root() == _mth([leaf_hash(entry) for entry in entries])
    assert len(compact.roots) == len(entries).bit_count()
