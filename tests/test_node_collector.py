"""The node's use of the cyclic garbage collector (node/collector.py): none while a journal replays, then the
replayed state frozen and collection back on."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.nodes import one_node

HOLDS = textwrap.dedent(
    """
    import gc
    from deconflict.node import collector

    collector.hold()
    collector.hold()  # two nodes of one process replaying at once
    assert not gc.isenabled()
    collector.release()  # the first failed
    assert not gc.isenabled(), "collection resumed while the second still replays"
    replayed = [[n] for n in range(1000)]
    collector.settle_after_replay()
    assert gc.isenabled()
    assert gc.get_threshold() == (collector.GEN0_THRESHOLD, collector.GEN1_THRESHOLD, collector.GEN2_THRESHOLD)
    assert gc.get_freeze_count() >= len(replayed), "the state built during the hold is not frozen"
    young = {id(thing) for thing in gc.get_objects()}  # the frozen are in no generation
    assert not any(id(item) in young for item in replayed), "the state built during the hold is still collected"
    collector.release()  # one release too many changes nothing
    assert gc.isenabled()
    print("ok")
    """
)


def test_holds_nest_and_settling_freezes_what_the_hold_built() -> None:
    # In a process of its own: the settings are per process, and freezing would outlive this test.
    result = subprocess.run([sys.executable, "-c", HOLDS], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.asyncio
async def test_a_started_node_leaves_collection_on(tmp_path: Path) -> None:
    async with one_node(tmp_path):
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
