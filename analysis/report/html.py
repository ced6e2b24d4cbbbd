"""The self-contained HTML report: plotly charts (plotly.js inlined once, works offline) and
tables, filled into templates/report.html."""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from tribar.analysis.analytics import WEEKDAY_NAMES
from tribar.analysis.report.build import NA, Report, money, number, pct, ratio, summary_rows, when
from tribar.analysis.report.shap_charts import section_html as shap_section_html

# A million-point line would make a 30 MB page that a browser draws slowly; a few thousand
# points keep every peak and trough visible (see downsample_indices).
MAX_CHART_POINTS = 6000
CHART_IDS = ("equity-chart", "drawdown-chart", "confidence-chart", "heatmap-chart")
_GREEN, _RED, _BLUE, _GREY = "#1a9850", "#d73027", "#2166ac", "#8c8c8c"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
EN_DASH, TIMES = "\u2013", "\u00d7"


def downsample_indices(series: Sequence[NDArray[np.float64]], max_points: int) -> NDArray[np.intp]:
    """Indices to plot: all of them when few, else per equal slice the first point and each
    series' minimum and maximum, so drawdown troughs and equity peaks survive thinning."""
    n = len(series[0]) if series else 0
    if n <= max_points:
        return np.arange(n)
    per_bucket = 1 + 2 * len(series)
    edges = np.linspace(0, n, max(max_points // per_bucket, 1) + 1).astype(int)
    keep: list[int] = [n - 1]
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        keep.append(lo)
        for values in series:
            chunk = values[lo:hi]
            keep += [lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))]
    return np.unique(np.array(keep, dtype=np.intp))


def _layout(fig: go.Figure, title: str, height: int = 380, **overrides: Any) -> go.Figure:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 16}},
        "template": "plotly_white",
        "height": height,
        "margin": {"l": 60, "r": 30, "t": 50, "b": 45},
        # Centred above the plot: the right corner belongs to plotly's toolbar.
        "legend": {
            "orientation": "h",
            "y": 1.02,
            "x": 0.5,
            "xanchor": "center",
            "yanchor": "bottom",
        },
        "hovermode": "x unified",
    }
    fig.update_layout(**(layout | overrides))
    return fig


def equity_figure(report: Report) -> go.Figure:
    eq = report.equity
    idx = downsample_indices(
        [eq["balance"].to_numpy(), eq["drawdown_pct"].to_numpy()], MAX_CHART_POINTS
    )
    # The curve starts from the starting balance at the first close, not from after that trade.
    start = report.summary.starting_balance
    dates = pd.concat([eq["close_date"].iloc[:1], eq["close_date"].iloc[idx]], ignore_index=True)
    balance = np.concatenate(([start], eq["balance"].to_numpy()[idx]))
    peak = np.concatenate(([start], eq["peak_balance"].to_numpy()[idx]))
    fig = go.Figure()
    fig.add_scatter(
        x=dates, y=peak, name="Peak balance", mode="lines",
        line={"color": _GREY, "width": 1, "dash": "dot"},
    )  # fmt: skip
    fig.add_scatter(
        x=dates, y=balance, name="Balance", mode="lines", line={"color": _BLUE, "width": 2}
    )
    fig.add_hline(
        y=start, line={"color": _GREY, "width": 1},
        annotation_text="starting balance", annotation_position="bottom right",
    )  # fmt: skip
    suffix = f" ({report.currency})" if report.currency else ""
    return _layout(fig, f"Equity curve{suffix}", yaxis_title=f"Balance{suffix}")


def drawdown_figure(report: Report) -> go.Figure:
    eq = report.equity
    idx = downsample_indices(
        [eq["balance"].to_numpy(), eq["drawdown_pct"].to_numpy()], MAX_CHART_POINTS
    )
    fig = go.Figure()
    fig.add_scatter(
        x=eq["close_date"].iloc[idx], y=eq["drawdown_pct"].iloc[idx] * 100, name="Drawdown",
        mode="lines", fill="tozeroy", line={"color": _RED, "width": 1},
        hovertemplate="%{y:.2f} %<extra></extra>",
    )  # fmt: skip
    return _layout(
        fig, "Drawdown (% below the peak balance)", height=300, yaxis_title="%", showlegend=False
    )


