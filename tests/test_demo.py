"""`deconflict demo`: October 2015 replayed between two nodes, in one process and against two `serve` processes."""

from __future__ import annotations

import re

from tests.test_cli import deconflict, serving


def rows(output: str, pattern: str) -> list[int]:
    """The line numbers of the timeline rows matching `pattern`."""
    return [number for number, line in enumerate(output.splitlines()) if re.search(pattern, line)]


def check_the_story(output: str) -> None:
    assert "Timeline" in output
    # The US operator is unable to accept the Russian notice in conflict, Russia moves it, the US accepts it.
    unable = rows(output, r"us-dod\W+ru-mod\W+response UNABLE\W+ru-mod/\w+/07 v1")
    amended = rows(output, r"ru-mod\W+us-dod\W+amendment\W+ru-mod/\w+/07 v2\W+acknowledged at us-dod journal position")
    accept = rows(output, r"us-dod\W+ru-mod\W+response ACCEPT\W+ru-mod/\w+/07 v2\W+acknowledged at ru-mod")
    assert len(unable) == len(amended) == len(accept) == 1, output
    assert unable[0] < amended[0] < accept[0]
    assert rows(
        output, r"notice\W+ru-mod/\w+/07 v1\W+acknowledged at us-dod journal position \d+; STANDBY, then UNABLE"
    )
    assert len(rows(output, r"us-dod\W+ru-mod\W+response ROGER")) == 19
    assert len(rows(output, r"ru-mod\W+us-dod\W+notice\W+ru-mod/")) == 20
    # The second conference: proposed with the incident on the agenda, countered, accepted.
    assert rows(output, r"us-dod\W+ru-mod\W+incident report\W+us-dod/\w+/incident-1\W+acknowledged")
    assert rows(output, r"conference proposal\W+vtc-2/\w+ v1\W+acknowledged at ru-mod journal position \d+; countered")
    assert rows(
        output, r"conference answer: counter\W+vtc-2/\w+ v1\W+acknowledged at us-dod journal position \d+; accepted"
    )
    assert rows(output, r"us-dod\W+ru-mod\W+conference answer: accept\W+vtc-2/\w+ v2\W+acknowledged at ru-mod")
    assert "not acknowledged" not in output
    assert re.search(r"conflicts found\W+1: ru-mod/\w+/07 v1 with us-dod/\w+/c5 v1", output)
    assert re.search(r"messages\W+(\d+) sent, \1 acknowledged: all delivered", output)


def test_demo_replays_october_2015_and_exits_0(tmp_path):
    result = deconflict("demo", "--keep", str(tmp_path / "kept"))
    assert result.returncode == 0, result.stdout + result.stderr
    check_the_story(result.stdout)
    kept = {path.name for path in (tmp_path / "kept").iterdir()}
    assert {"agreement.toml", "ru-mod.toml", "us-dod.toml", "ru-mod.journal", "us-dod.journal", "documents"} <= kept


def test_demo_against_two_serve_processes_with_mutual_tls_dcf_sec_001(tmp_path):
    with serving(tmp_path, tls=True) as nodes:
        result = deconflict("demo", "--nodes", nodes.ru, nodes.us, "--pki", str(tmp_path / "pki"))
        assert result.returncode == 0, result.stdout + result.stderr
        check_the_story(result.stdout)
        assert nodes.stop() == {"ru-mod": 0, "us-dod": 0}


def test_demo_stops_with_a_clear_message_when_an_outcome_does_not_come(tmp_path):
    # A US node that answers by itself sends ROGER where the scenario waits for its operator's STANDBY.
    with serving(tmp_path, us_policy="automatic") as nodes:
        result = deconflict("demo", "--nodes", nodes.ru, nodes.us, "--timeout", "8", "--insecure")
        assert result.returncode == 1
        assert "where STANDBY was expected" in result.stderr
        assert 'policy = "operator"' in result.stderr
        assert "Timeline up to the failed step" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        nodes.stop()
