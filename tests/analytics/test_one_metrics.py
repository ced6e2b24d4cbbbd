"""One set of metrics: `tribar report` (ledger summary), `tribar evaluate`
(tribar.evaluate.metrics), the paper acceptance (tribar.paper.acceptance) and the ledger's SQL
breakdowns give the same Sharpe, Sortino, Calmar, max drawdown and profit factor for the same
trades, and all equal freqtrade.data.metrics on those trades wherever Freqtrade's figure is
defined (where it answers a placeholder, -100 or 0, tribar answers ±inf or NaN/None)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from freqtrade.data.metrics import (
    calculate_cagr,
    calculate_calmar,
    calculate_calmar_from_balance,
    calculate_max_drawdown,
    calculate_max_drawdown_from_balance,
    calculate_sharpe_from_balance,
    calculate_sortino_from_balance,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from tests.analytics import oracle
from tests.analytics.conftest import Ledger
from tribar.analysis import analytics as an
from tribar.analysis.analytics import TradeFilter
from tribar.analysis.analytics import performance as perf
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.schema import metadata
from tribar.analysis.report.build import build_report
from tribar.evaluate.metrics import performance
from tribar.paper.acceptance import AcceptanceThresholds, judge

BALANCE = 1000.0
FREQTRADE_UNDEFINED = -100.0  # _calculate_annualized_ratio's answer to a zero denominator


def _closed_in_ledger_order(frame: pd.DataFrame) -> pd.DataFrame:
    # The ledger orders by (close time, id); ids follow the frame's insert order.
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _days(closed: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """00:00 UTC of the first trading day and 00:00 after the last: the period every path is
    given, so all of them count the same calendar days."""
    times = pd.DatetimeIndex(closed["timestamp"])
    return times.min().floor("1D"), times.max().floor("1D") + pd.Timedelta(days=1)


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
    first, last = _days(closed)
    return pd.concat(
        [
            pd.Series([BALANCE], index=pd.DatetimeIndex([first]).as_unit("ns")),
            pd.Series(balance, index=times),
            pd.Series([balance[-1]], index=pd.DatetimeIndex([last]).as_unit("ns")),
        ]
    )


def _daily_wallet(closed: pd.DataFrame) -> pd.DataFrame:
    """A wallet history as Freqtrade's balance snapshots give it: the starting balance just
    before the first trading day, then the balance at the end of every day (flat days too),
    built with pandas here, independently of performance.daily_balance."""
    first, last = _days(closed)
    day = pd.DatetimeIndex(closed["timestamp"]).floor("1D")
    per_day = closed["net_pnl"].groupby(day).sum()
    calendar = pd.date_range(first, last - pd.Timedelta(days=1), freq="1D")
    end_of_day = BALANCE + per_day.reindex(calendar, fill_value=0.0).cumsum()
    dates = [first - pd.Timedelta(1, unit="ns")] + [d + pd.Timedelta(hours=23) for d in calendar]
    return pd.DataFrame({"date": dates, "balance": [BALANCE, *end_of_day.to_numpy()]})


def _evaluate_trades(closed: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "profit_abs": closed["net_pnl"],
            "profit_ratio": closed["pnl_pct"],
            "open_date": closed["entry_time"],
            "close_date": closed["timestamp"],
        }
    )


@dataclass(frozen=True)
class Figures:
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float  # relative, share of the peak balance
    profit_factor: float


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _three_paths(engine: sa.Engine, closed: pd.DataFrame) -> dict[str, Figures]:
    """The figures of `tribar report`, `tribar evaluate` and the paper acceptance."""
    s = build_report(engine, TradeFilter(), starting_balance=BALANCE).summary
    start, end = _days(closed)
    p = performance(
        _closed_trade_equity(closed),
        _evaluate_trades(closed),
        start.to_pydatetime(),
        end.to_pydatetime(),
    )
    paper = judge(
        pd.DataFrame({"profit_abs": closed["net_pnl"], "close_date": closed["timestamp"]}),
        start=start.to_pydatetime(),
        end=end.to_pydatetime(),
        starting_balance=BALANCE,
        open_trades=0,
        uptime=1.0,
        latency_p95_ms=10.0,
        slippage_bps=pd.Series(dtype=float),
        edge_gate=None,
        thresholds=AcceptanceThresholds(),
    )
    crit = {c.name: c.value for c in paper.criteria}
    return {
        "report": Figures(
            _nan(s.sharpe), _nan(s.sortino), _nan(s.calmar), s.max_drawdown_pct,
            _nan(s.profit_factor),
        ),
        "evaluate": Figures(p.sharpe, p.sortino, p.calmar, p.max_drawdown, p.profit_factor),
        "paper": Figures(
            _nan(crit["Sharpe"]), _nan(paper.figures.sortino), _nan(paper.figures.calmar),
            _nan(crit["max drawdown"]), _nan(paper.figures.profit_factor),
        ),
    }  # fmt: skip


def _calmar_choices(balances: np.ndarray, days: int) -> list[float]:
    """Freqtrade's Calmar divides by the relative drawdown at the largest *money* drawdown; when
    two troughs tie in money (to 1e-9, float noise), either may be picked, so each is a valid
    answer. Empty when the balance never falls."""
    cum = balances - balances[0]
    peak = np.maximum(np.maximum.accumulate(cum), 0.0)
    fall = peak - cum
    if fall.max() <= 1e-12:
        return []
    top = fall >= fall.max() - 1e-9
    relative = fall[top] / (balances[0] + peak[top])
    numerator = (balances[-1] / balances[0] - 1) / max(1, days) * 100 * math.sqrt(365)
    return [float(numerator / r) for r in relative]


def _closed_balances(closed: pd.DataFrame) -> tuple[np.ndarray, int]:
    start, end = _days(closed)
    balances = BALANCE + np.concatenate(([0.0], closed["net_pnl"].cumsum().to_numpy()))
    return balances, (end - start).days


def _calmar_is_one_of(value: float, choices: list[float]) -> bool:
    if not choices:
        return not math.isfinite(value)
    return any(value == pytest.approx(c, rel=1e-9) for c in choices)


def _same(a: float, b: float, rel: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == pytest.approx(b, rel=rel, abs=1e-12)


def _assert_paths_agree(figures: dict[str, Figures], closed: pd.DataFrame) -> Figures:
    report = figures["report"]
    choices = _calmar_choices(*_closed_balances(closed))
    for name, other in figures.items():
        for field in ("sharpe", "sortino", "max_drawdown", "profit_factor"):
            got, want = getattr(other, field), getattr(report, field)
            assert _same(got, want), f"{name} {field} {got!r} != report {want!r}"
        assert _calmar_is_one_of(other.calmar, choices), (name, other.calmar, choices)
        if not choices:
            assert _same(other.calmar, report.calmar), (name, other.calmar, report.calmar)
    return report


def _as_freqtrade(ours: float, theirs: float) -> None:
    """Ours equals Freqtrade's where both are defined; where ours is ±inf/NaN (zero deviation)
    Freqtrade answers -100 (or, fewer than two days, 0)."""
    if math.isfinite(ours):
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    else:
        assert theirs in (FREQTRADE_UNDEFINED, 0.0) or abs(theirs) > 1e6, (ours, theirs)


def _assert_equal_to_freqtrade(closed: pd.DataFrame, ours: Figures) -> None:
    wallet = _daily_wallet(closed)
    _as_freqtrade(ours.sharpe, calculate_sharpe_from_balance(wallet, "date", "balance"))
    _as_freqtrade(ours.sortino, calculate_sortino_from_balance(wallet, "date", "balance"))
    ft = pd.DataFrame({"profit_abs": closed["net_pnl"], "close_date": closed["timestamp"]})
    start, end = _days(closed)
    equity = _closed_trade_equity(closed)
    history = pd.DataFrame({"date": equity.index, "balance": equity.to_numpy()})
    choices = _calmar_choices(*_closed_balances(closed))
    for theirs in (
        calculate_calmar(ft, start, end, BALANCE),
        calculate_calmar_from_balance(history, "date", "balance"),
    ):
        if math.isfinite(ours.calmar):
            assert _calmar_is_one_of(theirs, choices), (theirs, choices)
        else:
            assert theirs == FREQTRADE_UNDEFINED
    relative = calculate_max_drawdown(
        ft, value_col="profit_abs", starting_balance=BALANCE, relative=True
    )
    assert ours.max_drawdown == pytest.approx(relative.relative_account_drawdown, abs=1e-12)
    pnl = closed["net_pnl"]
    wins, losses = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    if losses > 0:
        # Freqtrade's rpc/optimize reports compute profit factor as winning sum / |losing sum|.
        assert ours.profit_factor == pytest.approx(wins / losses, rel=1e-9)
    else:  # Freqtrade's backtest writes 0 here; tribar's one convention is inf (or undefined)
        assert ours.profit_factor == math.inf if wins > 0 else math.isnan(ours.profit_factor)


def test_report_evaluate_and_paper_agree_with_each_other_and_freqtrade(ledger: Ledger) -> None:
    closed = _closed_in_ledger_order(ledger.frame)
    figures = _assert_paths_agree(_three_paths(ledger.engine, closed), closed)
    # The fixture is a real test of the arithmetic, not of degenerate cases.
    assert all(
        math.isfinite(v) and v != 0
        for v in (figures.sharpe, figures.sortino, figures.calmar, figures.max_drawdown)
    )
    _assert_equal_to_freqtrade(closed, figures)


def test_report_agrees_with_freqtrade_money_drawdown(ledger: Ledger) -> None:
    closed = _closed_in_ledger_order(ledger.frame)
    s = build_report(ledger.engine, TradeFilter(), starting_balance=BALANCE).summary
    ft = pd.DataFrame({"profit_abs": closed["net_pnl"], "close_date": closed["timestamp"]})
    money = calculate_max_drawdown(ft, value_col="profit_abs", starting_balance=BALANCE)
    assert s.max_drawdown == pytest.approx(money.drawdown_abs, rel=1e-9)


def test_evaluate_cagr_is_freqtrades(ledger: Ledger) -> None:
    closed = _closed_in_ledger_order(ledger.frame)
    start, end = _days(closed)
    equity = _closed_trade_equity(closed)
    p = performance(equity, _evaluate_trades(closed), start.to_pydatetime(), end.to_pydatetime())
    days = (end - start).days
    assert p.cagr == pytest.approx(calculate_cagr(days, BALANCE, float(equity.iloc[-1])))


def test_sql_breakdowns_profit_factor_is_the_python_one(ledger: Ledger) -> None:
    """The ledger's SQL aggregates (gross profit and loss per group) give the profit factor
    performance.profit_factor gives on the group's trades."""
    frame = ledger.frame
    for table, key in (
        (an.by_pair(ledger.engine), frame["symbol"]),
        (an.by_hour(ledger.engine), oracle.hour(frame)),
        (an.by_weekday(ledger.engine), oracle.weekday(frame)),
    ):
        for group, pnl in frame["net_pnl"].groupby(key.to_numpy()):
            assert _same(float(table.loc[group, "profit_factor"]), perf.profit_factor(pnl)), group
    s = an.summary(ledger.engine, starting_balance=BALANCE)
    assert _same(_nan(s.profit_factor), perf.profit_factor(frame["net_pnl"]))


