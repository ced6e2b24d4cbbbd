"""``tribar report --html``: the SHAP charts ``tribar features`` saves are embedded in the page and
linked relative to it, or the page says there are none."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image

from tests.analytics.test_report import find_chromium, render_dom, run_report
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.schema import metadata
from tribar.analysis.report.shap_charts import NOT_FOUND
from tribar.ml.features_cli import write_plots
from tribar.ml.shap_files import BAR_PNG, BEESWARM_PNG

IMG = re.compile(r'<a href="([^"]+)"><img src="data:image/png;base64,([^"]+)" alt="([^"]+)">')


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('shap-ledger') / 'ledger.sqlite'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    insert_trades(engine, make_trades(60, seed=5, days=20))
    engine.dispose()
    return url


def _charts(out_dir: Path) -> tuple[Path, Path]:
    """The PNGs as `tribar features` draws them (its own write_plots), on made-up SHAP values."""
    rng = np.random.default_rng(3)
    names = ["%-rsi-period_12", "%-roc-period_24", "%-natr-period_12", "%-hour_sin"]
    values = pd.DataFrame(rng.normal(size=(200, len(names))), columns=names)
    shap_rows = values * np.array([0.5, 0.3, 0.2, 0.05])
    importance = shap_rows.abs().mean().sort_values(ascending=False)
    return write_plots(importance, shap_rows, values, out_dir)


def test_the_report_embeds_and_links_the_shap_charts(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bar, beeswarm = _charts(tmp_path / "plots")
    page = tmp_path / "out" / "report.html"
    code, _, err = run_report(capsys, "--url", ledger_url, "--html", str(page),
                              "--shap-dir", str(tmp_path / "plots"))  # fmt: skip
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert NOT_FOUND not in text
    images = IMG.findall(text)
    assert [href for href, _, _ in images] == ["../plots/" + BAR_PNG, "../plots/" + BEESWARM_PNG]
    for (href, data, _), source in zip(images, (bar, beeswarm), strict=True):
        # The link resolves from the page's folder to the file; the embedded copy is that file.
        assert (page.parent / href).resolve() == source.resolve()
        embedded = base64.b64decode(data)
        assert embedded == source.read_bytes()
        with Image.open(io.BytesIO(embedded)) as image:
            assert image.format == "PNG" and min(image.size) > 100
    # Still self-contained: nothing but the two local links points outside the page.
    assert not re.search(r"<(script|img)[^>]+src=\"(?!data:)", text)

    # In a browser the section is there with both images, after the trade charts.
    dom = render_dom(find_chromium(), page)
    section = dom[dom.index('id="shap"') :]
    assert section.count("<img") == 2 and "Model features (SHAP)" in section
    assert dom.index('id="heatmap-chart"') < dom.index('id="shap"')


def test_without_charts_the_report_says_how_to_make_them(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    code, _, err = run_report(capsys, "--url", ledger_url, "--html", str(page),
                              "--shap-dir", str(tmp_path / "nowhere"))  # fmt: skip
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert NOT_FOUND in text and "No SHAP analysis found (run tribar features)" in text
    assert str(tmp_path / "nowhere") in text
    assert not IMG.findall(text) and "<img" not in text


def test_the_default_is_where_tribar_features_writes_them(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    _charts(Path("config"))  # tribar features without --plots-dir: beside config/selected_…json
    code, _, err = run_report(capsys, "--url", ledger_url, "--html", "report.html")
    assert code == 0, err
    hrefs = [href for href, _, _ in IMG.findall((tmp_path / "report.html").read_text("utf-8"))]
    assert hrefs == ["config/" + BAR_PNG, "config/" + BEESWARM_PNG]


def test_a_file_that_is_not_a_png_is_named(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plots = tmp_path / "plots"
    _, beeswarm = _charts(plots)
    (plots / BAR_PNG).write_text("not an image")
    page = tmp_path / "report.html"
    code, _, err = run_report(capsys, "--url", ledger_url, "--html", str(page),
                              "--shap-dir", str(plots))  # fmt: skip
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert f"{plots / BAR_PNG} is not a PNG image" in text
    assert [href for href, _, _ in IMG.findall(text)] == ["plots/" + BEESWARM_PNG]
    assert beeswarm.exists()
