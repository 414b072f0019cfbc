"""Bounds every receiver enforces (docs/spec/12-limits.md): input past them is refused, never truncated."""

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
MAX_CONFERENCE_DURATION = timedelta(hours=24)
# Agreement bounds: the clock-skew tolerance and how many missed heartbeats mean DOWN.
MAX_CLOCK_SKEW_TOLERANCE = timedelta(hours=1)
MAX_MISSED_HEARTBEATS = 100
# Radio frequencies in kHz, HF (2 MHz) to UHF (400 MHz): covers 121.5 and 243.0 MHz guard.
MIN_FREQUENCY_KHZ = 2_000
MAX_FREQUENCY_KHZ = 400_000
MAX_CHECKLIST_ENTRIES = 100_000
MAX_INVOLVED_AIRCRAFT = 16
MAX_CALLSIGN = 16
# A message's serialized size: larger envelopes are refused before parsing.
MAX_MESSAGE_BYTES = 1 << 20
# Per flight notice: callsigns, transponder codes and frequency references.
MAX_NOTICE_CALLSIGNS = 16
MAX_NOTICE_TRANSPONDER_CODES = 16
MAX_NOTICE_FREQUENCIES = 16
MAX_SIGNATURES = 8
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
