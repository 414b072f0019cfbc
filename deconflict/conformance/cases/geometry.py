"""Conformance cases: geometry (being written)."""

from __future__ import annotations
