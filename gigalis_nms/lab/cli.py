"""`gigalis lab …`: build, check and remove the lab of FRR routers on this machine."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from time import monotonic
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from gigalis_nms.console import console, engine_for, reports_errors, settings
from gigalis_nms.errors import InvalidInput
from gigalis_nms.lab.build import DEFAULT_TIMEOUT, lab_up
from gigalis_nms.lab.cpe import (
    add_cpe_vlan,
    cpe_behind,
    remove_cpe_port_address,
    remove_cpe_vlan,
    set_cpe_port_address,
)
from gigalis_nms.lab.health import LabHealth, lab_status
from gigalis_nms.lab.plan import DEFAULT_SITES
from gigalis_nms.lab.state import DEFAULT_RUNTIME_DIR, LabState, read_lab_state
from gigalis_nms.lab.system import require_prerequisites, require_root
from gigalis_nms.lab.teardown import Teardown, describe_leftovers, find_leftovers, lab_down

app = typer.Typer(
    help="The lab: the network's routers as FRR in network namespaces, built from the inventory.",
    no_args_is_help=True,
)

RuntimeDir = Annotated[
    Path, typer.Option("--runtime-dir", help="where the lab keeps its state, keys and sockets")
]


@app.command("up")
@reports_errors
def up(
    sites: Annotated[
        str | None,
        typer.Option(
            "--sites",
            help=f"comma-separated site codes, or 'all'; default {','.join(DEFAULT_SITES)}",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for the IS-IS adjacencies", min=1)
    ] = DEFAULT_TIMEOUT,
    runtime_dir: RuntimeDir = DEFAULT_RUNTIME_DIR,
) -> None:
    """Build the lab (needs root) and wait until IS-IS is up on every link; loads the
    inventory first if the database holds no site."""
    from gigalis_nms.service import prepare_database  # noqa: PLC0415 - uvicorn only when needed

    require_prerequisites()  # before the database, which may take a while to load
    current = settings()
    engine = engine_for(current)
    wanted = [code for code in sites.split(",") if code.strip()] if sites is not None else None
    was_up = read_lab_state(runtime_dir) is not None
    started = monotonic()
    try:
        with console.status("preparing the database…") as status:
            prepare_database(current, engine, load=True)
            state = lab_up(
                engine, wanted, runtime_dir=runtime_dir, timeout=timeout, progress=status.update
            )
    except KeyboardInterrupt:
        interrupted("lab up")
    finally:
        engine.dispose()
    if was_up:
        report_lab_already_up(state, runtime_dir)
        return
    print_lab(state, monotonic() - started)


def interrupted(command: str) -> NoReturn:
    """What an interrupted build or teardown left is for `lab down` to remove."""
    console.print(
        f"[bold red]{command} interrupted:[/] pieces of the lab may remain; "
        "`gigalis lab status` shows them, `gigalis lab down` removes them."
    )
    raise typer.Exit(130)


def report_lab_already_up(state: LabState, runtime_dir: Path) -> None:
    """``up`` on a lab that is up changes nothing; say whether that lab is healthy."""
    sites = ",".join(state.sites)
    health = lab_status(runtime_dir)
    if health is not None and health.fully_up:
        console.print(f"The lab of {sites} is already up: nothing changed.")
        return
    console.print(f"The lab of {sites} is already built but [bold red]not fully up[/]:")
    if health is not None:
        print_health(health)
    console.print("Nothing changed. To rebuild it: gigalis lab down, then gigalis lab up.")
    raise typer.Exit(1)


def print_lab(state: LabState, seconds: float) -> None:
    adjacencies = sum(2 for link in state.links if link.enabled)
    console.print(
        f"[green]Lab up[/] in {seconds:.1f} s: {len(state.routers)} routers at "
        f"{','.join(state.sites)}, {len(state.links)} links ({adjacencies} IS-IS adjacencies "
        f"up), {len(state.cpes)} operator CPEs.",
        highlight=False,
    )
    table = Table("router", "namespace", "management", "loopback", title_justify="left")
    for router in state.routers:
        table.add_row(
            router.hostname, router.netns, router.management_address, router.loopback_ipv4
        )
    console.print(table)
    console.print(
        f"ssh -i {state.ssh_key_file} -o UserKnownHostsFile={state.known_hosts_file} "
        f"{state.ssh_user}@{state.routers[0].management_address} "
        # ssh joins its arguments into one line for the router's shell: quoted as a whole.
        f"\"vtysh -N {state.routers[0].netns} -c 'show isis neighbor'\"",
        soft_wrap=True,
        highlight=False,
    )


@app.command("down")
@reports_errors
def down(runtime_dir: RuntimeDir = DEFAULT_RUNTIME_DIR) -> None:
    """Remove the lab and everything it left: processes, namespaces, links, files."""
    require_root()
    started = monotonic()
    try:
        with console.status("taking the lab down…"):
            report = lab_down(runtime_dir)
    except KeyboardInterrupt:
        interrupted("lab down")
    print_teardown(report, monotonic() - started)
    if report.problems:
        raise typer.Exit(1)


def print_teardown(report: Teardown, seconds: float) -> None:
    if report.found_nothing and not report.problems:
        console.print("No lab found: nothing to take down.")
        return
    console.print(
        f"[green]Lab down[/] in {seconds:.1f} s: stopped {len(report.frr_instances)} FRR "
        f"instances and {len(report.processes)} other processes, deleted "
        f"{len(report.namespaces)} namespaces and {len(report.links)} links, "
        f"removed {len(report.folders)} folders.",
        highlight=False,
    )
    for problem in report.problems:
        console.print(f"[bold red]problem:[/] {problem}", highlight=False)


@app.command("status")
@reports_errors
def status(runtime_dir: RuntimeDir = DEFAULT_RUNTIME_DIR) -> None:
    """Each router's namespace, daemons and adjacencies; exits 1 unless the lab is fully up."""
    require_root()
    health = lab_status(runtime_dir)
    if health is None:
        leftovers = find_leftovers(runtime_dir)
        if leftovers:
            console.print(
                f"No lab is up, but pieces of one remain: {describe_leftovers(leftovers)}."
            )
            console.print("Remove them with: gigalis lab down")
        else:
            console.print("No lab is up.")
        raise typer.Exit(1)
    print_health(health)
    if not health.fully_up:
        raise typer.Exit(1)


