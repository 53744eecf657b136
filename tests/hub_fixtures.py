"""The real central server, started as a process on 127.0.0.1, on SQLite or on a PostgreSQL cluster of our own."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from desktop_app.hub import importer, schema

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """One hub process; ``kill`` is SIGKILL (a power cut), ``start`` brings it back on the same port and data."""

    def __init__(self, url: str, log: Path) -> None:
        self.db_url, self.log, self.port, self.proc = url, log, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Hub:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "desktop_app", "hub", "--db", self.db_url, "--port", str(self.port)],
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text(errors='replace')[-2000:]}")
        raise RuntimeError("hub did not start in 30 s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: installers/debian-packages.sh installs the postgresql package"
        )
    return found[-1]


class Postgres:
    """A throwaway cluster: initdb + pg_ctl as user postgres (when root), on a free port, trust auth on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.as_postgres = os.geteuid() == 0
        self.count = 0

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        subprocess.run(command, check=True, capture_output=True, cwd="/tmp")

    def start(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        data = str(self.folder / "data")
        self._run(_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            data,
            "-w",
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on",
            "start",
        )
        return self

    def new_database(self) -> str:
        import psycopg

        self.count += 1
        name = f"hub{self.count}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    folder = Path(tempfile.mkdtemp(prefix="gongji-pg-", dir="/tmp"))  # short: the socket path must fit in 107 bytes
    cluster = Postgres(folder).start()
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return request.getfixturevalue("postgres").new_database()


def seeded_hub(url: str, source: Path, log: Path) -> Hub:
    """Seed from a desk-format database (as from the platform's export), then start the process."""
    engine = schema.engine_for(url)
    importer.import_desk_database(engine, str(source))
    engine.dispose()
    return Hub(url, log).start()
