from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.ledger.rows import T0, sample_row
from tribar.analysis.ledger.db import create_ledger_engine, upsert_rows
from tribar.analysis.ledger.queries import EXAMPLE_QUERIES, example_query, run_example_query
from tribar.cli import main


def _known_rows() -> list[dict[str, object]]:
    rng = random.Random(7)
    rows = []
    for i in range(240):
        facts_changes: dict[str, object] = {}
        # Close times spread over the day; some exactly on the hour edges.
        closed = T0 + timedelta(hours=rng.randint(0, 24 * 20), minutes=rng.choice([0, 1, 59, 30]))
        facts_changes["open_date"] = closed - timedelta(minutes=rng.randint(0, 300))
        facts_changes["close_date"] = closed
        # Confidences on bucket edges too: 0, 0.1, ..., 1.0, and missing.
        conf = rng.choice([None, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, round(rng.random(), 3)])
        facts_changes["custom"] = {} if conf is None else {"tribar_p_tp": conf}
        rows.append(sample_row(i, **facts_changes))
    return rows


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["net_pnl"] = df["net_pnl"].astype(float)
    df["win"] = (df["net_pnl"] > 0).astype(float)
    return df


def _expected_by_hour(df: pd.DataFrame) -> pd.DataFrame:
    hours = pd.to_datetime(df["timestamp"], utc=True).dt.hour
    g = df.groupby(hours.rename("hour_utc"))
    return pd.DataFrame({
        "trades": g.size(), "wins": g["win"].sum(), "win_rate": g["win"].mean(),
        "total_net_pnl": g["net_pnl"].sum(), "avg_net_pnl": g["net_pnl"].mean(),
        "avg_pnl_pct": g["pnl_pct"].mean(),
    }).reset_index()  # fmt: skip


def _expected_buckets(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["model_confidence"].notna()].copy()
    d["b"] = np.minimum(np.floor(d["model_confidence"].astype(float) * 10), 9)
    g = d.groupby("b")
    out = pd.DataFrame({
        "trades": g.size(), "avg_confidence": g["model_confidence"].mean(),
        "win_rate": g["win"].mean(), "avg_net_pnl": g["net_pnl"].mean(),
        "total_net_pnl": g["net_pnl"].sum(),
    }).reset_index()  # fmt: skip
    out.insert(0, "bucket_low", out.pop("b") / 10)
    out.insert(1, "bucket_high", out["bucket_low"] + 0.1)
    return out


def _actual(url: str, name: str) -> pd.DataFrame:
    engine = create_ledger_engine(url)
    with engine.connect() as conn:
        columns, rows = run_example_query(conn, name)
    engine.dispose()
    return pd.DataFrame([[float(v) for v in r] for r in rows], columns=columns)


@pytest.fixture
def filled_ledger(ledger_url: str) -> tuple[str, pd.DataFrame]:
    rows = _known_rows()
    engine = create_ledger_engine(ledger_url)
    with engine.begin() as conn:
        upsert_rows(conn, rows)
    engine.dispose()
    return ledger_url, _frame(rows)


def test_performance_by_hour_matches_pandas(filled_ledger: tuple[str, pd.DataFrame]) -> None:
    url, df = filled_ledger
    got = _actual(url, "performance_by_hour")
    want = _expected_by_hour(df).astype(float)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) and got["trades"].sum() == len(df)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9)


def test_confidence_buckets_match_pandas(filled_ledger: tuple[str, pd.DataFrame]) -> None:
    url, df = filled_ledger
    got = _actual(url, "confidence_buckets")
    want = _expected_buckets(df).astype(float)
    assert list(got.columns) == list(want.columns)
    # Confidence 1.0 sits in the top bucket; no bucket beyond it.
    assert got["bucket_low"].max() == pytest.approx(0.9)
    assert got["bucket_high"].max() == pytest.approx(1.0)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9)


def test_query_files_and_cli_commands(
    filled_ledger: tuple[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    url, df = filled_ledger
    for name in EXAMPLE_QUERIES:
        assert "FROM trades" in example_query(name, "postgresql")
        assert "FROM trades" in example_query(name, "sqlite")
    assert main(["ledger", "query", "performance_by_hour", "--url", url]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t")[:3] == ["hour_utc", "trades", "wins"]
    assert sum(int(line.split("\t")[1]) for line in lines[1:]) == len(df)
    with pytest.raises(ValueError, match="unknown example query"):
        example_query("nope")
    assert main(["ledger", "status", "--url", url]) == 0
    assert f"trades: {len(df)}, dead letters: 0" in capsys.readouterr().out
