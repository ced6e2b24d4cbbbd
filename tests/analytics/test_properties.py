"""Random ledgers (SQLite, in memory) against the pandas oracle: calendar edges, ties, zeros."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from tests.analytics import oracle
from tribar.analysis import analytics as an
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.schema import metadata

BALANCE = 250.0
_TEMPLATE = make_trades(60, seed=5)

# Close times: anywhere in a few years, but often a hair before/after midnight or a full
# second, where rounding to milliseconds (SQLite) or a session time zone (PostgreSQL) bites.
_base = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
_edge = st.builds(
    lambda d, us: datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(microseconds=us),
    _base,
    st.sampled_from([-1, 0, 1, -500, 999_999, -1_000_001]),
)
_trade = st.tuples(
    st.one_of(_base, _edge),
    # Net pnl with cents, break-even included; ties are common among small sets.
    st.integers(min_value=-5_000, max_value=5_000).map(lambda c: c / 100),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
)


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    eng = sa.create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def _frame(rows: list[tuple[datetime, float, float | None]]) -> pd.DataFrame:
    frame = _TEMPLATE.iloc[[i % len(_TEMPLATE) for i in range(len(rows))]].reset_index(drop=True)
    stamps = pd.to_datetime([r[0] for r in rows], utc=True).as_unit("us")
    frame["trade_id"] = [f"p-{i}" for i in range(len(rows))]
    frame["timestamp"] = stamps
    frame["exit_time"] = stamps
    frame["entry_time"] = stamps - pd.Timedelta(minutes=5)
    frame["net_pnl"] = [r[1] for r in rows]
    frame["model_confidence"] = np.array([np.nan if r[2] is None else r[2] for r in rows])
    return frame


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_trade, min_size=1, max_size=40))
def test_random_ledgers_match_pandas(
    engine: sa.Engine, rows: list[tuple[datetime, float, float | None]]
) -> None:
    frame = _frame(rows)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM trades"))
    insert_trades(engine, frame)

    hours = an.by_hour(engine)
    expected_hours = frame.groupby(oracle.hour(frame)).size()
    assert hours["trades"][hours["trades"] > 0].to_dict() == expected_hours.to_dict()
    days = an.by_weekday(engine)
    expected_days = frame.groupby(oracle.weekday(frame)).size()
    assert days["trades"][days["trades"] > 0].to_dict() == expected_days.to_dict()

    s = an.summary(engine, starting_balance=BALANCE)
    net = frame["net_pnl"]
    assert (s.trades, s.wins, s.losses) == (len(frame), (net > 0).sum(), (net < 0).sum())
    assert s.net_pnl == pytest.approx(net.sum(), abs=1e-9)
    dd = oracle.drawdown(frame, BALANCE)
    assert s.max_drawdown == pytest.approx(dd.money, abs=1e-9)
    assert s.max_drawdown_pct == pytest.approx(dd.pct, abs=1e-12)
    assert s.drawdown_trough_at == dd.trough_at
    for got, want in (
        (s.sharpe, oracle.sharpe(frame, BALANCE)),
        (s.sortino, oracle.sortino(frame, BALANCE)),
    ):
        if want is None or math.isinf(want):
            assert got == want
        else:
            assert got == pytest.approx(want, rel=1e-9)

    buckets = an.confidence_buckets(engine, n_buckets=7)
    scored = frame[frame["model_confidence"].notna()]
    want = oracle.bucket(scored, 7).value_counts().to_dict()
    got = buckets.frame["trades"][buckets.frame["trades"] > 0].to_dict()
    assert got == want
    assert buckets.unscored_trades == int(frame["model_confidence"].isna().sum())
