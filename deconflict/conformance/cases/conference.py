"""Conformance cases: conference (being written)."""

from __future__ import annotations
