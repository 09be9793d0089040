"""`gigalis provision …`: routers' configurations rendered from the inventory and the
templates, without touching any router."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gigalis_nms.console import console, database, reports_errors
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.provisioning.base import BaseConfigs, RouterBase, production_base_configs
from gigalis_nms.provisioning.templates import render_base

provision_app = typer.Typer(
    help="Render routers' configurations from the inventory and the templates.",
    no_args_is_help=True,
)

Templates = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        envvar="GIGALIS_TEMPLATES_DIR",
        help="folder of templates; default: provisioning/templates of this checkout",
    ),
]
CONFIG_SUFFIX = ".conf"


@provision_app.command("base")
@reports_errors
def base(
    devices: Annotated[
        list[str] | None,
        typer.Option("--device", help="a router's hostname; repeat for several; default: all"),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="only the routers of this platform: frr, junos, …"),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="write one <hostname>.conf per router here"),
    ] = None,
    templates: Templates = None,
) -> None:
    """Render each router's base configuration (loopbacks, IS-IS, iBGP) from the inventory:
    to the screen, a header before each router, or to one file per router."""
    with database() as engine, session_scope(engine, read_only=True) as session:
        bases = production_base_configs(session)
    routers = chosen_routers(bases, devices, platform)
    rendered = {
        router.hostname: render_base(router.platform, router.config, templates=templates)
        for router in routers
    }
    if output_dir is None:
        for router in routers:
            console.print(f"==> {router.hostname} ({router.platform}) <==", markup=False)
            console.print(
                rendered[router.hostname],
                end="",
                markup=False,
                highlight=False,
                emoji=False,
                soft_wrap=True,
            )
        return
    write_configs(output_dir, rendered)
    console.print(f"Wrote {len(rendered)} configurations to {output_dir}.", markup=False)


def chosen_routers(
    bases: BaseConfigs, hostnames: list[str] | None, platform: str | None
) -> list[RouterBase]:
    """The routers named (every one by default), of ``platform`` when given; a router named
    that runs another platform is refused rather than left out."""
    routers = [bases.router(h) for h in bases.check_known(hostnames or bases.hostnames)]
    if platform is None:
        return routers
    running = sorted({router.platform for router in bases.routers.values()})
    if platform not in running:
        raise InvalidInput.of(
            "platform", f"no router runs {platform!r}; the inventory has {', '.join(running)}"
        )
    if hostnames:
        others = [router for router in routers if router.platform != platform]
        if others:
            reason = f"{others[0].hostname} runs {others[0].platform}, not {platform}"
            raise InvalidInput.of("platform", reason)
    return [router for router in routers if router.platform == platform]


def write_configs(folder: Path, rendered: dict[str, str]) -> None:
    if folder.exists() and not folder.is_dir():
        raise InvalidInput.of("output-dir", f"{folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for hostname, text in rendered.items():
            (folder / f"{hostname}{CONFIG_SUFFIX}").write_text(text)
    except OSError as error:
        raise InvalidInput.of("output-dir", f"{folder}: {error.strerror or error}") from None
