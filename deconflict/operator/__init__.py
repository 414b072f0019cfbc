"""The operator API: how a party's own operators drive its node (not the party-to-party protocol)."""
