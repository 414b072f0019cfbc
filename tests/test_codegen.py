"""The committed generated code is exactly what scripts/generate_code.py makes from proto/, and runs on upb."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from google.protobuf.internal import api_implementation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from generate_code import PACKAGES as GENERATED  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_generated_code_is_up_to_date(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_code.py"), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"scripts/generate_code.py failed:\n{result.stdout}{result.stderr}"
    problems: list[str] = []
    for package in GENERATED:
        fresh, committed = _files(tmp_path / package), _files(ROOT / package)
        assert fresh, f"scripts/generate_code.py wrote nothing into {package}"
        problems += [
            f"{package}/{name}: differs"
            for name in sorted(fresh.keys() & committed.keys())
            if fresh[name] != committed[name]
        ]
        problems += [f"{package}/{name}: generated, not committed" for name in sorted(fresh.keys() - committed.keys())]
        problems += [f"{package}/{name}: committed, not generated" for name in sorted(committed.keys() - fresh.keys())]
    assert not problems, (
        "the committed generated code is not what proto/ gives: run `python scripts/generate_code.py` "
        "(only generated code belongs in the generated packages)\n  " + "\n  ".join(problems)
    )


def test_protobuf_backend_is_upb():
    # The pure-Python backend is about 130 times slower on our notices: never fall back to it silently.
    assert api_implementation.Type() == "upb", (
        f"protobuf runs on the {api_implementation.Type()!r} backend, not upb: "
        "check PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION and that protobuf was installed from a binary wheel"
    )
