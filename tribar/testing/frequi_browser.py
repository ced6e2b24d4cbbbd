"""Drive FreqUI in Debian's headless Chromium (through Playwright) as a person would: log in with
the ``api_server`` credentials, open views, take screenshots.

Only loopback traffic is allowed: FreqUI asks api.iconify.design for icons, and Chromium itself
phones home; both are blocked (and recorded in ``blocked_requests``) so tests never touch the
network. Playwright's own browser download is never used: ``executable_path`` is Debian's build.

    with FrequiBrowser("http://127.0.0.1:8080", "tribar", password, out_dir) as ui:
        ui.login()
        ui.open_trades()      # open trades + trade history screenshots
        ui.open_profit()      # dashboard with the profit charts
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No DNS at all: anything but loopback fails at once instead of timing out.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
_LOOPBACK_URL = re.compile(r"^(https?|wss?)://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")
# FreqUI's routes (vue-router paths in its bundle).
VIEWS = {
    "trade": "/trade",
    "dashboard": "/dashboard",
    "open_trades": "/open_trades",
    "trade_history": "/trade_history",
    "balance": "/balance",
    "logs": "/logs",
}
# Tabs of the trade view's "Multi Pane" (their panels' ids end in "-content-<tab>").
TRADE_TABS = ("pairs", "general", "performance", "balance", "time-breakdown", "pairlist",
              "pair-locks")  # fmt: skip


class FrequiBrowserError(RuntimeError):
    """Chromium is missing, or FreqUI did not behave as expected (login refused, view empty)."""


def chromium_executable() -> str:
    path = os.environ.get("TRIBAR_CHROMIUM", DEFAULT_CHROMIUM)
    if not Path(path).is_file():
        raise FrequiBrowserError(
            f"Chromium not found at {path}; install Debian's 'chromium' package "
            "(scripts/system-deps.sh does) or set TRIBAR_CHROMIUM"
        )
    return path


class FrequiBrowser:
    """One fresh Chromium profile logged into one FreqUI; screenshots go to ``out_dir``."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        out_dir: Path,
        *,
        viewport: tuple[int, int] = (1400, 900),
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.out_dir = Path(out_dir)
        self.viewport = viewport
        self.timeout_ms = timeout_s * 1000
        self.screenshots: list[Path] = []
        self.blocked_requests: list[str] = []
        self.console_errors: list[str] = []
        self._playwright: Any = None
        self._context: Any = None
        self._profile_dir: str | None = None
        self.page: Any = None

    def __enter__(self) -> FrequiBrowser:
        from playwright.sync_api import sync_playwright

        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._profile_dir = tempfile.mkdtemp(prefix="tribar-chromium-")
        self._playwright = sync_playwright().start()
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                self._profile_dir,
                executable_path=chromium_executable(),
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport={"width": self.viewport[0], "height": self.viewport[1]},
            )
            self._context.set_default_timeout(self.timeout_ms)
            self._context.route("**/*", self._only_loopback)
            self.page = self._context.pages[0] if self._context.pages else self._context.new_page()
            self.page.on("console", self._record_console)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._profile_dir is not None:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
            self._profile_dir = None

    def _only_loopback(self, route: Any) -> None:
        url = route.request.url
        if _LOOPBACK_URL.match(url) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked_requests.append(url)
            route.abort("blockedbyclient")

    def _record_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        path = self.out_dir / f"{len(self.screenshots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.screenshots.append(path)
        return path

    def text(self) -> str:
        """The visible text of the current page (for assertions next to the screenshots)."""
        text: str = self.page.inner_text("body")
        return text

    def _settle(self) -> None:
        # FreqUI polls the bot every few seconds; network-idle is the moment after a refresh.
        # A view that keeps polling never goes idle; it is still worth a screenshot.
        with contextlib.suppress(Exception):
            self.page.wait_for_load_state("networkidle", timeout=min(self.timeout_ms, 10_000))
        self.page.wait_for_timeout(800)  # chart animations

    def login(self) -> Path:
        """Log in on FreqUI's login page; return a screenshot of the page it lands on."""
        page = self.page
        page.goto(f"{self.url}/login")
        page.get_by_label("API Url").fill(self.url)
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(self.password)
        self.screenshot("login-form")
        page.locator("button[type=submit]").click()
        try:
            page.wait_for_url(lambda u: not u.rstrip("/").endswith("/login"))
        except Exception as exc:
            self.screenshot("login-failed")
            raise FrequiBrowserError(
                f"FreqUI login at {self.url} did not succeed; the page says: {self.text()[:500]}"
            ) from exc
        self._settle()
        return self.screenshot("after-login")

    def open_view(self, view: str, *, wait_for_text: str | None = None) -> Path:
        """Open one of ``VIEWS`` (or a path starting with '/') and screenshot it."""
        path = VIEWS.get(view, view)
        if not path.startswith("/"):
            raise ValueError(f"unknown FreqUI view {view!r}; known: {', '.join(VIEWS)}")
        self.page.goto(f"{self.url}{path}")
        if self.page.url.rstrip("/").endswith("/login"):
            raise FrequiBrowserError(f"FreqUI sent {path} to the login page; call login() first")
        if wait_for_text is not None:
            self.page.get_by_text(wait_for_text).first.wait_for()
        self._settle()
        return self.screenshot(path.strip("/").replace("/", "-") or "home")

    def open_trade_tab(self, tab: str) -> Path:
        """Open the trade view with one of ``TRADE_TABS`` selected in its Multi Pane."""
        if tab not in TRADE_TABS:
            raise ValueError(f"unknown trade-view tab {tab!r}; known: {', '.join(TRADE_TABS)}")
        if not self.page.url.rstrip("/").endswith(VIEWS["trade"]):
            self.open_view("trade")
        self.page.locator(f'button[role=tab][aria-controls$="-content-{tab}"]').click()
        self._settle()
        return self.screenshot(f"trade-{tab}")

    def open_trades(self) -> list[Path]:
        """Open trades and the closed-trade history (FreqUI's list views)."""
        return [self.open_view("open_trades"), self.open_view("trade_history")]

    def open_profit(self) -> list[Path]:
        """The dashboard (closed profit, profit over time, cumulative profit, closed trades,
        wallet history), then the trade view's bot status (profit summary) and daily
        breakdown."""
        return [
            self.open_view("dashboard"),
            self.open_trade_tab("general"),
            self.open_trade_tab("time-breakdown"),
        ]


def login_and_screenshot(url: str, user: str, password: str, out_dir: Path) -> list[Path]:
    """Log into FreqUI at ``url`` in a fresh headless Chromium; return the screenshots taken
    (login form, landing page)."""
    with FrequiBrowser(url, user, password, out_dir) as ui:
        ui.login()
        return list(ui.screenshots)
