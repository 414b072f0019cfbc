"""Conformance cases: compatibility (being written)."""

from __future__ import annotations
