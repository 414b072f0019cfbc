"""The benchmarks run from a checkout and report their ratios (bench/README.md): short runs, so that the suite
notices when one breaks. Their figures are not checked: they are measured, not tested."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every benchmark but the node's, which has a test of its own below on a smaller journal than its --quick.
OTHERS = sorted(
    path.stem for path in (ROOT / "bench").glob("*.py") if path.stem not in {"run_all", "node_acknowledgement"}
)


def test_every_other_benchmark_runs_in_its_quick_settings() -> None:
    result = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--only", *OTHERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.split("=== summary", 1)[1].split()
    assert all(summary[summary.index(name) + 3] == "ok" for name in OTHERS), result.stdout


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
