"""File a flight notice, then watch its logical acknowledgement and its operational response arrive.

Starts the two ministry nodes of `deconflict demo` on loopback (both answering automatically here),
files one Russian sortie over Hama through the Russian node's operator API, and follows that node's
events: the notice stored and sent, the US node's logical acknowledgement (level 1: stored, at a
journal position), then the US node's operational response (level 2: ROGER, since nothing conflicts).

    python examples/submit_and_watch.py
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from deconflict.cli.describe import event_line, event_row
from deconflict.client import OperatorClient
from deconflict.demo.nodes import local_nodes
from deconflict.demo.scenario import RU, RUSSIAN_SORTIES, Calendar
from deconflict.models.envelope import Mode
from deconflict.operator.v1 import operator_service_pb2 as pb


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with (
            local_nodes(Path(folder), us_policy="automatic") as nodes,
            OperatorClient(nodes.ru_address, tls=nodes.ru_operator) as ru,
        ):
            print(f"ru-mod's node at {nodes.ru_address}, us-dod's at {nodes.us_address}, both answering automatically")
            latamneh = RUSSIAN_SORTIES[3]
            notice = latamneh.notice(RU, "ru-mod/example/latamneh", Calendar.from_now(datetime.now(UTC)))
            filed = await ru.file_notice(notice, mode=Mode.OPERATIONAL)
            sent = filed.sent[0]
            print(f"filed {filed.notice.notice_id} v{filed.notice.version}: sequence {sent.sequence}, stored at {RU}")
            print(f"journal position {sent.journal_position}; the node delivers it until us-dod acknowledges it")
            print("ru-mod's events, from the start of its journal:")
            # WatchEvents replays the journal, then follows live: stop once the response has come in.
            async with asyncio.timeout(10):
                async for event in ru.watch_events(0):
                    print("  " + event_line(event_row(event)))
                    if event.HasField("message") and event.message.direction == pb.DIRECTION_IN:
                        break
            print("acknowledged (level 1) and answered (level 2): two answers, never merged")


if __name__ == "__main__":
    asyncio.run(main())
