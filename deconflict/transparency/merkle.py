"""The journal's Merkle tree: RFC 9162, section 2.1 (DCF-JNL-004), with inclusion and consistency proofs (DCF-JNL-008).

The hash of entry d is SHA-256(0x00 || d), an interior node is SHA-256(0x01 || left || right), and the root of the
empty tree is SHA-256 of the empty string. Two structures hold a tree:

- `CompactRange`: the roots of the perfect subtrees a tree of n entries is made of (one per bit set in n), largest
  first. Appending costs O(1) hashes amortised (O(log n) at worst) and the root O(log n); it is all a journal writer
  needs to know the running root, and is small enough to be stored with every commit.
- `MerkleTree`: every level of the tree in contiguous buffers (32 bytes per node, about 64 bytes per entry in all),
  so that the root of any earlier size and any proof cost O(log n) hashes, not a pass over the journal.

Verification follows the algorithms of RFC 9162, sections 2.1.3.2 and 2.1.4.2, and refuses what they refuse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof that does not prove what it claims, or a request for a proof the tree cannot give."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one entry's bytes: SHA-256(0x00 || entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(width: int) -> int:
    """The largest power of two smaller than `width` (width > 1): where RFC 9162 splits a range of entries."""
    return 1 << ((width - 1).bit_length() - 1)


class CompactRange:
    """A tree of `size` entries as the roots of its perfect subtrees, largest (leftmost) first."""

    __slots__ = ("_roots", "_size")

    def __init__(self, size: int = 0, roots: Iterable[bytes] = ()) -> None:
        self._roots = list(roots)
        if size < 0 or len(self._roots) != size.bit_count():
            raise ValueError(f"a tree of {size} entries is not made of {len(self._roots)} subtrees")
        if any(len(root) != HASH_SIZE for root in self._roots):
            raise ValueError(f"subtree roots are {HASH_SIZE} bytes")
        self._size = size

    @classmethod
    def from_bytes(cls, size: int, roots: bytes) -> CompactRange:
        """The range stored by `to_bytes`."""
        if len(roots) % HASH_SIZE:
            raise ValueError(f"stored subtree roots are a multiple of {HASH_SIZE} bytes, not {len(roots)}")
        return cls(size, (roots[offset : offset + HASH_SIZE] for offset in range(0, len(roots), HASH_SIZE)))

    def to_bytes(self) -> bytes:
        return b"".join(self._roots)

    @property
    def size(self) -> int:
        return self._size

    @property
    def roots(self) -> tuple[bytes, ...]:
        return tuple(self._roots)

    def append(self, leaf: bytes) -> None:
        """Add the entry whose leaf hash is `leaf`: it merges with each right-edge subtree of its own size."""
        roots = self._roots
        roots.append(leaf)
        carry = self._size
        while carry & 1:
            right = roots.pop()
            roots[-1] = node_hash(roots[-1], right)
            carry >>= 1
        self._size += 1

    def root(self) -> bytes:
        """The tree's root: the subtree roots folded from the right, as RFC 9162 splits the entries."""
        roots = self._roots
        if not roots:
            return EMPTY_ROOT
        root = roots[-1]
        for left in reversed(roots[:-1]):
            root = node_hash(left, root)
        return root

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._roots)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompactRange) and (self._size, self._roots) == (other._size, other._roots)

    def __hash__(self) -> int:
        return hash((self._size, *self._roots))

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


