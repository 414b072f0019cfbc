"""The journal's tamper evidence, kept by its writer thread and checked by `deconflict journal verify`.

Two things are stored, in the same transaction as the entries they cover:

- each entry's **link**: SHA-256(link of the previous entry || leaf hash of the entry || the entry's other columns),
  from 32 zero bytes. The chain runs over the whole file in position order, so a changed byte anywhere in an
  entry (its payload, its channel, its times, its node facts), a removed entry and two entries swapped all break it
  at the first entry concerned, whatever channel they belong to;
- the **heads**: the file's size and last link, and per channel the size, root and compact range of its Merkle
  tree (RFC 9162 over the payloads, DCF-JNL-003, DCF-JNL-004). A copy cut short shows against them, and a node can
  sign a checkpoint of any channel without reading the journal again.

A chain link costs one SHA-256 per entry, where storing each entry's running tree root would cost one per bit of
the channel's size; the tree's compact range costs one more hash per entry on average. None of it is a secret:
someone who can write the file can compute all of it again. What shows such a rewrite is a checkpoint the party
signed and the peer cosigned (DCF-JNL-006, DCF-JNL-009), which `deconflict journal verify --checkpoint` compares.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Final

from deconflict.transparency.merkle import CompactRange, leaf_hash

__all__ = ["FIRST_LINK", "EntryRow", "Evidence", "entry_link"]

FIRST_LINK: Final = bytes(32)
"""The link before the first entry."""

# A row as stored: position, channel_id, direction, message_id, sender, sequence, kind, payload, stored_time_us, meta.
EntryRow = tuple[int, str, str, str, str, int, str, bytes, int, bytes]

# The fixed part of a link's input: position, sequence and stored time, then the byte lengths of the five texts and
# of meta, so that the variable parts that follow cannot be cut another way.
_FIXED: Final = struct.Struct(">qqqIIIIII")
_sha256 = hashlib.sha256


def entry_link(previous: bytes, leaf: bytes, row: EntryRow) -> bytes:
    """The link of the entry `row`, whose payload's leaf hash is `leaf`, after the entry whose link is `previous`."""
    position, channel_id, direction, message_id, sender, sequence, kind, _, stored_time_us, meta = row
    # Spelled out rather than looped: this runs for every entry on the writer thread, which shares the GIL.
    channel, way, message, party, body = (
        channel_id.encode(),
        direction.encode(),
        message_id.encode(),
        sender.encode(),
        kind.encode(),
    )
    lengths = (len(channel), len(way), len(message), len(party), len(body), len(meta))
    fixed = _FIXED.pack(position, sequence, stored_time_us, *lengths)
    return _sha256(b"".join((previous, leaf, fixed, channel, way, message, party, body, meta))).digest()


@dataclass(slots=True)
class Evidence:
    """The running evidence of a journal: how many entries, the last link, and each channel's compact range."""

    size: int = 0
    link: bytes = FIRST_LINK
    channels: dict[str, CompactRange] = field(default_factory=dict)

    def add(self, row: EntryRow) -> bytes:
        """Take the next entry (its position must be `size`) and return its link."""
        return self.append(row)[0]

    def append(self, row: EntryRow) -> tuple[bytes, bytes]:
        """Take the next entry (its position must be `size`); its link and its leaf hash, which the node's tree of
        the channel takes next (hashed once, here, off the event loop)."""
        if row[0] != self.size:
            raise ValueError(f"entry {row[0]} is not the next entry, {self.size}")
        leaf = leaf_hash(row[7])
        channel = self.channels.get(row[1])
        if channel is None:
            channel = self.channels[row[1]] = CompactRange()
        channel.append(leaf)
        self.link = entry_link(self.link, leaf, row)
        self.size += 1
        return self.link, leaf
