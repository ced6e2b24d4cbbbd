"""Backtest <-> paper parity: the same strategy, config and period backtested, its trades
matched with the paper trades by pair and entry candle, every mismatch listed with the cause
where the records tell it.

Causes, checked in this order (the first that the records show wins):

* ``order timeout`` — the paper bot's entry order for that candle was cancelled unfilled;
* ``lock`` — the pair (or all pairs) was locked in the paper bot at that candle;
* ``trade already open`` — the other side held an open trade on the pair then;
* ``fill timing`` — matched, but the paper order filled later than the candle's open, where
  the backtest fills;
* ``exit at another candle`` — matched, but the two trades closed in different candles;
* ``retrain at a different time`` — FreqAI's live model for the pair was trained at another
  time than the backtest's model for that window, so the predictions differ;
* ``unexplained`` — none of the above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

Status = Literal["matched", "deviates", "missed", "extra"]


@dataclass(frozen=True)
class ParityRecords:
    """What the paper bot's database and model folders say besides its trades."""

    cancelled_entries: pd.DataFrame  # pair, order_date
    locks: pd.DataFrame  # pair, lock_time, lock_end_time
    live_trainings: dict[str, list[datetime]]  # pair -> training end times
    backtest_trainings: dict[str, list[datetime]]


@dataclass(frozen=True)
class TradeMatch:
    pair: str
    entry_candle: datetime
    status: Status
    cause: str | None
    paper_id: int | None
    entry_deviation_bps: float | None
    exit_deviation_bps: float | None
    profit_deviation: float | None


def entry_candle(open_date: pd.Series, timeframe: str) -> pd.Series:
    """Open time of the candle each trade entered in."""
    return open_date.dt.floor(pd.Timedelta(timeframe.replace("m", "min")))


def _bps(a: float, b: float) -> float:
    return (a / b - 1.0) * 1e4


def _open_on(trades: pd.DataFrame, pair: str, moment: datetime) -> bool:
    same = trades[trades["pair"] == pair]
    return bool(
        (
            (same["open_date"] < moment)
            & (same["close_date"].isna() | (same["close_date"] > moment))
        ).any()
    )


def _latest_before(times: Sequence[datetime], moment: datetime) -> datetime | None:
    earlier = [t for t in times if t <= moment]
    return max(earlier) if earlier else None


def _explain_missing(
    pair: str, candle: datetime, step: timedelta, other: pd.DataFrame, records: ParityRecords
) -> str:
    window_end = candle + step
    cancelled = records.cancelled_entries
    if not cancelled.empty and (
        (cancelled["pair"] == pair) & (cancelled["order_date"] >= candle)
        & (cancelled["order_date"] < window_end)
    ).any():  # fmt: skip
        return "order timeout"
    locks = records.locks
    if not locks.empty and (
        locks["pair"].isin([pair, "*"]) & (locks["lock_time"] <= candle)
        & (locks["lock_end_time"] > candle)
    ).any():  # fmt: skip
        return "lock"
    if _open_on(other, pair, candle + timedelta(seconds=1)):
        return "trade already open"
    live = _latest_before(records.live_trainings.get(pair, []), candle)
    backtest = _latest_before(records.backtest_trainings.get(pair, []), candle)
    if live != backtest and (live is None or backtest is None or abs(live - backtest) > step):
        return "retrain at a different time"
    return "unexplained"


