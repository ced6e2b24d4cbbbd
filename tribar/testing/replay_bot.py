"""A replayed ``freqtrade trade`` bot in its own process, for end-to-end tests and benchmarks.

It runs ``tribar paper --replay … --hold`` exactly as a user would, with the REST API on a free
loopback port, and waits until the replay has reached the end of its range; the bot then keeps
serving its API, Telegram and FreqUI on a stopped clock until ``stop()``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
API_USER = "tribar"
API_PASSWORD = "replay-test-password"  # loopback-only test bot; not a secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ReplayBot:
    replay: str  # FROM..TO
    run_dir: Path
    configs: Sequence[str] = ("config.json", "config.api.json")
    extra_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    # Used by the tribar metrics exporter when a config enables it (tribar.metrics.enabled).
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    output: Path | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def status_file(self) -> Path:
        return self.run_dir / "replay-status.json"

    def start(self) -> ReplayBot:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            FREQTRADE__API_SERVER__PASSWORD=API_PASSWORD,
            FREQTRADE__API_SERVER__JWT_SECRET_KEY=secrets.token_hex(32),
            FREQTRADE__API_SERVER__WS_TOKEN=secrets.token_hex(16),
            FREQTRADE__API_SERVER__LISTEN_PORT=str(self.api_port),
            FREQTRADE__API_SERVER__USERNAME=API_USER,
            FREQTRADE__TRIBAR__METRICS__LISTEN_PORT=str(self.metrics_port),
        )
        env.update(self.env)
        args = [sys.executable, "-m", "tribar.cli", "paper", "--replay", self.replay,
                "--run-dir", str(self.run_dir), "--hold"]  # fmt: skip
        for config in self.configs:
            args += ["-c", config]
        args += list(self.extra_args)
        # A resumed run (`--resume`) must not be taken as finished on the last run's status.
        self.status_file.unlink(missing_ok=True)
        self.run_dir.parent.mkdir(parents=True, exist_ok=True)
        self.output = self.run_dir.parent / f"{self.run_dir.name}.out"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                args, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def status(self) -> dict[str, Any] | None:
        try:
            status: dict[str, Any] = json.loads(self.status_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return status

    def wait_until_finished(self, timeout: float) -> dict[str, Any]:
        """Block until the replay has run through its range (the bot then holds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            status = self.status()
            if status and status.get("holding"):
                return status
            time.sleep(1.0)
        raise TimeoutError(
            f"replay {self.replay} not finished after {timeout:.0f} s: {self.tail()}"
        )

    def client(self) -> Any:
        from freqtrade_client import FtRestClient

        return FtRestClient(self.api_url, API_USER, API_PASSWORD, timeout=30)

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"replay bot exited with {self.process.returncode}: {self.tail()}")

    def tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.output, self.run_dir / "freqtrade.log"):
            if path is not None and path.is_file():
                text += f"\n--- {path} ---\n" + "\n".join(
                    path.read_text(errors="replace").splitlines()[-lines:]
                )
        return text

    def stop(self, timeout: float = 60) -> int:
        """Interrupt the bot as Ctrl-C would and return its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)
