"""Shared by the ledger benchmarks: machine description and docs/_bench_ledger.md sections."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from tribar.testing.machine import cpu_model

REPO_ROOT = Path(__file__).resolve().parent.parent
MD_PATH = REPO_ROOT / "docs" / "_bench_ledger.md"
SECTIONS = ("import", "mirror")


def machine_line() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, `uname -m` {platform.machine()}, {cpu_model()}, "
        f"{os.cpu_count()} logical CPUs shared with other jobs (1-min load average {load:.1f} "
        "when the run ended)"
    )


def _read_sections(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not path.exists():
        return out
    current: str | None = None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("### Ledger "):
            current = line.split()[2]
            out[current] = ""
        if current is not None:
            out[current] += line
    return out


def write_section(section: str, command: str, body: str) -> Path:
    """Replace this benchmark's section of docs/_bench_ledger.md, keeping the other one."""
    sections = _read_sections(MD_PATH)
    sections[section] = (
        f"### Ledger {section}\n\n{machine_line()}\n\n`{command}`\n\n{body.rstrip()}\n\n"
    )
    order = [s for s in SECTIONS if s in sections]
    MD_PATH.write_text("## Trade ledger benchmarks\n\n" + "".join(sections[s] for s in order))
    return MD_PATH
