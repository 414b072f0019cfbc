"""Conformance cases: overview (being written)."""

from __future__ import annotations
