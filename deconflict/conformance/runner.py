"""Runs the cases against a party under test: selects them, resets the party before each, times them.

Status of a case: `passed`; `failed` (a MUST case that the party failed, or a case on the known-failing list that
passed: the list must be kept true); `warning` (a case citing only SHOULD requirements that the party departed
from); `known` (failed, and on the known-failing list); `skipped` (a feature the party does not claim, or
deselected).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from deconflict.client.peer import PeerClient
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import Case, CaseFailedError, CaseSkippedError
from deconflict.conformance.session import ControlClient, Session
from deconflict.conformance.target import Target

PASSED, FAILED, WARNING, KNOWN, SKIPPED = "passed", "failed", "warning", "known", "skipped"
_SERVING = re.compile(r"serving on (\S+):(\d+)")
START_TIMEOUT_S = 60.0


@dataclass
class Result:
    name: str
    requirements: tuple[str, ...]
    status: str
    seconds: float = 0.0
    expected: str = ""
    got: str = ""
    message: str = ""

    @property
    def counts_as_failure(self) -> bool:
        return self.status == FAILED


@dataclass
class Selection:
    """Which cases run: names matching any `only` pattern (all when empty) and no `skip` pattern."""

    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)

    def chooses(self, name: str) -> bool:
        if self.only and not any(fnmatch.fnmatchcase(name, pattern) or pattern in name for pattern in self.only):
            return False
        return not any(fnmatch.fnmatchcase(name, pattern) or pattern in name for pattern in self.skip)


@contextlib.asynccontextmanager
async def target_address(target: Target) -> AsyncIterator[str]:
    """The address of the party under test: given, or of a process started with the target's command."""
    if target.address:
        yield target.address
        return
    process = subprocess.Popen(
        target.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        yield await asyncio.to_thread(_wait_for_address, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)


def _wait_for_address(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line.rstrip())
        found = _SERVING.search(line)
        if found:
            host = "127.0.0.1" if found.group(1) in ("0.0.0.0", "[::]", "") else found.group(1)
            # Keep draining its output, so the process never blocks on a full pipe.
            _drain(process)
            return f"{host}:{found.group(2)}"
        if time.monotonic() > deadline:
            break
    raise RuntimeError("the target's command did not say where it serves:\n" + "\n".join(seen[-20:]))


def _drain(process: subprocess.Popen[str]) -> None:
    def read() -> None:
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    threading.Thread(target=read, daemon=True).start()


async def run_cases(
    target: Target,
    address: str,
    cases: Iterable[Case],
    selection: Selection | None = None,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run each case in turn against the party at `address`; `progress` hears of each result."""
    selection = selection or Selection()
    results: list[Result] = []
    policy = Session.retry_policy()
    # With the tls feature, every case talks to the party with mutual TLS, as its peer would.
    tls = target.tls.client(target.party) if target.tls is not None else None
    async with (
        PeerClient(address, tls=tls, retry=policy) as peer,
        ControlClient(address, tls=tls, retry=policy) as control,
    ):
        for case in sorted(cases, key=lambda c: c.name):
            result = await _run_one(target, address, case, selection, peer, control)
            results.append(result)
            if progress is not None:
                progress(result)
    return results


async def _run_one(
    target: Target, address: str, case: Case, selection: Selection, peer: PeerClient, control: ControlClient
) -> Result:
    result = Result(case.name, case.requirements, SKIPPED)
    if not selection.chooses(case.name):
        result.message = "deselected"
        return result
    if case.feature not in target.features:
        result.message = f"the party does not claim the {case.feature} feature"
        return result
    begin = time.perf_counter()
    try:
        session = Session(target, address, peer, control)
        await session.reset()
        await asyncio.wait_for(case.run(session), case.timeout)
        result.status = PASSED
    except CaseSkippedError as skipped:
        result.status, result.message = SKIPPED, str(skipped)
    except CaseFailedError as failure:
        result.status = WARNING if case.should_only else FAILED
        result.expected, result.got = failure.expected, failure.got
    except TimeoutError:
        result.status, result.message = FAILED, f"no conclusion within {case.timeout:.0f} s"
    except RefusedError as error:
        result.status = WARNING if case.should_only else FAILED
        result.message = f"the party refused a step the case needed: {error.code.name}: {error.message}"
    except Exception as error:  # a case must report, never stop the run
        result.status, result.message = FAILED, f"{type(error).__name__}: {error}"
    result.seconds = time.perf_counter() - begin
    if case.name in target.known_failing:
        if result.status in (FAILED, WARNING):
            result.status = KNOWN
        elif result.status == PASSED:
            result.status = FAILED
            result.message = "on the known-failing list, but passed: take it off the list"
    return result
