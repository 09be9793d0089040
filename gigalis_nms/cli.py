"""The `gigalis` command. Each capability brings its own group of subcommands; this module
only assembles them and holds the commands about the service itself."""

from __future__ import annotations

import typer
from alembic.util import CommandError

from gigalis_nms import __version__
from gigalis_nms.auth.cli import app as token_app
from gigalis_nms.billing.cli import app as billing_app
from gigalis_nms.catalogue.cli import app as catalogue_app
from gigalis_nms.console import console, database, engine_for, reports_errors, settings
from gigalis_nms.db import migrate
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.cli import app as inventory_app
from gigalis_nms.lab.cli import app as lab_app
from gigalis_nms.monitoring.incident_cli import incident_app, maintenance_app
from gigalis_nms.monitoring.monitor_cli import monitor_app
from gigalis_nms.monitoring.sla_cli import app as sla_app
from gigalis_nms.netbox.cli import app as netbox_app
from gigalis_nms.ordering.cli import app as order_app
from gigalis_nms.ordering.hub_cli import app as hub_app
from gigalis_nms.provisioning.circuit_cli import circuit_app, job_app
from gigalis_nms.provisioning.cli import provision_app
from gigalis_nms.provisioning.config_cli import config_app
from gigalis_nms.resource_centre.cli import app as sites_needs_app
from gigalis_nms.resource_centre.gis_cli import app as gis_app

app = typer.Typer(
    help="Gigalis NMS: the public fibre backbone of the Pays de la Loire, as one system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(billing_app, name="billing")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(circuit_app, name="circuit")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(gis_app, name="gis")
app.add_typer(hub_app, name="hub")
app.add_typer(incident_app, name="incident")
app.add_typer(inventory_app, name="inventory")
app.add_typer(job_app, name="job")
app.add_typer(lab_app, name="lab")
app.add_typer(monitor_app, name="monitor")
app.add_typer(netbox_app, name="netbox")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(order_app, name="order")
app.add_typer(provision_app, name="provision")
app.add_typer(sites_needs_app, name="sites-needs")
app.add_typer(sla_app, name="sla")
app.add_typer(token_app, name="token")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@db_app.command("upgrade")
@reports_errors
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Apply the migrations up to REVISION (the latest by default)."""
    engine = engine_for(settings())
    try:
        migrate.upgrade(engine, revision)
    except CommandError as error:
        raise InvalidInput.of("revision", str(error)) from None
    finally:
        engine.dispose()
    console.print(f"database at revision {migrate.current_revision(engine)}")


@db_app.command("current")
@reports_errors
def db_current() -> None:
    """Show the database's revision and the latest one this version knows."""
    with database() as engine:
        console.print(f"current: {migrate.current_revision(engine)}")
        console.print(f"latest:  {migrate.head_revision()}")


@app.command()
@reports_errors
def serve(
    host: str | None = typer.Option(None, help="listen address (GIGALIS_HOST)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="listen port (GIGALIS_PORT)"),
    load: bool = typer.Option(
        True, help="load GIGALIS_INVENTORY_DIR when the database holds no site yet"
    ),
) -> None:
    """Run the API: migrate the database, load the network on first start, then serve."""
    from gigalis_nms.service import run_service  # noqa: PLC0415 - uvicorn only when serving

    current = settings()
    run_service(current, host=host or current.host, port=port or current.port, load=load)


@app.command()
@reports_errors
def worker(
    jobs: bool = typer.Option(True, help="run queued provisioning jobs"),
    orders: bool = typer.Option(
        True, help="carry accepted orders out and deliver their notifications"
    ),
    poller: bool = typer.Option(True, help="poll the routers and follow circuits' state"),
) -> None:
    """Run the background work of `gigalis serve` in a process of its own, until stopped."""
    from gigalis_nms.service import run_worker  # noqa: PLC0415 - as for serve

    run_worker(settings(), jobs=jobs, orders=orders, poller=poller)


def main() -> None:
    app()
