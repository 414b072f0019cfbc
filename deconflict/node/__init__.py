"""The ministry node: one party's asyncio gRPC server, its journal, and the channels to its peers."""
