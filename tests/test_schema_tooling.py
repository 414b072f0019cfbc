"""The schemas pass buf's checks: STANDARD lint, canonical format, and no WIRE_JSON break against the baseline.

buf is the binary of the dev extra's buf-bin, found next to the running Python.
Every run is offline: proxies point at a closed port and the module cache is
empty, so a schema that needed a remote dependency would fail here, not in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "proto-baseline" / "deconflict.binpb"
NOTICE_PROTO = Path("proto/deconflict/v1/notice.proto")
# Nothing listens on port 9 (discard) here: any attempt to reach the network fails at once.
DEAD_PROXY = "http://127.0.0.1:9"


def find_buf() -> str:
    found = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    if found is None:
        pytest.fail(
            f"buf not found next to {sys.executable} nor on PATH: install the dev extra "
            "(pip install -e '.[dev]'), which brings the buf-bin package"
        )
    return found


@pytest.fixture(scope="module")
def buf(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run buf offline; returns its completed process (never raises on a non-zero exit)."""
    binary = find_buf()
    env = {
        **os.environ,
        "BUF_CACHE_DIR": str(tmp_path_factory.mktemp("buf-cache")),
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "ALL_PROXY": DEAD_PROXY,
        "NO_PROXY": "",
    }
    env.pop("BUF_TOKEN", None)

    def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return run


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {result.returncode}\n{result.stdout}{result.stderr}"


def test_buf_config_is_standard_wire_json_and_offline():
    config = (ROOT / "buf.yaml").read_text()
    lines = [line.split("#", 1)[0].rstrip() for line in config.splitlines()]
    lines = [line for line in lines if line]
    assert "version: v2" in lines
    assert re.search(r"^lint:\n  use:\n    - STANDARD$", "\n".join(lines), re.MULTILINE), "lint must use STANDARD"
    assert re.search(r"^breaking:\n  use:\n    - WIRE_JSON$", "\n".join(lines), re.MULTILINE), "breaking: WIRE_JSON"
    # Remote dependencies would make buf need the network.
    assert not any(line.startswith("deps:") for line in lines), "buf.yaml must declare no remote deps"
    assert not (ROOT / "buf.lock").exists()


def test_buf_lint(buf):
    result = buf("lint")
    assert result.returncode == 0, f"buf lint (STANDARD) found problems:\n{_output(result)}"


def test_buf_format(buf):
    result = buf("format", "--diff", "--exit-code")
    assert result.returncode == 0, f"the schemas are not in buf's format: run `buf format -w`\n{_output(result)}"


def test_baseline_holds_the_released_schemas():
    assert BASELINE.is_file(), f"{BASELINE.relative_to(ROOT)} is missing: scripts/update_baseline.py writes it"
    # A buf image is wire-compatible with a FileDescriptorSet.
    image = descriptor_pb2.FileDescriptorSet.FromString(BASELINE.read_bytes())
    files = {file.name: file for file in image.file}
    assert "deconflict/v1/notice.proto" in files
    assert "FlightNotice" in {message.name for message in files["deconflict/v1/notice.proto"].message_type}


def test_buf_breaking_against_baseline(buf):
    result = buf("breaking", "--against", str(BASELINE))
    assert result.returncode == 0, (
        "the schemas break wire or JSON compatibility with the released baseline "
        f"({BASELINE.relative_to(ROOT)}); add new fields and messages instead of changing old ones, "
        f"and reserve what you remove:\n{_output(result)}"
    )


def _mutated_copy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    shutil.copy2(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    path = tmp_path / NOTICE_PROTO
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is no longer in {NOTICE_PROTO} exactly once: update this test"
    path.write_text(text.replace(old, new))
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        pytest.param(
            "uint32 aircraft_count = 7;",
            "uint32 aircraft_count = 17;",
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            id="field-renumbered",
        ),
        pytest.param(
            "string remarks = 13;", "int64 remarks = 13;", "FIELD_WIRE_JSON_COMPATIBLE_TYPE", id="type-changed"
        ),
        # Same wire encoding, but proto3 JSON writes 64-bit integers as strings: a JSON break.
        pytest.param(
            "uint32 aircraft_count = 7;",
            "uint64 aircraft_count = 7;",
            "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            id="widened-to-64-bit",
        ),
        # Same wire encoding, but the JSON key changes.
        pytest.param("uint32 aircraft_count = 7;", "uint32 aircraft_total = 7;", "FIELD_SAME_JSON_NAME", id="renamed"),
    ],
)
def test_buf_breaking_catches_a_break(buf, tmp_path, old, new, rule):
    copy = _mutated_copy(tmp_path, old, new)
    result = buf("breaking", "--against", str(BASELINE), "--error-format", "json", cwd=copy)
    assert result.returncode != 0, f"buf breaking let a break through ({old!r} -> {new!r}):\n{_output(result)}"
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rule in {finding["type"] for finding in findings}, _output(result)
    assert {finding["path"] for finding in findings} == {str(NOTICE_PROTO)}, _output(result)


def test_buf_breaking_accepts_an_added_field(buf, tmp_path):
    # The control for the test above: the copy itself, with an additive change, passes.
    copy = _mutated_copy(tmp_path, "  string remarks = 13;\n", "  string remarks = 13;\n  string added = 14;\n")
    result = buf("breaking", "--against", str(BASELINE), cwd=copy)
    assert result.returncode == 0, _output(result)
