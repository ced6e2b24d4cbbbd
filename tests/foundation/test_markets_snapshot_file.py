from __future__ import annotations

import json
from pathlib import Path

import pytest

from tribar.markets import (
    BUNDLED_SNAPSHOT,
    MarketsSnapshotError,
    load_snapshot,
    write_snapshot,
)


def test_bundled_snapshot_loads_and_names_binance() -> None:
    snap = load_snapshot(BUNDLED_SNAPSHOT)
    assert snap.exchange == "binance"
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT"} <= set(snap.markets)
    assert snap.markets["BTC/USDT"]["limits"]["cost"]["min"] == 5.0


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(MarketsSnapshotError, match=r"not found: .*nope\.json"):
        load_snapshot(path)


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "binance-bad.json"
    path.write_text('{"BTC/USDT": {"symbol": "BTC/USDT",,}}')
    with pytest.raises(
        MarketsSnapshotError, match=r"binance-bad\.json is not valid JSON: .* line 1, column"
    ):
        load_snapshot(path)


def test_market_missing_keys_is_named(tmp_path: Path) -> None:
    market = json.loads(BUNDLED_SNAPSHOT.read_text())["BTC/USDT"]
    del market["precision"]
    path = tmp_path / "binance-x.json"
    path.write_text(json.dumps({"BTC/USDT": market}))
    with pytest.raises(
        MarketsSnapshotError, match=r"market 'BTC/USDT': missing key\(s\) precision"
    ):
        load_snapshot(path)


def test_non_positive_precision_rejected(tmp_path: Path) -> None:
    market = json.loads(BUNDLED_SNAPSHOT.read_text())["ETH/USDT"]
    market["precision"]["price"] = 0
    path = tmp_path / "binance-x.json"
    path.write_text(json.dumps({"ETH/USDT": market}))
    with pytest.raises(MarketsSnapshotError, match=r"'precision.price' must be a positive number"):
        load_snapshot(path)


def test_wrapped_format_round_trip_and_exchange_check(tmp_path: Path) -> None:
    markets = {
        k: v for k, v in load_snapshot(BUNDLED_SNAPSHOT).markets.items() if k.startswith("B")
    }
    out = write_snapshot(tmp_path / "any-name.json", "binance", markets)
    snap = load_snapshot(out)
    assert snap.exchange == "binance" and snap.created is not None
    assert snap.markets == markets
    snap.check_exchange("binance")
    with pytest.raises(
        MarketsSnapshotError,
        match="is for exchange 'binance', but the configuration uses exchange 'kraken'",
    ):
        snap.check_exchange("kraken")


def test_check_pairs_names_missing_pair_and_ignores_regex() -> None:
    snap = load_snapshot(BUNDLED_SNAPSHOT)
    snap.check_pairs(["BTC/USDT", ".*/USDT"])
    with pytest.raises(
        MarketsSnapshotError, match=r"pair\(s\) PEPE/USDT from the pair whitelist are not in"
    ):
        snap.check_pairs(["BTC/USDT", "PEPE/USDT"])
