"""The conflict index: every ACTIVE notice a node knows, by volume, in an R-tree.

Why an R-tree from libspatialindex: notices arrive and end one at a time, and it
inserts and deletes one volume in tens of microseconds, where a static tree (shapely's
STRtree) would be rebuilt at every change. The tree is 3D: longitude, latitude and
time (in hours, so that a typical volume's extent is of the same order on each axis,
which keeps the R*-tree's splits good), so a query returns only volumes near in
space and time. Then, cheapest first (DCF-CFL-011): owner and priority, the time
window and altitude band in exact arithmetic, and last the lateral geometry.

Exercise and operational notices live in two trees, so one never sees the other
(DCF-CFL-009).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from rtree import index as rtree

from deconflict.conflict.outline import Bounds, search_boxes
from deconflict.conflict.volume import Minima, PreparedVolume, separation
from deconflict.models.channel import PriorityRule, SeparationMinima
from deconflict.models.notice import FlightNotice, NoticeCategory, NoticeState
from deconflict.models.response import ConflictingNotice

_HOUR_US = 3_600_000_000
# Rounding of microseconds to float hours is below 1e-10 h: this margin keeps the boxes conservative.
_TIME_MARGIN_H = 1e-6

TreeBox = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Conflict:
    """One conflicting pair of volumes (DCF-CFL-016): the other notice, the channel it is known
    on, and the index of each volume."""

    notice_id: str
    version: int
    owner: str
    channel_id: str
    volume_index: int
    other_volume_index: int
    lateral_distance_m: float
    vertical_distance_m: float

    def to_model(self) -> ConflictingNotice:
        return ConflictingNotice(
            notice_id=self.notice_id,
            version=self.version,
            owner=self.owner,
            volume_index=self.volume_index,
            other_volume_index=self.other_volume_index,
            lateral_distance_m=self.lateral_distance_m,
            vertical_distance_m=self.vertical_distance_m,
        )


@dataclass(frozen=True, slots=True)
class IndexedNotice:
    """What the index keeps of a notice: who owns it, where it is known, and its volumes."""

    owner: str
    notice_id: str
    version: int
    category: NoticeCategory
    channel_id: str
    exercise: bool
    volumes: tuple[PreparedVolume, ...]

    @classmethod
    def from_notice(cls, notice: FlightNotice, *, channel_id: str, exercise: bool = False) -> IndexedNotice:
        return cls(
            owner=notice.owner,
            notice_id=notice.notice_id,
            version=notice.version,
            category=notice.category,
            channel_id=channel_id,
            exercise=exercise,
            volumes=tuple(PreparedVolume.from_model(volume) for volume in notice.volumes),
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.owner, self.notice_id)


def conflict_order(conflict: Conflict) -> tuple[str, str, int, int]:
    """Owner, notice id, volume_index, other_volume_index (DCF-CFL-017, DCF-CFL-018)."""
    return (conflict.owner, conflict.notice_id, conflict.volume_index, conflict.other_volume_index)


def exempt_categories(category: NoticeCategory, priority_rules: Sequence[PriorityRule]) -> frozenset[NoticeCategory]:
    """The categories a notice of `category` may be filed over (DCF-CFL-014); one direction only (DCF-CFL-015)."""
    return frozenset(chain.from_iterable(rule.overrides for rule in priority_rules if rule.category == category))


class _Check:
    """The checked notice, prepared once per query."""

    __slots__ = ("exempt", "minima", "owner", "volumes")

    def __init__(
        self,
        notice: FlightNotice | IndexedNotice,
        separation_minima: SeparationMinima,
        priority_rules: Sequence[PriorityRule],
    ) -> None:
        self.owner = notice.owner
        self.exempt = exempt_categories(notice.category, priority_rules)
        self.minima = Minima.of(separation_minima)
        # A notice the caller prepared for the index is not prepared a second time.
        self.volumes: Sequence[PreparedVolume] = (
            notice.volumes
            if isinstance(notice, IndexedNotice)
            else [PreparedVolume.from_model(volume) for volume in notice.volumes]
        )

    def checks(self, entry: IndexedNotice) -> bool:
        """Notices of the same owner are never checked (DCF-CFL-008), nor those a priority rule exempts."""
        return entry.owner != self.owner and entry.category not in self.exempt

    def pair(self, volume_index: int, entry: IndexedNotice, other_index: int) -> Conflict | None:
        found = separation(self.volumes[volume_index], entry.volumes[other_index], self.minima)
        if found is None:
            return None
        return Conflict(
            notice_id=entry.notice_id,
            version=entry.version,
            owner=entry.owner,
            channel_id=entry.channel_id,
            volume_index=volume_index,
            other_volume_index=other_index,
            lateral_distance_m=found[0],
            vertical_distance_m=found[1],
        )


def _tree_properties() -> rtree.Property:
    # Small nodes and R* splits: measured fastest for one-at-a-time insert, delete and query.
    return rtree.Property(dimension=3, variant=rtree.RT_Star, leaf_capacity=16, index_capacity=16, fill_factor=0.4)


def _tree_box(bounds: Bounds, start_us: int, end_us: int) -> TreeBox:
    west, south, east, north = bounds
    return (west, south, start_us / _HOUR_US - _TIME_MARGIN_H, east, north, end_us / _HOUR_US + _TIME_MARGIN_H)


def _stored_box(volume: PreparedVolume) -> TreeBox:
    return _tree_box(volume.outline.bounds, volume.start_us, volume.end_us)


class ConflictIndex:
    """The ACTIVE notices a node knows, by volume, and the conflicts a notice has with them."""

    def __init__(self) -> None:
        self._trees = {
            False: rtree.Index(properties=_tree_properties()),
            True: rtree.Index(properties=_tree_properties()),
        }
        # slot (the id in the tree) -> the notice and the index of the volume
        self._slots: dict[int, tuple[IndexedNotice, int]] = {}
        self._notices: dict[tuple[str, str], tuple[IndexedNotice, range]] = {}
        self._next_slot = 0

    def __len__(self) -> int:
        """The number of indexed volumes."""
        return len(self._slots)

    def put(self, notice: FlightNotice, *, channel_id: str, exercise: bool = False) -> None:
        """Insert or replace (by (owner, notice_id)) every volume of an ACTIVE notice.

        A notice in another state only removes what was indexed for it: the check is
        against ACTIVE notices (DCF-CFL-008).
        """
        if notice.state != NoticeState.ACTIVE:
            self.remove(notice.owner, notice.notice_id)
            return
        self.put_indexed(IndexedNotice.from_notice(notice, channel_id=channel_id, exercise=exercise))

    def put_indexed(self, entry: IndexedNotice) -> None:
        """put() for a notice already prepared."""
        self.remove(*entry.key)
        slots = self._allocate(entry)
        tree = self._trees[entry.exercise]
        for slot, volume in zip(slots, entry.volumes, strict=True):
            tree.insert(slot, _stored_box(volume))

    def put_many(self, entries: Iterable[IndexedNotice]) -> None:
        """put_indexed() for many notices; into an empty index (a node starting), the trees are
        bulk-loaded, many times faster than one insert at a time."""
        if self._slots:
            for entry in entries:
                self.put_indexed(entry)
            return
        latest = {entry.key: entry for entry in entries}
        for entry in latest.values():
            self._allocate(entry)
        for exercise in (False, True):
            # libspatialindex refuses an empty stream: an empty tree stays as it is.
            if any(entry.exercise == exercise for entry in latest.values()):
                self._trees[exercise] = rtree.Index(self._stream(exercise), properties=_tree_properties())

    def remove(self, owner: str, notice_id: str) -> None:
        """Take a notice's volumes out; nothing happens when it is not indexed."""
        known = self._notices.pop((owner, notice_id), None)
        if known is None:
            return
        entry, slots = known
        tree = self._trees[entry.exercise]
        for slot, volume in zip(slots, entry.volumes, strict=True):
            tree.delete(slot, _stored_box(volume))
            del self._slots[slot]

    def conflicts(
        self,
        notice: FlightNotice | IndexedNotice,
        separation: SeparationMinima,
        priority_rules: Sequence[PriorityRule] = (),
        *,
        exercise: bool = False,
    ) -> list[Conflict]:
        """Every pair of a volume of `notice` and a volume of an indexed notice closer than the
        minima (DCF-CFL-001), sorted by (owner, notice_id, volume_index, other_volume_index)
        (DCF-CFL-018).

        Notices of the same owner as `notice` are never checked; exercise notices are only
        checked against exercise notices (DCF-CFL-009); a priority rule whose category is
        notice.category and whose overrides include the other notice's category removes
        that pair (DCF-CFL-014).
        """
        check = _Check(notice, separation, priority_rules)
        tree = self._trees[exercise]
        found: list[Conflict] = []
        for volume_index, volume in enumerate(check.volumes):
            time_us = check.minima.time_us
            boxes = [
                _tree_box(bounds, volume.start_us - time_us, volume.end_us + time_us)
                for bounds in search_boxes(volume.outline.bounds, check.minima.lateral_m)
            ]
            slots: Iterable[int] = (
                tree.intersection(boxes[0]) if len(boxes) == 1 else {s for box in boxes for s in tree.intersection(box)}
            )
            for slot in slots:
                entry, other_index = self._slots[slot]
                if check.checks(entry):
                    conflict = check.pair(volume_index, entry, other_index)
                    if conflict is not None:
                        found.append(conflict)
        found.sort(key=conflict_order)
        return found

    def scan(
        self,
        notice: FlightNotice,
        separation: SeparationMinima,
        priority_rules: Sequence[PriorityRule] = (),
        *,
        exercise: bool = False,
    ) -> list[Conflict]:
        """conflicts() without the tree: the same test on every indexed volume, one by one.

        The reference the tree is tested against, and the naive baseline of the benchmark.
        """
        check = _Check(notice, separation, priority_rules)
        found: list[Conflict] = []
        for entry, other_index in self._slots.values():
            if entry.exercise != exercise or not check.checks(entry):
                continue
            for volume_index in range(len(check.volumes)):
                conflict = check.pair(volume_index, entry, other_index)
                if conflict is not None:
                    found.append(conflict)
        found.sort(key=conflict_order)
        return found

    def _allocate(self, entry: IndexedNotice) -> range:
        slots = range(self._next_slot, self._next_slot + len(entry.volumes))
        self._next_slot = slots.stop
        self._notices[entry.key] = (entry, slots)
        for other_index, slot in enumerate(slots):
            self._slots[slot] = (entry, other_index)
        return slots

    def _stream(self, exercise: bool) -> Iterator[tuple[int, TreeBox, None]]:
        for slot, (entry, other_index) in self._slots.items():
            if entry.exercise == exercise:
                yield (slot, _stored_box(entry.volumes[other_index]), None)
