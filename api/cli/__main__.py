"""`python -m api.cli ...`: the same `ontime` command, every command included."""

from api.cli import app

app(prog_name="ontime")
