"""`tribar report` (ledger summary) and `tribar evaluate` (tribar.evaluate.metrics) agree on the
same trades, and both agree with freqtrade.data.metrics on that trades frame."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from freqtrade.data.metrics import calculate_max_drawdown, calculate_sharpe_from_balance

from tests.analytics.conftest import Ledger
from tribar.analysis.analytics import TradeFilter
from tribar.analysis.report.build import build_report
from tribar.evaluate.metrics import performance

BALANCE = 1000.0


def _closed_in_ledger_order(frame: pd.DataFrame) -> pd.DataFrame:
    # The ledger orders by (close time, id); ids follow the frame's insert order.
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _closed_trade_equity(closed: pd.DataFrame) -> pd.Series:
    """Balance after every close, framed by 00:00 UTC of the first trading day (starting balance)
    and 00:00 after the last trading day (final balance): the daily grid the ledger uses."""
    times = pd.DatetimeIndex(closed["timestamp"]).as_unit("ns")
    # Freqtrade's wallet snapshot is taken at a candle's open, before a trade closing in that
    # candle: every close lands 1 ns after its time (a close at 00:00 sharp belongs to the new
    # day, as in the ledger), trades of the same microsecond 1 ns apart, in ledger order.
    offsets = closed.groupby("timestamp").cumcount().to_numpy() + 1
    times = times + pd.to_timedelta(offsets, unit="ns")
    balance = BALANCE + closed["net_pnl"].cumsum().to_numpy()
    first, last = times.min().floor("1D"), times.max().floor("1D") + pd.Timedelta(days=1)
    return pd.concat(
        [
            pd.Series([BALANCE], index=pd.DatetimeIndex([first])),
            pd.Series(balance, index=times),
            pd.Series([balance[-1]], index=pd.DatetimeIndex([last])),
        ]
    )


def _evaluate_trades(closed: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "profit_abs": closed["net_pnl"],
            "profit_ratio": closed["pnl_pct"],
            "open_date": closed["entry_time"],
            "close_date": closed["timestamp"],
        }
    )


def test_report_and_evaluate_agree(ledger: Ledger) -> None:
    closed = _closed_in_ledger_order(ledger.frame)
    report = build_report(ledger.engine, TradeFilter(), starting_balance=BALANCE)
    s = report.summary
    equity = _closed_trade_equity(closed)
    start: datetime = equity.index[0].to_pydatetime()
    end: datetime = equity.index[-1].to_pydatetime()
    p = performance(equity, _evaluate_trades(closed), start, end)

    assert s.trades == p.trades == len(closed)
    assert s.profit_factor is not None and math.isfinite(p.profit_factor)
    assert s.profit_factor == pytest.approx(p.profit_factor, rel=1e-9)
    assert s.sharpe is not None
    assert s.sharpe == pytest.approx(p.sharpe, rel=1e-9)
    # evaluate's drawdown is a fraction of the equity peak: the ledger's relative drawdown.
    assert s.max_drawdown_pct > 0
    assert s.max_drawdown_pct == pytest.approx(p.max_drawdown, rel=1e-9)


def test_report_agrees_with_freqtrade_metrics(ledger: Ledger) -> None:
    closed = _closed_in_ledger_order(ledger.frame)
    s = build_report(ledger.engine, TradeFilter(), starting_balance=BALANCE).summary
    ft = pd.DataFrame({"profit_abs": closed["net_pnl"], "close_date": closed["timestamp"]})
    money = calculate_max_drawdown(ft, value_col="profit_abs", starting_balance=BALANCE)
    relative = calculate_max_drawdown(
        ft, value_col="profit_abs", starting_balance=BALANCE, relative=True
    )
    assert s.max_drawdown == pytest.approx(money.drawdown_abs, rel=1e-9)
    assert s.max_drawdown_pct == pytest.approx(relative.relative_account_drawdown, rel=1e-9)
    # The wallet history Freqtrade resamples to end-of-day balances: the starting balance just
    # before the first trading day, then the balance after every close.
    equity = _closed_trade_equity(closed).iloc[:-1]
    dates = equity.index.to_series()
    dates.iloc[0] -= pd.Timedelta(1, unit="ns")
    balance = pd.DataFrame({"date": dates.to_numpy(), "balance": equity.to_numpy()})
    assert s.sharpe == pytest.approx(
        calculate_sharpe_from_balance(balance, date_col="date", balance_col="balance"), rel=1e-9
    )
    pnl = closed["net_pnl"]
    wins, losses = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    # Freqtrade's rpc/optimize reports compute profit factor as winning sum / |losing sum|.
    assert s.profit_factor == pytest.approx(wins / losses, rel=1e-9)
