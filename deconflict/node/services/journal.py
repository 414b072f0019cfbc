"""ChannelService's journal methods (DCF-JNL-006 to DCF-JNL-009): the serving party's checkpoint of its journal of
the channel, the proofs against it, and the peer's cosignatures of it.

Checked in the order of DCF-ERR-016: the fields (INVALID_ARGUMENT), the channel (NOT_FOUND), the peer
(PERMISSION_DENIED), its Hello (FAILED_PRECONDITION), then sizes against the journal (OUT_OF_RANGE). Proofs are
read from the channel's tree in memory: O(log n) hashes, no disk.
"""

from __future__ import annotations

import grpc

from deconflict.node.checkpoints import NoSignerError
from deconflict.node.ledger import ChannelState
from deconflict.node.node import Node
from deconflict.node.services.notice import channel_of, require_hello, require_peer
from deconflict.node.witness import peer_cosigners
from deconflict.rpc.handlers import Context
from deconflict.rpc.refusal import Refusal
from deconflict.transparency.checkpoint import CheckpointKey, SignedCheckpoint, journal_origin, open_checkpoint
from deconflict.transparency.cosignature import verify_cosignatures
from deconflict.transparency.merkle import MerkleTree
from deconflict.transparency.note import MAX_SIGNATURES, Note, NoteError, parse_note, parse_signature
from deconflict.v1 import channel_service_pb2 as pb

__all__ = ["checkpoint", "consistency_proof", "cosigned", "inclusion_proof"]


def checkpoint(node: Node, request: pb.GetCheckpointRequest, context: Context) -> pb.GetCheckpointResponse:
    channel = _channel(node, request.channel_id, context)
    try:
        signed = node.trees.latest(channel.channel_id)
    except NoSignerError as error:
        raise _no_key(error) from None
    return pb.GetCheckpointResponse(checkpoint=signed.encode().encode())


def consistency_proof(
    node: Node, request: pb.GetConsistencyProofRequest, context: Context
) -> pb.GetConsistencyProofResponse:
    if request.first_size == 0:
        raise Refusal.invalid([("first_size", "must be at least 1: every journal extends the empty one (RFC 9162)")])
    if request.second_size < request.first_size:
        raise Refusal.invalid([("second_size", f"must not be below first_size, {request.first_size}")])
    channel = _channel(node, request.channel_id, context)
    tree = _tree_of(node, channel, request.second_size, "second_size")
    return pb.GetConsistencyProofResponse(proof=tree.consistency_proof(request.first_size, request.second_size))


def inclusion_proof(node: Node, request: pb.GetInclusionProofRequest, context: Context) -> pb.GetInclusionProofResponse:
    if request.index >= request.tree_size:
        raise Refusal.invalid([("index", f"must be below tree_size, {request.tree_size}")])
    channel = _channel(node, request.channel_id, context)
    tree = _tree_of(node, channel, request.tree_size, "tree_size")
    return pb.GetInclusionProofResponse(proof=tree.inclusion_proof(request.index, request.tree_size))


async def cosigned(node: Node, request: pb.CosignRequest, context: Context) -> pb.CosignResponse:
    """The peer's cosignature of one of this node's checkpoints (DCF-JNL-009): checked, then kept."""
    note = _cosigned_note(request)
    channel = _channel(node, request.channel_id, context)
    signer = node.trees.signer
    if signer is None:
        raise _no_key(NoSignerError(f"{node.party} holds no checkpoint signing key"))
    ours = CheckpointKey(node.party, signer.key_id, signer.public_key)
    try:
        signed = open_checkpoint(note.encode(), [ours])
    except NoteError as error:
        raise Refusal.invalid([("checkpoint", f"is not a checkpoint this node signed: {error}")]) from None
    origin = journal_origin(channel.channel_id, node.party)
    tree = node.trees.tree(channel.channel_id)
    stated = signed.checkpoint
    if stated.origin != origin or stated.size > tree.size or tree.root(stated.size) != stated.root:
        raise Refusal.invalid([("checkpoint", f"is not a checkpoint of {origin} as this node holds it")])
    try:
        found = verify_cosignatures(note, peer_cosigners(channel))
    except NoteError as error:
        raise Refusal.invalid([("cosignatures", str(error))]) from None
    if not found:
        raise Refusal.invalid([("cosignatures", f"hold no cosignature by a key of {channel.peer} in the agreement")])
    # Kept: this node's signature and the peer's verified cosignatures, nothing else the request carried.
    own = tuple(line for line in note.signatures if line.name in signed.signed_by)
    kept = Note(note.text, (*own, *(cosignature.line for cosignature in found)))
    store = node.witnessed
    await store.keep_cosignature(SignedCheckpoint(stated, kept, node.party, signed.signed_by), node.clock())
    return pb.CosignResponse(cosigned_size=store.cosignatures[origin].checkpoint.size)


def _cosigned_note(request: pb.CosignRequest) -> Note:
    """The checkpoint with the cosignature lines added, each field checked on its own (field paths)."""
    if not request.checkpoint:
        raise Refusal.invalid([("checkpoint", "is required: the checkpoint cosigned, as served")])
    try:
        note = parse_note(request.checkpoint)
    except NoteError as error:
        raise Refusal.invalid([("checkpoint", f"is not a signed note: {error}")]) from None
    if not request.cosignatures:
        raise Refusal.invalid([("cosignatures", "name at least one cosignature")])
    if len(request.cosignatures) + len(note.signatures) > MAX_SIGNATURES:
        raise Refusal.invalid([("cosignatures", f"a note carries at most {MAX_SIGNATURES} signatures")])
    lines = []
    for index, line in enumerate(request.cosignatures):
        try:
            text = line.decode("utf-8")
            if not text.endswith("\n") or "\n" in text[:-1]:
                raise NoteError("is one signature line ending in a newline")
            lines.append(parse_signature(text[:-1]))
        except (UnicodeDecodeError, NoteError) as error:
            raise Refusal.invalid([(f"cosignatures[{index}]", f"is not a signature line: {error}")]) from None
    return Note(note.text, (*note.signatures, *lines))


def _channel(node: Node, channel_id: str, context: Context) -> ChannelState:
    channel = channel_of(node, channel_id)
    require_peer(channel)  # only the peer reads its channel's journal (DCF-SEC-004)
    require_hello(channel)
    return channel


def _tree_of(node: Node, channel: ChannelState, size: int, field: str) -> MerkleTree:
    tree = node.trees.tree(channel.channel_id)
    if size > tree.size:
        raise Refusal(
            grpc.StatusCode.OUT_OF_RANGE,
            f"{field} {size} is beyond {node.party}'s journal of channel {channel.channel_id}, of {tree.size} entries",
        )
    return tree


def _no_key(error: NoSignerError) -> Refusal:
    return Refusal(
        grpc.StatusCode.FAILED_PRECONDITION, f"{error}: it signs no checkpoint of its journals (DCF-JNL-006)"
    )