class MerkleTree:
    """Every node of the tree of the entries appended so far: roots of earlier sizes and proofs between any sizes.

    Level k holds the roots of the perfect subtrees of 2**k entries, in order; node i of level k covers the entries
    i * 2**k to (i + 1) * 2**k - 1. A level is filled as soon as a subtree is complete, so every perfect subtree of
    any earlier size is there to be read.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for leaf in leaves:
            self.append(leaf)

    @classmethod
    def of_entries(cls, entries: Iterable[bytes]) -> MerkleTree:
        return cls(leaf_hash(entry) for entry in entries)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        """Add the entry whose leaf hash is `leaf`; its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        index = self._size
        levels = self._levels
        levels[0] += leaf
        node, level, position = leaf, 0, index
        while position & 1:  # a right child: its parent is complete
            start = (position - 1) * HASH_SIZE
            node = node_hash(bytes(levels[level][start : start + HASH_SIZE]), node)
            level += 1
            position >>= 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
        self._size = index + 1
        return index

    def append_entry(self, entry: bytes) -> int:
        return self.append(leaf_hash(entry))

    def leaf(self, index: int) -> bytes:
        self._check_size(index + 1, "index")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first `size` entries (by default all of them)."""
        size = self._size if size is None else size
        self._check_size(size, "size")
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162, 2.1.3.1: the sibling hashes from the leaf up to the root."""
        size = self._size if size is None else size
        self._check_size(size, "size")
        if not 0 <= index < size:
            raise ProofError(f"entry {index} is not in a tree of {size} entries")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            half = start + _split(end - start)
            if index < half:
                path.append(self._subtree(half, end))
                end = half
            else:
                path.append(self._subtree(start, half))
                start = half
        path.reverse()  # collected from the root down; the proof lists them from the leaf up
        return path

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(size1, D[size2]) of RFC 9162, 2.1.4.1: what shows the first size1 entries unchanged in size2."""
        size2 = self._size if size2 is None else size2
        self._check_size(size2, "size2")
        if not 0 < size1 <= size2:
            raise ProofError(f"no consistency proof from size {size1} to size {size2} (RFC 9162 needs 0 < size1)")
        proof: list[bytes] = []
        start, end, whole = 0, size2, True  # whole: the old tree's root is this very subtree (SUBPROOF's b)
        while size1 - start != end - start:
            half = start + _split(end - start)
            if size1 <= half:
                proof.append(self._subtree(half, end))
                end = half
            else:
                proof.append(self._subtree(start, half))
                start, whole = half, False
        if not whole:
            proof.append(self._subtree(start, end))
        proof.reverse()
        return proof

    def _check_size(self, size: int, name: str) -> None:
        if not 0 <= size <= self._size:
            raise ProofError(f"{name} {size} is outside a tree of {self._size} entries")

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH of the entries start..end-1 (start < end <= size), as RFC 9162 splits them; every range a proof asks
        for starts on a multiple of its left part, so the left part is always a stored perfect subtree."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self._node(level, start >> level)
        half = start + _split(width)
        return node_hash(self._subtree(start, half), self._subtree(half, end))


def _check_hashes(proof: Sequence[bytes]) -> None:
    for number, item in enumerate(proof):
        if len(item) != HASH_SIZE:
            raise ProofError(f"proof hash {number} is {len(item)} bytes, not {HASH_SIZE}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `proof` shows the entry with leaf hash `leaf` at `index` in the tree of `size` entries with
    `root` (RFC 9162, 2.1.3.2); raise ProofError if it does not."""
    if not 0 <= index < size:
        raise ProofError(f"entry {index} is not in a tree of {size} entries")
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError(f"the leaf hash and the root are {HASH_SIZE} bytes each")
    _check_hashes(proof)
    fn, sn, hashed = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError(f"the proof has more hashes than entry {index} of a tree of {size} needs")
        if fn & 1 or fn == sn:
            hashed = node_hash(sibling, hashed)
            while fn and not fn & 1:  # the right edge of a tree whose size is no power of two: skip levels
                fn >>= 1
                sn >>= 1
        else:
            hashed = node_hash(hashed, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof has too few hashes for entry {index} of a tree of {size}")
    if hashed != root:
        raise ProofError(f"the proof of entry {index} leads to another root than the tree of {size} entries has")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that `proof` shows the tree of size1 entries with root1 to be the first size1 entries of the tree of
    size2 entries with root2 (RFC 9162, 2.1.4.2); raise ProofError if it does not.

    RFC 9162 defines proofs for 0 < size1 only (every tree extends the empty one: nothing to prove), so a size1 of 0
    is refused; equal sizes are consistent when the roots are the same and the proof is empty.
    """
    if size1 <= 0 or size2 < size1:
        raise ProofError(f"no consistency proof from size {size1} to size {size2} (RFC 9162 needs 0 < size1 <= size2)")
    if size1 == size2:
        if proof:
            raise ProofError("the proof between two trees of the same size is empty")
        if root1 != root2:
            raise ProofError(f"two trees of {size1} entries with different roots")
        return
    if not proof:
        raise ProofError(f"an empty proof cannot show size {size1} consistent with size {size2}")
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError(f"roots are {HASH_SIZE} bytes each")
    _check_hashes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # the old tree is a perfect subtree of the new one: its root starts the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old = new = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError(f"the proof has more hashes than sizes {size1} and {size2} need")
        if fn & 1 or fn == sn:
            old = node_hash(node, old)
            new = node_hash(node, new)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof has too few hashes for sizes {size1} and {size2}")
    if old != root1:
        raise ProofError(f"the proof does not lead to the root of the tree of {size1} entries")
    if new != root2:
        raise ProofError(f"the proof does not lead to the root of the tree of {size2} entries")
