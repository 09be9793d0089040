"""`gigalis token …`: make and revoke API tokens."""

from __future__ import annotations

import typer

app = typer.Typer(help="API tokens.", no_args_is_help=True)
