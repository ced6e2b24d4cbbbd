import logging
import socket
import urllib.request

import pytest

from tribar.monitoring.exporter import settings_from_config, start_exporter, stop_exporter
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


def test_settings_coerce_env_strings_and_name_bad_keys() -> None:
    # Freqtrade passes FREQTRADE__TRIBAR__METRICS__* through as typed values, but compose files
    # and other loaders hand over strings.
    s = settings_from_config({"tribar": {"metrics": {"enabled": "true", "listen_port": "9200"}}})
    assert (s.enabled, s.listen_port) == (True, 9200)
    for bad, key, expected in (
        ({"listen_port": 70000}, "listen_port", "integer port 0..65535"),
        ({"listen_port": True}, "listen_port", "integer port"),
        ({"enabled": "maybe"}, "enabled", "true or false"),
        ({"listen_ip_address": ""}, "listen_ip_address", "host or IP"),
        ({"listen_prot": 9108}, "listen_prot", "unknown key"),
    ):
        with pytest.raises(ValueError, match=rf"tribar\.metrics\.{key}: expected .*{expected}"):
            settings_from_config({"tribar": {"metrics": bad}})
    with pytest.raises(ValueError, match=r"tribar\.metrics: expected an object"):
        settings_from_config({"tribar": {"metrics": [1]}})


def test_restart_on_the_same_port_replaces_this_process_s_own_server() -> None:
    # Freqtrade's /reload_config calls bot_start again with a new strategy and registry.
    old, new = TribarMetrics(), TribarMetrics()
    old.open_trades.set(1)
    new.open_trades.set(2)
    port = _free_port()
    assert start_exporter(old.registry, "127.0.0.1", port)
    assert start_exporter(new.registry, "127.0.0.1", port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "tribar_open_trades 2.0" in body
    assert stop_exporter("127.0.0.1", port)
    assert not stop_exporter("127.0.0.1", port)
