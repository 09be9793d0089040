"""`gigalis serve`: everything that happens between the command and a listening API.

On the embedded default the first start creates the SQLite database, loads the Gigalis
network from ``GIGALIS_INVENTORY_DIR`` and, in development mode only, makes an admin token
that is printed once, so that a new user can browse the API straight away.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading

import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from gigalis_nms.auth.models import ApiToken, Role
from gigalis_nms.auth.service import create_token
from gigalis_nms.background import PollingThread
from gigalis_nms.catalogue.loader import catalogue_path, load_catalogue
from gigalis_nms.console import configure_logging, connect_and_migrate, console, engine_for
from gigalis_nms.db import session_scope
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Site
from gigalis_nms.monitoring.poller import Poller
from gigalis_nms.ordering.delivery import EventDispatcher
from gigalis_nms.ordering.worker import OrderWorker
from gigalis_nms.provisioning.access import access_from_settings
from gigalis_nms.provisioning.worker import JobWorker
from gigalis_nms.settings import Environment, Settings

log = logging.getLogger(__name__)


def prepare_database(settings: Settings, engine: Engine, *, load: bool) -> None:
    """Migrate, then load the network files if the database holds no site yet."""
    connect_and_migrate(engine)
    with session_scope(engine) as session:
        has_sites = session.scalar(sa.select(sa.func.count()).select_from(table_of(Site))) or 0
    if not load or has_sites:
        return
    if not settings.inventory_dir.is_dir():
        log.warning("no inventory folder at %s: starting empty", settings.inventory_dir)
        return
    result = load_inventory(engine, settings.inventory_dir, actor="serve:first-start")
    log.info(
        "loaded %s on first start: %d objects", settings.inventory_dir, len(result.plan.changes)
    )


def bootstrap_admin_token(settings: Settings, engine: Engine) -> str | None:
    """In development, make an admin token when none exists, and return it to be shown once."""
    if settings.environment is not Environment.DEVELOPMENT:
        return None
    with session_scope(engine, actor="serve:first-start") as session:
        tokens = table_of(ApiToken)
        if session.scalar(sa.select(tokens.c.id).where(tokens.c.revoked_at.is_(None)).limit(1)):
            return None
        _, token = create_token(
            session,
            name="first-start admin",
            role=Role.ADMIN,
            secret_key=settings.secret_key.get_secret_value(),
        )
    return token


def run_service(settings: Settings, *, host: str, port: int, load: bool) -> None:
    configure_logging(settings.log_level)
    # A broken catalogue is the operator's to fix before serving, not every caller's 422.
    load_catalogue(catalogue_path(settings))
    engine = engine_for(settings)
    with console.status("preparing the database…"):
        prepare_database(settings, engine, load=load)
    token = bootstrap_admin_token(settings, engine)
    if token:
        console.print(
            "[bold]Admin token[/] (development mode; shown once, stored only as a hash):\n"
            f"  {token}\n"
            f'Try: curl -H "Authorization: Bearer {token}" http://{host}:{port}/api/v1/sites',
            soft_wrap=True,  # a wrapped token cannot be copied
        )
    console.print(f"API on http://{host}:{port}/api/v1/ — documentation at /docs")
    serve_api(settings, engine, host=host, port=port)


def serve_api(settings: Settings, engine: Engine, *, host: str, port: int) -> None:
    """Serve the API over a database that is ready; also what the benchmark measures."""
    from gigalis_nms.api.app import create_app  # noqa: PLC0415 - the API is only for serving

    app = create_app(settings, engine)
    worker = start_job_worker(settings, engine) if settings.job_worker else None
    app.state.job_worker = worker
    background = start_order_work(settings, engine, worker) if settings.order_worker else []
    if settings.poller:
        background.append(("poller", start_poller(settings, engine)))
    for name, thread in background:
        setattr(app.state, name, thread)
    # Everything built so far (the app, the models, the loaded modules) lives as long as the
    # process: moved out of the cycle collector's sight, it is not rescanned while a request
    # builds a large page, which halved the p99 of 1,000-row lists (bench/).
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        for _, thread in background:
            thread.stop(timeout=5)
        if worker is not None:
            worker.stop(timeout=5)  # a job under way ends by itself, or is resumed at restart


def start_job_worker(settings: Settings, engine: Engine) -> JobWorker:
    """The provisioning worker of the embedded default: jobs run inside the API process."""
    worker = JobWorker(engine, lambda: access_from_settings(settings, engine))
    worker.start()
    log.info("provisioning jobs run here, on the %s routers", settings.devices)
    return worker


def start_poller(settings: Settings, engine: Engine) -> Poller:
    """The poller, as a thread of this process: routers read, circuits followed, incidents
    opened and closed every ``GIGALIS_POLL_SECONDS``."""
    poller = Poller(engine, settings)
    poller.start()
    log.info(
        "poller started here: a round every %s s when it can reach the routers",
        settings.poll_seconds,
    )
    return poller


def start_order_work(
    settings: Settings, engine: Engine, job_worker: JobWorker | None
) -> list[tuple[str, PollingThread]]:
    """The order worker (jobs of accepted orders, expired holds, temporary capacity) and the
    notification dispatcher, as threads of the API process. The order worker wakes the job
    worker when it queued jobs, so that they start without waiting for its poll."""
    on_progress = job_worker.wake if job_worker is not None else None
    orders = OrderWorker(engine, settings, on_progress=on_progress)
    dispatcher = EventDispatcher(engine, settings)
    orders.start()
    dispatcher.start()
    log.info("orders are carried out and notifications delivered here")
    return [("order_worker", orders), ("event_dispatcher", dispatcher)]


def run_worker(settings: Settings, *, jobs: bool, orders: bool, poller: bool) -> None:
    """`gigalis worker`: the background work of `gigalis serve` in a process of its own, for
    a deployment where the API runs with GIGALIS_JOB_WORKER, GIGALIS_ORDER_WORKER and
    GIGALIS_POLLER off. Runs until interrupted (Ctrl-C or SIGTERM), then lets the rounds
    under way finish."""
    configure_logging(settings.log_level)
    engine = engine_for(settings)
    connect_and_migrate(engine)
    threads: list[PollingThread] = []
    job_worker = start_job_worker(settings, engine) if jobs else None
    if job_worker is not None:
        threads.append(job_worker)
    if orders:
        threads += [thread for _, thread in start_order_work(settings, engine, job_worker)]
    if poller:
        threads.append(start_poller(settings, engine))
    if not threads:
        raise InvalidInput.of("worker", "nothing to run: every kind of work is turned off")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"worker running: {', '.join(type(thread).__name__ for thread in threads)}")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for thread in reversed(threads):
            thread.stop(timeout=30)
        engine.dispose()
