"""Run one node from its configuration file until SIGTERM or SIGINT: a real process for the tests that kill one.

    python tests/serve_node.py path/to/node.toml

Prints `listening <port>` on stdout once the node serves, so that a test knows when to call it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from deconflict.node.config import load_config
from deconflict.node.server import NodeServer


async def serve(config: Path) -> None:
    server = NodeServer(load_config(config))
    port = await server.start()
    print(f"listening {port}", flush=True)
    await server.serve_until_signal(grace=1.0)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if len(sys.argv) != 2:
        sys.exit("usage: serve_node.py NODE_CONFIG.toml")
    asyncio.run(serve(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
