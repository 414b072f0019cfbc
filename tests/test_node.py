"""A real node pair on 127.0.0.1: notices flow, both acknowledgement levels come back, state agrees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from deconflict.client import OperatorClient
from deconflict.models.envelope import Mode
from deconflict.models.response import DialogueState, ResponseKind
from deconflict.node.server import NodeServer
from tests.nodes import CHANNEL, RU, sortie, two_nodes


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `condition()` holds, polling; fail the test when it does not in time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def dialogue(server: NodeServer, owner: str, notice_id: str) -> DialogueState | None:
    entry = server.node.ledger.notice(owner, notice_id)
    return None if entry is None else entry.dialogues[CHANNEL].state


@pytest.mark.asyncio
async def test_notice_is_delivered_acknowledged_and_answered_dcf_ack_001_dcf_rsp_001(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        async with OperatorClient(pair.ru_address) as operator:
            filed = await operator.file_notice(sortie("ru-mod/hama-1"), mode=Mode.OPERATIONAL)
        assert filed.sent[0].sequence == 1
        # The peer stored it (level 1) and answered ROGER automatically (level 2): the dialogue closes.
        await until(lambda: dialogue(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        entry = pair.ru.node.ledger.notice(RU, "ru-mod/hama-1")
        assert entry is not None
        assert entry.dialogues[CHANNEL].last_response == ResponseKind.ROGER
        assert dialogue(pair.us, RU, "ru-mod/hama-1") == DialogueState.ANSWERED
        channel = pair.ru.node.ledger.channels[CHANNEL]
        await until(lambda: channel.acknowledged == 1)
        assert pair.us.node.ledger.channels[CHANNEL].next_in == 2
