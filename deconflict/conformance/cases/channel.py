"""Conformance cases: channel (being written)."""

from __future__ import annotations
