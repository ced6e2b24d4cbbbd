"""The Grafana dashboard and its provisioning: structure, metric names, and the ledger panels'
SQL run on a real, migrated PostgreSQL ledger."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tests.ledger.rows import sample_row
from tribar.analysis.ledger.db import create_ledger_engine, upsert_rows
from tribar.analysis.ledger.migrate import upgrade
from tribar.monitoring.metrics import TribarMetrics

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"
DASHBOARD = GRAFANA / "dashboards/tribar.json"
DATASOURCES = GRAFANA / "provisioning/datasources/datasources.yml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning/dashboards/dashboards.yml"
PROM_TYPE = "prometheus"
PG_TYPE = "grafana-postgresql-datasource"


def _dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def _panels() -> list[dict[str, Any]]:
    """Every panel, including those nested in rows (none today; a row may be added later)."""
    out: list[dict[str, Any]] = []
    for panel in _dashboard()["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p.get("type") != "row"]


def _datasources() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(DATASOURCES.read_text())
    return {ds["uid"]: ds for ds in doc["datasources"]}


def _targets(ds_type: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    sources = _datasources()
    for panel in _panels():
        for target in panel["targets"]:
            uid = (target.get("datasource") or panel["datasource"])["uid"]
            if sources[uid]["type"] == ds_type:
                yield panel, target


def _registry_series_names() -> set[str]:
    """Series names Prometheus stores for the registry (counter: _total, histogram: _bucket…)."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created")}  # fmt: skip
    names: set[str] = set()
    for family in TribarMetrics().registry.collect():
        names.update(family.name + s for s in suffixes[family.type])
    return names


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names of ``expr``'s selectors (``name{…}``) and any ``tribar_*`` identifier."""
    bare = _STRING.sub('""', expr)
    return set(_SELECTOR.findall(bare)) | set(re.findall(r"\btribar_\w+", bare))


# --- dashboard structure --------------------------------------------------------------------


def test_dashboard_is_valid_json_with_identity() -> None:
    dash = _dashboard()
    assert dash["uid"] and dash["title"]
    assert len(_panels()) >= 9
    ids = [p["id"] for p in _panels()]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"


def test_every_panel_uses_a_provisioned_datasource_and_has_a_query() -> None:
    sources = _datasources()
    for panel in _panels():
        title = panel["title"]
        ref = panel.get("datasource")
        assert isinstance(ref, dict) and ref.get("uid") in sources, f"{title}: datasource {ref}"
        assert ref["type"] == sources[ref["uid"]]["type"], f"{title}: datasource type {ref}"
        assert panel.get("targets"), f"{title}: no query"
        for target in panel["targets"]:
            tref = target.get("datasource", ref)
            assert tref["uid"] in sources, f"{title}/{target['refId']}: datasource {tref}"
            kind = sources[tref["uid"]]["type"]
            query = target.get("expr") if kind == PROM_TYPE else target.get("rawSql")
            assert isinstance(query, str) and query.strip(), f"{title}/{target['refId']}: empty"


def test_required_panels_present() -> None:
    titles = " | ".join(p["title"].lower() for p in _panels())
    for word in ("equity", "win rate", "open positions", "latency", "confidence",
                 "circuit breaker", "drawdown", "edge gate", "errors"):  # fmt: skip
        assert word in titles, f"no panel about {word!r} in {titles}"


def test_template_variables() -> None:
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert {"bot", "pair"} <= set(variables)
    for name in ("bot", "pair"):
        var = variables[name]
        assert var["datasource"]["uid"] == "prometheus"
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        assert re.fullmatch(rf"label_values\((tribar_\w+)(\{{.*\}})?,\s*{name}\)", query), query
        assert promql_metric_names(query.removeprefix("label_values(")) <= (
            _registry_series_names() | {name}
        )
    assert variables["bot"]["query"]["query"] == "label_values(tribar_bot_info, bot)"


def test_promql_metric_names_exist_in_registry() -> None:
    known = _registry_series_names()
    exprs = [t["expr"] for _, t in _targets(PROM_TYPE)]
    assert exprs
    for expr in exprs:
        names = promql_metric_names(expr)
        assert names, f"no metric selector in {expr!r}"
        assert names <= known, f"{expr!r}: unknown metrics {sorted(names - known)}"


