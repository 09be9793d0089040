"""`gigalis hub`: (being written)."""

import typer

app = typer.Typer(help="Notification callbacks and their delivery log.", no_args_is_help=True)
