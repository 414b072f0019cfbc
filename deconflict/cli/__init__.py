"""The command line (`deconflict`, or `python -m deconflict`): typer commands, rich tables.

One module per command group: serve (a party's node), notices (notify, respond, notice show), watch (watch,
status), alerts (list, ack), conference (propose, answer, record, cancel, show), demo. The protocol's modules
are imported inside the commands, so that `--help` answers at once.
"""