# --- edge cases, on random small ledgers (SQLite in memory) --------------------------------

_TEMPLATE = make_trades(40, seed=3)
_DAY0 = datetime(2025, 3, 3, tzinfo=UTC)
# (day, second of the day, pnl in cents): a few days, gaps included; 00:00 sharp is common.
_trade = st.tuples(
    st.integers(0, 9),
    st.one_of(st.just(0), st.integers(0, 86_399)),
    st.integers(-3_000, 3_000),
)


@pytest.fixture(scope="module")
def memory_engine() -> Iterator[sa.Engine]:
    eng = sa.create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def _ledger(engine: sa.Engine, rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    frame = _TEMPLATE.iloc[[i % len(_TEMPLATE) for i in range(len(rows))]].reset_index(drop=True)
    stamps = pd.to_datetime(
        [_DAY0 + timedelta(days=d, seconds=s) for d, s, _ in rows], utc=True
    ).as_unit("us")
    frame["trade_id"] = [f"e-{i}" for i in range(len(rows))]
    frame["timestamp"] = stamps
    frame["exit_time"] = stamps
    frame["entry_time"] = stamps - pd.Timedelta(minutes=5)
    frame["net_pnl"] = [c / 100 for _, _, c in rows]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM trades"))
    if len(frame):
        insert_trades(engine, frame)
    return _closed_in_ledger_order(frame)


_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(
    st.one_of(
        st.lists(_trade, min_size=1, max_size=1),  # one trade
        st.lists(_trade.filter(lambda t: t[2] > 0), min_size=1, max_size=12),  # no losses
        st.lists(_trade.filter(lambda t: t[2] < 0), min_size=1, max_size=12),  # all losses
        st.lists(_trade, min_size=2, max_size=25),
    )
)
def test_edge_cases_agree_everywhere(
    memory_engine: sa.Engine, rows: list[tuple[int, int, int]]
) -> None:
    closed = _ledger(memory_engine, rows)
    figures = _assert_paths_agree(_three_paths(memory_engine, closed), closed)
    _assert_equal_to_freqtrade(closed, figures)
    pnl = closed["net_pnl"]
    if (pnl >= 0).all():
        assert figures.max_drawdown == 0.0
        assert figures.calmar == math.inf if pnl.sum() > 0 else math.isnan(figures.calmar)
        assert figures.sortino == math.inf or math.isnan(figures.sortino)
    if (pnl < 0).all():
        assert figures.profit_factor == 0.0 and figures.calmar < 0
    if len(pd.DatetimeIndex(closed["timestamp"]).floor("1D").unique()) == 1:
        assert math.isnan(figures.sharpe) and math.isnan(figures.sortino)  # one daily return


def test_no_trades_everything_undefined(memory_engine: sa.Engine) -> None:
    _ledger(memory_engine, [])
    s = an.summary(memory_engine, starting_balance=BALANCE)
    assert (s.sharpe, s.sortino, s.calmar, s.profit_factor) == (None, None, None, None)
    assert (s.max_drawdown, s.max_drawdown_pct) == (0.0, 0.0)
    empty = pd.DataFrame({"profit_abs": pd.Series(dtype=float), "close_date": []})
    start, end = _DAY0, _DAY0 + timedelta(days=14)
    paper = judge(
        empty, start=start, end=end, starting_balance=BALANCE, open_trades=0, uptime=1.0,
        latency_p95_ms=1.0, slippage_bps=pd.Series(dtype=float), edge_gate=None,
        thresholds=AcceptanceThresholds(),
    )  # fmt: skip
    crit = {c.name: c for c in paper.criteria}
    assert crit["Sharpe"].value is None and crit["max drawdown"].value is None
    assert (paper.figures.sortino, paper.figures.calmar, paper.figures.profit_factor) == (None,) * 3
    assert paper.verdict == "TOO SHORT"
    equity = pd.Series([BALANCE, BALANCE], index=pd.DatetimeIndex([start, end]))
    trades = pd.DataFrame(columns=["profit_abs", "profit_ratio", "open_date", "close_date"])
    p = performance(equity, trades, start, end)
    # Flat equity: zero deviation with a zero mean is undefined, no drawdown.
    assert all(math.isnan(v) for v in (p.sharpe, p.sortino, p.calmar, p.profit_factor))
    assert p.max_drawdown == 0.0
    with pytest.raises(ValueError, match="empty"):  # Freqtrade has no figure either
        calculate_max_drawdown(empty, value_col="profit_abs", starting_balance=BALANCE)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: perf.sharpe_ratio([0.01, math.nan, 0.02]), "daily returns: 1 NaN"),
        (lambda: perf.sortino_ratio([0.01, -0.02, math.inf]), "daily returns: 1 NaN/infinite"),
        (lambda: perf.profit_factor([1.0, math.nan]), "trade pnl: 1 NaN"),
        (lambda: perf.max_drawdown([100.0, math.nan, 90.0]), "equity: 1 NaN"),
        (lambda: perf.calmar_ratio([100.0, 90.0, math.nan]), "equity: 1 NaN"),
        (lambda: perf.cagr([math.nan, 100.0]), r"equity: 1 NaN/infinite value\(s\) at position"),
        (lambda: perf.trade_drawdowns([1.0, math.nan], BALANCE), "trade pnl"),
    ],
)
def test_nan_rows_are_rejected_with_a_clear_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@_SETTINGS
@given(st.lists(st.integers(-3_000, 3_000), min_size=1, max_size=10), st.integers(0, 9))
def test_nan_profit_in_paper_and_evaluate_is_rejected(cents: list[int], where: int) -> None:
    profits = [c / 100 for c in cents]
    profits[where % len(profits)] = math.nan
    closes = [_DAY0 + timedelta(hours=5 * i) for i in range(len(profits))]
    trades = pd.DataFrame({"profit_abs": profits, "close_date": closes})
    with pytest.raises(ValueError, match=r"profit_abs is NaN/infinite in 1 row\(s\)"):
        judge(
            trades, start=_DAY0, end=_DAY0 + timedelta(days=3), starting_balance=BALANCE,
            open_trades=0, uptime=1.0, latency_p95_ms=1.0,
            slippage_bps=pd.Series(dtype=float), edge_gate=None,
            thresholds=AcceptanceThresholds(),
        )  # fmt: skip
    evaluate_trades = trades.assign(profit_ratio=0.0, open_date=trades["close_date"])
    equity = pd.Series(
        [BALANCE, BALANCE], index=pd.DatetimeIndex([_DAY0, _DAY0 + timedelta(days=3)])
    )
    with pytest.raises(ValueError, match="trade pnl: 1 NaN"):
        performance(equity, evaluate_trades, _DAY0, _DAY0 + timedelta(days=3))


