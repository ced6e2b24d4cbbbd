"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, a temp data dir,
a non-root user, a free loopback port. Stop/start keep the data, so outages can be simulated."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Debian installs the server binaries outside PATH, one folder per major version.
_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
RUN_AS_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    pass


def find_pg_bin() -> Path:
    explicit = os.environ.get("TRIBAR_PG_BIN")
    candidates = [explicit] if explicit else sorted(glob.glob(_PG_BIN_GLOB), reverse=True)
    for cand in candidates:
        if cand and (Path(cand) / "initdb").is_file() and (Path(cand) / "pg_ctl").is_file():
            return Path(cand)
    raise PostgresUnavailableError(
        "PostgreSQL server binaries not found (looked in "
        f"{explicit or _PG_BIN_GLOB}); install Debian's 'postgresql' package "
        "(make test does this) or set TRIBAR_PG_BIN"
    )


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demote(uid: int, gid: int) -> Callable[[], None]:
    def set_ids() -> None:
        os.setgid(gid)
        os.setuid(uid)

    return set_ids


@dataclass
class PostgresServer:
    """``with PostgresServer() as pg: pg.url`` — a real server, removed on exit."""

    database: str = "tribar"
    user: str = "tribar"
    port: int = field(default_factory=free_loopback_port)
    base_dir: Path | None = None

    def __post_init__(self) -> None:
        self.bin = find_pg_bin()
        self._owns_dir = self.base_dir is None
        self.base_dir = Path(self.base_dir or tempfile.mkdtemp(prefix="tribar-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_file = self.base_dir / "server.log"
        self._preexec: Callable[[], None] | None = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            try:
                entry = pwd.getpwnam(RUN_AS_USER)
            except KeyError as exc:
                raise PostgresUnavailableError(
                    f"running as root and there is no '{RUN_AS_USER}' user to run PostgreSQL as"
                ) from exc
            self._preexec = _demote(entry.pw_uid, entry.pw_gid)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(a) for a in args],
            preexec_fn=self._preexec,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base_dir,
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise PostgresUnavailableError(
                f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{log[-2000:]}"
            )
        return result

    def initdb(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D", str(self.data_dir),
            "-U", self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )  # fmt: skip
        self._initialised = True

    def start(self) -> None:
        if not self._initialised:
            self.initdb()
        if self._preexec is not None:
            entry = pwd.getpwnam(RUN_AS_USER)
            self.socket_dir.mkdir(exist_ok=True)
            os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)
        else:
            self.socket_dir.mkdir(exist_ok=True)
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user=self.user, dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            conn.close()

    def stop(self, mode: str = "fast") -> None:
        if self.data_dir.exists():
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"
            )  # fmt: skip

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        return pid_file.exists()

    def close(self) -> None:
        try:
            if self.is_running():
                self.stop("immediate")
        finally:
            if self._owns_dir and self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
