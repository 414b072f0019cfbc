"""Chapter 06: conflict detection, with geometries whose answers are known.

The party files a notice of its own; the suite files one near it; the party's automatic answer (ROGER or UNABLE
with the conflicts) says on which side of the agreement's minima the pair is: 9260 m laterally, 300 m vertically
and 10 minutes in time. Exact boundaries are checked on the vertical and time axes, where every method computes
the same distance; lateral distances are placed at least 3 % from the minimum (DCF-CFL-007).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from deconflict.bridge.envelope import envelope_to_proto
from deconflict.conformance.case import case, expect
from deconflict.conformance.cases.geometry import (
    ROGER,
    UNABLE,
    altitude,
    answer,
    box,
    circle,
    expect_kind,
    expect_near,
    notice_of,
    party_notice,
    point,
    start_time,
    volume,
)
from deconflict.conformance.session import Session
from deconflict.models.envelope import Mode
from deconflict.models.geometry import AltitudeReference
from deconflict.models.notice import FlightNotice, NoticeAmendment, NoticeCancellation, NoticeCategory
from deconflict.v1 import envelope_pb2, response_pb2

# -- helpers

LATERAL_M = 9260.0


async def _file_theirs(s: Session, notice: FlightNotice, mode: Mode = Mode.OPERATIONAL) -> FlightNotice:
    """The party originates `notice` as its own (in `mode`); the notice as filed."""
    theirs = party_notice(s, notice)
    template = s.model("notice", theirs, sender=s.target.party, recipient=s.party, mode=mode)
    await s.control.originate(s.channel_id, envelope_to_proto(template))
    return theirs


async def _answers(s: Session, message_id: str, wait: float) -> list[envelope_pb2.Envelope]:
    """Every operational response the party sent to one of the suite's messages, after `wait` seconds."""
    await s.answer_to(message_id)
    await asyncio.sleep(wait)
    return [
        o.envelope
        for o in await s.observed()
        if o.sent and o.envelope.WhichOneof("body") == "response" and o.envelope.in_reply_to == message_id
    ]


def _pairs(response: response_pb2.OperationalResponse) -> list[tuple[str, int, int]]:
    return [(c.notice_id, c.volume_index, c.other_volume_index) for c in response.conflicts]


# -- 6.1 when two volumes conflict


@case("conflict.lateral_minimum", "DCF-CFL-001", "DCF-CFL-002", "DCF-CFL-006", "DCF-CFL-010")
async def lateral_minimum(s: Session) -> None:
    """Boxes 97 % of the lateral minimum apart conflict, with that distance; 103 % apart are clear; boxes that
    share an edge or overlap conflict with lateral distance 0."""
    await s.hello()
    theirs: FlightNotice | None = notice_of(s, volume(box(0, 0, 10, 10)))
    for gap_m, kind in ((0.97 * LATERAL_M, UNABLE), (1.03 * LATERAL_M, ROGER)):
        east = 10 + gap_m / 1000.0
        response = await answer(s, theirs, notice_of(s, volume(box(0, east, 10, east + 10))))
        expect_kind(response, kind, f"the boxes are {gap_m:.0f} m apart, the minimum {LATERAL_M:.0f} m")
        if kind == UNABLE:
            expect_near(response.conflicts[0].lateral_distance_m, gap_m, 0.005 * LATERAL_M, "lateral_distance_m")
        theirs = None  # the party's notice is filed once
    for what, mine in (("share an edge", box(0, 10, 10, 20)), ("overlap", box(5, 5, 15, 15))):
        response = await answer(s, None, notice_of(s, volume(mine)))
        expect_kind(response, UNABLE, f"the boxes {what}")
        expect_near(response.conflicts[0].lateral_distance_m, 0.0, 1.0, "lateral_distance_m")


@case("conflict.vertical_minimum", "DCF-CFL-001", "DCF-CFL-002", "DCF-CFL-004", "DCF-CFL-010", "DCF-CFL-016")
async def vertical_minimum(s: Session) -> None:
    """Over the same box, 1000-2000 m MSL against a band exactly 300 m above is clear; 299.5 m above conflicts
    (vertical_distance_m 299.5); a band touching it or overlapping it conflicts with vertical distance 0."""
    await s.hello()
    place = box(0, 0, 10, 10)
    theirs: FlightNotice | None = notice_of(s, volume(place, altitude(1000.0), altitude(2000.0)))
    for lower, upper, kind, gap in (
        (2300.0, 3000.0, ROGER, 300.0),
        (2299.5, 3000.0, UNABLE, 299.5),
        (2000.0, 3000.0, UNABLE, 0.0),
        (1500.0, 2500.0, UNABLE, 0.0),
        (0.0, 700.0, ROGER, 300.0),
        (0.0, 700.5, UNABLE, 299.5),
    ):
        response = await answer(s, theirs, notice_of(s, volume(place, altitude(lower), altitude(upper))))
        theirs = None
        expect_kind(response, kind, f"{lower:g}-{upper:g} m against 1000-2000 m: {gap:g} m apart, the minimum 300 m")
        if kind == UNABLE:
            expect_near(response.conflicts[0].vertical_distance_m, gap, 1e-6, "vertical_distance_m")


