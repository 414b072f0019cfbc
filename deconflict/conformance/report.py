"""The suite's reports: text (ending `N passed, N failed, N skipped`), JSON, JUnit XML, the requirement table
and the coverage view (MUST requirements that no case checks)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from xml.etree import ElementTree

from rich.table import Table

from deconflict.conformance.case import Case
from deconflict.conformance.runner import FAILED, KNOWN, PASSED, SKIPPED, WARNING, Result
from deconflict.spec import Requirement

_MARKS = {PASSED: "PASS", FAILED: "FAIL", WARNING: "WARN", KNOWN: "KNOWN", SKIPPED: "SKIP"}


def summary_line(results: Sequence[Result]) -> str:
    count = {status: sum(r.status == status for r in results) for status in _MARKS}
    return f"{count[PASSED]} passed, {count[FAILED]} failed, {count[SKIPPED]} skipped"


def text(results: Sequence[Result], *, verbose: bool = False) -> str:
    """One line per case (skipped ones only when `verbose`), the details of failures and warnings, the totals."""
    lines = []
    for result in results:
        if result.status == SKIPPED and not verbose:
            continue
        ids = ", ".join(result.requirements)
        lines.append(f"{_MARKS[result.status]:5} {result.name} ({ids}) {result.seconds:.2f}s")
        if result.status in (FAILED, WARNING, KNOWN):
            if result.expected or result.got:
                lines.append(f"      expected: {result.expected}")
                lines.append(f"      got:      {result.got}")
            if result.message:
                lines.append(f"      {result.message}")
    warnings = sum(r.status == WARNING for r in results)
    known = sum(r.status == KNOWN for r in results)
    if warnings or known:
        lines.append(f"{warnings} warning(s) on SHOULD requirements, {known} known failure(s)")
    lines.append(summary_line(results))
    return "\n".join(lines)


def as_json(results: Sequence[Result]) -> str:
    cases = [
        {
            "name": r.name,
            "requirements": list(r.requirements),
            "status": r.status,
            "duration_s": round(r.seconds, 4),
            "expected": r.expected,
            "got": r.got,
            "message": r.message,
        }
        for r in results
    ]
    totals = {status: sum(r.status == status for r in results) for status in _MARKS}
    return json.dumps({"cases": cases, "totals": totals, "summary": summary_line(results)}, indent=2)


def junit(results: Sequence[Result], suite_name: str = "deconflict-conformance") -> str:
    suite = ElementTree.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(results)),
        failures=str(sum(r.status == FAILED for r in results)),
        skipped=str(sum(r.status in (SKIPPED, KNOWN) for r in results)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        element = ElementTree.SubElement(
            suite, "testcase", classname="conformance", name=r.name, time=f"{r.seconds:.3f}"
        )
        ElementTree.SubElement(element, "properties").extend(
            ElementTree.Element("property", name="requirement", value=rid) for rid in r.requirements
        )
        detail = "\n".join(part for part in (f"expected: {r.expected}" if r.expected else "",
                                             f"got: {r.got}" if r.got else "", r.message) if part)  # fmt: skip
        if r.status == FAILED:
            ElementTree.SubElement(
                element, "failure", message=detail.splitlines()[0] if detail else "failed"
            ).text = detail
        elif r.status in (SKIPPED, KNOWN):
            ElementTree.SubElement(element, "skipped", message=r.message or r.status)
        elif r.status == WARNING:
            ElementTree.SubElement(element, "system-out").text = f"warning (SHOULD): {detail}"
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def requirement_table(results: Sequence[Result], requirements: dict[str, Requirement]) -> Table:
    """Requirement by requirement: its level, the cases that check it, and the worst of their statuses."""
    order = [FAILED, WARNING, KNOWN, PASSED, SKIPPED]
    by_requirement: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        for rid in result.requirements:
            by_requirement[rid].append(result)
    table = Table(title="conformance, requirement by requirement")
    for column in ("requirement", "level", "status", "cases"):
        table.add_column(column)
    for rid in sorted(by_requirement):
        found = by_requirement[rid]
        worst = min((r.status for r in found), key=order.index)
        style = {FAILED: "red", WARNING: "yellow", PASSED: "green"}.get(worst, "dim")
        level = requirements[rid].level if rid in requirements else "?"
        table.add_row(rid, level, f"[{style}]{_MARKS[worst]}[/]", ", ".join(r.name for r in found))
    return table


def uncovered(cases: Iterable[Case], requirements: dict[str, Requirement]) -> list[str]:
    """MUST and MUST NOT requirements that no case cites."""
    cited = {rid for case in cases for rid in case.requirements}
    return sorted(rid for rid, req in requirements.items() if req.level.startswith("MUST") and rid not in cited)
