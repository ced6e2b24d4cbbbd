"""``tribar markets snapshot`` against a local server replaying Binance's exchangeInfo response.

The recorded response (tests/fixtures/binance_exchangeInfo.json) holds the raw ``info`` entries
of the bundled snapshot, i.e. the fields Binance's REST API returned for those symbols.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.foundation.ftrun import run_tribar
from tribar.markets import BUNDLED_SNAPSHOT, load_snapshot

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "binance_exchangeInfo.json"


class _RecordedBinance(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path.split("?")[0] == "/api/v3/exchangeInfo":
            body = RECORDED.read_bytes()
            self.send_response(200)
        else:
            body = b'{"code": -1121, "msg": "not recorded"}'
            self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorded_binance() -> Iterator[str]:
    _RecordedBinance.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordedBinance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_snapshot_written_from_recorded_exchange(recorded_binance: str, tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    result = run_tribar(
        "markets", "snapshot", "--exchange", "binance", "--pairs", "BTC/USDT", "ETH/USDT",
        "-o", str(out), "--api-url", recorded_binance,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 2 binance market(s)" in result.stdout
    assert _RecordedBinance.requests == ["/api/v3/exchangeInfo"]

    written = load_snapshot(out)
    bundled = load_snapshot(BUNDLED_SNAPSHOT)
    assert written.exchange == "binance"
    assert set(written.markets) == {"BTC/USDT", "ETH/USDT"}
    for pair in written.markets:
        new, old = written.markets[pair], bundled.markets[pair]
        assert new["id"] == old["id"]
        assert new["precision"]["price"] == old["precision"]["price"]
        assert new["precision"]["amount"] == old["precision"]["amount"]
        assert new["limits"]["cost"]["min"] == old["limits"]["cost"]["min"]
        assert new["spot"] is True and new["active"] is True


def test_written_snapshot_drives_an_offline_backtest(recorded_binance: str, tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    assert (
        run_tribar(
            "markets",
            "snapshot",
            "--exchange",
            "binance",
            "-o",
            str(out),
            "--api-url",
            recorded_binance,
        ).returncode
        == 0
    )
    from tests.foundation.ftrun import FREQTRADE_TEMPLATES

    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "--strategy", "SampleStrategy",
        "--strategy-path", str(FREQTRADE_TEMPLATES), "--markets", str(out),
        "--timerange", "20250301-20250320", "--backtest-directory", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert f"from snapshot {out}" in result.stdout + result.stderr


def test_unknown_pair_is_named(recorded_binance: str, tmp_path: Path) -> None:
    result = run_tribar(
        "markets", "snapshot", "--exchange", "binance", "--pairs", "BTC/USDT", "NOPE/USDT",
        "-o", str(tmp_path / "x.json"), "--api-url", recorded_binance,
    )  # fmt: skip
    assert result.returncode == 2
    assert "has no market(s) NOPE/USDT" in result.stderr
    assert not (tmp_path / "x.json").exists()


def test_unreachable_exchange_gives_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    result = run_tribar(
        "markets", "snapshot", "--exchange", "binance", "-o", str(tmp_path / "x.json"),
        "--api-url", f"http://127.0.0.1:{dead_port}",
    )  # fmt: skip
    assert result.returncode == 2
    assert "could not load markets from binance" in result.stderr


def test_unknown_exchange(tmp_path: Path) -> None:
    result = run_tribar(
        "markets", "snapshot", "--exchange", "nosuchex", "-o", str(tmp_path / "x.json")
    )
    assert result.returncode == 2
    assert "unknown exchange 'nosuchex'" in result.stderr


def test_recorded_response_is_the_bundled_symbols() -> None:
    symbols = {s["symbol"] for s in json.loads(RECORDED.read_text())["symbols"]}
    assert "BTCUSDT" in symbols and len(symbols) == 14
