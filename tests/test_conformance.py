"""The conformance suite: it passes against the reference node, catches every faulty variant, runs through
pytest case by case, and its command line works against a node started by the suite.

Every case of the suite is also a pytest test here (`test_case[NAME]`), against a reference node started for
the module, or against `--conformance-target FILE`.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from xml.etree import ElementTree

import grpc
import pytest

from deconflict.client.peer import PeerClient
from deconflict.client.retry import RefusedError
from deconflict.conformance.case import CASES, all_cases
from deconflict.conformance.report import as_json, junit, text, uncovered
from deconflict.conformance.runner import FAILED, PASSED, SKIPPED, Result, Selection, run_cases
from deconflict.conformance.session import Session
from deconflict.conformance.target import Target, load_target, packaged_agreement, packaged_test_key
from deconflict.node.config import load_config
from deconflict.node.faults import OVER_TLS as FAULTS_OVER_TLS
from deconflict.node.faults import VIOLATES, Fault
from deconflict.node.server import NodeServer
from deconflict.security.credentials import ClientTls
from deconflict.security.identity import Identity, Kind
from deconflict.security.pki import certificate_pem, issue, key_pem
from deconflict.spec import load_requirements
from tests.nodes import make_pki

CLI = [sys.executable, "-m", "deconflict"]


PARTY, SUITE, BYSTANDER = "party-under-test", "conformance-suite", "conformance-bystander"


def write_node(folder: Path, faults: tuple[Fault, ...] = (), *, tls: bool = False) -> Path:
    """A reference node's files for the conformance channel, with the test-control API and `faults`: plaintext,
    or with `tls` mutual TLS over certificates made in folder/pki, the target claiming the tls feature."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agreement.toml").write_bytes(packaged_agreement().read_bytes())
    key = packaged_test_key("party-under-test")
    (folder / key.name).write_bytes(key.read_bytes())
    listed = ", ".join(f'"{fault.value}"' for fault in faults)
    if tls:
        make_pki(folder / "pki", (PARTY, SUITE))
        security = (
            f'[tls]\ncertificate = "pki/{PARTY}/node.crt"\nkey = "pki/{PARTY}/node.key"\nca = "pki/{PARTY}/ca.crt"\n\n'
        )
        peer_ca = f'peer_ca = "pki/{SUITE}/ca.crt"\n'
        clients = f'clients = ["urn:deconflict:party:{SUITE}"]\n'
        features = '["core", "streaming", "signing", "journal", "tls"]'
        # A second channel, whose peer the suite's CA vouches for too: the suite's certificates naming that party
        # are authenticated, and must still be refused on the suite's channel (DCF-SEC-003, DCF-SEC-004).
        agreement = packaged_agreement().read_text().replace(SUITE, BYSTANDER)
        (folder / "bystander.toml").write_text(agreement)
        peer_ca += (
            f'\n[[channels]]\npeer = "{BYSTANDER}"\npeer_address = ""\nagreement = "bystander.toml"\n'
            f'peer_ca = "pki/{SUITE}/ca.crt"\n'
        )
        suite = (
            f'\n[tls]\ncertificate = "pki/{SUITE}/node.crt"\nkey = "pki/{SUITE}/node.key"\n'
            f'party_ca = "pki/{PARTY}/ca.crt"\nca = "pki/{SUITE}/ca.crt"\nca_key = "pki/{SUITE}/ca.key"\n'
        )
    else:
        security, peer_ca, clients, features, suite = (
            "insecure = true\n\n",
            "",
            "",
            '["core", "streaming", "signing", "journal"]',
            "",
        )
    (folder / "node.toml").write_text(
        f'party = "{PARTY}"\nlisten = "127.0.0.1:0"\njournal = "node.journal"\n{security}'
        f'[[channels]]\npeer = "{SUITE}"\npeer_address = ""\nagreement = "agreement.toml"\n{peer_ca}\n'
        f'[[signing.keys]]\nkey_id = "{PARTY}/test-key-1"\nfile = "{key.name}"\n\n'
        f"[testing]\nenabled = true\nfaults = [{listed}]\n{clients}"
    )
    (folder / "target.toml").write_text(
        f'party = "{PARTY}"\nagreement = "agreement.toml"\nfeatures = {features}\naddress = "127.0.0.1:1"\n{suite}'
    )
    return folder


