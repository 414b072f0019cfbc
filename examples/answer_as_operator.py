"""Answer the peer's notice as an operator: the node says STANDBY at once, a person says ACCEPT.

The US node runs with the operator policy: when the Russian notice arrives it answers STANDBY by itself
(decision pending: the dialogue stays open and the response timer restarts), then its operator, this
script, decides and answers ACCEPT through the US node's operator API. The Russian node's events show
both responses arriving.

    python examples/answer_as_operator.py
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from deconflict.client import OperatorClient
from deconflict.demo.nodes import local_nodes
from deconflict.demo.observer import Observer, Seen, response_to
from deconflict.demo.scenario import CHANNEL, RU, RUSSIAN_SORTIES, US, Calendar
from deconflict.models.envelope import Mode
from deconflict.models.response import OperationalResponse, ResponseKind

TIMEOUT = 10.0


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with (
            local_nodes(Path(folder), us_policy="operator") as nodes,
            OperatorClient(nodes.ru_address, tls=nodes.ru_operator) as ru,
            OperatorClient(nodes.us_address, tls=nodes.us_operator) as us,
        ):
            observer = Observer()
            observer.follow(RU, ru, 0)
            observer.follow(US, us, 0)
            try:
                talbiseh = RUSSIAN_SORTIES[11]
                notice = talbiseh.notice(RU, "ru-mod/example/talbiseh", Calendar.from_now(datetime.now(UTC)))
                filed = await ru.file_notice(notice, mode=Mode.OPERATIONAL)
                print(f"ru-mod filed {notice.notice_id} ({talbiseh.area}), sequence {filed.sent[0].sequence}")

                standby = await observer.response(RU, notice.notice_id, 1, TIMEOUT)
                print(f"us-dod's node answered {standby.kind.name} by itself: its operator has not decided yet")

                accept = OperationalResponse(notice_id=notice.notice_id, notice_version=1, kind=ResponseKind.ACCEPT)
                answer = await us.respond(CHANNEL, accept)
                print(f"us-dod's operator answers ACCEPT (sequence {answer.sent.sequence} from {US})")

                def accepted(seen: Seen) -> bool:
                    response = seen.envelope.response if seen.envelope is not None else None
                    answered = response_to(RU, notice.notice_id, 1)(seen)
                    return answered and response is not None and response.kind == ResponseKind.ACCEPT

                await observer.wait_for("ru-mod storing the ACCEPT", accepted, TIMEOUT)
                ack = await observer.acknowledgement(US, answer.sent.message_id, "the ACCEPT", TIMEOUT)
                print(f"ru-mod stored the ACCEPT at its journal position {ack.journal_position}: will comply")
            finally:
                await observer.close()


if __name__ == "__main__":
    asyncio.run(main())
