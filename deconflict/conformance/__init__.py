"""The conformance suite: checks any implementation of deconflict.v1, in any language, over gRPC.

The suite plays the peer of the party under test on one channel, drives that party through the test-control
API (deconflict.testing.v1: reset, originate, read what it stored) and reports requirement by requirement.
Parts: `target` (the TOML file naming the party under test), `case` (the registry: each case cites the
requirement IDs it checks), `session` (one case's connection to the target, as its peer), `runner` (selects,
runs and times the cases), `report` (text, JSON, JUnit XML, the requirement table, the coverage view) and
`cases/` (the cases, by chapter of the specification).
"""