@asynccontextmanager
async def reference_node(
    folder: Path, faults: tuple[Fault, ...] = (), *, tls: bool = False
) -> AsyncIterator[tuple[Target, str]]:
    write_node(folder, faults, tls=tls)
    server = NodeServer(load_config(folder / "node.toml"))
    port = await server.start()
    try:
        yield load_target(folder / "target.toml"), f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=0)


def run_suite(
    folder: Path, faults: tuple[Fault, ...] = (), cited: tuple[str, ...] = (), *, tls: bool = False
) -> list[Result]:
    """Every case (or those citing one of `cited`) against a reference node with `faults` (over mutual TLS with
    `tls`)."""
    cases = [c for c in all_cases().values() if not cited or set(c.requirements) & set(cited)]

    async def go() -> list[Result]:
        async with reference_node(folder, faults, tls=tls) as (target, address):
            return await run_cases(target, address, cases)

    return asyncio.run(go())


def test_the_reference_node_passes_every_case_dcf_gen_013(tmp_path: Path) -> None:
    results = run_suite(tmp_path)
    # Skipped: cases of features the reference node does not claim yet (tls).
    failed = [f"{r.name}: {r.expected} / {r.got} {r.message}" for r in results if r.status not in (PASSED, SKIPPED)]
    assert not failed, "\n".join(failed)
    assert len(results) == len(all_cases()) >= 19


# Over mutual TLS: the tls cases, and the cases in which the party calls the suite (a listener of its own).
OVER_TLS = ("security.", "channel.party_says_hello", "envelope.outbox_", "overview.")


def test_the_reference_node_with_mutual_tls_passes_the_tls_cases_dcf_sec_001_dcf_sec_004(tmp_path: Path) -> None:
    cases = [c for c in all_cases().values() if c.name.startswith(OVER_TLS)]
    assert sum(c.feature == "tls" for c in cases) >= 6

    async def go() -> list[Result]:
        async with reference_node(tmp_path, tls=True) as (target, address):
            return await run_cases(target, address, cases)

    results = asyncio.run(go())
    failed = [f"{r.name}: {r.expected} / {r.got} {r.message}" for r in results if r.status != PASSED]
    assert not failed, "\n".join(failed)


def test_the_tls_cases_are_skipped_for_a_party_that_does_not_claim_tls(tmp_path: Path) -> None:
    async def go() -> list[Result]:
        async with reference_node(tmp_path) as (target, address):
            return await run_cases(target, address, all_cases().values(), Selection(only=["security.*"]))

    results = [r for r in asyncio.run(go()) if r.name.startswith("security.")]
    assert len(results) >= 6
    assert {(r.status, r.message) for r in results} == {(SKIPPED, "the party does not claim the tls feature")}


@pytest.mark.parametrize("fault", list(Fault), ids=[fault.value for fault in Fault])
def test_every_faulty_variant_is_caught_naming_the_requirement_it_breaks(tmp_path: Path, fault: Fault) -> None:
    # The cases that cite what the variant breaks: the whole suite against all of them takes over ten minutes.
    # Over mutual TLS for the variants whose rule only an authenticated caller can break.
    results = run_suite(tmp_path, (fault,), VIOLATES[fault], tls=fault in FAULTS_OVER_TLS)
    failed = [r for r in results if r.status == FAILED]
    naming = [r.name for r in failed if set(r.requirements) & set(VIOLATES[fault])]
    assert naming, (
        f"{fault.value} was not caught by a case citing {VIOLATES[fault]}; failed: {[r.name for r in failed]}"
    )


def test_every_case_cites_only_requirements_of_the_specification() -> None:
    requirements = load_requirements()
    for case in all_cases().values():
        assert case.requirements, case.name
        assert set(case.requirements) <= set(requirements), case.name


def test_the_coverage_view_lists_must_requirements_without_a_case() -> None:
    requirements = load_requirements()
    missing = uncovered(all_cases().values(), requirements)
    cited = {rid for case in CASES.values() for rid in case.requirements}
    assert "DCF-ENV-028" not in missing
    assert "DCF-ENV-028" in cited
    assert all(requirements[rid].level.startswith("MUST") for rid in missing)
    assert not set(missing) & cited


UNCHECKED_SECTION = "### What the suite does not check, and why"


