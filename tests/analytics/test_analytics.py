"""Every analytics figure, on SQLite and on PostgreSQL, under every filter, against pandas."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.analytics import oracle
from tests.analytics.conftest import Ledger, ledger_frame
from tribar.analysis import analytics as an
from tribar.analysis.analytics import TradeFilter
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.analytics.transport import units_to_float

BALANCE = 1000.0
_FRAME = ledger_frame()
_STAMPS = _FRAME["timestamp"].sort_values().reset_index(drop=True)
# Bounds placed exactly on trades' close times: start must include its trade, end exclude its.
_WINDOW = (_STAMPS[100].to_pydatetime(), _STAMPS[400].to_pydatetime())

FILTERS: dict[str, TradeFilter] = {
    "all": TradeFilter(),
    "window": TradeFilter(start=_WINDOW[0], end=_WINDOW[1]),
    "since": TradeFilter(start=_WINDOW[1]),
    "pairs": TradeFilter(pairs=("SOL/USDT", "BTC/USDT")),
    "strategy": TradeFilter(strategy="TripleBarrierMLv2"),
    "dry_run": TradeFilter(dry_run=True),
    "live": TradeFilter(dry_run=False),
    "combined": TradeFilter(
        start=_WINDOW[0], pairs=("ETH/USDT", "BTC/USDT"), strategy="TripleBarrierML", dry_run=False
    ),
}


@pytest.fixture(params=list(FILTERS))
def case(
    request: pytest.FixtureRequest, ledger: Ledger
) -> tuple[Ledger, TradeFilter, pd.DataFrame]:
    flt = FILTERS[request.param]
    expected = oracle.select(ledger.frame, flt)
    assert len(expected) > 20, "each filter must keep enough trades to mean something"
    return ledger, flt, expected


def close(actual: float | None, expected: float | None) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert actual is None or (isinstance(actual, float) and math.isnan(actual)), actual
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


def assert_groups(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """``actual`` (dense, zero rows allowed) against the oracle's rows for keys with trades."""
    assert list(actual.columns[-len(an.GROUP_COLUMNS) :]) == list(an.GROUP_COLUMNS)
    active = actual[actual["trades"] > 0]
    assert list(active.index) == list(expected.index)
    for col in ("trades", "wins", "losses"):
        assert active[col].tolist() == expected[col].tolist(), col
    for col in ("net_pnl", "gross_profit", "gross_loss", "win_rate", "avg_pnl", "profit_factor"):
        np.testing.assert_allclose(
            active[col].to_numpy(dtype=float), expected[col].to_numpy(dtype=float), rtol=1e-9,
            atol=1e-9, err_msg=col,
        )  # fmt: skip
    empty = actual[actual["trades"] == 0]
    assert (empty[["wins", "losses"]] == 0).all().all()
    assert (empty[["net_pnl", "gross_profit", "gross_loss"]] == 0.0).all().all()
    assert empty["win_rate"].isna().all() and empty["avg_pnl"].isna().all()