def confidence_figure(report: Report) -> go.Figure:
    frame = report.confidence.frame
    labels = [
        f"{lo:.2f}{EN_DASH}{hi:.2f}" for lo, hi in zip(frame["lower"], frame["upper"], strict=True)
    ]
    avg = frame["avg_pnl"].to_numpy(dtype=float)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(
        x=labels, y=avg, name="Average net pnl per trade",
        marker_color=[_GREEN if v > 0 else _RED for v in np.nan_to_num(avg)],
        customdata=np.stack([frame["trades"], frame["net_pnl"]], axis=1),
        hovertemplate="avg %{y:.3f}, %{customdata[0]} trades, net %{customdata[1]:.2f}"
        "<extra></extra>",
        secondary_y=False,
    )  # fmt: skip
    fig.add_scatter(
        x=labels, y=frame["win_rate"].to_numpy(dtype=float) * 100, name="Win rate",
        mode="lines+markers", line={"color": _BLUE}, connectgaps=False,
        hovertemplate="win rate %{y:.1f} %<extra></extra>", secondary_y=True,
    )  # fmt: skip
    fig.update_yaxes(title_text="Average net pnl", secondary_y=False, zeroline=True)
    # Fixed 0-100 % (padded so markers at 0 or 100 are not cut): plotly would otherwise
    # align the ticks to the pnl axis and label them with odd numbers.
    fig.update_yaxes(
        title_text="Win rate", secondary_y=True, showgrid=False, range=[-4, 104],
        tickvals=[0, 20, 40, 60, 80, 100], ticksuffix=" %",
    )  # fmt: skip
    fig.update_xaxes(title_text="Model confidence", type="category")
    return _layout(fig, "Model confidence vs pnl and win rate")


def heatmap_figure(report: Report) -> go.Figure:
    m = report.matrix
    trades = m.trades.to_numpy()
    # Cells without trades stay blank rather than reading as a neutral 0 pnl.
    net = np.where(trades > 0, m.net_pnl.to_numpy(dtype=float), np.nan)
    win = m.win_rate.to_numpy(dtype=float) * 100
    bound = float(np.nanmax(np.abs(net))) if np.isfinite(net).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=net, x=[f"{h:02d}" for h in m.net_pnl.columns], y=list(WEEKDAY_NAMES),
            colorscale="RdYlGn", zmid=0, zmin=-bound, zmax=bound, xgap=1, ygap=1,
            customdata=np.dstack([trades, win]),
            hovertemplate="%{y} %{x}:00 UTC<br>net %{z:.2f}<br>%{customdata[0]} trades, "
            "win rate %{customdata[1]:.0f} %<extra></extra>",
            colorbar={"title": {"text": "net pnl"}},
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="Hour of day (UTC)", type="category")
    return _layout(fig, f"Net pnl by weekday {TIMES} hour (UTC)", height=360, hovermode="closest")


def _figure_html(fig: go.Figure, div_id: str) -> str:
    return str(
        fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_PLOT_CONFIG)
    )


# --- tables ------------------------------------------------------------------------------------


