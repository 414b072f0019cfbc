"""Bounds every receiver enforces (docs/spec/limits.md): input past them is refused, never truncated."""

from datetime import timedelta

MAX_IDENTIFIER = 128
MAX_SHORT_TEXT = 256
MAX_TEXT = 4000
MAX_VERTICES = 256
MAX_VOLUMES = 64
MAX_LIST = 64
MAX_RADIUS_M = 500_000.0
MAX_ALTITUDE_M = 100_000.0
MIN_ALTITUDE_M = -1_000.0
MAX_CANDIDATE_SLOTS = 16
MAX_AGENDA_ITEMS = 64
MAX_AIRCRAFT_COUNT = 1000
MAX_DURATION = timedelta(days=366)
# A message's serialized size: larger envelopes are refused before parsing.
MAX_MESSAGE_BYTES = 1 << 20
