"""The tribar Prometheus metrics, on a dedicated registry per bot.

Never the global default registry: tests and several strategies in one process each get
their own ``TribarMetrics`` and never clash. Names are the agreed ones (docs/monitoring.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_PNL_STEPS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0)
PNL_BUCKETS: tuple[float, ...] = tuple(sorted({s * b for b in _PNL_STEPS for s in (-1, 1)} | {0.0}))
LATENCY_BUCKETS: tuple[float, ...] = (
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)
SLIPPAGE_BUCKETS: tuple[float, ...] = (
    -50.0,
    -20.0,
    -10.0,
    -5.0,
    -1.0,
    0.0,
    1.0,
    5.0,
    10.0,
    20.0,
    50.0,
)
CONFIDENCE_BUCKETS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 21))
LOOP_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class TribarMetrics:
    """Every tribar metric object, registered on ``registry`` (a fresh one by default)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.bot_info = Gauge(
            "tribar_bot_info",
            "Bot identity (value 1)",
            ["strategy", "version", "dry_run"],
            registry=r,
        )
        self.trades_closed = Counter(
            "tribar_trades_closed", "Closed trades", ["pair", "exit_reason"], registry=r
        )
        self.trade_pnl = Histogram(
            "tribar_trade_pnl_quote",
            "Closed trade profit in stake currency",
            buckets=PNL_BUCKETS,
            registry=r,
        )
        self.open_trades = Gauge("tribar_open_trades", "Open trades", registry=r)
        self.open_position_value = Gauge(
            "tribar_open_position_value_quote",
            "Open position value in stake currency",
            ["pair"],
            registry=r,
        )
        self.equity = Gauge("tribar_equity_quote", "Mark-to-market equity", registry=r)
        self.equity_peak = Gauge("tribar_equity_peak_quote", "Peak equity", registry=r)
        self.drawdown = Gauge("tribar_drawdown_ratio", "Drawdown from peak (0..1)", registry=r)
        self.order_latency = Histogram(
            "tribar_order_latency_seconds",
            "Order placed to filled",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.slippage = Histogram(
            "tribar_slippage_bps",
            "Fill vs signal candle close, adverse positive (bps)",
            buckets=SLIPPAGE_BUCKETS,
            registry=r,
        )
        self.entry_confidence = Histogram(
            "tribar_entry_confidence",
            "Model probability at entry",
            buckets=CONFIDENCE_BUCKETS,
            registry=r,
        )
        self.predictions = Counter("tribar_predictions", "Judged predictions", ["pair"], registry=r)
        self.predictions_correct = Counter(
            "tribar_predictions_correct", "Correct judged predictions", ["pair"], registry=r
        )
        self.edge_gate_open = Gauge(
            "tribar_edge_gate_open", "Edge gate open (1/0)", ["pair"], registry=r
        )
        self.model_auc = Gauge(
            "tribar_model_auc", "Last training's calibration AUC", ["pair"], registry=r
        )
        self.last_training = Gauge(
            "tribar_last_training_timestamp_seconds",
            "Unix time of last successful training",
            ["pair"],
            registry=r,
        )
        self.retrain_interval = Gauge(
            "tribar_retrain_interval_seconds", "FreqAI live_retrain_hours in seconds", registry=r
        )
        self.breaker_halted = Gauge(
            "tribar_circuit_breaker_halted", "Circuit breaker halted (1/0)", registry=r
        )
        self.breaker_info = Gauge(
            "tribar_circuit_breaker_info",
            "Current circuit breaker state (value 1)",
            ["state", "reason"],
            registry=r,
        )
        self.breaker_trips = Counter(
            "tribar_circuit_breaker_trips", "Circuit breaker trips", ["reason"], registry=r
        )
        self.entries_refused = Counter(
            "tribar_entries_refused", "Entries refused by risk limits", ["reason"], registry=r
        )
        self.exchange_errors = Counter(
            "tribar_exchange_errors", "Exchange/API errors by class", ["error_type"], registry=r
        )
        self.bot_loop_duration = Histogram(
            "tribar_bot_loop_duration_seconds",
            "Bot loop duration (see docs/monitoring.md)",
            buckets=LOOP_BUCKETS,
            registry=r,
        )
        self.candles_processed = Counter(
            "tribar_candles_processed", "New closed candles analysed", ["pair"], registry=r
        )
        self.outbox_backlog = Gauge(
            "tribar_ledger_outbox_backlog", "Ledger outbox rows not yet mirrored", registry=r
        )
        self.dead_letters = Gauge(
            "tribar_ledger_dead_letters", "Ledger outbox dead letters", registry=r
        )
