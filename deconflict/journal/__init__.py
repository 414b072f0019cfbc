"""The journal: every message a node sends and receives, stored durably before it is acknowledged.

The node is written against `Journal` (deconflict.journal.base); `open_journal` gives the SQLite backend.
"""

from deconflict.journal.base import (
    ChannelLeaf,
    Direction,
    Entry,
    Journal,
    JournalError,
    JournalFormatError,
    JournalStats,
    JournalUnavailableError,
    Record,
)
from deconflict.journal.sqlite import SCHEMA_VERSION, SqliteJournal, open_journal, read_journal

__all__ = [
    "SCHEMA_VERSION",
    "ChannelLeaf",
    "Direction",
    "Entry",
    "Journal",
    "JournalError",
    "JournalFormatError",
    "JournalStats",
    "JournalUnavailableError",
    "Record",
    "SqliteJournal",
    "open_journal",
    "read_journal",
]
