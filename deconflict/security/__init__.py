"""Channel security: the parties' certificates (pki), who a TLS session authenticates (identity), which anchors
vouch for which party (trust), what each identity may call (access) and the gRPC credentials (credentials)."""