def _cell(value: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{html.escape(value)}</td>"


def _pnl_cell(value: float | None, currency: str = "") -> str:
    css = "num"
    if value is not None and not np.isnan(value) and value != 0:
        css += " pos" if value > 0 else " neg"
    return _cell(money(value, currency), css)


def _table(headers: Sequence[str], rows: Iterable[str], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def group_table(frame: pd.DataFrame, label: str, keys: Sequence[str]) -> str:
    headers = (label, "Trades", "Win rate", "Net pnl", "Avg pnl", "Profit factor")
    rows = [
        _cell(key)
        + _cell(f"{int(r['trades']):,}", "num")
        + _cell(pct(r["win_rate"]), "num")
        + _pnl_cell(r["net_pnl"])
        + _pnl_cell(r["avg_pnl"])
        + _cell(ratio(r["profit_factor"]), "num")
        for key, (_, r) in zip(keys, frame.iterrows(), strict=True)
    ]
    return _table(headers, rows, "groups")


def summary_cards(report: Report) -> str:
    s, cur = report.summary, report.currency
    cards = [
        (
            "Net pnl",
            money(s.net_pnl, cur),
            "pos" if s.net_pnl > 0 else "neg" if s.net_pnl < 0 else "",
        ),
        ("Trades", f"{s.trades:,}", ""),
        ("Win rate", pct(s.win_rate), ""),
        ("Profit factor", ratio(s.profit_factor), ""),
        ("Sharpe", ratio(s.sharpe), ""),
        ("Max drawdown", pct(s.max_drawdown_pct, 2), "neg" if s.max_drawdown_pct > 0 else ""),
    ]
    return "".join(
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value {css}">{html.escape(value)}</div></div>'
        for label, value, css in cards
    )


def execution_table(report: Report) -> str:
    rows = []
    for name, d in (
        ("Slippage (bps)", report.execution.slippage_bps),
        ("Order latency (ms)", report.execution.order_latency_ms),
    ):
        rows.append(
            _cell(name)
            + _cell(f"{d.count:,}", "num")
            + "".join(_cell(number(v), "num") for v in (d.mean, d.p50, d.p90, d.p99, d.max))
        )
    return _table(("", "Trades with data", "Mean", "p50", "p90", "p99", "Max"), rows, "groups")


def _section(title: str, content: str, note: str = "") -> str:
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f"<section><h2>{html.escape(title)}</h2>{note_html}{content}</section>"


def body_html(report: Report) -> str:
    s = report.summary
    if s.empty:
        return '<p class="empty">No trades match this filter.</p>'
    facts = _table(
        ("Figure", "Value"),
        (_cell(label) + _cell(value, "num") for label, value in summary_rows(report)),
        "facts",
    )
    conf = report.confidence
    unscored = (
        f"{conf.unscored_trades:,} trade(s) without a model confidence are not in any bucket "
        f"(net {money(conf.unscored_net_pnl, report.currency)})."
        if conf.unscored_trades
        else ""
    )
    conf_labels = [
        f"{lo:.2f}{EN_DASH}{hi:.2f}"
        for lo, hi in zip(conf.frame["lower"], conf.frame["upper"], strict=True)
    ]
    warnings = "".join(f'<p class="warning">{html.escape(w)}</p>' for w in report.warnings)
    parts = [
        warnings,
        f'<div class="cards">{summary_cards(report)}</div>',
        f'<div class="chart">{_figure_html(equity_figure(report), CHART_IDS[0])}</div>',
        f'<div class="chart">{_figure_html(drawdown_figure(report), CHART_IDS[1])}</div>',
        '<div class="two">',
        _section("Summary", facts),
        _section("Pairs", group_table(report.pairs, "Pair", [str(p) for p in report.pairs.index])),
        "</div>",
        f'<div class="chart">{_figure_html(confidence_figure(report), CHART_IDS[2])}</div>',
        f'<div class="chart">{_figure_html(heatmap_figure(report), CHART_IDS[3])}</div>',
        '<div class="two">',
        _section(
            "Weekday (UTC)", group_table(report.weekdays, "Day", list(report.weekdays["name"]))
        ),
        _section("Model confidence", group_table(conf.frame, "Confidence", conf_labels), unscored),
        "</div>",
        '<div class="two">',
        _section(
            "Hour of day (UTC)",
            group_table(report.hours, "Hour", [f"{h:02d}:00" for h in report.hours.index]),
        ),
        _section(
            "Execution quality",
            execution_table(report),
            "Percentiles are linear-interpolated over the trades that recorded the value.",
        ),
        "</div>",
    ]
    return "\n".join(parts)


def render_html(report: Report, shap_dir: Path | None = None, page_dir: Path | None = None) -> str:
    """The page; with ``shap_dir``, a section with the SHAP charts found there (links relative
    to ``page_dir``, the page's folder), or saying there are none."""
    body = body_html(report)
    if shap_dir is not None:
        body += "\n" + shap_section_html(shap_dir, page_dir or Path.cwd())
    template = Template(
        resources.files("tribar.analysis.report").joinpath("templates/report.html").read_text("utf-8")
    )
    source = f"{report.source} · " if report.source else ""
    meta = (
        f"{source}{report.flt.describe()} · starting balance "
        f"{money(report.summary.starting_balance, report.currency, signed=False)} · "
        f"generated {when(report.generated_at)}"
    )
    return template.substitute(
        title=html.escape(f"tribar report — {report.flt.describe()}"),
        meta=html.escape(meta),
        plotly_js=get_plotlyjs(),
        body=body,
        na=NA,
    )


def write_html(report: Report, path: str | Path, shap_dir: Path | None = None) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, shap_dir, out.parent), encoding="utf-8")
    return out
