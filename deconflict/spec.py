"""The requirements of the specification, read from its markdown chapters.

Each requirement is a markdown list item starting at the first column, such as::

    - **DCF-NTC-012** (MUST) A `SubmitNotice` for a `notice_id` that already exists ...

with its text continuing on indented lines. The chapters live in ``docs/spec/`` of a
source checkout and in ``deconflict/_spec/`` of an installed package; both are found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, cast, get_args

Level = Literal["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)

ID_PATTERN: Final = re.compile(r"DCF-(?P<area>[A-Z]+)-(?P<number>\d{3})")
"""A requirement ID as the specification writes it."""

CITATION_PATTERN: Final = re.compile(
    r"(?<![A-Za-z0-9])DCF[-_](?P<area>[A-Za-z]+)[-_](?P<number>\d{3})(?!\d)", re.IGNORECASE
)
"""A requirement ID as code may cite it: with hyphens, or with underscores in an identifier
(``DCF_NTC_012``, or ``dcf_ntc_012`` in a lower-case test name)."""

_ITEM = re.compile(
    r"^- \*\*(?P<id>DCF-[A-Z]+-\d{3})\*\* \((?P<level>MUST NOT|SHOULD NOT|MUST|SHOULD|MAY)\) (?P<text>\S.*)$"
)
_ITEM_START = re.compile(r"^- \*\*DCF")
_FENCE = re.compile(r"^\s*(```|~~~)")

SOURCE_SPEC: Final = Path("docs") / "spec"
PACKAGE_SPEC: Final = "_spec"


class SpecError(ValueError):
    """The specification's text breaks its own format (a malformed item, a repeated ID)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One numbered requirement."""

    id: str
    level: Level
    text: str
    chapter: str
    """The file name of the chapter that states it, e.g. "04-notice.md"."""

    @property
    def area(self) -> str:
        """The area of the ID, e.g. "NTC"."""
        return self.id.split("-")[1]

    @property
    def number(self) -> int:
        return int(self.id.split("-")[2])

    @property
    def normative(self) -> bool:
        """Whether a conforming implementation must meet it (MUST or MUST NOT)."""
        return self.level in ("MUST", "MUST NOT")


def normalize_id(cited: str) -> str:
    """A cited ID in the specification's form: "dcf_ntc_012" -> "DCF-NTC-012"."""
    match = CITATION_PATTERN.fullmatch(cited)
    if match is None:
        raise ValueError(f"{cited!r} is not a requirement ID")
    return f"DCF-{match['area'].upper()}-{match['number']}"


def cited_ids(text: str) -> set[str]:
    """Every requirement ID `text` cites, in the specification's form."""
    return {f"DCF-{m['area'].upper()}-{m['number']}" for m in CITATION_PATTERN.finditer(text)}


def parse_requirements(text: str, chapter: str) -> list[Requirement]:
    """The requirements of one chapter, in the order of the text.

    Lines inside fenced code blocks are skipped. A line that starts like a requirement
    but does not have its exact form raises SpecError, so a typo never hides a rule.
    """
    found: list[Requirement] = []
    current: tuple[str, Level, list[str]] | None = None
    fenced = False

    def close() -> None:
        nonlocal current
        if current is not None:
            found.append(Requirement(current[0], current[1], " ".join(current[2]), chapter))
            current = None

    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            close()
            fenced = not fenced
            continue
        if fenced:
            continue
        if _ITEM_START.match(line):
            close()
            match = _ITEM.match(line.rstrip())
            if match is None:
                raise SpecError(f"{chapter}:{number}: malformed requirement: {line.strip()}")
            current = (match["id"], cast(Level, match["level"]), [match["text"].strip()])
        elif current is not None and line.strip() and line[:1].isspace():
            current[2].append(line.strip())
        else:
            close()
    close()
    return found


def spec_directory(root: Path | None = None) -> Path:
    """The directory holding the chapters.

    `root` may be a source checkout (holding docs/spec), the installed package
    directory (holding _spec) or the chapters' directory itself. Without it, the
    package's own _spec is used when installed, else docs/spec of the checkout the
    package was imported from.
    """
    package = Path(__file__).resolve().parent
    if root is None:
        candidates = [package / PACKAGE_SPEC, package.parent / SOURCE_SPEC]
    else:
        candidates = [root / SOURCE_SPEC, root / PACKAGE_SPEC, root]
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"no specification found (looked in {tried})")


def chapter_files(directory: Path) -> list[Path]:
    """The markdown files of the specification, in name order (README.md included)."""
    return sorted(directory.glob("*.md"))


def iter_requirements(directory: Path) -> Iterable[Requirement]:
    """Every requirement of every file in `directory`, chapter by chapter, repeats included."""
    for path in chapter_files(directory):
        yield from parse_requirements(path.read_text(encoding="utf-8"), path.name)


def load_requirements(root: Path | None = None) -> dict[str, Requirement]:
    """Every requirement of the specification by ID, in the order of the text.

    Raises SpecError when an ID is defined twice or an item is malformed, and
    FileNotFoundError when the specification cannot be found (see spec_directory).
    """
    requirements: dict[str, Requirement] = {}
    for requirement in iter_requirements(spec_directory(root)):
        first = requirements.get(requirement.id)
        if first is not None:
            raise SpecError(f"{requirement.id} is defined in {first.chapter} and again in {requirement.chapter}")
        requirements[requirement.id] = requirement
    return requirements
