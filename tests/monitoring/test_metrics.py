from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tribar.monitoring.metrics import PNL_BUCKETS, TribarMetrics


def _samples(m: TribarMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(m.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_two_registries_do_not_clash_and_values_round_trip() -> None:
    a, b = TribarMetrics(), TribarMetrics()
    a.trades_closed.labels(pair="BTC/USDT", exit_reason="roi").inc()
    a.trade_pnl.observe(-3.0)
    a.trade_pnl.observe(5.0)
    a.equity.set(1000.5)
    s = _samples(a)
    assert s[("tribar_trades_closed_total", (("exit_reason", "roi"), ("pair", "BTC/USDT")))] == 1
    assert s[("tribar_trade_pnl_quote_count", ())] == 2
    # prometheus_client omits _sum for histograms with negative buckets; buckets carry the values
    assert s[("tribar_trade_pnl_quote_bucket", (("le", "-2.5"),))] == 1
    assert s[("tribar_trade_pnl_quote_bucket", (("le", "5.0"),))] == 2
    assert s[("tribar_equity_quote", ())] == 1000.5
    assert ("tribar_equity_quote", ()) in _samples(b)
    assert _samples(b)[("tribar_equity_quote", ())] == 0


def test_pnl_buckets_symmetric_around_zero() -> None:
    finite = [x for x in PNL_BUCKETS if x != 0]
    assert sorted(finite) == sorted(-x for x in finite)
    assert 0.0 in PNL_BUCKETS