def match_trades(
    paper: pd.DataFrame,
    backtest: pd.DataFrame,
    records: ParityRecords,
    *,
    timeframe: str,
    tolerance_bps: float,
    profit_tolerance: float,
) -> list[TradeMatch]:
    """Pair paper and backtest trades by (pair, entry candle); both frames have ``pair``,
    ``open_date``, ``close_date``, ``open_rate``, ``close_rate``, ``profit_abs`` (paper also
    ``id``); dates are tz-aware UTC."""
    step = pd.Timedelta(timeframe.replace("m", "min")).to_pytimedelta()
    p = paper.assign(candle=entry_candle(paper["open_date"], timeframe))
    b = backtest.assign(candle=entry_candle(backtest["open_date"], timeframe))
    p_keys = {(r.pair, r.candle): r for r in p.itertuples()}
    b_keys = {(r.pair, r.candle): r for r in b.itertuples()}
    matches: list[TradeMatch] = []
    for key in sorted(set(p_keys) | set(b_keys)):
        pair, candle = key
        pt, bt = p_keys.get(key), b_keys.get(key)
        cause: str | None
        if pt is None:
            cause = _explain_missing(pair, candle.to_pydatetime(), step, paper, records)
            matches.append(TradeMatch(pair, candle, "missed", cause, None, None, None, None))
            continue
        if bt is None:
            cause = _explain_missing(pair, candle.to_pydatetime(), step, backtest, records)
            # A cancelled order or a lock in the paper bot cannot explain an extra paper trade.
            if cause in ("order timeout", "lock"):
                cause = "unexplained"
            matches.append(TradeMatch(pair, candle, "extra", cause, int(pt.id), None, None, None))
            continue
        entry_dev = _bps(pt.open_rate, bt.open_rate)
        exit_dev = (
            _bps(pt.close_rate, bt.close_rate)
            if pd.notna(pt.close_rate) and pd.notna(bt.close_rate)
            else None
        )
        profit_dev = (
            float(pt.profit_abs - bt.profit_abs)
            if pd.notna(pt.profit_abs) and pd.notna(bt.profit_abs)
            else None
        )
        cause = None
        if abs(entry_dev) > tolerance_bps or (
            exit_dev is not None and abs(exit_dev) > tolerance_bps
        ) or (profit_dev is not None and abs(profit_dev) > profit_tolerance):  # fmt: skip
            if pt.open_date - candle > pd.Timedelta(seconds=1) and abs(entry_dev) > tolerance_bps:
                cause = "fill timing"
            elif (
                pd.notna(pt.close_date) and pd.notna(bt.close_date)
                and pt.close_date.floor(step) != bt.close_date.floor(step)
            ):  # fmt: skip
                cause = "exit at another candle"
            else:
                cause = "fill timing" if abs(entry_dev) > tolerance_bps else "unexplained"
        status: Status = "matched" if cause is None else "deviates"
        matches.append(
            TradeMatch(pair, candle, status, cause, int(pt.id), entry_dev, exit_dev, profit_dev)
        )
    return matches


@dataclass(frozen=True)
class ParitySummary:
    paper_trades: int
    backtest_trades: int
    matched: int
    deviating: int
    missed: int
    extra: int
    causes: dict[str, int]
    median_abs_entry_bps: float | None
    median_abs_exit_bps: float | None
    paper_profit: float
    backtest_profit: float


def summarise(
    matches: Sequence[TradeMatch], paper: pd.DataFrame, backtest: pd.DataFrame
) -> ParitySummary:
    def count(status: str) -> int:
        return sum(1 for m in matches if m.status == status)

    causes: dict[str, int] = {}
    for m in matches:
        if m.cause:
            causes[m.cause] = causes.get(m.cause, 0) + 1
    entry = pd.Series(
        [abs(m.entry_deviation_bps) for m in matches if m.entry_deviation_bps is not None]
    )
    exit_ = pd.Series(
        [abs(m.exit_deviation_bps) for m in matches if m.exit_deviation_bps is not None]
    )
    return ParitySummary(
        paper_trades=len(paper),
        backtest_trades=len(backtest),
        matched=count("matched"),
        deviating=count("deviates"),
        missed=count("missed"),
        extra=count("extra"),
        causes=causes,
        median_abs_entry_bps=float(entry.median()) if len(entry) else None,
        median_abs_exit_bps=float(exit_.median()) if len(exit_) else None,
        paper_profit=float(paper["profit_abs"].fillna(0).sum()),
        backtest_profit=float(backtest["profit_abs"].fillna(0).sum()),
    )
