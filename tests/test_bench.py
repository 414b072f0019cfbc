"""The node benchmark runs from a checkout with one command and reports its ratios (bench/README.md): a short run
on a small journal, so that the suite notices when it breaks. Its figures are not checked: they are measured, not
tested."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_node_benchmark_reports_the_node_the_bare_server_and_the_floor(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "bench/node_acknowledgement.py",
        "--quick",
        "--volumes",
        "1000",
        "--in-flight",
        "1",
        "16",
    ]
    result = subprocess.run([*command, "--dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Each table has a row per case: the node against the bare server, the CPUs, and the floor.
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("1,002 ")]
    assert len(rows) == 6, result.stdout
    node_rows, floor_rows = rows[:2], rows[4:]
    for row in node_rows:
        node, bare, ratio = (float(row[i].replace(",", "")) for i in (3, 6, 9))
        assert node > 0
        assert bare > 0
        assert abs(ratio - node / bare) < 0.01
    for row in floor_rows:
        assert float(row[2].replace(",", "")) > 0
        assert float(row[7]) > 0  # floor / bare
        assert float(row[8]) > 0  # node / floor
