"""Each hard limit tripping (and clearing, where it clears by itself) in real backtests of the
strategy on the bundled Binance candles, read back from Freqtrade's result file."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar

pytestmark = pytest.mark.freqtrade

STRATEGY = "TripleBarrierMLFixedStake"
STRATEGY_PATH = str(REPO_ROOT / "tests" / "fixtures" / "strategies")
TIMERANGE = "20250701-20250801"
# One identifier for the module: the models are trained by the first backtest and reused.
ENV = {"FREQTRADE__FREQAI__IDENTIFIER": "tribar-test-risk-limits"}
LOOSE = {
    "max_position_value_usd": 1000.0, "max_total_exposure_usd": 1000.0,
    "max_daily_loss_usd": 1000.0, "max_drawdown_pct": 100.0, "min_account_balance_usd": 0.0,
    "max_trades_per_hour": 100, "blacklist_symbols": [],
}  # fmt: skip


def backtest(
    tmp_path: Path, limits: dict[str, Any], stake: float = 100.0
) -> tuple[pd.DataFrame, dict, str]:
    override = tmp_path / "limits.json"
    override.write_text(
        json.dumps({"stake_amount": stake, "tribar": {"risk_limits": {**LOOSE, **limits}}})
    )
    out = tmp_path / "results"
    out.mkdir()
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(override), "--strategy", STRATEGY,
        "--strategy-path", STRATEGY_PATH, "--timerange", TIMERANGE, "--cache", "none",
        "--backtest-directory", str(out), env=ENV,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    archive = next(out.glob("backtest-result-*.zip"))
    with zipfile.ZipFile(archive) as zf:
        name = next(
            n
            for n in zf.namelist()
            if n.endswith(".json") and "_config" not in n and "market" not in n
        )
        stats = json.loads(zf.read(name))["strategy"][STRATEGY]
    trades = pd.DataFrame(stats["trades"])
    for col in ("open_date", "close_date"):
        trades[col] = pd.to_datetime(trades[col], utc=True)
    return trades.sort_values("open_date").reset_index(drop=True), stats, log


@pytest.fixture(scope="module")
def unconstrained(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    trades, _, _ = backtest(tmp_path_factory.mktemp("free"), {})
    assert len(trades) > 30, "the fixture strategy must trade a lot for the limits to bind"
    return trades


def _max_open_exposure(trades: pd.DataFrame) -> float:
    worst = 0.0
    for when in trades["open_date"]:
        open_now = trades[(trades["open_date"] <= when) & (trades["close_date"] > when)]
        worst = max(worst, float(open_now["stake_amount"].sum()))
    return worst


def _max_entries_per_hour(trades: pd.DataFrame) -> int:
    times = trades["open_date"]
    return max(int(((times > t - timedelta(hours=1)) & (times <= t)).sum()) for t in times)


def test_blacklist_exposure_and_rate_limits(tmp_path: Path, unconstrained: pd.DataFrame) -> None:
    assert "ETH/USDT" in set(unconstrained["pair"])
    assert _max_open_exposure(unconstrained) > 250 and _max_entries_per_hour(unconstrained) > 1

    trades, _, _ = backtest(
        tmp_path,
        {"blacklist_symbols": ["ETH/.*"], "max_total_exposure_usd": 250.0,
         "max_position_value_usd": 150.0, "max_trades_per_hour": 1},
    )  # fmt: skip
    assert len(trades) > 10
    assert "ETH/USDT" not in set(trades["pair"])
    assert _max_open_exposure(trades) <= 250.0 + 1e-6
    assert _max_entries_per_hour(trades) <= 1
    # Exposure binds by shrinking stakes, not only by skipping: some stakes are below 100.
    assert (trades["stake_amount"] < 100.0 - 1e-6).any()


def test_daily_loss_halts_until_next_utc_day_then_resumes(tmp_path: Path) -> None:
    limit = 3.0
    trades, stats, log = backtest(tmp_path, {"max_daily_loss_usd": limit})
    # decide is the one enforcement: no Freqtrade lock, the breaker's refusals instead.
    assert not [lk for lk in stats.get("locks", []) if "tribar" in (lk.get("reason") or "")]
    assert "entry refused [circuit_breaker]: risk halt: realised loss today" in log
    trips = 0
    tripped_days = []
    for day, group in trades.groupby(trades["close_date"].dt.floor("D")):
        realised = group.sort_values("close_date")["profit_abs"].cumsum()
        hit = group.sort_values("close_date")["close_date"][realised <= -limit]
        if hit.empty:
            continue
        trips += 1
        tripped_days.append(day)
        tripped_at = hit.iloc[0]
        next_day = day + timedelta(days=1)
        later_same_day = trades[
            (trades["open_date"] > tripped_at + timedelta(hours=1))
            & (trades["open_date"] < next_day)
        ]
        assert later_same_day.empty, f"entries after the daily loss limit on {day.date()}"
    assert trips >= 1
    # It clears: trading goes on after the first halted day.
    assert (trades["open_date"] >= tripped_days[0] + timedelta(days=1)).any()


def test_drawdown_halt_stops_all_entries(tmp_path: Path, unconstrained: pd.DataFrame) -> None:
    trades, _, _ = backtest(tmp_path, {"max_drawdown_pct": 1.0})
    equity = 1000.0 + trades.sort_values("close_date")["profit_abs"].cumsum()
    peak = equity.cummax().clip(lower=1000.0)
    crossed = trades.sort_values("close_date")["close_date"][(peak - equity) / peak >= 0.01]
    assert not crossed.empty, "closed-trade drawdown never reached the limit"
    # The halt trips at the latest when closed-trade equity crosses the limit (open trades can
    # trip it earlier); nothing opens afterwards, and it does not clear by itself.
    assert not (trades["open_date"] > crossed.iloc[0] + timedelta(hours=1)).any()
    assert len(trades) < len(unconstrained)


def test_balance_floor_halt(tmp_path: Path, unconstrained: pd.DataFrame) -> None:
    trades, _, _ = backtest(tmp_path, {"min_account_balance_usd": 995.0})
    equity = 1000.0 + trades.sort_values("close_date")["profit_abs"].cumsum()
    below = trades.sort_values("close_date")["close_date"][equity < 995.0]
    assert not below.empty, "equity never went below the floor"
    assert not (trades["open_date"] > below.iloc[0] + timedelta(hours=1)).any()
    assert len(trades) < len(unconstrained)
