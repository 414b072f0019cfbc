"""The command line (`deconflict`, or `python -m deconflict`): typer commands, rich tables.

One module per command group: serve (a party's node), notices (notify, respond), watch (watch, status),
conference (propose, answer, record, cancel), demo. The protocol's modules are imported inside the
commands, so that `--help` answers at once.
"""
