from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.ledger.ft_trades import make_trade
from tribar.analysis.ledger.db import create_ledger_engine
from tribar.analysis.ledger.importers import (
    ImportSourceError,
    import_backtest,
    import_trades_db,
)
from tribar.analysis.ledger.mirror import TradeMirror
from tribar.analysis.ledger.trade_rows import RowContext
from tribar.cli import main

pytestmark = pytest.mark.freqtrade


def _bt_trades(backtest_dir: Path) -> list[dict[str, Any]]:
    zip_path = next(backtest_dir.glob("*.zip"))
    with zipfile.ZipFile(zip_path) as z:
        data = json.loads(z.read(f"{zip_path.stem}.json"))
    trades: list[dict[str, Any]] = data["strategy"]["SampleStrategy"]["trades"]
    return [t for t in trades if not t["is_open"]]


def _ledger(url: str, sql: str) -> list[Any]:
    engine = create_ledger_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def test_import_a_real_backtest_result(ledger_url: str, backtest_dir: Path) -> None:
    source = _bt_trades(backtest_dir)
    assert len(source) >= 20
    engine = create_ledger_engine(ledger_url)
    [summary] = import_backtest(engine, next(backtest_dir.glob("*.zip")))
    assert (summary.read, summary.written, summary.dead_lettered) == (len(source), len(source), 0)

    rows = _ledger(
        ledger_url,
        "SELECT symbol, net_pnl, pnl_pct, exit_reason, source, dry_run, strategy, exchange, "
        "config_hash, entry_time FROM trades",
    )
    assert len(rows) == len(source)
    assert sum(float(r.net_pnl) for r in rows) == pytest.approx(
        sum(t["profit_abs"] for t in source), abs=1e-6
    )
    by_pair: dict[str, float] = defaultdict(float)
    for t in source:
        by_pair[t["pair"]] += t["profit_abs"]
    got: dict[str, float] = defaultdict(float)
    for r in rows:
        got[r.symbol] += float(r.net_pnl)
    assert got == pytest.approx(by_pair, abs=1e-6)
    assert sorted(r.pnl_pct for r in rows) == pytest.approx(
        sorted(100 * t["profit_ratio"] for t in source)
    )
    domain = {"roi", "stop_loss", "exit_signal", "trailing_stop_loss", "force_exit"}
    assert {r.exit_reason for r in rows} <= domain
    assert {(r.source, bool(r.dry_run), r.strategy, r.exchange) for r in rows} == {
        ("backtest", True, "SampleStrategy", "binance")
    }
    assert len({r.config_hash for r in rows}) == 1 and len(rows[0].config_hash) == 64

    # Importing the same result again (or the directory: its latest result) adds nothing.
    [again] = import_backtest(engine, backtest_dir)
    assert (again.written, again.already_present) == (0, len(source))
    [replaced] = import_backtest(engine, backtest_dir, replace=True)
    assert replaced.written == len(source)
    assert len(_ledger(ledger_url, "SELECT id FROM trades")) == len(source)
    engine.dispose()


