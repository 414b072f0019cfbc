"""Conformance cases: limits (being written)."""

from __future__ import annotations
