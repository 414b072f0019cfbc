"""Write the buf baseline image: the schemas as released, which `buf breaking` checks against.

Usage: python scripts/update_baseline.py

Run it only when a release is cut, after the release's schemas have passed the
test run: it makes the current proto/ the reference that every later change must
stay wire- and JSON-compatible with (the WIRE_JSON rules of buf.yaml). Running it
to make a failing `buf breaking` pass defeats the check; a deliberate break needs
a new package version (deconflict.v2), not a new baseline.

The image leaves out source info (comments and positions): `buf breaking` compares
descriptors only, and the file stays small. buf builds it offline, deterministically.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "proto-baseline" / "deconflict.binpb"


def find_buf() -> str:
    """The buf binary of the running Python's environment (the dev extra's buf-bin), else the one on PATH."""
    found = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    if found is None:
        raise SystemExit(
            "buf not found: install the project's dev extra (pip install -e '.[dev]'), which brings buf-bin"
        )
    return found


def main() -> int:
    buf = find_buf()
    # A baseline must itself be clean: never record a schema that fails the lint.
    lint = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True, check=False)
    if lint.returncode != 0:
        print(lint.stdout + lint.stderr, file=sys.stderr)
        print("buf lint fails: fix the schemas before recording them as the baseline", file=sys.stderr)
        return 1
    BASELINE.parent.mkdir(exist_ok=True)
    subprocess.run([buf, "build", "--exclude-source-info", "-o", str(BASELINE)], cwd=ROOT, check=True)
    digest = hashlib.sha256(BASELINE.read_bytes()).hexdigest()
    print(f"wrote {BASELINE.relative_to(ROOT)} ({BASELINE.stat().st_size} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
