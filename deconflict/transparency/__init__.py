"""Transparency of the journal (docs/spec/11-security.md, section 11.3): the RFC 9162 Merkle tree and its proofs,
C2SP signed notes, checkpoints and cosignatures, and the fork check.

- merkle.py       the tree (DCF-JNL-004), inclusion and consistency proofs (DCF-JNL-008): made and checked
- note.py         C2SP signed notes, Ed25519 note signatures, verifier keys
- checkpoint.py   a journal's checkpoint (DCF-JNL-006): text, signing, parsing and verifying
- cosignature.py  the peer's cosignature of a checkpoint (DCF-JNL-009)
- fork.py         two signed checkpoints that are not consistent (DCF-JNL-011)
"""
