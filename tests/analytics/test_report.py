"""``tribar report``: terminal tables, the HTML file, and that its charts really render."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.analytics import oracle
from tests.analytics.conftest import Ledger
from tribar.analysis.analytics import TradeFilter
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.schema import metadata
from tribar.analysis.report.html import CHART_IDS, downsample_indices
from tribar.cli import main

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def run_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_prints_tables_and_writes_offline_html(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "r" / "report.html"
    code, out, err = run_report(
        capsys, "--url", ledger.url, "--since", "2025-02-01", "--pair", "BTC/USDT,ETH/USDT",
        "--live", "--starting-balance", "500", "--html", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    flt = TradeFilter(
        start=pd.Timestamp("2025-02-01", tz="UTC").to_pydatetime(),
        pairs=("BTC/USDT", "ETH/USDT"),
        dry_run=False,
    )
    expected = oracle.select(ledger.frame, flt)
    assert f"{len(expected):,} (" in out  # the trades line of the summary table
    for title in ("Summary", "Pairs", "Weekday (UTC)", "Hour of day (UTC)", "Model confidence"):
        assert title in out
    assert "SOL/USDT" not in out  # filtered away
    assert f"HTML report written to {out_file}" in out

    page = out_file.read_text(encoding="utf-8")
    # Self-contained: plotly.js inline, nothing fetched from the network.
    assert not re.search(r"<script[^>]+src=", page)
    assert "plotly.js v" in page or "Plotly" in page
    for chart in CHART_IDS:
        assert f'id="{chart}"' in page
    assert "BTC/USDT" in page and "SOL/USDT" not in page


def test_report_on_an_empty_ledger_says_so(
    empty_engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = empty_engine.url.render_as_string(hide_password=False)
    code, out, err = run_report(capsys, "--url", url, "--html", str(tmp_path / "e.html"))
    assert code == 0, err
    assert "No trades match this filter." in out
    assert "No trades match this filter." in (tmp_path / "e.html").read_text(encoding="utf-8")


def test_bad_input_exits_2_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_report(capsys, "--url", "mysql://u@h/db")
    assert code == 2 and "supports sqlite and postgresql" in err
    code, _, err = run_report(
        capsys, "--url", "sqlite:///x.db", "--since", "2025-02-01", "--until", "2025-01-01"
    )
    assert code == 2 and "empty time window" in err
    with pytest.raises(SystemExit) as exc:
        main(["report", "--since", "yesterday"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["report", "--starting-balance", "0"])


def test_unmigrated_database_exits_1_and_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.sqlite"
    sa.create_engine(f"sqlite:///{blank}").connect().close()  # a database without tables
    code, _, err = run_report(capsys, "--url", f"sqlite:///{blank}")
    assert code == 1 and "tribar db upgrade" in err


def test_missing_sqlite_ledger_is_reported_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nothing-here.sqlite"
    code, _, err = run_report(capsys, "--url", f"sqlite:///{path}")
    assert code == 1 and "no ledger database" in err and "tribar db upgrade" in err
    assert not path.exists()


def test_ledger_url_from_environment_then_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    small = f"sqlite:///{tmp_path / 'small.sqlite'}"
    engine = sa.create_engine(small)
    metadata.create_all(engine)
    insert_trades(engine, make_trades(7, seed=2))
    engine.dispose()
    monkeypatch.chdir(tmp_path)  # no config.json here
    monkeypatch.setenv("TRIBAR_LEDGER_URL", small)
    code, out, _ = run_report(capsys)
    assert code == 0 and "7 (" in out and "small.sqlite" in out
    monkeypatch.delenv("TRIBAR_LEDGER_URL")
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"tribar": {"ledger_url": small}}))
    code, out, _ = run_report(capsys, "-c", str(config))
    assert code == 0 and "7 (" in out


def test_downsampling_keeps_extremes_and_ends() -> None:
    rng = np.random.default_rng(3)
    balance = np.cumsum(rng.normal(size=200_000))
    dd = balance - np.maximum.accumulate(balance)
    idx = downsample_indices([balance, dd], 3000)
    assert len(idx) <= 3000 + 2 and idx[0] == 0 and idx[-1] == len(balance) - 1
    assert np.all(np.diff(idx) > 0)
    for series in (balance, dd):
        assert series.argmin() in idx and series.argmax() in idx
    assert downsample_indices([balance[:50]], 3000).tolist() == list(range(50))


# --- the page in a real browser ---------------------------------------------------------------


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "headless Chromium is needed to check that the HTML report renders; install it "
        "(Debian: apt-get install -y chromium)"
    )


def render_dom(chromium: str, page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,3000",
                # Let plotly's scripts run to completion before the DOM is dumped.
                "--virtual-time-budget=15000", "--dump-dom", page.resolve().as_uri(),
            ],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def chart_segments(dom: str) -> dict[str, str]:
    """The DOM from each chart's div to the next chart's (plotly fills the div it was given)."""
    starts = {chart: dom.find(f'id="{chart}"') for chart in CHART_IDS}
    assert all(pos >= 0 for pos in starts.values()), starts
    order = sorted(starts, key=lambda c: starts[c])
    bounds = [starts[c] for c in order] + [len(dom)]
    return {c: dom[bounds[i] : bounds[i + 1]] for i, c in enumerate(order)}


def test_html_report_renders_its_charts_in_chromium(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chromium = find_chromium()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    insert_trades(engine, make_trades(800, seed=9, days=90))
    engine.dispose()
    page = tmp_path / "report.html"
    code, _, err = run_report(capsys, "--url", url, "--html", str(page))
    assert code == 0, err

    dom = render_dom(chromium, page)
    segments = chart_segments(dom)
    for chart, html in segments.items():
        # plotly draws into <svg class="main-svg"> only when its script ran in the browser.
        assert 'class="main-svg"' in html, f"{chart} did not render"
    # And drew data, not just empty axes: lines with a path, bars, the heat map's image.
    assert re.search(r'class="js-line"[^>]*d="M', segments["equity-chart"])
    assert re.search(r'class="js-line"[^>]*d="M', segments["drawdown-chart"])
    assert segments["confidence-chart"].count('class="point"') >= 10
    assert "<image" in segments["heatmap-chart"]
    assert "No trades match" not in dom


def test_mixed_stake_currencies_are_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mixed.sqlite'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    frame = make_trades(20, seed=8)
    frame.loc[:4, "stake_currency"] = "BTC"
    insert_trades(engine, frame)
    engine.dispose()
    page = tmp_path / "m.html"
    code, out, _ = run_report(capsys, "--url", url, "--html", str(page))
    assert code == 0 and "several stake currencies (BTC, USDT)" in out
    assert "several stake currencies" in page.read_text(encoding="utf-8")
