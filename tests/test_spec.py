"""The specification in docs/spec: its format, its coverage of the schemas, and every citation of it.

The last test guards the whole project: a requirement ID cited anywhere under tests/ or
deconflict/ (as DCF-NTC-012, or DCF_NTC_012 in a test name) must be defined by the spec.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from deconflict import spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "spec"
PROTO = ROOT / "proto" / "deconflict" / "v1"
CITING = (ROOT / "tests", ROOT / "deconflict")
SKIPPED_DIRS = {"__pycache__", "_spec"}
MIN_REQUIREMENTS = 130

# Built from parts, so that this file cites no ID the spec lacks.
PREFIX = "DCF"


def _all_requirements() -> list[spec.Requirement]:
    return list(spec.iter_requirements(SPEC))


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(?P<body>.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"README.md has no section {heading!r}"
    return match["body"]


def _withdrawn() -> set[str]:
    """The IDs README.md lists as withdrawn: never defined again, never reused."""
    section = _section((SPEC / "README.md").read_text(), "Withdrawn requirements")
    return {match.group(0) for match in spec.ID_PATTERN.finditer(section)}


def test_spec_is_found_in_the_source_checkout() -> None:
    assert spec.spec_directory() == SPEC
    assert spec.spec_directory(ROOT) == SPEC
    assert spec.spec_directory(SPEC) == SPEC


def test_spec_is_found_in_an_installed_package(tmp_path: Path) -> None:
    package = tmp_path / "deconflict"
    shutil.copytree(SPEC, package / spec.PACKAGE_SPEC)
    assert spec.spec_directory(package) == package / spec.PACKAGE_SPEC
    assert spec.load_requirements(package) == spec.load_requirements()


def test_missing_spec_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        spec.spec_directory(tmp_path)


def test_ids_are_unique() -> None:
    counts = Counter(requirement.id for requirement in _all_requirements())
    repeated = sorted(identifier for identifier, count in counts.items() if count > 1)
    assert not repeated, f"defined more than once: {repeated}"


def test_there_are_enough_requirements() -> None:
    assert len(spec.load_requirements()) >= MIN_REQUIREMENTS


def test_levels_and_texts_are_valid() -> None:
    for requirement in _all_requirements():
        assert requirement.level in spec.LEVELS, requirement.id
        assert spec.ID_PATTERN.fullmatch(requirement.id), requirement.id
        assert len(requirement.text) > 20, f"{requirement.id} says too little: {requirement.text!r}"


def test_each_area_is_numbered_from_001_without_gaps_in_text_order() -> None:
    numbers: dict[str, list[int]] = defaultdict(list)
    for requirement in _all_requirements():
        numbers[requirement.area].append(requirement.number)
    withdrawn = _withdrawn()
    for area, found in numbers.items():
        assert found == sorted(found), f"{area} is not numbered in the order of the text: {found}"
        expected = set(range(1, max(found) + 1))
        missing = {n for n in expected - set(found) if f"{PREFIX}-{area}-{n:03d}" not in withdrawn}
        assert not missing, f"{area} skips {sorted(missing)} (a withdrawn ID is listed in README.md)"


def test_withdrawn_ids_are_not_defined() -> None:
    assert not _withdrawn() & set(spec.load_requirements())


def test_each_area_is_listed_in_the_readme_and_stays_in_one_chapter() -> None:
    areas_table = _section((SPEC / "README.md").read_text(), "Areas")
    listed = set(re.findall(r"^\| ([A-Z]+) \|", areas_table, re.MULTILINE))
    chapters: dict[str, set[str]] = defaultdict(set)
    for requirement in _all_requirements():
        chapters[requirement.area].add(requirement.chapter)
    assert set(chapters) <= listed, f"areas missing from README.md: {sorted(set(chapters) - listed)}"
    split = {area: sorted(files) for area, files in chapters.items() if len(files) > 1}
    assert not split, f"areas spread over several chapters: {split}"


def test_every_chapter_listed_in_the_readme_exists_and_every_chapter_is_listed() -> None:
    chapters = _section((SPEC / "README.md").read_text(), "Chapters")
    listed = re.findall(r"\]\(([^)]+\.md)\)", chapters)
    assert listed, "README.md lists no chapter"
    for name in listed:
        assert (SPEC / name).is_file(), f"README.md lists {name}, which does not exist"
    on_disk = {path.name for path in spec.chapter_files(SPEC)} - {"README.md"}
    assert on_disk == set(listed), f"chapters not listed in README.md: {sorted(on_disk - set(listed))}"


def test_readme_states_no_requirement() -> None:
    assert spec.parse_requirements((SPEC / "README.md").read_text(), "README.md") == []


def _proto_names(kind: str) -> set[str]:
    pattern = re.compile(rf"^\s*{kind}\s+([A-Za-z_]\w*)\s*\{{", re.MULTILINE)
    names: set[str] = set()
    for path in sorted(PROTO.glob("*.proto")):
        names.update(pattern.findall(path.read_text()))
    return names


def _named(names: set[str]) -> set[str]:
    texts = " ".join(requirement.text for requirement in _all_requirements())
    return {name for name in names if re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", texts)}


def test_every_message_of_the_schema_is_named_by_a_requirement() -> None:
    messages = _proto_names("message")
    assert len(messages) > 50, "the .proto files were not found or not parsed"
    unnamed = sorted(messages - _named(messages))
    assert not unnamed, f"messages no requirement names: {unnamed}"


def test_every_enum_of_the_schema_is_named_by_a_requirement() -> None:
    enums = _proto_names("enum")
    assert enums, "the .proto files were not found or not parsed"
    # An enum is named by its type or by one of its values (NOTICE_STATE_ACTIVE names NoticeState).
    texts = " ".join(requirement.text for requirement in _all_requirements())
    unnamed = sorted(
        name
        for name in enums
        if name not in _named({name}) and re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() + "_" not in texts
    )
    assert not unnamed, f"enums no requirement names: {unnamed}"


def test_every_id_cited_inside_the_spec_exists() -> None:
    defined = set(spec.load_requirements()) | _withdrawn()
    for path in spec.chapter_files(SPEC):
        unknown = sorted(spec.cited_ids(path.read_text()) - defined)
        assert not unknown, f"{path.name} cites IDs the spec does not define: {unknown}"


def _citing_files() -> list[Path]:
    files: list[Path] = []
    for top in CITING:
        for path in sorted(top.rglob("*")):
            if path.is_file() and not SKIPPED_DIRS & set(path.relative_to(top).parts) and path.suffix != ".pyc":
                files.append(path)
    return files


def test_every_id_cited_in_the_project_exists() -> None:
    defined = set(spec.load_requirements()) | _withdrawn()
    unknown: dict[str, list[str]] = {}
    for path in _citing_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        missing = sorted(spec.cited_ids(text) - defined)
        if missing:
            unknown[str(path.relative_to(ROOT))] = missing
    assert not unknown, f"IDs cited but not defined in docs/spec: {unknown}"


def test_citations_are_recognised_in_every_form() -> None:
    area, number = "NTC", "012"
    expected = {f"{PREFIX}-{area}-{number}"}
    assert spec.cited_ids(f"see {PREFIX}-{area}-{number}.") == expected
    assert spec.cited_ids(f"def test_{PREFIX}_{area}_{number}_x(): ...") == expected
    assert spec.cited_ids(f"def test_{PREFIX.lower()}_{area.lower()}_{number}(): ...") == expected
    assert spec.cited_ids(f"X{PREFIX}-{area}-{number}") == set()
    assert spec.cited_ids(f"{PREFIX}-{area}-{number}4") == set()
    assert spec.normalize_id(f"{PREFIX.lower()}_{area.lower()}_{number}") == f"{PREFIX}-{area}-{number}"


def test_parser_reads_continuation_lines_and_skips_code_blocks() -> None:
    text = "\n".join(
        [
            "# Chapter",
            f"- **{PREFIX}-TST-001** (MUST NOT) First line",
            "  continues here.",
            "",
            "```",
            f"- **{PREFIX}-TST-009** (MUST) Only an example.",
            "```",
            f"- **{PREFIX}-TST-002** (MAY) Second.",
            "Prose after it.",
        ]
    )
    found = spec.parse_requirements(text, "99-test.md")
    assert [(r.id, r.level, r.text, r.chapter) for r in found] == [
        (f"{PREFIX}-TST-001", "MUST NOT", "First line continues here.", "99-test.md"),
        (f"{PREFIX}-TST-002", "MAY", "Second.", "99-test.md"),
    ]
    assert found[0].area == "TST"
    assert found[0].number == 1
    assert found[0].normative
    assert not found[1].normative


@pytest.mark.parametrize(
    "line",
    [
        f"- **{PREFIX}-TST-001** (MUSTN'T) A bad level.",
        f"- **{PREFIX}-TST-01** (MUST) A short number.",
        f"- **{PREFIX}-tst-001** (MUST) A lower-case area.",
        f"- **{PREFIX}-TST-001** MUST A level without parentheses.",
    ],
)
def test_parser_refuses_malformed_items(line: str) -> None:
    with pytest.raises(spec.SpecError):
        spec.parse_requirements(line, "99-test.md")


def test_loader_refuses_an_id_defined_twice(tmp_path: Path) -> None:
    shutil.copytree(SPEC, tmp_path / "spec")
    first = next(iter(spec.load_requirements().values()))
    with (tmp_path / "spec" / "99-extra.md").open("w") as extra:
        extra.write(f"- **{first.id}** (MAY) The same ID again, in another chapter.\n")
    with pytest.raises(spec.SpecError, match=first.id):
        spec.load_requirements(tmp_path / "spec")