def test_metric_name_parser_catches_unknown_names() -> None:
    # The check above is only as good as the parser: a typo or a foreign metric must show.
    names = promql_metric_names(
        'sum by (le) (rate(tribar_order_latency_second_bucket{a="b{"}[5m]))'
    )
    assert names == {"tribar_order_latency_second_bucket"}
    assert promql_metric_names('up{job="tribar"}') == {"up"}
    assert not {"tribar_order_latency_second_bucket", "up"} & _registry_series_names()


def test_promql_parses_with_promtool(tmp_path: Path) -> None:
    # promtool parses every expression (as recording rules) with the variables filled in, so a
    # syntax error shows here without a running Prometheus.
    rules = [
        {"record": f"tribar_dashboard:panel{p['id']}_{t['refId']}", "expr": _fill(t["expr"])}
        for p, t in _targets(PROM_TYPE)
    ]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout, result.stdout


def _fill(expr: str) -> str:
    return expr.replace("$bot", "tribar-dry").replace("$pair", ".*")


def test_variables_only_in_label_matchers() -> None:
    # The real-Prometheus test substitutes $bot/$pair inside matchers only; Grafana-only
    # variables elsewhere ($__rate_interval, …) would make the expressions unevaluable there.
    for panel, target in _targets(PROM_TYPE):
        expr = target["expr"]
        outside = re.sub(r"\{[^}]*\}", "{}", expr)
        assert "$" not in outside, f"{panel['title']}: variable outside a matcher: {expr!r}"
        for value in re.findall(r'=~?\s*"([^"]*\$[^"]*)"', expr):
            assert value in ("$bot", "$pair"), f"{panel['title']}: matcher value {value!r}"
        assert 'bot=~"$bot"' in expr, f"{panel['title']}: not filtered by $bot: {expr!r}"


def test_latency_panel_quantiles_over_histogram_buckets() -> None:
    exprs = [t["expr"] for p, t in _targets(PROM_TYPE) if "latency" in p["title"].lower()]
    quantiles = sorted(
        float(m) for e in exprs for m in re.findall(r"histogram_quantile\(\s*([0-9.]+)", e)
    )
    assert quantiles == [0.5, 0.95, 0.99]
    for expr in exprs:
        assert "tribar_order_latency_seconds_bucket" in expr
        assert re.search(r"by \((le|[^)]*\ble\b)[^)]*\)", expr), f"quantile without le: {expr}"


# --- provisioning ---------------------------------------------------------------------------


def test_datasources_provisioned_with_uids_and_targets() -> None:
    sources = _datasources()
    assert sources["prometheus"]["type"] == PROM_TYPE
    assert sources["prometheus"]["url"] == "http://prometheus:9090"
    ledger = sources["ledger"]
    assert ledger["type"] == PG_TYPE
    assert ledger["url"] == "postgres:5432"
    assert ledger["user"] == "tribar"
    assert ledger["jsonData"]["database"] == "tribar"


_ENV_REF = re.compile(r"\$(\{[A-Z_][A-Z0-9_]*\}|[A-Z_][A-Z0-9_]*|__env\{[A-Z_][A-Z0-9_]*\})")


def test_datasources_file_holds_no_literal_password() -> None:
    text = DATASOURCES.read_text()
    for ds in yaml.safe_load(text)["datasources"]:
        for section in ("secureJsonData", "jsonData"):
            for key, value in (ds.get(section) or {}).items():
                if re.search(r"password|secret|token", key, re.IGNORECASE):
                    assert _ENV_REF.fullmatch(str(value)), (
                        f"{ds['name']}: {section}.{key} must be an env reference, got {value!r}"
                    )
        assert "password" not in ds and "basicAuthPassword" not in ds, ds["name"]
    # Also in places the YAML walk above does not look (comments, odd keys).
    for line in text.splitlines():
        m = re.search(r"password\s*:\s*(\S+)", line, re.IGNORECASE)
        if m and not line.lstrip().startswith("#"):
            assert _ENV_REF.fullmatch(m.group(1)), f"literal password in {DATASOURCES}: {line}"


