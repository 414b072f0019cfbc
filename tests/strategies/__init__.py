"""Hypothesis strategies that draw valid protocol messages as models."""
