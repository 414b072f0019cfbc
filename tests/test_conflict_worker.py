"""The conflict index beside the event loop (deconflict/node/assessor.py, deconflict/conflict/worker.py).

A node checks conflicts in a worker process by default. These tests show that the worker finds exactly what the
index finds in the node's own process, that a node whose worker dies still answers every notice (conflicts
included), that an answer owed when a node stopped is given after its restart, and that a node configured without
a worker answers the same way.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from deconflict.client import OperatorClient
from deconflict.conflict import IndexedNotice
from deconflict.conflict.work import Begin, Desk, Load, Minima, Put
from deconflict.journal.base import Direction
from deconflict.models.channel import SeparationMinima
from deconflict.models.envelope import Envelope, Mode
from deconflict.models.response import ResponseKind
from deconflict.node.assessor import Assessor
from tests.nodes import CHANNEL, RU, US, one_node, peer_of, restart, sortie, stored_envelopes
from tests.test_node import until

MINIMA = Minima(CHANNEL, SeparationMinima(lateral_m=9_260, vertical_m=300, time=timedelta(0)), ())


def _answers(path: Path) -> list[Envelope]:
    return [e for e in stored_envelopes(path, Direction.OUT) if e.response is not None]


def _grid() -> list[Put]:
    """Notices of both parties on a grid with some close pairs: 0.1 degree apart, closer than the minima."""
    puts = []
    for row in range(6):
        for column in range(6):
            owner = RU if (row + column) % 2 else US
            notice = sortie(f"{owner}/grid-{row}-{column}", owner=owner, latitude=33.0 + row * 0.1 + column * 0.35)
            puts.append(Put(notice, CHANNEL, False))
    return puts


@pytest.mark.asyncio
async def test_the_worker_finds_exactly_what_the_index_finds_in_the_node_process_dcf_cfl_001() -> None:
    puts = _grid()
    here = Desk()
    here.carry_out([Begin((MINIMA,)), Load(tuple(puts))])
    worker = Assessor(worker=True)
    try:
        await worker.begin(Begin((MINIMA,)), lambda: Load(tuple(puts)))
        await worker.ready()
        assert worker.pid is not None
        assert len(worker) == len(here) == len(puts)
        checks = [worker.check(put.notice, CHANNEL, False) for put in puts if not isinstance(put.notice, bytes)]
        found = await asyncio.gather(*checks)
    finally:
        await worker.close()
    expected = [here._conflicts(_prepared(put)) for put in puts]
    assert found == expected
    assert any(found), "the grid has conflicts to find"


def _prepared(put: Put) -> IndexedNotice:
    assert not isinstance(put.notice, bytes)
    return IndexedNotice.from_notice(put.notice, channel_id=put.channel_id, exercise=put.exercise)


@pytest.mark.asyncio
async def test_a_node_whose_conflict_worker_dies_still_answers_every_notice_with_its_conflicts_dcf_rsp_001(
    tmp_path: Path,
) -> None:
    async with one_node(tmp_path) as node, peer_of(node.address) as peer:
        async with OperatorClient(node.address) as operator:
            await operator.file_notice(sortie(f"{RU}/hama-1", latitude=35.13), mode=Mode.OPERATIONAL)
        await peer.notice(sortie(f"{US}/clear", owner=US, latitude=30.0))
        await until(lambda: len(_answers(node.journal_path)) == 1)
        worker = node.server.assessor.pid
        assert worker is not None
        os.kill(worker, signal.SIGKILL)
        # Filed right after the kill: checked by the worker or, once the node finds it gone, in the node itself.
        await peer.notice(sortie(f"{US}/in-the-way", owner=US, latitude=35.13))
        await until(lambda: len(_answers(node.journal_path)) == 2)
        assert node.server.assessor.pid is None
        clear, blocked = (answer.response for answer in _answers(node.journal_path))
        assert clear is not None
        assert clear.kind == ResponseKind.ROGER
        assert blocked is not None
        assert blocked.kind == ResponseKind.UNABLE
        assert [c.notice_id for c in blocked.conflicts] == [f"{RU}/hama-1"]
        # And the node goes on answering in its own process.
        await peer.notice(sortie(f"{US}/in-the-way-too", owner=US, latitude=35.14))
        await until(lambda: len(_answers(node.journal_path)) == 3)
        assert _answers(node.journal_path)[2].response.kind == ResponseKind.UNABLE  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_an_answer_owed_when_the_node_stopped_is_given_after_its_restart_dcf_rsp_001(tmp_path: Path) -> None:
    async with one_node(tmp_path) as node:
        await node.server.assessor.ready()
        worker = node.server.assessor.pid
        assert worker is not None
        os.kill(worker, signal.SIGSTOP)  # the check never comes back before the node stops
        async with peer_of(node.address) as peer:
            await peer.notice(sortie(f"{US}/owed", owner=US, latitude=30.0))
        await asyncio.sleep(0.2)
        assert _answers(node.journal_path) == []
        node.server = await restart(node.server)
        await until(lambda: len(_answers(node.journal_path)) == 1)
        (answer,) = _answers(node.journal_path)
        assert answer.response is not None
        assert answer.response.kind == ResponseKind.ROGER
        assert answer.response.notice_id == f"{US}/owed"


@pytest.mark.asyncio
async def test_a_node_without_a_conflict_worker_answers_the_same_dcf_cfl_001(tmp_path: Path) -> None:
    async with one_node(tmp_path, conflict_worker=False) as node, peer_of(node.address) as peer:
        assert node.server.assessor.pid is None
        assert not node.server.assessor.worker
        async with OperatorClient(node.address) as operator:
            await operator.file_notice(sortie(f"{RU}/hama-1", latitude=35.13), mode=Mode.OPERATIONAL)
        await peer.notice(sortie(f"{US}/in-the-way", owner=US, latitude=35.13))
        await until(lambda: len(_answers(node.journal_path)) == 1)
        (answer,) = _answers(node.journal_path)
        assert answer.response is not None
        assert answer.response.kind == ResponseKind.UNABLE
        assert [c.notice_id for c in answer.response.conflicts] == [f"{RU}/hama-1"]
