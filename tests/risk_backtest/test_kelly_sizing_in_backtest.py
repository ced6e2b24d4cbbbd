"""Kelly x volatility sizing in real backtests on the bundled candles: every trade's stake
recomputed independently from its exported signal candle, and every stake cap binding in one of
a few short configurations.

The expected stake is computed here from the formulas in docs/risk.md, not with tribar.risk:
barrier payoff ratio, shrinkage toward the closed trades, half Kelly, volatility scale, then the
caps. The account state at each entry (equity, open positions, closed trades) is rebuilt from
the backtest's own trade list in Freqtrade's processing order: at each candle the pairs with
open trades go first (so exits at that candle come before entries), then the whitelist in order.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_analysis_data

from tests.foundation.ftrun import REPO_ROOT, run_tribar

pytestmark = pytest.mark.freqtrade

STRATEGY = "TripleBarrierMLKelly"
STRATEGY_PATH = str(REPO_ROOT / "tests" / "fixtures" / "strategies")
TIMERANGE = "20250701-20250801"
# The models of test_limits_in_backtest.py (same pairs, range and features): trained once.
ENV = {"FREQTRADE__FREQAI__IDENTIFIER": "tribar-test-risk-limits"}
HOUR = timedelta(hours=1)
CONFIG = json.loads((REPO_ROOT / "config.json").read_text())
WHITELIST: list[str] = CONFIG["exchange"]["pair_whitelist"]
MARKETS = json.loads((REPO_ROOT / "user_data" / "markets" / "binance-spot.json").read_text())
# TripleBarrierML's barrier geometry and config.json's fee; the shipped sizing defaults.
K_TP, K_SL, FEE = 3.0, 1.5, float(CONFIG["fee"])
KELLY, MAX_PCT, SCALE_MIN, SCALE_MAX, PRIOR = 0.5, 0.10, 0.2, 2.0, 20.0
CAPITAL = 1000.0
LOOSE = {
    "max_position_value_usd": 1000.0, "max_total_exposure_usd": 1000.0,
    "max_daily_loss_usd": 1000.0, "max_drawdown_pct": 100.0, "min_account_balance_usd": 0.0,
    "max_trades_per_hour": 100, "blacklist_symbols": [],
}  # fmt: skip
# name -> (risk limits, Freqtrade config). A small wallet makes Freqtrade's max_stake (the
# stake available) bind; available_capital keeps the equity Kelly sizes on at 1000 + profit.
CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "loose": ({}, {}),
    "position_value": ({"max_position_value_usd": 25.0}, {}),
    "total_exposure": ({"max_position_value_usd": 60.0, "max_total_exposure_usd": 60.0}, {}),
    "wallet": ({}, {"dry_run_wallet": 60}),
}
CAPS = ("max_position_pct", "max_position_value_usd", "max_total_exposure_usd", "max_stake")


def run(tmp_path: Path, limits: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    override = tmp_path / "override.json"
    override.write_text(
        json.dumps(
            {"stake_amount": "unlimited", "available_capital": CAPITAL, **config,
             "tribar": {"risk_limits": {**LOOSE, **limits}}}
        )
    )  # fmt: skip
    out = tmp_path / "results"
    out.mkdir()
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(override), "--strategy", STRATEGY,
        "--strategy-path", STRATEGY_PATH, "--timerange", TIMERANGE, "--cache", "none",
        "--export", "signals", "--backtest-directory", str(out), env=ENV,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    archive = next(out.glob("backtest-result-*.zip"))
    with zipfile.ZipFile(archive) as zf:
        name = next(
            n for n in zf.namelist()
            if n.endswith(".json") and "_config" not in n and "market" not in n
        )  # fmt: skip
        trades = pd.DataFrame(json.loads(zf.read(name))["strategy"][STRATEGY]["trades"])
    for col in ("open_date", "close_date"):
        trades[col] = pd.to_datetime(trades[col], utc=True)
    signals = load_backtest_analysis_data(archive, "signals")[STRATEGY]
    return {"trades": trades, "signals": signals, "log": log, "limits": {**LOOSE, **limits},
            "wallet": float(config.get("dry_run_wallet", CONFIG["dry_run_wallet"]))}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {
        name: run(tmp_path_factory.mktemp(name), limits, config)
        for name, (limits, config) in CONFIGS.items()
    }


def payoff_ratio(price: float, atr: float, closed_ratios: list[float]) -> float:
    keep = (1.0 - FEE) / (1.0 + FEE)
    r_win = (1.0 + K_TP * atr / price) * keep - 1.0
    r_loss = (1.0 - K_SL * atr / price) * keep - 1.0
    b_geo = r_win / -r_loss
    wins = [r for r in closed_ratios if r > 0]
    losses = [-r for r in closed_ratios if r < 0]
    if not wins or not losses:
        return b_geo
    n_eff = 2.0 * len(wins) * len(losses) / (len(wins) + len(losses))
    weight = n_eff / (n_eff + PRIOR)
    b_emp = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
    return math.exp((1.0 - weight) * math.log(b_geo) + weight * math.log(b_emp))


def expected_bounds(trade: pd.Series, run_: dict[str, Any]) -> dict[str, float]:
    """The stake each sizing step and cap allows for ``trade``, from its signal candle and the
    account as it stood when Freqtrade sized it."""
    trades: pd.DataFrame = run_["trades"]
    t, pair = trade["open_date"], trade["pair"]
    order = WHITELIST.index(pair)
    before = trades[
        (trades["open_date"] < t)
        | ((trades["open_date"] == t) & (trades["pair"].map(WHITELIST.index) < order))
    ]
    closed = before[before["close_date"] <= t]
    still_open = before[before["close_date"] > t]
    candles = run_["signals"][pair]
    candle = candles[pd.to_datetime(candles["date"], utc=True) == t - HOUR]
    assert len(candle) == 1, f"{pair} {t}: no exported signal candle"
    p, atr, baseline = (float(candle[c].iloc[0]) for c in
                        ("tribar_p_tp", "tribar_atr", "tribar_atr_baseline"))  # fmt: skip
    price = float(trade["open_rate"])
    b = payoff_ratio(price, atr, closed["profit_ratio"].tolist())
    f = KELLY * (b * p - (1.0 - p)) / b
    assert f > 0.0, f"{pair} {t}: traded without an edge (p={p}, b={b})"
    s = min(max(baseline / atr, SCALE_MIN), SCALE_MAX)
    profit = float(closed["profit_abs"].sum())
    equity = CAPITAL + profit
    tied_up = float(still_open["stake_amount"].sum())
    limits = run_["limits"]
    return {
        "kelly_x_volatility": f * s * equity,
        "max_position_pct": MAX_PCT * equity,
        "max_position_value_usd": limits["max_position_value_usd"]
        - float(still_open.loc[still_open["pair"] == pair, "stake_amount"].sum()),
        "max_total_exposure_usd": limits["max_total_exposure_usd"] - tied_up,
        # Freqtrade's max_stake: the stake available, min(equity, free wallet) minus open stakes.
        "max_stake": min(equity, run_["wallet"] + profit) - tied_up,
    }


@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_stake_is_kelly_x_volatility_under_the_caps(
    runs: dict[str, dict[str, Any]], name: str
) -> None:
    run_ = runs[name]
    trades: pd.DataFrame = run_["trades"]
    assert len(trades) >= 5, f"{name}: too few trades to check ({len(trades)})"
    for _, trade in trades.iterrows():
        expected = min(expected_bounds(trade, run_).values())
        # Freqtrade truncates the amount to the pair's step and recomputes the stake from it.
        step = float(MARKETS[trade["pair"]]["precision"]["amount"])
        amount = math.floor(expected / trade["open_rate"] / step + 1e-6) * step
        assert trade["amount"] == pytest.approx(amount, abs=step * 1e-3), (
            f"{name} {trade['pair']} {trade['open_date']}: amount {trade['amount']}, "
            f"expected {amount} (stake {expected:.4f})"
        )
        assert trade["stake_amount"] <= expected + 1e-6


def test_every_cap_binds_in_some_configuration(runs: dict[str, dict[str, Any]]) -> None:
    bound: dict[str, int] = dict.fromkeys(("kelly_x_volatility", *CAPS), 0)
    for run_ in runs.values():
        for _, trade in run_["trades"].iterrows():
            bounds = expected_bounds(trade, run_)
            smallest = min(bounds, key=lambda k: bounds[k])
            # Count a step only where it alone decided the stake.
            if all(bounds[k] > bounds[smallest] + 1e-6 for k in bounds if k != smallest):
                bound[smallest] += 1
    assert all(bound.values()), bound
    # The strategy logged the same caps binding, and entries refused below the exchange minimum.
    logged = "".join(r["log"] for r in runs.values())
    for cap in CAPS:
        assert re.search(rf"stake resized \[{cap}\]", logged), cap
    assert "entry refused [min_stake]" in logged
    assert "entry refused [kelly_edge]" in logged


STORED_CAP = re.compile(r"tribar-test stake cap: (\S+) (\S+) (\S+)")


def test_the_binding_cap_is_stored_on_the_trade(runs: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, run_ in runs.items():
        stored = {
            (pair, pd.Timestamp(when)): None if cap == "None" else cap
            for pair, when, cap in STORED_CAP.findall(run_["log"])
        }
        trades = run_["trades"]
        assert len(stored) == len(trades), name
        for _, trade in trades.iterrows():
            bounds = expected_bounds(trade, run_)
            smallest = min(bounds, key=lambda k: bounds[k])
            if any(abs(bounds[k] - bounds[smallest]) <= 1e-6 for k in bounds if k != smallest):
                continue  # a tie: either name would be right
            want = None if smallest == "kelly_x_volatility" else smallest
            assert stored[(trade["pair"], trade["open_date"])] == want, (name, trade["pair"])
            checked += 1
    assert checked > 50
