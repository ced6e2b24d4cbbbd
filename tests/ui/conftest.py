"""A real ``freqtrade webserver`` on a free loopback port serving FreqUI (no exchange needed);
``frequi_installed`` (tests/conftest.py) installs the bundled build first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tribar.testing.postgres import free_loopback_port
from tribar.ui import InstallResult


@dataclass(frozen=True)
class Webserver:
    url: str
    username: str
    password: str
    log_file: Path


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes], log_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_file.read_text()
            raise RuntimeError(f"freqtrade webserver exited {proc.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/ping", timeout=2) as resp:
                if json.load(resp).get("status") == "pong":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"freqtrade webserver not up after {timeout}s:\n{log_file.read_text()}")


@pytest.fixture(scope="session")
def freqtrade_webserver(
    frequi_installed: InstallResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Webserver]:
    base = tmp_path_factory.mktemp("ft-webserver")
    (base / "user_data").mkdir()
    port = free_loopback_port()
    config = {
        "dry_run": True,
        "stake_currency": "USDT",
        "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT"]},
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": port,
            "username": "tribar",
            "verbosity": "error",
            "CORS_origins": [],
        },
    }
    (base / "config.json").write_text(json.dumps(config))
    password = "ui-test-" + os.urandom(6).hex()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREQTRADE__", "TRIBAR_"))}
    # Secrets only from the environment, as in production.
    env["FREQTRADE__API_SERVER__PASSWORD"] = password
    env["FREQTRADE__API_SERVER__JWT_SECRET_KEY"] = os.urandom(24).hex()
    log_file = base / "webserver.log"
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "freqtrade", "webserver", "-c", "config.json",
             "--userdir", "user_data"],
            cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_ping(url, proc, log_file, timeout=90)
        yield Webserver(url=url, username="tribar", password=password, log_file=log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``TRIBAR_SCREENSHOT_DIR`` keeps the screenshots for a look; else a temp folder."""
    kept = os.environ.get("TRIBAR_SCREENSHOT_DIR")
    if kept:
        path = Path(kept)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")
