import logging
import socket
import urllib.request

import pytest

from tribar.monitoring.exporter import settings_from_config, start_exporter
from tribar.monitoring.metrics import TribarMetrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serves_registry_values() -> None:
    m = TribarMetrics()
    m.open_trades.set(3)
    port = _free_port()
    assert start_exporter(m.registry, "127.0.0.1", port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "tribar_open_trades 3.0" in body


def test_port_in_use_warns_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with caplog.at_level(logging.WARNING):
            assert not start_exporter(TribarMetrics().registry, "127.0.0.1", port)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"127.0.0.1:{port}" in warnings[0].getMessage()
    assert "listen_port" in warnings[0].getMessage()


def test_settings_defaults_and_bad_port() -> None:
    s = settings_from_config({})
    assert (s.enabled, s.listen_ip_address, s.listen_port) == (False, "127.0.0.1", 9108)
    with pytest.raises(ValueError, match=r"tribar\.metrics\.listen_port"):
        settings_from_config({"tribar": {"metrics": {"listen_port": "x"}}})
