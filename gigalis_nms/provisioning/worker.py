"""The job worker: a thread that runs queued provisioning jobs, one at a time, inside
`gigalis serve` (the embedded default) or in any process that starts one.

At start it recovers what a previous process left running (see
:func:`~gigalis_nms.provisioning.jobs.recover_interrupted_jobs`); then it takes the oldest
queued job whenever it is woken up (a job was queued through the API) or every
``poll_seconds`` (a job was queued by another process). Several workers on one database are
safe: a job is claimed under a row lock, and a worker that loses the race moves on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from gigalis_nms.background import PollingThread
from gigalis_nms.errors import Conflict, GigalisError
from gigalis_nms.provisioning.jobs import next_queued_job, recover_interrupted_jobs
from gigalis_nms.provisioning.run import JobAccess, run_job

logger = logging.getLogger(__name__)


class JobWorker(PollingThread):
    def __init__(
        self, engine: Engine, access: Callable[[], JobAccess], *, poll_seconds: float = 5.0
    ) -> None:
        super().__init__("provisioning-worker", poll_seconds)
        self._engine = engine
        self._access = access  # asked at each job: the lab may have been rebuilt meanwhile
        self._last_warning = ""

    def start(self) -> None:
        recovered = recover_interrupted_jobs(self._engine, actor="worker:recovery")
        if recovered:
            logger.warning("jobs %s were left running by a stopped process", recovered)
        super().start()

    def run_queued(self) -> int:
        """Run every queued job now; how many ran."""
        ran = 0
        access = self._access()
        while not self.stopping:
            job_id = next_queued_job(self._engine, access.target)
            if job_id is None:
                break
            try:
                run_job(self._engine, job_id, access)
                ran += 1
            except Conflict as busy:
                if busy.problems and busy.problems[0].field == "routers":
                    break  # another job or a drift check holds the routers: later
                continue  # another worker claimed this job first
        return ran

    def _say_once(self, message: str) -> None:
        if message != self._last_warning:
            logger.warning("%s", message)
            self._last_warning = message

    def run_round(self) -> None:
        try:
            # Also while running: a command-line job killed in the meantime is taken over
            # once its heartbeat is stale.
            recover_interrupted_jobs(self._engine, actor="worker:recovery")
            self.run_queued()
        except GigalisError as refused:  # no lab up, bad credentials: said once a while
            self._say_once(f"provisioning worker: queued jobs wait: {refused}")
        except Exception:  # the worker outlives any one job's unexpected failure
            logger.exception("provisioning worker: a job could not be run")
