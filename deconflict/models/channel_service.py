"""Requests and responses of the ChannelService: hello, heartbeat, the agreement,
checklists, suspension, incidents, timeouts and the streaming paths.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Self

from pydantic import Field, model_validator

from deconflict import limits
from deconflict.models.base import Message, refuse
from deconflict.models.channel import Checklist, Heartbeat, Hello
from deconflict.models.envelope import ACKNOWLEDGEMENT_TYPE, AcknowledgementResponse, EnvelopeRequest, SignedPayload
from deconflict.models.errors import MessageRefusal
from deconflict.models.types import Identifier, Sha256, Uint64, Version
from deconflict.transparency.note import MAX_NOTE_BYTES, MAX_SIGNATURES


class HelloRequest(Message):
    hello: Hello


class HelloResponse(Message):
    # The answering party's own Hello.
    hello: Hello
    selected_major: Version

    @model_validator(mode="after")
    def _selected_is_supported(self) -> Self:
        versions = self.hello.supported_versions
        if not versions.min_major <= self.selected_major <= versions.max_major:
            raise refuse(
                "selected_major",
                "must be within the answering party's supported versions ({low} to {high})",
                low=versions.min_major,
                high=versions.max_major,
            )
        return self


class HeartbeatRequest(Message):
    heartbeat: Heartbeat


class HeartbeatResponse(Message):
    heartbeat: Heartbeat


class GetAgreementRequest(Message):
    channel_id: Identifier


class GetAgreementResponse(Message):
    # A serialized deconflict.v1.Agreement, exactly as hashed.
    agreement: bytes = Field(min_length=1, max_length=limits.MAX_MESSAGE_BYTES)
    agreement_hash: Sha256

    @model_validator(mode="after")
    def _hash_matches(self) -> Self:
        if hashlib.sha256(self.agreement).digest() != self.agreement_hash:
            raise refuse("agreement_hash", "is not the SHA-256 of agreement")
        return self


class ExchangeChecklistRequest(Message):
    checklist: Checklist


class ExchangeChecklistResponse(Message):
    checklist: Checklist


class SuspendRequest(EnvelopeRequest):
    pass


class SuspendResponse(AcknowledgementResponse):
    pass


class ResumeRequest(EnvelopeRequest):
    pass


class ResumeResponse(AcknowledgementResponse):
    pass


class ReportIncidentRequest(EnvelopeRequest):
    pass


class ReportIncidentResponse(AcknowledgementResponse):
    pass


class NotifyTimeoutRequest(EnvelopeRequest):
    """Carries a timeout body: the only route of a ResponseTimeout besides Exchange (DCF-TMR-017)."""


class NotifyTimeoutResponse(AcknowledgementResponse):
    pass


class WatchRequest(Message):
    channel_id: Identifier
    # The first sequence wanted; 0 or 1 for everything.
    from_sequence: Uint64 = 0


class WatchResponse(EnvelopeRequest):
    """An envelope as sent: the same shape and check as a write request."""


class ExchangeRequest(EnvelopeRequest):
    pass


class ExchangeResponse(Message):
    acknowledgement: SignedPayload | None = None
    refusal: MessageRefusal | None = None

    @model_validator(mode="after")
    def _one_result(self) -> Self:
        if (self.acknowledgement is None) == (self.refusal is None):
            raise refuse("result", "exactly one of acknowledgement and refusal must be set")
        if self.acknowledgement is not None and self.acknowledgement.payload_type != ACKNOWLEDGEMENT_TYPE:
            raise refuse("acknowledgement.payload_type", "must be {expected} here", expected=ACKNOWLEDGEMENT_TYPE)
        return self


# The journal (docs/spec/11-security.md, DCF-JNL-006 to DCF-JNL-009, DCF-JNL-015). Checkpoints and cosignatures are
# C2SP signed notes, read and verified by deconflict.transparency; the models bound their shape and size only.
# A proof holds at most one hash per level of a tree of 2**64 entries (two per level for a consistency proof).
_MAX_PROOF: Final = 64
SignedNote = Annotated[bytes, Field(min_length=1, max_length=MAX_NOTE_BYTES)]


class GetCheckpointRequest(Message):
    channel_id: Identifier


class GetCheckpointResponse(Message):
    checkpoint: SignedNote


class GetConsistencyProofRequest(Message):
    channel_id: Identifier
    first_size: Uint64
    second_size: Uint64

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.first_size == 0:
            raise refuse("first_size", "must be at least 1: every journal extends the empty one (RFC 9162)")
        if self.second_size < self.first_size:
            raise refuse("second_size", "must not be below first_size, {first}", first=self.first_size)
        return self


class GetConsistencyProofResponse(Message):
    proof: list[Sha256] = Field(default_factory=list, max_length=2 * _MAX_PROOF)


class GetInclusionProofRequest(Message):
    channel_id: Identifier
    index: Uint64
    tree_size: Uint64

    @model_validator(mode="after")
    def _index_in_tree(self) -> Self:
        if self.index >= self.tree_size:
            raise refuse("index", "must be below tree_size, {size}", size=self.tree_size)
        return self


class GetInclusionProofResponse(Message):
    proof: list[Sha256] = Field(default_factory=list, max_length=_MAX_PROOF)


class CosignRequest(Message):
    channel_id: Identifier
    checkpoint: SignedNote
    # Signature lines of a signed note, each ending in a newline.
    cosignatures: list[SignedNote] = Field(min_length=1, max_length=MAX_SIGNATURES)


class CosignResponse(Message):
    # The largest checkpoint of the journal the serving party keeps cosigned by the caller.
    cosigned_size: Uint64 = 0