# --- the module against Freqtrade's functions on arbitrary balance histories ---------------

_balances = st.lists(
    st.integers(1, 2_000_000).map(lambda c: c / 100), min_size=2, max_size=60
)  # positive balances in cents, one per day


@settings(max_examples=200, deadline=None)
@given(_balances)
def test_module_equals_freqtrade_on_daily_balances(balances: list[float]) -> None:
    dates = pd.date_range("2025-01-01", periods=len(balances), freq="1D", tz="UTC")
    wallet = pd.DataFrame({"date": dates, "balance": balances})
    equity = pd.Series(balances, index=dates)
    returns = equity.pct_change().dropna()
    _as_freqtrade(
        perf.sharpe_ratio(returns), calculate_sharpe_from_balance(wallet, "date", "balance")
    )
    _as_freqtrade(
        perf.sortino_ratio(returns), calculate_sortino_from_balance(wallet, "date", "balance")
    )
    choices = _calmar_choices(np.array(balances), len(balances) - 1)
    ours = perf.calmar_ratio(equity)
    assert _calmar_is_one_of(ours, choices), (ours, choices)
    theirs = calculate_calmar_from_balance(wallet, "date", "balance")
    assert _calmar_is_one_of(theirs, choices) if choices else theirs == FREQTRADE_UNDEFINED
    drawdown = calculate_max_drawdown_from_balance(wallet, "date", "balance", relative=True)
    assert perf.max_drawdown(equity)[0] == pytest.approx(
        max(drawdown.relative_account_drawdown, 0.0), abs=1e-12
    )
    days = len(balances) - 1
    cagr_theirs = calculate_cagr(days, balances[0], balances[-1])
    cagr_ours = perf.cagr(equity)
    # On float overflow (a huge gain over a few days) Freqtrade answers 0, tribar inf.
    if math.isfinite(cagr_ours):
        assert cagr_ours == pytest.approx(cagr_theirs)
    else:
        assert (cagr_ours, cagr_theirs) == (math.inf, 0)
    # The same figures from the day-per-point array form.
    assert perf.cagr(np.array(balances)) == pytest.approx(perf.cagr(equity))
    assert _same(perf.calmar_ratio(np.array(balances)), perf.calmar_ratio(equity))