def _listed_unchecked(requirements: Mapping[str, object]) -> set[str]:
    """The requirement IDs the README's table names, with ranges ("A to B", one chapter) expanded."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split(UNCHECKED_SECTION, 1)[1].split("\n## ", 1)[0]
    listed: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| DCF-"):
            continue
        first = row.split("|")[1]
        for start, end in re.findall(r"(DCF-[A-Z]+-\d{3})(?: to (DCF-[A-Z]+-\d{3}))?", first):
            if not end:
                listed.add(start)
                continue
            prefix = start[:-3]
            assert end.startswith(prefix), row
            listed |= {f"{prefix}{n:03d}" for n in range(int(start[-3:]), int(end[-3:]) + 1)}
    unknown = listed - set(requirements)
    assert not unknown, f"the README names requirements the specification does not have: {sorted(unknown)}"
    return listed


def test_the_readme_says_why_each_must_requirement_without_a_case_has_none_dcf_gen_013() -> None:
    """The coverage view and the README's table of unchecked requirements name the same MUST requirements."""
    requirements = load_requirements()
    missing = set(uncovered(all_cases().values(), requirements))
    listed = {rid for rid in _listed_unchecked(requirements) if requirements[rid].level.startswith("MUST")}
    unexplained, stale = sorted(missing - listed), sorted(listed - missing)
    assert not unexplained, f"MUST requirements no case checks, not in the README's table: {unexplained}"
    assert not stale, f"requirements the README's table lists that a case now checks: {stale}"


def test_reports_text_json_and_junit() -> None:
    results = [
        Result("a.passes", ("DCF-ENV-028",), PASSED, 0.5),
        Result("b.fails", ("DCF-NTC-022",), FAILED, 0.25, expected="ABORTED", got="OK"),
        Result("c.skipped", ("DCF-ENV-022",), SKIPPED, message="deselected"),
    ]
    assert text(results).splitlines()[-1] == "1 passed, 1 failed, 1 skipped"
    report = json.loads(as_json(results))
    assert report["cases"][1] == {
        "name": "b.fails", "requirements": ["DCF-NTC-022"], "status": "failed", "duration_s": 0.25,
        "expected": "ABORTED", "got": "OK", "message": "",
    }  # fmt: skip
    suite = ElementTree.fromstring(junit(results))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert suite.find("testcase[@name='b.fails']/failure") is not None


def test_selection_by_pattern() -> None:
    selection = Selection(only=["envelope.*"], skip=["*clock*"])
    assert selection.chooses("envelope.sequence_gap_refused")
    assert not selection.chooses("envelope.clock_skew_refused")
    assert not selection.chooses("notice.cancel_own_notice")


def test_a_known_failing_case_that_passes_fails_the_run(tmp_path: Path) -> None:
    async def go() -> list[Result]:
        async with reference_node(tmp_path) as (target, address):
            listed = Target(**{**target.__dict__, "known_failing": frozenset({"envelope.sequence_gap_refused"})})
            return await run_cases(listed, address, all_cases().values(), Selection(only=["envelope.sequence_gap*"]))

    chosen = [r for r in asyncio.run(go()) if r.status != SKIPPED]
    assert [(r.name, r.status) for r in chosen] == [("envelope.sequence_gap_refused", FAILED)]
    assert "known-failing" in chosen[0].message


