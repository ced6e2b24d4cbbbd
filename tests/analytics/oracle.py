"""Independent pandas answers for the analytics, straight from the definitions in
docs/analytics.md, computed on the in-memory frame that was inserted (not read back), with
neither freqtrade's metric functions nor tribar's SQL helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC

import numpy as np
import pandas as pd

from tribar.analysis.analytics import TradeFilter


def select(frame: pd.DataFrame, flt: TradeFilter) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if flt.start is not None:
        mask &= frame["timestamp"] >= pd.Timestamp(flt.start)
    if flt.end is not None:
        mask &= frame["timestamp"] < pd.Timestamp(flt.end)
    if flt.pairs:
        mask &= frame["symbol"].isin(flt.pairs)
    if flt.strategy is not None:
        mask &= frame["strategy"] == flt.strategy
    if flt.dry_run is not None:
        mask &= frame["dry_run"] == flt.dry_run
    return frame[mask]


def in_close_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows are inserted in frame order, so ledger ids follow the frame's row order."""
    pos = pd.Series(np.arange(len(frame)), index=frame.index, name="_pos")
    return frame.assign(_pos=pos).sort_values(["timestamp", "_pos"], kind="stable")


def group_figures(frame: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    net = frame["net_pnl"]
    g = pd.DataFrame(
        {
            "key": key.to_numpy(),
            "trades": 1,
            "wins": (net > 0).astype(int).to_numpy(),
            "losses": (net < 0).astype(int).to_numpy(),
            "net_pnl": net.to_numpy(),
            "gross_profit": net.clip(lower=0).to_numpy(),
            "gross_loss": (-net.clip(upper=0)).to_numpy(),
        }
    )
    out = g.groupby("key").sum()
    out["win_rate"] = out["wins"] / out["trades"]
    out["avg_pnl"] = out["net_pnl"] / out["trades"]
    out["profit_factor"] = [
        (gp / gl) if gl > 0 else (math.inf if gp > 0 else math.nan)
        for gp, gl in zip(out["gross_profit"], out["gross_loss"], strict=True)
    ]
    return out


def hour(frame: pd.DataFrame) -> pd.Series:
    return frame["timestamp"].dt.tz_convert(UTC).dt.hour


def weekday(frame: pd.DataFrame) -> pd.Series:
    return frame["timestamp"].dt.tz_convert(UTC).dt.day_of_week


def bucket(frame: pd.DataFrame, n: int) -> pd.Series:
    conf = frame["model_confidence"].dropna()
    return np.minimum(np.floor(conf * n), n - 1).astype(int)


@dataclass
class Drawdown:
    money: float
    pct: float
    peak_at: pd.Timestamp | None
    trough_at: pd.Timestamp | None


def drawdown(frame: pd.DataFrame, starting_balance: float) -> Drawdown:
    ordered = in_close_order(frame)
    cum = ordered["net_pnl"].cumsum().to_numpy()
    # The starting balance is the first peak: cumulative pnl 0 before any trade.
    peak = np.maximum.accumulate(np.maximum(cum, 0.0))
    fall = peak - cum
    balance_peak = starting_balance + peak
    pct = float(np.max(fall / balance_peak)) if len(cum) else 0.0
    if not len(cum) or fall.max() <= 0:
        return Drawdown(0.0, pct, None, None)
    trough = int(np.argmax(fall))
    dates = ordered["timestamp"]
    peak_value = peak[trough]
    if peak_value == 0.0:
        peak_at = dates.iloc[0]  # the peak is the starting balance: reported as the first trade
    else:
        peak_at = dates.iloc[int(np.argmax(cum[: trough + 1] == peak_value))]
    return Drawdown(float(fall[trough]), pct, peak_at, dates.iloc[trough])


def daily_returns(frame: pd.DataFrame, starting_balance: float) -> np.ndarray:
    days = frame["timestamp"].dt.tz_convert(UTC).dt.floor("D")
    per_day = frame["net_pnl"].groupby(days).sum()
    calendar = pd.date_range(per_day.index.min() - pd.Timedelta(days=1), per_day.index.max())
    filled = per_day.reindex(calendar, fill_value=0.0)
    filled.iloc[0] = 0.0
    balance = starting_balance + filled.cumsum()
    return balance.pct_change().dropna().to_numpy()


def _zero_deviation(mean: float) -> float | None:
    # docs/analytics.md: a zero deviation gives ±inf by the sign of the mean, None for mean 0.
    return None if mean == 0 else math.copysign(math.inf, mean)


def sharpe(frame: pd.DataFrame, starting_balance: float) -> float | None:
    r = daily_returns(frame, starting_balance)
    if len(r) < 2:
        return None
    if (r == r[0]).all():
        return _zero_deviation(float(r.mean()))
    return float(r.mean() / r.std() * math.sqrt(365))


def sortino(frame: pd.DataFrame, starting_balance: float) -> float | None:
    r = daily_returns(frame, starting_balance)
    down = r[r < 0]
    if len(r) < 2:
        return None
    if len(down) == 0 or (down == down[0]).all():
        return _zero_deviation(float(r.mean()))
    return float(r.mean() / down.std() * math.sqrt(365))


def expectancy(frame: pd.DataFrame) -> tuple[float, float]:
    net = frame["net_pnl"]
    wins, losses = net[net > 0], net[net < 0]
    n = len(net)
    avg_win = wins.mean() if len(wins) else 0.0
    avg_loss = -losses.mean() if len(losses) else 0.0
    exp = len(wins) / n * avg_win - len(losses) / n * avg_loss
    ratio = (1 + avg_win / avg_loss) * (len(wins) / n) - 1 if avg_loss > 0 else 100.0
    return float(exp), float(ratio)


def quantiles(frame: pd.DataFrame, column: str) -> list[float]:
    values = frame[column].dropna()
    return [float(values.quantile(q, interpolation="linear")) for q in (0.5, 0.9, 0.99)]


def equity(frame: pd.DataFrame, starting_balance: float) -> pd.DataFrame:
    ordered = in_close_order(frame)
    cum = ordered["net_pnl"].cumsum().to_numpy()
    peak = starting_balance + np.maximum.accumulate(np.maximum(cum, 0.0))
    balance = starting_balance + cum
    return pd.DataFrame(
        {
            "close_date": ordered["timestamp"].to_numpy(),
            "profit_abs": ordered["net_pnl"].to_numpy(),
            "balance": balance,
            "peak_balance": peak,
            "drawdown": balance - peak,
            "drawdown_pct": (balance - peak) / peak,
        }
    )
