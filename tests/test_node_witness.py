"""The journal between real nodes (docs/spec/11-security.md, section 11.3): checkpoints and proofs served over
ChannelService, cosignatures returned and kept, and a node that forks its journal caught by its peer."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from deconflict.bridge.envelope import open_acknowledgement, seal_acknowledgement, signed_payload_to_proto
from deconflict.journal.base import Direction
from deconflict.journal.evidence import Evidence
from deconflict.journal.sqlite import read_journal
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer
from deconflict.operator.v1 import operator_service_pb2 as operator_pb
from deconflict.transparency.checkpoint import (
    Checkpoint,
    CheckpointKey,
    SignedCheckpoint,
    journal_origin,
    open_checkpoint,
)
from deconflict.transparency.cosignature import CosignerKey, verify_cosignatures
from deconflict.transparency.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from deconflict.v1 import envelope_pb2
from tests.nodes import (
    CHANNEL,
    RU,
    US,
    PeerSide,
    checkpoint_key,
    file_as,
    one_node,
    peer_of,
    refusal_of,
    restart,
    sortie,
    two_nodes,
    write_configs,
)
from tests.test_node import until

RU_ORIGIN = journal_origin(CHANNEL, RU)
US_ORIGIN = journal_origin(CHANNEL, US)


def key_of(party: str) -> CheckpointKey:
    signer = checkpoint_key(party)
    return CheckpointKey(party, signer.key_id, signer.public_key)


def cosigner_of(party: str) -> CosignerKey:
    signer = checkpoint_key(party)
    return CosignerKey.of_party(party, signer.key_id, signer.public_key)


async def checkpoint_of(side: PeerSide) -> SignedCheckpoint:
    """The node's latest checkpoint, verified with its party's key."""
    return open_checkpoint((await side.client.get_checkpoint(CHANNEL)).checkpoint, [key_of(RU)])


def channel_tree(path: Path) -> MerkleTree:
    """The tree of the channel's journal, recomputed from the file (DCF-JNL-003, DCF-JNL-004)."""
    return MerkleTree.of_entries(
        entry.record.payload for entry in read_journal(path) if entry.record.channel_id == CHANNEL
    )


async def notices(side: PeerSide, count: int, first: int = 0) -> list[tuple[envelope_pb2.SignedPayload, int]]:
    """`count` notices of the peer, each with its acknowledgement's journal_position."""
    sent = []
    for number in range(first, first + count):
        notice = sortie(f"{US}/sortie-{number}", owner=US, latitude=30.0 + number * 0.5)
        signed = side.envelope("notice", notice)
        delivery = await side.deliver(signed)
        sent.append((signed, delivery.acknowledgement.journal_position))
    return sent


# -- checkpoints and proofs ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_node_serves_a_checkpoint_of_its_journal_signed_by_its_party_dcf_jnl_006_dcf_jnl_007(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address) as side:
        await notices(side, 3)
        # Each notice, the node's acknowledgement of it (DCF-JNL-001) and its automatic answer to it.
        await until(lambda: single.server.node.trees.tree(CHANNEL).size == 9, timeout=5)
        signed = await checkpoint_of(side)
        tree = channel_tree(single.journal_path)
        checkpoint = signed.checkpoint
        assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (RU_ORIGIN, tree.size, tree.root())
        assert signed.signed_by == (f"deconflict.v1/{RU}/{checkpoint_key(RU).key_id}",)
        # Signed again only once the journal grew: the same note while it did not.
        assert (await checkpoint_of(side)).encode() == signed.encode()
        await notices(side, 1, first=3)
        assert (await checkpoint_of(side)).checkpoint.size > checkpoint.size


