"""Agree a video conference on the channel: the US proposes, Russia counters with another slot, the US accepts.

A proposal names candidate slots, a duration, the participants by role, a classification and an agenda;
the other party accepts one slot, counters (a new revision: here another slot) or declines. Each step
waits for the peer node to store the message (its logical acknowledgement, with the journal position).

    python examples/propose_conference.py
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deconflict.client import OperatorClient
from deconflict.demo.nodes import local_nodes
from deconflict.demo.observer import Observer, received
from deconflict.demo.scenario import CHANNEL, RU, US
from deconflict.models.conference import (
    AgendaItem,
    AgendaItemKind,
    Classification,
    ConferenceAnswer,
    ConferenceProposal,
    Participant,
    ParticipantRole,
    SlotAcceptance,
    TimeSlot,
)

TIMEOUT = 10.0


def slot(days: int, hour: int) -> TimeSlot:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeSlot(start_time=today + timedelta(days=days, hours=hour))


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with (
            local_nodes(Path(folder)) as nodes,
            OperatorClient(nodes.ru_address, tls=nodes.ru_operator) as ru,
            OperatorClient(nodes.us_address, tls=nodes.us_operator) as us,
        ):
            observer = Observer()
            observer.follow(RU, ru, 0)
            observer.follow(US, us, 0)
            try:
                proposal = ConferenceProposal(
                    conference_id="vtc-example",
                    revision=1,
                    title="Video conference on flight safety",
                    candidate_slots=[slot(1, 14), slot(2, 14)],
                    duration=timedelta(hours=1),
                    participants=[
                        Participant(party=party, role=ParticipantRole.HEAD_OF_DELEGATION) for party in (US, RU)
                    ],
                    classification=Classification.UNCLASSIFIED,
                    agenda=[
                        AgendaItem(
                            item_id="frequencies",
                            kind=AgendaItemKind.PROCEDURE_CHANGE,
                            title="Listening watch on 121.5 and 243.0 MHz",
                            presenter=Participant(party=US, role=ParticipantRole.FLIGHT_SAFETY),
                            allotted=timedelta(minutes=20),
                        )
                    ],
                )
                proposed = await us.propose_conference(CHANNEL, proposal)
                ack = await observer.acknowledgement(US, proposed.sent.message_id, "the proposal", TIMEOUT)
                position = ack.journal_position
                print(f"us-dod proposed {proposal.conference_id} (2 slots); ru-mod stored it at position {position}")

                counter = proposal.model_copy(update={"revision": 2, "candidate_slots": [slot(2, 10)]})
                countered = await ru.answer_conference(
                    CHANNEL, ConferenceAnswer(conference_id=proposal.conference_id, revision=1, counter=counter)
                )
                ack = await observer.acknowledgement(RU, countered.sent.message_id, "the counter", TIMEOUT)
                await observer.wait_for("us-dod storing the counter", received(US, countered.sent.message_id), TIMEOUT)
                start = counter.candidate_slots[0].start_time
                position = ack.journal_position
                print(
                    f"ru-mod countered with revision 2, {start:%d %b %H:%M}Z; us-dod stored it at position {position}"
                )

                accepted = await us.answer_conference(
                    CHANNEL,
                    ConferenceAnswer(
                        conference_id=proposal.conference_id,
                        revision=2,
                        accept=SlotAcceptance(slot=counter.candidate_slots[0]),
                    ),
                )
                ack = await observer.acknowledgement(US, accepted.sent.message_id, "the acceptance", TIMEOUT)
                print(f"us-dod accepted it; ru-mod stored the acceptance at position {ack.journal_position}: scheduled")
            finally:
                await observer.close()


if __name__ == "__main__":
    asyncio.run(main())
