"""`gigalis token …`: make, list and revoke API tokens.

A new token is printed alone on standard output, once, so that a script can capture it
(``TOKEN=$(gigalis token create --role noc)``); everything else goes to standard error. The
audit log names the changes ``cli:<user>``, after the account that ran the command.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, col, select

from gigalis_nms.auth.models import ApiToken, Role
from gigalis_nms.auth.service import TOKEN_PREFIX, create_token, list_tokens, revoke_token
from gigalis_nms.console import console, database, errors, reports_errors, settings
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import NotFound
from gigalis_nms.inventory.models import Organisation

app = typer.Typer(help="API tokens.", no_args_is_help=True)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def find_organisation(session: Session, name_or_id: str) -> Organisation:
    """An organisation by its exact name, or by its id when given digits."""
    if name_or_id.isdigit():
        found = session.get(Organisation, int(name_or_id))
    else:
        query = select(Organisation).where(col(Organisation.name) == name_or_id)
        found = session.exec(query).first()
    if found is None:
        raise NotFound.of("operator", f"no organisation named or numbered {name_or_id!r}")
    return found


def state_of(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "[red]revoked[/]"
    if token.expires_at is not None and token.expires_at <= now:
        return "[yellow]expired[/]"
    return "[green]active[/]"


def day_of(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@app.command("create")
@reports_errors
def create_command(
    role: Annotated[Role, typer.Option(help="what the token may do", case_sensitive=False)],
    operator: Annotated[
        str | None,
        typer.Option(help="name or id of the operator an operator token belongs to"),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="what the token is for; by default the role and operator")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, help="days until it expires; by default never")
    ] = None,
) -> None:
    """Make a token and print it, once: only a keyed hash of it is kept."""
    current = settings()
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        organisation = find_organisation(session, operator) if operator else None
        expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
        default_name = f"{role.value} {organisation.name}" if organisation else role.value
        token, plain = create_token(
            session,
            name=name or default_name,
            role=role,
            organisation_id=organisation.id if organisation else None,
            expires_at=expires_at,
            secret_key=current.secret_key,
        )
    errors.print(
        f"token #{token.id} [bold]{token.name}[/] ({token.role}), expires {day_of(expires_at)}:"
    )
    console.print(plain, highlight=False, soft_wrap=True)
    errors.print(
        "[yellow]Copy it now: Gigalis NMS keeps only a keyed hash and cannot show it again.[/]"
    )


@app.command("list")
@reports_errors
def list_command() -> None:
    """Every token with its state; never the token or its hash."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        tokens = list_tokens(session)
        names = {o.id: o.name for o in session.exec(select(Organisation))}
    table = Table(
        "id", "name", "role", "organisation", "starts with", "created", "expires", "state"
    )
    now = utcnow()
    for token in tokens:
        table.add_row(
            str(token.id),
            token.name,
            token.role.value,
            names.get(token.organisation_id, "") if token.organisation_id else "",
            f"{TOKEN_PREFIX}{token.prefix}…",
            day_of(token.created_at),
            day_of(token.expires_at),
            state_of(token, now),
        )
    console.print(table)


@app.command("revoke")
@reports_errors
def revoke_command(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="the token's id, from the list")],
) -> None:
    """Revoke a token for good: requests carrying it are refused from now on."""
    with database() as engine, session_scope(engine, actor=cli_actor()) as session:
        token = revoke_token(session, token_id)
    errors.print(f"token #{token.id} [bold]{token.name}[/] revoked")
