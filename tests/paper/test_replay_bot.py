"""A 14-day replay through a real `freqtrade trade` process: the strategy's own exits, the
ledger mirror, and the REST API of the running bot."""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tribar.testing.fake_telegram import FakeTelegramServer
from tribar.testing.replay_bot import ReplayBot

pytestmark = pytest.mark.freqtrade

# Freqtrade's names for the barrier exits: take-profit is custom_roi ("roi"), the stop is
# custom_stoploss ("stop_loss"), the vertical barrier is custom_exit ("timeout").
BARRIER_EXITS = {"roi", "stop_loss", "timeout"}


def _bot_trades(bot: ReplayBot) -> list[sqlite3.Row]:
    with sqlite3.connect(bot.run_dir / "tradesv3.replay.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute("SELECT * FROM trades ORDER BY id"))


def test_replay_ran_the_whole_range_on_a_simulated_clock(replayed_bot: ReplayBot) -> None:
    status = replayed_bot.status()
    assert status is not None and status["finished"] and status["holding"]
    assert datetime.fromisoformat(status["now"]) == datetime(2025, 6, 15, tzinfo=UTC)
    log = (replayed_bot.run_dir / "freqtrade.log").read_text()
    # FreqAI trained at the start and retrained live a week later, on the replay's clock.
    trainings = [line for line in log.splitlines() if "triple-barrier training on" in line]
    assert {line[:10] for line in trainings} >= {"2025-06-01", "2025-06-08"}
    assert "Traceback" not in log


def test_daily_loss_breaker_trips_and_clears_through_the_bots_message_queue(
    replayed_bot: ReplayBot,
) -> None:
    """replay-daily-loss.json sets a limit the replay's losing days reach."""
    log = (replayed_bot.run_dir / "freqtrade.log").read_text()
    sent = [line for line in log.splitlines() if "Sending rpc strategy_msg" in line]
    tripped = [line for line in sent if "Risk circuit breaker HALTED" in line]
    cleared = [line for line in sent if "Risk circuit breaker ACTIVE again" in line]
    assert tripped and cleared
    # Cleared at a UTC midnight after it tripped.
    assert min(c[:19] for c in cleared) > min(t[:19] for t in tripped)
    assert all(c[11:13] == "00" for c in cleared)


def test_daily_loss_refusals_reach_the_ledger_and_decide_is_the_only_gate(
    replayed_bot: ReplayBot,
) -> None:
    """While the daily-loss halt holds, signals still reach custom_stake_amount (tribar places
    no Freqtrade lock): RiskManager.decide refuses them, and each refusal reaches the ledger's
    entry_decisions table once per pair and signal candle, with no trade opened meanwhile."""
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(replayed_bot.run_dir / "tribar_ledger.sqlite") as conn:
            conn.row_factory = sqlite3.Row
            halted = list(conn.execute(
                "SELECT symbol, decided_at, signal_time, reason, stake, proposed_stake, bot_name, "
                "source FROM entry_decisions WHERE code = 'circuit_breaker' AND allowed = 0 "
                "AND reason LIKE '%max_daily_loss_usd%' ORDER BY decided_at"
            ))  # fmt: skip
        if halted or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert halted, "no daily-loss refusal reached the ledger"
    assert {r["symbol"] for r in halted} <= {"BTC/USDT", "ETH/USDT"}
    assert all(r["stake"] == 0 and r["proposed_stake"] > 0 for r in halted)
    assert {r["source"] for r in halted} == {"dry_run"}
    # The no-flood rule: one row per pair and signal candle, though the bot asked every loop.
    candles = [(r["symbol"], r["signal_time"]) for r in halted]
    assert all(t is not None for _, t in candles)
    assert len(candles) == len(set(candles))
    log = (replayed_bot.run_dir / "freqtrade.log").read_text()
    refusal_lines = [line for line in log.splitlines()
                     if "entry refused [circuit_breaker]" in line]  # fmt: skip
    assert len(refusal_lines) >= len(halted)
    # No trade opened on a day after its halt's first refusal, and no Freqtrade lock placed.
    opened = [datetime.fromisoformat(t["open_date"]).replace(tzinfo=UTC)
              for t in _bot_trades(replayed_bot)]  # fmt: skip
    for r in halted:
        refused_at = datetime.fromisoformat(r["decided_at"]).replace(tzinfo=UTC)
        same_day_later = [o for o in opened if o >= refused_at and o.date() == refused_at.date()]
        assert not same_day_later, (r["decided_at"], same_day_later)
    with sqlite3.connect(replayed_bot.run_dir / "tradesv3.replay.sqlite") as conn:
        (locks,) = conn.execute(
            "SELECT COUNT(*) FROM pairlocks WHERE reason LIKE 'tribar risk%'"
        ).fetchone()
    assert locks == 0


def test_trades_opened_and_closed_by_the_strategys_own_exits(replayed_bot: ReplayBot) -> None:
    trades = _bot_trades(replayed_bot)
    closed = [t for t in trades if not t["is_open"]]
    assert len(closed) >= 5
    assert {t["exit_reason"] for t in closed} <= BARRIER_EXITS
    assert Counter(t["exit_reason"] for t in closed)["stop_loss"] >= 1
    for trade in closed:
        opened = datetime.fromisoformat(trade["open_date"]).replace(tzinfo=UTC)
        assert datetime(2025, 6, 1, tzinfo=UTC) <= opened < datetime(2025, 6, 15, tzinfo=UTC)
        assert trade["close_date"] > trade["open_date"]


def test_every_closed_trade_reaches_the_ledger(replayed_bot: ReplayBot) -> None:
    closed = {t["id"] for t in _bot_trades(replayed_bot) if not t["is_open"]}
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(replayed_bot.run_dir / "tribar_ledger.sqlite") as conn:
            rows = conn.execute("SELECT trade_id, exit_reason FROM trades").fetchall()
        # Ledger ids are ft:<exchange>:<pair>:<bot trade id>:<open time>.
        ledger_ids = {int(r[0].split(":")[3]) for r in rows}
        if ledger_ids >= closed or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ledger_ids == closed
    assert {r[1] for r in rows} <= {"take_profit", "stop_loss", "timeout"}


def test_rest_api_answers_status_trades_profit_and_locks(replayed_bot: ReplayBot) -> None:
    client = replayed_bot.client()
    trades = _bot_trades(replayed_bot)
    closed = [t for t in trades if not t["is_open"]]

    status = client.status()
    assert isinstance(status, list)
    assert {t["trade_id"] for t in status} == {t["id"] for t in trades if t["is_open"]}

    listed = client.trades()
    assert listed["total_trades"] == len(trades)
    assert {t["trade_id"] for t in listed["trades"]} == {t["id"] for t in trades}

    profit = client.profit()
    assert profit["closed_trade_count"] == len(closed)
    assert profit["profit_closed_coin"] == pytest.approx(
        sum(t["close_profit_abs"] for t in closed), abs=1e-6
    )
    locks = client.locks()
    assert locks["lock_count"] == len(locks["locks"])
    with sqlite3.connect(replayed_bot.run_dir / "tradesv3.replay.sqlite") as conn:
        # Locks still in force on the bot's (stopped) clock at the end of the replay.
        (active,) = conn.execute(
            "SELECT COUNT(*) FROM pairlocks WHERE active = 1 AND lock_end_time > ?",
            ("2025-06-15 00:00:00.000000",),
        ).fetchone()
    assert locks["lock_count"] == active


def test_telegram_carries_tribars_messages_and_answers_the_command_map(
    replayed_bot: ReplayBot, replay_telegram: FakeTelegramServer
) -> None:
    # Sent during the replay through dp.send_msg -> Freqtrade's Telegram -> the fake Bot API.
    replay_telegram.wait_for_text("Risk circuit breaker HALTED", timeout=5)
    replay_telegram.wait_for_text("Risk circuit breaker ACTIVE again", timeout=5)
    closed = [t for t in _bot_trades(replayed_bot) if not t["is_open"]]

    def reply(command: str) -> str:
        return "\n".join(m.text for m in replay_telegram.command(command, timeout=60))

    client = replayed_bot.client()
    trades = _bot_trades(replayed_bot)
    status = reply("/status").lower()
    if client.status():
        assert all(t["pair"] in reply("/status") for t in client.status())
    else:
        assert "no active trade" in status
    assert f"Total Trade Count:* `{len(trades)}`" in reply("/profit")
    assert f"{min(len(closed), 10)} recent trades" in reply("/trades")
    locks = client.locks()["locks"]
    locks_reply = reply("/locks")
    if locks:
        assert all(lock["pair"] in locks_reply for lock in locks)
    else:
        assert "No active locks." in locks_reply
    assert "paused, no more entries" in reply("/stopentry")
    assert client.show_config()["state"] == "paused"
    replay_telegram.command("/reload_config", timeout=60,
                            until=lambda m: "Reloading config" in m.text)  # fmt: skip
    # After the reload the bot runs again (a fresh FreqtradeBot from the same configs).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if replayed_bot.client().show_config()["state"] == "running":
                break
        except Exception:
            pass
        time.sleep(1)
    assert replayed_bot.client().show_config()["state"] == "running"
    since = len(replay_telegram.messages)
    replay_telegram.wait_until_polling(60)
    replay_telegram.send_user_message("/forceexit all")
    # /forceexit all answers with the exit notifications of the trades it closes (if any).
    time.sleep(3)
    assert all("Error" not in m.text for m in replay_telegram.messages[since:])


def test_frequi_shows_the_replayed_bots_trades_and_profit(
    replayed_bot: ReplayBot, tmp_path: Path
) -> None:
    from tribar.testing.frequi_browser import FrequiBrowser
    from tribar.testing.replay_bot import API_PASSWORD, API_USER

    out = Path(os.environ.get("TRIBAR_SCREENSHOT_DIR") or tmp_path)
    with FrequiBrowser(replayed_bot.api_url, API_USER, API_PASSWORD, out) as browser:
        shots = [browser.login(), *browser.open_trades(), *browser.open_profit()]
        text = browser.text()
        assert not browser.blocked_requests
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in shots)
    assert "USDT" in text


