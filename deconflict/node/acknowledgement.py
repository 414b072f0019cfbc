"""Logical acknowledgements: built when a message is admitted, and journaled right after it (ACK_OUT).

The same message twice gets the same acknowledgement (DCF-ENV-023): a duplicate
is answered with the journaled bytes, after a restart too. A journal written
before acknowledgements were journaled holds none: the acknowledgement is then
built again from the stored entry and the node's facts about it (kept in the
journal record's `meta`). Ed25519 signatures are deterministic (RFC 8032):
signed again by the same keys, it is the same SignedPayload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from deconflict.bridge.convert import timestamp
from deconflict.journal.base import from_micros, to_micros
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE
from deconflict.node.ledger import Facts
from deconflict.security.signing import Signer
from deconflict.v1 import envelope_pb2, response_pb2


class _StoredFacts(msgspec.Struct, array_like=True, frozen=True):
    late: bool
    due_us: int | None  # response_due_time, microseconds since the epoch
    notice_id: str
    notice_version: int


ACKNOWLEDGEMENT_KIND: Final = "acknowledgement"  # Record.kind of an acknowledgement, received (ACK_IN) or sent

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_StoredFacts)


def encode_facts(facts: Facts) -> bytes:
    due = facts.response_due_time
    return _ENCODER.encode(
        _StoredFacts(facts.late, None if due is None else to_micros(due), facts.notice_id, facts.notice_version)
    )


def decode_facts(meta: bytes) -> Facts:
    if not meta:
        return Facts()
    stored = _DECODER.decode(meta)
    due = None if stored.due_us is None else from_micros(stored.due_us)
    return Facts(
        late=stored.late, response_due_time=due, notice_id=stored.notice_id, notice_version=stored.notice_version
    )


def build_acknowledgement(
    *,
    channel_id: str,
    party: str,
    message_id: str,
    sender: str,
    sequence: int,
    payload_sha256: bytes,
    position: int,
    stored_time: datetime,
    facts: Facts,
    signer: Signer,
    now: datetime,
) -> envelope_pb2.SignedPayload:
    """The acknowledgement of one stored message, signed like an envelope with the keys valid `now` (DCF-SEC-011).

    Built as protobuf directly, one per message received: every field comes from a message already validated and
    the node's own state, so the model's checks would find nothing (a test holds the bytes equal to the model's).
    """
    acknowledgement = response_pb2.LogicalAcknowledgement(
        channel_id=channel_id,
        acknowledging_party=party,
        message_id=message_id,
        message_sender=sender,
        message_sequence=sequence,
        payload_sha256=payload_sha256,
        journal_position=position,
        stored_time=timestamp(stored_time),
        notice_id=facts.notice_id,
        notice_version=facts.notice_version,
        late=facts.late,
    )
    if facts.response_due_time is not None:
        acknowledgement.response_due_time.CopyFrom(timestamp(facts.response_due_time))
    signed = envelope_pb2.SignedPayload(
        payload_type=ACKNOWLEDGEMENT_TYPE, payload=acknowledgement.SerializeToString(deterministic=True)
    )
    return signer.sign(channel_id, signed, now)
