"""Conflict detection (docs/spec/06-conflict.md): which known notices a notice comes too close to.

ConflictIndex holds every ACTIVE notice a node knows; conflicts() names the pairs of
volumes closer than the agreement's separation minima.
"""

from deconflict.conflict.index import Conflict, ConflictIndex, IndexedNotice, conflict_order, exempt_categories
from deconflict.conflict.volume import Minima, PreparedVolume, separation

__all__ = [
    "Conflict",
    "ConflictIndex",
    "IndexedNotice",
    "Minima",
    "PreparedVolume",
    "conflict_order",
    "exempt_categories",
    "separation",
]
