"""Chapter 11.2: signatures. The party signs what it sends, verifies what it receives before it parses it, and
counts an acknowledgement that does not verify as none. For parties that claim the `signing` feature.

The suite signs with its key in the agreement (Target.suite_key); the packaged agreement also names that key under
a second key id valid now (a rotation overlap) and under key ids expired or not yet valid.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconflict.bridge.envelope import decode_acknowledgement, decode_envelope
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CaseFailedError, CaseSkippedError, case, expect
from deconflict.conformance.cases.envelope import refused_as
from deconflict.conformance.peer import serving
from deconflict.conformance.session import Observed, Session
from deconflict.dsse import pae
from deconflict.models.response import LogicalAcknowledgement
from deconflict.rpc.refusal import Refusal
from deconflict.security.signing import SigningKey
from deconflict.testing.v1 import test_control_service_pb2 as control_pb
from deconflict.v1 import envelope_pb2

SECOND = "conformance-suite/test-key-2"
EXPIRED = "conformance-suite/test-key-expired"
FUTURE = "conformance-suite/test-key-future"
UNKNOWN_KEY_ID = "stranger/key-1"


# -- helpers -------------------------------------------------------------------------------------------------


def _suite_key(s: Session, key_id: str = "") -> SigningKey:
    """The suite's private key, under its own key id or under `key_id`."""
    if s.key is None:
        raise CaseFailedError("a key of the suite in the agreement", "none: the target names no suite key")
    return SigningKey(key_id or s.key.key_id, s.key.private_key)


def _signature(key: SigningKey, signed: envelope_pb2.SignedPayload) -> bytes:
    return key.private_key.sign(pae(signed.payload_type, signed.payload))


def _signed_by(payload: bytes, *keys: SigningKey) -> envelope_pb2.SignedPayload:
    signed = envelope_pb2.SignedPayload(payload_type="deconflict.v1.Envelope", payload=payload)
    for key in keys:
        signed.signatures.add(key_id=key.key_id, signature=_signature(key, signed))
    return signed


def _flipped(data: bytes, index: int) -> bytes:
    """`data` with one bit of the byte at `index` flipped."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _party_signatures(s: Session, signed: envelope_pb2.SignedPayload, what: str) -> None:
    """Fail unless `signed` carries signatures, each by a key of the party valid now, each verifying over
    PAE(payload_type, payload) of the exact bytes."""
    now = datetime.now(UTC)
    keys = {key.key_id: key for key in s.agreement.model.keys if key.party == s.target.party}
    valid = 0
    for signature in signed.signatures:
        key = keys.get(signature.key_id)
        expect(key is not None, f"{what} signed with a key_id of {s.target.party} in the agreement", signature.key_id)
        assert key is not None
        expect(len(signature.signature) == 64, f"a 64-byte signature on {what}", f"{len(signature.signature)} bytes")
        expect(key.valid_from <= now and (key.valid_until is None or now < key.valid_until),
               f"{what} signed with a key valid now", f"{signature.key_id}, outside its validity")  # fmt: skip
        try:
            public = Ed25519PublicKey.from_public_bytes(key.ed25519_public_key)
            public.verify(signature.signature, pae(signed.payload_type, signed.payload))
        except (InvalidSignature, ValueError):
            raise CaseFailedError(
                f"{what}'s signature by {signature.key_id} to verify over PAE", "it does not"
            ) from None
        valid += 1
    expect(valid > 0, f"{what} signed by {s.target.party}", "no signature")


async def _refused_unauthenticated(s: Session, signed: envelope_pb2.SignedPayload, what: str) -> None:
    refused = await s.refusal(s.peer.submit_notice(signed))
    try:
        refused_as(refused, grpc.StatusCode.UNAUTHENTICATED, reason="BAD_SIGNATURE")
    except CaseFailedError as failure:
        raise CaseFailedError(f"{failure.expected} for {what}", failure.got) from None


def _received(records: list[Observed]) -> list[Observed]:
    return [record for record in records if record.received]


# -- cases -----------------------------------------------------------------------------------------------------


@case(
    "signing.party_signs_envelopes_and_acknowledgements",
    "DCF-SEC-006",
    "DCF-SEC-007",
    "DCF-SEC-009",
    "DCF-SEC-011",
    feature="signing",
)
async def party_signs(s: Session) -> None:
    """The party's acknowledgements and envelopes carry Ed25519 signatures by its keys over PAE of the exact bytes."""
    await s.hello()
    delivery = await s.file(s.notice())
    _party_signatures(s, delivery.signed, "the logical acknowledgement")
    answer = await s.answer_to(delivery.acknowledgement.message_id)
    expect(answer is not None, "an operational response to the notice", "none within 5 s")
    await s.originate("notice", s.notice(owner=s.target.party))
    sent = [record for record in await s.settled() if record.sent]
    expect(len(sent) >= 2, "the response and the notice the party sent", f"{len(sent)} envelopes")
    for record in sent:
        _party_signatures(s, record.signed, f"the {record.envelope.WhichOneof('body')} envelope")


