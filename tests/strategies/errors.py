"""Strategies for valid error details: field violations, stale versions, sequence gaps, and refusals on a stream."""

from __future__ import annotations

from hypothesis import strategies as st

from deconflict import limits
from deconflict.models.errors import (
    ABORTED,
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    REASON_CODES,
    FieldViolation,
    MessageRefusal,
    SequenceGap,
    StaleVersion,
)
from tests.strategies.conference import identifiers, texts

UINT32 = 2**32 - 1
UINT64 = 2**64 - 1


def violations() -> st.SearchStrategy[FieldViolation]:
    return st.builds(
        FieldViolation, field=texts(0, limits.MAX_SHORT_TEXT // 4), description=texts(0, limits.MAX_TEXT // 40)
    )


@st.composite
def stale_versions(draw: st.DrawFn) -> StaleVersion:
    quoted = draw(st.integers(1, UINT32))
    current = draw(st.integers(1, UINT32).filter(lambda version: version != quoted))
    return StaleVersion(notice_id=draw(identifiers()), quoted_version=quoted, current_version=current)


@st.composite
def sequence_gaps(draw: st.DrawFn) -> SequenceGap:
    expected = draw(st.integers(1, UINT64 - 1))
    return SequenceGap(expected=expected, received=draw(st.integers(expected + 1, UINT64)))


@st.composite
def message_refusals(draw: st.DrawFn) -> MessageRefusal:
    """Refusals as a unary RPC would give them: field violations, a reason with its code, or a detail."""
    how = draw(st.sampled_from(["invalid", "reason", "stale", "gap", "no reason"]))
    stale = draw(stale_versions()) if how == "stale" else None
    gap = draw(sequence_gaps()) if how == "gap" else None
    found: list[FieldViolation] = []
    if how == "invalid":
        code, reason = INVALID_ARGUMENT, ""
        found = draw(st.lists(violations(), max_size=4))
    elif how == "stale":
        code, reason = ABORTED, "STALE_VERSION"
    elif how == "gap":
        code, reason = FAILED_PRECONDITION, "SEQUENCE_GAP"
    elif how == "reason":
        reason = draw(st.sampled_from(sorted(set(REASON_CODES) - {"STALE_VERSION", "SEQUENCE_GAP"})))
        code = REASON_CODES[reason]
    else:
        # NOT_FOUND, OUT_OF_RANGE, INTERNAL...: no reason.
        code, reason = draw(st.sampled_from([5, 11, 13])), ""
    return MessageRefusal(
        message_id=draw(st.one_of(st.just(""), identifiers())),
        code=code,
        message=draw(texts(0, 80)),
        violations=found,
        reason=reason,
        stale_version=stale,
        sequence_gap=gap,
    )
