"""Conformance cases: timing (being written)."""

from __future__ import annotations