@case(
    "signing.forged_payloads_refused_before_parsing",
    "DCF-SEC-008",
    "DCF-ENV-018",
    "DCF-ERR-009",
    "DCF-SEC-015",
    "DCF-SEC-012",
    feature="signing",
)
async def forged(s: Session) -> None:
    """Unsigned payloads, a flipped bit in the payload or the signature, another key under the suite's key id, a
    header changed after signing: UNAUTHENTICATED BAD_SIGNATURE; undecodable bytes so signed are never parsed. What
    verifies is kept as received."""
    await s.hello()
    key = _suite_key(s)
    stranger = SigningKey.generate(key.key_id)
    good = s.envelope("notice", s.notice())
    unsigned = envelope_pb2.SignedPayload(payload_type=good.payload_type, payload=good.payload)
    await _refused_unauthenticated(s, unsigned, "an unsigned payload")
    flipped = envelope_pb2.SignedPayload()
    flipped.CopyFrom(good)
    flipped.payload = _flipped(good.payload, len(good.payload) // 2)
    await _refused_unauthenticated(s, flipped, "a payload with one bit flipped")
    broken = envelope_pb2.SignedPayload()
    broken.CopyFrom(good)
    broken.signatures[0].signature = _flipped(good.signatures[0].signature, 7)
    await _refused_unauthenticated(s, broken, "a signature with one bit flipped")
    await _refused_unauthenticated(s, _signed_by(good.payload, stranger), "a payload signed by another key")
    # The channel binding is inside the signed bytes (DCF-SEC-015): a header changed after signing is refused,
    # before the channel it names is looked up.
    moved = s.proto("notice", s.notice())
    signed = s.raw(moved)
    moved.channel_id = s.channel_id + ":elsewhere"
    signed.payload = moved.SerializeToString(deterministic=True)
    await _refused_unauthenticated(s, signed, "a channel_id changed after signing")
    # Bytes that do not parse would be INVALID_ARGUMENT: UNAUTHENTICATED says they were not parsed (DCF-ENV-018).
    await _refused_unauthenticated(s, _signed_by(b"\xff\xff\xff\xff", stranger), "undecodable bytes, badly signed")
    expect(not _received(await s.observed()), "nothing stored of the refused payloads", "a stored message")
    await s.deliver(good)  # the refusals changed nothing: the same sequence is still expected (DCF-ERR-012)
    stored = _received(await s.observed())
    expect([record.signed for record in stored] == [good], "the signed bytes kept as received, signatures included",
           "other bytes")  # fmt: skip


@case("signing.usable_signatures", "DCF-SEC-008", "DCF-SEC-013", feature="signing")
async def usable(s: Session) -> None:
    """Signatures under unknown key ids or keys outside their validity are ignored; one usable that fails refuses
    the payload; two valid keys of a rotation both verify."""
    named = {k.key_id for k in s.agreement.model.keys if k.party == s.party}
    if not {SECOND, EXPIRED, FUTURE} <= named:
        raise CaseSkippedError(f"the agreement does not name the suite's keys {SECOND}, {EXPIRED} and {FUTURE}")
    await s.hello()
    key = _suite_key(s)
    second, expired, future = _suite_key(s, SECOND), _suite_key(s, EXPIRED), _suite_key(s, FUTURE)
    party_key_id = next((k.key_id for k in s.agreement.model.keys if k.party == s.target.party), "party/key-1")
    for what, keys in (
        ("a key whose validity is over", (expired,)),
        ("a key whose validity has not begun", (future,)),
        ("a key id of the party under test", (SigningKey(party_key_id, key.private_key),)),
        ("an unknown key id", (SigningKey(UNKNOWN_KEY_ID, key.private_key),)),
    ):
        payload = s.envelope("notice", s.notice()).payload
        await _refused_unauthenticated(s, _signed_by(payload, *keys), f"a payload signed only with {what}")
    one_fails = _signed_by(s.envelope("notice", s.notice()).payload, key)
    one_fails.signatures.add(key_id=SECOND, signature=_signature(second, _signed_by(b"other bytes")))
    await _refused_unauthenticated(s, one_fails, "a valid signature beside a usable one that fails")
    for what, extra in (
        ("an unknown key id", SigningKey(UNKNOWN_KEY_ID, SigningKey.generate("").private_key)),
        ("an expired key id", SigningKey(EXPIRED, SigningKey.generate("").private_key)),
        ("the second key of a rotation overlap", second),
    ):
        signed = _signed_by(s.envelope("notice", s.notice()).payload, key, extra)
        try:
            await s.deliver(signed)
        except RefusedError as error:
            raise CaseFailedError(f"the payload stored, the signature under {what} beside it", str(error)) from None


@case("signing.signature_list_form", "DCF-SEC-010", feature="signing")
async def signature_list_form(s: Session) -> None:
    """A key_id twice, or a signature of other than 64 bytes: INVALID_ARGUMENT naming the element."""
    await s.hello()
    twice = s.envelope("notice", s.notice())
    twice.signatures.add().CopyFrom(twice.signatures[0])
    refused = await s.refusal(s.deliver(twice))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field="envelope.signatures[1].key_id")
    short = s.envelope("notice", s.notice())
    short.signatures[0].signature = short.signatures[0].signature[:63]
    refused = await s.refusal(s.deliver(short))
    refused_as(refused, grpc.StatusCode.INVALID_ARGUMENT, field="envelope.signatures[0].signature")


