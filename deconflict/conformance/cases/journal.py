"""Chapter 11.3: the journal. These cases run only against a party that claims the journal feature.

The suite reads the party's journal of the channel the way its peer would (ChannelService.GetCheckpoint,
GetConsistencyProof, GetInclusionProof, Cosign) and checks it against what the party says it stored
(GetObserved). Trees, proofs, checkpoints and cosignatures are checked with deconflict.transparency, never
computed again here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import grpc

from deconflict.bridge.envelope import decode_acknowledgement
from deconflict.client.peer import Delivery
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, case, expect
from deconflict.conformance.cases.envelope import refused_with
from deconflict.conformance.peer import SuitePeer, serving
from deconflict.conformance.session import Session
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.transparency.checkpoint import (
    Checkpoint,
    CheckpointKey,
    SignedCheckpoint,
    journal_origin,
    key_name,
    open_checkpoint,
)
from deconflict.transparency.cosignature import CosignerKey, cosign, verify_cosignatures
from deconflict.transparency.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from deconflict.transparency.note import Note, NoteError, NoteSignature
from deconflict.v1 import envelope_pb2


def _entry(signed: envelope_pb2.SignedPayload) -> bytes:
    """An entry's bytes (DCF-JNL-003): the SignedPayload in field-number order, which protobuf's deterministic
    serialization of a message without unknown fields gives."""
    return signed.SerializeToString(deterministic=True)


async def _checkpoint(s: Session) -> SignedCheckpoint:
    """The party's latest checkpoint of the channel, verified with its keys in the agreement, of its journal."""
    served = (await s.peer.get_checkpoint(s.channel_id)).checkpoint
    keys = [CheckpointKey.from_party_key(key) for key in s.agreement.model.keys if key.party == s.target.party]
    try:
        signed = open_checkpoint(served, keys)
    except NoteError as error:
        expected = f"a checkpoint signed by a key of {s.target.party} in the agreement"
        raise CaseFailedError(expected, str(error)) from None
    origin = journal_origin(s.channel_id, s.target.party)
    expect(signed.checkpoint.origin == origin, f"the origin line {origin}", signed.checkpoint.origin)
    return signed


async def _filed(s: Session, count: int) -> list[tuple[envelope_pb2.SignedPayload, Delivery]]:
    """`count` notices of the suite, each with its acknowledgement, after the suite's Hello."""
    filed = []
    for _ in range(count):
        signed = s.envelope("notice", s.notice())
        filed.append((signed, await s.deliver(signed)))
    return filed


def _proved(check: Callable[[], None], expected: str) -> None:
    """Run a verification of deconflict.transparency; a proof that fails it fails the case."""
    try:
        check()
    except ProofError as error:
        raise CaseFailedError(expected, str(error)) from None


@case("journal.checkpoint_signed_by_the_party", "DCF-JNL-004", "DCF-JNL-006", "DCF-JNL-015", feature="journal")
async def checkpoint_signed(s: Session) -> None:
    """After Hello, before any message, the party's checkpoint of the channel is of its empty journal (size 0, the
    SHA-256 of nothing): a C2SP checkpoint under the origin deconflict.v1/<channel>/<party>, signed by a key of the
    party in the agreement, valid at the checkpoint's time, which is the party's clock now."""
    await s.hello()
    signed = await _checkpoint(s)
    stated = signed.checkpoint
    expect(stated.size == 0 and stated.root == EMPTY_ROOT, "size 0 with the root SHA-256('')", stated)
    skew = abs(stated.time - datetime.now(UTC).timestamp())
    tolerance = s.agreement.model.clock_skew_tolerance.total_seconds()
    expect(skew <= tolerance, f"a time within {tolerance:.0f} s of the suite's clock", f"{skew:.0f} s off")


