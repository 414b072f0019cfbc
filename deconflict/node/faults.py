"""Deliberately faulty variants of the reference node, for proving that the conformance suite can fail.

Each fault breaks one rule of the specification and nothing else. A node honours them only when it runs for
testing (`[testing] enabled = true` or `deconflict serve --testing`), and logs a warning for each at start: a
node with a fault must never serve a real channel. `deconflict conformance` runs against every variant in the
project's tests, and each must be caught by a case naming the requirement it breaks.
"""

from __future__ import annotations

import enum


class Fault(enum.StrEnum):
    # The sequence of incoming envelopes is not checked: gaps and replays are stored (DCF-ENV-027, DCF-ENV-028).
    SKIP_SEQUENCE_CHECK = "skip-sequence-check"
    # An amendment or cancellation quoting a superseded version is taken (DCF-NTC-022).
    ACCEPT_STALE_VERSION = "accept-stale-version"
    # A party may cancel the other party's notice (DCF-NTC-020).
    NON_OWNER_CANCEL = "non-owner-cancel"
    # A response that does not come in time raises an alert but no ResponseTimeout is sent (DCF-TMR-004).
    NO_TIMEOUT_MESSAGE = "no-timeout-message"
    # The logical acknowledgement leaves before the message is stored, a moment later (DCF-ACK-001, DCF-ACK-005).
    ACK_BEFORE_STORE = "ack-before-store"
    # Undecodable request bytes are answered UNKNOWN instead of INVALID_ARGUMENT (DCF-ERR-004).
    GARBAGE_UNKNOWN = "garbage-unknown"
    # Conflicts are found with zero separation minima: only volumes that overlap conflict (DCF-CFL-001, DCF-CFL-002).
    IGNORE_SEPARATION = "ignore-separation"
    # The logical acknowledgement stands for the answer: no operational response is sent (DCF-RSP-001).
    MERGED_ACKNOWLEDGEMENTS = "merged-acknowledgements"
    # Incoming signatures are not verified: forged and unsigned payloads are parsed and stored (DCF-SEC-008).
    SKIP_SIGNATURE_CHECK = "skip-signature-check"
    # Any caller whose certificate names a party passes for the peer, as in plaintext: no RPC is authorised by the
    # caller's identity (DCF-SEC-004).
    SKIP_ACCESS_CHECK = "skip-access-check"
    # An envelope's sender is taken from the envelope, not from the caller's certificate: the peer of another
    # channel may relay an envelope this channel's peer signed (DCF-SEC-003).
    SKIP_SENDER_CHECK = "skip-sender-check"
    # The peer's checkpoint is cosigned without checking that it extends the last one cosigned (DCF-JNL-010).
    COSIGN_ANYTHING = "cosign-anything"


# The variants the suite catches only over mutual TLS (a target claiming tls): in plaintext nothing is authorised.
OVER_TLS: frozenset[Fault] = frozenset({Fault.SKIP_ACCESS_CHECK, Fault.SKIP_SENDER_CHECK})

# How long the ACK_BEFORE_STORE variant waits before it stores what it already acknowledged.
STORE_DELAY_S = 2.0

# The requirements each variant breaks: the conformance suite must fail a case citing one of them.
VIOLATES: dict[Fault, tuple[str, ...]] = {
    Fault.SKIP_SEQUENCE_CHECK: ("DCF-ENV-027", "DCF-ENV-028"),
    Fault.ACCEPT_STALE_VERSION: ("DCF-NTC-022",),
    Fault.NON_OWNER_CANCEL: ("DCF-NTC-020",),
    Fault.NO_TIMEOUT_MESSAGE: ("DCF-TMR-004",),
    Fault.ACK_BEFORE_STORE: ("DCF-ACK-001", "DCF-ACK-005", "DCF-ENV-031"),
    Fault.GARBAGE_UNKNOWN: ("DCF-ERR-004",),
    Fault.IGNORE_SEPARATION: ("DCF-CFL-001", "DCF-CFL-002"),
    Fault.MERGED_ACKNOWLEDGEMENTS: ("DCF-RSP-001",),
    Fault.SKIP_SIGNATURE_CHECK: ("DCF-SEC-008", "DCF-ENV-018"),
    Fault.SKIP_ACCESS_CHECK: ("DCF-SEC-004",),
    Fault.SKIP_SENDER_CHECK: ("DCF-SEC-003",),
    Fault.COSIGN_ANYTHING: ("DCF-JNL-010", "DCF-JNL-011"),
}