@case("signing.unverified_acknowledgement_is_none", "DCF-SEC-011", "DCF-ENV-033", feature="signing", timeout=30)
async def unverified_acknowledgement(s: Session) -> None:
    """An acknowledgement without a valid signature counts as none: the party alerts its operator, sends the same
    message again, and keeps only the acknowledgement that verifies."""
    key = _suite_key(s)
    stranger = SigningKey.generate(key.key_id)

    def sign(attempt: int, ack: envelope_pb2.SignedPayload) -> envelope_pb2.SignedPayload:
        if attempt == 1:  # signed, by a key that is not the suite's
            ack.signatures.add(key_id=stranger.key_id, signature=_signature(stranger, ack))
        elif attempt >= 2:
            s.sign(ack)
        return ack  # attempt 0: unsigned

    async def answer(attempt: int, signed: envelope_pb2.SignedPayload) -> Refusal | LogicalAcknowledgement | None:
        return None

    async with serving(s, answer=answer, sign=sign) as peer:
        sent = await s.originate("notice", s.notice(owner=s.target.party))
        await peer.until("3 writes from the party", lambda: len(peer.writes) >= 3, within=20.0)
        # Then the party may send more: a ResponseTimeout when the notice's timer runs out.
        first = [call.request.envelope for call in peer.writes[:3]]
        ids = [decode_envelope(signed.payload).message_id for signed in first]
        expect(set(ids) == {sent.message_id}, f"the same message {sent.message_id} sent again", ids)
        payloads = {signed.payload for signed in first}
        expect(len(payloads) == 1, "the same payload bytes each time (DCF-ENV-033)", f"{len(payloads)} versions")
        alerts = await s.alerts()
        expect(any(sent.message_id in a.text + " " + a.subject_id for a in alerts),
               f"an operator alert naming {sent.message_id}", [a.text for a in alerts])  # fmt: skip
        records = await s.settled()
        kept = [r for r in records if r.kind == control_pb.OBSERVATION_KIND_ACKNOWLEDGEMENT_RECEIVED]
        kept = [r for r in kept if decode_acknowledgement(r.signed.payload).message_id == sent.message_id]
        expect(len(kept) == 1, "one acknowledgement kept, the one that verifies", f"{len(kept)} kept")
        expect([signature.key_id for signature in kept[0].signed.signatures] == [key.key_id],
               f"the acknowledgement signed by {key.key_id}", list(kept[0].signed.signatures))  # fmt: skip