@case("conflict.time_minimum", "DCF-CFL-001", "DCF-CFL-002", "DCF-CFL-003", "DCF-CFL-010")
async def time_minimum(s: Session) -> None:
    """Against an hour from T, a window starting exactly 10 minutes after its end (or ending 10 minutes before its
    start) is clear; one second closer conflicts; windows that touch or overlap conflict."""
    await s.hello()
    place = box(0, 0, 10, 10)
    start = start_time()
    theirs: FlightNotice | None = notice_of(s, volume(place, start=start))
    minutes = [
        (70.0, ROGER),
        (70.0 - 1 / 60, UNABLE),
        (60.0, UNABLE),
        (30.0, UNABLE),
        (-70.0, ROGER),
        (-70.0 + 1 / 60, UNABLE),
    ]
    for offset, kind in minutes:
        mine = notice_of(s, volume(place, start=start + timedelta(minutes=offset)))
        response = await answer(s, theirs, mine)
        theirs = None
        expect_kind(response, kind, f"an hour starting {offset:+.2f} min from the party's hour, the minimum 10 min")


@case("conflict.clear_on_any_axis_is_clear", "DCF-CFL-001")
async def any_axis(s: Session) -> None:
    """Close on two axes and clear on the third is clear, whichever the third; close on all three conflicts."""
    await s.hello()
    start = start_time()
    place = box(0, 0, 10, 10)
    theirs: FlightNotice | None = notice_of(s, volume(place, altitude(1000.0), altitude(2000.0), start=start))
    cases = [
        (
            "clear in time only",
            volume(place, altitude(1000.0), altitude(2000.0), start=start + timedelta(hours=2)),
            ROGER,
        ),
        ("clear vertically only", volume(place, altitude(3000.0), altitude(4000.0), start=start), ROGER),
        ("clear laterally only", volume(box(0, 30, 10, 40), altitude(1000.0), altitude(2000.0), start=start), ROGER),
        (
            "close on every axis",
            volume(box(0, 15, 10, 25), altitude(2100.0), altitude(3000.0), start=start + timedelta(minutes=65)),
            UNABLE,
        ),
    ]
    for what, mine, kind in cases:
        response = await answer(s, theirs, notice_of(s, mine))
        theirs = None
        expect_kind(response, kind, what)


@case("conflict.circle_against_polygon", "DCF-CFL-006", "DCF-GEO-011")
async def circle_against_polygon(s: Session) -> None:
    """A circle of 5 km whose centre is 13.5 km from a box is 8.5 km from it: a conflict with that lateral distance;
    15 km away it is clear; two such circles 19 km apart conflict (9 km), 20 km apart do not."""
    await s.hello()
    theirs: FlightNotice | None = notice_of(s, volume(box(0, 0, 10, 10)))
    for centre_km, kind in ((23.5, UNABLE), (25.0, ROGER)):
        response = await answer(s, theirs, notice_of(s, volume(circle(*point(5, centre_km), 5000.0))))
        theirs = None
        expect_kind(response, kind, f"the circle's edge is {centre_km - 15:g} km from the box")
        if kind == UNABLE:
            expect_near(response.conflicts[0].lateral_distance_m, 8500.0, 0.005 * LATERAL_M, "lateral_distance_m")
    await s.reset()
    await s.hello()
    theirs = notice_of(s, volume(circle(*point(100, 0), 5000.0)))
    for centres_km, kind in ((19.0, UNABLE), (20.0, ROGER)):
        response = await answer(s, theirs, notice_of(s, volume(circle(*point(100, centres_km), 5000.0))))
        theirs = None
        expect_kind(response, kind, f"the circles are {centres_km - 10:g} km apart")


