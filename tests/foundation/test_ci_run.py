"""``.ci/run`` tests the committed HEAD in a fresh clone with nothing beside it.

The real script runs in a throw-away repository whose ``make test`` reports what it sees, so
the clone logic is checked without running the real test suite inside the test suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.foundation.ftrun import REPO_ROOT

CI_RUN = REPO_ROOT / ".ci" / "run"
# A stand-in for the project's Makefile: prints where it runs and what is there, then exits with
# $(STATUS) from the committed file status.txt.
PROBE_MAKEFILE = """\
test:
\t@echo "cwd=$$(pwd)"
\t@echo "siblings=$$(ls -A ..)"
\t@echo "files=$$(ls -A | tr '\\n' ' ')"
\t@echo "stdin=$$(cat || true)"
\t@exit $$(cat status.txt)
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"},
    )  # fmt: skip


def probe_repo(base: Path, status: int) -> Path:
    repo = base / "project"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(CI_RUN, repo / ".ci" / "run")
    (repo / "Makefile").write_text(PROBE_MAKEFILE)
    (repo / "status.txt").write_text(f"{status}\n")
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "probe")
    # Neither may reach the clone: a file beside the repository, an uncommitted one, an edit.
    (base / "shared").mkdir()
    (repo / "uncommitted.txt").write_text("working tree only\n")
    (repo / "status.txt").write_text("0\n")
    return repo


def run_ci(repo: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo / ".ci" / "run")], capture_output=True, text=True, timeout=120,
        input="stdin must not reach make\n", env={**os.environ, "TMPDIR": str(tmp), "CI": "true"},
        check=False,
    )  # fmt: skip


def field(output: str, name: str) -> str:
    match = re.search(rf"^{name}=(.*)$", output, re.MULTILINE)
    assert match, output
    return match.group(1).strip()


def test_committed_head_runs_alone_in_a_fresh_clone_and_is_removed(tmp_path: Path) -> None:
    repo = probe_repo(tmp_path / "checkout", status=0)
    ci_tmp = tmp_path / "ci-tmp"
    ci_tmp.mkdir()

    result = run_ci(repo, ci_tmp)

    assert result.returncode == 0, result.stdout + result.stderr
    cwd = Path(field(result.stdout, "cwd"))
    assert cwd.parent.parent == ci_tmp and cwd != repo
    assert field(result.stdout, "siblings") == cwd.name  # nothing beside the clone
    files = field(result.stdout, "files").split()
    assert "uncommitted.txt" not in files and "Makefile" in files
    assert field(result.stdout, "stdin") == ""
    assert "not committed" in result.stdout  # the dirty working tree is pointed out
    assert list(ci_tmp.iterdir()) == []  # the clone is cleaned up


def test_a_failing_make_test_fails_ci_and_still_cleans_up(tmp_path: Path) -> None:
    # The committed status.txt says 3; the working tree's "0" must not rescue it.
    repo = probe_repo(tmp_path / "checkout", status=3)
    ci_tmp = tmp_path / "ci-tmp"
    ci_tmp.mkdir()

    result = run_ci(repo, ci_tmp)

    assert result.returncode == 2, result.stdout + result.stderr  # make's status for a failure
    assert "Error 3" in result.stderr
    assert list(ci_tmp.iterdir()) == []


def test_ci_runs_the_readme_test_command() -> None:
    readme_block = (REPO_ROOT / "README.md").read_text().split("```bash", 1)[1].split("```")[0]
    # The first block's line whose comment says it runs pytest.
    readme_test = next(
        line.split("#")[0].strip()
        for line in readme_block.splitlines()
        if "pytest" in line.partition("#")[2]
    )
    assert readme_test == "make test"
    commands = [
        line.strip() for line in CI_RUN.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]  # fmt: skip
    assert commands[-1] == f"{readme_test} < /dev/null"
