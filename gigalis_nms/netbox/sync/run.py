"""An import from a NetBox into Gigalis, and an export from Gigalis to a NetBox, each read,
planned and applied as :mod:`gigalis_nms.netbox.sync` describes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import pynetbox
import requests
from sqlalchemy.engine import Engine

from gigalis_nms.db import session_scope
from gigalis_nms.errors import GigalisError, InvalidInput
from gigalis_nms.netbox.sync import gigalis_side, netbox_side
from gigalis_nms.netbox.sync.records import Change, Plan, Problem, plan

T = TypeVar("T")


class NetBoxUnreachable(GigalisError):
    """The NetBox did not answer, or did not answer as a NetBox does."""

    status_code = 502
    code = "netbox_unreachable"


@dataclass(frozen=True)
class SyncReport:
    direction: Literal["import", "export"]
    dry_run: bool
    plan: Plan
    skipped: list[Problem]  # objects the NetBox holds that Gigalis cannot map
    refused: list[Problem]  # changes the receiving side refused
    committed: bool  # whether the receiving side kept the changes

    def applied(self) -> list[Change]:
        """Changes taken (or, in a dry run, that would be taken)."""
        refused = {(p.kind, p.key) for p in self.refused}
        return [c for c in self.plan.changes if (c.kind, c.key) not in refused]


def check_url(url: str) -> str:
    """
    >>> check_url("https://netbox.example.net/")
    'https://netbox.example.net'
    >>> check_url("netbox.example.net")
    Traceback (most recent call last):
    gigalis_nms.errors.InvalidInput: --url: http:// or https:// and a host, as in a browser
    >>> check_url("http://127.0.0.1:0/netbox")
    Traceback (most recent call last):
    gigalis_nms.errors.InvalidInput: --url: the port is 1 to 65535
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput.of("--url", f"not a URL: {error}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput.of("--url", "http:// or https:// and a host, as in a browser")
    if port == 0:
        raise InvalidInput.of("--url", "the port is 1 to 65535")
    return url.rstrip("/").removesuffix("/api")


@contextmanager
def talking_to(url: str) -> Iterator[None]:
    """NetBox's and the network's failures as one error naming the NetBox."""
    try:
        yield
    except requests.exceptions.Timeout as error:
        raise NetBoxUnreachable(f"NetBox at {url} stopped answering ({error})") from None
    except requests.exceptions.TooManyRedirects as error:
        raise NetBoxUnreachable(f"NetBox at {url}: {error}") from None
    except requests.exceptions.RequestException as error:
        raise NetBoxUnreachable(f"cannot reach NetBox at {url}: {error}") from None
    except pynetbox.RequestError as error:
        answer = " ".join(str(error.error).split())[:300]
        raise NetBoxUnreachable(
            f"NetBox at {url} answered {error.req.status_code}: {answer}"
        ) from None
    except pynetbox.ContentError as error:
        raise NetBoxUnreachable(f"{url} did not answer as a NetBox does: {error}") from None


def _read(url: str, reader: Callable[[], T]) -> T:
    """Reads through ``reader``; an answer lacking what every NetBox object has (an id, a
    name, a slug) is an answer from something that is not a NetBox."""
    with talking_to(url):
        try:
            return reader()
        except (KeyError, TypeError, AttributeError) as error:
            raise NetBoxUnreachable(
                f"{url} did not answer as a NetBox does: an object without {error}"
            ) from None


def import_from_netbox(
    engine: Engine,
    url: str,
    token: str,
    *,
    actor: str,
    dry_run: bool = False,
    strict: bool = False,
    timeout: float = 30.0,
) -> SyncReport:
    """Bring the NetBox's sites, devices, interfaces, cables and circuits (and the
    organisations, manufacturers, device types and platforms they refer to) into Gigalis.
    One transaction: a dry run, or ``strict`` with anything refused, rolls it all back."""
    url = check_url(url)
    api = netbox_side.connect(url, token, timeout)
    source = _read(url, lambda: netbox_side.read(api))
    with session_scope(engine, actor) as session:
        the_plan = plan(source, gigalis_side.read(session))
        refused = gigalis_side.apply(session, the_plan.changes)
        keep = not dry_run and not (strict and refused)
        if not keep:
            session.rollback()
    return _settled(SyncReport("import", dry_run, the_plan, source.skipped, refused, keep))


def export_to_netbox(
    engine: Engine, url: str, token: str, *, dry_run: bool = False, timeout: float = 30.0
) -> SyncReport:
    """Push the Gigalis inventory to the NetBox: create what it lacks, change what differs.
    A dry run only plans: NetBox has no transaction to try the changes in."""
    url = check_url(url)
    api = netbox_side.connect(url, token, timeout)
    with session_scope(engine, read_only=True) as session:
        source = gigalis_side.read(session)
        provider = gigalis_side.circuit_provider(session)
    current = _read(url, lambda: netbox_side.read(api))
    the_plan = plan(source, current)
    refused: list[Problem] = []
    if not dry_run:
        with talking_to(url):
            refused = netbox_side.apply(api, current, the_plan.changes, provider)
    return _settled(SyncReport("export", dry_run, the_plan, current.skipped, refused, not dry_run))


def _settled(report: SyncReport) -> SyncReport:
    """The report, saying nothing was kept when every change was refused (a token that may
    only read, say)."""
    wrote_something = bool(report.applied()) or not report.plan.changes
    return replace(report, committed=report.committed and wrote_something)