@case("conflict.incomparable_altitudes_overlap", "DCF-CFL-005", "DCF-CFL-016")
async def incomparable(s: Session) -> None:
    """AGL against MSL bands kilometres apart in value still conflict, reported with vertical_distance_m 0."""
    await s.hello()
    place = box(0, 0, 10, 10)
    agl = AltitudeReference.AGL
    theirs = notice_of(s, volume(place, altitude(100.0, agl), altitude(500.0, agl)))
    response = await answer(s, theirs, notice_of(s, volume(place, altitude(9000.0), altitude(9500.0))))
    expect_kind(response, UNABLE, "AGL and MSL cannot be compared, so the bands count as overlapping")
    expect_near(response.conflicts[0].vertical_distance_m, 0.0, 0.0, "vertical_distance_m")


# -- 6.2 which notices are checked


@case("conflict.own_and_ended_notices_not_checked", "DCF-CFL-008", "DCF-CFL-016")
async def which_notices(s: Session) -> None:
    """A notice is not checked against its owner's notices nor against cancelled ones; after an amendment it is
    checked against the current version only, and the conflict names that version."""
    await s.hello()
    place = box(0, 0, 10, 10)
    mine = await answer(s, None, notice_of(s, volume(place)))
    expect_kind(mine, ROGER, "no notice of the party")
    again = await answer(s, None, notice_of(s, volume(place)))
    expect_kind(again, ROGER, "the only overlapping notice is the suite's own")
    # The party files a notice elsewhere, then amends it onto the place: the conflict names version 2.
    theirs = await _file_theirs(s, notice_of(s, volume(box(200, 0, 210, 10))))
    moved = theirs.model_copy(update={"version": 2, "volumes": [volume(place)]})
    await s.originate("amendment", NoticeAmendment(replaces_version=1, notice=moved))
    current = await answer(s, None, notice_of(s, volume(place)))
    expect_kind(current, UNABLE, "the party's notice was amended onto the place")
    named = [(c.notice_id, c.version, c.owner) for c in current.conflicts]
    expect(named == [(theirs.notice_id, 2, s.target.party)], f"one conflict with {theirs.notice_id} v2", named)
    old = await answer(s, None, notice_of(s, volume(box(200, 0, 210, 10))))
    expect_kind(old, ROGER, "only the replaced version was there")
    await s.originate("cancellation", NoticeCancellation(notice_id=theirs.notice_id, version=2))
    after = await answer(s, None, notice_of(s, volume(place)))
    expect_kind(after, ROGER, "the party's notice is cancelled")


@case("conflict.exercise_apart_from_operational", "DCF-CFL-009")
async def exercise(s: Session) -> None:
    """An exercise notice of the party conflicts with the suite's exercise notice, never with an operational one;
    an operational notice of the party never with an exercise one."""
    await s.hello()
    for number, (their_mode, my_mode, kind) in enumerate(
        (
            (Mode.EXERCISE, Mode.OPERATIONAL, ROGER),
            (Mode.EXERCISE, Mode.EXERCISE, UNABLE),
            (Mode.OPERATIONAL, Mode.EXERCISE, ROGER),
        )
    ):
        place = box(number * 100, 0, number * 100 + 10, 10)
        await _file_theirs(s, notice_of(s, volume(place)), their_mode)
        delivered = await s.file(notice_of(s, volume(place)), mode=my_mode)
        reply = await s.answer_to(delivered.acknowledgement.message_id)
        expect(reply is not None, "the party's response", "none within 5 s")
        assert reply is not None
        expect_kind(reply.response, kind, f"a {my_mode.name} notice over a {their_mode.name} notice of the party")


@case("conflict.answer_not_redone_when_others_change", "DCF-CFL-012")
async def not_redone(s: Session) -> None:
    """A notice is answered once, against what the party held when it stored it: a notice the party files later
    over it, or the cancellation of the notice it conflicted with, brings no second answer."""
    await s.hello()
    first = await s.file(notice_of(s, volume(box(0, 0, 10, 10))))
    await _file_theirs(s, notice_of(s, volume(box(0, 0, 10, 10))))
    theirs = await _file_theirs(s, notice_of(s, volume(box(100, 0, 110, 10))))
    second = await s.file(notice_of(s, volume(box(100, 0, 110, 10))))
    await s.originate("cancellation", NoticeCancellation(notice_id=theirs.notice_id, version=1))
    for delivered, kind in ((first, ROGER), (second, UNABLE)):
        found = await _answers(s, delivered.acknowledgement.message_id, 0.3)
        kinds = [response_pb2.ResponseKind.Name(e.response.kind) for e in found]
        expect(
            kinds == [response_pb2.ResponseKind.Name(kind)],
            f"one answer, {response_pb2.ResponseKind.Name(kind)}",
            kinds,
        )


