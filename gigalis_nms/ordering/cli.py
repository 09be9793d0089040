"""`gigalis order`: (being written)."""

import typer

app = typer.Typer(help="Product orders: list, show, accept, reject, advance.", no_args_is_help=True)