@pytest.mark.asyncio
async def test_an_acknowledged_message_is_proven_at_its_journal_position_dcf_jnl_005_dcf_jnl_008_dcf_jnl_012(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address) as side:
        sent = await notices(side, 5)
        signed = await checkpoint_of(side)
        size, root = signed.checkpoint.size, signed.checkpoint.root
        for envelope, position in sent:
            proof = (await side.client.get_inclusion_proof(CHANNEL, position, size)).proof
            # The entry is the SignedPayload as sent (DCF-JNL-003), at the acknowledgement's journal_position.
            verify_inclusion(leaf_hash(envelope.SerializeToString()), position, size, list(proof), root)
        entries = [entry for entry in read_journal(single.journal_path) if entry.record.direction == Direction.IN]
        assert [position for _, position in sent] == [entry.position for entry in entries]  # one channel: the same


@pytest.mark.asyncio
async def test_consistency_proofs_join_two_checkpoints_of_the_journal_dcf_jnl_008(tmp_path: Path) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address) as side:
        await notices(side, 2)
        first = (await checkpoint_of(side)).checkpoint
        await notices(side, 3, first=2)
        await until(lambda: single.server.node.trees.tree(CHANNEL).size == 15, timeout=5)
        second = (await checkpoint_of(side)).checkpoint
        proof = (await side.client.get_consistency_proof(CHANNEL, first.size, second.size)).proof
        verify_consistency(first.size, second.size, list(proof), first.root, second.root)
        tree = channel_tree(single.journal_path)
        for size in range(1, tree.size + 1):
            answer = await side.client.get_consistency_proof(CHANNEL, size, tree.size)
            verify_consistency(size, tree.size, list(answer.proof), tree.root(size), tree.root())


BAD_REQUESTS = [
    pytest.param("get_checkpoint", ("",), grpc.StatusCode.INVALID_ARGUMENT, "channel_id", id="checkpoint-no-channel"),
    pytest.param("get_checkpoint", ("nowhere",), grpc.StatusCode.NOT_FOUND, None, id="checkpoint-unknown-channel"),
    pytest.param(
        "get_consistency_proof", (CHANNEL, 0, 2), grpc.StatusCode.INVALID_ARGUMENT, "first_size", id="consistency-0"
    ),
    pytest.param(
        "get_consistency_proof", (CHANNEL, 3, 2), grpc.StatusCode.INVALID_ARGUMENT, "second_size", id="consistency-down"
    ),
    pytest.param("get_consistency_proof", (CHANNEL, 1, 99), grpc.StatusCode.OUT_OF_RANGE, None, id="consistency-far"),
    pytest.param(
        "get_consistency_proof", ("nowhere", 1, 2), grpc.StatusCode.NOT_FOUND, None, id="consistency-unknown-channel"
    ),
    pytest.param("get_inclusion_proof", (CHANNEL, 2, 2), grpc.StatusCode.INVALID_ARGUMENT, "index", id="inclusion-out"),
    pytest.param("get_inclusion_proof", (CHANNEL, 0, 0), grpc.StatusCode.INVALID_ARGUMENT, "index", id="inclusion-0"),
    pytest.param("get_inclusion_proof", (CHANNEL, 0, 99), grpc.StatusCode.OUT_OF_RANGE, None, id="inclusion-far"),
    pytest.param("cosign", (CHANNEL, b"", [b"x"]), grpc.StatusCode.INVALID_ARGUMENT, "checkpoint", id="cosign-empty"),
    pytest.param(
        "cosign", (CHANNEL, b"not a note", [b"x"]), grpc.StatusCode.INVALID_ARGUMENT, "checkpoint", id="cosign-no-note"
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "arguments", "code", "field"), BAD_REQUESTS)
async def test_bad_journal_requests_are_refused_with_the_field_at_fault_dcf_jnl_015_dcf_err_016(
    tmp_path: Path, method: str, arguments: tuple[object, ...], code: grpc.StatusCode, field: str | None
) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address) as side:
        await notices(side, 2)
        refused = await refusal_of(getattr(side.client, method)(*arguments))
        assert refused.code == code, refused
        assert [path for path, _ in refused.refusal.violations] == ([field] if field else [])


