"""A real PostgreSQL server for the tests, started in a temporary folder (docs/scale-out.md).

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (Debian's packages create
it); as anyone else, as that user. Where no PostgreSQL is installed the tests that need it are skipped with the
reason, never passed silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass


def _bin_dir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))  # Debian links pg_ctl into /usr/local/bin
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(versions[-1]) if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    folder: str
    port: int
    run_as: list[str]  # the command prefix that runs a program as the server's owner
    bin_dir: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            [
                f"{self.bin_dir}/psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, f"{self.bin_dir}/pg_ctl", "-D", f"{self.folder}/data", "-m", "immediate", "stop"],
            capture_output=True,
            timeout=30,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def unavailable_reason() -> str | None:
    if _bin_dir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql provides it)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root and runuser is missing, so PostgreSQL cannot be started as the postgres user"
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def start() -> PostgresServer:
    bin_dir = _bin_dir()
    assert bin_dir, unavailable_reason()
    folder = tempfile.mkdtemp(prefix="hipcoach-pg-")
    os.chmod(folder, 0o755)
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *run_as,
            f"{bin_dir}/initdb",
            "-D",
            f"{folder}/data",
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
    )
    subprocess.run(
        [
            *run_as,
            f"{bin_dir}/pg_ctl",
            "-D",
            f"{folder}/data",
            "-o",
            options,
            "-l",
            f"{folder}/server.log",
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    server = PostgresServer(folder, port, run_as, bin_dir)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.psql("SELECT 1")
            return server
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
