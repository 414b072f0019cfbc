"""Chapter 06: conflict detection with geometries whose answers are known."""

from __future__ import annotations

from deconflict.conformance.case import case, expect
from deconflict.conformance.session import Session
from deconflict.v1 import response_pb2


async def _answer_kind(s: Session, north_km: float, east_km: float, *, lower_fl: int = 100,
                       upper_fl: int = 200) -> response_pb2.ResponseKind.ValueType:  # fmt: skip
    """The party files a 10 km square at 1000 km north; the suite files another at the given offset; the kind
    of the party's automatic answer."""
    await s.hello()
    await s.originate("notice", s.notice(owner=s.target.party, offset_km=1000.0))
    mine = s.notice(offset_km=1000.0 + north_km, east_km=east_km, lower_fl=lower_fl, upper_fl=upper_fl)
    delivered = await s.file(mine)
    answer = await s.answer_to(delivered.acknowledgement.message_id)
    expect(answer is not None, "an operational response", "none within 5 s")
    assert answer is not None
    return answer.response.kind


@case("conflict.inside_the_lateral_minimum", "DCF-CFL-001", "DCF-CFL-002", "DCF-CFL-006")
async def inside_minimum(s: Session) -> None:
    """Two squares 5 km apart (the minimum is 9.26 km), same levels and hours: UNABLE, naming the conflict."""
    kind = await _answer_kind(s, 0.0, 15.0)
    expect(kind == response_pb2.RESPONSE_KIND_UNABLE, "UNABLE", response_pb2.ResponseKind.Name(kind))


@case("conflict.outside_the_lateral_minimum", "DCF-CFL-001", "DCF-CFL-006")
async def outside_minimum(s: Session) -> None:
    """Two squares 15 km apart: ROGER."""
    kind = await _answer_kind(s, 0.0, 25.0)
    expect(kind == response_pb2.RESPONSE_KIND_ROGER, "ROGER", response_pb2.ResponseKind.Name(kind))


@case("conflict.vertical_minimum", "DCF-CFL-001", "DCF-CFL-004")
async def vertical_minimum(s: Session) -> None:
    """The same square, FL100-200 against FL205-300 (500 ft apart, under the 300 m minimum): UNABLE."""
    kind = await _answer_kind(s, 0.0, 0.0, lower_fl=205, upper_fl=300)
    expect(kind == response_pb2.RESPONSE_KIND_UNABLE, "UNABLE", response_pb2.ResponseKind.Name(kind))
