"""The test-control API: how a conformance suite drives a party under test (never served on a real channel)."""
