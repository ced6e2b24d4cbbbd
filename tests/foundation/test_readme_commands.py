"""Every command in the README's ``bash`` blocks runs as printed, on a copy of the repository.

The commands run in README order with ``bash -c`` in a fresh copy of the repository's files
(what ``git ls-files`` lists: committed plus new, never git-ignored outputs such as models or
results), with this venv's ``bin`` first on ``PATH`` (what ``. .venv/bin/activate`` does), no
``FREQTRADE__*``/``TRIBAR_*`` variables and no stdin. Long commands are shortened by the
replacements in ``RUN`` (a shorter ``--timerange``, fewer epochs), nothing else. A command that
needs the network, a running service or is this suite itself is listed in ``EXCLUDED`` with the
reason. A README command that is in neither fails ``test_every_readme_command_is_run_or_excluded``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.foundation.ftrun import REPO_ROOT

README = REPO_ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
# Two weeks inside the bundled candles: one FreqAI window (6 pairs, 90 training days) instead of
# the printed ranges' three to five. The backtest and the first hyperopt share it, so the
# hyperopt reuses the backtest's models as it does after the printed commands.
SHORT_RANGE = "20250801-20250815"


@dataclass(frozen=True)
class Run:
    replace: tuple[tuple[str, str], ...] = ()  # (printed, run instead): the documented shortening
    expect: tuple[str, ...] = ()  # the output must contain each
    check: Callable[[str, Path], None] | None = None  # more checks on (output, repository copy)
    timeout: float = 600


def _hyperopt_ran(output: str, repo: Path) -> None:
    assert "Could not pickle" not in output  # hyperopt's default parallel workers
    assert list((repo / "user_data" / "hyperopt_results").glob("*.fthypt")), "no epoch stored"
    # The README says: delete the exported parameters to return to the defaults, which the later
    # commands (lookahead-analysis: its 20 trades) are documented with. Two random epochs can
    # export an entry threshold that leaves no trade at all. (With the gate closed no epoch
    # trades, and nothing is exported.)
    (repo / "strategies" / "TripleBarrierML.json").unlink(missing_ok=True)


def _hyperopt_trained_without_the_gate(output: str, repo: Path) -> None:
    _hyperopt_ran(output, repo)
    assert "triple-barrier training on" in output  # its own identifier: new models
    assert "edge gate not passed" not in output  # the override switched the gate off


LOOKAHEAD_ROW = re.compile(
    r"TripleBarrierML\.py\s*│\s*TripleBarrierML\s*│\s*(?P<bias>\w+)\s*│\s*(?P<signals>\d+)\s*│"
    r"\s*(?P<entry>\d+)\s*│\s*(?P<exit>\d+)\s*│"
)


def _lookahead_found_no_biased_signal(output: str, repo: Path) -> None:
    assert "too few trades" not in output and "Test failed" not in output
    row = LOOKAHEAD_ROW.search(output)
    assert row, output[-3000:]
    assert int(row["signals"]) >= 10  # Freqtrade's minimum for a meaningful analysis
    assert (int(row["entry"]), int(row["exit"])) == (0, 0), row.group(0)


def _env_file_loads(output: str, repo: Path) -> None:
    assert (repo / ".env").is_file()


# The README's commands (whitespace-normalised, comments dropped) that this test runs.
RUN: dict[str, Run] = {
    "tribar ft backtesting -c config.json --strategy TripleBarrierML --timerange 20250601-20250901":
        Run(replace=(("20250601-20250901", SHORT_RANGE),),
            expect=("Loaded 14 markets offline from snapshot", "BACKTESTING REPORT")),
    "tribar ft hyperopt -c config.json --strategy TripleBarrierML --hyperopt-loss "
    "SharpeHyperOptLoss --spaces buy -e 50 --timerange 20250501-20251001":
        Run(replace=(("-e 50", "-e 2"), ("20250501-20251001", SHORT_RANGE)),
            check=_hyperopt_ran),
    "tribar ft hyperopt -c config.json -c config/edge-gate-off.json --strategy TripleBarrierML "
    "--hyperopt-loss TribarSharpeDrawdownLoss --spaces buy -e 50 --timerange 20250501-20251001":
        Run(replace=(("-e 50", "-e 2"), ("20250501-20251001", SHORT_RANGE)),
            expect=("Using resolved hyperoptloss TribarSharpeDrawdownLoss",),
            check=_hyperopt_trained_without_the_gate),
    # As printed: a shorter range has too few trades for Freqtrade's minimum of 10.
    "tribar ft lookahead-analysis -c config.json -c config/edge-gate-off.json --strategy "
    "TripleBarrierML --timerange 20250701-20250801":
        Run(expect=("Lookahead Analysis",), check=_lookahead_found_no_biased_signal,
            timeout=900),
    "tribar db upgrade": Run(),
    # Imports the backtest above (a directory: its latest result).
    "tribar ledger import --from-backtest user_data/backtest_results/": Run(),
    "tribar report --html user_data/report.html":
        Run(check=lambda output, repo: (repo / "user_data" / "report.html").is_file() or
            pytest.fail("no HTML report written")),
    "cp .env.example .env": Run(),
    "set -a; . ./.env; set +a": Run(check=_env_file_loads),
}  # fmt: skip

EXCLUDED: dict[str, str] = {
    "tribar paper --replay 20250601..20250615 -c config.json -c config.api.json --hold":
    "a 14-day replay that holds until interrupted; tests/paper (conftest's replayed_bot) runs "
    "the same command on the same range, with a configuration that trades",
    "tribar paper report --run-dir user_data/paper/replay-20250601-20250615 --html "
    "user_data/paper/acceptance.html": "needs the replay above; tests/paper/test_replay_bot.py "
    "runs it on the replayed bot's folder",
    "tribar paper parity --run-dir user_data/paper/replay-20250601-20250615": "needs the replay "
    "above; tests/paper/test_replay_bot.py runs it on the replayed bot's folder",
    "tribar panic -c config.json -c config.api.json": "needs a running bot; "
    "tests/paper/test_replay_bot.py runs `tribar panic` against the replayed bot",
    "make demo": "make install (make test's own first step) + `tribar demo`, which "
    "tests/foundation/test_demo_end_to_end.py runs and checks figure by figure",
    "make test": "this test suite itself (run by .ci/run in a fresh clone)",
    "make install": "creates .venv from PyPI; make test runs it before pytest, so this suite "
    "runs inside the venv it makes",
    ". .venv/bin/activate": "shell state only: every command here runs with this venv's bin "
    "first on PATH, which is what it does",
    "tribar markets snapshot --exchange binance -o user_data/markets/binance-spot.json --pairs "
    "BTC/USDT ETH/USDT SOL/USDT XRP/USDT BNB/USDT ADA/USDT DOGE/USDT LINK/USDT LTC/USDT "
    "AVAX/USDT BCH/USDT TRX/USDT UNI/USDT NEAR/USDT": "fetches markets from Binance (network); "
    "tests/foundation/test_markets_snapshot_cli.py runs it against a local server replaying "
    "Binance's recorded response",
    "tribar evaluate --quick": "runs 3-4 minutes; tests/evaluate/test_evaluate_quick.py runs "
    "it (with --work-dir/--out in a temporary folder) and checks every figure of its report",
    "freqtrade download-data -c config.json --timeframes 1h 4h 1d --days 400": "downloads "
    "candles from Binance (network)",
    "freqtrade trade -c config.json -c config.api.json --strategy TripleBarrierML "
    "--strategy-path strategies --freqaimodel-path user_data/freqaimodels": "a running bot "
    "against the live exchange, with the API secrets from .env",
}


def readme_commands() -> list[str]:
    """The shell commands of the README's ``bash`` blocks, in order."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", README.read_text(), re.DOTALL | re.MULTILINE):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(re.split(r"(?:^|\s)#", line, maxsplit=1)[0].split())
            if command:
                commands.append(command)
    return commands