def test_the_command_line_checks_a_node_it_starts_and_writes_every_report(tmp_path: Path) -> None:
    subprocess.run([*CLI, "conformance", "init", str(tmp_path)], check=True, capture_output=True)
    target = tmp_path / "target.toml"
    config = target.read_text().replace('address = "127.0.0.1:7400"', "")
    node = (tmp_path / "node.toml").read_text().replace("127.0.0.1:7400", "127.0.0.1:0")
    (tmp_path / "node.toml").write_text(node)
    serve = f'command = ["{sys.executable}", "-m", "deconflict", "serve", "--config", "{{dir}}/node.toml", "--testing"]'
    target.write_text(config + serve + "\n")
    done = subprocess.run(
        [*CLI, "conformance", "run", "--config", str(target), "--json", str(tmp_path / "r.json"),
         "--junit", str(tmp_path / "r.xml"), "--skip", "*timeout*"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed, 0 failed, \d+ skipped", last), last
    assert "DCF-ENV-028" in done.stdout  # the requirement table
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["failed"] == 0
    assert ElementTree.parse(tmp_path / "r.xml").getroot().get("failures") == "0"


def test_conformance_with_only_a_config_runs_the_suite(tmp_path: Path) -> None:
    """`deconflict conformance --config FILE` is `deconflict conformance run --config FILE`."""
    missing = tmp_path / "no-target.toml"
    done = subprocess.run([*CLI, "conformance", "--config", str(missing)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the target file cannot be used" in done.stderr
    assert str(missing) in done.stderr


def test_a_failing_party_makes_the_command_exit_1(tmp_path: Path) -> None:
    write_node(tmp_path, (Fault.SKIP_SEQUENCE_CHECK,))
    serve = f'command = ["{sys.executable}", "-m", "deconflict", "serve", "--config", "{{dir}}/node.toml", "--testing"]'
    target = tmp_path / "target.toml"
    target.write_text(target.read_text().replace('address = "127.0.0.1:1"', serve))
    done = subprocess.run(
        [*CLI, "conformance", "run", "--config", str(target), "--no-table", "-k", "envelope"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  envelope.sequence_gap_refused (DCF-ENV-027, DCF-ENV-028" in done.stdout


# -- every case as a pytest test -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance_party(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = request.config.getoption("--conformance-target")
    if given:
        yield Path(given)
        return
    yield write_node(tmp_path_factory.mktemp("party"))


@pytest.mark.parametrize("name", sorted(all_cases()))
def test_case(conformance_party: Path, name: str) -> None:
    """One conformance case, against --conformance-target or a reference node."""
    target = load_target(conformance_party / "target.toml" if conformance_party.is_dir() else conformance_party)

    async def go() -> Result:
        if conformance_party.is_dir():
            server = NodeServer(load_config(conformance_party / "node.toml"))
            port = await server.start()
            try:
                return (await run_cases(target, f"127.0.0.1:{port}", [all_cases()[name]]))[0]
            finally:
                await server.stop(grace=0)
        from deconflict.conformance.runner import target_address

        async with target_address(target) as address:
            return (await run_cases(target, address, [all_cases()[name]]))[0]

    result = asyncio.run(go())
    if result.status == SKIPPED:
        pytest.skip(result.message)
    assert result.status == PASSED, (
        f"{result.requirements}: expected {result.expected}; got {result.got} {result.message}"
    )


def test_conformance_init_tls_writes_a_node_and_a_target_with_mutual_tls_dcf_sec_001(tmp_path: Path) -> None:
    made = subprocess.run([*CLI, "conformance", "init", str(tmp_path), "--tls"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    node = load_config(tmp_path / "node.toml")
    assert node.tls is not None
    assert node.config.testing.clients == [f"urn:deconflict:party:{SUITE}"]
    target = load_target(tmp_path / "target.toml")
    assert "tls" in target.features
    assert target.tls is not None
    assert target.tls.authority is not None


def test_conformance_init_tls_gives_the_node_the_bystander_the_security_cases_need_dcf_sec_003_dcf_sec_004(
    tmp_path: Path,
) -> None:
    """A party of another channel, vouched for by the suite's CA: its certificate is authenticated, and the security
    cases check that it is still refused on the suite's channel; they all run and pass against the node written."""
    made = subprocess.run([*CLI, "conformance", "init", str(tmp_path), "--tls"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    node = tmp_path / "node.toml"
    # As `deconflict serve --testing` would run it, on a free port.
    node.write_text(
        node.read_text().replace("127.0.0.1:7400", "127.0.0.1:0").replace("[testing]", "[testing]\nenabled = true")
    )
    loaded = load_config(node)
    assert [channel.peer for channel in loaded.config.channels] == [SUITE, BYSTANDER]
    assert set(loaded.agreements[BYSTANDER].model.parties) == {BYSTANDER, PARTY}
    target = load_target(tmp_path / "target.toml")

    async def go() -> tuple[list[Result], RefusedError]:
        server = NodeServer(loaded)
        port = await server.start()
        address = f"127.0.0.1:{port}"
        try:
            results = await run_cases(target, address, all_cases().values(), Selection(only=["security.*"]))
            assert target.tls is not None
            assert target.tls.authority is not None
            issued = issue(target.tls.authority, Identity(Kind.PARTY, BYSTANDER), days=1)
            tls = ClientTls(certificate_pem(issued.certificate), key_pem(issued.key), target.tls.party_ca, PARTY)
            async with PeerClient(address, tls=tls, retry=Session.retry_policy()) as bystander:
                try:
                    await bystander.get_agreement(target.channel_id)
                except RefusedError as error:
                    return results, error
            raise AssertionError("the bystander read the suite's channel")
        finally:
            await server.stop(grace=0)

    results, refused = asyncio.run(go())
    security = [(r.name, r.status, r.message) for r in results if r.name.startswith("security.")]
    assert len(security) >= 6
    assert all(status == PASSED for _, status, _ in security), security
    # Authenticated as the bystander, refused as not this channel's peer.
    assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PEER")
    assert f"{BYSTANDER} is not the peer of channel {target.channel_id}" in refused.message
