"""FreqUI as a person sees it: served by a real ``freqtrade webserver``, logged into in Debian's
headless Chromium, screenshots taken. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import struct
import urllib.request
from pathlib import Path

import pytest

from tests.ui.conftest import Webserver
from tribar.testing.frequi_browser import FrequiBrowser, FrequiBrowserError, login_and_screenshot
from tribar.ui import InstallResult

pytestmark = pytest.mark.freqtrade


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_webserver_serves_the_installed_ui(
    freqtrade_webserver: Webserver, frequi_installed: InstallResult
) -> None:
    with urllib.request.urlopen(f"{freqtrade_webserver.url}/ui_version", timeout=10) as resp:
        assert json.load(resp) == {"version": frequi_installed.version}
    with urllib.request.urlopen(f"{freqtrade_webserver.url}/trade", timeout=10) as resp:
        page = resp.read().decode()
    # A deep link gets FreqUI's index (not Freqtrade's "UI not installed" fallback page).
    assert "<title>FreqUI</title>" in page and "tribar-offline-icons.js" in page


def test_login_and_screenshot(freqtrade_webserver: Webserver, screenshot_dir: Path) -> None:
    shots = login_and_screenshot(
        freqtrade_webserver.url,
        freqtrade_webserver.username,
        freqtrade_webserver.password,
        screenshot_dir / "login",
    )
    assert [p.name for p in shots] == ["01-login-form.png", "02-after-login.png"]
    for shot in shots:
        width, height = _png_size(shot)
        assert width == 1400 and height >= 900
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_logged_in_views_render_offline(
    freqtrade_webserver: Webserver, screenshot_dir: Path
) -> None:
    with FrequiBrowser(
        freqtrade_webserver.url,
        freqtrade_webserver.username,
        freqtrade_webserver.password,
        screenshot_dir / "views",
    ) as ui:
        ui.login()
        landing = ui.text()
        assert "Available bots" in landing and "Welcome to the Freqtrade" in landing
        trades = ui.open_trades()
        assert "Currently no open trades" in ui.text() or "No closed trades" in ui.text()
        profit = ui.open_profit()
        assert "Daily Breakdown" in ui.text()  # the last tab open_profit selected
        ui.open_trade_tab("pair-locks")
        assert "Pair Locks" in ui.text() and "Open Trades" in ui.text()
        # Icons come from the bundled preload: rendered as inline SVG, none fetched.
        assert ui.page.locator("header svg, nav svg").count() >= 4
        assert ui.blocked_requests == []
    assert len(trades) == 2 and all(p.is_file() for p in trades)
    assert [p.name.split("-", 1)[1] for p in profit] == [
        "dashboard.png",
        "trade-general.png",
        "trade-time-breakdown.png",
    ]


def test_wrong_password_is_reported(freqtrade_webserver: Webserver, screenshot_dir: Path) -> None:
    with (
        FrequiBrowser(
            freqtrade_webserver.url,
            freqtrade_webserver.username,
            "not-the-password",
            screenshot_dir / "wrong-password",
            timeout_s=5,
        ) as ui,
        pytest.raises(FrequiBrowserError, match="login"),
    ):
        ui.login()
