"""Refusals: the protocol's errors as gRPC statuses with structured details (docs/spec/09-errors.md).

A node raises a Refusal anywhere below an RPC behaviour; the handlers turn it into
the status and the `grpc-status-details-bin` trailer (a google.rpc.Status packing
google.rpc.BadRequest, google.rpc.ErrorInfo and deconflict.v1.StaleVersion or
SequenceGap), or into a MessageRefusal on an Exchange stream. A client reads the
same Refusal back with refusal_from_rpc_error, so both ends see the same code,
field paths, reason and details.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeVar

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from pydantic import TypeAdapter, ValidationError

from deconflict import limits
from deconflict.bridge.errors import (
    sequence_gap_data,
    sequence_gap_to_proto,
    stale_version_data,
    stale_version_to_proto,
)
from deconflict.models.base import field_violations
from deconflict.models.errors import (
    REASON_CODES,
    FieldViolation,
    MessageRefusal,
    Reason,
    SequenceGap,
    StaleVersion,
)
from deconflict.models.types import OptionalIdentifier
from deconflict.v1 import errors_pb2

# google.rpc.ErrorInfo.domain of every reason of DCF-ERR-006.
DOMAIN: Final = "deconflict.v1"
# The trailer that carries the serialized google.rpc.Status (DCF-ERR-001).
DETAILS_KEY: Final = "grpc-status-details-bin"

# What one refusal may put in its trailers, well under gRPC's 8 KiB default for metadata received.
STATUS_DETAILS_BYTES: Final = 4096
STATUS_MESSAGE_CHARACTERS: Final = 512
VIOLATION_DESCRIPTION_CHARACTERS: Final = 512
_ANY_OVERHEAD: Final = 64  # the type URL and tags of the Any that wraps google.rpc.BadRequest

_CODES: Final[dict[int, grpc.StatusCode]] = {code.value[0]: code for code in grpc.StatusCode}
_REASON: Final = TypeAdapter(Reason)
_MESSAGE_ID: Final = TypeAdapter(OptionalIdentifier)
_Detail = TypeVar("_Detail", StaleVersion, SequenceGap)


def status_code(number: int) -> grpc.StatusCode:
    """The grpc.StatusCode of a google.rpc.Code number; UNKNOWN for a number gRPC does not define."""
    return _CODES.get(number, grpc.StatusCode.UNKNOWN)


class Refusal(Exception):  # noqa: N818 (a refusal is protocol behaviour, not an error of the node)
    """A request refused by the rules of the protocol: a gRPC status code, a sentence and the details.

    `violations` are (field path, sentence) pairs in the form of DCF-ERR-003;
    `reason` is the machine-readable reason of DCF-ERR-006 ("" for
    INVALID_ARGUMENT and for the codes that carry none). The constructor refuses a
    combination the specification forbids (ValueError): a reason with another
    code, a StaleVersion without reason STALE_VERSION, a SequenceGap without
    SEQUENCE_GAP, a reason with INVALID_ARGUMENT.
    """

    code: grpc.StatusCode
    message: str
    violations: list[tuple[str, str]]
    reason: str
    stale_version: StaleVersion | None
    sequence_gap: SequenceGap | None

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        violations: Iterable[tuple[str, str]] = (),
        reason: str = "",
        stale_version: StaleVersion | None = None,
        sequence_gap: SequenceGap | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.violations = list(violations)
        self.reason = reason
        self.stale_version = stale_version
        self.sequence_gap = sequence_gap
        problem = _inconsistency(self)
        if problem:
            raise ValueError(f"not a valid refusal: {problem}")

    @classmethod
    def received(
        cls,
        code: grpc.StatusCode,
        message: str,
        *,
        violations: Iterable[tuple[str, str]] = (),
        reason: str = "",
        stale_version: StaleVersion | None = None,
        sequence_gap: SequenceGap | None = None,
    ) -> Refusal:
        """A refusal as a peer sent it, kept even when it breaks the rules the constructor enforces.

        A client must be able to report whatever the other side answered, so the
        consistency checks are for refusals this node makes only.
        """
        refusal = cls.__new__(cls)
        Exception.__init__(refusal, message)
        refusal.code = code
        refusal.message = message
        refusal.violations = list(violations)
        refusal.reason = reason
        refusal.stale_version = stale_version
        refusal.sequence_gap = sequence_gap
        return refusal

    def __repr__(self) -> str:
        return (
            f"Refusal({self.code.name}, {self.message!r}, violations={self.violations!r}, reason={self.reason!r}, "
            f"stale_version={self.stale_version!r}, sequence_gap={self.sequence_gap!r})"
        )

    # INVALID_ARGUMENT: the fields at fault, no reason (DCF-ERR-002).

    @classmethod
    def invalid(cls, violations: Iterable[tuple[str, str]], message: str | None = None) -> Refusal:
        """INVALID_ARGUMENT naming each field at fault; the message defaults to the first one as a sentence."""
        named = list(violations)
        if not named:
            raise ValueError('an INVALID_ARGUMENT refusal names at least one field ("" for the whole request)')
        return cls(grpc.StatusCode.INVALID_ARGUMENT, message or _sentence(named), violations=named)

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str = "") -> Refusal:
        """INVALID_ARGUMENT for a model that refused its input, paths under `prefix` ("envelope", "notice", "")."""
        return cls.invalid(field_violations(error, prefix))

    @classmethod
    def undecodable(cls, field: str, why: str) -> Refusal:
        """INVALID_ARGUMENT for bytes that do not parse; `field` "" is the request itself (DCF-ERR-004)."""
        return cls.invalid([(field, f"cannot be decoded: {why}")])

    # The codes of the table of DCF-ERR-006, each with its reason.

    @classmethod
    def not_found(cls, message: str) -> Refusal:
        """NOT_FOUND: an unknown channel, notice, conference or message; no reason."""
        return cls(grpc.StatusCode.NOT_FOUND, message)

    @classmethod
    def permission_denied(cls, reason: str, message: str) -> Refusal:
        """PERMISSION_DENIED: NOT_PEER, NOT_OWNER, OWN_NOTICE or OWN_REVISION."""
        return cls(grpc.StatusCode.PERMISSION_DENIED, message, reason=reason)

    @classmethod
    def failed_precondition(cls, reason: str, message: str) -> Refusal:
        """FAILED_PRECONDITION with its reason (HELLO_REQUIRED, CHANNEL_SUSPENDED...); see gap() for SEQUENCE_GAP."""
        return cls(grpc.StatusCode.FAILED_PRECONDITION, message, reason=reason)

    @classmethod
    def gap(cls, expected: int, received: int, message: str | None = None) -> Refusal:
        """FAILED_PRECONDITION, reason SEQUENCE_GAP, with its SequenceGap (DCF-ERR-008)."""
        detail = SequenceGap(expected=expected, received=received)
        text = message or f"sequence {received} skips ahead: the next expected is {expected}"
        return cls(grpc.StatusCode.FAILED_PRECONDITION, text, reason="SEQUENCE_GAP", sequence_gap=detail)

    @classmethod
    def stale(cls, notice_id: str, quoted_version: int, current_version: int, message: str | None = None) -> Refusal:
        """ABORTED, reason STALE_VERSION, with its StaleVersion (DCF-ERR-007)."""
        detail = StaleVersion(notice_id=notice_id, quoted_version=quoted_version, current_version=current_version)
        text = message or (
            f"version {quoted_version} of notice {notice_id} is not current: the current version is {current_version}"
        )
        return cls(grpc.StatusCode.ABORTED, text, reason="STALE_VERSION", stale_version=detail)

    @classmethod
    def already_exists(cls, reason: str, message: str) -> Refusal:
        """ALREADY_EXISTS: MESSAGE_ID_REUSED, SEQUENCE_REPLAYED, NOTICE_EXISTS, CONFERENCE_EXISTS, INCIDENT_EXISTS."""
        return cls(grpc.StatusCode.ALREADY_EXISTS, message, reason=reason)

    @classmethod
    def unauthenticated(cls, message: str, reason: str = "BAD_SIGNATURE") -> Refusal:
        """UNAUTHENTICATED: no valid signature of the sender (DCF-ERR-009)."""
        return cls(grpc.StatusCode.UNAUTHENTICATED, message, reason=reason)

    @classmethod
    def unavailable(
        cls,
        message: str = "this node cannot store now; send the same message again later",
        reason: str = "STORAGE_UNAVAILABLE",
    ) -> Refusal:
        """UNAVAILABLE: the client sends the same bytes again later (DCF-ERR-010); reason "" for a stream ended."""
        return cls(grpc.StatusCode.UNAVAILABLE, message, reason=reason)

    @classmethod
    def out_of_range(cls, message: str) -> Refusal:
        """OUT_OF_RANGE: Watch from beyond the last sequence sent plus one (DCF-STR-003)."""
        return cls(grpc.StatusCode.OUT_OF_RANGE, message)

    @classmethod
    def internal(cls, incident: str) -> Refusal:
        """INTERNAL, saying only that a fault occurred and where the operator finds it (DCF-ERR-011)."""
        return cls(grpc.StatusCode.INTERNAL, f"an internal error occurred; the node's log names it incident {incident}")


def _inconsistency(refusal: Refusal) -> str:
    code, reason = refusal.code, refusal.reason
    if code == grpc.StatusCode.OK:
        return "a refusal is never OK"
    if reason:
        try:
            _REASON.validate_python(reason)
        except ValidationError:
            return f"reason {reason!r} is not UPPER_SNAKE_CASE"
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return "INVALID_ARGUMENT carries no reason: its violations say what is wrong"
        expected = REASON_CODES.get(reason)
        if expected is not None and expected != code.value[0]:
            return f"reason {reason} goes with {status_code(expected).name}, not {code.name}"
    if (refusal.stale_version is not None) != (reason == "STALE_VERSION"):
        return "a StaleVersion detail comes with reason STALE_VERSION, and the reason with the detail"
    if (refusal.sequence_gap is not None) != (reason == "SEQUENCE_GAP"):
        return "a SequenceGap detail comes with reason SEQUENCE_GAP, and the reason with the detail"
    return ""


def _sentence(violations: Sequence[tuple[str, str]]) -> str:
    # DCF-ERR-013: one plain sentence naming the field at fault and what is wrong with it.
    field, description = violations[0]
    text = f"{field or 'the request'} {description}"
    others = len(violations) - 1
    if others:
        text += f" (and {others} more field{'s' if others > 1 else ''} at fault)"
    return text


def to_status_proto(refusal: Refusal) -> status_pb2.Status:
    """The google.rpc.Status sent in grpc-status-details-bin: same code and message as the status (DCF-ERR-001).

    gRPC refuses trailers past 8 KiB at the receiver (RESOURCE_EXHAUSTED instead
    of the refusal), and a polygon of 256 bad vertices names 256 fields: the
    details keep to a budget, naming as many fields as fit, the first always
    (DCF-ERR-002); the message says how many there are.
    """
    status = status_pb2.Status(code=refusal.code.value[0], message=refusal.message[:STATUS_MESSAGE_CHARACTERS])
    if refusal.reason:
        _pack(status, error_details_pb2.ErrorInfo(reason=refusal.reason, domain=DOMAIN))
    if refusal.stale_version is not None:
        _pack(status, stale_version_to_proto(refusal.stale_version))
    if refusal.sequence_gap is not None:
        _pack(status, sequence_gap_to_proto(refusal.sequence_gap))
    if refusal.violations:
        room = STATUS_DETAILS_BYTES - status.ByteSize() - _ANY_OVERHEAD
        bad_request = error_details_pb2.BadRequest()
        for field, description in refusal.violations:
            bad_request.field_violations.add(
                field=field[: limits.MAX_SHORT_TEXT], description=description[:VIOLATION_DESCRIPTION_CHARACTERS]
            )
            if bad_request.ByteSize() > room and len(bad_request.field_violations) > 1:
                del bad_request.field_violations[-1]
                break
        _pack(status, bad_request)
    return status


def _pack(status: status_pb2.Status, detail: ProtoMessage) -> None:
    any_detail: AnyMessage = status.details.add()
    any_detail.Pack(detail)


def to_rpc_status(refusal: Refusal) -> grpc.Status:
    """The grpc.Status a handler aborts with: code, message and the details trailer."""
    return rpc_status.to_status(to_status_proto(refusal))


def to_message_refusal(refusal: Refusal, message_id: str = "") -> MessageRefusal:
    """The refusal as an Exchange stream answers it (DCF-STR-008, DCF-STR-011).

    `message_id` is the refused envelope's id when it could be read that far;
    anything that is not an identifier is left out (""). Texts and the list of
    violations are cut to the bounds of chapter 12, so that the peer never refuses
    the answer itself.
    """
    try:
        known_id = _MESSAGE_ID.validate_python(message_id)
    except ValidationError:
        known_id = ""
    return MessageRefusal(
        message_id=known_id,
        code=refusal.code.value[0],
        message=refusal.message[: limits.MAX_TEXT],
        violations=[
            FieldViolation(field=field[: limits.MAX_SHORT_TEXT], description=description[: limits.MAX_TEXT])
            for field, description in refusal.violations[: limits.MAX_LIST]
        ],
        reason=refusal.reason,
        stale_version=refusal.stale_version,
        sequence_gap=refusal.sequence_gap,
    )


def refusal_from_message_refusal(message: errors_pb2.MessageRefusal) -> Refusal:
    """A MessageRefusal received on an Exchange stream, as a Refusal (client side; never refuses what it reads)."""
    stale = (
        _valid(StaleVersion, stale_version_data(message.stale_version)) if message.HasField("stale_version") else None
    )
    gap = _valid(SequenceGap, sequence_gap_data(message.sequence_gap)) if message.HasField("sequence_gap") else None
    return Refusal.received(
        status_code(message.code),
        message.message,
        violations=[(violation.field, violation.description) for violation in message.violations],
        reason=message.reason,
        stale_version=stale,
        sequence_gap=gap,
    )


def refusal_from_rpc_error(error: grpc.RpcError) -> Refusal:
    """The Refusal a failed call carries, details read back from grpc-status-details-bin (client side).

    Works for grpc.aio.AioRpcError and the synchronous grpc.RpcError alike. The
    transport's code and message win over the trailer's; details that do not
    parse are left out rather than hiding the status itself.
    """
    try:
        code = error.code()
        message = error.details() or ""
        # Runtime items are (key, value) pairs, whatever the stubs say of them.
        trailing: Iterable[Any] = error.trailing_metadata() or ()
    except AttributeError:  # a bare RpcError that is not a call
        return Refusal.received(grpc.StatusCode.UNKNOWN, str(error))
    for key, value in trailing:
        if key == DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except DecodeError:
                break
            return _from_details(code, message, status)
    return Refusal.received(code, message)


def _from_details(code: grpc.StatusCode, message: str, status: status_pb2.Status) -> Refusal:
    violations: list[tuple[str, str]] = []
    reason = ""
    stale: StaleVersion | None = None
    gap: SequenceGap | None = None
    for detail in status.details:
        # Unpack answers False for another type, so each detail is tried against each kind in turn.
        bad_request = error_details_pb2.BadRequest()
        info = error_details_pb2.ErrorInfo()
        stale_message = errors_pb2.StaleVersion()
        gap_message = errors_pb2.SequenceGap()
        try:
            if detail.Unpack(bad_request):
                violations += [(item.field, item.description) for item in bad_request.field_violations]
            elif detail.Unpack(info):
                if info.domain == DOMAIN:
                    reason = info.reason
            elif detail.Unpack(stale_message):
                stale = _valid(StaleVersion, stale_version_data(stale_message))
            elif detail.Unpack(gap_message):
                gap = _valid(SequenceGap, sequence_gap_data(gap_message))
        except DecodeError:
            continue
    return Refusal.received(code, message, violations=violations, reason=reason, stale_version=stale, sequence_gap=gap)


def _valid(model: type[_Detail], data: dict[str, Any]) -> _Detail | None:
    # A detail the peer got wrong is dropped: the code, message and reason still say what happened.
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