def test_every_readme_command_is_run_or_excluded() -> None:
    commands = readme_commands()
    assert len(commands) == len(set(commands)), "a README command appears twice"
    assert not set(RUN) & set(EXCLUDED)
    unknown = [c for c in commands if c not in RUN and c not in EXCLUDED]
    assert not unknown, f"README commands neither run nor excluded (with a reason): {unknown}"
    stale = sorted((set(RUN) | set(EXCLUDED)) - set(commands))
    assert not stale, f"listed here but no longer in the README: {stale}"
    for command, run in RUN.items():
        for printed, _ in run.replace:
            assert printed in command, (command, printed)
    # An exclusion that names the test covering the command names one that exists.
    for reason in EXCLUDED.values():
        for path in re.findall(r"tests/\S+\.py", reason):
            assert (REPO_ROOT / path).is_file(), path


def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    return [name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as a fresh clone has it (plus new files), nothing generated."""
    copy = tmp_path_factory.mktemp("readme") / "tribar"
    for name in repository_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    return copy


def run_command(command: str, repo: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREQTRADE__", "TRIBAR_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    return subprocess.run(
        ["bash", "-c", command], cwd=repo, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def command_as_run(command: str) -> str:
    for printed, instead in RUN[command].replace:
        command = command.replace(printed, instead)
    return command


@pytest.mark.freqtrade
@pytest.mark.parametrize(
    "command", [c for c in readme_commands() if c in RUN], ids=lambda c: "_".join(c.split())[:72]
)
def test_readme_command_works(command: str, repo_copy: Path) -> None:
    assert (VENV_BIN / "tribar").is_file(), f"no tribar command in {VENV_BIN}"
    run = RUN[command]
    result = run_command(command_as_run(command), repo_copy, run.timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command_as_run(command)}\n{output[-4000:]}"
    assert "Traceback (most recent call last)" not in output, output[-4000:]
    for text in run.expect:
        assert text in output, f"{text!r} not in the output:\n{output[-3000:]}"
    if run.check is not None:
        run.check(output, repo_copy)