@case("journal.tree_of_the_stored_entries", "DCF-JNL-001", "DCF-JNL-003", "DCF-JNL-004", feature="journal")
async def tree_of_entries(s: Session) -> None:
    """The root the party signs is the RFC 9162 tree of the SignedPayloads it says it stored on the channel
    (GetObserved), in order, each entry the SignedPayload in field-number order: the suite's notices, and what the
    party sent of its own."""
    await s.hello()
    await _filed(s, 3)
    records = await s.settled()
    signed = await _checkpoint(s)
    if signed.checkpoint.size > len(records):  # an answer of the party stored since: read once more
        records = await s.observed()
    size = signed.checkpoint.size
    expect(size >= len([r for r in records if r.received]) >= 3, "every notice the party stored in the tree", size)
    expect(size <= len(records), f"at most the {len(records)} records GetObserved lists", size)
    tree = MerkleTree.of_entries(_entry(record.signed) for record in records[:size])
    expect(tree.root() == signed.checkpoint.root, f"the root of the first {size} records", "another root")


@case(
    "journal.inclusion_at_acknowledged_positions",
    "DCF-JNL-001",
    "DCF-JNL-005",
    "DCF-JNL-008",
    "DCF-JNL-012",
    feature="journal",
)
async def inclusion(s: Session) -> None:
    """Each acknowledgement's journal_position is the index of the suite's envelope in the party's journal: the
    party's inclusion proof of that index, against its checkpoint, leads from the leaf of the exact bytes the suite
    sent to the signed root. The same envelope sent again adds no entry."""
    await s.hello()
    filed = await _filed(s, 3)
    signed = await _checkpoint(s)
    again = await s.deliver(filed[0][0])
    expect(again.acknowledgement.journal_position == filed[0][1].acknowledgement.journal_position,
           "the duplicate acknowledged at the same position", again.acknowledgement)  # fmt: skip
    size, root = signed.checkpoint.size, signed.checkpoint.root
    for sent, delivery in filed:
        index = delivery.acknowledgement.journal_position
        expect(index < size, f"a journal_position below the checkpoint's size {size}", index)
        proof = list((await s.peer.get_inclusion_proof(s.channel_id, index, size)).proof)
        _proved(
            lambda: verify_inclusion(leaf_hash(_entry(sent)), index, size, proof, root),  # noqa: B023
            f"the proof of the envelope acknowledged at {index} leads to the root of size {size}",
        )
    await s.settled()
    later = await _checkpoint(s)
    records = [r for r in await s.observed() if r.received]
    expect(len(records) == len(filed), f"{len(filed)} entries of the suite's, the duplicate none", len(records))
    expect(later.checkpoint.size >= size, f"a later checkpoint of at least {size} entries", later.checkpoint.size)


@case(
    "journal.acknowledgements_sent_journaled",
    "DCF-JNL-001",
    "DCF-JNL-003",
    "DCF-ENV-023",
    feature="journal",
)
async def acknowledgements_journaled(s: Session) -> None:
    """The party journals each acknowledgement it sends, once, before it sends it: as soon as the suite holds one,
    GetObserved lists it, the same bytes (DCF-JNL-003), after the envelope it acknowledges. The same envelope sent
    again is answered with those bytes and adds no entry."""
    await s.hello()
    filed = []
    for _ in range(3):
        signed = s.envelope("notice", s.notice())
        delivery = await s.deliver(signed)
        filed.append((signed, delivery))
        message_id = delivery.acknowledgement.message_id
        records = await s.observed()  # at once: what the party journals before it acknowledges is there already
        stored = [r.position for r in records if r.received and r.envelope.message_id == message_id]
        sent = [r.position for r in records if r.acknowledgement_sent and _entry(r.signed) == _entry(delivery.signed)]
        expect(bool(stored), f"the envelope {message_id} stored", "not in GetObserved")
        got = f"{len(sent)} entries with its bytes" + (f", at {sent[0]}, the envelope at {stored[0]}" if sent else "")
        expect(len(sent) == 1 and sent[0] > stored[0], f"the acknowledgement of {message_id} journaled once, after it",
               got)  # fmt: skip
    again = await s.deliver(filed[0][0])
    expect(_entry(again.signed) == _entry(filed[0][1].signed), "the duplicate answered with the same bytes",
           again.acknowledgement)  # fmt: skip
    records = await s.settled()
    acknowledged = [decode_acknowledgement(r.signed.payload).message_id for r in records if r.acknowledgement_sent]
    wanted = [delivery.acknowledgement.message_id for _, delivery in filed]
    expect(acknowledged == wanted, "one acknowledgement journaled per envelope, the duplicate none", acknowledged)