@pytest.mark.asyncio
async def test_cosignatures_that_do_not_verify_are_refused_dcf_jnl_009_dcf_jnl_015(tmp_path: Path) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address) as side:
        await notices(side, 1)
        served = (await side.client.get_checkpoint(CHANNEL)).checkpoint
        signed = open_checkpoint(served, [key_of(RU)])
        garbled = await refusal_of(side.client.cosign(CHANNEL, served, [b"\xe2\x80\x94 no-signature\n"]))
        assert [path for path, _ in garbled.refusal.violations] == ["cosignatures[0]"]
        # A cosignature by a key that is not the peer's in the agreement.
        line = checkpoint_key(RU).cosign(signed, 1_700_000_000).line().encode()
        stranger = await refusal_of(side.client.cosign(CHANNEL, served, [line]))
        assert [path for path, _ in stranger.refusal.violations] == ["cosignatures"]
        # The peer's cosignature of a checkpoint this node did not sign.
        forged = checkpoint_key(US).sign(Checkpoint(US_ORIGIN, 1, bytes(32), 1))
        line = checkpoint_key(US).cosign(forged, 1_700_000_000).line().encode()
        alien = await refusal_of(side.client.cosign(CHANNEL, forged.encode().encode(), [line]))
        assert [path for path, _ in alien.refusal.violations] == ["checkpoint"]
        assert RU_ORIGIN not in single.server.node.witnessed.cosignatures


@pytest.mark.asyncio
async def test_journal_reads_come_after_hello_and_need_a_key_dcf_err_016_dcf_jnl_015(tmp_path: Path) -> None:
    async with one_node(tmp_path, keys=True) as single, peer_of(single.address, greet=False) as stranger:
        client = stranger.client
        for call in (
            client.get_checkpoint(CHANNEL),
            client.get_consistency_proof(CHANNEL, 1, 1),
            client.get_inclusion_proof(CHANNEL, 0, 1),
        ):
            refused = await refusal_of(call)
            assert (refused.code, refused.refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "HELLO_REQUIRED")
    # A node without signing keys (unsigned, for local experiments) has no checkpoint to serve.
    keyless = tmp_path / "keyless"
    keyless.mkdir()
    config, _, _, _ = write_configs(keyless, peer_addresses={RU: "", US: ""}, signing="required = false")
    text = config.read_text()
    config.write_text(text[: text.index("[[signing.keys]]")])
    server = NodeServer(load_config(config))
    port = await server.start()
    try:
        async with peer_of(f"127.0.0.1:{port}") as side:
            refused = await refusal_of(side.client.get_checkpoint(CHANNEL))
            assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
            assert "no checkpoint signing key" in refused.refusal.message
    finally:
        await server.stop(grace=0)


# -- witnessing between two nodes -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_each_node_cosigns_the_other_and_keeps_the_cosignatures_it_gets_dcf_jnl_009(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, heartbeat=1, keys=True) as pair:
        await file_as(pair.ru_address, RU, "sortie-1")
        await file_as(pair.us_address, US, "sortie-2")

        def caught_up(server: NodeServer, origin: str) -> bool:
            kept = server.node.witnessed.cosignatures.get(origin)
            return kept is not None and kept.checkpoint.size == server.node.trees.tree(CHANNEL).size

        await until(lambda: caught_up(pair.ru, RU_ORIGIN) and caught_up(pair.us, US_ORIGIN), timeout=15)
        for server, origin, party, peer in ((pair.ru, RU_ORIGIN, RU, US), (pair.us, US_ORIGIN, US, RU)):
            kept = server.node.witnessed.cosignatures[origin]
            assert open_checkpoint(kept.encode(), [key_of(party)]).checkpoint == kept.checkpoint
            assert [found.name for found in verify_cosignatures(kept, [cosigner_of(peer)])] == [
                f"deconflict.v1/{peer}/{checkpoint_key(peer).key_id}"
            ]
        # What each cosigned is kept across a restart: the next checkpoint is checked against it (DCF-JNL-010).
        cosigned = pair.us.node.witnessed.cosigned[RU_ORIGIN]
        pair.us = await restart(pair.us)
        assert pair.us.node.witnessed.cosigned[RU_ORIGIN].encode() == cosigned.encode()


