"""The progress reporter for work across the inventory's devices: counted from Nornir's worker
threads, drawn only on a terminal."""

from __future__ import annotations

import io
import threading

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner
from rich.console import Console

from gigalis_nms.provisioning.progress import NornirProgress, device_progress


def test_advances_from_many_threads_are_all_counted() -> None:
    names = [f"r{number}-er1" for number in range(200)]
    with device_progress(len(names), "testing", enabled=False) as done:
        workers = [
            threading.Thread(target=done, args=(name, index % 7 != 0))
            for index, name in enumerate(names)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert sorted(done.finished) == sorted(names)
    assert sorted(done.failed) == sorted(name for i, name in enumerate(names) if i % 7 == 0)


def test_no_bar_when_the_console_is_not_a_terminal() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=False)

    with device_progress(2, "backing up", console=console) as done:
        done("nte1-cr1", True)
        done("ang1-cr1", False)

    assert output.getvalue() == ""
    assert done.failed == ("ang1-cr1",)


def test_a_bar_on_a_terminal_names_the_failed_devices() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=160)

    with device_progress(3, "backing up", console=console) as done:
        done("nte1-cr1", True)
        done("ang1-cr1", False)

    drawn = output.getvalue()
    assert "backing up" in drawn
    assert "2/3" in drawn
    assert "1 failed: ang1-cr1" in drawn


def test_quiet_draws_nothing_even_on_a_terminal() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True)

    with device_progress(1, "backing up", enabled=False, console=console) as done:
        done("nte1-cr1", True)

    assert output.getvalue() == ""


def _fails_on_odd_hosts(task: Task) -> Result:
    if int(task.host.name.removeprefix("h")) % 2:
        raise RuntimeError("odd")
    return Result(host=task.host, result="ok")


def test_the_nornir_processor_reports_each_host_once_with_its_outcome() -> None:
    defaults = Defaults()
    hosts = Hosts({f"h{n}": Host(name=f"h{n}", defaults=defaults) for n in range(10)})
    nornir = Nornir(
        inventory=Inventory(hosts=hosts, groups=Groups(), defaults=defaults),
        runner=ThreadedRunner(num_workers=5),
    )

    with device_progress(10, "testing", enabled=False) as done:
        nornir.with_processors([NornirProgress(done)]).run(task=_fails_on_odd_hosts)

    assert sorted(done.finished) == sorted(hosts)
    assert sorted(done.failed) == ["h1", "h3", "h5", "h7", "h9"]
