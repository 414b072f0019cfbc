"""Run every benchmark in bench/ one after the other and print their tables.

    python bench/run_all.py            # full runs (about 3.5 minutes on the 2-core reference machine)
    python bench/run_all.py --quick    # short runs, to see that everything works (under 2 minutes)
    python bench/run_all.py --only node_acknowledgement journal_append

Each benchmark runs in its own process with this interpreter, from the repository root, and prints its own
table; a summary of what ran, how long it took and whether it succeeded comes last. The exit status is 1 when
any benchmark failed. A new bench/NAME.py is picked up by itself: it runs without arguments, or with --quick in a
quick run when it offers that option; QUICK below holds the short settings of the ones that do not.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {"__init__", "run_all"}

# Short settings for a quick run, for benchmarks that have no --quick of their own.
QUICK: dict[str, list[str]] = {
    "journal_append": ["--seconds", "0.5", "--warm-up", "0.5"],
    "conflict_query": ["--sizes", "10000", "100000", "--queries", "100"],
}


def benchmarks() -> list[str]:
    return sorted(path.stem for path in HERE.glob("*.py") if path.stem not in NOT_BENCHMARKS)


def arguments(name: str, quick: bool) -> list[str]:
    if not quick:
        return []
    if name in QUICK:
        return QUICK[name]
    return ["--quick"] if '"--quick"' in (HERE / f"{name}.py").read_text() else []


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.machine()}, {cpus} CPUs, {system}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs of every benchmark")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benchmarks only (file names without .py)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    names = benchmarks()
    if args.list:
        print("\n".join(names))
        return
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(names)}")
        names = [name for name in names if name in args.only]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}; {'quick' if args.quick else 'full'} runs", flush=True)
    summary: list[tuple[str, float, int]] = []
    for name in names:
        command = [sys.executable, str(HERE / f"{name}.py"), *arguments(name, args.quick)]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        begin = time.perf_counter()
        status = subprocess.run(command, cwd=ROOT, check=False).returncode
        summary.append((name, time.perf_counter() - begin, status))
    print("\n=== summary")
    width = max(len(name) for name, _, _ in summary)
    for name, seconds, status in summary:
        print(f"{name.ljust(width)}  {seconds:6.1f} s  {'ok' if status == 0 else f'FAILED (exit status {status})'}")
    sys.exit(1 if any(status != 0 for _, _, status in summary) else 0)


if __name__ == "__main__":
    main()
