"""The golden test vectors in vectors/v1/ are current and mean what the manifest says.

- scripts/make_vectors.py, run again, writes exactly the committed files;
- every valid vector decodes, validates, re-encodes to the same bytes, and its proto3
  JSON parses to the same message;
- every invalid vector is refused with exactly the manifest's field path: bytes that
  do not decode as a whole (path "", DCF-ERR-004), a field by its protobuf path
  (DCF-ERR-003) otherwise;
- every message of the schema has a valid vector, and the manifest cites only
  requirements the specification defines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from pydantic import ValidationError

from deconflict import dsse
from deconflict.bridge.registry import UndecodableBytesError, binding, bindings
from deconflict.models.base import Message, field_violations
from deconflict.models.channel import Agreement
from deconflict.models.envelope import SignedPayload
from deconflict.spec import load_requirements

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors" / "v1"
GENERATOR = ROOT / "scripts" / "make_vectors.py"


@cache
def generator() -> ModuleType:
    """scripts/make_vectors.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("make_vectors", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
    return data


ENTRIES: list[dict[str, Any]] = manifest()["vectors"]
VALID = [entry for entry in ENTRIES if entry["expected"] == "valid"]
INVALID = [entry for entry in ENTRIES if entry["expected"] != "valid"]


def by_name(entries: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(entry, id=entry["name"]) for entry in entries]


def read(entry: dict[str, Any], kind: str) -> bytes:
    relative: str = entry["files"][kind]
    return (VECTORS / relative).read_bytes()


def refused_at(entry: dict[str, Any], message: ProtoMessage) -> list[str]:
    """The field paths at which validation refuses `message` (fails when it is accepted)."""
    with pytest.raises(ValidationError) as refusal:
        binding(entry["message_type"]).from_proto(message)
    return [path for path, _ in field_violations(refusal.value)]


# The committed files are exactly what the generator writes.


def test_regenerating_gives_the_committed_files(tmp_path: Path) -> None:
    make_vectors = generator()
    make_vectors.write(tmp_path, make_vectors.render(make_vectors.build_vectors()))
    assert make_vectors.differences(VECTORS, tmp_path) == [], "run `python scripts/make_vectors.py`"


def test_generating_twice_gives_the_same_bytes() -> None:
    make_vectors = generator()
    assert make_vectors.render(make_vectors.build_vectors()) == make_vectors.render(make_vectors.build_vectors())


# Valid vectors.


@pytest.mark.parametrize("entry", by_name(VALID))
def test_valid_vector(entry: dict[str, Any]) -> None:
    bound = binding(entry["message_type"])
    data = read(entry, "binpb")
    message = bound.parse(data)
    model = bound.from_proto(message)
    assert bound.encode(model) == data, "re-encoding the validated model must give the committed bytes"
    assert message.SerializeToString(deterministic=True) == data
    parsed = json_format.Parse(read(entry, "json"), bound.proto())
    assert parsed == message, "the JSON must parse to the same message as the binary"
    assert bound.from_proto(parsed) == model


# Invalid vectors.


@pytest.mark.parametrize("entry", by_name(INVALID))
def test_invalid_vector(entry: dict[str, Any]) -> None:
    expected = entry["expected"]
    assert expected["code"] == "INVALID_ARGUMENT"
    bound = binding(entry["message_type"])
    data = read(entry, "binpb")
    if expected["kind"] == "decode":
        # DCF-ERR-004: undecodable bytes are refused as a whole, never with another exception.
        assert expected["field"] == ""
        assert "json" not in entry["files"], "bytes that do not decode have no JSON form"
        with pytest.raises(UndecodableBytesError):
            bound.parse(data)
        return
    assert expected["kind"] == "validate"
    message = bound.parse(data)
    assert refused_at(entry, message) == [expected["field"]]
    if "json" in entry["files"]:
        parsed = json_format.Parse(read(entry, "json"), bound.proto())
        assert parsed.SerializeToString(deterministic=True) == data, "the JSON must be the same broken message"
        assert refused_at(entry, parsed) == [expected["field"]]


# The manifest.


def test_manifest_lists_every_file_once() -> None:
    listed = [path for entry in ENTRIES for path in entry["files"].values()]
    assert len(listed) == len(set(listed))
    on_disk = {str(path.relative_to(VECTORS)) for path in VECTORS.rglob("*") if path.is_file()}
    assert on_disk == {*listed, "manifest.json"}


def test_manifest_entries_are_well_formed() -> None:
    data = manifest()
    assert data["format_version"] == 1
    assert data["package"] == "deconflict.v1"
    names = [entry["name"] for entry in ENTRIES]
    assert len(names) == len(set(names))
    known = {found.full_name for found in bindings()}
    for entry in ENTRIES:
        assert set(entry) == {"name", "message_type", "files", "expected", "description", "requirements"}
        assert entry["message_type"] in known
        folder = "valid" if entry["expected"] == "valid" else "invalid"
        assert entry["files"]["binpb"] == f"{folder}/{entry['name']}.binpb"
        assert entry["files"].get("json", f"{folder}/{entry['name']}.json") == f"{folder}/{entry['name']}.json"
        assert entry["description"]
        assert "\n" not in entry["description"]
        if folder == "valid":
            assert entry["name"].split("-")[0] == entry["message_type"].rsplit(".", 1)[1]
            assert "json" in entry["files"]
        else:
            assert set(entry["expected"]) == {"code", "field", "kind"}


def test_every_message_of_the_schema_has_a_valid_vector() -> None:
    covered = {entry["message_type"] for entry in VALID}
    assert {found.full_name for found in bindings()} - covered == set()


def test_enough_invalid_vectors_of_both_kinds() -> None:
    kinds = [entry["expected"]["kind"] for entry in INVALID]
    assert len(INVALID) >= 50
    assert kinds.count("decode") >= 4
    assert {entry["message_type"] for entry in INVALID} >= {
        "deconflict.v1.FlightNotice",
        "deconflict.v1.Envelope",
        "deconflict.v1.OperationalResponse",
        "deconflict.v1.ConferenceAnswer",
        "deconflict.v1.Agreement",
    }


def test_manifest_cites_only_requirements_of_the_specification() -> None:
    requirements = load_requirements()
    for entry in ENTRIES:
        assert entry["requirements"], f"{entry['name']} cites no requirement"
        assert entry["requirements"] == sorted(set(entry["requirements"]))
        unknown = set(entry["requirements"]) - set(requirements)
        assert not unknown, f"{entry['name']} cites requirements docs/spec does not define: {sorted(unknown)}"


# The scenario is consistent: the signatures verify, the hashes are the hashes of the bytes.


def _valid_models() -> Iterator[tuple[str, Message]]:
    for entry in VALID:
        yield entry["name"], binding(entry["message_type"]).decode(read(entry, "binpb"))


def _signed_payloads(value: Any) -> Iterator[SignedPayload]:
    if isinstance(value, SignedPayload):
        yield value
    elif isinstance(value, Message):
        for name in type(value).model_fields:
            yield from _signed_payloads(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            yield from _signed_payloads(item)


def test_signatures_verify_with_the_agreement_keys() -> None:
    """DCF-SEC-006, DCF-SEC-007: each signature is Ed25519 over PAE(payload_type, payload) by an agreement key."""
    agreement = binding("deconflict.v1.Agreement").decode((VECTORS / "valid" / "Agreement.binpb").read_bytes())
    assert isinstance(agreement, Agreement)
    keys = {key.key_id: key.ed25519_public_key for key in agreement.keys}
    checked = 0
    for name, model in _valid_models():
        for signed in _signed_payloads(model):
            assert signed.signatures, f"{name}: unsigned payload"
            for signature in signed.signatures:
                assert dsse.verify(keys[signature.key_id], signed.payload_type, signed.payload, signature.signature), (
                    name
                )
                checked += 1
    assert checked >= 20


def test_agreement_hash_is_the_hash_of_the_agreement_bytes() -> None:
    """DCF-CHN-001: Hello and GetAgreement carry the SHA-256 of the exact agreement bytes."""
    agreement = (VECTORS / "valid" / "Agreement.binpb").read_bytes()
    served = binding("deconflict.v1.GetAgreementResponse").decode(
        (VECTORS / "valid" / "GetAgreementResponse.binpb").read_bytes()
    )
    hello = binding("deconflict.v1.Hello").decode((VECTORS / "valid" / "Hello.binpb").read_bytes())
    assert served.agreement == agreement
    assert served.agreement_hash == hello.agreement_hash == hashlib.sha256(agreement).digest()