def rewrite_history(path: Path) -> None:
    """Rewrite the acknowledgement the peer gave for the node's first message, then every link and head after it,
    as someone who holds the file and knows its format would: the file is consistent in itself and the node
    replays it, and only a checkpoint the peer cosigned shows it."""
    columns = "position, channel_id, direction, message_id, sender, sequence, kind, payload, stored_time_us, meta"
    with contextlib.closing(sqlite3.connect(path)) as db:
        position, payload = db.execute(
            "SELECT position, payload FROM entries WHERE direction = 'ack_in' ORDER BY position LIMIT 1"
        ).fetchone()
        acknowledgement = open_acknowledgement(envelope_pb2.SignedPayload.FromString(payload))
        other = acknowledgement.model_copy(update={"stored_time": acknowledgement.stored_time + timedelta(seconds=7)})
        forged = signed_payload_to_proto(seal_acknowledgement(other)).SerializeToString()
        db.execute("UPDATE entries SET payload = ? WHERE position = ?", (forged, position))
        evidence = Evidence()
        rows = db.execute(f"SELECT {columns} FROM entries ORDER BY position").fetchall()
        db.executemany("UPDATE entries SET link = ? WHERE position = ?", [(evidence.add(row), row[0]) for row in rows])
        db.execute("UPDATE journal_head SET size = ?, link = ?", (evidence.size, evidence.link))
        for channel, tree in evidence.channels.items():
            db.execute(
                "UPDATE channel_heads SET size = ?, root = ?, subtrees = ? WHERE channel_id = ?",
                (tree.size, tree.root(), tree.to_bytes(), channel),
            )
        db.commit()


@pytest.mark.asyncio
async def test_a_node_that_forks_its_journal_is_caught_by_its_peer_dcf_jnl_010_dcf_jnl_011(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, heartbeat=1, keys=True) as pair:
        await file_as(pair.ru_address, RU, "sortie-1")
        await until(lambda: pair.ru.node.ledger.channels[CHANNEL].acknowledged >= 1, timeout=10)

        def witnessed_all() -> bool:
            cosigned = pair.us.node.witnessed.cosigned.get(RU_ORIGIN)
            return cosigned is not None and cosigned.checkpoint.size == pair.ru.node.trees.tree(CHANNEL).size

        await until(witnessed_all, timeout=15)
        honest = pair.us.node.witnessed.cosigned[RU_ORIGIN]
        loaded = pair.ru.node.loaded
        await pair.ru.stop(grace=0)
        rewrite_history(loaded.journal_path)
        pair.ru = NodeServer(loaded, checkpoint_key=checkpoint_key(RU))
        await pair.ru.start()
        assert pair.ru.node.trees.tree(CHANNEL).root(honest.checkpoint.size) != honest.checkpoint.root

        def fork_alerts() -> list[str]:
            return [
                alert.text
                for alert in pair.us.node.alerts.open_alerts()
                if alert.kind == operator_pb.ALERT_KIND_JOURNAL_FORK
            ]

        await until(lambda: bool(fork_alerts()), timeout=15)
        assert RU_ORIGIN in fork_alerts()[0]
        # Both checkpoints kept as evidence, each validly signed by ru-mod; the forked one is not cosigned.
        [(origin, first, second, reason)] = await pair.us.node.witnessed.forks()
        assert origin == RU_ORIGIN
        assert reason
        roots = [open_checkpoint(note, [key_of(RU)]).checkpoint.root for note in (first, second)]
        assert honest.checkpoint.root in roots
        assert roots[0] != roots[1]
        assert pair.us.node.witnessed.cosigned[RU_ORIGIN].encode() == honest.encode()
        forked = pair.ru.node.trees.signed(CHANNEL)
        assert forked is not None
        assert forked.checkpoint.root != pair.ru.node.witnessed.cosignatures[RU_ORIGIN].checkpoint.root
        # The fork is kept in us-dod's witness file, beside its journal, across a restart.
        pair.us = await restart(pair.us)
        assert len(await pair.us.node.witnessed.forks()) == 1
