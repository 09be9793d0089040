"""What every command shares: the console, the settings and the database engine, and one way
of reporting a GigalisError before exiting with a non-zero status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from gigalis_nms.db import make_engine
from gigalis_nms.errors import GigalisError
from gigalis_nms.settings import Settings, get_settings

console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    return get_settings()


def engine_for(current: Settings) -> Engine:
    return make_engine(current.resolved_database_url)


@contextmanager
def database() -> Iterator[Engine]:
    engine = engine_for(settings())
    try:
        yield engine
    finally:
        engine.dispose()


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a GigalisError into a readable message and exit status 1, without a traceback."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except GigalisError as error:
            errors.print(f"[bold red]error:[/] {error.message}", highlight=False)
            for problem in error.problems[1:] if len(error.problems) > 1 else []:
                errors.print(f"  - {problem}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
