"""The `deconflict` command: one party's ministry node, its operators' tools, and the October 2015 demo."""

from __future__ import annotations

import typer

from deconflict.cli import alerts, conference, conformance, demo, journal, keys, notices, pki, serve, watch

app = typer.Typer(
    name="deconflict",
    help=(
        "Air deconfliction channels between parties that do not cooperate: each side tells the other where and "
        "when its aircraft will fly (flight notices), the other acknowledges (logical acknowledgement: stored at a "
        "journal position) and answers (operational response: ACCEPT, UNABLE, STANDBY, ROGER, COUNTER), and the "
        "parties meet by video conference. New here? Run `deconflict demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

app.command("serve")(serve.serve)
app.command("notify")(notices.notify)
app.command("respond")(notices.respond)
app.command("watch")(watch.watch)
app.command("status")(watch.status)
app.add_typer(notices.notice_app, name="notice")
app.add_typer(alerts.app, name="alerts")
app.add_typer(conference.app, name="conference")
app.add_typer(journal.app, name="journal")
app.command("demo")(demo.demo)
app.add_typer(conformance.app, name="conformance")
app.add_typer(pki.app, name="pki")
app.add_typer(keys.app, name="key")


def main() -> None:
    app(prog_name="deconflict")
