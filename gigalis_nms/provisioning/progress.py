"""Progress on the command line for work across many devices: a bar of devices done, the
last one finished and the ones that failed, fed from Nornir's worker threads.

>>> with device_progress(2, "backing up", enabled=False) as done:
...     done("nte1-cr1", True)
...     done("ang1-cr1", False)
>>> done.finished, done.failed
(('nte1-cr1', 'ang1-cr1'), ('ang1-cr1',))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gigalis_nms.console import console as stdout_console

DeviceDone = Callable[[str, bool], None]  # (hostname, ok), once per device finished
FAILED_NAMES_SHOWN = 3  # on the bar; the report after it names them all


class DeviceProgress:
    """Counts devices as they finish, from any thread, and moves the bar when there is one."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self._bar = bar
        self._task = task
        self._lock = threading.Lock()
        self._finished: list[str] = []
        self._failed: list[str] = []

    def __call__(self, hostname: str, ok: bool) -> None:
        with self._lock:
            self._finished.append(hostname)
            if not ok:
                self._failed.append(hostname)
            failed = _failed_text(self._failed)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, last=hostname, failed=failed)

    @property
    def finished(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._finished)

    @property
    def failed(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._failed)


def _failed_text(failed: list[str]) -> str:
    if not failed:
        return ""
    names = ", ".join(failed[:FAILED_NAMES_SHOWN])
    more = f" +{len(failed) - FAILED_NAMES_SHOWN}" if len(failed) > FAILED_NAMES_SHOWN else ""
    return f"[red]{len(failed)} failed: {names}{more}[/]"


@contextmanager
def device_progress(
    total: int,
    description: str,
    *,
    enabled: bool | None = None,
    console: Console | None = None,
) -> Iterator[DeviceProgress]:
    """A progress bar over ``total`` devices; yields the callable to call once per device.

    ``enabled`` None draws the bar only when the console is a terminal (not in a pipe, a
    file or a test); ``False`` (the commands' ``--quiet``) never draws it. The bar is
    removed when the block ends: the report that follows says what happened.
    """
    output = console or stdout_console
    if not (output.is_terminal if enabled is None else enabled):
        yield DeviceProgress()
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}", style="dim"),
        TextColumn("{task.fields[failed]}"),
        console=output,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total, last="", failed="")
        yield DeviceProgress(bar, task)


class NornirProgress:
    """A Nornir processor that reports each host as its task finishes:
    ``nornir.with_processors([NornirProgress(done)]).run(…)``."""

    def __init__(self, done: DeviceDone) -> None:
        self._done = done

    def task_started(self, task: Task) -> None:
        pass

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        pass

    def task_instance_started(self, task: Task, host: Host) -> None:
        pass

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        self._done(host.name, not result.failed)

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        pass

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        pass
