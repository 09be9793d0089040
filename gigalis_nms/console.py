"""What every command shares: the console, the settings and the database engine, and one way
of reporting a GigalisError before exiting with a non-zero status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from gigalis_nms.db import make_engine, migrate
from gigalis_nms.errors import FieldProblem, GigalisError, InvalidInput
from gigalis_nms.settings import Settings, get_settings

# No emoji codes: "catalogue.yaml:100: …" must not print as "catalogue.yaml💯 …".
console = Console(emoji=False)
errors = Console(stderr=True, soft_wrap=True, emoji=False)  # a piped error stays one line

P = ParamSpec("P")
R = TypeVar("R")
DATABASE_URL = "GIGALIS_DATABASE_URL"


def settings() -> Settings:
    """The settings, checked: a bad value names its variable, and production refuses the
    development defaults whatever the command."""
    try:
        current = get_settings()
    except ValidationError as error:
        problems = [
            FieldProblem(f"GIGALIS_{str(item['loc'][0]).upper()}", item["msg"])
            for item in error.errors()
        ]
        raise InvalidInput(f"invalid settings: {problems[0]}", problems) from None
    current.check_secure()
    return current


def engine_for(current: Settings) -> Engine:
    """An engine for the configured database; a URL that cannot work names the variable."""
    url = current.resolved_database_url
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            raise InvalidInput.of(
                DATABASE_URL,
                "an in-memory SQLite database is empty for every connection; name a file",
            )
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as error:
        raise InvalidInput.of(DATABASE_URL, f"not a usable database URL ({error})") from None


def connect_and_migrate(engine: Engine) -> None:
    """Reach the database and bring its schema up to date, so that every command works on a
    new or older database; an unreachable database names the variable and the reason."""
    try:
        migrate.upgrade(engine)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise InvalidInput.of(DATABASE_URL, f"cannot use the database: {reason}") from None


@contextmanager
def database() -> Iterator[Engine]:
    engine = engine_for(settings())
    try:
        connect_and_migrate(engine)
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
            errors.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False)
            for problem in error.problems:
                if str(problem) not in error.message:
                    errors.print(f"  - {escape(str(problem))}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


# Libraries whose own logging only repeats what Gigalis records, louder and less safely.
DEVICE_LIBRARY_LOGGERS = ("nornir", "paramiko")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_device_libraries()


def quiet_device_libraries() -> None:
    """Keep Nornir and paramiko to their critical messages, whatever the level.

    Each device's outcome is recorded by the job, the backup or the drift report itself, and
    the FRR driver reports SSH failures in its own words. Left alone, Nornir logs at INFO
    every task with its arguments (whole router configurations, for a prepare task) and a
    full traceback at ERROR for every failed host; paramiko logs a normal close as "Socket
    exception: Bad file descriptor" at ERROR. To debug a driver, lower them by hand:
    ``logging.getLogger("paramiko").setLevel(logging.DEBUG)``.
    """
    for name in DEVICE_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
