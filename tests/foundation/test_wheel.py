"""A non-editable install (``pip wheel .`` / ``pip install .``) holds every package and data file.

The editable install of ``make install`` finds subpackages through its folder mapping even when
``pyproject.toml`` forgets them, so only a real wheel shows what a user or the Docker image gets.
The wheel is built offline from a copy of the sources ``[tool.setuptools] package-dir`` names
(``--no-build-isolation``: the venv's setuptools, no index), then compared file by file with
those folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.foundation.ftrun import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
# Build and cache products, never sources.
NOT_SOURCES = ("__pycache__", "*.pyc", "*.pyo")


def source_files() -> set[str]:
    """Every file under a package folder, as the path it must have in the wheel."""
    expected: set[str] = set()
    for package, folder in PACKAGE_DIRS.items():
        root = REPO_ROOT / folder
        prefix = Path(*package.split("."))
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if path.is_dir() or any(
                part == "__pycache__" or part.endswith((".pyc", ".pyo")) for part in relative.parts
            ):
                continue
            expected.add((prefix / relative).as_posix())
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(
            REPO_ROOT / folder, source / folder, ignore=shutil.ignore_patterns(*NOT_SOURCES)
        )
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (built,) = out.glob("tribar-*.whl")
    return built


def test_wheel_holds_every_source_file_and_nothing_else(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = {n for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")}
    expected = source_files()
    assert {"tribar/analysis/analytics/summary.py", "tribar/evaluate/setup.py"} <= expected
    missing, extra = sorted(expected - names), sorted(names - expected)
    assert not missing, f"not in the wheel (add to pyproject's packages / package-data): {missing}"
    assert not extra, f"in the wheel but not a source file: {extra}"


def test_wheel_declares_the_tribar_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        entry_points = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = zf.read(entry_points).decode()
    assert "tribar = tribar.cli:main" in text


def test_installed_wheel_imports_without_the_source_tree(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    # The installed copy comes first on sys.path; the dependencies come from the venv. Run from
    # the temporary folder, so the repository's own folders cannot be picked up.
    probe = (
        "import tribar, tribar.cli, tribar.evaluate.setup, tribar.analysis.analytics.summary\n"
        "import tribar.risk, tribar.freqaimodels.TripleBarrierLGBM\n"
        "from tribar.analysis.ledger import migrate as ledger_migrate, queries as ledger_queries\n"
        "from importlib import resources\n"
        "assert ledger_migrate.MIGRATIONS_DIR.joinpath('versions').is_dir()\n"
        "assert ledger_queries.SQL_DIR.joinpath('confidence_buckets.sql').is_file()\n"
        "assert resources.files('tribar.analysis.report')"
        ".joinpath('templates/report.html').is_file()\n"
        "print(tribar.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=target, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert Path(result.stdout.strip()).is_relative_to(target)