def test_cli_import_backtest(
    tmp_path: Path, backtest_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"  # created on first use
    assert main(["ledger", "import", "--from-backtest", str(backtest_dir), "--url", url]) == 0
    out = capsys.readouterr().out
    n = len(_bt_trades(backtest_dir))
    assert f"{n} closed trade(s) read, {n} written" in out
    # A markets list without the traded pairs turns them into dead letters, with the reason.
    markets = tmp_path / "binance-spot.json"
    markets.write_text(json.dumps({"ADA/USDT": _market("ADA/USDT")}))
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert main(["ledger", "import", "--from-backtest", str(backtest_dir), "--url", other,
                 "--markets", str(markets)]) == 0  # fmt: skip
    assert f"{n} dead-lettered" in capsys.readouterr().out
    reasons = {r[0] for r in _ledger(other, "SELECT reason FROM trade_dead_letters")}
    assert all(r.startswith("unknown pair") for r in reasons)
    # The config's exit-reason mapping applies to imports too (ROI as the take-profit barrier).
    config = tmp_path / "config.json"
    config.write_text('{"tribar": {"ledger_exit_reasons": {"roi": "take_profit"}}}')
    mapped = f"sqlite:///{tmp_path / 'mapped.sqlite'}"
    assert main(["ledger", "import", "--from-backtest", str(backtest_dir), "--url", mapped,
                 "-c", str(config)]) == 0  # fmt: skip
    counts = dict(_ledger(mapped, "SELECT exit_reason, COUNT(*) FROM trades GROUP BY 1"))
    source_roi = sum(1 for t in _bt_trades(backtest_dir) if t["exit_reason"] == "roi")
    assert "roi" not in counts and counts["take_profit"] == source_roi > 0


def _market(symbol: str) -> dict[str, Any]:
    base, quote = symbol.split("/")
    return {"symbol": symbol, "base": base, "quote": quote, "active": True, "type": "spot",
            "spot": True, "precision": {"amount": 0.1, "price": 0.0001},
            "limits": {"amount": {"min": 0.1}, "cost": {"min": 5}}}  # fmt: skip


def _ft_trades() -> list[Any]:
    """A Freqtrade trades DB's content: closed (long/short, dry/live), open, and broken."""
    t0 = datetime(2025, 5, 1, tzinfo=UTC)
    made = [
        make_trade("BTC/USDT", open_date=t0, close_rate=101_000.0,
                   custom={"tribar_p_tp": 0.8, "tribar_atr": 900.0}),
        make_trade("ETH/USDT", open_date=t0 + timedelta(hours=2), open_rate=2500.0,
                   close_rate=2400.0, amount=0.2, exit_reason="stop_loss"),
        make_trade("SOL/USDT:USDT", open_date=t0 + timedelta(hours=3), is_short=True,
                   open_rate=150.0, close_rate=140.0, amount=3.0, exit_reason="timeout",
                   custom={"tribar_p_tp": 0.65}),
        make_trade("XRP/USDT", open_date=t0 + timedelta(hours=4), open_rate=0.5,
                   close_rate=0.55, amount=500.0, exit_reason="exit_signal", dry=False),
        make_trade("BNB/USDT", open_date=t0 + timedelta(hours=5), close_rate=None),  # still open
    ]  # fmt: skip
    broken = make_trade("DOGE/USDT", open_date=t0 + timedelta(hours=6), open_rate=0.2,
                        close_rate=0.21, amount=1000.0)  # fmt: skip
    broken.close_profit_abs = float("inf")  # what a bug upstream could leave behind
    from freqtrade.persistence import Trade

    Trade.commit()
    return [*made, broken]


def test_import_a_real_freqtrade_trades_db(ledger_url: str, ft_db: str) -> None:
    made = _ft_trades()
    closed = [t for t in made if not t.is_open and t.pair != "DOGE/USDT"]
    engine = create_ledger_engine(ledger_url)
    summary = import_trades_db(engine, ft_db, bot_name="imported-bot")
    assert (summary.read, summary.written, summary.dead_lettered) == (5, 4, 1)
    rows = _ledger(ledger_url, "SELECT symbol, side, net_pnl, dry_run, source, bot_name, "
                              "model_confidence, market_volatility, exit_reason FROM trades "
                              "ORDER BY entry_time")  # fmt: skip
    assert [r.symbol for r in rows] == [t.pair for t in closed]
    assert sum(float(r.net_pnl) for r in rows) == pytest.approx(
        sum(t.close_profit_abs for t in closed), abs=1e-9
    )
    assert [r.side for r in rows] == ["long", "long", "short", "long"]
    assert [bool(r.dry_run) for r in rows] == [True, True, True, False]  # by order ids
    assert [r.exit_reason for r in rows] == ["take_profit", "stop_loss", "timeout", "exit_signal"]
    assert (rows[0].model_confidence, rows[0].market_volatility) == (0.8, 900.0)
    assert rows[2].model_confidence == 0.65 and rows[1].model_confidence is None
    assert {(r.source, r.bot_name) for r in rows} == {("import", "imported-bot")}
    [letter] = _ledger(ledger_url, "SELECT trade_id, reason FROM trade_dead_letters")
    assert "DOGE/USDT" in letter.trade_id
    assert "close_profit_abs" in letter.reason or "close_profit" in letter.reason

    again = import_trades_db(engine, ft_db)
    assert (again.written, again.already_present) == (0, 4)
    assert len(_ledger(ledger_url, "SELECT id FROM trades")) == 4
    assert len(_ledger(ledger_url, "SELECT id FROM trade_dead_letters")) == 1
    engine.dispose()


def test_import_after_the_mirror_fills_gaps_only(tmp_path: Path, ft_db: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    made = _ft_trades()
    ctx = RowContext(source="dry_run", dry_run=True, bot_name="live-bot", config_hash="c" * 64)
    mirror = TradeMirror(url, tmp_path / "outbox.sqlite", ctx, poll_interval=0.05)
    try:
        assert mirror.record_trade(made[0]) and mirror.record_trade(made[1])
        assert mirror.flush(timeout=20)
    finally:
        mirror.close()
    engine = create_ledger_engine(url)
    summary = import_trades_db(engine, ft_db)
    engine.dispose()
    assert (summary.written, summary.already_present) == (2, 2)
    rows = _ledger(
        url, "SELECT symbol, source, bot_name, config_hash FROM trades ORDER BY entry_time"
    )
    assert [(r.symbol, r.source, r.bot_name) for r in rows] == [
        ("BTC/USDT", "dry_run", "live-bot"),  # the mirror's rows keep their live context
        ("ETH/USDT", "dry_run", "live-bot"),
        ("SOL/USDT:USDT", "import", None),
        ("XRP/USDT", "import", None),
    ]


def test_cli_import_db_and_bad_sources(
    tmp_path: Path, ft_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ft_trades()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert main(["ledger", "import", "--from-db", ft_db, "--url", url, "--live"]) == 0
    assert "5 closed trade(s) read, 4 written" in capsys.readouterr().out
    assert {bool(r[0]) for r in _ledger(url, "SELECT dry_run FROM trades")} == {False}

    missing = f"sqlite:///{tmp_path / 'nope.sqlite'}"
    assert main(["ledger", "import", "--from-db", missing, "--url", url]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["ledger", "import", "--from-db", url, "--url", url]) == 2
    assert "is a tribar ledger" in capsys.readouterr().err
    assert main(["ledger", "import", "--from-backtest", str(tmp_path / "x.zip"), "--url", url]) == 2
    assert "does not exist" in capsys.readouterr().err
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": 1}')
    with pytest.raises(ImportSourceError, match="not a Freqtrade backtest result"):
        import_backtest(create_ledger_engine(url), bogus)


@pytest.mark.postgres
def test_import_needs_a_migrated_postgres(
    postgres_url: str, ft_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "import", "--from-db", ft_db, "--url", postgres_url]) == 2
    assert "run: tribar db upgrade" in capsys.readouterr().err
