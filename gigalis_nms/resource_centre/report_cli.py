"""`gigalis sites-needs analyse` and `gigalis sites-needs report`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the analysis commands to ``gigalis sites-needs``."""