def test_acceptance_and_parity_reports_run_on_the_replay(replayed_bot: ReplayBot) -> None:
    import json
    import subprocess
    import sys

    run = replayed_bot.run_dir
    report = subprocess.run(
        [sys.executable, "-m", "tribar.cli", "paper", "report", "--run-dir", str(run),
         "--html", str(run / "acceptance.html"), "--json", str(run / "acceptance.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 0, report.stdout + report.stderr
    figures = json.loads((run / "acceptance.json").read_text())
    closed = [t for t in _bot_trades(replayed_bot) if not t["is_open"]]
    assert figures["figures"]["closed_trades"] == len(closed)
    assert figures["verdict"] in ("GO", "NO-GO", "TOO SHORT")
    uptime = next(c for c in figures["criteria"] if c["name"] == "uptime")
    assert uptime["value"] is not None and uptime["value"] > 0.99  # heartbeats every step
    assert "Equity" in (run / "acceptance.html").read_text()

    parity = subprocess.run(
        [sys.executable, "-m", "tribar.cli", "paper", "parity", "--run-dir", str(run),
         "--json", str(run / "parity.json")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert parity.returncode == 0, parity.stdout[-3000:] + parity.stderr[-3000:]
    doc = json.loads((run / "parity.json").read_text())
    summary = doc["summary"]
    assert summary["paper_trades"] == len(_bot_trades(replayed_bot))
    assert summary["backtest_trades"] > 0
    assert (
        summary["matched"] + summary["deviating"] + summary["missed"] == summary["backtest_trades"]
    )
    assert all(m["cause"] for m in doc["matches"] if m["status"] != "matched")


def test_panic_closes_every_open_trade_and_stops_entries(replayed_bot: ReplayBot) -> None:
    """Last: it leaves the bot paused. A force-entered market trade guarantees something is
    open (force entries are enabled by replay-trading.json)."""
    import subprocess
    import sys

    from tribar.testing.replay_bot import API_PASSWORD, API_USER

    client = replayed_bot.client()
    entered = client.forceenter("BTC/USDT", "long", order_type="market", stake_amount=50)
    assert entered.get("pair") == "BTC/USDT", entered
    deadline = time.monotonic() + 30
    while not client.status() and time.monotonic() < deadline:
        time.sleep(0.5)
    open_before = {t["trade_id"] for t in client.status()}
    assert entered["trade_id"] in open_before

    done = subprocess.run(
        [sys.executable, "-m", "tribar.cli", "panic", "--url", replayed_bot.api_url,
         "--username", API_USER, "--password", API_PASSWORD, "--timeout", "60"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "entries stopped: yes" in done.stdout
    assert f"trade {entered['trade_id']} BTC/USDT: closed at" in done.stdout
    assert client.status() == []
    assert client.show_config()["state"] == "paused"
    closed = {t["id"]: t for t in _bot_trades(replayed_bot)}
    for trade_id in open_before:
        if trade_id in closed:  # an unfilled entry is removed instead
            assert not closed[trade_id]["is_open"]
            assert closed[trade_id]["exit_reason"] == "force_exit"
