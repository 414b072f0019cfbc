"""The command line as an operator runs it: real `python -m deconflict` processes, two `serve` nodes on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Wide enough that no table cell wraps, so the output can be searched line by line.
ENV = {**os.environ, "COLUMNS": "220", "PYTHONUNBUFFERED": "1"}


def deconflict(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deconflict", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def eventually(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


@dataclass
class Served:
    ru: str
    us: str
    folder: Path
    processes: dict[str, subprocess.Popen[bytes]]

    def log(self, party: str) -> str:
        return (self.folder / f"{party}.log").read_text()

    def stop(self) -> dict[str, int]:
        """SIGTERM to both nodes; their exit statuses."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return {party: process.wait(timeout=15) for party, process in self.processes.items()}


@contextmanager
def serving(folder: Path, *, us_policy: str = "operator", tls: bool = False) -> Iterator[Served]:
    """Two `deconflict serve` processes on free ports, configured by `deconflict demo --write-configs`: plaintext
    (--insecure), or with `tls` over the certificates `deconflict pki init` writes in folder/pki."""
    ports = free_port(), free_port()
    if tls:
        made = deconflict("pki", "init", str(folder / "pki"), "--party", "ru-mod", "--party", "us-dod")
        assert made.returncode == 0, made.stderr
    security = () if tls else ("--insecure",)
    written = deconflict("demo", "--write-configs", str(folder), "--ports", *map(str, ports), *security)
    assert written.returncode == 0, written.stderr
    if us_policy != "operator":
        us_config = folder / "us-dod.toml"
        us_config.write_text(us_config.read_text().replace('policy = "operator"', f'policy = "{us_policy}"'))
    processes = {}
    for party in ("ru-mod", "us-dod"):
        with (folder / f"{party}.log").open("wb") as log:
            processes[party] = subprocess.Popen(
                [sys.executable, "-m", "deconflict", "serve", "--config", str(folder / f"{party}.toml")],
                cwd=ROOT,
                env=ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    served = Served(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", folder, processes)
    try:
        for port in ports:
            eventually(lambda port=port: listening(port), f"a node listening on port {port}")
        yield served
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


COMMANDS = [
    ([], "Air deconfliction channels"),
    (["serve"], "ministry node"),
    (["notify"], "flight notice"),
    (["respond"], "operational response"),
    (["watch"], "acknowledgements"),
    (["status"], "liveness"),
    (["conference"], "Video conferences"),
    (["conference", "propose"], "agenda"),
    (["conference", "answer"], "latest revision"),
    (["conference", "record"], "action items"),
    (["conference", "cancel"], "CANCELLED"),
    (["conference", "show"], "slot agreed"),
    (["notice"], "Flight notices"),
    (["notice", "show"], "dialogue"),
    (["alerts"], "until an operator acknowledges it"),
    (["alerts", "list"], "acknowledged ones"),
    (["alerts", "ack"], "--every-open"),
    (["demo"], "October 2015"),
    (["pki"], "Certificates for mutual TLS"),
    (["pki", "init"], "node's certificate"),
    (["pki", "operator"], "operator commands"),
    (["status"], "--identity"),
]


@pytest.mark.parametrize(("command", "phrase"), COMMANDS, ids=[" ".join(c) or "deconflict" for c, _ in COMMANDS])
def test_help_explains_each_command(command, phrase):
    result = deconflict(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Usage: deconflict {' '.join(command)}".strip() in result.stdout
    assert phrase in " ".join(result.stdout.split())


def test_serve_with_a_bad_config_names_the_file_and_field_and_exits_2(tmp_path):
    deconflict("demo", "--write-configs", str(tmp_path))
    config = tmp_path / "us-dod.toml"
    config.write_text(config.read_text().replace('policy = "operator"', 'policy = "sometimes"'))
    result = deconflict("serve", "--config", str(config))
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "us-dod.toml: policy:" in output
    assert "Traceback" not in output


def test_serve_with_a_bad_agreement_names_the_agreement_file(tmp_path):
    deconflict("demo", "--write-configs", str(tmp_path))
    agreement = tmp_path / "agreement.toml"
    agreement.write_text(agreement.read_text().replace("lateral_m = 18520.0", "lateral_m = -1.0"))
    result = deconflict("serve", "--config", str(tmp_path / "ru-mod.toml"))
    assert result.returncode == 2
    assert "agreement.toml: separation.lateral_m:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def notice_json(notice_id: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    volume = {
        "volume": {
            "circle": {"center": {"latitude": 35.13, "longitude": 36.75}, "radius_m": 20000},
            "altitude_lower": {"value": 100, "reference": "STD", "unit": "FLIGHT_LEVEL"},
            "altitude_upper": {"value": 200, "reference": "STD", "unit": "FLIGHT_LEVEL"},
        },
        "time_start": start.isoformat(),
        "time_end": (start + timedelta(hours=1)).isoformat(),
    }
    return json.dumps(
        {
            "notice_id": notice_id,
            "volumes": [volume],
            "aircraft_category": "FIXED_WING",
            "aircraft_count": 4,
            "frequency_ids": ["guard-121.5"],
            "contact_id": "ru-mod/hq-line",
            "category": "ROUTINE",
        }
    )


def test_two_serve_processes_driven_by_the_cli(tmp_path):
    with serving(tmp_path) as nodes:
        # A live watch of the Russian node for the whole conversation, stopped with Ctrl-C at the end.
        live = subprocess.Popen(
            [sys.executable, "-m", "deconflict", "watch", "--node", nodes.ru],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            converse(nodes, live, tmp_path)
        finally:
            if live.poll() is None:
                live.kill()
                live.communicate(timeout=10)


def converse(nodes: Served, live: subprocess.Popen[str], tmp_path: Path) -> None:
    """notify, watch --once, status, respond, refusals, Ctrl-C to the live watch, SIGTERM to the nodes."""
    notice = tmp_path / "hama.json"
    notice.write_text(notice_json("ru-mod/cli/hama-1"))

    filed = deconflict("notify", str(notice), "--node", nodes.ru)
    assert filed.returncode == 0, filed.stderr
    assert "ru-mod/cli/hama-1 v1" in filed.stdout

    # The US node stores it and, with the operator policy, answers STANDBY at once.
    def us_has_it() -> bool:
        shown = deconflict("watch", "--once", "--node", nodes.us).stdout
        return bool(re.search(r"in\W+notice\W+ru-mod/cli/hama-1", shown)) and "response STANDBY" in shown

    eventually(us_has_it, "the notice and the STANDBY in us-dod's journal")

    # ru-mod's Hello may come after us-dod fetched the notice itself, having heard of it in a heartbeat (DCF-HBT-005).
    def greeted() -> bool:
        status = deconflict("status", "--node", nodes.us)
        assert status.returncode == 0, status.stderr
        assert re.search(r"peer\W+ru-mod at " + re.escape(nodes.ru), status.stdout), status.stdout
        return bool(re.search(r"greeted\W+yes", status.stdout))

    eventually(greeted, "us-dod greeted by ru-mod")

    answered = deconflict("respond", "ru-mod/cli/hama-1", "--kind", "ACCEPT", "--node", nodes.us)
    assert answered.returncode == 0, answered.stderr
    assert "ACCEPT" in answered.stdout

    def ru_has_the_accept() -> bool:
        shown = deconflict("watch", "--once", "--node", nodes.ru).stdout
        return bool(re.search(r"in\W+response ACCEPT\W+ru-mod/cli/hama-1", shown))

    eventually(ru_has_the_accept, "the ACCEPT in ru-mod's journal")

    # Refusals name what is at fault: the dialogue is closed now, and a bad file is refused before sending.
    again = deconflict("respond", "ru-mod/cli/hama-1", "--kind", "ROGER", "--node", nodes.us)
    assert again.returncode == 1
    assert "DIALOGUE_CLOSED" in again.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(notice_json("ru-mod/cli/bad").replace('"latitude": 35.13', '"latitude": 95'))
    refused = deconflict("notify", str(bad), "--node", nodes.ru)
    assert refused.returncode == 2
    assert "volumes[0].volume.circle.center.latitude" in refused.stderr

    live.send_signal(signal.SIGINT)
    shown, errors = live.communicate(timeout=15)
    assert live.returncode == 0, errors
    assert re.search(r"in\W+response ACCEPT\W+ru-mod/cli/hama-1", shown), shown
    assert "Traceback" not in errors

    assert nodes.stop() == {"ru-mod": 0, "us-dod": 0}
    for party in ("ru-mod", "us-dod"):
        log = nodes.log(party)
        assert f"{party} stopped" in log
        assert "Traceback" not in log
    assert re.search(r"out\s+notice ru-mod/cli/hama-1 v1 seq 1", nodes.log("ru-mod"))


def restart_serving(nodes: Served, party: str, address: str) -> None:
    """SIGTERM to one node, then the same configuration (journal, alert file, port) served again."""
    process = nodes.processes[party]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    port = int(address.rsplit(":", 1)[1])
    eventually(lambda: not listening(port), f"port {port} released")
    with (nodes.folder / f"{party}.log").open("ab") as log:
        nodes.processes[party] = subprocess.Popen(
            [sys.executable, "-m", "deconflict", "serve", "--config", str(nodes.folder / f"{party}.toml")],
            cwd=ROOT,
            env=ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    eventually(lambda: listening(port), f"{party} listening again on port {port}")


def test_alerts_notices_and_conferences_read_and_acknowledged_through_the_cli_dcf_gen_012_dcf_rsp_033_dcf_cnf_040(
    tmp_path,
):
    from deconflict.codec import JsonCodec
    from deconflict.models.conference import ConferenceProposal
    from tests.test_node_conference import proposal

    with serving(tmp_path) as nodes:
        notice = tmp_path / "hama.json"
        notice.write_text(notice_json("ru-mod/cli/hama-2"))
        assert deconflict("notify", str(notice), "--node", nodes.ru).returncode == 0

        # us-dod's operator holds (STANDBY), then answers UNABLE: ru-mod's operator is alerted (DCF-RSP-033).
        def standby_sent() -> bool:
            shown = deconflict("notice", "show", "ru-mod/cli/hama-2", "--node", nodes.ru).stdout
            return bool(re.search(r"dialogue\W+STANDBY", shown))

        eventually(standby_sent, "the STANDBY at ru-mod")
        unable = deconflict(
            "respond", "ru-mod/cli/hama-2", "--kind", "UNABLE", "--reason", "AIRSPACE_UNAVAILABLE",
            "--remarks", "range closed for live firing", "--node", nodes.us,
        )  # fmt: skip
        assert unable.returncode == 0, unable.stderr

        def alerted(what: str) -> Callable[[], bool]:
            return lambda: what in deconflict("alerts", "list", "--node", nodes.ru).stdout

        eventually(alerted("us-dod answers UNABLE to ru-mod/cli/hama-2 v1"), "the UNABLE alert at ru-mod")
        shown = deconflict("notice", "show", "ru-mod/cli/hama-2", "--node", nodes.ru)
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"dialogue\W+ANSWERED", shown.stdout), shown.stdout
        assert re.search(r"last response\W+UNABLE", shown.stdout), shown.stdout
        assert re.search(r"owner\W+ru-mod", shown.stdout)
        missing = deconflict("notice", "show", "ru-mod/cli/nowhere", "--node", nodes.ru)
        assert missing.returncode == 1
        assert "NOT_FOUND" in missing.stderr

        # A conference proposed by ru-mod and called off by us-dod: both operators are alerted (DCF-CNF-040).
        proposed = tmp_path / "vc.json"
        proposed.write_bytes(JsonCodec(ConferenceProposal).encode(proposal("vc-cli")))
        assert deconflict("conference", "propose", str(proposed), "--node", nodes.ru).returncode == 0

        def us_holds_it() -> bool:
            return "PROPOSED" in deconflict("conference", "show", "vc-cli", "--node", nodes.us).stdout

        eventually(us_holds_it, "the proposal at us-dod")
        called_off = deconflict("conference", "cancel", "vc-cli", "--reason", "no line that day", "--node", nodes.us)
        assert called_off.returncode == 0, called_off.stderr
        eventually(alerted("us-dod called off conference vc-cli"), "the cancellation alert at ru-mod")
        conference = deconflict("conference", "show", "vc-cli", "--node", nodes.ru)
        assert conference.returncode == 0, conference.stderr
        assert "Conference vc-cli: CANCELLED" in conference.stdout
        assert re.search(r"latest revision\W+1, sent by ru-mod", conference.stdout)
        assert "Communication frequencies" in conference.stdout  # the agenda

        status = deconflict("status", "--node", nodes.ru)
        assert re.search(r"open alerts\W+2", status.stdout), status.stdout

        # The alerts outlive the node (DCF-GEN-012): after a restart they are still open, and shown first.
        restart_serving(nodes, "ru-mod", nodes.ru)
        listed = deconflict("alerts", "list", "--node", nodes.ru)
        assert listed.returncode == 0, listed.stderr
        assert "ru-mod: 2 open alerts" in listed.stdout
        assert re.search(r"1\W+\S+ \S+\W+ru-mod:us-dod\W+unable received\W+ru-mod/cli/hama-2", listed.stdout)
        assert re.search(r"2\W+\S+ \S+\W+ru-mod:us-dod\W+conference cancelled\W+vc-cli", listed.stdout)
        watched = deconflict("watch", "--once", "--node", nodes.ru)
        assert re.search(r"alert\W+unable received\W+ru-mod/cli/hama-2", watched.stdout), watched.stdout

        acknowledged = deconflict("alerts", "ack", "1", "--node", nodes.ru)
        assert acknowledged.returncode == 0, acknowledged.stderr
        assert "1 acknowledged" in acknowledged.stdout
        assert "ru-mod: 1 open alerts" in deconflict("alerts", "list", "--node", nodes.ru).stdout
        assert deconflict("alerts", "ack", "--every-open", "--node", nodes.ru).returncode == 0
        assert "ru-mod: 0 open alerts" in deconflict("alerts", "list", "--node", nodes.ru).stdout
        history = deconflict("alerts", "list", "--all", "--node", nodes.ru).stdout
        assert "ru-mod: 2 alerts" in history
        assert "open" not in history.split("acknowledged", 1)[1]
        assert re.search(r"open alerts\W+0", deconflict("status", "--node", nodes.ru).stdout)

        unknown = deconflict("alerts", "ack", "99", "--node", nodes.ru)
        assert unknown.returncode == 1
        assert "NOT_FOUND" in unknown.stderr
        nothing = deconflict("alerts", "ack", "--node", nodes.ru)
        assert nothing.returncode == 2
        assert nodes.stop() == {"ru-mod": 0, "us-dod": 0}
