"""One load, from files to a committed (or, for a dry run, discarded) transaction."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gigalis_nms.db import session_scope
from gigalis_nms.errors import Conflict, FieldProblem
from gigalis_nms.inventory.loader.apply import apply_plan
from gigalis_nms.inventory.loader.diff import Plan, plan_changes
from gigalis_nms.inventory.loader.state import read_inventory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    plan: Plan
    applied: bool  # False for a dry run, and when there was nothing to change


class _DryRun(Exception):
    """Raised inside the transaction to roll it back after planning."""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block, and back on after it.

    A load builds millions of objects that all live until it ends and form no cycles; the
    collector walked them again and again, finding nothing, and took half the time of a load
    of 50,000 circuits. Whatever cycles the block leaves, its next pass collects. The switch
    is process-wide: other threads of the process run without it while a load lasts.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_inventory(engine: Engine, path: Path, *, actor: str, dry_run: bool = False) -> LoadResult:
    """Validate every file under ``path``, plan, and apply in one transaction.

    Raises InvalidInput (file, line, field) before anything is written, or Conflict if the
    database refuses the change; in both cases the database is left as it was.
    """
    with _collector_paused():
        return _load(engine, path, actor=actor, dry_run=dry_run)


def _load(engine: Engine, path: Path, *, actor: str, dry_run: bool) -> LoadResult:
    desired = read_inventory(path, relative_to=path if path.is_dir() else path.parent)
    plan: Plan | None = None
    try:
        with session_scope(engine, actor=actor) as session:
            plan = plan_changes(session, desired)
            if dry_run or plan.is_empty:
                raise _DryRun
            apply_plan(session, plan, actor)
    except _DryRun:
        assert plan is not None
        return LoadResult(plan, applied=False)
    except IntegrityError as error:
        reason = str(error.orig).splitlines()[0]
        log.warning("inventory load from %s refused by the database: %s", path, reason)
        raise Conflict(
            f"the database refused the change, nothing was written: {reason}",
            [FieldProblem("-", reason, str(path))],
        ) from None
    log.info("inventory %s loaded by %s: %d changes", path, actor, len(plan.changes))
    return LoadResult(plan, applied=True)
