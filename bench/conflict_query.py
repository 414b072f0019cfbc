"""Conflict query time against the number of active volumes, the index against a naive scan in the same run.

    python bench/conflict_query.py [--sizes 10000 100000 1000000] [--queries 400] [--seed 1]

Active volumes are random 8-vertex polygons 3 to 15 km across the middle, over a box the size of Syria
(32.3N to 37.3N, 35.7E to 42.4E), 300 to 3000 m thick between the surface and 12000 m (MSL, some in flight
levels), 1 to 6 hours long within 30 days; 3 volumes to a notice, owned by four parties. Each query is a fresh
notice of 3 such volumes around Idlib, Hama and Homs, checked against minima of 5 NM, 1000 ft and 10 minutes.

Cases at each size:
- index: ConflictIndex.conflicts() (R-tree on longitude, latitude and time; then owner, time, altitude and
  exact lateral distance);
- naive: ConflictIndex.scan(), a Python loop applying the same exact test to every indexed volume (few queries
  at the larger sizes: it takes seconds each), and its answers are compared with the index's.
Insertion is timed as put() of a FlightNotice (model to prepared volumes, then the tree) and put_indexed() of
an already prepared one (the tree alone), each followed by remove(). The index at 1e4 and 1e5 volumes is built
one notice at a time; at 1e6 it is bulk-loaded (put_many), as a node would at start-up. Building 1e6 volumes
as validated models would take minutes, so the stored volumes are prepared directly from the random numbers,
the same PreparedVolume the models give.
Absolute times vary from run to run by 10 to 20 %; compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from deconflict.conflict import ConflictIndex, IndexedNotice, PreparedVolume
from deconflict.conflict.outline import PolygonOutline
from deconflict.conflict.volume import microseconds
from deconflict.models.channel import SeparationMinima
from deconflict.models.geometry import (
    FEET,
    Altitude,
    AltitudeReference,
    AltitudeUnit,
    LatLng,
    Polygon,
    Volume3D,
    Volume4D,
)
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState

SOUTH, NORTH, WEST, EAST = 32.3, 37.3, 35.7, 42.4
PLACES = {"Idlib": (35.93, 36.63), "Hama": (35.13, 36.75), "Homs": (34.73, 36.71)}
EPOCH_START = datetime(2026, 3, 1, tzinfo=UTC)
HORIZON = timedelta(days=30)
VERTICES = 8
VOLUMES_PER_NOTICE = 3
OWNERS = ("party-a", "party-b", "party-c", "party-d")
SEPARATION = SeparationMinima(lateral_m=9_260.0, vertical_m=1_000 * FEET, time=timedelta(minutes=10))
METRES_PER_DEGREE = 111_195.0
# Naive queries per size: enough for a median, few enough that 1e6 takes seconds, not minutes.
NAIVE_QUERIES = {10_000: 40, 100_000: 8, 1_000_000: 3}
INSERT_SAMPLE = 1000


@dataclass(frozen=True)
class Shape:
    """One random volume, as numbers."""

    longitudes: list[float]
    latitudes: list[float]
    lower_m: float
    upper_m: float
    flight_levels: bool
    start: datetime
    end: datetime


def random_shapes(rng: np.random.Generator, latitudes: np.ndarray, longitudes: np.ndarray) -> list[Shape]:
    """One random volume around each (latitude, longitude), drawn in bulk: a million take seconds, not a minute."""
    count = len(latitudes)
    radius_m = rng.uniform(1_500.0, 7_500.0, (count, 1))
    # Vertices in equal sectors, jittered, so the polygon is simple.
    turn = rng.uniform(0.0, 2.0 * math.pi, (count, 1))
    angles = (np.arange(VERTICES) + rng.uniform(-0.3, 0.3, (count, VERTICES))) * (2.0 * math.pi / VERTICES) + turn
    reach = radius_m * rng.uniform(0.6, 1.0, (count, VERTICES)) / METRES_PER_DEGREE
    vertex_latitudes = latitudes[:, None] + reach * np.sin(angles)
    vertex_longitudes = longitudes[:, None] + reach * np.cos(angles) / np.cos(np.radians(latitudes))[:, None]
    flight_levels = rng.random(count) < 0.3
    thickness = rng.uniform(300.0, 3_000.0, count)
    lower = rng.uniform(0.0, 1.0, count) * (12_000.0 - thickness)
    # Flight levels are whole hundreds of feet.
    lower = np.where(flight_levels, np.round(lower / 30.48) * 30.48, lower)
    thickness = np.where(flight_levels, np.round(thickness / 30.48) * 30.48, thickness)
    starts = rng.integers(0, int(HORIZON.total_seconds()), count)
    lengths = rng.integers(3_600, 6 * 3_600, count)
    return [
        Shape(
            lngs,
            lats,
            low,
            low + thick,
            levels,
            EPOCH_START + timedelta(seconds=begin),
            EPOCH_START + timedelta(seconds=begin + length),
        )
        for lngs, lats, low, thick, levels, begin, length in zip(
            vertex_longitudes.tolist(),
            vertex_latitudes.tolist(),
            lower.tolist(),
            thickness.tolist(),
            flight_levels.tolist(),
            starts.tolist(),
            lengths.tolist(),
            strict=True,
        )
    ]


def prepared(shape: Shape) -> PreparedVolume:
    return PreparedVolume(
        outline=PolygonOutline(shape.longitudes, shape.latitudes),
        lower_m=shape.lower_m,
        upper_m=shape.upper_m,
        datum=AltitudeReference.MSL,  # MSL and STD are one datum (DCF-GEO-018)
        start_us=microseconds(shape.start),
        end_us=microseconds(shape.end),
    )


def model(shape: Shape) -> Volume4D:
    def altitude(metres: float) -> Altitude:
        if shape.flight_levels:
            return Altitude(
                value=round(metres / 30.48), reference=AltitudeReference.STD, unit=AltitudeUnit.FLIGHT_LEVEL
            )
        return Altitude(value=metres, reference=AltitudeReference.MSL, unit=AltitudeUnit.METRES)

    vertices = [LatLng(latitude=lat, longitude=lng) for lng, lat in zip(shape.longitudes, shape.latitudes, strict=True)]
    return Volume4D(
        volume=Volume3D(
            polygon=Polygon(vertices=vertices),
            altitude_lower=altitude(shape.lower_m),
            altitude_upper=altitude(shape.upper_m),
        ),
        time_start=shape.start,
        time_end=shape.end,
    )


def stored_notices(rng: np.random.Generator, volumes: int, prefix: str) -> list[IndexedNotice]:
    shapes = random_shapes(rng, rng.uniform(SOUTH, NORTH, volumes), rng.uniform(WEST, EAST, volumes))
    notices = []
    for number, first in enumerate(range(0, volumes, VOLUMES_PER_NOTICE)):
        notices.append(
            IndexedNotice(
                owner=OWNERS[number % len(OWNERS)],
                notice_id=f"{prefix}-{number}",
                version=1,
                category=NoticeCategory.ROUTINE,
                channel_id="channel-bench",
                exercise=False,
                volumes=tuple(prepared(shape) for shape in shapes[first : first + VOLUMES_PER_NOTICE]),
            )
        )
    return notices


def query_notice(rng: np.random.Generator, number: int, owner: str = "party-q") -> FlightNotice:
    places = np.array(list(PLACES.values())) + rng.uniform(-0.1, 0.1, (len(PLACES), 2))
    volumes = [model(shape) for shape in random_shapes(rng, places[:, 0], places[:, 1])]
    return FlightNotice(
        notice_id=f"query-{number}",
        version=1,
        state=NoticeState.ACTIVE,
        owner=owner,
        volumes=volumes,
        aircraft_category=AircraftCategory.TRANSPORT,
        aircraft_count=1,
        category=NoticeCategory.HUMANITARIAN,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@dataclass
class Row:
    volumes: int
    build_s: float
    index_ms: list[float]
    naive_ms: list[float]
    conflicts: float
    put_us: float
    put_prepared_us: float
    remove_us: float


def put_all(index: ConflictIndex, notices: Sequence[FlightNotice]) -> None:
    for notice in notices:
        index.put(notice, channel_id="channel-bench")


def put_all_prepared(index: ConflictIndex, entries: Sequence[IndexedNotice]) -> None:
    for entry in entries:
        index.put_indexed(entry)


def remove_all(index: ConflictIndex, keys: Sequence[tuple[str, str]]) -> None:
    for owner, notice_id in keys:
        index.remove(owner, notice_id)


def measure_inserts(index: ConflictIndex, rng: np.random.Generator) -> tuple[float, float, float]:
    """Microseconds per notice: put() of a model, put_indexed() of a prepared notice, remove()."""
    models = [query_notice(rng, n, owner="party-i") for n in range(INSERT_SAMPLE)]
    keys = [(notice.owner, notice.notice_id) for notice in models]
    put = timed(lambda: put_all(index, models))
    remove = timed(lambda: remove_all(index, keys))
    entries = [IndexedNotice.from_notice(notice, channel_id="channel-bench") for notice in models]
    put_prepared = timed(lambda: put_all_prepared(index, entries))
    remove += timed(lambda: remove_all(index, keys))
    per = 1e6 / INSERT_SAMPLE
    return put * per, put_prepared * per, remove / 2 * per


def run(size: int, queries: int, rng: np.random.Generator) -> Row:
    notices = stored_notices(rng, size, f"n{size}")
    index = ConflictIndex()
    if size >= 1_000_000:
        build = timed(lambda: index.put_many(notices))
    else:
        build = timed(lambda: put_all_prepared(index, notices))
    assert len(index) == size
    put_us, put_prepared_us, remove_us = measure_inserts(index, rng)
    checked = [query_notice(rng, n) for n in range(queries)]
    for notice in checked[:20]:  # warm the lazily prepared outlines and the caches
        index.conflicts(notice, SEPARATION)
    index_ms, found = [], 0
    for notice in checked:
        start = time.perf_counter()
        answer = index.conflicts(notice, SEPARATION)
        index_ms.append((time.perf_counter() - start) * 1e3)
        found += len(answer)
    naive_ms = []
    for notice in checked[: NAIVE_QUERIES.get(size, 3)]:
        start = time.perf_counter()
        answer = index.scan(notice, SEPARATION)
        naive_ms.append((time.perf_counter() - start) * 1e3)
        assert answer == index.conflicts(notice, SEPARATION), "the index and the naive scan disagree"
    return Row(size, build, index_ms, naive_ms, found / queries, put_us, put_prepared_us, remove_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    rng = np.random.default_rng(arguments.seed)
    rows = []
    for size in arguments.sizes:
        row = run(size, arguments.queries, rng)
        rows.append(row)
        print(f"  {size:>9,} volumes: built in {row.build_s:.1f} s", flush=True)
    print()
    print("conflict query, a notice of 3 volumes of 8 vertices (ms)")
    header = (
        f"{'volumes':>10} | {'index p50':>9} {'p99':>7} | {'naive p50':>9} {'p99':>8} {'(n)':>4} | {'naive/index':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        index_p50, naive_p50 = statistics.median(row.index_ms), statistics.median(row.naive_ms)
        print(
            f"{row.volumes:>10,} | {index_p50:>9.3f} {percentile(row.index_ms, 0.99):>7.3f} | "
            f"{naive_p50:>9.1f} {percentile(row.naive_ms, 0.99):>8.1f} {len(row.naive_ms):>4} | "
            f"{naive_p50 / index_p50:>10.0f}x"
        )
    print()
    print("conflicts found per query, and insertion of a 3-volume notice (us per notice)")
    header = f"{'volumes':>10} | {'conflicts':>9} | {'put()':>7} {'prepared':>9} {'remove()':>9} | {'build':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        how = "bulk" if row.volumes >= 1_000_000 else "1 by 1"
        print(
            f"{row.volumes:>10,} | {row.conflicts:>9.2f} | {row.put_us:>7.0f} {row.put_prepared_us:>9.0f} "
            f"{row.remove_us:>9.0f} | {row.build_s:>5.1f} s {how}"
        )


if __name__ == "__main__":
    main()