@case("journal.consistency_between_checkpoints", "DCF-JNL-002", "DCF-JNL-008", "DCF-JNL-015", feature="journal")
async def consistency(s: Session) -> None:
    """A checkpoint taken after more messages extends the earlier one: the party's consistency proofs from the
    first checkpoint, and from every smaller size of the journal it says it stored, to the second verify."""
    await s.hello()
    await _filed(s, 2)
    first = (await _checkpoint(s)).checkpoint
    await _filed(s, 3)
    await s.settled()
    second = (await _checkpoint(s)).checkpoint
    expect(second.size > first.size >= 2, f"a second checkpoint beyond the first's {first.size} entries", second.size)
    stored = MerkleTree.of_entries(_entry(record.signed) for record in (await s.observed())[: second.size])
    roots = [(first.size, first.root)] + [(size, stored.root(size)) for size in range(1, stored.size + 1)]
    for size, root in roots:
        proof = list((await s.peer.get_consistency_proof(s.channel_id, size, second.size)).proof)
        _proved(
            lambda: verify_consistency(size, second.size, proof, root, second.root),  # noqa: B023
            f"the proof from size {size} to {second.size} verifies",
        )


@case("journal.bad_proof_requests_refused", "DCF-JNL-015", "DCF-ERR-002", feature="journal")
async def bad_requests(s: Session) -> None:
    """Proof requests that ask for nothing a journal holds are refused with INVALID_ARGUMENT naming the field
    (an index not below the tree size, a first size of 0, a second size below the first), and sizes beyond the
    journal with OUT_OF_RANGE."""
    await s.hello()
    await _filed(s, 2)
    size = (await _checkpoint(s)).checkpoint.size
    peer, channel = s.peer, s.channel_id
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await refused_with(s, peer.get_inclusion_proof(channel, size, size), invalid, field="index")
    await refused_with(s, peer.get_consistency_proof(channel, 0, size), invalid, field="first_size")
    await refused_with(s, peer.get_consistency_proof(channel, size, size - 1), invalid, field="second_size")
    beyond = size + 1_000
    await refused_with(s, peer.get_inclusion_proof(channel, 0, beyond), grpc.StatusCode.OUT_OF_RANGE)
    await refused_with(s, peer.get_consistency_proof(channel, 1, beyond), grpc.StatusCode.OUT_OF_RANGE)


@case("journal.cosignature_taken_only_from_the_peer", "DCF-JNL-015", feature="journal")
async def cosignatures(s: Session) -> None:
    """The party takes the suite's tlog-cosignature of its checkpoint and answers the size it keeps cosigned; a
    cosignature that does not verify, or of a checkpoint the party did not sign, is refused with INVALID_ARGUMENT
    naming the field."""
    if s.key is None:
        raise CaseFailedError("a key of the suite in the agreement", "none: the target names no suite key")
    await s.hello()
    await _filed(s, 2)
    signed = await _checkpoint(s)
    served = signed.encode().encode()
    name = key_name(s.party, s.key.key_id)
    now = int(datetime.now(UTC).timestamp())
    line = cosign(signed, name, s.key.private_key, now).line().encode()
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    # The suite's key and name, but signed at another time than the line states: it does not verify.
    wrong = cosign(signed, name, s.key.private_key, now + 1)
    forged = NoteSignature(wrong.name, wrong.key_id, now.to_bytes(8, "big") + wrong.signature[8:]).line().encode()
    await refused_with(s, s.peer.cosign(s.channel_id, served, [forged]), invalid, field="cosignatures")
    # Not a checkpoint the party signed: its size changed under the party's signature.
    size = signed.checkpoint.size
    other = served.replace(f"\n{size}\n".encode(), f"\n{size + 999}\n".encode(), 1)
    await refused_with(s, s.peer.cosign(s.channel_id, other, [line]), invalid, field="checkpoint")
    try:
        answer = await s.peer.cosign(s.channel_id, served, [line])
    except RefusedError as error:
        raise CaseFailedError("the suite's cosignature taken", f"{error.code.name}: {error.message}") from None
    expect(answer.cosigned_size == size, f"cosigned_size {size}", answer.cosigned_size)


