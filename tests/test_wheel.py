"""The wheel an integrator installs: its contents, and a clean install that works outside the source tree.

Part of the normal run (about 20 s here). It needs the package index for the
build backend and the runtime dependencies (the pip cache serves repeats), so it
is marked `network`: `pytest -m "not network"` leaves it out on a machine offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "spec"
TIMEOUT = 300

pytestmark = pytest.mark.network

CHECK = textwrap.dedent(
    """
    from datetime import UTC, datetime
    from importlib import resources
    from pathlib import Path
    import sys

    import pydantic
    from google.protobuf.internal import api_implementation
    from google.protobuf.timestamp_pb2 import Timestamp

    import deconflict
    from deconflict.models import geometry
    from deconflict.v1 import geometry_pb2, notice_pb2

    # The installed package, not a source tree.
    assert Path(deconflict.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), deconflict.__file__
    assert deconflict.__version__ != "0.0.0"
    assert api_implementation.Type() == "upb", api_implementation.Type()

    def ts(text):
        stamp = Timestamp()
        stamp.FromDatetime(datetime.fromisoformat(text))
        return stamp

    corners = [(35.10, 36.60), (35.30, 36.60), (35.30, 36.90), (35.10, 36.90)]
    notice = notice_pb2.FlightNotice(
        notice_id="RU-2015-10-01-0001",
        version=1,
        state=notice_pb2.NOTICE_STATE_ACTIVE,
        owner="ru-mod",
        volumes=[
            geometry_pb2.Volume4D(
                volume=geometry_pb2.Volume3D(
                    polygon=geometry_pb2.Polygon(
                        vertices=[geometry_pb2.LatLng(latitude=lat, longitude=lng) for lat, lng in corners]
                    ),
                    altitude_lower=geometry_pb2.Altitude(
                        value=50,
                        reference=geometry_pb2.ALTITUDE_REFERENCE_STD,
                        unit=geometry_pb2.ALTITUDE_UNIT_FLIGHT_LEVEL,
                    ),
                    altitude_upper=geometry_pb2.Altitude(
                        value=250,
                        reference=geometry_pb2.ALTITUDE_REFERENCE_STD,
                        unit=geometry_pb2.ALTITUDE_UNIT_FLIGHT_LEVEL,
                    ),
                ),
                time_start=ts("2015-10-01T06:00:00+00:00"),
                time_end=ts("2015-10-01T08:00:00+00:00"),
            )
        ],
        aircraft_category=notice_pb2.AIRCRAFT_CATEGORY_FIXED_WING,
        aircraft_count=4,
        frequency_ids=["guard-121.5"],
        category=notice_pb2.NOTICE_CATEGORY_ROUTINE,
    )
    data = notice.SerializeToString()
    back = notice_pb2.FlightNotice.FromString(data)
    assert back == notice
    assert back.volumes[0].volume.WhichOneof("outline") == "polygon"

    point = geometry.LatLng(latitude=35.13, longitude=36.75)
    assert point.longitude == 36.75
    try:
        geometry.LatLng(latitude=91.0, longitude=36.75)
    except pydantic.ValidationError:
        pass
    else:
        raise AssertionError("a latitude past 90 was accepted")

    schema = resources.files("deconflict") / "proto" / "deconflict" / "v1" / "notice.proto"
    assert "message FlightNotice" in schema.read_text()

    # The conformance suite finds the vectors it sends in the installed package.
    from deconflict.conformance.cases.codec import vectors_folder
    folder = vectors_folder()
    assert folder is not None and folder.is_relative_to(Path(deconflict.__file__).resolve().parent), folder
    assert any(folder.rglob("*.json")), folder
    print("wheel ok:", len(data), "bytes")
    """
)


def _run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = {name: (ROOT / name).exists() for name in ("build", "dist")}
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT], cwd=out)
    after = {name: (ROOT / name).exists() for name in ("build", "dist")}
    assert after == before, "building the wheel left build/ or dist/ in the work tree"
    wheels = list(out.glob("deconflict-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    protos = sorted(p.relative_to(ROOT / "proto").as_posix() for p in (ROOT / "proto").rglob("*.proto"))
    assert protos
    for proto in protos:
        module = proto.removesuffix(".proto")
        assert f"deconflict/proto/{proto}" in names, f"{proto} is not in the wheel as package data"
        assert f"{module}_pb2.py" in names
        assert f"{module}_pb2.pyi" in names
        if module.endswith("_service"):
            assert f"{module}_pb2_grpc.py" in names
            assert f"{module}_pb2_grpc.pyi" in names
    assert "deconflict/py.typed" in names, "without it type checkers ignore the package's annotations (PEP 561)"
    assert "deconflict/v1/py.typed" in names
    assert "deconflict/models/geometry.py" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # The requirement list travels with the package, for the conformance suite.
    if SPEC.is_dir():
        for path in SPEC.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"deconflict/_spec/{path.relative_to(SPEC).as_posix()}" in names
    # So do the golden vectors, which the suite's codec cases send through the wire.
    vectors = ROOT / "vectors"
    for path in vectors.rglob("*"):
        if path.is_file():
            assert f"deconflict/_vectors/{path.relative_to(vectors).as_posix()}" in names


def test_wheel_installs_and_works_outside_the_tree(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    # Dependencies come from the package index, through the pip cache.
    _run(
        [python, "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check", wheel],
        env=env,
        cwd=tmp_path,
    )
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    result = _run([python, "-I", script], env=env, cwd=tmp_path)
    assert "wheel ok" in result.stdout