def test_summary(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    s = an.summary(ledger.engine, flt, starting_balance=BALANCE)
    net = exp["net_pnl"]
    assert (s.trades, s.wins, s.losses) == (len(exp), int((net > 0).sum()), int((net < 0).sum()))
    close(s.win_rate, (net > 0).mean())
    close(s.net_pnl, net.sum())
    close(s.avg_pnl, net.mean())
    close(s.gross_profit, net[net > 0].sum())
    close(s.gross_loss, -net[net < 0].sum())
    close(s.profit_factor, net[net > 0].sum() / -net[net < 0].sum())
    close(s.commission, exp["commission"].sum())
    close(s.final_balance, BALANCE + net.sum())
    assert s.first_close == exp["timestamp"].min().to_pydatetime()
    assert s.last_close == exp["timestamp"].max().to_pydatetime()
    assert s.first_close is not None and s.first_close.tzinfo is not None
    close(s.sharpe, oracle.sharpe(exp, BALANCE))
    close(s.sortino, oracle.sortino(exp, BALANCE))
    exp_e, exp_ratio = oracle.expectancy(exp)
    close(s.expectancy, exp_e)
    close(s.expectancy_ratio, exp_ratio)
    dd = oracle.drawdown(exp, BALANCE)
    close(s.max_drawdown, dd.money)
    close(s.max_drawdown_pct, dd.pct)
    assert s.drawdown_peak_at == dd.peak_at
    assert s.drawdown_trough_at == dd.trough_at


def test_by_hour(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    actual = an.by_hour(ledger.engine, flt)
    assert list(actual.index) == list(range(24))
    assert_groups(actual, oracle.group_figures(exp, oracle.hour(exp)))


def test_by_weekday(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    actual = an.by_weekday(ledger.engine, flt)
    assert list(actual.index) == list(range(7))
    assert actual["name"].tolist() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert_groups(actual, oracle.group_figures(exp, oracle.weekday(exp)))


def test_hour_weekday_matrix(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    m = an.hour_weekday_matrix(ledger.engine, flt)
    key = oracle.weekday(exp) * 24 + oracle.hour(exp)
    groups = oracle.group_figures(exp, key)
    for frame in (m.trades, m.net_pnl, m.win_rate):
        assert frame.shape == (7, 24)
        assert list(frame.index) == list(range(7)) and list(frame.columns) == list(range(24))
    trades = np.zeros(7 * 24, dtype=int)
    net = np.zeros(7 * 24)
    win = np.full(7 * 24, np.nan)
    trades[groups.index] = groups["trades"]
    net[groups.index] = groups["net_pnl"]
    win[groups.index] = groups["win_rate"]
    assert m.trades.to_numpy().ravel().tolist() == trades.tolist()
    np.testing.assert_allclose(m.net_pnl.to_numpy().ravel(), net, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m.win_rate.to_numpy(dtype=float).ravel(), win, rtol=1e-9)


def test_by_pair(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    actual = an.by_pair(ledger.engine, flt)
    groups = oracle.group_figures(exp, exp["symbol"])
    expected = groups.sort_values("net_pnl", ascending=False)
    assert_groups(actual, expected)
    assert actual["net_pnl"].is_monotonic_decreasing


def test_extremes(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    ext = an.extremes(ledger.engine, flt)
    hours = exp["net_pnl"].groupby(oracle.hour(exp)).sum()
    pairs = exp["net_pnl"].groupby(exp["symbol"]).sum()
    assert ext.best_hour == hours.idxmax() and ext.worst_hour == hours.idxmin()
    assert ext.best_pair == pairs.idxmax() and ext.worst_pair == pairs.idxmin()


@pytest.mark.parametrize("n", [10, 3])
def test_confidence_buckets(case: tuple[Ledger, TradeFilter, pd.DataFrame], n: int) -> None:
    ledger, flt, exp = case
    result = an.confidence_buckets(ledger.engine, flt, n_buckets=n)
    scored = exp[exp["model_confidence"].notna()]
    assert list(result.frame.index) == list(range(n))
    np.testing.assert_allclose(result.frame["lower"], np.arange(n) / n)
    np.testing.assert_allclose(result.frame["upper"], np.arange(1, n + 1) / n)
    assert_groups(result.frame, oracle.group_figures(scored, oracle.bucket(scored, n)))
    unscored = exp[exp["model_confidence"].isna()]
    assert result.unscored_trades == len(unscored)
    close(result.unscored_net_pnl, unscored["net_pnl"].sum())
    assert int(result.frame["trades"].sum()) + result.unscored_trades == len(exp)


def test_execution_quality(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    q = an.execution_quality(ledger.engine, flt)
    for name, dist in (("slippage_bps", q.slippage_bps), ("order_latency_ms", q.order_latency_ms)):
        values = exp[name].dropna()
        assert dist.count == len(values)
        close(dist.mean, values.mean())
        close(dist.max, values.max())
        for got, want in zip(
            (dist.p50, dist.p90, dist.p99), oracle.quantiles(exp, name), strict=True
        ):
            close(got, want)


def test_equity_curve(case: tuple[Ledger, TradeFilter, pd.DataFrame]) -> None:
    ledger, flt, exp = case
    curve = an.equity_curve(ledger.engine, flt, starting_balance=BALANCE)
    want = oracle.equity(exp, BALANCE)
    assert len(curve) == len(want)
    assert (curve["close_date"].to_numpy() == want["close_date"].to_numpy()).all()
    for col in ("profit_abs", "balance", "peak_balance", "drawdown", "drawdown_pct"):
        np.testing.assert_allclose(curve[col], want[col], rtol=1e-9, atol=1e-9, err_msg=col)
    s = an.summary(ledger.engine, flt, starting_balance=BALANCE)
    close(-curve["drawdown"].min(), s.max_drawdown)
    close(curve["balance"].iloc[-1], s.final_balance)


# --- boundaries and definitions ---------------------------------------------------------------


def test_hour_weekday_and_day_are_utc_at_midnight(ledger: Ledger) -> None:
    """Sunday 23:59:59.999999 and Monday 00:00:00 UTC fall in different hours, weekdays, days —
    also on PostgreSQL, whose session here runs on New York time."""
    flt = TradeFilter(
        start=datetime(2025, 2, 2, 23, 59, 59, 999000, tzinfo=UTC),
        end=datetime(2025, 2, 3, 0, 0, 0, 1000, tzinfo=UTC),
    )
    assert oracle.select(ledger.frame, flt)["trade_id"].tolist() == ["edge-0", "edge-1"]
    hours = an.by_hour(ledger.engine, flt)["trades"]
    assert hours[23] == 1 and hours[0] == 1 and hours.sum() == 2
    days = an.by_weekday(ledger.engine, flt)["trades"]
    assert days[6] == 1 and days[0] == 1
    assert an.hour_weekday_matrix(ledger.engine, flt).trades.loc[6, 23] == 1
    s = an.summary(ledger.engine, flt, starting_balance=BALANCE)
    # Two UTC days, so two daily returns and a defined Sharpe; on one day there would be none.
    expected = oracle.sharpe(oracle.select(ledger.frame, flt), BALANCE)
    assert s.trades == 2 and expected is not None
    assert s.sharpe == pytest.approx(expected, rel=1e-9)


def test_window_is_half_open(ledger: Ledger) -> None:
    tie = datetime(2025, 2, 10, 12, 0, 0, tzinfo=UTC)
    at = an.summary(ledger.engine, TradeFilter(start=tie, end=tie + timedelta(microseconds=1)))
    assert at.trades == 2  # the two trades closed in that same microsecond
    before = an.summary(ledger.engine, TradeFilter(end=tie))
    after = an.summary(ledger.engine, TradeFilter(start=tie))
    assert before.trades + after.trades == len(ledger.frame)


def test_naive_and_offset_datetimes_mean_the_same_instant(ledger: Ledger) -> None:
    utc = TradeFilter(start=_WINDOW[0], end=_WINDOW[1])
    naive = TradeFilter(start=_WINDOW[0].replace(tzinfo=None), end=_WINDOW[1].replace(tzinfo=None))
    plus2 = timezone(timedelta(hours=2))
    shifted = TradeFilter(start=_WINDOW[0].astimezone(plus2), end=_WINDOW[1].astimezone(plus2))
    assert utc == naive == shifted
    assert an.summary(ledger.engine, shifted).trades == len(oracle.select(ledger.frame, utc))


def test_trades_closed_in_the_same_microsecond_keep_ledger_order(ledger: Ledger) -> None:
    tie = pd.Timestamp("2025-02-10 12:00:00", tz=UTC)
    curve = an.equity_curve(ledger.engine, TradeFilter(), starting_balance=BALANCE)
    at_tie = curve[curve["close_date"] == tie]
    # The loss was inserted first, so it comes first: the drawdown dips to it, then recovers.
    assert at_tie["profit_abs"].tolist() == pytest.approx([-40.1, 34.9])


def test_null_confidence_and_bucket_edges(ledger: Ledger) -> None:
    edges = TradeFilter(
        start=datetime(2025, 2, 2, tzinfo=UTC), end=datetime(2025, 2, 11, tzinfo=UTC)
    )
    frame = oracle.select(ledger.frame, edges)
    result = an.confidence_buckets(ledger.engine, edges, n_buckets=10)
    counts = result.frame["trades"]
    # 0.0 -> bucket 0; 1.0 -> top bucket 9; 0.3 -> bucket 3 (not 2); 0.5 -> bucket 5.
    for conf, bucket in ((0.0, 0), (1.0, 9), (0.3, 3), (0.5, 5)):
        n = int((frame["model_confidence"] == conf).sum())
        assert n >= 1 and counts[bucket] >= n, (conf, bucket)
    assert result.unscored_trades == int(frame["model_confidence"].isna().sum())


def test_break_even_trade_counts_as_trade_not_win_or_loss(ledger: Ledger) -> None:
    at = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
    flt = TradeFilter(start=at, end=at + timedelta(microseconds=1))
    frame = oracle.select(ledger.frame, flt)
    assert frame["net_pnl"].tolist() == [0.0]
    s = an.summary(ledger.engine, flt)
    assert (s.trades, s.wins, s.losses, s.win_rate, s.profit_factor) == (1, 0, 0, 0.0, None)


def test_filter_that_matches_nothing(ledger: Ledger) -> None:
    nothing = TradeFilter(pairs=("NOPE/USDT",))
    assert_empty_answers(ledger.engine, nothing)


def test_empty_ledger(empty_engine: sa.Engine) -> None:
    assert_empty_answers(empty_engine, TradeFilter())


def assert_empty_answers(eng: sa.Engine, flt: TradeFilter) -> None:
    """What "no trades" looks like: clear, typed answers, no exception."""
    s = an.summary(eng, flt, starting_balance=500.0)
    assert s.empty and s.trades == 0 and s.net_pnl == 0.0 and s.final_balance == 500.0
    assert s.win_rate is None and s.avg_pnl is None and s.profit_factor is None
    assert s.sharpe is None and s.sortino is None and s.calmar is None and s.max_drawdown == 0.0
    assert s.first_close is None and s.drawdown_peak_at is None
    hours = an.by_hour(eng, flt)
    assert len(hours) == 24 and hours["trades"].sum() == 0 and hours["win_rate"].isna().all()
    assert len(an.by_weekday(eng, flt)) == 7
    m = an.hour_weekday_matrix(eng, flt)
    assert m.trades.shape == (7, 24) and int(m.trades.to_numpy().sum()) == 0
    pairs = an.by_pair(eng, flt)
    assert pairs.empty and list(pairs.columns) == list(an.GROUP_COLUMNS)
    buckets = an.confidence_buckets(eng, flt)
    assert len(buckets.frame) == 10 and buckets.unscored_trades == 0
    q = an.execution_quality(eng, flt)
    assert (
        q.slippage_bps.count == 0 and q.slippage_bps.p50 is None and q.order_latency_ms.max is None
    )
    curve = an.equity_curve(eng, flt)
    assert curve.empty and "balance" in curve.columns
    assert an.extremes(eng, flt) == an.Extremes(None, None, None, None)


def test_huge_pnl_values_take_the_exact_fallbacks(empty_engine: sa.Engine) -> None:
    """Pnl beyond what the fast paths cover: over 922,337,203 per trade a NUMERIC no longer fits
    PostgreSQL's BIGINT units (the fetch falls back to doubles), and over 112,589 its double no
    longer maps back to exact units (the summary sums in the database instead)."""
    frame = make_trades(40, seed=5, days=10, start=datetime(2025, 5, 1, tzinfo=UTC))
    big = np.resize([2.5e9, -1.75e9, 3.1e5, -120000.25, 7.5, 0.0], len(frame))
    frame["commission"] = np.resize([1.5e9, 0.25, 0.0], len(frame))
    frame["net_pnl"] = big
    frame["pnl_usdt"] = big + frame["commission"]
    insert_trades(empty_engine, frame)
    s = an.summary(empty_engine, TradeFilter(), starting_balance=5e9)
    net = frame["net_pnl"]
    assert (s.trades, s.wins, s.losses) == (len(frame), int((net > 0).sum()), int((net < 0).sum()))
    close(s.net_pnl, net.sum())
    close(s.gross_profit, net[net > 0].sum())
    close(s.commission, frame["commission"].sum())
    dd = oracle.drawdown(frame, 5e9)
    close(s.max_drawdown, dd.money)
    close(s.max_drawdown_pct, dd.pct)
    assert s.drawdown_trough_at == dd.trough_at
    curve = an.equity_curve(empty_engine, TradeFilter(), starting_balance=5e9)
    want = oracle.equity(frame, 5e9)
    np.testing.assert_allclose(curve["balance"], want["balance"], rtol=1e-12)


def test_units_become_the_nearest_double_at_any_size() -> None:
    units = np.array([0, 1, -1, 2**53 - 1, 2**53 + 1, -(2**62) - 12345, 10**18 + 7], np.int64)
    got = units_to_float(units, 10)
    assert got.tolist() == [int(u) / 10**10 for u in units.tolist()]


# --- argument checks --------------------------------------------------------------------------


def test_filter_rejects_an_empty_window() -> None:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="empty time window"):
        TradeFilter(start=t, end=t)


def test_empty_pairs_means_all_pairs() -> None:
    assert TradeFilter(pairs=()) == TradeFilter()
    assert TradeFilter(pairs=("B", "A", "B")).pairs == ("A", "B")


@pytest.mark.parametrize(
    "call",
    [
        lambda e: an.summary(e, starting_balance=0),
        lambda e: an.equity_curve(e, starting_balance=-5),
        lambda e: an.confidence_buckets(e, n_buckets=0),
    ],
)
def test_bad_arguments_are_rejected(ledger: Ledger, call: Callable[[object], object]) -> None:
    with pytest.raises(ValueError):
        call(ledger.engine)
