"""Freqtrade's own Telegram bot, end to end over HTTP: commands typed by the (fake) user reach a
real ``FreqtradeBot`` through python-telegram-bot's polling, and its replies come back through
the fake Bot API server. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.telegram.conftest import RunningBot
from tribar.testing.fake_telegram import FailureMode, FakeTelegramServer

pytestmark = pytest.mark.freqtrade

StartBot = Callable[..., Any]


def _telegram_of(bot: Any) -> Any:
    from freqtrade.rpc.telegram import Telegram

    return next(m for m in bot.rpc.registered_modules if isinstance(m, Telegram))


def _status(bot: Any, text: str) -> None:
    from freqtrade.enums import RPCMessageType

    bot.rpc.send_msg({"type": RPCMessageType.STATUS, "status": text})


def test_bot_starts_polling_the_configured_server(running_bot: RunningBot) -> None:
    server = running_bot.server
    methods = [c.method for c in server.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert {c.token for c in server.calls} == {server.token}
    assert server.calls_to("deleteWebhook")[0].params["drop_pending_updates"] == "true"
    # Freqtrade long-polls with timeout=20.
    assert server.calls_to("getUpdates")[0].params["timeout"] == "20"


def test_commands_get_replies(running_bot: RunningBot) -> None:
    from freqtrade import __version__
    from freqtrade.enums import State

    server, bot = running_bot.server, running_bot.bot
    [version] = server.command("/version")
    assert f"`{__version__}`" in version.text and "`probe-1`" in version.text
    assert version.chat_id == server.chat_id
    assert version.params["parse_mode"] == "Markdown"

    [help_text] = server.command("/help")
    assert "/forceexit" in help_text.text and "/reload_config" in help_text.text

    assert server.command("/status")[0].text == "no active trade"
    assert "No trades yet." in server.command("/profit")[0].text
    assert "0 recent trades" in server.command("/trades")[0].text
    assert server.command("/locks")[0].text == "No active locks."

    assert bot.state != State.PAUSED
    [paused] = server.command("/stopentry")
    assert "paused" in paused.text
    assert bot.state == State.PAUSED  # the command reached the real bot object


def test_bot_notifications_are_delivered(running_bot: RunningBot) -> None:
    from freqtrade.enums import RPCMessageType

    server, bot = running_bot.server, running_bot.bot
    since = len(server.messages)
    _status(bot, "tribar probe")
    assert server.wait_for_text("tribar probe", since=since).text == "*Status:* `tribar probe`"
    # The path the circuit breaker's messages take (dp.send_msg -> strategy message).
    bot.rpc.send_msg({"type": RPCMessageType.STRATEGY_MSG, "msg": "Risk circuit breaker HALTED"})
    message = server.wait_for_text("circuit breaker", since=since)
    assert message.text == "Risk circuit breaker HALTED"


def test_other_chats_are_ignored(running_bot: RunningBot) -> None:
    server = running_bot.server
    since = len(server.messages)
    server.send_user_message("/version", chat_id=server.chat_id + 1)
    time.sleep(2)
    assert server.messages[since:] == []
    # The foreign update was fetched (and confirmed), just not answered.
    assert server.pending_updates == 0
    assert server.command("/version")


def test_refresh_button_edits_the_message(running_bot: RunningBot) -> None:
    server = running_bot.server
    [daily] = server.command("/daily")
    assert "Daily Profit over the last 7 days" in daily.text
    [refresh] = daily.inline_buttons()
    assert (refresh["text"], refresh["callback_data"]) == ("Refresh", "update_daily")
    since = len(server.messages)
    server.press_button(daily, refresh["callback_data"])
    edit = server.wait_for_message(lambda m: m.method == "editMessageText", since=since)
    assert edit.message_id == daily.message_id
    assert "Daily Profit" in edit.text and "Updated:" in edit.text


def test_environment_alone_points_the_bot_at_the_server(
    fake_telegram: FakeTelegramServer, start_bot: StartBot
) -> None:
    """What a bot in a subprocess gets: token, chat and server only from the environment."""
    bot = start_bot(fake_telegram, via_environment=True)
    assert bot.config["telegram"]["chat_id"] == str(fake_telegram.chat_id)
    assert "telegram_api_url" not in bot.config.get("tribar", {})
    [version] = fake_telegram.command("/version")
    assert "`probe-1`" in version.text


def test_server_down_at_start_does_not_crash_the_bot(
    fake_telegram: FakeTelegramServer, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    fake_telegram.set_failure(FailureMode.HTTP_500)
    bot = start_bot(fake_telegram)
    telegram = _telegram_of(bot)
    # Freqtrade tries getMe three times, 2 s apart, then runs on without Telegram.
    telegram._thread.join(timeout=30)
    assert not telegram._thread.is_alive()
    assert len(fake_telegram.calls_to("getMe")) == 3
    assert "Telegram init failed." in caplog.text
    _status(bot, "nobody hears this")  # must not raise
    assert bot.state is not None
    assert fake_telegram.messages == []


@pytest.mark.parametrize("outage", ["http_500", "drop_connection", "refuse"])
def test_outage_is_survived_and_polling_resumes(
    fake_telegram: FakeTelegramServer,
    start_bot: StartBot,
    outage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    bot = start_bot(fake_telegram)
    assert fake_telegram.command("/version")
    if outage == "refuse":
        fake_telegram.stop()
    else:
        fake_telegram.set_failure(FailureMode(outage))
    calls_before = len(fake_telegram.calls)
    _status(bot, "lost in the outage")
    deadline = time.monotonic() + 15
    while "Giving up on that message" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Giving up on that message" in caplog.text  # Freqtrade retried once, then gave up
    if outage != "refuse":
        assert fake_telegram.failed_requests >= 2
    else:
        assert len(fake_telegram.calls) == calls_before  # nothing got through a closed port

    if outage == "refuse":
        fake_telegram.start()
    else:
        fake_telegram.set_failure(None)
    assert _telegram_of(bot)._thread.is_alive()
    # Polling backs off while the server is down; it must come back by itself.
    assert fake_telegram.command("/version", timeout=40)
    _status(bot, "after the outage")
    fake_telegram.wait_for_text("after the outage")
    assert all("lost in the outage" not in m.text for m in fake_telegram.messages)