def print_health(health: LabHealth) -> None:
    table = Table(
        "router",
        "namespace",
        "FRR",
        "sshd",
        "lldpd",
        "IS-IS",
        "iBGP",
        title=f"Lab of {','.join(health.sites)} ({health.phase.value})",
        title_justify="left",
    )
    for router in health.routers:
        table.add_row(
            router.hostname,
            _mark(router.namespace, router.netns),
            _mark(router.frr),
            _mark(router.sshd),
            _mark(router.lldpd),
            _mark(
                router.isis_up >= router.isis_expected, f"{router.isis_up}/{router.isis_expected}"
            ),
            f"{router.bgp_established}/{router.bgp_configured}",
        )
    console.print(table)
    console.print("IS-IS: adjacencies up / expected; iBGP: sessions established / configured.")
    verdict = "[green]fully up[/]" if health.fully_up else "[bold red]not fully up[/]"
    console.print(f"The lab is {verdict}.")


def _mark(ok: bool, text: str | None = None) -> str:
    shown = text or ("running" if ok else "down")
    return f"[green]{shown}[/]" if ok else f"[red]{shown}[/]"


@app.command("cpe")
@reports_errors
def cpe(
    router: Annotated[str, typer.Argument(help="the router of the hand-off port: nte1-cr1")],
    port: Annotated[str, typer.Argument(help="the hand-off port on that router: eth11")],
    address: Annotated[str, typer.Argument(help="the CPE's address, 203.0.113.241/29")],
    *,
    vlan: Annotated[
        int | None, typer.Option(min=1, max=4094, help="on this VLAN (VLAN-based E-Line)")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="take the address away")] = False,
    runtime_dir: RuntimeDir = DEFAULT_RUNTIME_DIR,
) -> None:
    """Give the operator's CPE behind a hand-off port an address, on the port itself or on a
    VLAN sub-interface, to test a provisioned E-Line: then ping from `ip netns exec <CPE>`."""
    try:
        ipaddress.ip_interface(address)
    except ValueError:
        raise InvalidInput.of("address", f"{address!r} is not an address with its length") from None
    require_root()
    state = read_lab_state(runtime_dir)
    if state is None:
        raise InvalidInput.of("lab", "no lab is up: `gigalis lab up`")
    namespace, cpe_port = cpe_behind(state, router, port)
    if remove and vlan is not None:
        remove_cpe_vlan(namespace, cpe_port, vlan)
    elif remove:
        remove_cpe_port_address(namespace, cpe_port, address)
    elif vlan is not None:
        cpe_port = add_cpe_vlan(namespace, cpe_port, vlan, address)
    else:
        set_cpe_port_address(namespace, cpe_port, address)
    done = "removed from" if remove else "on"
    console.print(f"{address} {done} {namespace} {cpe_port}: ip netns exec {namespace} ping …")