def test_shipped_sql_example_queries_agree_with_the_module(ledger: Ledger) -> None:
    """analysis/ledger/sql's example queries (plain SQL, for psql/sqlite3 users) give the
    by-hour and confidence-bucket figures of the Python analytics on the same trades."""
    from tribar.analysis.ledger.queries import run_example_query

    with ledger.engine.connect() as conn:
        names, rows = run_example_query(conn, "performance_by_hour")
    sql = pd.DataFrame(rows, columns=names).set_index("hour_utc")
    hours = an.by_hour(ledger.engine)
    traded = hours[hours["trades"] > 0]
    assert sql.index.tolist() == traded.index.tolist()
    assert sql["trades"].tolist() == traded["trades"].tolist()
    assert sql["wins"].tolist() == traded["wins"].tolist()
    for column, ours in (
        ("win_rate", "win_rate"),
        ("total_net_pnl", "net_pnl"),
        ("avg_net_pnl", "avg_pnl"),
    ):
        assert np.allclose(sql[column].astype(float), traded[ours], rtol=1e-9, atol=1e-9), column

    with ledger.engine.connect() as conn:
        names, rows = run_example_query(conn, "confidence_buckets")
    sql = pd.DataFrame(rows, columns=names)
    buckets = an.confidence_buckets(ledger.engine, n_buckets=10).frame
    traded = buckets[buckets["trades"] > 0]
    assert sql["trades"].tolist() == traded["trades"].tolist()
    assert np.allclose(sql["win_rate"].astype(float), traded["win_rate"], rtol=1e-9)
    assert np.allclose(sql["total_net_pnl"].astype(float), traded["net_pnl"], rtol=1e-9)
