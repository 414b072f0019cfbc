"""What signatures cost per message: signing and verifying an envelope, and signing an acknowledgement, in
microseconds, against the work the node does on the same message without them.

    python bench/signing.py [--messages 5000] [--repeats 5]
    python bench/signing.py --quick

Cases, each timed over `--messages` messages, best of `--repeats` runs (the least disturbed by other processes):
- sign envelope: Signer.sign over an 841-byte envelope (a notice of 3 volumes of 8 vertices): PAE, then Ed25519;
- verify envelope: Verifier.verify of one usable signature over it, as intake does at stage (3);
- parse envelope (baseline): what intake does next, decoding the payload and validating its header;
- acknowledgement, signed and unsigned (baseline): build_acknowledgement with the node's key, and with none.
The ratio column is each case over its baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from deconflict.bridge.envelope import decode_envelope, envelope_header_data, seal_envelope, signed_payload_to_proto
from deconflict.models.channel import Agreement, PartyKey
from deconflict.models.envelope import Envelope, EnvelopeHeader, ProtocolVersion
from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, LatLng, Polygon, Volume3D, Volume4D
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.node.acknowledgement import build_acknowledgement
from deconflict.node.ledger import Facts
from deconflict.security.signing import Signer, SigningKey, Verifier

NODE, PEER = "us-dod", "ru-mod"
CHANNEL = f"{PEER}:{NODE}"
KEYS = {party: SigningKey.published(f"{party}/bench-key", f"deconflict bench {party}") for party in (NODE, PEER)}
NOW = datetime.now(UTC).replace(microsecond=0)


def agreement() -> Agreement:
    return Agreement.model_validate(
        {
            "channel_id": CHANNEL,
            "version": 1,
            "parties": [PEER, NODE],
            "effective_time": NOW - timedelta(days=1),
            "minimum_lead_time": timedelta(hours=1),
            "separation": {"lateral_m": 9260.0, "vertical_m": 300.0, "time": timedelta(minutes=10)},
            "clock_skew_tolerance": timedelta(seconds=30),
            "heartbeat_interval": timedelta(seconds=10),
            "missed_heartbeats_down": 3,
            "keys": [
                PartyKey(key_id=key.key_id, party=party, ed25519_public_key=key.public_bytes, valid_from=NOW)
                for party, key in KEYS.items()
            ],
        }
    )


def envelope(number: int) -> Envelope:
    """A notice of 3 volumes of 8 vertices, as the node benchmark sends."""
    level = AltitudeReference.STD
    volumes = []
    for index in range(3):
        south, west = 33.0 + index * 0.3 + number * 1e-5, 36.0 + index * 0.3
        ring = [(south + 0.05 * dy, west + 0.05 * dx) for dy, dx in ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1),
                                                                       (2, 0), (1, 0))]  # fmt: skip
        volumes.append(
            Volume4D(
                volume=Volume3D(
                    polygon=Polygon(vertices=[LatLng(latitude=a, longitude=b) for a, b in ring]),
                    altitude_lower=Altitude(value=100, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                    altitude_upper=Altitude(value=200, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                ),
                time_start=NOW + timedelta(hours=2),
                time_end=NOW + timedelta(hours=3),
            )
        )
    notice = FlightNotice(
        notice_id=f"{PEER}/bench-{number}",
        version=1,
        state=NoticeState.ACTIVE,
        owner=PEER,
        volumes=volumes,
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=2,
        frequency_ids=["guard-121.5"],
        category=NoticeCategory.ROUTINE,
        remarks="routine transport flight; deconfliction benchmark",
    )
    return Envelope(
        message_id=f"bench-{number}",
        channel_id=CHANNEL,
        sender=PEER,
        recipient=NODE,
        sequence=number + 1,
        created_time=NOW,
        protocol_version=ProtocolVersion(major=1, minor=0),
        mode=1,
        notice=notice,
    )


def best(run: Callable[[], None], count: int, repeats: int) -> float:
    """Microseconds per message of `run` (which handles `count` messages), best of `repeats`."""
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run()
        times.append(time.perf_counter() - begin)
    return min(times) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 3 repeats")
    args = parser.parse_args()
    count, repeats = (1000, 3) if args.quick else (args.messages, args.repeats)
    agreements = [agreement()]
    peer_signer = Signer(PEER, [KEYS[PEER]], agreements, required=True)
    node_signer = Signer(NODE, [KEYS[NODE]], agreements, required=True)
    unsigned = Signer(NODE, [], agreements, required=False)
    verifier = Verifier(NODE, agreements, required=True)
    sealed = [signed_payload_to_proto(seal_envelope(envelope(n))) for n in range(min(count, 200))]
    signed = [peer_signer.sign(CHANNEL, s.__deepcopy__(), NOW) for s in sealed]
    size = len(sealed[0].payload)

    def sign_all() -> None:
        for n in range(count):
            fresh = sealed[n % len(sealed)].__deepcopy__()
            peer_signer.sign(CHANNEL, fresh, NOW)

    def copy_all() -> None:  # what sign_all spends besides signing
        for n in range(count):
            sealed[n % len(sealed)].__deepcopy__()

    def verify_all() -> None:
        for n in range(count):
            verifier.verify(signed[n % len(signed)], PEER, NOW)

    def parse_all() -> None:
        for n in range(count):
            EnvelopeHeader.model_validate(envelope_header_data(decode_envelope(signed[n % len(signed)].payload)))

    def acknowledge(signer: Signer) -> Callable[[], None]:
        def run() -> None:
            for n in range(count):
                build_acknowledgement(
                    channel_id=CHANNEL,
                    party=NODE,
                    message_id=f"bench-{n}",
                    sender=PEER,
                    sequence=n + 1,
                    payload_sha256=bytes(32),
                    position=n,
                    stored_time=NOW,
                    facts=Facts(response_due_time=NOW + timedelta(minutes=10), notice_id=f"{PEER}/n", notice_version=1),
                    signer=signer,
                    now=NOW,
                )

        return run

    sign_us = best(sign_all, count, repeats) - best(copy_all, count, repeats)
    verify_us = best(verify_all, count, repeats)
    parse_us = best(parse_all, count, repeats)
    ack_signed = best(acknowledge(node_signer), count, repeats)
    ack_unsigned = best(acknowledge(unsigned), count, repeats)
    rows = [
        ("sign envelope", sign_us, parse_us),
        ("verify envelope", verify_us, parse_us),
        ("parse envelope (baseline)", parse_us, parse_us),
        ("acknowledgement, signed", ack_signed, ack_unsigned),
        ("acknowledgement, unsigned (baseline)", ack_unsigned, ack_unsigned),
    ]
    print(f"{count:,} messages, best of {repeats}; envelope payload {size} bytes, Ed25519 (cryptography, OpenSSL)")
    print(f"{'case':38}  {'us/message':>10}  {'x baseline':>10}")
    for name, value, baseline in rows:
        print(f"{name:38}  {value:10.1f}  {value / baseline:10.2f}")


if __name__ == "__main__":
    main()