# -- the party witnessing the suite's journal (the suite listening as its peer)


def _suite_journal(size: int, label: bytes = b"suite entry") -> MerkleTree:
    """A journal of the suite's: the party witnesses its tree, never its entries' meaning."""
    return MerkleTree.of_entries(label + b" %d" % index for index in range(size))


async def _cosigned(s: Session, peer: SuitePeer, stated: Checkpoint, within: float) -> Note | None:
    """The party's cosignature of `stated` once it returned one (checked to verify with a key of the party in the
    agreement), or None after `within` seconds."""
    keys = [CosignerKey.of_party(k.party, k.key_id, k.ed25519_public_key) for k in s.agreement.model.keys
            if k.party == s.target.party]  # fmt: skip
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for note in peer.cosignatures:
            if note.text != stated.text():
                continue
            try:
                found = verify_cosignatures(note, keys)
            except NoteError as error:
                raise CaseFailedError("a cosignature that verifies", str(error)) from None
            expect(bool(found), f"a tlog-cosignature by a key of {s.target.party}", note.signatures)
            return note
        await asyncio.sleep(0.1)
    return None


@case("journal.party_witnesses_the_peer", "DCF-JNL-009", feature="journal")
async def witnesses(s: Session) -> None:
    """The party obtains the suite's checkpoint, verifies it and returns its cosignature (Cosign), a C2SP
    tlog-cosignature by a key of the party in the agreement; a later checkpoint that extends it is cosigned too,
    after the party asked for the consistency proof between them."""
    interval = s.agreement.model.heartbeat_interval.total_seconds()
    async with serving(s, greet=True) as peer:
        first = peer.serve_checkpoint(_suite_journal(3))
        found = await _cosigned(s, peer, first, 5 * interval + 3)
        expect(found is not None, "the suite's checkpoint cosigned", f"Cosign calls: {len(peer.cosignatures)}")
        second = peer.serve_checkpoint(_suite_journal(5))
        found = await _cosigned(s, peer, second, 5 * interval + 3)
        expect(found is not None, "the checkpoint that extends it cosigned", f"Cosign calls: {len(peer.cosignatures)}")
        asked = [(c.request.first_size, c.request.second_size) for c in peer.named("GetConsistencyProof")]
        expect((3, 5) in asked, "a consistency proof from size 3 to 5 asked for", asked)


@case("journal.party_finds_a_fork_and_cosigns_none", "DCF-JNL-010", "DCF-JNL-011", feature="journal")
async def fork(s: Session) -> None:
    """After the party cosigned a checkpoint of the suite, the suite serves one of other entries that does not
    extend it: the party cosigns none of it and raises an alert ALERT_KIND_JOURNAL_FORK."""
    interval = s.agreement.model.heartbeat_interval.total_seconds()
    async with serving(s, greet=True) as peer:
        first = peer.serve_checkpoint(_suite_journal(3))
        found = await _cosigned(s, peer, first, 5 * interval + 3)
        expect(found is not None, "the suite's first checkpoint cosigned", f"Cosign calls: {len(peer.cosignatures)}")
        forked = peer.serve_checkpoint(_suite_journal(5, b"rewritten entry"))
        deadline = time.monotonic() + 5 * interval + 3
        alerts: list[int] = []
        while time.monotonic() < deadline and operator_pb.ALERT_KIND_JOURNAL_FORK not in alerts:
            await asyncio.sleep(0.2)
            alerts = [alert.kind for alert in await s.alerts()]
        await asyncio.sleep(2 * interval)  # a witness that cosigns anyway has had its rounds
        cosigned = await _cosigned(s, peer, forked, 0.1)
        expect(cosigned is None, "no cosignature of the forked checkpoint", "the party cosigned it")
        expect(operator_pb.ALERT_KIND_JOURNAL_FORK in alerts, "an alert ALERT_KIND_JOURNAL_FORK", alerts)
