"""``tribar evaluate --quick`` end to end: real Freqtrade/FreqAI backtests, then every figure in
the report checked against an independent recomputation from the result files, the saved FreqAI
predictions and the candles.

The recomputation reads the result zip with ``zipfile``/``json``/``pandas`` only and uses plain
formulas; labels come from the reference loop ``_triple_barrier_labels_reference`` (not the
vectorised implementation the evaluation uses). Only the stationary-bootstrap interval reuses
``block_bootstrap_sharpe_ci`` (a random resampling that cannot be re-derived independently), on
independently computed returns.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from scipy import stats
from sklearn.metrics import roc_auc_score

from tests.foundation.ftrun import run_tribar
from tribar.analysis.analytics.performance import block_bootstrap_sharpe_ci
from tribar.calibration import expected_calibration_error
from tribar.evaluate.setup import BUNDLED_DATA, MODELS_DIR, QUICK, REPO_ROOT
from tribar.labels import BarrierSpec, _triple_barrier_labels_reference

pytestmark = pytest.mark.freqtrade

START = pd.Timestamp(QUICK.start)
END = pd.Timestamp(QUICK.end)
FIGURES = (
    "trades", "win rate", "avg win", "avg loss", "profit factor", "total return", "CAGR",
    "Sharpe", "Sharpe 95 % CI", "Sharpe SE", "PSR", "Sortino", "Calmar", "max drawdown",
    "exposure", "OOS AUC", "OOS ECE", "Deflated Sharpe ratio", "Variants tried", "Wall time",
    "Buy-and-hold, equal weight", "SampleStrategy", "FreqaiExampleStrategy + LightGBMRegressor",
    "Calibration by decile",
)  # fmt: skip


# --- report parsing ---------------------------------------------------------------------------
def tables(markdown: str) -> list[list[dict[str, str]]]:
    """Every markdown table as a list of {header: cell} rows."""
    found, lines = [], markdown.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.match(r"^\|[-:|]+\|$", lines[i + 1]):
            # Split on " | " only: a cell may hold "|" itself (the "|gap|" header).
            header = [c.strip() for c in lines[i][2:-2].split(" | ")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i][2:-2].split(" | ")]
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def table_with(markdown: str, header: str, first: str = "") -> list[dict[str, str]]:
    return next(t for t in tables(markdown) if t and header in t[0] and first in t[0])


def value(cell: str) -> float:
    cell = cell.strip().strip("*")
    if cell == "n/a":
        return math.nan
    if cell in ("inf", "-inf"):
        return float(cell)
    return float(cell[:-2]) / 100 if cell.endswith(" %") else float(cell)


def pair_of(cell: str) -> tuple[float, float]:
    lo, hi = cell.strip("[]").split(", ")
    return value(lo), value(hi)


def close(reported: str, expected: float) -> bool:
    """``reported`` is ``expected`` rounded as the report rounds it."""
    shown = reported.strip().strip("*")
    got = value(shown)
    if math.isnan(expected) or math.isinf(expected):
        return (math.isnan(got) and math.isnan(expected)) or got == expected
    decimals = len(shown.split(".")[1].split(" ")[0]) if "." in shown else 0
    unit = 0.01 if shown.endswith(" %") else 1.0
    return abs(got - expected) <= 0.5 * 10**-decimals * unit + 1e-12


# --- independent recomputation ------------------------------------------------------------------
@dataclass
class Recomputed:
    trades: int
    win_rate: float
    avg_win: float
    avg_loss: float
    profit_factor: float
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    exposure: float
    psr: float
    returns: np.ndarray


def figures(equity: pd.Series, trades: pd.DataFrame) -> Recomputed:
    grid = pd.date_range(START, END, freq="1D")
    daily = np.array([equity[equity.index <= t].iloc[-1] for t in grid])
    r = daily[1:] / daily[:-1] - 1
    sd = r.std(ddof=0)  # Freqtrade's calculate_sharpe_from_balance convention
    sharpe = r.mean() / sd * math.sqrt(365) if sd > 0 else math.nan
    # Freqtrade's calculate_sortino_from_balance: population std of the losing days only.
    losing = r[r < 0]
    downside = losing.std(ddof=0) if len(losing) > 1 and np.ptp(losing) > 0 else 0.0
    values = equity.to_numpy()
    max_dd = float(np.max(1 - values / np.maximum.accumulate(values)))
    days = (END - START).days  # Freqtrade's calculate_cagr: whole days, 365-day years
    cagr = (values[-1] / values[0]) ** (365 / days) - 1
    # Freqtrade's calculate_calmar_from_balance: total return per day in %, over the relative
    # drawdown at the largest money drawdown, times sqrt(365).
    cum = values - values[0]
    high = np.maximum(np.maximum.accumulate(cum), 0.0)
    trough = int(np.argmin(cum - high))
    at_trough = (high[trough] - cum[trough]) / (values[0] + high[trough])
    calmar_numerator = (values[-1] / values[0] - 1) / max(1, days) * 100 * math.sqrt(365)
    pnl = trades["profit_abs"].to_numpy(float) if len(trades) else np.array([])
    ratio = trades["profit_ratio"].to_numpy(float) if len(trades) else np.array([])
    # Exposure: minutes with a position open, by brute force over a minute grid.
    minutes = pd.date_range(START, END, freq="1min", inclusive="left")
    busy = np.zeros(len(minutes), dtype=bool)
    for _, t in trades.iterrows():
        busy |= (minutes >= t["open_date"]) & (minutes < t["close_date"])
    sr = r.mean() / r.std(ddof=1) if sd > 0 else math.nan  # PSR: sample std
    psr = stats.norm.cdf(
        sr * math.sqrt(len(r) - 1)
        / math.sqrt(1 - stats.skew(r) * sr + (stats.kurtosis(r, fisher=False) - 1) / 4 * sr**2)
    ) if sd > 0 else math.nan  # fmt: skip
    losses = -pnl[pnl < 0].sum()
    return Recomputed(
        trades=len(trades),
        win_rate=float((pnl > 0).mean()) if len(pnl) else math.nan,
        avg_win=float(ratio[pnl > 0].mean()) if (pnl > 0).any() else math.nan,
        avg_loss=float(ratio[pnl < 0].mean()) if (pnl < 0).any() else math.nan,
        profit_factor=(pnl[pnl > 0].sum() / losses if losses else
                       (math.inf if (pnl > 0).any() else math.nan)),
        total_return=values[-1] / values[0] - 1,
        cagr=cagr,
        sharpe=sharpe,
        sortino=(r.mean() / downside * math.sqrt(365) if downside > 0 else
                 math.copysign(math.inf, r.mean()) if r.mean() != 0 else math.nan),
        calmar=(calmar_numerator / at_trough if at_trough > 0 else
                math.copysign(math.inf, calmar_numerator) if calmar_numerator else math.nan),
        max_drawdown=max_dd,
        exposure=float(busy.mean()),
        psr=float(psr),
        returns=r,
    )  # fmt: skip


def from_result_zip(path: Path) -> tuple[dict, pd.Series, pd.DataFrame]:
    with zipfile.ZipFile(path) as zf:
        stats_json = json.loads(zf.read(f"{path.stem}.json"))
        (strategy, s), = stats_json["strategy"].items()
        wallet = pd.read_feather(io.BytesIO(zf.read(f"{path.stem}_{strategy}_wallet.feather")))
    hourly = wallet.groupby("date")["total_quote"].sum()
    hourly = hourly[(hourly.index > START) & (hourly.index < END)]
    equity = pd.concat(
        [pd.Series([s["starting_balance"]], index=[START]), hourly,
         pd.Series([s["final_balance"]], index=[END])]
    ).astype(float)  # fmt: skip
    trades = pd.DataFrame(s["trades"])
    if len(trades):
        trades["open_date"] = pd.to_datetime(trades["open_date"], utc=True)
        trades["close_date"] = pd.to_datetime(trades["close_date"], utc=True)
    return s, equity, trades


def buy_and_hold() -> tuple[pd.Series, pd.DataFrame]:
    share = QUICK.wallet / len(QUICK.pairs)
    values, rows = [], []
    for pair in QUICK.pairs:
        c = pd.read_feather(BUNDLED_DATA / f"{pair.replace('/', '_')}-1h.feather")
        c = c[(c["date"] >= START) & (c["date"] < END)].set_index("date")
        units = share / (1 + QUICK.fee) / c["open"].iloc[0]
        values.append(units * c["open"])
        end_value = units * c["close"].iloc[-1]
        rows.append({"profit_abs": end_value - share, "profit_ratio": end_value / share - 1,
                     "open_date": START, "close_date": END})  # fmt: skip
    equity = sum(values)
    equity.iloc[0] = QUICK.wallet
    trades = pd.DataFrame(rows)
    final = pd.Series([trades["profit_abs"].sum() + QUICK.wallet], index=[END])
    equity = pd.concat([equity, final])
    return equity, trades


# --- the test -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    work = tmp_path_factory.mktemp("evaluate")
    out = work / "results.md"
    result = run_tribar(
        "evaluate", "--quick", "--work-dir", str(work), "--out", str(out), timeout=900
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return out.read_text(), work


def check_row(row: dict[str, str], expected: Recomputed) -> None:
    for header, attribute in [
        ("total return", "total_return"), ("CAGR", "cagr"), ("max drawdown", "max_drawdown"),
        ("Sharpe", "sharpe"), ("PSR", "psr"), ("Sortino", "sortino"), ("Calmar", "calmar"),
        ("trades", "trades"), ("win rate", "win_rate"), ("avg win", "avg_win"),
        ("avg loss", "avg_loss"), ("profit factor", "profit_factor"), ("exposure", "exposure"),
    ]:  # fmt: skip
        if header in row:
            assert close(row[header], getattr(expected, attribute)), (
                header, row[header], getattr(expected, attribute),
            )  # fmt: skip
    if "Sharpe 95 % CI" in row and len(expected.returns) > 1:
        lo, hi = block_bootstrap_sharpe_ci(expected.returns, block=10, n_boot=5000)
        assert close(row["Sharpe 95 % CI"].split(", ")[0].strip("["), lo)
        assert close(row["Sharpe 95 % CI"].split(", ")[1].strip("]"), hi)


def test_report_has_every_figure(evaluated: tuple[str, Path]) -> None:
    report, _ = evaluated
    assert report.startswith("# Walk-forward results")
    assert "Generated by `tribar evaluate --quick" in report
    # Paths relative to the repository: the committed report names no machine's folders.
    assert "candles from `user_data/data/binance`" in report
    assert str(REPO_ROOT) not in report
    for figure in FIGURES:
        assert figure in report, figure
    oos_figures = {r["figure"]: r["value"] for r in table_with(report, "figure", "value")}
    assert oos_figures["OOS AUC"] != "n/a" and oos_figures["OOS ECE (10 quantile bins)"] != "n/a"


def test_strategy_and_baseline_figures_equal_the_result_files(evaluated: tuple[str, Path]) -> None:
    report, work = evaluated
    returns = {r[""]: r for r in table_with(report, "total return", "CAGR")}
    trades = {r[""]: r for r in table_with(report, "win rate", "avg win")}
    chosen = re.search(r"TripleBarrierML \[(?P<name>[^\]]+)\] \(chosen\)", report)
    assert chosen is not None
    runs = {
        chosen[0]: work / "results" / f"strategy__{chosen['name']}",
        "SampleStrategy": work / "results" / "baseline__sample",
        "FreqaiExampleStrategy + LightGBMRegressor": work / "results" / "baseline__freqai-example",
    }
    for label, run_dir in runs.items():
        (zip_path,) = (run_dir / "backtest").glob("*.zip")
        s, equity, trade_rows = from_result_zip(zip_path)
        expected = figures(equity, trade_rows)
        assert expected.trades == s["total_trades"]
        assert close(returns[label]["total return"], s["profit_total"])  # Freqtrade's own figure
        check_row(returns[label], expected)
        check_row(trades[label], expected)
    hold_equity, hold_trades = buy_and_hold()
    expected = figures(hold_equity, hold_trades)
    check_row(returns["Buy-and-hold, equal weight"], expected)
    check_row(trades["Buy-and-hold, equal weight"], expected)


def test_oos_calibration_equals_predictions_against_realised_labels(
    evaluated: tuple[str, Path],
) -> None:
    report, work = evaluated
    name = re.search(r"## Out-of-sample model quality \(`(?P<name>[^`]+)`\)", report)
    assert name is not None
    run_dir = work / "results" / f"strategy__{name['name']}"
    config = json.loads((run_dir / "config.json").read_text())
    model_dir = MODELS_DIR / config["freqai"]["identifier"]
    horizon = config["freqai"]["feature_parameters"]["label_period_candles"]
    spec = BarrierSpec(3.0, 1.5, horizon, QUICK.fee)  # the strategy's default geometry
    rows = []
    for pair in QUICK.pairs:
        coin = pair.split("/")[0].lower()
        candles = pd.read_feather(BUNDLED_DATA / f"{pair.replace('/', '_')}-1h.feather")
        atr = talib.ATR(candles["high"], candles["low"], candles["close"], 14)
        labels = _triple_barrier_labels_reference(candles, atr, spec)
        realised = pd.DataFrame({"date": candles["date"], "outcome": labels["outcome"]})
        for path in (model_dir / "backtesting_predictions").glob(f"cb_{coin}_*_prediction.feather"):
            predicted = pd.read_feather(path)[["date", "tp"]]
            rows.append(predicted.merge(realised, on="date"))
    joined = pd.concat(rows)
    joined = joined[(joined["date"] >= START) & (joined["date"] < END)]
    joined = joined.dropna(subset=["tp", "outcome"])
    y = (joined["outcome"] == 1.0).astype(int).to_numpy()
    p = joined["tp"].to_numpy(float)

    figures_table = {r["figure"]: r["value"] for r in table_with(report, "figure", "value")}
    assert close(figures_table["OOS AUC"], roc_auc_score(y, p))
    assert close(figures_table["OOS ECE (10 quantile bins)"], expected_calibration_error(y, p))
    assert close(figures_table["realised take-profit rate"], y.mean())
    assert f"Scored: **{len(y)}** predictions (pair x candle)" in report
    deciles = table_with(report, "realised rate", "decile")
    assert sum(int(r["candles"]) for r in deciles) == len(y)
    # Rates are printed with 3 decimals: each bin's count x rate is exact to 0.0005 x count.
    hits = sum(value(r["realised rate"]) * int(r["candles"]) for r in deciles)
    assert abs(hits - y.sum()) <= 0.0005 * len(y) + 1e-9
