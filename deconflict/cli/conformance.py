"""`deconflict conformance`: check a party under test, requirement by requirement."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer

from deconflict.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail

app = typer.Typer(
    help="The conformance suite: check any implementation of deconflict.v1 against the specification.",
    no_args_is_help=True,
)

NODE_TOML = """\
# A reference node to check: deconflict serve --config node.toml --testing
party = "party-under-test"
listen = "127.0.0.1:{port}"
journal = "party-under-test.journal"
policy = "automatic"
{security}
[[channels]]
peer = "conformance-suite"
peer_address = ""
agreement = "agreement.toml"
{peer_ca}{signing}"""

PLAINTEXT = """\
# Plaintext, for a local check of the protocol's behaviour (`conformance init --tls` for mutual TLS).
insecure = true
"""

NODE_TLS = """\

[tls]
certificate = "pki/party-under-test/node.crt"
key = "pki/party-under-test/node.key"
ca = "pki/party-under-test/ca.crt"

[testing]
# The suite's certificate may use the test-control API.
clients = ["urn:deconflict:party:conformance-suite"]
"""

TARGET_TLS = """\

[tls]
certificate = "pki/conformance-suite/node.crt"
key = "pki/conformance-suite/node.key"
party_ca = "pki/party-under-test/ca.crt"
ca = "pki/conformance-suite/ca.crt"
ca_key = "pki/conformance-suite/ca.key"
"""

# With --tls. Without this channel, a certificate naming the bystander is refused for naming a party no CA vouches
# for, before the check the security cases mean: that a peer of another channel is not this channel's (DCF-SEC-003,
# DCF-SEC-004).
BYSTANDER = "conformance-bystander"
BYSTANDER_CHANNEL = f"""
# A bystander: a party of another channel, vouched for by the suite's CA; the suite checks that its certificate is
# refused on the suite's channel. No traffic goes over this channel.
[[channels]]
peer = "{BYSTANDER}"
peer_address = ""
agreement = "bystander.toml"
peer_ca = "pki/conformance-suite/ca.crt"
"""

BYSTANDER_HEADER = """\
# The bystander's channel (written by `conformance init --tls`): the conformance agreement, the bystander in the
# suite's place.
"""

SIGNING = """
# A TEST KEY published with the suite, whose public half the conformance agreement holds: never a real channel's.
[[signing.keys]]
key_id = "party-under-test/test-key-1"
file = "party-under-test.test-key.pem"
"""

TARGET_TOML = """\
# The party the suite checks (see `deconflict conformance run --help`).
party = "party-under-test"
agreement = "agreement.toml"
features = {features}
address = "127.0.0.1:{port}"
known_failing = []
"""


@app.callback(invoke_without_command=True)
def conformance(
    context: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run every case against this target: as `run --config`.")
    ] = None,
) -> None:
    """Check a party under test: `deconflict conformance --config target.toml` runs the whole suite."""
    if context.invoked_subcommand is None and config is not None:
        context.invoke(run, config=config)


@app.command("run")
def run(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="The target file: the party under test (its address, or a command that starts it and prints "
            "'serving on HOST:PORT'), the agreement file it loads, the features it claims and its known failures.",
        ),
    ],
    only: Annotated[
        list[str] | None, typer.Option("--only", "-k", help="Run only cases matching (repeatable).")
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip cases matching (repeatable).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    junit_path: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")] = None,
    table: Annotated[bool, typer.Option("--table/--no-table", help="Print the requirement table.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List skipped cases too.")] = False,
) -> None:
    """Run the suite against the party the target file names, and report requirement by requirement.

    Exit status 0 only when no case failed: a MUST case the party failed, or a case on the known-failing list
    that passed. A case citing only SHOULD requirements reports a departure as a warning. Cases of features the
    party does not claim are skipped.
    """
    from deconflict.conformance.case import all_cases
    from deconflict.conformance.report import as_json, junit, requirement_table, text
    from deconflict.conformance.runner import FAILED, Result, Selection, run_cases, target_address
    from deconflict.conformance.target import load_target
    from deconflict.node.config import ConfigError
    from deconflict.spec import load_requirements

    try:
        target = load_target(config)
    except ConfigError as error:
        fail(f"the target file cannot be used\n{error}", EXIT_BAD_INPUT)
    cases = all_cases()
    out = console()

    def progress(result: Result) -> None:
        if result.status != "skipped":
            out.print(f"[dim]{result.status:8}[/] {result.name}", highlight=False)

    async def go() -> list[Result]:
        async with target_address(target) as address:
            out.print(f"checking {target.party} at {address} on channel {target.channel_id}", highlight=False)
            return await run_cases(target, address, cases.values(), Selection(only or [], skip or []), progress)

    try:
        results = asyncio.run(go())
    except (OSError, RuntimeError) as error:
        fail(f"the party under test could not be reached or started: {error}", EXIT_FAILED)
    if table:
        out.print(requirement_table(results, load_requirements()))
    out.print(text(results, verbose=verbose), highlight=False)
    if json_path is not None:
        json_path.write_text(as_json(results))
    if junit_path is not None:
        junit_path.write_text(junit(results))
    raise typer.Exit(EXIT_FAILED if any(r.status == FAILED for r in results) else 0)


@app.command("coverage")
def coverage() -> None:
    """List every MUST requirement that no case checks, then the share covered."""
    from deconflict.conformance.case import all_cases
    from deconflict.conformance.report import uncovered
    from deconflict.spec import load_requirements

    requirements = load_requirements()
    missing = uncovered(all_cases().values(), requirements)
    musts = [rid for rid, r in requirements.items() if r.level.startswith("MUST")]
    out = console()
    for rid in missing:
        out.print(f"{rid}  {requirements[rid].text[:100]}", highlight=False)
    out.print(f"{len(musts) - len(missing)} of {len(musts)} MUST requirements covered by a case", highlight=False)


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="Where to write agreement.toml, node.toml and target.toml.")],
    port: Annotated[int, typer.Option(help="The port the node under test listens on.")] = 7400,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Mutual TLS: certificates for both parties in FOLDER/pki, and the target claims the tls feature.",
        ),
    ] = False,
) -> None:
    """Write what it takes to check the reference node: the conformance agreement (short timers), a node
    configuration and a target file (with --tls, also a bystander channel the security cases need). Then:
    `deconflict serve --config FOLDER/node.toml --testing` in one terminal and
    `deconflict conformance run --config FOLDER/target.toml` in another."""
    from deconflict.conformance.target import packaged_agreement, packaged_test_key
    from deconflict.security.pki import PkiError, init_party

    folder.mkdir(parents=True, exist_ok=True)
    if tls:
        try:
            for party in ("party-under-test", "conformance-suite"):
                init_party(folder / "pki", party)
        except PkiError as error:
            fail(str(error), EXIT_BAD_INPUT)
    shutil.copyfile(packaged_agreement(), folder / "agreement.toml")
    if tls:  # the conformance agreement, the bystander in the suite's place
        bystander = packaged_agreement().read_text().replace("conformance-suite", BYSTANDER)
        (folder / "bystander.toml").write_text(BYSTANDER_HEADER + bystander)
    key = packaged_test_key("party-under-test")
    shutil.copyfile(key, folder / key.name)
    node = NODE_TOML.format(
        port=port,
        security="" if tls else PLAINTEXT,
        peer_ca='peer_ca = "pki/conformance-suite/ca.crt"\n' + BYSTANDER_CHANNEL if tls else "",
        signing=SIGNING + (NODE_TLS if tls else ""),
    )
    (folder / "node.toml").write_text(node)
    # What the reference node implements: streaming, signing and its journal always, and tls with certificates.
    claimed = ["core", "streaming", "signing", "journal", *(["tls"] if tls else [])]
    features = "[" + ", ".join(f'"{feature}"' for feature in claimed) + "]"
    (folder / "target.toml").write_text(TARGET_TOML.format(port=port, features=features) + (TARGET_TLS if tls else ""))
    written = "agreement.toml, bystander.toml" if tls else "agreement.toml"
    console().print(f"wrote {folder}/{written}, node.toml, target.toml and {key.name}", highlight=False)