# -- 6.3 priority rules


@case("conflict.emergency_overrides_routine", "DCF-CFL-014", "DCF-CFL-015", "DCF-CFL-010")
async def priority(s: Session) -> None:
    """With EMERGENCY overriding ROUTINE: an emergency over a routine notice is clear; a routine over an emergency,
    an emergency over an emergency and an emergency over a MEDEVAC notice are conflicts."""
    await s.hello()
    emergency, routine, medevac = NoticeCategory.EMERGENCY, NoticeCategory.ROUTINE, NoticeCategory.MEDEVAC
    pairs = [
        (routine, emergency, ROGER),
        (emergency, routine, UNABLE),
        (emergency, emergency, UNABLE),
        (medevac, emergency, UNABLE),
        (routine, routine, UNABLE),
    ]
    for number, (their_category, my_category, kind) in enumerate(pairs):
        place = box(number * 100, 0, number * 100 + 10, 10)
        theirs = notice_of(s, volume(place), category=their_category)
        response = await answer(s, theirs, notice_of(s, volume(place), category=my_category))
        expect_kind(response, kind, f"{my_category.name} filed over the party's {their_category.name}")


# -- 6.4 reporting


@case("conflict.report_names_each_pair", "DCF-CFL-016", "DCF-RSP-006")
async def report(s: Session) -> None:
    """The conflict names the other notice, its version and owner, the volume of each, and the lateral and
    vertical distances: here volume 2 against the party's volume 1, 5 km and 100 m apart."""
    await s.hello()
    start = start_time()
    far = box(300, 0, 310, 10)
    theirs = await _file_theirs(
        s,
        notice_of(
            s, volume(far, start=start), volume(box(0, 0, 10, 10), altitude(1000.0), altitude(2000.0), start=start)
        ),
    )
    mine = notice_of(
        s,
        volume(far, start=start + timedelta(hours=3)),
        volume(box(500, 0, 510, 10), start=start),
        volume(box(0, 15, 10, 25), altitude(2100.0), altitude(3000.0), start=start),
    )
    response = await answer(s, None, mine)
    expect_kind(response, UNABLE, "the suite's third volume is 5 km and 100 m from the party's second")
    expect(
        list(response.reasons) == [response_pb2.UNABLE_REASON_CONFLICT],
        "reasons [UNABLE_REASON_CONFLICT]",
        list(response.reasons),
    )
    expect(len(response.conflicts) == 1, "one conflicting pair", list(response.conflicts))
    found = response.conflicts[0]
    named = (found.notice_id, found.version, found.owner, found.volume_index, found.other_volume_index)
    wanted = (theirs.notice_id, 1, s.target.party, 2, 1)
    expect(named == wanted, f"notice_id, version, owner, volume_index, other_volume_index {wanted}", named)
    expect_near(found.lateral_distance_m, 5000.0, 0.005 * LATERAL_M, "lateral_distance_m")
    expect_near(found.vertical_distance_m, 100.0, 1e-6, "vertical_distance_m")


@case("conflict.long_list_capped_in_order", "DCF-CFL-017", "DCF-CFL-018", "DCF-LIM-011")
async def capped(s: Session) -> None:
    """130 conflicting pairs: the response lists 64, the first by owner, notice id, volume_index and
    other_volume_index, and its remarks say how many more (66) were found."""
    await s.hello()
    place = box(0, 0, 10, 10)
    many = await _file_theirs(s, notice_of(s, *(volume(place) for _ in range(64))))
    few = party_notice(s, notice_of(s, volume(place)))
    # An id sorting before the first one's: its pairs come first.
    few = few.model_copy(update={"notice_id": f"{s.target.party}/0-{many.notice_id[-8:]}"})
    await s.originate("notice", few)
    response = await answer(s, None, notice_of(s, volume(place), volume(place)))
    expect_kind(response, UNABLE, "130 pairs conflict")
    wanted = [(few.notice_id, 0, 0), (few.notice_id, 1, 0)] + [(many.notice_id, 0, n) for n in range(62)]
    got = _pairs(response)
    expect(
        got == wanted,
        "the first 64 pairs in order: the short notice's 2, then volume 0 of the long one's "
        "against its volumes 0 to 61",
        [*got[:4], "...", *got[-2:]],
    )
    expect("66" in response.remarks, "remarks saying 66 more conflicts were found", repr(response.remarks))
