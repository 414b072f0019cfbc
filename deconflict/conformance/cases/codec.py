"""Conformance cases: codec (being written)."""

from __future__ import annotations
