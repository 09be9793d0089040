"""`gigalis inventory …`: load the network from files, import topologies, look at it."""

from __future__ import annotations

import typer

app = typer.Typer(help="The network inventory: load, import, view.", no_args_is_help=True)
