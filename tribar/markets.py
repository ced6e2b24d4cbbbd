"""Exchange market snapshots: read, validate and write ccxt ``load_markets()`` structures.

A snapshot is the mapping ``symbol -> market`` exactly as ccxt returns it. Two file layouts are
read:

* bare: the mapping itself (the layout of the bundled ``user_data/markets/binance-spot.json``);
  the exchange is taken from the file name's first ``-``-separated word (``binance-spot.json``);
* wrapped: ``{"tribar_markets_snapshot": 1, "exchange": ..., "created": ..., "markets": {...}}``,
  which ``tribar markets snapshot`` writes so the exchange travels with the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SNAPSHOT_FORMAT_VERSION = 1
BUNDLED_SNAPSHOT = (
    Path(__file__).resolve().parent.parent / "user_data" / "markets" / "binance-spot.json"
)

# Keys Freqtrade reads from every market (precision, limits, pair routing); a market lacking
# one of them would fail later with an obscure KeyError deep in the exchange class.
REQUIRED_MARKET_KEYS = ("symbol", "base", "quote", "active", "precision", "limits", "type", "spot")


class MarketsSnapshotError(ValueError):
    """A markets snapshot file is missing, malformed, or does not fit the configuration."""


@dataclass(frozen=True)
class MarketsSnapshot:
    """Market definitions of one exchange, loaded from ``source``."""

    markets: dict[str, dict[str, Any]]
    exchange: str | None
    source: Path
    created: str | None = None

    def check_exchange(self, exchange_id: str) -> None:
        if self.exchange is not None and self.exchange.lower() != exchange_id.lower():
            raise MarketsSnapshotError(
                f"markets snapshot {self.source} is for exchange '{self.exchange}', "
                f"but the configuration uses exchange '{exchange_id}'. "
                f"Create one with: tribar markets snapshot --exchange {exchange_id} --pairs ..."
            )

    def check_pairs(self, pairs: Iterable[str]) -> None:
        """Every literal (non-regex) whitelisted pair must be defined in the snapshot."""
        missing = [p for p in pairs if _is_literal_pair(p) and p not in self.markets]
        if missing:
            raise MarketsSnapshotError(
                f"pair(s) {', '.join(missing)} from the pair whitelist are not in the markets "
                f"snapshot {self.source} (it defines: {', '.join(sorted(self.markets))}). "
                "Remove them from exchange.pair_whitelist or use a snapshot that has them."
            )


def _is_literal_pair(pair: str) -> bool:
    return not any(ch in pair for ch in ".*+?[](){}|^$\\")


def load_snapshot(path: str | Path) -> MarketsSnapshot:
    """Read and validate a snapshot file; every problem names the file and what was expected."""
    p = Path(path)
    if not p.is_file():
        raise MarketsSnapshotError(
            f"markets snapshot not found: {p} (expected a JSON file of ccxt market definitions; "
            "pass --markets FILE, set tribar.markets_file in the config, or create one with "
            "'tribar markets snapshot')"
        )
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MarketsSnapshotError(
            f"markets snapshot {p} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MarketsSnapshotError(f"markets snapshot {p} is not UTF-8 text: {exc}") from exc
    if not isinstance(raw, dict):
        raise MarketsSnapshotError(
            f"markets snapshot {p}: expected a JSON object mapping symbols to markets, "
            f"got {type(raw).__name__}"
        )

    if "tribar_markets_snapshot" in raw:
        version = raw["tribar_markets_snapshot"]
        if version != SNAPSHOT_FORMAT_VERSION:
            raise MarketsSnapshotError(
                f"markets snapshot {p}: format version {version!r} is not supported "
                f"(expected {SNAPSHOT_FORMAT_VERSION})"
            )
        markets = raw.get("markets")
        exchange = raw.get("exchange")
        created = raw.get("created")
        if not isinstance(exchange, str) or not exchange:
            raise MarketsSnapshotError(
                f"markets snapshot {p}: 'exchange' must be a non-empty string"
            )
    else:
        markets = raw
        exchange = _exchange_from_filename(p)
        created = None

    if not isinstance(markets, dict) or not markets:
        raise MarketsSnapshotError(f"markets snapshot {p}: 'markets' must be a non-empty object")
    validate_markets(markets, p)
    return MarketsSnapshot(markets=markets, exchange=exchange, source=p, created=created)


def _exchange_from_filename(p: Path) -> str | None:
    stem = p.stem.split("-")[0].strip().lower()
    return stem or None


def validate_markets(markets: Mapping[str, Any], source: Path | str) -> None:
    for symbol, market in markets.items():
        where = f"markets snapshot {source}, market '{symbol}'"
        if not isinstance(market, dict):
            raise MarketsSnapshotError(f"{where}: expected an object, got {type(market).__name__}")
        absent = [k for k in REQUIRED_MARKET_KEYS if k not in market]
        if absent:
            raise MarketsSnapshotError(
                f"{where}: missing key(s) {', '.join(absent)} (expected ccxt's unified market "
                "structure as returned by load_markets())"
            )
        if market["symbol"] != symbol:
            raise MarketsSnapshotError(
                f"{where}: its 'symbol' is '{market['symbol']}' but it is stored under '{symbol}'"
            )
        for block in ("precision", "limits"):
            if not isinstance(market[block], dict):
                raise MarketsSnapshotError(f"{where}: '{block}' must be an object")
        amount = market["precision"].get("amount")
        price = market["precision"].get("price")
        for name, value in (("precision.amount", amount), ("precision.price", price)):
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise MarketsSnapshotError(
                    f"{where}: '{name}' must be a positive number, got {value!r}"
                )


def snapshot_document(exchange: str, markets: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "tribar_markets_snapshot": SNAPSHOT_FORMAT_VERSION,
        "exchange": exchange,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "markets": dict(sorted(markets.items())),
    }


def write_snapshot(path: str | Path, exchange: str, markets: Mapping[str, Any]) -> Path:
    validate_markets(markets, path)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(snapshot_document(exchange, markets), indent=1, sort_keys=False))
    tmp.replace(p)
    return p


def fetch_markets(
    exchange_id: str,
    pairs: Iterable[str] | None = None,
    *,
    trading_mode: str = "spot",
    api_base_url: str | None = None,
    timeout_ms: int = 30_000,
) -> dict[str, dict[str, Any]]:
    """Load markets from the exchange with ccxt (needs network), keeping only ``pairs``.

    ``api_base_url`` replaces the scheme and host of every REST URL ccxt knows for the exchange:
    a way to reach a mirror or a recorded-response server; paths are kept.
    """
    import ccxt

    if exchange_id not in ccxt.exchanges:
        raise MarketsSnapshotError(
            f"unknown exchange '{exchange_id}' (ccxt knows: see ccxt.exchanges)"
        )
    options: dict[str, Any] = {"defaultType": trading_mode}
    if exchange_id == "binance":
        # Only the spot (or chosen) market type; binance otherwise also asks margin/futures APIs.
        options["fetchMarkets"] = {"types": [trading_mode]}
    api = getattr(ccxt, exchange_id)({"timeout": timeout_ms, "options": options})
    if api_base_url:
        api.urls["api"] = _rebase_urls(api.urls.get("api"), api_base_url.rstrip("/"))
    try:
        markets: dict[str, dict[str, Any]] = api.load_markets()
    except ccxt.BaseError as exc:
        raise MarketsSnapshotError(
            f"could not load markets from {exchange_id}: {exc.__class__.__name__}: {exc}"
        ) from exc
    if pairs is None:
        return dict(markets)
    wanted = list(pairs)
    missing = [p for p in wanted if p not in markets]
    if missing:
        raise MarketsSnapshotError(f"{exchange_id} has no market(s) {', '.join(missing)}")
    return {p: markets[p] for p in wanted}


def _rebase_urls(urls: Any, base: str) -> Any:
    from urllib.parse import urlsplit

    if isinstance(urls, str):
        parts = urlsplit(urls)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(urls, dict):
        return {k: _rebase_urls(v, base) for k, v in urls.items()}
    return urls