def test_password_reference_is_set_in_grafana_container() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["grafana"]["environment"]
    password = _datasources()["ledger"]["secureJsonData"]["password"]
    m = _ENV_REF.fullmatch(password)
    assert m
    var = re.sub(r"[${}]|__env", "", m.group(1))
    assert var in env and str(env[var]).startswith("${"), f"{var} not passed to grafana from env"
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${" + var
    ), "grafana must get the same password variable as postgres"


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    providers = yaml.safe_load(DASHBOARD_PROVIDERS.read_text())["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = {}
    for vol in compose["services"]["grafana"]["volumes"]:
        parts = str(vol).split(":")
        if parts[0].startswith("./"):
            mounts[Path(parts[0]).as_posix()] = (parts[1], parts[2:] == ["ro"])
    dash_target, dash_ro = mounts[Path("./deploy/grafana/dashboards").as_posix()]
    assert dash_ro, "dashboards must be mounted read-only"
    assert [p["options"]["path"] for p in providers if p["type"] == "file"] == [dash_target]
    # Grafana reads provisioning from /etc/grafana/provisioning (GF_PATHS_PROVISIONING default).
    prov_target, prov_ro = mounts[Path("./deploy/grafana/provisioning").as_posix()]
    assert prov_target == "/etc/grafana/provisioning" and prov_ro
    assert "GF_PATHS_PROVISIONING" not in compose["services"]["grafana"]["environment"]
    assert (GRAFANA / "provisioning" / "datasources" / DATASOURCES.name).is_file()


# --- ledger SQL on a real PostgreSQL --------------------------------------------------------

T0 = datetime(2025, 3, 1, tzinfo=UTC)
N_TRADES = 90
RANGE = (T0 + timedelta(days=20), T0 + timedelta(days=50))


def grafana_sql(raw: str, start: datetime, end: datetime) -> str:
    """``raw`` with the Grafana PostgreSQL macros replaced as Grafana expands them."""
    frm, to = (f"'{t.strftime('%Y-%m-%dT%H:%M:%SZ')}'" for t in (start, end))
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {frm} AND {to}", raw)
    sql = sql.replace("$__timeFrom()", frm).replace("$__timeTo()", to)
    assert "$" not in sql, f"a Grafana macro or variable the test does not expand: {sql}"
    return sql


def _ledger_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(N_TRADES):
        closed = T0 + timedelta(hours=13 * i + 5)
        custom = {} if i % 7 == 0 else {"tribar_p_tp": round((i * 0.137) % 1, 3)}
        rows.append(sample_row(i, open_date=closed - timedelta(hours=3), close_date=closed,
                               custom=custom))  # fmt: skip
    return rows


@pytest.fixture
def filled_pg_ledger(postgres_url: str) -> Iterator[tuple[sa.Engine, list[dict[str, Any]]]]:
    upgrade(postgres_url)
    rows = _ledger_rows()
    engine = create_ledger_engine(postgres_url)
    with engine.begin() as conn:
        upsert_rows(conn, rows)
    yield engine, rows
    engine.dispose()


def _run_panel(engine: sa.Engine, title_word: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    matches = [(p, t) for p, t in _targets(PG_TYPE) if title_word in p["title"].lower()]
    assert len(matches) == 1, f"expected one ledger panel about {title_word!r}: {matches}"
    _, target = matches[0]
    with engine.connect() as conn:
        result = conn.exec_driver_sql(grafana_sql(target["rawSql"], *RANGE))
        return target, [tuple(row) for row in result]


def _in_range(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if RANGE[0] <= r["timestamp"] <= RANGE[1]]


@pytest.mark.postgres
def test_every_ledger_panel_runs_and_time_series_have_a_time_column(
    filled_pg_ledger: tuple[sa.Engine, list[dict[str, Any]]],
) -> None:
    engine, _ = filled_pg_ledger
    targets = list(_targets(PG_TYPE))
    assert len(targets) >= 3
    for panel, target in targets:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(grafana_sql(target["rawSql"], *RANGE))
            columns, rows = list(result.keys()), list(result)
        assert rows, f"{panel['title']}: no rows"
        if target["format"] == "time_series":
            assert columns[0] == "time", f"{panel['title']}: first column {columns[0]!r}"
            times = [r[0] for r in rows]
            assert all(isinstance(t, datetime) for t in times)
            assert times == sorted(times), f"{panel['title']}: not in time order"
            assert RANGE[0] - timedelta(days=1) <= times[0] and times[-1] <= RANGE[1]


@pytest.mark.postgres
def test_realised_pnl_counts_from_the_first_trade(
    filled_pg_ledger: tuple[sa.Engine, list[dict[str, Any]]],
) -> None:
    engine, rows = filled_pg_ledger
    _, result = _run_panel(engine, "realised")
    shown = _in_range(rows)
    assert len(result) == len(shown)
    for (time, value), last in zip(result, shown, strict=True):
        assert time == last["timestamp"]
        expected = sum(Decimal(str(r["net_pnl"])) for r in rows if r["timestamp"] <= time)
        assert value == pytest.approx(float(expected), abs=1e-6)


@pytest.mark.postgres
def test_rolling_win_rate_is_the_30_day_window(
    filled_pg_ledger: tuple[sa.Engine, list[dict[str, Any]]],
) -> None:
    engine, rows = filled_pg_ledger
    _, result = _run_panel(engine, "win rate")
    days = {(RANGE[0] + timedelta(days=d)).replace(hour=0) for d in range(31)}
    assert {r[0] for r in result} <= days and len(result) >= 25
    for day, win_rate, count in result:
        end = day + timedelta(days=1)
        window = [r for r in rows if end - timedelta(days=30) <= r["timestamp"] < end]
        assert count == len(window) > 0
        assert win_rate == pytest.approx(sum(r["net_pnl"] > 0 for r in window) / len(window))


@pytest.mark.postgres
def test_confidence_panels_use_entry_confidence_and_net_pnl(
    filled_pg_ledger: tuple[sa.Engine, list[dict[str, Any]]],
) -> None:
    engine, rows = filled_pg_ledger
    shown = [r for r in _in_range(rows) if r["model_confidence"] is not None]
    assert len(shown) < len(_in_range(rows)), "the data must include trades without confidence"
    _, points = _run_panel(engine, "confidence vs")
    expected = sorted((r["model_confidence"], float(r["net_pnl"])) for r in shown)
    got = sorted((p[0], p[1]) for p in points)
    assert len(got) == len(expected)
    for (conf, pnl), (want_conf, want_pnl) in zip(got, expected, strict=True):
        assert conf == want_conf and pnl == pytest.approx(want_pnl, abs=1e-6)
    _, buckets = _run_panel(engine, "confidence buckets")
    assert sum(b[2] for b in buckets) == len(shown)
    for low, high, trades, win_rate, mean_pnl, _total in buckets:
        members = [r for r in shown if min(int(r["model_confidence"] * 10), 9) / 10 == float(low)]
        assert float(high) == pytest.approx(float(low) + 0.1)
        assert trades == len(members)
        assert win_rate == pytest.approx(sum(r["net_pnl"] > 0 for r in members) / len(members))
        assert mean_pnl == pytest.approx(float(sum(r["net_pnl"] for r in members)) / len(members))


def test_grafana_sql_expands_macros_and_refuses_unknown_ones() -> None:
    start, end = RANGE
    sql = grafana_sql(
        'SELECT 1 WHERE $__timeFilter("t") AND $__timeFrom() < $__timeTo()', start, end
    )
    assert sql == (
        "SELECT 1 WHERE \"t\" BETWEEN '2025-03-21T00:00:00Z' AND '2025-04-20T00:00:00Z' "
        "AND '2025-03-21T00:00:00Z' < '2025-04-20T00:00:00Z'"
    )
    with pytest.raises(AssertionError, match="does not expand"):
        grafana_sql("SELECT $__timeGroup(t, '1h')", start, end)
