"""Run ``tribar ft …`` as a user would: a subprocess from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FREQTRADE_TEMPLATES = Path(__import__("freqtrade").__file__).parent / "templates"


def run_tribar(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    # Never let a developer's shell settings change what the test runs.
    for key in list(full_env):
        if key.startswith(("FREQTRADE__", "TRIBAR_")) and key not in (env or {}):
            del full_env[key]
    return subprocess.run(
        [sys.executable, "-m", "tribar.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
