"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, listening on
127.0.0.1 only, removed when the test session ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import psycopg


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("no initdb found (Debian package postgresql)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryPostgres:
    """Start with ``with TemporaryPostgres(folder) as server:``; ``server.url`` to connect."""

    def __init__(self, folder: Path) -> None:
        self.bindir = find_bindir()
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://gigalis@127.0.0.1:{self.port}/gigalis"
        # PostgreSQL refuses to run as root; CI runs as root, so the server runs as the
        # unprivileged account the Debian package creates.
        self.run_as = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        if self.run_as:
            command = ("runuser", "-u", self.run_as, "--", *command)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{command[-1]!r} failed: {result.stderr.strip()}")

    def __enter__(self) -> TemporaryPostgres:
        if self.run_as:
            shutil.chown(self.folder, self.run_as)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "gigalis",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )
        self._create_database()
        return self

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=gigalis dbname=postgres",
                    autocommit=True,
                ) as connection:
                    connection.execute("CREATE DATABASE gigalis")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
